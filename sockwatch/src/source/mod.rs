//! Where socket records come from: the kernel's sock_diag netlink interface (every family
//! it serves), /proc/net/raw{,6} for raw sockets, and ss's dump files.
//!
//! Records stream to a caller's sink as they are decoded, straight from the received bytes.
//! Endpoints are shaped as ss shows them; the decoder modules (inet, unix, packet,
//! netlink_sock) say how for each family.

#[cfg(test)]
mod bytecode_live_tests;
mod bytecode_probe;
#[cfg(test)]
mod captured;
mod destroy;
mod diag_socket;
mod dump;
mod error;
mod events;
#[cfg(test)]
mod fuzz_tests;
pub mod groups;
mod inet;
pub mod interfaces;
#[cfg(test)]
mod live_tests;
mod meminfo;
mod netlink_sock;
mod netns;
mod packet;
mod proc_file;
mod proc_raw;
mod query;
mod request;
pub mod routes;
mod selected;
mod snapshot;
pub mod snmp;
pub mod sockstat;
mod tcp_info;
mod tipc;
mod unix;
mod vsock;
mod wire;
mod xdp;

pub use bytecode_probe::kernel_accepts_bytecode;
pub use destroy::{Destroyed, Destroyer};
pub use dump::snapshot_from_dump;
pub use error::{DecodeError, DumpError, NetnsProblem, SourceError, Target};
pub use events::{DestroyEvents, Wait};
pub use netns::{enter_netns, enter_netns_path};
pub use proc_raw::{read_proc_dgram, DgramTable};
pub use query::{Extensions, IpVersions, PortMatch, Query, StateMask};
pub use selected::{query_for, selected_records};
pub use snapshot::{snapshot, snapshot_tee, Coverage};
