//! sockwatch: what sockets exist, what they are doing, who owns them, and what just happened
//! to them. Data flows one way through these modules:
//!
//! source (sock_diag, /proc, dump files, the eBPF ring buffer) -> [`model`] records and events
//! -> [`filter`] -> table -> [`render`] (ss text, netstat text, JSON).

pub mod bounded;
pub mod container;
pub mod ebpf;
pub mod escape;
pub mod event;
pub mod filter;
pub mod follow;
pub mod int_hash;
pub mod model;
pub mod owner_only;
pub mod procs;
pub mod render;
pub mod select;
pub mod serve;
pub mod source;
pub mod system;
pub mod top;
