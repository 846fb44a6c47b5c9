//! (in progress)

pub mod sockstat;
