//! Renderers: turn filtered socket records into text (ss, netstat) or JSON, and serve's
//! metrics into Prometheus text.

pub mod follow;
pub mod json;
pub mod metrics;
pub mod netstat;
pub mod ss;
pub mod summary;
pub mod top;

/// What the user asked to see, independent of the output format. Built by the CLI from ss's
/// options; every renderer reads the same struct.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShowOptions {
    /// -n: print port numbers, not service names.
    pub numeric: bool,
    /// -r: resolve addresses to host names.
    pub resolve: bool,
    /// -o: timer information.
    pub timers: bool,
    /// -e: detailed socket information (uid, inode, cookie, ...).
    pub extended: bool,
    /// -m: socket memory.
    pub memory: bool,
    /// -i: TCP internals.
    pub info: bool,
    /// -p: processes using the socket.
    pub processes: bool,
    /// -H: no header line.
    pub no_header: bool,
    /// -O: one socket per line (no continuation lines for -e/-m/-i).
    pub oneline: bool,
    /// --tos: TOS, traffic class and net_cls class id of inet sockets.
    pub tos: bool,
    /// --cgroup: the cgroup of inet sockets.
    pub cgroup: bool,
    /// --inet-sockopt: inet socket options (recverr, freebind, transparent, ...).
    pub inet_sockopt: bool,
    /// -b: the classic BPF filters of packet sockets.
    pub bpf: bool,
    /// --tipcinfo: TIPC sockets' type, congestion, drops, publication and service.
    pub tipcinfo: bool,
    /// Escape strings from outside sockwatch (paths, process and host names) with
    /// [`escape`]: set when the text goes to a terminal. A pipe or file gets them byte for
    /// byte, as ss writes them.
    pub escape: bool,
}
