//! top's side of the kernel's sums of short connections (`sockwatch-ebpf/src/top.rs`): the
//! epoch handshake around each listing, and the sums of the windows that are over.

use aya::maps::{Array, MapData, PerCpuHashMap};
use sockwatch_common::{EndedFlow, EndedKey};

use super::{borrow_map, map_error, take_map, LoadError};

/// The connections that began and ended between two listings, summed by the kernel.
pub struct EndedSums {
    epoch_map: Array<MapData, u32>,
    sums: PerCpuHashMap<MapData, EndedKey, EndedFlow>,
    /// The last epoch written (odd while a listing runs).
    epoch: u32,
    /// Whether the kernel sums now (off while top has a filter: the sums keep no local
    /// address to filter on).
    enabled: bool,
}

/// The first epoch, set once the programs are attached: connections that begin and
/// end while follow's start-up listing runs are summed already, instead of filling the ring
/// buffer before anything drains it.
const FIRST_EPOCH: u32 = 2;

pub(super) fn start_sums(ebpf: &mut aya::Ebpf) -> Result<(), LoadError> {
    let mut epoch_map: Array<_, u32> = borrow_map(ebpf, "TOP_EPOCH")?;
    epoch_map
        .set(0, FIRST_EPOCH, 0)
        .map_err(|e| map_error("TOP_EPOCH", e))
}

impl EndedSums {
    pub(super) fn take(ebpf: &mut aya::Ebpf) -> Result<EndedSums, LoadError> {
        let epoch_map: Array<_, u32> = take_map(ebpf, "TOP_EPOCH")?;
        let sums = take_map(ebpf, "ENDED")?;
        let epoch = epoch_map
            .get(&0, 0)
            .map_err(|e| map_error("TOP_EPOCH", e))?;
        Ok(EndedSums {
            epoch_map,
            sums,
            epoch,
            enabled: true,
        })
    }

    fn step(&mut self) -> Result<(), LoadError> {
        self.epoch = self.epoch.wrapping_add(1);
        let value = if self.enabled { self.epoch } else { 0 };
        self.epoch_map
            .set(0, value, 0)
            .map_err(|e| map_error("TOP_EPOCH", e))
    }

    /// Call before a listing: from now until [`EndedSums::end_listing`] every connection's
    /// end is sent as an event. `enabled`: whether the kernel sums after the listing.
    pub fn begin_listing(&mut self, enabled: bool) -> Result<(), LoadError> {
        self.enabled = enabled;
        self.step()
    }

    /// Call after the listing: opens the next window and takes the sums of the windows
    /// before it (the kernel no longer adds to them).
    pub fn end_listing(&mut self) -> Result<Vec<(EndedKey, EndedFlow)>, LoadError> {
        self.step()?;
        let current = self.epoch;
        let past: Vec<EndedKey> = self
            .sums
            .keys()
            .filter_map(Result::ok)
            .filter(|key| key.epoch != current)
            .collect();
        let mut sums = Vec::with_capacity(past.len());
        for key in past {
            let Ok(per_cpu) = self.sums.get(&key, 0) else {
                continue;
            };
            let mut flow = EndedFlow::default();
            for cpu in per_cpu.iter() {
                flow.connections += cpu.connections;
                flow.bytes_acked += cpu.bytes_acked;
                flow.bytes_received += cpu.bytes_received;
                flow.total_retrans += cpu.total_retrans;
            }
            self.sums.remove(&key).map_err(|e| map_error("ENDED", e))?;
            if flow.connections != 0 {
                sums.push((key, flow));
            }
        }
        Ok(sums)
    }
}
