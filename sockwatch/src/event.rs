//! What the eBPF programs report, as domain values: a [`Transition`] of one socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use sockwatch_common::{
    drop_reason, event_kind,
    family::{AF_INET, AF_INET6},
    reason_flag, SockEvent,
};

use crate::model::{Cookie, SockState};

/// A kernel task name (at most 15 bytes), kept inline: events arrive by the hundred thousand
/// a second and must not allocate. The bytes are the kernel's, unchanged: a process may name
/// itself anything but NUL, so views escape them (text) or carry them losslessly (JSON).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Comm {
    bytes: [u8; 16],
    len: u8,
}

impl Comm {
    pub fn new(raw: &[u8]) -> Comm {
        let end = raw
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw.len())
            .min(15);
        let mut bytes = [0u8; 16];
        bytes[..end].copy_from_slice(&raw[..end]);
        Comm {
            bytes,
            len: end as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The process a socket belongs to, as the kernel side saw it in the owner's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub cgroup: u64,
    pub comm: Comm,
}

/// Totals the kernel had for a TCP socket when it was destroyed, or when it entered CLOSE
/// (a reset zeroes them in between).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseStats {
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub total_retrans: u32,
    /// Smoothed and minimum RTT in microseconds; None when never measured.
    pub srtt_us: Option<u32>,
    pub min_rtt_us: Option<u32>,
}

/// What the kernel told about how a socket ended (on DESTROY and CONNECT_ERROR events).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndCause {
    /// `sockwatch_common::reason_flag` bits.
    pub flags: u16,
    /// The last error the kernel reported to the socket (0: none).
    pub errno: u16,
    /// `enum sk_rst_reason` of the RST this socket sent, when it sent one.
    pub rst_reason: Option<u32>,
}

/// The kernel's reset reasons (`enum sk_rst_reason`, from its BTF: they differ across kernels)
/// by value, as lowercase-hyphenated names (`SK_RST_REASON_TCP_ABORT_ON_CLOSE` ->
/// `tcp-abort-on-close`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResetReasons {
    names: Vec<(u32, String)>,
}

impl ResetReasons {
    pub fn new(kernel: Vec<(u32, String)>) -> ResetReasons {
        let names = kernel
            .into_iter()
            .map(|(value, name)| {
                let short = name.strip_prefix("SK_RST_REASON_").unwrap_or(&name);
                (value, short.to_ascii_lowercase().replace('_', "-"))
            })
            .collect();
        ResetReasons { names }
    }

    /// Whether the kernel names no reset reasons (its tcp_send_reset has no reason: < 6.10).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, value: u32) -> Option<&str> {
        self.names
            .iter()
            .find(|(v, _)| *v == value)
            .map(|(_, name)| name.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// The socket changed TCP state.
    State,
    /// The kernel destroyed the socket.
    Destroy,
    /// accept() handed the socket to the process named as owner; the state did not change.
    Owner,
    /// The socket existed when the table was built from sock_diag (state in `new`).
    Snapshot,
    /// The kernel retransmitted a segment (state unchanged).
    Retransmit,
    /// connect() failed before any SYN left; `remote` is the destination asked for.
    ConnectError,
    /// The listener dropped SYNs or handshake ACKs (`dropped` says how many and why).
    Drop,
}

/// Drops a listener's counter showed since the last look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub count: u64,
    /// `listen-overflow`, `syn-queue-overflow` or `other`.
    pub reason: &'static str,
}

/// One thing that happened to one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// CLOCK_MONOTONIC time of the event, ns.
    pub ts_ns: u64,
    pub cookie: Cookie,
    /// The stand-in key the kernel side used for this socket before it had a cookie (kernels
    /// whose tracing programs cannot generate cookies), when the event carries one.
    pub alias: Option<Cookie>,
    pub kind: TransitionKind,
    pub old: SockState,
    pub new: SockState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Inode of the socket's network namespace.
    pub netns: u32,
    pub owner: Option<Owner>,
    /// When the kernel side first saw the socket (CLOCK_MONOTONIC ns), if it did.
    pub first_seen_ns: Option<u64>,
    /// The connection's counters: on a destroy, and on a state change into CLOSE.
    pub close: Option<CloseStats>,
    /// How it ended, on Destroy and ConnectError.
    pub cause: Option<EndCause>,
    /// The socket's retransmit count so far, on Retransmit.
    pub total_retrans: Option<u32>,
    /// On Drop.
    pub dropped: Option<Dropped>,
}

/// Why a raw event could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event of unknown kind {0}")]
    Kind(u8),
    #[error("event of unknown address family {0}")]
    Family(u16),
}

#[cfg(test)]
impl Transition {
    /// A `kind` event from `old` to `new` on 127.0.0.1:80 -> 127.0.0.1:5000 with nothing
    /// optional known: what unit tests start from (struct update for the rest).
    pub(crate) fn example(kind: TransitionKind, old: SockState, new: SockState) -> Transition {
        Transition {
            ts_ns: 1,
            cookie: Cookie(7),
            alias: None,
            kind,
            old,
            new,
            local: SocketAddr::from(([127, 0, 0, 1], 80)),
            remote: SocketAddr::from(([127, 0, 0, 1], 5000)),
            netns: 1,
            owner: None,
            first_seen_ns: None,
            close: None,
            cause: None,
            total_retrans: None,
            dropped: None,
        }
    }
}

impl Transition {
    pub fn decode(raw: &SockEvent) -> Result<Transition, DecodeError> {
        let kind = match raw.kind {
            event_kind::STATE => TransitionKind::State,
            event_kind::DESTROY => TransitionKind::Destroy,
            event_kind::OWNER => TransitionKind::Owner,
            event_kind::SNAPSHOT => TransitionKind::Snapshot,
            event_kind::RETRANSMIT => TransitionKind::Retransmit,
            event_kind::CONNECT_ERROR => TransitionKind::ConnectError,
            event_kind::DROP => TransitionKind::Drop,
            other => return Err(DecodeError::Kind(other)),
        };
        let (local, remote) = match raw.family {
            AF_INET => {
                let ip = |b: &[u8; 16]| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
                (ip(&raw.saddr), ip(&raw.daddr))
            }
            AF_INET6 => (
                IpAddr::V6(Ipv6Addr::from(raw.saddr)),
                IpAddr::V6(Ipv6Addr::from(raw.daddr)),
            ),
            other => return Err(DecodeError::Family(other)),
        };
        let new = SockState::from_kernel(raw.new_state);
        let has_counters = kind == TransitionKind::Destroy
            || (kind == TransitionKind::State && new == SockState::Close);
        let owner = (raw.pid != 0).then(|| Owner {
            pid: raw.pid,
            tid: raw.tid,
            uid: raw.uid,
            cgroup: raw.cgroup,
            comm: Comm::new(&raw.comm),
        });
        Ok(Transition {
            ts_ns: raw.ts_ns,
            cookie: Cookie(raw.cookie),
            alias: (raw.alias != 0).then_some(Cookie(raw.alias)),
            kind,
            old: SockState::from_kernel(raw.old_state),
            new,
            local: SocketAddr::new(local, raw.sport),
            remote: SocketAddr::new(remote, raw.dport),
            netns: raw.netns,
            owner,
            first_seen_ns: (raw.first_seen_ns != 0).then_some(raw.first_seen_ns),
            close: has_counters.then_some(CloseStats {
                bytes_acked: raw.bytes_acked,
                bytes_received: raw.bytes_received,
                total_retrans: raw.total_retrans,
                srtt_us: (raw.srtt_us != 0).then_some(raw.srtt_us),
                min_rtt_us: (raw.min_rtt_us != 0).then_some(raw.min_rtt_us),
            }),
            cause: matches!(kind, TransitionKind::Destroy | TransitionKind::ConnectError)
                .then_some(EndCause {
                    flags: raw.reason_flags,
                    errno: raw.errno,
                    rst_reason: (raw.reason_flags & reason_flag::RST_SENT != 0)
                        .then_some(raw.rst_reason),
                }),
            total_retrans: (kind == TransitionKind::Retransmit).then_some(raw.total_retrans),
            dropped: (kind == TransitionKind::Drop).then_some(Dropped {
                count: raw.bytes_acked,
                reason: match raw.reason_flags {
                    drop_reason::LISTEN_OVERFLOW => "listen-overflow",
                    drop_reason::SYN_QUEUE_OVERFLOW => "syn-queue-overflow",
                    _ => "other",
                },
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_v4() -> SockEvent {
        let mut raw = SockEvent {
            ts_ns: 5,
            cookie: 42,
            kind: event_kind::STATE,
            old_state: 7,
            new_state: 2,
            family: AF_INET,
            sport: 40000,
            dport: 80,
            pid: 10,
            tid: 11,
            ..SockEvent::default()
        };
        raw.saddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        raw.daddr[..4].copy_from_slice(&[127, 0, 0, 2]);
        raw.comm[..4].copy_from_slice(b"curl");
        raw
    }

    #[test]
    fn decodes_a_connect() {
        let t = Transition::decode(&raw_v4()).expect("valid event");
        assert_eq!(t.old, SockState::Close);
        assert_eq!(t.new, SockState::SynSent);
        assert_eq!(t.local.to_string(), "127.0.0.1:40000");
        assert_eq!(t.remote.to_string(), "127.0.0.2:80");
        assert_eq!(
            t.owner.as_ref().map(|o| o.comm.as_bytes()),
            Some(&b"curl"[..])
        );
        assert_eq!(t.close, None);
    }

    #[test]
    fn rejects_unknown_kind_and_family() {
        let mut raw = raw_v4();
        raw.kind = 99;
        assert_eq!(Transition::decode(&raw), Err(DecodeError::Kind(99)));
        let mut raw = raw_v4();
        raw.family = 1;
        assert_eq!(Transition::decode(&raw), Err(DecodeError::Family(1)));
    }

    #[test]
    fn comm_is_inline_and_keeps_the_kernels_bytes() {
        assert_eq!(Comm::new(b"curl\0\0junk").as_bytes(), b"curl");
        assert_eq!(
            Comm::new(b"a-very-long-task-name").as_bytes(),
            b"a-very-long-tas"
        );
        assert_eq!(Comm::new(&[b'x', 0xff, b'\n']).as_bytes(), b"x\xff\n");
    }

    #[test]
    fn owner_unknown_when_pid_zero() {
        let mut raw = raw_v4();
        raw.pid = 0;
        assert_eq!(Transition::decode(&raw).expect("valid").owner, None);
    }
}
