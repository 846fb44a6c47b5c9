//! `sockwatch follow`: stream TCP transitions from the eBPF programs through the live table to
//! a view, and account for every event (sent, shown, lost).

pub mod clock;
pub mod table;
pub mod view;

use std::{collections::HashSet, io, io::Write, time::Duration};

use sockwatch_common::{KernelFilter, SockEvent};
use thiserror::Error;
use tokio::signal::unix::{signal, SignalKind};

use crate::{
    ebpf::{LoadError, Tracer, TracerConfig},
    event::Transition,
};
use clock::WallClock;
use table::LiveTable;
use view::Printer;
pub use view::{Format, View};

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
}

/// Everything follow needs to know, built by the CLI.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    pub view: View,
    pub format: Format,
    /// Stop after this many shown events.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Show every network namespace, not only the current one.
    pub all_netns: bool,
    /// Ring buffer size in bytes (0: the programs' default).
    pub ring_bytes: u32,
}

/// Why follow stopped and what it saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events received from the kernel.
    pub events: u64,
    /// Lines the view printed.
    pub shown: u64,
    /// Events that could not be decoded (counted, never dropped silently).
    pub undecodable: u64,
    pub lost: u64,
    pub sockets_seen: u64,
    /// Output closed by the reader (e.g. `| head`).
    pub output_closed: bool,
    /// Why accepted sockets' owners are unknown, when they are.
    pub no_accept_owner: Option<String>,
}

impl Summary {
    pub fn line(&self) -> String {
        let mut line = format!(
            "sockwatch follow: {} events, {} lost, {} sockets seen",
            self.events, self.lost, self.sockets_seen
        );
        if self.undecodable > 0 {
            line.push_str(&format!(", {} undecodable", self.undecodable));
        }
        if let Some(reason) = &self.no_accept_owner {
            line.push_str(&format!(" (owners of accepted sockets unknown: {reason})"));
        }
        line
    }
}

/// The inode of the calling process's network namespace, as the kernel side reports it.
pub fn current_netns() -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/self/ns/net")?.ino() as u32)
}

enum Stop {
    Signal,
    Deadline,
    Count,
    OutputClosed,
}

/// One follow run's state: the table, the accounting, and where lines go.
struct Session<'a, W: Write> {
    printer: Printer,
    table: LiveTable,
    seen: HashSet<u64>,
    summary: Summary,
    count: Option<u64>,
    out: &'a mut W,
}

impl<W: Write> Session<'_, W> {
    fn write<T>(result: io::Result<T>) -> Result<T, Stop> {
        result.map_err(|_| Stop::OutputClosed)
    }

    fn show(&mut self, batch: &[SockEvent]) -> Result<(), Stop> {
        for raw in batch {
            let transition = match Transition::decode(raw) {
                Ok(t) => t,
                Err(_) => {
                    self.summary.undecodable += 1;
                    continue;
                }
            };
            self.seen.insert(transition.cookie.0);
            let applied = self.table.apply(&transition);
            self.summary.events += 1;
            let shown = self.printer.transition(self.out, &transition, &applied);
            if Self::write(shown)? {
                self.summary.shown += 1;
                if self.count.is_some_and(|n| self.summary.shown >= n) {
                    return Err(Stop::Count);
                }
            }
        }
        Ok(())
    }
}

/// Follow with its programs loaded and attached, not yet reading.
pub struct Follower {
    config: FollowConfig,
    tracer: Tracer,
}

impl Follower {
    /// Loads and attaches the programs; events queue in the ring buffer from here on.
    pub fn start(config: &FollowConfig) -> Result<Follower, FollowError> {
        let filter = KernelFilter {
            netns: if config.all_netns {
                0
            } else {
                current_netns().map_err(FollowError::Netns)?
            },
            ..KernelFilter::default()
        };
        let tracer = Tracer::load(&TracerConfig {
            ring_bytes: config.ring_bytes,
            filter,
            ports: Vec::new(),
        })?;
        Ok(Follower {
            config: config.clone(),
            tracer,
        })
    }

    /// Reads events until a signal, the deadline or the count; writes the view to `out`.
    pub async fn run<W: Write>(self, out: &mut W) -> Result<Summary, FollowError> {
        let Follower { config, mut tracer } = self;
        let config = &config;
        let mut session = Session {
            printer: Printer::new(config.view, config.format, WallClock::now()),
            table: LiveTable::default(),
            seen: HashSet::new(),
            summary: Summary {
                no_accept_owner: tracer.accept_owner_unavailable.clone(),
                ..Summary::default()
            },
            count: config.count,
            out,
        };

        let mut sigint = signal(SignalKind::interrupt()).map_err(FollowError::Signals)?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(FollowError::Signals)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(FollowError::Signals)?;
        let deadline = tokio::time::sleep(
            config
                .duration
                .unwrap_or(Duration::from_secs(u32::MAX.into())),
        );
        tokio::pin!(deadline);

        let mut batch: Vec<SockEvent> = Vec::with_capacity(4096);
        let mut reported_lost = 0;
        let stop = loop {
            tokio::select! {
                ready = tracer.read_batch(&mut batch) => ready.map_err(FollowError::Ring)?,
                _ = sigint.recv() => break Stop::Signal,
                _ = sigterm.recv() => break Stop::Signal,
                _ = sighup.recv() => break Stop::Signal,
                _ = &mut deadline => break Stop::Deadline,
            }
            if let Err(stop) = session.show(&batch) {
                break stop;
            }
            batch.clear();
            let lost = tracer.counters()?.lost;
            if lost > reported_lost {
                let line = session.printer.lost(session.out, lost - reported_lost);
                if let Err(stop) = Session::<W>::write(line) {
                    break stop;
                }
                reported_lost = lost;
            }
            if let Err(stop) = Session::<W>::write(session.out.flush()) {
                break stop;
            }
        };
        // Events already queued when a signal or the deadline arrives happened while we watched.
        if matches!(stop, Stop::Signal | Stop::Deadline) {
            batch.clear();
            tracer.drain(&mut batch);
            let _ = session.show(&batch);
        }
        let _ = session.out.flush();
        let mut summary = session.summary;
        summary.output_closed = matches!(stop, Stop::OutputClosed);
        summary.lost = tracer.counters()?.lost;
        summary.sockets_seen = session.seen.len() as u64;
        Ok(summary)
    }
}
