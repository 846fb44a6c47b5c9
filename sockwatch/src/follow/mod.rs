//! `sockwatch follow`: stream TCP transitions from the eBPF programs (or a recording) through
//! the live socket table to a view, and account for every event (shown, filtered, lost).
//!
//! Start-up loses nothing: the programs are attached first, so events queue in the ring buffer
//! while sock_diag lists the sockets that already exist; the table is built from that list,
//! then the queued events are applied on top (for each cookie the newer word wins).

mod audit;
pub mod clock;
mod drops;
pub mod failures;
mod output;
mod pacing;
pub mod reasons;
pub mod recording;
mod session;
mod startup;
pub mod table;
mod views;

use std::{
    io,
    io::Write,
    path::PathBuf,
    time::{Duration, Instant},
};

use sockwatch_common::{
    event_kind,
    family::{AF_INET, AF_INET6},
    KernelFilter, SockEvent,
};
use thiserror::Error;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::{
    ebpf::{EndedSums, LoadError, Tracer, TracerConfig},
    filter::{Filter, SS_ALL},
    model::{IpVersion, SockState},
    source::SourceError,
};
use clock::WallClock;
pub use output::{Delivery, Output};
use pacing::RebuildPacer;
use reasons::Stories;
use recording::{Recorder, RecordingError, ReplayFeed};
use session::{EventFilter, Session, Stop};
use startup::Scope;
use table::LiveTable;

pub use views::{Format, View, Views};

#[derive(Debug, Error)]
pub enum FollowError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("reading the event ring buffer: {0}")]
    Ring(io::Error),
    #[error("installing signal handlers: {0}")]
    Signals(io::Error),
    #[error("cannot read this process's network namespace: {0}")]
    Netns(io::Error),
    #[error(
        "cannot enter the network namespace {}: {error}",
        crate::escape::Escaped::path(path)
    )]
    EnterNetns { path: PathBuf, error: io::Error },
    #[error("listing the sockets that exist at start: {0}")]
    Snapshot(#[from] SourceError),
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("writing standard output: {0}")]
    Output(io::Error),
}

/// Everything follow needs to know, built by the CLI.
pub struct FollowConfig {
    pub view: View,
    pub format: Format,
    /// Print port numbers, not service names.
    pub numeric: bool,
    /// Stop after this many shown lines (table refreshes for the table view).
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Show every network namespace, not only the current one.
    pub all_netns: bool,
    /// Only IPv4 or only IPv6 sockets.
    pub ip_version: Option<IpVersion>,
    /// Ring buffer size in bytes (0: the programs' default).
    pub ring_bytes: u32,
    /// The user's ss filter expression.
    pub filter: Option<Filter>,
    /// Record the event stream to this file.
    pub write: Option<PathBuf>,
    /// Redraw interval of the table view.
    pub interval: Duration,
    /// Clear the screen between table redraws.
    pub clear_screen: bool,
    /// Show each owner's container (cgroup path, container id, pod UID, namespace name).
    pub container: bool,
    /// Print the kernel verifier's log of every program the kernel refused.
    pub verbose: bool,
    /// Only the ends of connections that did not end `normal` (and queue drops).
    pub failed: bool,
    /// Show retransmit events in the log.
    pub retransmits: bool,
    /// Have the kernel send connections' ends only, no state changes (see
    /// `KernelFilter::ends_only`): for `top`, which lists the live sockets itself.
    pub ends_only: bool,
    /// Show the first events before the nested twins and the reason hooks are attached (see
    /// `TracerConfig::quick_start`); [`Follower::run`] attaches them right after.
    pub quick_start: bool,
}

/// The hook feature whose absence the summary line repeats.
const ACCEPT_OWNERS: &str = "owners of accepted sockets";

/// Why follow stopped and what it saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events received (state changes, destructions, owner reports).
    pub events: u64,
    /// Lines the view printed.
    pub shown: u64,
    /// Events the user's filter left out in user space.
    pub filtered: u64,
    /// Events the kernel-side filter left out (never sent).
    pub filtered_in_kernel: u64,
    /// Events that could not be decoded (counted, never dropped silently).
    pub undecodable: u64,
    pub lost: u64,
    pub sockets_seen: u64,
    /// Sockets listed from sock_diag when the table was built.
    pub sockets_at_start: u64,
    /// Output closed by the reader (e.g. `| head`).
    pub output_closed: bool,
    /// Bytes of output its reader had not taken when a signal ended the run.
    pub unwritten_bytes: u64,
    /// Bytes of the recording (`--write`) not written when a signal ended the run.
    pub unwritten_recording_bytes: u64,
    /// Why accepted sockets' owners are unknown, when they are.
    pub no_accept_owner: Option<String>,
    /// Events sent by the nested programs for hook runs the kernel skipped (interrupted).
    pub nested: u64,
    /// Sockets that ended without their end reaching follow, found by the audit (within
    /// `lost`).
    pub ended_unseen: u64,
    /// Connections that ended, by reason (reasons seen only).
    pub ends: Vec<(reasons::Reason, u64)>,
    /// Listener drops by drop reason.
    pub drops: Vec<(&'static str, u64)>,
}

impl Summary {
    pub fn line(&self) -> String {
        let mut line = format!(
            "sockwatch follow: {} events, {} lost, {} sockets seen, {} at start",
            self.events, self.lost, self.sockets_seen, self.sockets_at_start
        );
        if self.filtered + self.filtered_in_kernel > 0 {
            line.push_str(&format!(
                ", {} filtered ({} in the kernel)",
                self.filtered + self.filtered_in_kernel,
                self.filtered_in_kernel
            ));
        }
        if self.undecodable > 0 {
            line.push_str(&format!(", {} undecodable", self.undecodable));
        }
        if self.nested > 0 {
            line.push_str(&format!(", {} caught in nested runs", self.nested));
        }
        if self.ended_unseen > 0 {
            line.push_str(&format!(
                ", {} sockets ended unseen (found by the audit, counted lost)",
                self.ended_unseen
            ));
        }
        if self.unwritten_bytes > 0 {
            line.push_str(&format!(
                ", {} bytes of output not written (the reader was not reading)",
                self.unwritten_bytes
            ));
        }
        if self.unwritten_recording_bytes > 0 {
            line.push_str(&format!(
                ", {} bytes of the recording not written",
                self.unwritten_recording_bytes
            ));
        }
        if let Some(reason) = &self.no_accept_owner {
            line.push_str(&format!(" (owners of accepted sockets unknown: {reason})"));
        }
        line
    }

    /// How connections ended and what listeners dropped, by reason (None when nothing ended).
    pub fn reasons_line(&self) -> Option<String> {
        if self.ends.is_empty() && self.drops.is_empty() {
            return None;
        }
        let mut line = String::from("sockwatch follow: ends:");
        for (reason, n) in &self.ends {
            line.push_str(&format!(" {} {n}", reason.name()));
        }
        if !self.drops.is_empty() {
            line.push_str("; listener drops:");
            for (reason, n) in &self.drops {
                line.push_str(&format!(" {reason} {n}"));
            }
        }
        Some(line)
    }
}

/// The inode of the calling process's network namespace, as the kernel side reports it.
pub fn current_netns() -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/self/ns/net")?.ino() as u32)
}

/// Events shown between two hand-overs to the output's writer thread.
const SHOWN_AT_ONCE: usize = 1024;
/// How often queued events are read when the kernel has not woken the reader.
const DRAIN_EVERY_MS: u64 = 10;

/// The part of the user's filter the kernel applies: family, ports, states and namespace.
fn kernel_filter(config: &FollowConfig, netns: u32) -> (KernelFilter, Vec<u16>) {
    let mut filter = KernelFilter {
        netns,
        family: match config.ip_version {
            Some(IpVersion::V4) => AF_INET,
            Some(IpVersion::V6) => AF_INET6,
            None => 0,
        },
        ends_only: u8::from(config.ends_only),
        ..KernelFilter::default()
    };
    let Some(user) = &config.filter else {
        return (filter, Vec::new());
    };
    let hint = user.kernel_hint(user.states().unwrap_or(SS_ALL));
    if filter.family == 0 {
        filter.family = match (hint.ipv4, hint.ipv6) {
            (true, false) => AF_INET,
            (false, true) => AF_INET6,
            _ => 0,
        };
    }
    if hint.states & SS_ALL != SS_ALL {
        // Listeners always reach the table, whatever states are asked for: an accepted
        // connection is its listener's until accept() names its owner.
        filter.states = hint.states | (1 << SockState::Listen.kernel());
    }
    // Some(empty): no inet socket can match, and the empty port set then stops everything.
    match hint.ports {
        Some(ports) => {
            filter.filter_ports = 1;
            (filter, ports)
        }
        None => (filter, Vec::new()),
    }
}

/// What the kernel side was told to send, kept to admit listed sockets by the same rule.
struct KernelSide {
    filter: KernelFilter,
    ports: Vec<u16>,
}

impl KernelSide {
    /// Whether a SNAPSHOT row's socket is one the kernel-side filter admits.
    fn admits(&self, row: &SockEvent) -> bool {
        let filter = &self.filter;
        (filter.family == 0 || filter.family == row.family)
            && filter.admits(row.new_state, row.new_state, row.sport, row.dport, |port| {
                self.ports.contains(&port)
            })
    }
}

/// A live run's input: the programs, and what a listing must tell them.
struct Live {
    tracer: Tracer,
    kernel: KernelSide,
    scope: Scope,
    /// When the last listing's admissions were made (CLOCK_MONOTONIC ns): a destroy from
    /// before then may be of a socket user space admitted after the kernel removed it.
    listing_ended_ns: u64,
}

impl Live {
    /// Lists the sockets of `scope` from sock_diag as table events stamped `now_ns`, keeping
    /// (and admitting) only those the kernel-side filter wants: the others' events, and their
    /// ends, never come, so the table could not keep them current. A socket that cannot be
    /// admitted (the set is full) adds a LOST marker.
    fn list(
        &mut self,
        now_ns: u64,
        early: Option<startup::EarlyOwners>,
    ) -> Result<Vec<SockEvent>, FollowError> {
        let admission = self.kernel.filter.needs_admission();
        if admission {
            self.tracer.begin_listing()?;
        }
        let listed = startup::table_events(now_ns, self.scope, early);
        let mut refused = 0;
        if admission {
            let cookies = listed
                .iter()
                .flatten()
                .filter(|row| row.kind == event_kind::SNAPSHOT && self.kernel.admits(row));
            refused = self.tracer.end_listing(cookies.map(|row| row.cookie))?;
            self.listing_ended_ns = WallClock::monotonic_ns();
        }
        let mut events = listed?;
        events.retain(|row| row.kind != event_kind::SNAPSHOT || self.kernel.admits(row));
        if refused > 0 {
            events.push(lost_marker(now_ns, refused, self.scope.own));
        }
        Ok(events)
    }

    /// Ends the admissions user space made for sockets whose destroy was queued meanwhile.
    fn forget_ended(&mut self, batch: &[SockEvent]) {
        if !self.kernel.filter.needs_admission() {
            return;
        }
        for event in batch {
            if event.kind == event_kind::DESTROY && event.ts_ns <= self.listing_ended_ns {
                self.tracer.forget(event.cookie);
            }
        }
    }
}

/// Attaches what a quick start left for later (nothing otherwise), has the session tell ends
/// from then on (a REASONS marker, recorded too), and calls `announce` with the notices.
fn attach_rest<W: Write>(
    live: &mut Live,
    session: &mut Session<'_, W>,
    announce: &mut Option<impl FnOnce(Vec<String>)>,
) {
    if !live.tracer.attaching_later() {
        return;
    }
    let notices = live.tracer.attach_rest();
    let marker = reasons_marker(
        WallClock::monotonic_ns(),
        live.tracer.reasons.ends_complete,
        live.scope.own,
    );
    // A marker shows nothing: it cannot fail.
    let _ = session.show(&[marker]);
    if let Some(attached) = announce.take() {
        attached(notices);
    }
}

/// A REASONS marker: from `now_ns` on, ends are told completely or not.
fn reasons_marker(now_ns: u64, complete: bool, netns: u32) -> SockEvent {
    SockEvent {
        ts_ns: now_ns,
        kind: event_kind::REASONS,
        reason_flags: u16::from(complete),
        netns,
        ..SockEvent::default()
    }
}

fn lost_marker(now_ns: u64, lost: u64, netns: u32) -> SockEvent {
    SockEvent {
        ts_ns: now_ns,
        kind: event_kind::LOST,
        bytes_acked: lost,
        netns,
        ..SockEvent::default()
    }
}

enum Input {
    Live(Box<Live>),
    Replay(ReplayFeed),
}

/// SIGINT, SIGTERM and SIGHUP, caught from the start (a signal while the programs load must
/// still end the run with its summary, not kill it).
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals, FollowError> {
        let catch = |kind| signal(kind).map_err(FollowError::Signals);
        Ok(StopSignals {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
            hangup: catch(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

/// Follow with its input open (programs attached, or a recording), not yet reading.
pub struct Follower {
    config: FollowConfig,
    signals: StopSignals,
    input: Input,
    clock: WallClock,
    /// The table's starting contents (REBUILD and SNAPSHOT events).
    initial: Vec<SockEvent>,
}

impl Follower {
    /// Attaches the programs, then lists the sockets that already exist; events queue in the
    /// ring buffer from the attach on, so none is missed. Their owners are read from the
    /// kernel's iterator over open files (else from /proc) while the sockets are listed.
    pub fn start(config: FollowConfig) -> Result<Follower, FollowError> {
        let signals = StopSignals::install()?;
        let netns = current_netns().map_err(FollowError::Netns)?;
        let (filter, ports) = kernel_filter(&config, if config.all_netns { 0 } else { netns });
        let mut tracer = Tracer::load(&TracerConfig {
            ring_bytes: config.ring_bytes,
            filter,
            ports: ports.clone(),
            owners_capacity: (!config.ends_only).then_some(crate::ebpf::OWNERS_FOR_EVERY_EVENT),
            verbose: config.verbose,
            socket_files: true,
            quick_start: config.quick_start,
        })?;
        let early_owners = startup::EarlyOwners::begin(tracer.take_socket_files());
        let mut live = Live {
            tracer,
            kernel: KernelSide { filter, ports },
            scope: Scope {
                own: netns,
                all: config.all_netns,
            },
            listing_ended_ns: 0,
        };
        let initial = live.list(WallClock::monotonic_ns(), Some(early_owners))?;
        live.tracer.unload_socket_files();
        Ok(Follower {
            config,
            signals,
            input: Input::Live(Box::new(live)),
            clock: WallClock::now(),
            initial,
        })
    }

    /// One line for each feature this kernel cannot serve and each compromise the loader
    /// made, to say at start.
    pub fn notices(&self) -> Vec<String> {
        match &self.input {
            Input::Live(live) => live.tracer.notices(),
            Input::Replay(_) => Vec::new(),
        }
    }

    /// For top: the kernel's sums of the connections no listing saw, and whether a quiet end
    /// reads `normal` (every reason hook attached). None on replay.
    pub fn ended_sums(&mut self) -> Option<Result<(EndedSums, bool), FollowError>> {
        match &mut self.input {
            Input::Live(live) => Some(
                live.tracer
                    .take_ended_sums()
                    .map(|sums| (sums, live.tracer.reasons.ends_complete))
                    .map_err(FollowError::from),
            ),
            Input::Replay(_) => None,
        }
    }

    /// Opens a recording made with `--write` (on its own thread: a FIFO may have no writer
    /// yet); no privileges needed.
    pub fn replay(config: FollowConfig, path: &std::path::Path) -> Result<Follower, FollowError> {
        let signals = StopSignals::install()?;
        let feed = ReplayFeed::spawn(path)?;
        Ok(Follower {
            signals,
            // The recording's own clock, once its header is read.
            clock: WallClock::from_offset(0),
            config,
            input: Input::Replay(feed),
            initial: Vec::new(),
        })
    }

    /// Reads events until a signal, the deadline, the count or the recording's end, shows
    /// them through the views `make_views` builds (given the clock that turns event times
    /// into wall-clock times: a recording's, on replay), then waits for `out` to be written
    /// (after a signal, at most [`PATIENCE_AFTER_SIGNAL`]). `attached` is called once every
    /// hook is attached, with the notices of those attached since [`Follower::notices`] was
    /// read: at once, or after the first events of a quick start (never on replay, nor when a
    /// signal or the deadline ends the run before then).
    pub async fn run<V: Views>(
        self,
        out: &mut Output,
        make_views: impl FnOnce(&FollowConfig, WallClock) -> V,
        attached: impl FnOnce(Vec<String>),
    ) -> Finished {
        let Follower {
            config,
            mut signals,
            mut input,
            mut clock,
            initial,
        } = self;
        let deadline = tokio::time::sleep(
            config
                .duration
                .unwrap_or(Duration::from_secs(u32::MAX.into())),
        );
        tokio::pin!(deadline);
        let failed = |error: FollowError| Finished {
            summary: Summary::default(),
            error: Some(error),
        };
        if let Input::Replay(feed) = &mut input {
            tokio::select! {
                opened = feed.opened() => match opened {
                    Ok(offset) => clock = WallClock::from_offset(offset),
                    Err(e) => return failed(e.into()),
                },
                _ = signals.recv() => return Finished::default(),
                _ = &mut deadline => return Finished::default(),
            }
        }
        let recorder = match &config.write {
            Some(path) => match Recorder::create(path, clock.offset_ns()) {
                Ok(recorder) => Some(recorder),
                Err(e) => return failed(e.into()),
            },
            None => None,
        };
        let mut views = make_views(&config, clock);
        // `--table --failed` shows --lifetime's lines: a connection that matched at some
        // point is shown at its end, as there.
        let per_socket = config.view == View::Lifetime
            || config.view == View::Table && config.failed
            || views.follows_sockets();
        let mut session = Session {
            views: &mut views,
            table: LiveTable::default(),
            stories: match &input {
                Input::Live(tracer) => Stories::new(
                    tracer.tracer.reasons.ends_complete,
                    tracer.tracer.reasons.reset_reasons.clone(),
                ),
                // Its REASONS markers say which hooks were attached; one made before they
                // existed does not: assume they all were.
                Input::Replay(_) => Stories::new(true, crate::ebpf::running_kernel_reset_reasons()),
            },
            filter: EventFilter {
                states: config.filter.as_ref().and_then(Filter::states),
                filter: config.filter,
                per_socket,
                failed: config.failed,
                retransmits: config.retransmits,
            },
            failures: (config.view == View::Table && config.failed)
                .then(failures::RecentFailures::default),
            recorder,
            summary: Summary {
                no_accept_owner: match &input {
                    Input::Live(live) => live
                        .tracer
                        .degraded(ACCEPT_OWNERS)
                        .map(|d| d.reason.clone()),
                    Input::Replay(_) => None,
                },
                ..Summary::default()
            },
            count: config.count,
            last_ts_ns: 0,
            rebuilds: 0,
            out,
        };

        let mut redraw = tokio::time::interval(config.interval);
        redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Losses can happen after the last event we read: look at the kernel's counter at
        // least this often, so they are reported (and the table rebuilt) without waiting for
        // the next event.
        let mut loss_check = tokio::time::interval(Duration::from_millis(200));
        loss_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Ends the kernel never sent, found against sock_diag (see `audit`).
        let mut audit_tick = tokio::time::interval_at(
            tokio::time::Instant::now() + audit::AUDIT_EVERY,
            audit::AUDIT_EVERY,
        );
        audit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut audit = audit::Audit::default();
        let mut audit_due = false;
        // The kernel wakes this reader only once a batch has piled up: drain what is queued
        // at least this often, so a quiet stream still shows each event within milliseconds.
        let mut drain = tokio::time::interval(Duration::from_millis(DRAIN_EVERY_MS));
        drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

        let mut batch: Vec<SockEvent> = Vec::with_capacity(4096);
        // The drop watch's first listing runs beside the filling of the initial table.
        let drop_watch =
            matches!(input, Input::Live(_)).then(|| std::thread::spawn(drops::DropWatch::start));
        let mut reported_lost = 0;
        // Whether the loss check's tick came: the counters are read then, or after a batch.
        let mut loss_due = false;
        // A rebuild that waits (see `pacing`) or whose listing failed: the table may hold
        // sockets that are gone, so a later loss check lists again.
        let mut rebuild_pending = false;
        let mut pacer = RebuildPacer::default();
        let started_ns = matches!(input, Input::Live(_)).then(WallClock::monotonic_ns);
        // A recording says from its start which ends its run could tell.
        let since_load = match &input {
            Input::Live(live) => Some(reasons_marker(
                0,
                live.tracer.reasons.ends_complete,
                live.scope.own,
            )),
            Input::Replay(_) => None,
        };
        let mut stop = session
            .show(since_load.as_slice())
            .and_then(|_| session.show(&initial))
            .and_then(|_| Session::<Output>::write(session.views.header(session.out, started_ns)));
        let mut drop_watch = drop_watch
            .and_then(|watch| watch.join().ok())
            .and_then(Result::ok);
        let mut announce = match &input {
            Input::Live(live) if live.tracer.attaching_later() => Some(attached),
            Input::Live(_) => {
                attached(Vec::new());
                None
            }
            Input::Replay(_) => None,
        };
        let mut error = None;
        while stop.is_ok() {
            batch.clear();
            // Whether this round read the ring buffer (up to what was queued).
            let mut drained = false;
            let step = match &mut input {
                Input::Live(live) => {
                    let own_netns = live.scope.own;
                    let tracer = &mut live.tracer;
                    tokio::select! {
                        ready = tracer.read_batch(&mut batch) => {
                            drained = true;
                            ready.map_err(FollowError::Ring).map(|_| Ok(()))
                        }
                        _ = redraw.tick(), if session.views.is_table() || session.views.watches_table() => Ok(session.refresh(WallClock::monotonic_ns())),
                        _ = loss_check.tick() => {
                            loss_due = true;
                            // Listener drops reach no hook: their counters are polled.
                            if let Some(watch) = &mut drop_watch {
                                batch.extend(watch.poll(WallClock::monotonic_ns(), own_netns).unwrap_or_default());
                            }
                            Ok(Ok(()))
                        }
                        _ = drain.tick() => {
                            drained = true;
                            tracer.drain(&mut batch).map_err(FollowError::Ring).map(|_| Ok(()))
                        }
                        // Without state changes (top) the table does not follow sockets into
                        // CLOSE, where sock_diag no longer lists them: no audit then.
                        _ = audit_tick.tick(), if !config.ends_only => {
                            audit_due = true;
                            Ok(Ok(()))
                        }
                        delivery = session.out.broken() => Ok(Err(Stop::from(delivery))),
                        e = recording_broken(&mut session.recorder) => Ok(Err(Stop::Recording(e))),
                        _ = signals.recv() => Ok(Err(Stop::Signal)),
                        _ = &mut deadline => Ok(Err(Stop::Deadline)),
                    }
                }
                Input::Replay(feed) => {
                    tokio::select! {
                        next = feed.next() => match next {
                            Some(Ok(events)) => {
                                batch = events;
                                Ok(Ok(()))
                            }
                            Some(Err(e)) => Ok(Err(Stop::Recording(e))),
                            None => Ok(Err(Stop::End)),
                        },
                        delivery = session.out.broken() => Ok(Err(Stop::from(delivery))),
                        _ = signals.recv() => Ok(Err(Stop::Signal)),
                        _ = &mut deadline => Ok(Err(Stop::Deadline)),
                    }
                }
            };
            stop = match step {
                Ok(Ok(())) => {
                    // A batch can hold a whole ring buffer: its output goes to the writers a
                    // slice at a time, so memory stays in proportion to a slice, not the ring.
                    let mut shown = Ok(());
                    let mut slices = batch.chunks(SHOWN_AT_ONCE).peekable();
                    while let Some(slice) = slices.next() {
                        shown = session.show(slice);
                        if shown.is_err() || slices.peek().is_none() {
                            break;
                        }
                        let sent = tokio::select! {
                            sent = send_outputs(session.out, &mut session.recorder) => sent,
                            _ = signals.recv() => Err(Stop::Signal),
                            _ = &mut deadline => Err(Stop::Deadline),
                        };
                        if let Err(stop) = sent {
                            // What the kernel sent is still shown; the writers' patience at
                            // the end decides what reaches the output.
                            shown = slices
                                .try_for_each(|rest| session.show(rest))
                                .and(Err(stop));
                            break;
                        }
                    }
                    shown
                }
                Ok(Err(stop)) => Err(stop),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            if let Input::Live(live) = &mut input {
                live.forget_ended(&batch);
                if std::mem::take(&mut audit_due) && stop.is_ok() {
                    stop = audit_table(&mut session, live, &mut audit);
                }
            }
            // An empty drain tick (a hundred a second) lost nothing a reading could see
            // sooner than the loss check's: the counters cost a dozen syscalls.
            let look = std::mem::take(&mut loss_due) || !batch.is_empty() || rebuild_pending;
            if let (Ok(()), Input::Live(live), true) = (&stop, &mut input, look) {
                match live.tracer.counters() {
                    Ok(counters) if counters.lost > reported_lost || rebuild_pending => {
                        let lost = counters.lost - reported_lost;
                        stop = resync(&mut session, live, lost, &mut pacer).map(|rebuilt| {
                            rebuild_pending = !rebuilt;
                        });
                        reported_lost = counters.lost;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        error = Some(e.into());
                        break;
                    }
                }
            }
            if stop.is_ok() {
                // Waiting here while the reader is behind is what slows the input down (the
                // kernel counts what then no longer fits the ring buffer as lost).
                stop = tokio::select! {
                    sent = send_outputs(session.out, &mut session.recorder) => sent,
                    _ = signals.recv() => Err(Stop::Signal),
                    _ = &mut deadline => Err(Stop::Deadline),
                };
            }
            // A quick start's first events are out: the rest of the hooks now (the events
            // meanwhile wait in the ring buffer).
            if let (Ok(()), Input::Live(live), true) = (&stop, &mut input, drained) {
                attach_rest(live, &mut session, &mut announce);
            }
        }
        let stop = stop.err().unwrap_or(Stop::End);
        // A run that ends before its first events are out (its output closed, --count met)
        // still attaches the rest and says so; a signal or the deadline ends it at once.
        if let (Input::Live(live), Stop::OutputClosed | Stop::Count) = (&mut input, &stop) {
            attach_rest(live, &mut session, &mut announce);
        }
        if let Input::Live(live) = &mut input {
            // Events already queued when a signal or the deadline arrives happened while we
            // watched: show them.
            if matches!(stop, Stop::Signal | Stop::Deadline) {
                batch.clear();
                if let Err(e) = live.tracer.drain(&mut batch) {
                    error = error.or(Some(FollowError::Ring(e)));
                }
                let _ = session.show(&batch);
            }
            match live.tracer.counters() {
                Ok(counters) => {
                    if counters.lost > reported_lost || rebuild_pending {
                        let lost = counters.lost - reported_lost;
                        let _ = resync(&mut session, live, lost, &mut RebuildPacer::default());
                    }
                    session.summary.filtered_in_kernel = counters.filtered;
                    session.summary.nested = counters.nested;
                }
                Err(e) => error = error.or(Some(e.into())),
            }
            // The last redraw may predate the end: a rebuild (seconds long on a loaded
            // machine) or the events since the last tick. The table shown last is the
            // table follow ended with.
            if matches!(stop, Stop::Signal | Stop::Deadline) {
                let _ = session.refresh(WallClock::monotonic_ns());
            }
        }
        if matches!(
            stop,
            Stop::End | Stop::Recording(RecordingError::Truncated { .. })
        ) {
            // A replay ends with the table as it was at the recording's last (whole) event.
            let _ = session.refresh(session.last_ts_ns);
        }
        let mut summary = std::mem::take(&mut session.summary);
        summary.sockets_seen = session.table.sockets_seen();
        summary.ends = session.stories.tally();
        summary.drops = session.stories.drops().to_vec();
        let stop = match stop {
            Stop::Recording(e) => {
                error = error.or(Some(e.into()));
                Stop::End
            }
            other => other,
        };
        let patience = matches!(stop, Stop::Signal).then_some(PATIENCE_AFTER_SIGNAL);
        let out = &mut *session.out;
        let recorder = &mut session.recorder;
        let finished = tokio::select! {
            finished = finish_outputs(out, recorder, patience) => Some(finished),
            _ = signals.recv(), if patience.is_none() => None,
        };
        let (delivery, recorded) = match finished {
            Some(finished) => finished,
            None => finish_outputs(out, recorder, Some(PATIENCE_AFTER_SIGNAL)).await,
        };
        let delivery = match stop {
            Stop::OutputClosed => Delivery::Closed,
            Stop::Output(e) => Delivery::Failed(e),
            _ => delivery,
        };
        match delivery {
            Delivery::Complete => {}
            Delivery::Closed => summary.output_closed = true,
            Delivery::Failed(e) => error = error.or(Some(FollowError::Output(e))),
            Delivery::Unwritten(bytes) => summary.unwritten_bytes = bytes,
        }
        match recorded {
            Ok(bytes) => summary.unwritten_recording_bytes = bytes,
            Err(e) => error = error.or(Some(e.into())),
        }
        Finished { summary, error }
    }
}

/// Hands the output and the recording to their writer threads, waiting while either is behind.
async fn send_outputs(out: &mut Output, recorder: &mut Option<Recorder>) -> Result<(), Stop> {
    out.send().await.map_err(Stop::from)?;
    if let Some(recorder) = recorder {
        recorder.send().await.map_err(Stop::Recording)?;
    }
    Ok(())
}

/// Completes when the recording's writer failed; never without a recording.
async fn recording_broken(recorder: &mut Option<Recorder>) -> RecordingError {
    match recorder {
        Some(recorder) => recorder.broken().await,
        None => std::future::pending().await,
    }
}

/// Writes what is left of the output and the recording, both at once.
async fn finish_outputs(
    out: &mut Output,
    recorder: &mut Option<Recorder>,
    patience: Option<Duration>,
) -> (Delivery, Result<u64, RecordingError>) {
    let recorded = async {
        match recorder {
            Some(recorder) => recorder.finish(patience).await,
            None => Ok(0),
        }
    };
    tokio::join!(out.finish(patience), recorded)
}

/// How long the output may still take to reach its reader once a signal arrived: the run
/// ends within a second of the signal whatever the reader does.
const PATIENCE_AFTER_SIGNAL: Duration = Duration::from_millis(500);

/// How a run ended: its summary, and the error that ended it, if one did (the summary then
/// still counts what was processed before).
#[derive(Debug, Default)]
pub struct Finished {
    pub summary: Summary,
    pub error: Option<FollowError>,
}

/// One round of the table's audit (see `audit`): the sockets that ended unseen leave the
/// table and are reported lost. A listing that fails is tried again at the next round.
fn audit_table<W: Write>(
    session: &mut Session<'_, W>,
    live: &Live,
    audit: &mut audit::Audit,
) -> Result<(), Stop> {
    let listing_ns = WallClock::monotonic_ns();
    let Ok(listed) = startup::listed_cookies(live.scope) else {
        return Ok(());
    };
    let gone = audit.round(&session.table, &listed, listing_ns);
    if gone.is_empty() {
        return Ok(());
    }
    for cookie in &gone {
        session.table.forget(*cookie);
    }
    let table = &session.table;
    session.stories.retain(|cookie| table.get(cookie).is_some());
    session.summary.ended_unseen += gone.len() as u64;
    let now = WallClock::monotonic_ns();
    session.show(&[lost_marker(now, gone.len() as u64, live.scope.own)])
}

/// After a loss the table may be wrong: report the loss (when there is a new one), then
/// rebuild the table from sock_diag (every namespace watched) when `pacer` allows. Ok(false)
/// when the rebuild waits or its listing failed, and the table is left as it was.
fn resync<W: Write>(
    session: &mut Session<'_, W>,
    live: &mut Live,
    lost: u64,
    pacer: &mut RebuildPacer,
) -> Result<bool, Stop> {
    let now = WallClock::monotonic_ns();
    if lost > 0 {
        session.show(&[lost_marker(now, lost, live.scope.own)])?;
    }
    let started = Instant::now();
    if !pacer.due(started) {
        return Ok(false);
    }
    let listed = live.list(now, None);
    pacer.rebuilt(started, Instant::now());
    match listed {
        Ok(events) => {
            session.show(&events)?;
            // Lost destroys leave stories behind: keep those of sockets that still exist.
            let table = &session.table;
            session.stories.retain(|cookie| table.get(cookie).is_some());
            Ok(true)
        }
        // The loss is reported either way; the caller lists again at a later check.
        Err(_) => Ok(false),
    }
}
