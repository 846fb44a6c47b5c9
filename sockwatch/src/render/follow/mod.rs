//! follow's views, one module a format: the event log and `--lifetime` lines as text
//! (`log`), the live table as text (`table`), and every view as JSON lines (`json`).
//!
//! Event lines are built in reused buffers without per-field allocation: follow must keep up
//! with hundreds of thousands of events a second. A field is added to a view by one column in
//! `log` (or `table`) and one key in `json`.

mod json;
mod log;
mod table;

use std::io::{self, Write};

use crate::{
    event::{Transition, TransitionKind},
    follow::{clock::WallClock, table::Applied},
};
use json::JsonLines;
use log::LogText;
pub use table::LiveView;

/// Which view follow prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// One line a transition.
    Log,
    /// One line a finished connection.
    Lifetime,
    /// The live socket table, redrawn at an interval.
    Table,
}

impl View {
    /// The view's name in JSON's `start` line.
    fn name(self) -> &'static str {
        match self {
            View::Log => "log",
            View::Lifetime => "lifetime",
            View::Table => "table",
        }
    }
}

/// Output format of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    JsonLines,
}

/// Writes the event views (log, lifetime) and what starts every view's output.
pub struct Printer {
    view: View,
    format: Format,
    text: LogText,
    json: JsonLines,
}

impl Printer {
    pub fn new(view: View, format: Format, clock: WallClock, numeric: bool) -> Printer {
        Printer {
            view,
            format,
            text: LogText::new(clock, numeric),
            json: JsonLines::new(clock),
        }
    }

    /// What starts the output: column titles (text), the `start` line (JSON).
    /// `started_ns` is when a live run started (None: a replay).
    pub fn header(&mut self, out: &mut impl Write, started_ns: Option<u64>) -> io::Result<()> {
        match self.format {
            Format::JsonLines => self.json.start(out, self.view, started_ns),
            Format::Text => self.text.header(out, self.view),
        }
    }

    /// Prints one transition if the view shows it; says whether it did.
    pub fn transition(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<bool> {
        let shown = match self.view {
            View::Log => matches!(t.kind, TransitionKind::State | TransitionKind::Destroy),
            View::Lifetime => t.kind == TransitionKind::Destroy,
            View::Table => false,
        };
        if !shown {
            return Ok(false);
        }
        match self.format {
            Format::JsonLines => self.json.event(out, t, applied)?,
            Format::Text => self.text.event(out, self.view, t, applied)?,
        }
        Ok(true)
    }

    /// Reports events the kernel could not deliver, noticed at `ts_ns`.
    pub fn lost(&mut self, out: &mut impl Write, lost: u64, ts_ns: u64) -> io::Result<()> {
        match self.format {
            Format::JsonLines => self.json.lost(out, lost, ts_ns),
            Format::Text => writeln!(out, "LOST {lost} events"),
        }
    }
}
