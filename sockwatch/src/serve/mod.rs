//! `sockwatch serve`: follow's engine as a long-running agent. Events feed Prometheus metrics
//! (/metrics) and the NDJSON stream of `follow --json` (/events); /healthz says it is up.
//!
//! The event loop runs on the calling thread; HTTP runs on a thread of its own, so neither a
//! scrape nor a slow reader delays event processing. They share atomics (the metrics) and
//! bounded queues (the event stream), never a lock held across I/O.

pub mod events;
pub mod http;
pub mod labels;

use std::{
    io::{self, Write},
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use thiserror::Error;

use crate::{
    container::IdentityResolver,
    event::{Owner, Transition, TransitionKind},
    follow::{
        clock::WallClock,
        reasons::{Reason, Story},
        table::{Applied, CookieMap, LiveSocket, LiveTable},
        FollowConfig, FollowError, Follower, Output, Summary, Views,
    },
    model::{Cookie, SockState},
    render::{
        follow::FollowViews,
        metrics::{
            ConnLabels, DirectionLabels, DropLabels, EndLabels, LostLabels, Metrics, OwnerLabels,
        },
    },
};
use events::EventHub;
use labels::LabelCap;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the HTTP thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot set up the event loop's output (/dev/null): {0}")]
    Output(std::io::Error),
    #[error(transparent)]
    Follow(#[from] FollowError),
}

/// What serve needs beyond follow's own configuration.
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Serve /events (always on when bound to loopback).
    pub events: bool,
    pub token: Option<String>,
    /// Distinct values kept per process and container label; the rest become `other`.
    pub max_label_values: usize,
}

impl ServeConfig {
    /// /events is served on loopback, and beyond it only when asked for.
    pub fn events_enabled(&self) -> bool {
        self.events || is_loopback(self.listen.ip())
    }
}

/// What serve keeps of one connection it saw begin (or retransmit), until its destroy.
#[derive(Default)]
struct Connection {
    /// A connect() in SYN_SENT: if it ends before ESTABLISHED, the connect failed.
    attempt: bool,
    /// Once established: the direction and labels it was counted opened under, for its
    /// close to be counted under the same.
    opened: Option<(&'static str, OwnerLabels)>,
    /// The kernel's retransmit total already counted; None when the socket predates serve
    /// (what it retransmitted before is not serve's to count).
    retransmits: Option<u32>,
}

/// Turns follow's events into metric updates and /events lines: the views of a run that
/// prints nothing.
pub struct ServeViews {
    metrics: Arc<Metrics>,
    hub: Arc<EventHub>,
    /// follow --json's writer, for /events' lines.
    json: FollowViews,
    line: Vec<u8>,
    identities: IdentityResolver,
    processes: LabelCap,
    containers: LabelCap,
    namespaces: LabelCap,
    connections: CookieMap<Connection>,
    /// Events were lost since the last look at the table: destroys may be among them.
    lost_since_watch: bool,
}

impl ServeViews {
    pub fn new(
        metrics: Arc<Metrics>,
        hub: Arc<EventHub>,
        json: FollowViews,
        max_label_values: usize,
    ) -> ServeViews {
        ServeViews {
            metrics,
            hub,
            json,
            line: Vec::with_capacity(512),
            identities: IdentityResolver::default(),
            processes: LabelCap::new(max_label_values),
            containers: LabelCap::new(max_label_values),
            namespaces: LabelCap::new(max_label_values),
            connections: CookieMap::default(),
            lost_since_watch: false,
        }
    }

    /// Capped labels for a socket's owner and namespace.
    fn owner_labels(&mut self, owner: Option<&Owner>, netns: u32) -> OwnerLabels {
        let identity = self.identities.identify(owner, netns);
        let container = self
            .containers
            .admit(identity.container_id.as_deref().unwrap_or_default());
        // The pod follows its container: no more values than the container label has.
        let pod_uid = if container == labels::OTHER {
            labels::OTHER.to_string()
        } else {
            identity.pod_uid.unwrap_or_default()
        };
        OwnerLabels {
            process: self.processes.admit(&owner.map_or_else(String::new, |o| {
                String::from_utf8_lossy(o.comm.as_bytes()).into_owned()
            })),
            container,
            pod_uid,
            netns: self
                .namespaces
                .admit(identity.netns_name.as_deref().unwrap_or_default()),
        }
    }

    /// An accepted connection is established before accept() names its owner: the owner is
    /// then its listener's (follow's story fills it in).
    fn opened(
        &mut self,
        t: &Transition,
        applied: &Applied,
        story: &Story,
        direction: &'static str,
    ) {
        let owner = self.owner_labels(applied.owner.as_ref(), t.netns);
        self.metrics
            .opened
            .get_or_create(&ConnLabels {
                direction,
                owner: owner.clone(),
            })
            .inc();
        if let Some(us) = story.connect_us {
            self.metrics
                .connect_latency
                .get_or_create(&DirectionLabels { direction })
                .observe(us as f64 / 1e6);
        }
        let connection = self.connections.entry(t.cookie).or_default();
        connection.attempt = false;
        connection.opened = Some((direction, owner));
    }

    /// Counts the retransmits a socket's total shows beyond what was counted. `counted` None:
    /// the socket predates serve; only the retransmit this event reports is new.
    fn retransmitted(&mut self, t: &Transition, applied: &Applied, total: u32, event: bool) {
        let connection = self.connections.get(&t.cookie);
        let counted = connection.and_then(|c| c.retransmits);
        let new = match counted {
            Some(counted) => total.saturating_sub(counted),
            None => u32::from(event),
        };
        if new == 0 {
            return;
        }
        let owner = match connection.and_then(|c| c.opened.as_ref()) {
            Some((_, owner)) => owner.clone(),
            None => self.owner_labels(applied.owner.as_ref(), t.netns),
        };
        self.metrics
            .retransmits
            .get_or_create(&owner)
            .inc_by(new.into());
        if event {
            self.connections.entry(t.cookie).or_default().retransmits = Some(total);
        }
    }

    fn destroyed(&mut self, t: &Transition, applied: &Applied, story: &Story) {
        if let Some(close) = t.close {
            self.retransmitted(t, applied, close.total_retrans, false);
        }
        let Some(connection) = self.connections.remove(&t.cookie) else {
            return;
        };
        let reason = story.reason.map_or(Reason::Unknown.name(), Reason::name);
        if let Some((direction, owner)) = connection.opened {
            if let Some(ms) = applied.lifetime_ms {
                self.metrics
                    .duration
                    .get_or_create(&DirectionLabels { direction })
                    .observe(ms / 1e3);
            }
            self.metrics
                .closed
                .get_or_create(&EndLabels {
                    direction,
                    reason,
                    owner,
                })
                .inc();
        } else if connection.attempt {
            self.connect_failed(t, applied, reason);
        }
    }

    fn connect_failed(&mut self, t: &Transition, applied: &Applied, reason: &'static str) {
        let owner = self.owner_labels(applied.owner.as_ref(), t.netns);
        self.metrics
            .failed
            .get_or_create(&EndLabels {
                direction: "connect",
                reason,
                owner,
            })
            .inc();
    }

    fn count(&mut self, t: &Transition, applied: &Applied, story: &Story) {
        match (t.kind, t.old, t.new) {
            // Born while serve watches: every retransmit is serve's to count.
            (TransitionKind::State, SockState::Close, SockState::SynSent) => {
                let connection = self.connections.entry(t.cookie).or_default();
                connection.attempt = true;
                connection.retransmits = Some(0);
            }
            (TransitionKind::State, SockState::Listen, SockState::SynRecv) => {
                self.connections.entry(t.cookie).or_default().retransmits = Some(0);
            }
            (TransitionKind::State, SockState::SynSent, SockState::Established) => {
                self.opened(t, applied, story, "connect");
            }
            (TransitionKind::State, SockState::SynRecv, SockState::Established) => {
                self.opened(t, applied, story, "accept");
            }
            (TransitionKind::Retransmit, ..) => {
                if let Some(total) = t.total_retrans {
                    self.retransmitted(t, applied, total, true);
                }
            }
            // connect() failed before any SYN: its socket's destroy is not counted again.
            (TransitionKind::ConnectError, ..) => {
                if let Some(connection) = self.connections.get_mut(&t.cookie) {
                    connection.attempt = false;
                }
                let reason = story.reason.map_or(Reason::Unknown.name(), Reason::name);
                self.connect_failed(t, applied, reason);
            }
            (TransitionKind::Drop, ..) => {
                if let Some(dropped) = t.dropped {
                    let owner = self.owner_labels(applied.owner.as_ref(), t.netns);
                    self.metrics
                        .listen_drops
                        .get_or_create(&DropLabels {
                            reason: dropped.reason,
                            owner,
                        })
                        .inc_by(dropped.count);
                }
            }
            (TransitionKind::Destroy, ..) => self.destroyed(t, applied, story),
            _ => {}
        }
    }

    /// Queues the line `write` makes for /events' readers, when there are any.
    fn publish(&mut self, write: impl FnOnce(&mut FollowViews, &mut Vec<u8>) -> io::Result<()>) {
        if !self.hub.has_readers() {
            return;
        }
        self.line.clear();
        if write(&mut self.json, &mut self.line).is_ok() && !self.line.is_empty() {
            let dropped = self.hub.publish(&self.line);
            if dropped > 0 {
                self.metrics
                    .events_lost
                    .get_or_create(&LostLabels {
                        stage: "events_client",
                    })
                    .inc_by(dropped);
            }
        }
    }
}

impl Views for ServeViews {
    fn transition(
        &mut self,
        _: &mut dyn Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
    ) -> io::Result<bool> {
        self.metrics.events.inc();
        self.count(t, applied, story);
        // /events is follow --json's log, which shows retransmits only when asked for.
        if t.kind != TransitionKind::Retransmit {
            self.publish(|json, line| json.transition(line, t, applied, story).map(|_| ()));
        }
        Ok(false)
    }

    fn lost(&mut self, _: &mut dyn Write, lost: u64, ts_ns: u64) -> io::Result<()> {
        self.lost_since_watch = true;
        self.metrics
            .events_lost
            .get_or_create(&LostLabels { stage: "kernel" })
            .inc_by(lost);
        self.publish(|json, line| json.lost(line, lost, ts_ns));
        Ok(())
    }

    /// A connection the filter admitted is counted to its end, whatever states it passes
    /// through on the way.
    fn follows_sockets(&self) -> bool {
        true
    }

    fn watches_table(&self) -> bool {
        true
    }

    fn watch(&mut self, table: &LiveTable, rows: &[(Cookie, &LiveSocket)]) {
        let mut counts = [0i64; 16];
        for (_, socket) in rows {
            counts[usize::from(socket.state.kernel()) & 15] += 1;
        }
        self.metrics.set_socket_states(&counts);
        // A connection whose destruction was lost is no longer in the table: forget it.
        if std::mem::take(&mut self.lost_since_watch) {
            self.connections
                .retain(|cookie, _| table.get(*cookie).is_some());
        }
    }
}

/// Whether an address is loopback (v4-mapped v6 included).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        IpAddr::V4(v4) => v4.is_loopback(),
    }
}

/// Binds the listener, loads the programs, starts HTTP on its own thread, then processes
/// events until a signal. Calls `ready` with the bound address and the start-up notices
/// (features this kernel lacks) once everything is up.
pub async fn run(
    follow: FollowConfig,
    serve: ServeConfig,
    ready: impl FnOnce(SocketAddr, &[String]),
) -> Result<Summary, ServeError> {
    let listener = std::net::TcpListener::bind(serve.listen)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|source| ServeError::Listen {
            address: serve.listen,
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(serve.listen);
    let http_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Thread)?;
    let listener = {
        let _context = http_runtime.enter();
        tokio::net::TcpListener::from_std(listener)
    }
    .map_err(|source| ServeError::Listen {
        address: bound,
        source,
    })?;
    // The first line of every /events stream: follow --json's start line for this run.
    let mut start_line = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = FollowViews::new(&follow, WallClock::now())
        .header(&mut start_line, Some(WallClock::monotonic_ns()));
    let follower = Follower::start(follow)?;
    let metrics = Arc::new(Metrics::default());
    let hub = Arc::new(EventHub::default());
    let endpoints = Arc::new(http::Endpoints {
        metrics: Arc::clone(&metrics),
        hub: Arc::clone(&hub),
        token: serve.token.clone(),
        events: serve.events_enabled(),
        start_line,
    });
    // The thread ends with the process.
    std::thread::Builder::new()
        .name("sockwatch-http".into())
        .spawn(move || http_runtime.block_on(http::serve(listener, endpoints)))
        .map_err(ServeError::Thread)?;
    // serve prints no events: the run loop's output goes nowhere.
    let mut out = std::fs::File::options()
        .write(true)
        .open("/dev/null")
        .and_then(Output::new)
        .map_err(ServeError::Output)?;
    ready(bound, &follower.notices());
    let finished = follower
        .run(
            &mut out,
            |config, clock| {
                let json = FollowViews::new(config, clock);
                ServeViews::new(metrics, hub, json, serve.max_label_values)
            },
            // serve starts with every hook attached (no quick start).
            |_| {},
        )
        .await;
    match finished.error {
        Some(error) => Err(error.into()),
        None => Ok(finished.summary),
    }
}
