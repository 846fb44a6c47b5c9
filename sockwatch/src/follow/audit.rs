//! The table's audit against sock_diag: sockets whose end never reached follow.
//!
//! The kernel does not always run the programs for an event, and does not always say so: on
//! this project's test machines (a Firecracker guest, Linux 6.18) a softirq burst that runs
//! on another process's thread can end sockets with no program run at all and no counter
//! moved (ftrace, which sits on the same tracepoints, sees the events). Such a socket would
//! stay in the table forever. So every [`AUDIT_EVERY`] follow lists the sockets that exist and
//! suspects the table's sockets that are missing from the listing and unchanged since before
//! it; a suspect still there, unchanged, at the next audit has ended unseen: it leaves the
//! table and counts as lost. Two rounds apart, any end still on its way through the ring
//! buffer has arrived.

use std::{collections::HashSet, time::Duration};

use super::table::LiveTable;
use crate::model::{Cookie, SockState};

/// How often the table is checked against a listing.
pub const AUDIT_EVERY: Duration = Duration::from_secs(10);

/// The suspects of the last round.
#[derive(Debug, Default)]
pub struct Audit {
    suspects: HashSet<Cookie>,
    /// When the last round's listing began (CLOCK_MONOTONIC ns).
    last_listing_ns: u64,
}

impl Audit {
    /// One round, given the cookies a listing that began at `listing_ns` found: returns the
    /// sockets that ended unseen (suspects of the last round, still missing and unchanged),
    /// and keeps this round's suspects. Sockets in states sock_diag does not list (CLOSE,
    /// waiting for its owner's close; a full SYN-RECV socket) are never suspected.
    pub fn round(
        &mut self,
        table: &LiveTable,
        listed: &HashSet<Cookie>,
        listing_ns: u64,
    ) -> Vec<Cookie> {
        let unchanged_since = |since: Option<u64>, ns: u64| since.is_none_or(|since| since < ns);
        let gone = self
            .suspects
            .iter()
            .filter(|cookie| !listed.contains(cookie))
            .filter(|cookie| {
                table
                    .get(**cookie)
                    .is_some_and(|s| unchanged_since(s.since_ns, self.last_listing_ns))
            })
            .copied()
            .collect();
        self.suspects = table
            .iter()
            .filter(|(cookie, _)| !listed.contains(cookie))
            .filter(|(_, s)| !matches!(s.state, SockState::Close | SockState::SynRecv))
            .filter(|(_, s)| unchanged_since(s.since_ns, listing_ns))
            .map(|(cookie, _)| *cookie)
            .collect();
        self.last_listing_ns = listing_ns;
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{event::TransitionKind, follow::table::tests::transition};

    fn table_with_one(state: SockState, at_ns: u64) -> LiveTable {
        let mut table = LiveTable::default();
        table.apply(&mut transition(
            at_ns,
            TransitionKind::State,
            SockState::Established,
            state,
        ));
        table
    }

    #[test]
    fn a_socket_missing_from_two_listings_and_unchanged_ended_unseen() {
        let table = table_with_one(SockState::FinWait1, 1_000);
        let mut audit = Audit::default();
        let none = HashSet::new();
        assert!(
            audit.round(&table, &none, 5_000).is_empty(),
            "a suspect first"
        );
        assert_eq!(audit.round(&table, &none, 9_000), vec![Cookie(7)]);
    }

    #[test]
    fn listed_changed_or_unlistable_sockets_are_kept() {
        let mut audit = Audit::default();
        let listed = HashSet::from([Cookie(7)]);
        let table = table_with_one(SockState::FinWait1, 1_000);
        audit.round(&table, &listed, 5_000);
        assert!(audit.round(&table, &listed, 9_000).is_empty(), "listed");

        // Changed after the listing began: its events are arriving.
        let mut audit = Audit::default();
        let fresh = table_with_one(SockState::FinWait1, 6_000);
        audit.round(&fresh, &HashSet::new(), 5_000);
        assert!(audit.round(&fresh, &HashSet::new(), 9_000).is_empty());

        // CLOSE waits for its owner's close(): sock_diag never lists it.
        let mut audit = Audit::default();
        let closed = table_with_one(SockState::Close, 1_000);
        audit.round(&closed, &HashSet::new(), 5_000);
        assert!(audit.round(&closed, &HashSet::new(), 9_000).is_empty());
    }
}
