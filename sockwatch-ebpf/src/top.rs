//! For `top`: the connections that came and went between two of its listings are added up
//! here, grouped by owner, remote end and how they ended, instead of one DESTROY each reaching
//! user space (at tens of thousands of connections a second, reading and counting those
//! events was most of top's cost).
//!
//! Only a connection no listing can have seen may be summed, or top would count its open
//! and its bytes twice (once from the listing, once from its end). User space bumps
//! `TOP_EPOCH` to an odd number before each listing and to the next even number after it;
//! a connection is summed when it reached ESTABLISHED and ended within the same even epoch.
//! Anything else (a listing in between, no birth noted, the sum table full) goes to user
//! space as a DESTROY, as without this. Epoch 0 (follow, or top with a filter) sums nothing.

use aya_ebpf::{
    macros::map,
    maps::{Array, LruHashMap, PerCpuHashMap},
};
use sockwatch_common::{reason_flag, EndedFlow, EndedKey, SockEvent};

use crate::filter;

/// The current epoch (see above); 0: summing is off.
#[map]
static TOP_EPOCH: Array<u32> = Array::with_max_entries(1, 0);

/// The epoch each connection reached ESTABLISHED in, by the key of its ENDS record. An entry
/// lost to the LRU only means that connection's DESTROY is sent.
#[map]
static BIRTHS: LruHashMap<u64, u32> = LruHashMap::with_max_entries(65_536, 0);

/// The sums, per CPU (no atomic adds needed); user space reads and deletes the entries of
/// past epochs after each listing.
#[map]
static ENDED: PerCpuHashMap<EndedKey, EndedFlow> = PerCpuHashMap::with_max_entries(4_096, 0);

#[inline(always)]
fn epoch() -> u32 {
    TOP_EPOCH.get(0).copied().unwrap_or(0)
}

/// Notes the epoch a connection reached ESTABLISHED in, when top sums.
#[inline(always)]
pub(crate) fn note_birth(key: u64) {
    let epoch = epoch();
    if epoch != 0 && epoch & 1 == 0 {
        let _ = BIRTHS.insert(key, epoch, 0);
    }
}

/// At DESTROY: adds the connection of `event` (complete: owner, counters, reason) to its sum
/// and returns true when it may be summed; false when its DESTROY must be sent.
#[inline(always)]
#[allow(clippy::needless_borrows_for_generic_args)] // by reference: no copy on the small stack
pub(crate) fn summed(event: &SockEvent, key: u64) -> bool {
    let epoch = epoch();
    if epoch == 0 {
        return false;
    }
    let Some(birth) = BIRTHS.get_ptr(key) else {
        return false;
    };
    let born = unsafe { *birth };
    let _ = BIRTHS.remove(key);
    let filter = filter();
    if born != epoch || (filter.netns != 0 && filter.netns != event.netns) {
        return false;
    }
    let accepted = event.reason_flags & reason_flag::ACCEPTED != 0;
    let ended = EndedKey {
        epoch,
        netns: event.netns,
        pid: event.pid,
        rst_reason: event.rst_reason,
        errno: event.errno,
        reason_flags: event.reason_flags,
        family: event.family,
        dport: if accepted { 0 } else { event.dport },
        daddr: event.daddr,
        comm: event.comm,
    };
    if let Some(flow) = ENDED.get_ptr_mut(&ended) {
        let flow = unsafe { &mut *flow };
        flow.connections += 1;
        flow.bytes_acked += event.bytes_acked;
        flow.bytes_received += event.bytes_received;
        flow.total_retrans += u64::from(event.total_retrans);
        return true;
    }
    let flow = EndedFlow {
        connections: 1,
        bytes_acked: event.bytes_acked,
        bytes_received: event.bytes_received,
        total_retrans: u64::from(event.total_retrans),
    };
    // BPF_NOEXIST: a nested run may have made the entry meanwhile; then, as when the table is
    // full, the DESTROY is sent instead.
    ENDED.insert(&ended, &flow, 1).is_ok()
}
