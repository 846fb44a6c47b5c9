//! follow's events into top's engine: a [`Views`] that counts instead of printing.

use std::{cell::RefCell, io, io::Write, rc::Rc};

use super::{engine::Engine, frame::Process};
use crate::{
    event::Transition,
    follow::{
        reasons::{Reason, Story},
        table::Applied,
        Views,
    },
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
            comm: owner.comm.as_bytes().to_vec(),
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
