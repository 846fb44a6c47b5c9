//! What can go wrong while reading sockets, one variant a cause.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::model::Netid;

/// Which sock_diag dump a message or error belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An inet protocol over IPv4 (`v6: false`) or IPv6.
    Inet {
        netid: Netid,
        v6: bool,
    },
    Unix,
    Packet,
    Netlink,
    Vsock,
    Tipc,
    Xdp,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Inet { netid, v6 } => {
                let family = if *v6 { "AF_INET6" } else { "AF_INET" };
                write!(f, "{} ({family})", netid.ss_name())
            }
            Target::Unix => f.write_str("unix (AF_UNIX)"),
            Target::Packet => f.write_str("packet (AF_PACKET)"),
            Target::Netlink => f.write_str("netlink (AF_NETLINK)"),
            Target::Vsock => f.write_str("vsock (AF_VSOCK)"),
            Target::Tipc => f.write_str("tipc (AF_TIPC)"),
            Target::Xdp => f.write_str("xdp (AF_XDP)"),
        }
    }
}

/// A netlink message or attribute that does not have the shape its type promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{what} is {len} bytes, shorter than the {need} it needs")]
    Short {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("netlink message length {len} is impossible with {left} bytes left")]
    MessageLength { len: usize, left: usize },
    #[error("attribute length {len} is impossible with {left} bytes left")]
    AttributeLength { len: usize, left: usize },
    #[error("address family {0} is not the one asked for")]
    Family(u8),
    #[error("the replies end without the NLMSG_DONE that closes a dump")]
    MissingDone,
}

/// Why a dump file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("cannot read the dump: {0}")]
    Io(#[from] io::Error),
    #[error("byte {offset}: the file ends inside a message")]
    Truncated { offset: u64 },
    #[error("byte {offset}: the file ends without the NLMSG_DONE that closes a dump")]
    MissingDone { offset: u64 },
    #[error("byte {offset}: {reason}")]
    Malformed { offset: u64, reason: DecodeError },
    #[error(
        "byte {offset}: message length {len} is longer than the {limit} bytes a sock_diag dump message can be"
    )]
    TooLong {
        offset: u64,
        len: usize,
        limit: usize,
    },
    #[error("byte {offset}: the kernel answered the dumped request with: {}",
        io::Error::from_raw_os_error(*errno))]
    Kernel { offset: u64, errno: i32 },
}

/// Everything the sources can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open a sock_diag netlink socket: {0}")]
    Open(#[source] io::Error),
    #[error("sock_diag {target}: {op} failed: {source}")]
    Io {
        target: Target,
        op: &'static str,
        source: io::Error,
    },
    /// The kernel answered a request with NLMSG_ERROR (or a negative NLMSG_DONE).
    #[error("sock_diag {target}: the kernel refused the request: {}",
        io::Error::from_raw_os_error(*errno))]
    Kernel { target: Target, errno: i32 },
    #[error("sock_diag {target}: malformed reply: {reason}")]
    Malformed { target: Target, reason: DecodeError },
    #[error("cannot write the dump file: {0}")]
    DumpWrite(#[source] io::Error),
    #[error("dump file: {0}")]
    Dump(#[from] DumpError),
    #[error("cannot read {}: {source}", crate::escape::Escaped::path(path))]
    ProcRead { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {reason}", crate::escape::Escaped::path(path))]
    ProcParse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// `name` is already escaped (it is the user's name or a path).
    #[error("network namespace \"{name}\": {reason}")]
    Netns { name: String, reason: NetnsProblem },
}

/// Why a network namespace could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NetnsProblem {
    #[error("not a valid name (it must be a plain file name under /var/run/netns)")]
    BadName,
    #[error("cannot open {}: {source}", crate::escape::Escaped::path(path))]
    Open { path: PathBuf, source: io::Error },
    #[error("setns failed: {0}")]
    Setns(io::Error),
}

impl SourceError {
    /// The kernel's errno when it refused a request, for callers that tolerate some refusals.
    pub fn kernel_errno(&self) -> Option<i32> {
        match self {
            SourceError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}
