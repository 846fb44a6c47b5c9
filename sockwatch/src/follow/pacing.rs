//! When the table may be rebuilt after a loss. A rebuild lists every socket and scans /proc
//! for owners while nobody drains the event ring: on a busy host that can take longer than the
//! ring takes to fill, and rebuilding again at once after the loss it caused would lose
//! nearly every event from then on. So each rebuild waits four times as long as the last one
//! took (the ring is drained at least 80% of the time); the losses in between are still
//! reported as they happen, and the table is marked for the rebuild that follows.

use std::time::Instant;

/// How many times its own length the ring is drained after a rebuild before the next.
const DRAINED_PER_REBUILT: u32 = 4;

#[derive(Debug, Default)]
pub struct RebuildPacer {
    not_before: Option<Instant>,
}

impl RebuildPacer {
    pub fn due(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }

    /// Notes a rebuild that ran from `started` to `ended`.
    pub fn rebuilt(&mut self, started: Instant, ended: Instant) {
        let took = ended.saturating_duration_since(started);
        self.not_before = Some(ended + took.saturating_mul(DRAINED_PER_REBUILT));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_first_rebuild_is_due_at_once_and_each_next_waits_four_times_the_last() {
        let start = Instant::now();
        let mut pacer = RebuildPacer::default();
        assert!(pacer.due(start));
        let ended = start + Duration::from_millis(500);
        pacer.rebuilt(start, ended);
        assert!(!pacer.due(ended));
        assert!(!pacer.due(ended + Duration::from_millis(1999)));
        assert!(pacer.due(ended + Duration::from_secs(2)));
        // A quick rebuild allows the next one soon.
        let quick = ended + Duration::from_secs(3);
        pacer.rebuilt(quick, quick + Duration::from_millis(5));
        assert!(pacer.due(quick + Duration::from_millis(25)));
    }
}
