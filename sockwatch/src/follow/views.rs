//! What follow's run loop asks of its output. `render::follow` implements it and the CLI
//! hands it to [`super::Follower::run`]: render reads follow's table and events, so follow
//! must not name render (data flows table -> render -> cli).

use std::io::{self, Write};

use super::{
    failures::RecentFailures,
    reasons::Story,
    table::{Applied, LiveSocket, LiveTable},
    Summary,
};
use crate::{event::Transition, model::Cookie};

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

/// Output format of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    JsonLines,
}

pub trait Views {
    /// What starts the output (column titles, JSON's `start` line). `started_ns`: when a
    /// live run started; None for a replay. Views that print nothing (serve, top) keep this.
    fn header(&mut self, out: &mut dyn Write, started_ns: Option<u64>) -> io::Result<()> {
        let _ = (out, started_ns);
        Ok(())
    }

    /// Prints one transition if the view shows it; says whether it did. `story`: why the
    /// connection ended, its latency and owner source, where they apply.
    fn transition(
        &mut self,
        out: &mut dyn Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
    ) -> io::Result<bool>;

    /// Reports events the kernel could not deliver, noticed at `ts_ns`.
    fn lost(&mut self, out: &mut dyn Write, lost: u64, ts_ns: u64) -> io::Result<()>;

    /// Whether this is the live table, redrawn by [`Views::table`] rather than by events.
    fn is_table(&self) -> bool {
        false
    }

    /// Redraws the live table with the sockets the filter kept (`rows`, in any order).
    fn table(
        &mut self,
        out: &mut dyn Write,
        rows: &mut [(Cookie, &LiveSocket)],
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        let _ = (out, rows, summary, now_ns);
        Ok(())
    }

    /// Redraws `--table --failed`: the connections that failed (and the listener drops) in
    /// the last minute, instead of the live sockets.
    fn failures(
        &mut self,
        out: &mut dyn Write,
        failures: &RecentFailures,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        let _ = (out, failures, summary, now_ns);
        Ok(())
    }

    /// Whether the view counts connections from their start to their end (serve's metrics):
    /// the filter then admits sockets rather than events, so a socket that matched once has
    /// its later events and its end shown even when they no longer match.
    fn follows_sockets(&self) -> bool {
        false
    }

    /// Whether the view keeps figures of the table without printing it (serve's gauges): it
    /// is then offered the table at each interval through [`Views::watch`].
    fn watches_table(&self) -> bool {
        false
    }

    /// The table as it stands, and the sockets in it the filter keeps (`rows`).
    fn watch(&mut self, _table: &LiveTable, _rows: &[(Cookie, &LiveSocket)]) {}
}
