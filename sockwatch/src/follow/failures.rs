//! `follow --table --failed`: the connections that ended otherwise than `normal`, and the
//! listener drops, over the last minute. A failed connection no longer exists, so the live
//! table cannot show it; this list is what that view redraws instead.

use std::collections::VecDeque;

use super::{reasons::Story, table::Applied};
use crate::event::{Transition, TransitionKind};

/// How long a failure stays in the view.
pub const WINDOW_NS: u64 = 60_000_000_000;
/// The most failures kept (the oldest go first): memory stays bounded under a storm of them.
pub const MOST: usize = 10_000;

/// One failed connection's end, or a listener's drops, as the event log would show it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub transition: Transition,
    pub applied: Applied,
    pub story: Story,
}

/// The failures of the last [`WINDOW_NS`], oldest first.
#[derive(Debug, Default)]
pub struct RecentFailures {
    entries: VecDeque<Failure>,
    /// Failures within the window that [`MOST`] left out.
    left_out: u64,
}

impl RecentFailures {
    /// Keeps an event `--failed` shows, when it is one a row stands for: a connection's end
    /// (its failed connect() repeats at its destroy) or a listener's drops.
    pub fn push(&mut self, transition: &Transition, applied: &Applied, story: &Story) {
        if !matches!(
            transition.kind,
            TransitionKind::Destroy | TransitionKind::Drop
        ) {
            return;
        }
        if self.entries.len() == MOST {
            self.entries.pop_front();
            self.left_out += 1;
        }
        self.entries.push_back(Failure {
            transition: transition.clone(),
            applied: *applied,
            story: story.clone(),
        });
    }

    /// Forgets what ended more than [`WINDOW_NS`] before `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        let oldest = now_ns.saturating_sub(WINDOW_NS);
        while self
            .entries
            .front()
            .is_some_and(|f| f.transition.ts_ns < oldest)
        {
            self.entries.pop_front();
        }
        if self.entries.len() < MOST {
            self.left_out = 0;
        }
    }

    /// Newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Failure> {
        self.entries.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Failures of the window beyond the [`MOST`] kept.
    pub fn left_out(&self) -> u64 {
        self.left_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{follow::table::tests::transition, model::SockState};

    fn end(ts_ns: u64, kind: TransitionKind) -> Transition {
        transition(ts_ns, kind, SockState::Close, SockState::Close)
    }

    fn applied() -> Applied {
        Applied {
            ms_in_old_state: None,
            lifetime_ms: None,
            owner: None,
            matched: true,
        }
    }

    #[test]
    fn ends_and_drops_stay_a_minute_newest_first() {
        let mut failures = RecentFailures::default();
        let story = Story::default();
        failures.push(&end(1, TransitionKind::Destroy), &applied(), &story);
        failures.push(&end(2, TransitionKind::ConnectError), &applied(), &story);
        failures.push(&end(3, TransitionKind::Drop), &applied(), &story);
        let times: Vec<u64> = failures
            .newest_first()
            .map(|f| f.transition.ts_ns)
            .collect();
        assert_eq!(times, [3, 1], "a failed connect is a row at its destroy");
        failures.expire(WINDOW_NS + 2);
        assert_eq!(failures.len(), 1);
        failures.expire(WINDOW_NS + 4);
        assert!(failures.is_empty());
    }

    #[test]
    fn a_storm_keeps_the_newest_and_counts_the_rest() {
        let mut failures = RecentFailures::default();
        for ts in 1..=(MOST as u64 + 5) {
            failures.push(
                &end(ts, TransitionKind::Destroy),
                &applied(),
                &Story::default(),
            );
        }
        assert_eq!((failures.len(), failures.left_out()), (MOST, 5));
        assert_eq!(
            failures.newest_first().next().map(|f| f.transition.ts_ns),
            Some(MOST as u64 + 5)
        );
    }
}
