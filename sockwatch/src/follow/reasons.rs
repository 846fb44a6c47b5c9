//! Why connections end, one story per connection: the reason from what the kernel side noted
//! (resets, errors reported to the socket, failed connects), connect latency, the owner of
//! accepted sockets not yet accepted (their listener's), and the tallies for the summary.

use std::collections::HashMap;

use sockwatch_common::reason_flag;

use super::table::{Applied, CookieMap};
use crate::{
    event::{EndCause, Owner, ResetReasons, Transition, TransitionKind},
    model::{Cookie, SockState},
};

/// How a connection ended: the fixed vocabulary of docs/json-schema.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Ended by the FIN exchange, no reset.
    Normal,
    /// This socket sent the RST (abortive close, unread data, a kernel reset).
    ResetSent,
    /// The peer's RST ended it.
    ResetReceived,
    /// RST in answer to our SYN.
    Refused,
    /// Retransmissions exhausted, keepalive or TCP_USER_TIMEOUT.
    Timeout,
    /// ICMP unreachable or no route, including a connect() that failed before any SYN.
    Unreachable,
    /// Destroyed through sock_diag (`ss -K`).
    Killed,
    /// The kernel lacks a hook that would tell.
    Unknown,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::Normal,
        Reason::ResetSent,
        Reason::ResetReceived,
        Reason::Refused,
        Reason::Timeout,
        Reason::Unreachable,
        Reason::Killed,
        Reason::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::Normal => "normal",
            Reason::ResetSent => "reset-sent",
            Reason::ResetReceived => "reset-received",
            Reason::Refused => "refused",
            Reason::Timeout => "timeout",
            Reason::Unreachable => "unreachable",
            Reason::Killed => "killed",
            Reason::Unknown => "unknown",
        }
    }

    fn index(self) -> usize {
        Reason::ALL
            .iter()
            .position(|&r| r == self)
            .unwrap_or(Reason::ALL.len() - 1)
    }
}

const ECONNABORTED: u16 = libc::ECONNABORTED as u16;
const ECONNREFUSED: u16 = libc::ECONNREFUSED as u16;
const ETIMEDOUT: u16 = libc::ETIMEDOUT as u16;
const UNREACHABLE: [u16; 4] = [
    libc::EHOSTUNREACH as u16,
    libc::ENETUNREACH as u16,
    libc::EHOSTDOWN as u16,
    libc::ENETDOWN as u16,
];

/// The reason for what the kernel noted. The kernel's errno decides first (tcp_abort's
/// ECONNABORTED makes `killed` though it also sends a RST; a keepalive timeout sends a RST
/// and reports ETIMEDOUT), then the resets; a quiet end is `normal` only when every hook that
/// would have told otherwise is attached.
pub fn classify(cause: &EndCause, ends_complete: bool) -> Reason {
    if cause.flags & reason_flag::CONNECT_FAILED != 0 {
        return Reason::Unreachable;
    }
    match cause.errno {
        ECONNABORTED => return Reason::Killed,
        ECONNREFUSED => return Reason::Refused,
        ETIMEDOUT => return Reason::Timeout,
        errno if UNREACHABLE.contains(&errno) => return Reason::Unreachable,
        _ => {}
    }
    if cause.flags & reason_flag::RST_IN_SYN_SENT != 0 {
        Reason::Refused
    } else if cause.flags & reason_flag::RST_SENT != 0 {
        Reason::ResetSent
    } else if cause.flags & reason_flag::RST_RECEIVED != 0 {
        Reason::ResetReceived
    } else if ends_complete {
        Reason::Normal
    } else {
        Reason::Unknown
    }
}

/// The errno's symbolic name (`ECONNREFUSED`); the number as text when it is not one a socket
/// is told.
pub fn errno_name(errno: u16) -> std::borrow::Cow<'static, str> {
    let name = match i32::from(errno) {
        libc::EPERM => "EPERM",
        libc::EINTR => "EINTR",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::EPIPE => "EPIPE",
        libc::EPROTO => "EPROTO",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENETRESET => "ENETRESET",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOBUFS => "ENOBUFS",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENOMEM => "ENOMEM",
        libc::EAGAIN => "EAGAIN",
        _ => return format!("errno {errno}").into(),
    };
    name.into()
}

/// What follow tells about one event beyond the transition itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Story {
    /// Set on the event that ends a connection (destroy, failed connect).
    pub reason: Option<Reason>,
    pub errno: Option<u16>,
    /// The kernel's reset reason, for `reset-sent`.
    pub detail: Option<String>,
    /// SYN_SENT -> ESTABLISHED in microseconds: on that transition and on the destroy.
    pub connect_us: Option<u64>,
    /// The owner shown is the listener's: the socket was not accepted (yet).
    pub owner_from_listener: bool,
}

/// Per-connection facts user space derives, and the tallies by reason.
#[derive(Debug, Default)]
pub struct Stories {
    /// Whether every hook that tells how connections end is attached.
    pub ends_complete: bool,
    /// Since when (CLOCK_MONOTONIC ns) they are: an end before then reads `unknown`.
    complete_from_ns: u64,
    pub reset_reasons: ResetReasons,
    connect_us: CookieMap<u64>,
    /// Children of a listener (LISTEN -> SYN_RECV seen) not yet destroyed, with the
    /// listener's owner then (the listener may close first).
    accepted: CookieMap<Option<Owner>>,
    /// Owners of listening sockets by (netns, port).
    listeners: HashMap<(u32, u16), Owner>,
    /// Connections ended, by [`Reason::index`].
    by_reason: [u64; 8],
    /// Listener drops by reason.
    drops: Vec<(&'static str, u64)>,
}

impl Stories {
    pub fn new(ends_complete: bool, reset_reasons: ResetReasons) -> Stories {
        Stories {
            ends_complete,
            reset_reasons,
            ..Stories::default()
        }
    }

    /// The hooks that tell how connections end were attached at `now_ns`, after the first
    /// events (a quick start): `complete` says whether all of them were.
    pub fn reasons_attached(&mut self, now_ns: u64, complete: bool) {
        self.ends_complete = complete;
        self.complete_from_ns = now_ns;
    }

    /// Learns from one applied transition: may fill the owner (`applied.owner`) from the
    /// listener. Returns the story to show.
    pub fn observe(&mut self, t: &Transition, applied: &mut Applied) -> Story {
        let mut story = Story::default();
        self.learn_listener(t, applied);
        if t.old == SockState::Listen && t.new == SockState::SynRecv {
            let listener = self.listeners.get(&(t.netns, t.local.port())).copied();
            self.accepted.insert(t.cookie, listener);
        }
        if applied.owner.is_none() {
            if let Some(Some(owner)) = self.accepted.get(&t.cookie) {
                applied.owner = Some(*owner);
                story.owner_from_listener = true;
            }
        }
        match t.kind {
            TransitionKind::State
                if t.old == SockState::SynSent && t.new == SockState::Established =>
            {
                if let Some(ms) = applied.ms_in_old_state {
                    let us = (ms * 1000.0).round() as u64;
                    self.connect_us.insert(t.cookie, us);
                    story.connect_us = Some(us);
                }
            }
            TransitionKind::Destroy => {
                story.connect_us = self.connect_us.remove(&t.cookie);
                self.accepted.remove(&t.cookie);
                self.end(t, &mut story);
            }
            TransitionKind::ConnectError => self.end(t, &mut story),
            TransitionKind::Drop => {
                if let Some(dropped) = t.dropped {
                    match self.drops.iter_mut().find(|(r, _)| *r == dropped.reason) {
                        Some((_, n)) => *n += dropped.count,
                        None => self.drops.push((dropped.reason, dropped.count)),
                    }
                }
            }
            _ => {}
        }
        story
    }

    fn learn_listener(&mut self, t: &Transition, applied: &Applied) {
        let key = (t.netns, t.local.port());
        if t.new == SockState::Listen && t.kind != TransitionKind::Destroy {
            if let Some(owner) = applied.owner {
                self.listeners.insert(key, owner);
            }
        } else if t.old == SockState::Listen && t.new == SockState::Close {
            self.listeners.remove(&key);
        }
    }

    fn end(&mut self, t: &Transition, story: &mut Story) {
        let Some(cause) = t.cause else {
            return;
        };
        let reason = classify(
            &cause,
            self.ends_complete && t.ts_ns >= self.complete_from_ns,
        );
        // A failed connect's socket is counted at its destroy, which names the attempt again.
        if t.kind == TransitionKind::Destroy {
            self.by_reason[reason.index()] += 1;
        }
        story.reason = Some(reason);
        story.errno = (cause.errno != 0).then_some(cause.errno);
        if reason == Reason::ResetSent {
            // A kernel without `enum sk_rst_reason` has a tcp_send_reset without a reason:
            // there is no detail to give (the loader said so at start).
            story.detail = cause
                .rst_reason
                .filter(|_| !self.reset_reasons.is_empty())
                .map(|value| {
                    self.reset_reasons
                        .name(value)
                        .map_or_else(|| format!("reset reason {value}"), str::to_string)
                });
        }
    }

    /// Forgets the sockets `live` says are gone (after a loss, their destroys may be lost).
    pub fn retain(&mut self, live: impl Fn(Cookie) -> bool) {
        self.connect_us.retain(|&cookie, _| live(cookie));
        self.accepted.retain(|&cookie, _| live(cookie));
    }

    /// Listener drops so far, by drop reason.
    pub fn drops(&self) -> &[(&'static str, u64)] {
        &self.drops
    }

    /// Connections ended so far, by reason (only reasons seen).
    pub fn tally(&self) -> Vec<(Reason, u64)> {
        Reason::ALL
            .iter()
            .map(|&r| (r, self.by_reason[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(flags: u16, errno: u16) -> EndCause {
        EndCause {
            flags,
            errno,
            rst_reason: None,
        }
    }

    #[test]
    fn errno_decides_before_resets() {
        use reason_flag::*;
        assert_eq!(classify(&cause(0, 0), true), Reason::Normal);
        assert_eq!(classify(&cause(0, 0), false), Reason::Unknown);
        assert_eq!(classify(&cause(RST_SENT, 104), true), Reason::ResetSent);
        assert_eq!(
            classify(&cause(RST_RECEIVED, 104), true),
            Reason::ResetReceived
        );
        assert_eq!(
            classify(&cause(RST_RECEIVED | RST_IN_SYN_SENT, 0), false),
            Reason::Refused
        );
        assert_eq!(classify(&cause(RST_RECEIVED, 111), true), Reason::Refused);
        // tcp_abort (ss -K) sends a RST and reports ECONNABORTED.
        assert_eq!(classify(&cause(RST_SENT, 103), true), Reason::Killed);
        // A keepalive timeout sends a RST and reports ETIMEDOUT.
        assert_eq!(classify(&cause(RST_SENT, 110), true), Reason::Timeout);
        assert_eq!(classify(&cause(0, 113), true), Reason::Unreachable);
        assert_eq!(
            classify(&cause(CONNECT_FAILED, 22), true),
            Reason::Unreachable
        );
    }

    fn transition(old: SockState, new: SockState, kind: TransitionKind) -> Transition {
        Transition::example(kind, old, new)
    }

    fn applied(owner: Option<Owner>) -> Applied {
        Applied {
            ms_in_old_state: Some(0.25),
            lifetime_ms: None,
            owner,
            matched: false,
        }
    }

    #[test]
    fn unaccepted_children_carry_their_listeners_owner_marked() {
        let mut stories = Stories::new(true, ResetReasons::default());
        let owner = Owner {
            pid: 9,
            tid: 9,
            uid: 0,
            cgroup: 0,
            comm: crate::event::Comm::new(b"nginx"),
        };
        let mut listen = transition(SockState::Close, SockState::Listen, TransitionKind::State);
        listen.cookie = Cookie(1);
        stories.observe(&listen, &mut applied(Some(owner)));
        let child = transition(SockState::Listen, SockState::SynRecv, TransitionKind::State);
        let mut child_applied = applied(None);
        let story = stories.observe(&child, &mut child_applied);
        assert!(story.owner_from_listener);
        assert_eq!(child_applied.owner.map(|o| o.pid), Some(9));
        // The listener closes first; the child still names its owner, and ends with a reason.
        let mut close = transition(SockState::Listen, SockState::Close, TransitionKind::State);
        close.cookie = Cookie(1);
        stories.observe(&close, &mut applied(Some(owner)));
        let mut end = transition(SockState::Close, SockState::Close, TransitionKind::Destroy);
        end.cause = Some(cause(reason_flag::RST_SENT, 0));
        let story = stories.observe(&end, &mut applied(None));
        assert!(story.owner_from_listener);
        assert_eq!(story.reason, Some(Reason::ResetSent));
        assert_eq!(stories.tally(), vec![(Reason::ResetSent, 1)]);
    }

    #[test]
    fn connect_latency_is_kept_until_the_end() {
        let mut stories = Stories::new(true, ResetReasons::default());
        let up = transition(
            SockState::SynSent,
            SockState::Established,
            TransitionKind::State,
        );
        assert_eq!(
            stories.observe(&up, &mut applied(None)).connect_us,
            Some(250)
        );
        let mut end = transition(SockState::Close, SockState::Close, TransitionKind::Destroy);
        end.cause = Some(cause(0, 0));
        let story = stories.observe(&end, &mut applied(None));
        assert_eq!(story.connect_us, Some(250));
        assert_eq!(story.reason, Some(Reason::Normal));
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(111), "ECONNREFUSED");
        assert_eq!(errno_name(101), "ENETUNREACH");
        assert_eq!(errno_name(4000), "errno 4000");
    }

    #[test]
    fn reset_reason_names_from_the_kernel_enum() {
        let names = ResetReasons::new(vec![(3, "SK_RST_REASON_TCP_ABORT_ON_CLOSE".into())]);
        assert_eq!(names.name(3), Some("tcp-abort-on-close"));
        assert_eq!(names.name(4), None);
    }

    #[test]
    fn reset_sent_has_a_detail_only_where_the_kernel_names_reasons() {
        let mut end = transition(SockState::Close, SockState::Close, TransitionKind::Destroy);
        end.cause = Some(EndCause {
            flags: reason_flag::RST_SENT,
            errno: 0,
            rst_reason: Some(3),
        });
        let named = ResetReasons::new(vec![(3, "SK_RST_REASON_TCP_ABORT_ON_CLOSE".into())]);
        let mut stories = Stories::new(true, named);
        let story = stories.observe(&end, &mut applied(None));
        assert_eq!(story.detail.as_deref(), Some("tcp-abort-on-close"));
        // Before 6.10: no enum in the kernel's BTF, no reason argument to read.
        let mut stories = Stories::new(true, ResetReasons::default());
        let story = stories.observe(&end, &mut applied(None));
        assert_eq!(story.reason, Some(Reason::ResetSent));
        assert_eq!(story.detail, None);
    }

    #[test]
    fn a_quiet_end_before_the_reason_hooks_attached_is_unknown() {
        let quiet_end = |ts_ns| {
            let mut end = transition(SockState::Close, SockState::Close, TransitionKind::Destroy);
            end.ts_ns = ts_ns;
            end.cause = Some(EndCause {
                flags: 0,
                errno: 0,
                rst_reason: None,
            });
            end
        };
        // A quick start: nothing tells reasons yet.
        let mut stories = Stories::new(false, ResetReasons::default());
        let story = stories.observe(&quiet_end(1_000), &mut applied(None));
        assert_eq!(story.reason, Some(Reason::Unknown));
        stories.reasons_attached(2_000, true);
        // Queued before the hooks were attached, read after: still unknown.
        let story = stories.observe(&quiet_end(1_500), &mut applied(None));
        assert_eq!(story.reason, Some(Reason::Unknown));
        let story = stories.observe(&quiet_end(2_500), &mut applied(None));
        assert_eq!(story.reason, Some(Reason::Normal));
        // A kernel that lacks one of them: unknown still.
        stories.reasons_attached(2_000, false);
        let story = stories.observe(&quiet_end(3_000), &mut applied(None));
        assert_eq!(story.reason, Some(Reason::Unknown));
    }
}
