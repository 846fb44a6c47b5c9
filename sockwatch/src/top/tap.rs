//! follow's events into top's engine: a [`Views`] that counts instead of printing, and the
//! kernel's sums of the connections no listing saw.

use std::{cell::RefCell, io, io::Write, rc::Rc};

use sockwatch_common::{event_kind, EndedFlow, EndedKey, SockEvent};

use super::{engine::Engine, frame::Process};
use crate::{
    event::Transition,
    follow::{
        reasons::{classify, Reason, Story},
        table::Applied,
        Views,
    },
    model::SockState,
};

pub struct EventTap {
    pub engine: Rc<RefCell<Engine>>,
}

impl Views for EventTap {
    fn transition(
        &mut self,
        _: &mut dyn Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
    ) -> io::Result<bool> {
        let owner = applied.owner.or(t.owner).map(|owner| Process {
            pid: owner.pid,
            comm: owner.comm.as_bytes().into(),
        });
        // A connection that ended any other way than the FIN exchange failed.
        let failure = story
            .reason
            .filter(|&reason| reason != Reason::Normal)
            .map(Reason::name);
        self.engine.borrow_mut().transition(t, owner, failure);
        Ok(false)
    }

    fn lost(&mut self, _: &mut dyn Write, lost: u64, _: u64) -> io::Result<()> {
        self.engine.borrow_mut().lost(lost);
        Ok(())
    }
}

/// Counts the kernel's sums of connections that no listing saw (see
/// [`crate::ebpf::EndedSums`]) as their DESTROY events would have been counted.
/// `ends_complete`: whether every reason hook is attached (a quiet end is then `normal`).
pub fn count_sums(engine: &mut Engine, sums: &[(EndedKey, EndedFlow)], ends_complete: bool) {
    for (key, flow) in sums {
        let raw = SockEvent {
            kind: event_kind::DESTROY,
            old_state: SockState::Close.kernel(),
            new_state: SockState::Close.kernel(),
            netns: key.netns,
            pid: key.pid,
            comm: key.comm,
            family: key.family,
            dport: key.dport,
            daddr: key.daddr,
            errno: key.errno,
            reason_flags: key.reason_flags,
            rst_reason: key.rst_reason,
            bytes_acked: flow.bytes_acked,
            bytes_received: flow.bytes_received,
            total_retrans: u32::try_from(flow.total_retrans).unwrap_or(u32::MAX),
            ..SockEvent::default()
        };
        // The kernel wrote the family of a real DESTROY: decoding cannot fail.
        let Ok(t) = Transition::decode(&raw) else {
            continue;
        };
        let owner = t.owner.map(|owner| Process {
            pid: owner.pid,
            comm: owner.comm.as_bytes().into(),
        });
        let failure = t
            .cause
            .map(|cause| classify(&cause, ends_complete))
            .filter(|&reason| reason != Reason::Normal)
            .map(Reason::name);
        engine.transitions(&t, owner, failure, flow.connections);
    }
}

#[cfg(test)]
mod tests {
    use sockwatch_common::{family::AF_INET, reason_flag};

    use super::*;

    fn key(dport: u16, flags: u16, errno: u16) -> EndedKey {
        let mut comm = [0; 16];
        comm[..4].copy_from_slice(b"curl");
        let mut daddr = [0; 16];
        daddr[..4].copy_from_slice(&[127, 0, 0, 2]);
        EndedKey {
            epoch: 2,
            netns: 1,
            pid: 7,
            family: AF_INET,
            dport,
            daddr,
            comm,
            errno,
            reason_flags: flags,
            ..EndedKey::default()
        }
    }

    #[test]
    fn summed_connections_count_as_their_destroys_would() {
        let mut engine = Engine::new(None, true);
        engine.prime(&[], 0);
        let flow = |connections| EndedFlow {
            connections,
            bytes_acked: 10 * connections,
            bytes_received: 20 * connections,
            total_retrans: connections,
        };
        let sums = [
            (key(80, reason_flag::ESTABLISHED, 0), flow(30)),
            (
                key(80, reason_flag::ESTABLISHED, libc::ETIMEDOUT as u16),
                flow(2),
            ),
        ];
        count_sums(&mut engine, &sums, true);
        let frame = engine.frame(&[], None, 1_000_000_000, None);
        assert_eq!(frame.totals.opened_per_s, Some(32.0));
        assert_eq!(frame.totals.closed_per_s, Some(32.0));
        assert_eq!(frame.totals.failures, Some(vec![("timeout", 2)]));
        assert_eq!(frame.totals.rates.rx_bytes, 640.0);
        assert_eq!(frame.totals.rates.retransmits, 32.0);
        assert_eq!(frame.processes.len(), 1);
        let process = &frame.processes[0];
        assert_eq!(process.key.as_ref().map(|p| p.pid), Some(7));
        assert_eq!(process.failures, vec![("timeout", 2)]);
        assert_eq!(frame.remotes.len(), 1);
        assert_eq!(frame.remotes[0].key, "127.0.0.2:80".parse().unwrap());
    }
}
