//! What consumes follow's events without printing them: `sockwatch serve`'s metrics and event
//! stream. Follow's own views keep their direct path to the printer.

use super::{
    table::{Applied, LiveTable},
    Summary,
};
use crate::event::Transition;

pub trait FollowSink {
    /// One decoded event: every listing entry (kind Snapshot) and every later event that
    /// passed the user's filter, with what applying it to the table changed.
    fn transition(&mut self, t: &Transition, applied: &Applied);
    /// The kernel could not deliver this many events (the table is rebuilt after).
    fn lost(&mut self, lost: u64);
    /// The table and the counts as they stand, offered a few times a second.
    fn table(&mut self, table: &LiveTable, summary: &Summary);
}

/// The views of a run whose events all go to a sink: nothing is printed.
pub struct NoViews;

impl super::Views for NoViews {
    fn header(&mut self, _: &mut dyn std::io::Write, _: Option<u64>) -> std::io::Result<()> {
        Ok(())
    }

    fn transition(
        &mut self,
        _: &mut dyn std::io::Write,
        _: &Transition,
        _: &Applied,
    ) -> std::io::Result<bool> {
        Ok(false)
    }

    fn lost(&mut self, _: &mut dyn std::io::Write, _: u64, _: u64) -> std::io::Result<()> {
        Ok(())
    }

    fn is_table(&self) -> bool {
        false
    }

    fn table(
        &mut self,
        _: &mut dyn std::io::Write,
        _: &mut [(crate::model::Cookie, &super::table::LiveSocket)],
        _: &Summary,
        _: u64,
    ) -> std::io::Result<()> {
        Ok(())
    }
}
