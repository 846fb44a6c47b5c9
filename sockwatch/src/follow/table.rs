//! The live socket table: every TCP socket follow knows of, keyed by cookie, kept current by
//! the event stream.

use std::{collections::HashMap, net::SocketAddr};

use crate::{
    event::{CloseStats, Owner, Transition, TransitionKind},
    int_hash::IntHash,
    model::{Cookie, SockState},
};

/// What the table knows of one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSocket {
    pub state: SockState,
    /// CLOCK_MONOTONIC ns when it entered `state` (None: before follow started).
    pub since_ns: Option<u64>,
    /// CLOCK_MONOTONIC ns when it was first seen (None: before follow started).
    pub first_seen_ns: Option<u64>,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub owner: Option<Owner>,
    /// Whether an event (not only a listing) has named this socket.
    pub evented: bool,
    /// Whether the user's filter matched one of its events or its listing row.
    pub matched: bool,
    /// The counters its transition into CLOSE carried (None outside CLOSE): a reset zeroes
    /// them before the destroy.
    pub counters_at_close: Option<CloseStats>,
}

/// What applying one transition changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Applied {
    /// Milliseconds the socket spent in its previous state, when that is known.
    pub ms_in_old_state: Option<f64>,
    /// Milliseconds since the socket was first seen, when known (filled on destroy).
    pub lifetime_ms: Option<f64>,
    /// The owner the table knows for this socket, which may come from an earlier event or the
    /// snapshot when the event itself ran outside the owner's context.
    pub owner: Option<Owner>,
    /// Whether the user's filter had matched the socket before this event.
    pub matched: bool,
}

pub(crate) type CookieMap<V> = HashMap<Cookie, V, IntHash>;

#[derive(Debug, Default)]
pub struct LiveTable {
    sockets: CookieMap<LiveSocket>,
    /// The table before a rebuild began: owners learnt from events survive the rebuild.
    previous: CookieMap<LiveSocket>,
    /// Sockets that had at least one event.
    evented: u64,
    /// When the last rebuild's sock_diag listing began (CLOCK_MONOTONIC ns): events older
    /// than that are already in the listing and must not change the table again.
    rebuilt_at_ns: u64,
}

fn ms_between(from_ns: u64, to_ns: u64) -> f64 {
    to_ns.saturating_sub(from_ns) as f64 / 1e6
}

/// `now` with the parts the kernel cleared (address unspecified, port 0) taken from `before`.
fn fill_cleared(now: SocketAddr, before: SocketAddr) -> SocketAddr {
    let ip = if now.ip().is_unspecified() {
        before.ip()
    } else {
        now.ip()
    };
    let port = if now.port() == 0 {
        before.port()
    } else {
        now.port()
    };
    SocketAddr::new(ip, port)
}

/// A destroy completed from what the table last knew of its socket: a reset
/// (`tcp_disconnect`) clears the remote port, the local address and the counters before the
/// kernel destroys the socket. Counters only grow within a connection, so the larger wins.
fn complete_destroy(t: &mut Transition, socket: &LiveSocket) {
    t.local = fill_cleared(t.local, socket.local);
    t.remote = fill_cleared(t.remote, socket.remote);
    if let (Some(close), Some(before)) = (&mut t.close, socket.counters_at_close) {
        close.bytes_acked = close.bytes_acked.max(before.bytes_acked);
        close.bytes_received = close.bytes_received.max(before.bytes_received);
        close.total_retrans = close.total_retrans.max(before.total_retrans);
    }
}

impl LiveTable {
    /// How many distinct sockets events have named.
    pub fn sockets_seen(&self) -> u64 {
        self.evented
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    pub fn get(&self, cookie: Cookie) -> Option<&LiveSocket> {
        self.sockets.get(&cookie)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Cookie, &LiveSocket)> {
        self.sockets.iter()
    }

    /// Removes a socket that ended without its end reaching follow (see `audit`).
    pub fn forget(&mut self, cookie: Cookie) {
        self.sockets.remove(&cookie);
    }

    /// Records that the user's filter matched the socket (see [`LiveSocket::matched`]).
    pub fn mark_matched(&mut self, cookie: Cookie) {
        if let Some(socket) = self.sockets.get_mut(&cookie) {
            socket.matched = true;
        }
    }

    /// Starts rebuilding the table from sock_diag: SNAPSHOT transitions that follow replace
    /// its contents.
    /// `listed`: how many sockets the listing holds (room is made for them at once).
    pub fn begin_rebuild(&mut self, listing_began_ns: u64, listed: usize) {
        self.previous = std::mem::take(&mut self.sockets);
        self.sockets.reserve(listed);
        self.rebuilt_at_ns = listing_began_ns;
    }

    /// What an event older than the last rebuild tells without changing the table: the
    /// listing is newer. Only an owner it names is kept.
    /// It still counts as seen: a listed socket at its first event, an unlisted one (it ended
    /// before the listing) at its end, unless the table before the rebuild had counted it.
    fn apply_stale(&mut self, t: &Transition) -> Applied {
        let entry = self.sockets.get_mut(&t.cookie);
        let (owner, matched) = match entry {
            Some(socket) => {
                if !socket.evented {
                    socket.evented = true;
                    self.evented += 1;
                }
                if socket.owner.is_none() {
                    socket.owner = t.owner;
                }
                (socket.owner, socket.matched)
            }
            None => {
                let counted = self.previous.get(&t.cookie).is_some_and(|b| b.evented);
                if t.kind == TransitionKind::Destroy && !counted {
                    self.evented += 1;
                }
                (t.owner, false)
            }
        };
        Applied {
            ms_in_old_state: None,
            lifetime_ms: None,
            owner,
            matched,
        }
    }

    fn insert_snapshot(&mut self, t: &Transition) -> Applied {
        let before = self.previous.remove(&t.cookie);
        let owner = t.owner.or_else(|| before.as_ref().and_then(|b| b.owner));
        let socket = LiveSocket {
            state: t.new,
            // Known only when the socket was already followed before this rebuild.
            since_ns: before
                .as_ref()
                .filter(|b| b.state == t.new)
                .and_then(|b| b.since_ns),
            first_seen_ns: before.as_ref().and_then(|b| b.first_seen_ns),
            local: t.local,
            remote: t.remote,
            owner,
            evented: before.as_ref().is_some_and(|b| b.evented),
            matched: before.as_ref().is_some_and(|b| b.matched),
            counters_at_close: None,
        };
        self.sockets.insert(t.cookie, socket);
        Applied {
            ms_in_old_state: None,
            lifetime_ms: None,
            owner,
            matched: false,
        }
    }

    /// A socket known under its stand-in key got its cookie: file it under the cookie.
    fn adopt_cookie(&mut self, alias: Cookie, cookie: Cookie) {
        if alias != cookie {
            if let Some(socket) = self.sockets.remove(&alias) {
                self.sockets.entry(cookie).or_insert(socket);
            }
        }
    }

    /// Applies one event; destroyed sockets leave the table. A destroy is completed with
    /// what the kernel cleared before it (see [`complete_destroy`]).
    pub fn apply(&mut self, t: &mut Transition) -> Applied {
        if t.kind == TransitionKind::Snapshot {
            return self.insert_snapshot(t);
        }
        if matches!(t.kind, TransitionKind::ConnectError | TransitionKind::Drop) {
            // Reports about a socket that change nothing in the table: a connect() that sent no
            // SYN (its destroy ends the story), a listener's drops.
            return Applied {
                ms_in_old_state: None,
                lifetime_ms: None,
                owner: t
                    .owner
                    .or_else(|| self.sockets.get(&t.cookie).and_then(|s| s.owner)),
                matched: false,
            };
        }
        if let Some(alias) = t.alias {
            self.adopt_cookie(alias, t.cookie);
        }
        if t.ts_ns < self.rebuilt_at_ns {
            return self.apply_stale(t);
        }
        // The rebuild is over once a kernel event arrives.
        if !self.previous.is_empty() {
            self.previous.clear();
        }
        let entry = self.sockets.entry(t.cookie).or_insert_with(|| LiveSocket {
            state: t.old,
            since_ns: None,
            // A socket first met in an event was born at most that long ago: its first event
            // is its birth when it starts from CLOSE or LISTEN (a new child).
            first_seen_ns: t.first_seen_ns.or((matches!(
                t.old,
                SockState::Close | SockState::Listen
            ))
            .then_some(t.ts_ns)),
            local: t.local,
            remote: t.remote,
            owner: None,
            evented: false,
            matched: false,
            counters_at_close: None,
        });
        if !entry.evented {
            entry.evented = true;
            self.evented += 1;
        }
        if entry.owner.is_none() || t.kind == TransitionKind::Owner {
            entry.owner = t.owner.or(entry.owner);
        }
        if entry.first_seen_ns.is_none() {
            entry.first_seen_ns = t.first_seen_ns;
        }
        let ms_in_old_state = entry.since_ns.map(|since| ms_between(since, t.ts_ns));
        let lifetime_ms = entry.first_seen_ns.map(|first| ms_between(first, t.ts_ns));
        let owner = entry.owner;
        let matched = entry.matched;
        match t.kind {
            TransitionKind::State => {
                entry.state = t.new;
                entry.since_ns = Some(t.ts_ns);
                // Addresses fill in as the socket progresses (bind, connect).
                entry.local = t.local;
                entry.remote = t.remote;
                entry.counters_at_close = t.close.filter(|_| t.new == SockState::Close);
            }
            TransitionKind::Destroy => {
                complete_destroy(t, entry);
                self.sockets.remove(&t.cookie);
            }
            TransitionKind::Owner
            | TransitionKind::Snapshot
            | TransitionKind::Retransmit
            | TransitionKind::ConnectError
            | TransitionKind::Drop => {}
        }
        Applied {
            ms_in_old_state,
            lifetime_ms,
            owner,
            matched,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A transition of one socket (cookie 7) for follow's unit tests.
    pub(in crate::follow) fn transition(
        ts_ns: u64,
        kind: TransitionKind,
        old: SockState,
        new: SockState,
    ) -> Transition {
        Transition {
            ts_ns,
            cookie: Cookie(7),
            alias: None,
            kind,
            old,
            new,
            local: "127.0.0.1:5000".parse().expect("addr"),
            remote: "127.0.0.1:80".parse().expect("addr"),
            netns: 1,
            owner: None,
            first_seen_ns: Some(1_000_000),
            close: (kind == TransitionKind::Destroy).then_some(CloseStats {
                bytes_acked: 1,
                bytes_received: 1,
                total_retrans: 0,
                ..CloseStats::default()
            }),
            cause: None,
            total_retrans: None,
            dropped: None,
        }
    }

    #[test]
    fn tracks_time_in_state_and_forgets_destroyed_sockets() {
        let mut table = LiveTable::default();
        let first = table.apply(&mut transition(
            1_000_000,
            TransitionKind::State,
            SockState::Close,
            SockState::SynSent,
        ));
        assert_eq!(first.ms_in_old_state, None);
        let second = table.apply(&mut transition(
            3_500_000,
            TransitionKind::State,
            SockState::SynSent,
            SockState::Established,
        ));
        assert_eq!(second.ms_in_old_state, Some(2.5));
        assert_eq!(
            table.get(Cookie(7)).map(|s| s.state),
            Some(SockState::Established)
        );
        let last = table.apply(&mut transition(
            5_000_000,
            TransitionKind::Destroy,
            SockState::Close,
            SockState::Close,
        ));
        assert_eq!(last.lifetime_ms, Some(4.0));
        assert!(table.is_empty());
    }

    #[test]
    fn keeps_the_owner_seen_first() {
        let mut table = LiveTable::default();
        let mut connect = transition(
            1,
            TransitionKind::State,
            SockState::Close,
            SockState::SynSent,
        );
        connect.owner = Some(Owner {
            pid: 9,
            tid: 9,
            uid: 0,
            cgroup: 0,
            comm: crate::event::Comm::new(b"curl"),
        });
        table.apply(&mut connect);
        let later = table.apply(&mut transition(
            2,
            TransitionKind::State,
            SockState::SynSent,
            SockState::Established,
        ));
        assert_eq!(later.owner.map(|o| o.pid), Some(9));
    }

    #[test]
    fn events_older_than_a_rebuild_do_not_bring_back_dead_sockets() {
        let mut table = LiveTable::default();
        table.begin_rebuild(10_000_000, 0);
        // Queued before the listing began: its socket's destroy was lost, and the listing
        // (which no longer has it) is newer.
        table.apply(&mut transition(
            9_000_000,
            TransitionKind::State,
            SockState::SynSent,
            SockState::Established,
        ));
        assert!(table.is_empty());
        table.apply(&mut transition(
            11_000_000,
            TransitionKind::State,
            SockState::Close,
            SockState::SynSent,
        ));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_socket_known_by_its_alias_moves_to_its_cookie() {
        let alias = Cookie(sockwatch_common::ALIAS_BIT | 0x1234);
        let mut table = LiveTable::default();
        let mut connect = transition(
            1_000_000,
            TransitionKind::State,
            SockState::Close,
            SockState::SynSent,
        );
        connect.cookie = alias;
        connect.alias = Some(alias);
        table.apply(&mut connect);
        assert!(table.get(alias).is_some());
        // A sock_diag listing generated the cookie: later events carry both.
        let mut established = transition(
            3_000_000,
            TransitionKind::State,
            SockState::SynSent,
            SockState::Established,
        );
        established.alias = Some(alias);
        let applied = table.apply(&mut established);
        assert_eq!(applied.ms_in_old_state, Some(2.0));
        assert!(table.get(alias).is_none());
        assert_eq!(
            table.get(Cookie(7)).map(|s| s.state),
            Some(SockState::Established)
        );
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_destroy_after_a_reset_takes_what_the_kernel_cleared_from_the_table() {
        let mut table = LiveTable::default();
        let mut close = transition(
            2_000_000,
            TransitionKind::State,
            SockState::Established,
            SockState::Close,
        );
        close.close = Some(CloseStats {
            bytes_acked: 2,
            bytes_received: 1,
            total_retrans: 0,
            ..CloseStats::default()
        });
        table.apply(&mut close);
        table.mark_matched(Cookie(7));
        // tcp_disconnect cleared the local address, the remote port and the counters.
        let mut destroy = transition(
            3_000_000,
            TransitionKind::Destroy,
            SockState::Close,
            SockState::Close,
        );
        destroy.local = "0.0.0.0:5000".parse().expect("addr");
        destroy.remote = "127.0.0.1:0".parse().expect("addr");
        destroy.close = Some(CloseStats::default());
        let applied = table.apply(&mut destroy);
        assert!(applied.matched);
        assert_eq!(destroy.local.to_string(), "127.0.0.1:5000");
        assert_eq!(destroy.remote.to_string(), "127.0.0.1:80");
        assert_eq!(
            destroy.close.map(|c| (c.bytes_acked, c.bytes_received)),
            Some((2, 1))
        );
        assert!(table.is_empty());
    }
}
