//! One follow run's state: the live table, the user's filter, the view, the recording and the
//! accounting of every event (shown, filtered, lost, undecodable).

use std::{io, io::Write, net::SocketAddr};

use sockwatch_common::{event_kind, SockEvent};

use super::{
    failures::RecentFailures,
    output::Delivery,
    reasons::{Reason, Stories, Story},
    recording::{Recorder, RecordingError},
    table::LiveTable,
    views::Views,
    Summary,
};
use crate::{
    event::{Transition, TransitionKind},
    filter::Filter,
    model::{Endpoint, Netid, SockState, SocketRecord},
};

/// Why a run stops.
#[derive(Debug)]
pub enum Stop {
    Signal,
    Deadline,
    Count,
    /// The replayed recording ended.
    End,
    /// The reader of standard output went away (EPIPE): a quiet end.
    OutputClosed,
    /// Writing standard output failed otherwise (ENOSPC, EIO, ...): an error.
    Output(io::Error),
    Recording(RecordingError),
}

impl From<Delivery> for Stop {
    fn from(delivery: Delivery) -> Stop {
        match delivery {
            Delivery::Closed => Stop::OutputClosed,
            Delivery::Failed(e) => Stop::Output(e),
            Delivery::Complete | Delivery::Unwritten(_) => Stop::End,
        }
    }
}

/// The user's filter as follow applies it to events. It decides what is shown, never what
/// the table forgets: every event updates the table first.
pub struct EventFilter {
    pub filter: Option<Filter>,
    /// States from the filter's `state`/`exclude` words (bit n: kernel state n), if any.
    pub states: Option<u32>,
    /// Show an event when its socket matched at any earlier event or listing, not only when
    /// the event itself matches (`--lifetime`: a connection whose life passed through what
    /// the filter asks for is shown at its end).
    pub per_socket: bool,
    /// `--failed`: only the ends of connections that did not end `normal`, and drops.
    pub failed: bool,
    /// `--retransmits`: show retransmit events.
    pub retransmits: bool,
}

impl EventFilter {
    fn matches(&self, t: &Transition) -> bool {
        self.matches_parts(t.old, t.new, t.local, t.remote)
    }

    /// Whether `--failed` and `--retransmits` let the event through.
    fn shows(&self, t: &Transition, story: &Story) -> bool {
        if t.kind == TransitionKind::Retransmit && !self.retransmits {
            return false;
        }
        !self.failed
            || t.kind == TransitionKind::Drop
            || story.reason.is_some_and(|r| r != Reason::Normal)
    }

    /// Whether a socket that went from `old` to `new` between these ends matches; a socket
    /// that sits in one state passes `old == new`.
    fn matches_parts(
        &self,
        old: SockState,
        new: SockState,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> bool {
        if let Some(states) = self.states {
            let bits = (1u32 << old.kernel()) | (1u32 << new.kernel());
            if states & bits == 0 {
                return false;
            }
        }
        let Some(filter) = &self.filter else {
            return true;
        };
        let record = SocketRecord::new(
            Netid::Tcp,
            new,
            Endpoint::inet(local),
            Endpoint::inet(remote),
        );
        filter.matches(&record)
    }
}

pub struct Session<'a, W: Write> {
    pub views: &'a mut dyn Views,
    pub table: LiveTable,
    pub stories: Stories,
    pub filter: EventFilter,
    /// `--table --failed`: the failures the table shows instead of the live sockets.
    pub failures: Option<RecentFailures>,
    pub recorder: Option<Recorder>,
    pub summary: Summary,
    pub count: Option<u64>,
    /// The newest event time seen: "now" when replaying a recording.
    pub last_ts_ns: u64,
    /// Table rebuilds begun: only the first one's sockets are "at start".
    pub rebuilds: u64,
    pub out: &'a mut W,
}

impl<W: Write> Session<'_, W> {
    pub fn write<T>(result: io::Result<T>) -> Result<T, Stop> {
        result.map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Stop::OutputClosed,
            _ => Stop::Output(e),
        })
    }

    /// Processes one batch: record it, update the table, print what the view shows.
    pub fn show(&mut self, batch: &[SockEvent]) -> Result<(), Stop> {
        if let Some(recorder) = &mut self.recorder {
            recorder.write(batch);
        }
        for (index, raw) in batch.iter().enumerate() {
            match raw.kind {
                event_kind::REBUILD => {
                    self.rebuilds += 1;
                    // The listing's sockets follow their marker.
                    let listed = batch[index + 1..]
                        .iter()
                        .take_while(|e| e.kind == event_kind::SNAPSHOT)
                        .count();
                    self.table.begin_rebuild(raw.ts_ns, listed);
                    continue;
                }
                event_kind::LOST => {
                    self.lost(raw.bytes_acked, raw.ts_ns)?;
                    continue;
                }
                event_kind::REASONS => {
                    self.stories
                        .reasons_attached(raw.ts_ns, raw.reason_flags != 0);
                    continue;
                }
                _ => {}
            }
            let mut transition = match Transition::decode(raw) {
                Ok(t) => t,
                Err(_) => {
                    self.summary.undecodable += 1;
                    continue;
                }
            };
            self.last_ts_ns = self.last_ts_ns.max(transition.ts_ns);
            // The table fills in what the kernel cleared before a destroy (after a reset).
            let mut applied = self.table.apply(&mut transition);
            let story = self.stories.observe(&transition, &mut applied);
            let matches = self.filter.matches(&transition);
            if matches {
                self.table.mark_matched(transition.cookie);
            }
            if transition.kind == TransitionKind::Snapshot {
                if self.rebuilds <= 1 {
                    self.summary.sockets_at_start += 1;
                }
                continue;
            }
            self.summary.events += 1;
            if !(matches || self.filter.per_socket && applied.matched)
                || !self.filter.shows(&transition, &story)
            {
                self.summary.filtered += 1;
                continue;
            }
            if self.views.is_table() {
                if let Some(failures) = &mut self.failures {
                    failures.push(&transition, &applied, &story);
                }
                continue;
            }
            let shown = self
                .views
                .transition(&mut *self.out, &transition, &applied, &story);
            if Self::write(shown)? {
                self.count_shown()?;
            }
        }
        Ok(())
    }

    fn count_shown(&mut self) -> Result<(), Stop> {
        self.summary.shown += 1;
        if self.count.is_some_and(|n| self.summary.shown >= n) {
            return Err(Stop::Count);
        }
        Ok(())
    }

    /// Reports events the kernel could not deliver, inline and in the summary.
    fn lost(&mut self, lost: u64, ts_ns: u64) -> Result<(), Stop> {
        // Counts come from the kernel or from a recording, which may be crafted.
        self.summary.lost = self.summary.lost.saturating_add(lost);
        if !self.views.is_table() {
            Self::write(self.views.lost(&mut *self.out, lost, ts_ns))?;
        }
        Ok(())
    }

    /// Redraws the live table view, when that is the view; offers the table to a view that
    /// watches it.
    pub fn refresh(&mut self, now_ns: u64) -> Result<(), Stop> {
        let watches = self.views.watches_table();
        if !self.views.is_table() && !watches {
            return Ok(());
        }
        if let Some(failures) = &mut self.failures {
            failures.expire(now_ns);
            Self::write(
                self.views
                    .failures(&mut *self.out, failures, &self.summary, now_ns),
            )?;
            return self.count_shown();
        }
        let mut rows: Vec<_> = self
            .table
            .iter()
            .filter(|(_, s)| {
                self.filter
                    .matches_parts(s.state, s.state, s.local, s.remote)
            })
            .map(|(cookie, s)| (*cookie, s))
            .collect();
        if watches {
            self.views.watch(&self.table, &rows);
            return Ok(());
        }
        Self::write(
            self.views
                .table(&mut *self.out, &mut rows, &self.summary, now_ns),
        )?;
        self.count_shown()
    }
}
