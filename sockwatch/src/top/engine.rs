//! top's aggregation: per-connection rates from the tcp_info counters of two sock_diag
//! listings, plus what follow's events said happened in between (connections opened,
//! failed and closed, with the final counters of those that ended), summarised per process
//! and per remote end: never one row a short-lived connection.
//!
//! The kernel sends top connections' ends only (DESTROY events, see
//! `KernelFilter::ends_only`), not their state changes. A connection is counted opened once:
//! at the first listing that shows it past the handshake, or at its DESTROY when no listing
//! did and the kernel noted that it reached ESTABLISHED.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
};

use sockwatch_common::reason_flag;

use super::{
    frame::{Connection, Frame, Group, Process, Rates, Totals},
    listed::{Counters, Listed},
};
use crate::{
    event::{Transition, TransitionKind},
    filter::{Filter, SS_ALL},
    follow::table::CookieMap,
    int_hash::IntHash,
    model::{Cookie, Endpoint, Netid, SockState, SocketRecord},
};

/// A set of sockets by cookie.
type CookieSet = HashSet<Cookie, IntHash>;

/// What a process or a remote end did over the interval, from the events and the deltas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Flow {
    open: u64,
    opened: u64,
    closed: u64,
    failures: BTreeMap<&'static str, u64>,
    rx: u64,
    tx: u64,
    retrans: u64,
}

impl Flow {
    fn add(&mut self, c: Counters) {
        self.rx += c.rx;
        self.tx += c.tx;
        self.retrans += u64::from(c.retrans);
    }

    /// Counts one open connection that moved `c` over the interval.
    fn count_open(&mut self, c: Counters) {
        self.open += 1;
        self.add(c);
    }
}

/// What the events said since the last frame.
#[derive(Debug, Default)]
struct Churn {
    opened: u64,
    closed: u64,
    failures: BTreeMap<&'static str, u64>,
    by_process: HashMap<Option<Process>, Flow>,
    by_remote: HashMap<SocketAddr, Flow>,
    /// Bytes and retransmits of connections that ended.
    ended: Counters,
}

impl Churn {
    fn flows(&mut self, process: &Option<Process>, remote: SocketAddr) -> [&mut Flow; 2] {
        let by_process = self.by_process.entry(process.clone()).or_default();
        let by_remote = self.by_remote.entry(remote).or_default();
        [by_process, by_remote]
    }
}

/// top's running state between frames.
#[derive(Debug, Default)]
pub struct Engine {
    /// Each socket's counters at the last listing.
    previous: CookieMap<Counters>,
    /// Counters of sockets the last listing no longer had, for one more frame: their
    /// destroy may be read (within milliseconds) after the listing that missed them.
    vanished: CookieMap<Counters>,
    /// When top saw each socket appear (sockets of the first listing have no birth).
    born: CookieMap<u64>,
    /// Connections past the handshake in the last listing: their open is counted (or was
    /// before top started), their DESTROY must not count it again.
    open: CookieSet,
    /// Those of the listing before that the last one no longer had, for one more frame (as
    /// `vanished`).
    open_vanished: CookieSet,
    /// Local ports of the listeners in the last listing: a listed connection on one was
    /// accepted (a DESTROY says so itself).
    listening: HashSet<u16>,
    churn: Churn,
    /// Whether follow's events feed the engine (with CAP_BPF and friends).
    events: bool,
    lost: u64,
    /// CLOCK_MONOTONIC ns of the last listing; None before the first.
    last_ns: Option<u64>,
    filter: Option<Filter>,
    /// A shown frame's connection rows given back, emptied, for the next frame.
    spare_rows: Vec<Connection>,
}

fn per_s(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn rates(c: Counters, secs: f64) -> Rates {
    Rates {
        rx_bytes: per_s(c.rx, secs),
        tx_bytes: per_s(c.tx, secs),
        retransmits: per_s(u64::from(c.retrans), secs),
    }
}

fn flow_rates(flow: &Flow, secs: f64) -> Rates {
    rates(
        Counters {
            rx: flow.rx,
            tx: flow.tx,
            retrans: u32::try_from(flow.retrans).unwrap_or(u32::MAX),
        },
        secs,
    )
}

impl Engine {
    /// `events`: whether follow's events will be handed to [`Engine::transition`].
    pub fn new(filter: Option<Filter>, events: bool) -> Engine {
        Engine {
            filter,
            events,
            ..Engine::default()
        }
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// A new filter applies from the next frame on (what was counted stays counted).
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.filter = filter;
    }

    pub fn has_events(&self) -> bool {
        self.events
    }

    /// Whether the filter admits a TCP socket in `state` between `local` and `remote` (the
    /// record a filter tests is built only when there is a filter).
    fn admits_ends(&self, state: SockState, local: SocketAddr, remote: SocketAddr) -> bool {
        self.filter.as_ref().is_none_or(|f| {
            let (local, remote) = (Endpoint::inet(local), Endpoint::inet(remote));
            f.matches(&SocketRecord::new(Netid::Tcp, state, local, remote))
        })
    }

    fn admits_listed(&self, listed: &Listed) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches(&listed.record()))
    }

    fn states(&self) -> u32 {
        self.filter
            .as_ref()
            .and_then(Filter::states)
            .unwrap_or(SS_ALL)
    }

    /// The states a listing must hold (bit n: kernel state n): those a frame may show, and
    /// those the engine follows whatever the filter (listeners, connections past the
    /// handshake, all among ss's states). Not bound-inactive sockets, which no frame shows:
    /// listing them costs the kernel a walk of its whole bind table, TIME-WAIT sockets
    /// included, at every refresh.
    pub fn listed_states(&self) -> u32 {
        SS_ALL | self.states()
    }

    /// Whether sockets in `state` are connection rows: listeners never are (they are
    /// counted in the header); TIME-WAIT ones only when the filter's states ask for them, as
    /// churn leaves thousands of them with nothing left to show.
    fn is_row(&self, state: SockState) -> bool {
        match state {
            SockState::Listen => false,
            SockState::TimeWait => self
                .filter
                .as_ref()
                .and_then(Filter::states)
                .is_some_and(|states| states & (1 << state.kernel()) != 0),
            _ => true,
        }
    }

    /// Whether the filter admits a connection between `local` and `remote` once it is
    /// established (what "opened" counts).
    fn admits_open(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        let established = SockState::Established;
        self.states() & (1 << established.kernel()) != 0
            && self.admits_ends(established, local, remote)
    }

    /// The remote end a connection is grouped under: an accepted connection's remote port is
    /// the client's ephemeral one, so it is grouped by remote address alone (port 0), else
    /// every accepted connection would be a group of its own.
    fn remote_key(accepted: bool, remote: SocketAddr) -> SocketAddr {
        match accepted {
            true => SocketAddr::new(remote.ip(), 0),
            false => remote,
        }
    }

    /// Counts `count` opened connections for `process` and `remote`.
    fn opened(&mut self, process: &Option<Process>, remote: SocketAddr, count: u64) {
        self.churn.opened += count;
        for flow in self.churn.flows(process, remote) {
            flow.opened += count;
        }
    }

    /// Counts one event from follow (the kernel sends top the ends of connections). `owner`:
    /// the process follow knows for it; `failure`: why its connection ended, when this event
    /// ends it otherwise than normally (follow's reasons: `refused`, `reset-received`, ...).
    pub fn transition(
        &mut self,
        t: &Transition,
        owner: Option<Process>,
        failure: Option<&'static str>,
    ) {
        self.transitions(t, owner, failure, 1);
    }

    /// Counts `count` connections alike that no listing saw, whose ends the kernel summed
    /// into one DESTROY (`t.close` holds their counters added up, `t.cookie` none).
    pub fn transitions(
        &mut self,
        t: &Transition,
        owner: Option<Process>,
        failure: Option<&'static str>,
        count: u64,
    ) {
        let admitted = self.admits_ends(t.new, t.local, t.remote);
        let flags = t.cause.map_or(0, |cause| cause.flags);
        let remote_key = Engine::remote_key(flags & reason_flag::ACCEPTED != 0, t.remote);
        if let (Some(reason), true) = (failure, admitted) {
            *self.churn.failures.entry(reason).or_default() += count;
            for flow in self.churn.flows(&owner, remote_key) {
                *flow.failures.entry(reason).or_default() += count;
            }
        }
        if t.kind != TransitionKind::Destroy {
            return;
        }
        let listed_open = self.open.remove(&t.cookie) | self.open_vanished.remove(&t.cookie);
        let established = flags & reason_flag::ESTABLISHED != 0;
        if established && !listed_open && self.admits_open(t.local, t.remote) {
            self.opened(&owner, remote_key, count);
        }
        // The part of its final counters the last listing had not seen yet.
        let before = self
            .previous
            .remove(&t.cookie)
            .or_else(|| self.vanished.remove(&t.cookie))
            .unwrap_or_default();
        self.born.remove(&t.cookie);
        // A listener's end, or a socket's that never connected: no connection closed.
        if t.old == SockState::Listen || t.remote.ip().is_unspecified() || !admitted {
            return;
        }
        let close = t.close.unwrap_or_default();
        let ended = Counters {
            rx: close.bytes_received,
            tx: close.bytes_acked,
            retrans: close.total_retrans,
        }
        .since(before);
        self.churn.closed += count;
        self.churn.ended.rx += ended.rx;
        self.churn.ended.tx += ended.tx;
        self.churn.ended.retrans += ended.retrans;
        for flow in self.churn.flows(&owner, remote_key) {
            flow.closed += count;
            flow.add(ended);
        }
    }

    /// Takes back a frame once it is shown: the next frame's rows fill the same vector.
    pub fn give_back(&mut self, frame: Frame) {
        let mut rows = frame.connections;
        rows.clear();
        self.spare_rows = rows;
    }

    /// Counts events the kernel could not deliver.
    pub fn lost(&mut self, lost: u64) {
        self.lost += lost;
    }

    /// Takes the first listing: the counters the first frame's rates start from.
    pub fn prime(&mut self, records: &[Listed], now_ns: u64) {
        self.previous = records
            .iter()
            .filter_map(|r| r.counters.map(|c| (r.cookie, c)))
            .collect();
        self.listening = listening_ports(records);
        // Opened before top started: not this interval's.
        self.open = records
            .iter()
            .filter(|r| past_handshake(r.state))
            .map(|r| r.cookie)
            .collect();
        self.last_ns = Some(now_ns);
        self.churn = Churn::default();
    }

    /// Builds a frame from a new listing of the TCP sockets (owners in `users` where /proc
    /// named them) and the events since the last one. `time_wait`: how many TIME-WAIT
    /// sockets there are when the listing left them out (only without a filter).
    pub fn frame(
        &mut self,
        records: &[Listed],
        time_wait: Option<u64>,
        now_ns: u64,
        degraded: Option<String>,
    ) -> Frame {
        let first = self.last_ns.is_none();
        let secs = self
            .last_ns
            .map_or(0.0, |last| now_ns.saturating_sub(last) as f64 / 1e9);
        self.listening = listening_ports(records);
        let mut open = CookieSet::default();
        for record in records.iter().filter(|r| past_handshake(r.state)) {
            open.insert(record.cookie);
            let counted =
                self.open.remove(&record.cookie) | self.open_vanished.remove(&record.cookie);
            if counted || first {
                continue;
            }
            if self.admits_open(record.local, record.peer) {
                let accepted = self.listening.contains(&record.local.port());
                let remote = Engine::remote_key(accepted, record.peer);
                self.opened(&record.owner, remote, 1);
            }
        }
        self.open_vanished = std::mem::replace(&mut self.open, open);
        let churn = std::mem::take(&mut self.churn);
        let mut by_process = churn.by_process;
        let mut by_remote = churn.by_remote;
        // Sockets by kernel state number (a state mask's bit: below 32).
        let mut by_state = [0u64; 32];
        if let Some(n) = time_wait {
            by_state[usize::from(SockState::TimeWait.kernel())] = n;
        }
        // Sized for the listing: no regrowth copies of thousands of rows and counters; in
        // the last frame's vector when it came back (no fresh pages for megabytes of rows).
        let mut connections = std::mem::take(&mut self.spare_rows);
        connections.reserve(records.len());
        let mut next = CookieMap::with_capacity_and_hasher(records.len(), Default::default());
        let mut total = churn.ended;
        let states = self.states();
        for record in records {
            let (local, peer) = (record.local, record.peer);
            let now = record.counters;
            let before = self.previous.get(&record.cookie).copied();
            if let Some(now) = now {
                next.insert(record.cookie, now);
            }
            if !first && before.is_none() {
                self.born.entry(record.cookie).or_insert(now_ns);
            }
            if !self.admits_listed(record) || states & (1 << record.state.kernel()) == 0 {
                continue;
            }
            if let Some(n) = by_state.get_mut(usize::from(record.state.kernel())) {
                *n += 1;
            }
            if !self.is_row(record.state) {
                continue;
            }
            // A socket the last listing did not have is new: all its bytes are this
            // interval's (the first frame has no interval).
            let delta = match (now, before) {
                (Some(now), Some(before)) => now.since(before),
                (Some(now), None) if !first => now,
                _ => Counters::default(),
            };
            total.rx += delta.rx;
            total.tx += delta.tx;
            total.retrans += delta.retrans;
            let process = record.owner.clone();
            by_remote
                .entry(Engine::remote_key(
                    self.listening.contains(&local.port()),
                    peer,
                ))
                .or_default()
                .count_open(delta);
            // Looked up before inserting: most rows' process has a group already, and an
            // entry would take a copy of its name for nothing.
            match by_process.get_mut(&process) {
                Some(flow) => flow.count_open(delta),
                None => {
                    let mut flow = Flow::default();
                    flow.count_open(delta);
                    by_process.insert(process.clone(), flow);
                }
            }
            connections.push(Connection {
                cookie: record.cookie,
                state: record.state,
                local,
                peer,
                process,
                rates: rates(delta, secs),
                srtt_ms: record.rtt_us.map(|rtt| f64::from(rtt) / 1000.0),
                age_ms: self
                    .born
                    .get(&record.cookie)
                    .map(|&born| now_ns.saturating_sub(born) as f64 / 1e6),
            });
        }
        let previous = std::mem::replace(&mut self.previous, next);
        self.vanished = previous
            .into_iter()
            .filter(|(cookie, _)| !self.previous.contains_key(cookie))
            .collect();
        self.born
            .retain(|cookie, _| self.previous.contains_key(cookie));
        self.last_ns = Some(now_ns);
        let events = self.events;
        Frame {
            ts_ns: now_ns,
            interval_ms: secs * 1e3,
            degraded,
            totals: Totals {
                by_state: (0u8..)
                    .zip(by_state)
                    .filter(|&(_, n)| n > 0)
                    .map(|(state, n)| (SockState::from_kernel(state), n))
                    .collect(),
                opened_per_s: events.then(|| per_s(churn.opened, secs)),
                closed_per_s: events.then(|| per_s(churn.closed, secs)),
                failures: events.then(|| churn.failures.into_iter().collect()),
                events_lost: events.then_some(self.lost),
                rates: rates(total, secs),
            },
            connections,
            processes: by_process
                .into_iter()
                .map(|(k, f)| group(k, f, events, secs))
                .collect(),
            remotes: by_remote
                .into_iter()
                .map(|(k, f)| group(k, f, events, secs))
                .collect(),
        }
    }
}

/// A group's row from its flow; `events`: whether the events fed the churn counts.
fn group<K>(key: K, flow: Flow, events: bool, secs: f64) -> Group<K> {
    Group {
        key,
        open: flow.open,
        opened_per_s: events.then(|| per_s(flow.opened, secs)),
        closed_per_s: events.then(|| per_s(flow.closed, secs)),
        rates: flow_rates(&flow, secs),
        failures: flow.failures.into_iter().collect(),
    }
}

/// Whether a socket in `state` has completed its handshake (TIME-WAIT excepted: its
/// connection's DESTROY came, or comes, with the same cookie).
fn past_handshake(state: SockState) -> bool {
    matches!(
        state,
        SockState::Established
            | SockState::FinWait1
            | SockState::FinWait2
            | SockState::CloseWait
            | SockState::Closing
            | SockState::LastAck
    )
}

/// The local ports of the listeners in `records`.
fn listening_ports(records: &[Listed]) -> HashSet<u16> {
    records
        .iter()
        .filter(|r| r.state == SockState::Listen)
        .map(|r| r.local.port())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::{
        event::{CloseStats, EndCause},
        model::{SocketUser, TcpExtra, TcpInfo},
    };

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// A listed socket, its record kept (for the tests with filters).
    fn listed(record: SocketRecord) -> Listed {
        Listed::from_record(record, true).unwrap()
    }

    fn record(cookie: u64, state: SockState, rx: u64, tx: u64, pid: u32) -> Listed {
        let mut r = SocketRecord::new(
            Netid::Tcp,
            state,
            Endpoint::inet(addr(&format!("127.0.0.1:{}", 40000 + cookie))),
            Endpoint::inet(addr("127.0.0.2:80")),
        );
        r.cookie = Cookie(cookie);
        r.inode = cookie;
        r.tcp = Some(TcpExtra {
            info: Some(TcpInfo {
                bytes_received: rx,
                bytes_acked: tx,
                rtt: 1500,
                ..TcpInfo::default()
            }),
            ..TcpExtra::default()
        });
        r.users = vec![SocketUser {
            comm: "curl".into(),
            pid,
            tid: None,
            fd: 3,
        }];
        listed(r)
    }

    fn transition(cookie: u64, kind: TransitionKind, old: SockState, new: SockState) -> Transition {
        Transition {
            ts_ns: 0,
            cookie: Cookie(cookie),
            local: addr("127.0.0.1:50000"),
            remote: addr("127.0.0.2:80"),
            netns: 0,
            ..Transition::example(kind, old, new)
        }
    }

    /// The DESTROY of a connection that reached ESTABLISHED (or not), with its counters.
    fn end(cookie: u64, established: bool, rx: u64, tx: u64, retrans: u32) -> Transition {
        let mut end = transition(
            cookie,
            TransitionKind::Destroy,
            SockState::Close,
            SockState::Close,
        );
        end.close = Some(CloseStats {
            bytes_acked: tx,
            bytes_received: rx,
            total_retrans: retrans,
            ..CloseStats::default()
        });
        end.cause = Some(EndCause {
            flags: if established {
                reason_flag::ESTABLISHED
            } else {
                0
            },
            errno: 0,
            rst_reason: None,
        });
        end
    }

    fn curl() -> Option<Process> {
        Some(Process {
            pid: 7,
            comm: b"curl"[..].into(),
        })
    }

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn rates_are_counter_deltas_over_the_interval() {
        let mut engine = Engine::new(None, true);
        engine.prime(&[record(1, SockState::Established, 100, 50, 7)], SEC);
        let frame = engine.frame(
            &[
                record(1, SockState::Established, 2100, 1050, 7),
                // New since the last listing: all its bytes are this interval's.
                record(2, SockState::Established, 400, 0, 7),
            ],
            None,
            3 * SEC,
            None,
        );
        assert_eq!(frame.interval_ms, 2000.0);
        let one = frame
            .connections
            .iter()
            .find(|c| c.cookie == Cookie(1))
            .unwrap();
        assert_eq!(one.rates.rx_bytes, 1000.0);
        assert_eq!(one.rates.tx_bytes, 500.0);
        assert_eq!(one.srtt_ms, Some(1.5));
        assert_eq!(one.age_ms, None, "it existed at start");
        let two = frame
            .connections
            .iter()
            .find(|c| c.cookie == Cookie(2))
            .unwrap();
        assert_eq!(two.rates.rx_bytes, 200.0);
        assert_eq!(two.age_ms, Some(0.0));
        assert_eq!(frame.totals.rates.rx_bytes, 1200.0);
        assert_eq!(frame.processes.len(), 1);
        assert_eq!(frame.processes[0].open, 2);
        assert_eq!(frame.processes[0].key, curl());
    }

    #[test]
    fn short_connections_count_once_each_in_their_process_and_remote() {
        let mut engine = Engine::new(None, true);
        engine.prime(&[record(1, SockState::Established, 100, 0, 7)], 0);
        // 30 connections that began and ended between two listings, and one that failed.
        for cookie in 100..130 {
            engine.transition(&end(cookie, true, 20, 10, 1), curl(), None);
        }
        engine.transition(&end(200, false, 0, 0, 0), curl(), Some("refused"));
        // The listed socket ended too: only what the listing had not seen counts, and its
        // open was not this interval's.
        engine.transition(&end(1, true, 150, 0, 0), curl(), None);
        let frame = engine.frame(&[], None, SEC, None);
        assert!(frame.connections.is_empty());
        assert_eq!(frame.totals.opened_per_s, Some(30.0));
        assert_eq!(frame.totals.closed_per_s, Some(32.0));
        assert_eq!(frame.totals.failures, Some(vec![("refused", 1)]));
        assert_eq!(frame.totals.rates.rx_bytes, 30.0 * 20.0 + 50.0);
        assert_eq!(frame.totals.rates.retransmits, 30.0);
        assert_eq!(frame.processes.len(), 1, "one row for all of them");
        let group = &frame.processes[0];
        assert_eq!((group.open, group.opened_per_s), (0, Some(30.0)));
        assert_eq!(group.failures, vec![("refused", 1)]);
        assert_eq!(frame.remotes.len(), 1);
        assert_eq!(frame.remotes[0].key, addr("127.0.0.2:80"));
        // The next interval starts from nothing.
        let frame = engine.frame(&[], None, 2 * SEC, None);
        assert_eq!(frame.totals.opened_per_s, Some(0.0));
        assert!(frame.processes.is_empty());
    }

    #[test]
    fn a_connection_is_counted_opened_once_at_its_first_listing_or_its_destroy() {
        let mut engine = Engine::new(None, true);
        engine.prime(&[record(1, SockState::SynSent, 0, 0, 7)], 0);
        // Established since the last listing: opened now, by the process /proc names.
        let frame = engine.frame(
            &[record(1, SockState::Established, 0, 0, 7)],
            None,
            SEC,
            None,
        );
        assert_eq!(frame.totals.opened_per_s, Some(1.0));
        assert_eq!(frame.processes[0].opened_per_s, Some(1.0));
        // Still open, then ended: counted closed, not opened again.
        let frame = engine.frame(
            &[record(1, SockState::CloseWait, 0, 0, 7)],
            None,
            2 * SEC,
            None,
        );
        assert_eq!(frame.totals.opened_per_s, Some(0.0));
        engine.transition(&end(1, true, 0, 0, 0), curl(), None);
        // Gone from the listing before its DESTROY is read: still not counted again.
        engine.frame(
            &[record(2, SockState::Established, 0, 0, 7)],
            None,
            3 * SEC,
            None,
        );
        engine.frame(&[], None, 4 * SEC, None);
        engine.transition(&end(2, true, 0, 0, 0), curl(), None);
        let frame = engine.frame(&[], None, 5 * SEC, None);
        assert_eq!(frame.totals.opened_per_s, Some(0.0));
        assert_eq!(frame.totals.closed_per_s, Some(1.0));
        // A TIME-WAIT socket's connection is counted at its DESTROY.
        engine.frame(
            &[record(3, SockState::TimeWait, 0, 0, 7)],
            None,
            6 * SEC,
            None,
        );
        engine.transition(&end(3, true, 0, 0, 0), curl(), None);
        let frame = engine.frame(&[], None, 7 * SEC, None);
        assert_eq!(frame.totals.opened_per_s, Some(1.0));
        assert_eq!(frame.processes[0].key, curl());
    }

    #[test]
    fn time_wait_sockets_are_rows_only_when_the_filter_asks() {
        let listing = [record(1, SockState::TimeWait, 0, 0, 7)];
        let mut engine = Engine::new(None, true);
        let frame = engine.frame(&listing, None, 0, None);
        assert!(frame.connections.is_empty());
        assert_eq!(frame.totals.by_state, vec![(SockState::TimeWait, 1)]);
        let filter = Filter::parse_args(&["state", "time-wait"]).unwrap();
        let mut engine = Engine::new(Some(filter), true);
        assert_eq!(engine.frame(&listing, None, 0, None).connections.len(), 1);
    }

    #[test]
    fn accepted_connections_are_grouped_by_remote_address_alone() {
        let at = |state, local: &str, peer: &str, cookie| {
            let mut r = SocketRecord::new(
                Netid::Tcp,
                state,
                Endpoint::inet(addr(local)),
                Endpoint::inet(addr(peer)),
            );
            r.cookie = Cookie(cookie);
            listed(r)
        };
        let listener = at(SockState::Listen, "127.0.0.1:80", "0.0.0.0:0", 1);
        let mut engine = Engine::new(None, true);
        engine.prime(std::slice::from_ref(&listener), 0);
        let listing = [
            listener,
            at(SockState::Established, "127.0.0.1:80", "127.0.0.2:50001", 2),
            at(SockState::Established, "127.0.0.1:80", "127.0.0.2:50002", 3),
            // The client end of a connection keeps its remote port.
            at(SockState::Established, "127.0.0.2:50001", "127.0.0.1:80", 4),
        ];
        let frame = engine.frame(&listing, None, SEC, None);
        let mut remotes: Vec<_> = frame.remotes.iter().map(|g| (g.key, g.open)).collect();
        remotes.sort();
        assert_eq!(
            remotes,
            vec![(addr("127.0.0.1:80"), 1), (addr("127.0.0.2:0"), 2)]
        );
        // So are the accepted connections that ended (their DESTROY says so).
        let mut accepted = end(5, true, 0, 0, 0);
        accepted.remote = addr("127.0.0.2:50003");
        if let Some(cause) = &mut accepted.cause {
            cause.flags |= reason_flag::ACCEPTED;
        }
        engine.transition(&accepted, curl(), None);
        let frame = engine.frame(&listing[..1], None, 2 * SEC, None);
        assert_eq!(frame.remotes.len(), 1);
        assert_eq!(frame.remotes[0].key, addr("127.0.0.2:0"));
        assert_eq!(frame.remotes[0].closed_per_s, Some(1.0));
    }

    #[test]
    fn time_wait_sockets_counted_not_listed_are_in_the_header() {
        let mut engine = Engine::new(None, true);
        let frame = engine.frame(&[record(1, SockState::Listen, 0, 0, 7)], Some(3), 0, None);
        let by_state = frame.totals.by_state;
        assert_eq!(
            by_state,
            vec![(SockState::TimeWait, 3), (SockState::Listen, 1)]
        );
    }

    #[test]
    fn a_destroy_read_after_the_listing_that_missed_it_is_not_counted_twice() {
        let mut engine = Engine::new(None, true);
        engine.prime(&[record(1, SockState::Established, 1000, 0, 7)], 0);
        engine.frame(&[], None, SEC, None);
        let mut end = transition(
            1,
            TransitionKind::Destroy,
            SockState::Close,
            SockState::Close,
        );
        end.close = Some(CloseStats {
            bytes_acked: 0,
            bytes_received: 1100,
            total_retrans: 0,
            ..CloseStats::default()
        });
        engine.transition(&end, curl(), None);
        let frame = engine.frame(&[], None, 2 * SEC, None);
        assert_eq!(frame.totals.rates.rx_bytes, 100.0);
    }

    #[test]
    fn the_filter_decides_what_is_shown_and_counted() {
        let filter = Filter::parse_args(&["dport", "=", ":443"]).unwrap();
        let mut engine = Engine::new(Some(filter), true);
        engine.prime(&[], 0);
        engine.transition(&end(5, true, 0, 0, 0), curl(), None);
        let frame = engine.frame(
            &[record(1, SockState::Established, 0, 0, 7)],
            None,
            SEC,
            None,
        );
        assert!(frame.connections.is_empty() && frame.processes.is_empty());
        assert_eq!(frame.totals.opened_per_s, Some(0.0));
        assert!(frame.totals.by_state.is_empty());
    }

    #[test]
    fn without_events_churn_is_unknown_not_zero() {
        let mut engine = Engine::new(None, false);
        engine.prime(&[], 0);
        let frame = engine.frame(&[record(1, SockState::Listen, 0, 0, 7)], None, SEC, None);
        assert_eq!(frame.totals.opened_per_s, None);
        assert_eq!(frame.totals.events_lost, None);
        assert_eq!(frame.totals.by_state, vec![(SockState::Listen, 1)]);
        assert!(
            frame.connections.is_empty(),
            "listeners are counted, not rows"
        );
    }
}
