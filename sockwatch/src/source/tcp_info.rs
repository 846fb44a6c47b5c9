//! `struct tcp_info` (linux/tcp.h) from an INET_DIAG_INFO attribute.

use super::wire::{u16_at, u32_at, u64_at};
use crate::model::TcpInfo;

/// The bytes of struct tcp_info up to the last field [`TcpInfo`] holds (tcpi_total_rto_time).
const KNOWN_LEN: usize = 248;

/// Decodes the fields the kernel sent; the rest read as 0 and `len` says how many bytes came,
/// so a renderer can tell "0" from "not sent". Longer structs from newer kernels are fine.
pub(super) fn decode(data: &[u8]) -> TcpInfo {
    let mut raw = [0u8; KNOWN_LEN];
    let sent = data.len().min(KNOWN_LEN);
    raw[..sent].copy_from_slice(&data[..sent]);
    let b = &raw;
    TcpInfo {
        len: data.len(),
        state: b[0],
        ca_state: b[1],
        retransmits: b[2],
        probes: b[3],
        backoff: b[4],
        options: b[5],
        // Bit fields, first declared in the low bits (little-endian ABI).
        snd_wscale: b[6] & 0x0f,
        rcv_wscale: b[6] >> 4,
        delivery_rate_app_limited: b[7] & 0x1 != 0,
        fastopen_client_fail: (b[7] >> 1) & 0x3,
        rto: u32_at(b, 8),
        ato: u32_at(b, 12),
        snd_mss: u32_at(b, 16),
        rcv_mss: u32_at(b, 20),
        unacked: u32_at(b, 24),
        sacked: u32_at(b, 28),
        lost: u32_at(b, 32),
        retrans: u32_at(b, 36),
        fackets: u32_at(b, 40),
        last_data_sent: u32_at(b, 44),
        last_ack_sent: u32_at(b, 48),
        last_data_recv: u32_at(b, 52),
        last_ack_recv: u32_at(b, 56),
        pmtu: u32_at(b, 60),
        rcv_ssthresh: u32_at(b, 64),
        rtt: u32_at(b, 68),
        rttvar: u32_at(b, 72),
        snd_ssthresh: u32_at(b, 76),
        snd_cwnd: u32_at(b, 80),
        advmss: u32_at(b, 84),
        reordering: u32_at(b, 88),
        rcv_rtt: u32_at(b, 92),
        rcv_space: u32_at(b, 96),
        total_retrans: u32_at(b, 100),
        pacing_rate: u64_at(b, 104),
        max_pacing_rate: u64_at(b, 112),
        bytes_acked: u64_at(b, 120),
        bytes_received: u64_at(b, 128),
        segs_out: u32_at(b, 136),
        segs_in: u32_at(b, 140),
        notsent_bytes: u32_at(b, 144),
        min_rtt: u32_at(b, 148),
        data_segs_in: u32_at(b, 152),
        data_segs_out: u32_at(b, 156),
        delivery_rate: u64_at(b, 160),
        busy_time: u64_at(b, 168),
        rwnd_limited: u64_at(b, 176),
        sndbuf_limited: u64_at(b, 184),
        delivered: u32_at(b, 192),
        delivered_ce: u32_at(b, 196),
        bytes_sent: u64_at(b, 200),
        bytes_retrans: u64_at(b, 208),
        dsack_dups: u32_at(b, 216),
        reord_seen: u32_at(b, 220),
        rcv_ooopack: u32_at(b, 224),
        snd_wnd: u32_at(b, 228),
        rcv_wnd: u32_at(b, 232),
        rehash: u32_at(b, 236),
        total_rto: u16_at(b, 240),
        total_rto_recoveries: u16_at(b, 242),
        total_rto_time: u32_at(b, 244),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn decodes_fields_at_their_offsets() {
        let mut raw = vec![0u8; 280]; // a newer kernel's longer struct
        put(&mut raw, 0, &[1, 0, 2, 3, 4, 0x7, 0x97, 0x5]);
        put(&mut raw, 8, &204_000u32.to_ne_bytes());
        put(&mut raw, 68, &1500u32.to_ne_bytes());
        put(&mut raw, 80, &10u32.to_ne_bytes());
        put(&mut raw, 104, &u64::MAX.to_ne_bytes());
        put(&mut raw, 160, &123_456_789u64.to_ne_bytes());
        put(&mut raw, 228, &65_535u32.to_ne_bytes());
        put(&mut raw, 240, &3u16.to_ne_bytes());
        put(&mut raw, 242, &2u16.to_ne_bytes());
        put(&mut raw, 244, &99u32.to_ne_bytes());
        let info = decode(&raw);
        assert_eq!(info.len, 280);
        assert_eq!(
            (info.state, info.retransmits, info.probes, info.backoff),
            (1, 2, 3, 4)
        );
        assert_eq!(info.options, 7);
        assert_eq!((info.snd_wscale, info.rcv_wscale), (7, 9));
        assert!(info.delivery_rate_app_limited);
        assert_eq!(info.fastopen_client_fail, 2);
        assert_eq!((info.rto, info.rtt, info.snd_cwnd), (204_000, 1500, 10));
        assert_eq!(info.pacing_rate, u64::MAX);
        assert_eq!(info.delivery_rate, 123_456_789);
        assert_eq!(info.snd_wnd, 65_535);
        assert_eq!((info.total_rto, info.total_rto_recoveries), (3, 2));
        assert_eq!(info.total_rto_time, 99);
    }

    #[test]
    fn short_structs_leave_the_rest_zero() {
        let mut raw = vec![0u8; 104]; // up to tcpi_total_retrans, as old kernels send
        put(&mut raw, 100, &5u32.to_ne_bytes());
        let info = decode(&raw);
        assert_eq!(info.len, 104);
        assert_eq!(info.total_retrans, 5);
        assert_eq!(info.pacing_rate, 0);
        assert_eq!(decode(&[]), TcpInfo::default());
    }
}
