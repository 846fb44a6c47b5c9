//! The second step of the command line, as ripgrep's HiArgs: each command's parsed
//! arguments ([`super::args`], plain values, checked without syscalls) become the
//! configuration it runs with: names looked up, files read, magic values turned into types.

pub mod follow;
pub mod netstat;
pub mod serve;
pub mod snapshot;
pub mod top;
