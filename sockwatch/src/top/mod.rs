//! `sockwatch top`: a live view of TCP connections and the processes behind them. Rates come
//! from the tcp_info counters of successive sock_diag listings; follow's eBPF events add the
//! connections that came and went between two listings (opened, failed, closed, with their
//! final counters), summarised per process and per remote end; those that began and ended
//! between two listings are summed in the kernel. Without the privileges the
//! programs need, top shows what sock_diag alone can and says so.

pub mod engine;
pub mod frame;
pub mod listed;
mod sample;
pub mod state;
mod tap;

use std::{cell::RefCell, rc::Rc, time::Duration};

use crate::{
    filter::Filter,
    follow::{FollowConfig, FollowError, Follower, Format, View},
};
pub use engine::Engine;
pub use sample::{ListError, Listing, Sampler};
pub use tap::{count_sums, EventTap};

/// What top runs with, apart from how it shows frames.
pub struct TopConfig {
    pub filter: Option<Filter>,
    pub interval: Duration,
}

/// top with its sources open.
pub struct Top {
    /// The event follower, None when the programs could not be loaded.
    pub follower: Option<Follower>,
    /// Why short-lived connections are not counted, when they are not.
    pub degraded: Option<String>,
    pub engine: Rc<RefCell<Engine>>,
    pub sampler: Sampler,
    /// Whether every hook that tells why connections end is attached (a quiet end is then
    /// `normal`), for the kernel's sums.
    pub ends_complete: bool,
}

impl Top {
    /// Attaches follow's programs if it can (every event, unfiltered: the filter can change
    /// while top runs, so the engine applies it); otherwise runs on sock_diag alone.
    pub fn start(config: TopConfig) -> Result<Top, FollowError> {
        let follow = FollowConfig {
            view: View::Log,
            format: Format::Text,
            numeric: true,
            count: None,
            duration: None,
            all_netns: false,
            ip_version: None,
            ring_bytes: 0,
            filter: None,
            write: None,
            interval: config.interval,
            clear_screen: false,
            container: false,
            verbose: false,
            failed: false,
            retransmits: false,
            ends_only: true,
            // top's first frame needs the kernel's sums and whether ends are complete.
            quick_start: false,
        };
        let (follower, degraded) = match Follower::start(follow) {
            Ok(follower) => (Some(follower), None),
            Err(FollowError::Load(e)) => (
                None,
                Some(format!(
                    "sock_diag only, connections shorter than one refresh are not counted ({e})"
                )),
            ),
            Err(e) => return Err(e),
        };
        let mut follower = follower;
        // Connections that begin and end between two listings are summed in the kernel
        // rather than sent one DESTROY each; without the sums, every end is an event.
        let (sampler, ends_complete) = match follower.as_mut().and_then(Follower::ended_sums) {
            Some(sums) => {
                let (sums, ends_complete) = sums?;
                (Sampler::with_sums(sums), ends_complete)
            }
            None => (Sampler::default(), false),
        };
        let events = follower.is_some();
        Ok(Top {
            follower,
            degraded,
            engine: Rc::new(RefCell::new(Engine::new(config.filter, events))),
            sampler,
            ends_complete,
        })
    }
}
