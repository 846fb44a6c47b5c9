//! netstat(8)'s views (net-tools 2.10), byte for byte: the socket tables, multicast groups,
//! the interface table, routing tables and protocol statistics. Every view takes its names
//! through [`Names`], so tests render against fixed answers.

mod addr;
pub mod groups;
pub mod iface;
mod names;
pub mod route;
mod sockets;
pub mod stats;
#[cfg(test)]
mod tests;

pub use names::{InetProto, Names, SystemNames};
pub use sockets::{write_netstat, Listing, NetstatOptions, SocketTables, INET_ORDER};
