//! What one refresh of `sockwatch top` found: plain data, drawn by `render::top` as text, JSON
//! or the terminal UI.

use std::{net::SocketAddr, sync::Arc};

use crate::model::{Cookie, SockState};

/// The process behind a socket: its pid and its name as the kernel or /proc gave it (bytes
/// from outside sockwatch: escaped for terminals, carried losslessly in JSON). The name is
/// shared: each refresh hands it to thousands of rows and groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Process {
    pub pid: u32,
    pub comm: Arc<[u8]>,
}

/// Counts per second over the last interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Bytes received (tcp_info bytes_received).
    pub rx_bytes: f64,
    /// Bytes sent and acknowledged (tcp_info bytes_acked).
    pub tx_bytes: f64,
    pub retransmits: f64,
}

/// One live TCP connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    pub cookie: Cookie,
    pub state: SockState,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub process: Option<Process>,
    pub rates: Rates,
    /// Smoothed RTT in ms (None without tcp_info, e.g. TIME-WAIT).
    pub srtt_ms: Option<f64>,
    /// How long top has known the socket, when it saw it start (None: it existed at start).
    pub age_ms: Option<f64>,
}

/// What a group of connections (by process, or by remote end) did over the interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Group<K> {
    pub key: K,
    /// Live connections now.
    pub open: u64,
    /// Connections established per second (None without the eBPF events).
    pub opened_per_s: Option<f64>,
    /// Connections ended per second (None without the eBPF events).
    pub closed_per_s: Option<f64>,
    /// Connections that ended in failure over the interval, by reason.
    pub failures: Vec<(&'static str, u64)>,
    pub rates: Rates,
}

/// Header totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// TCP sockets the filter admits, by state, in the kernel's state order.
    pub by_state: Vec<(SockState, u64)>,
    pub opened_per_s: Option<f64>,
    pub closed_per_s: Option<f64>,
    /// Failures over the interval, by reason (None without the eBPF events).
    pub failures: Option<Vec<(&'static str, u64)>>,
    /// Events the kernel could not deliver since top started (None without the events).
    pub events_lost: Option<u64>,
    pub rates: Rates,
}

/// One refresh.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// CLOCK_MONOTONIC ns of the refresh.
    pub ts_ns: u64,
    /// Length of the interval the rates cover, ms.
    pub interval_ms: f64,
    /// Why connections shorter than one refresh are missing, when they are (no eBPF).
    pub degraded: Option<String>,
    pub totals: Totals,
    pub connections: Vec<Connection>,
    pub processes: Vec<Group<Option<Process>>>,
    pub remotes: Vec<Group<SocketAddr>>,
}
