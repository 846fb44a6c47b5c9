//! The SK_MEMINFO_* counters (linux/sock_diag.h) that inet, unix, packet and netlink
//! replies all carry in the same shape.

use crate::model::SkMemInfo;

/// Reads as many u32 counters as the kernel sent (older kernels send fewer); missing ones
/// read as 0.
pub(super) fn decode(data: &[u8]) -> SkMemInfo {
    let mut counters = [0u32; 9];
    for (counter, bytes) in counters.iter_mut().zip(data.chunks_exact(4)) {
        *counter = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops] =
        counters;
    SkMemInfo {
        rmem_alloc,
        rcvbuf,
        wmem_alloc,
        sndbuf,
        fwd_alloc,
        wmem_queued,
        optmem,
        backlog,
        drops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arrays_leave_later_counters_zero() {
        let data: Vec<u8> = [5u32, 6, 7].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mem = decode(&data[..10]);
        assert_eq!((mem.rmem_alloc, mem.rcvbuf, mem.wmem_alloc), (5, 6, 0));
        assert_eq!(decode(&[]), SkMemInfo::default());
    }
}
