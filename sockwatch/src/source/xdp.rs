//! Decoding AF_XDP sock_diag replies (xsk_diag): `struct xdp_diag_msg` and its attributes
//! (linux/xdp_diag.h) into a [`SocketRecord`].
//!
//! As ss: the state is always UNCONN, Recv-Q is the receive memory in use, the local end is
//! (interface, queue) once the socket is bound, the peer end carries nothing; `xdp` holds
//! what ss -e shows (rings, UMEM, counters).

use super::error::DecodeError;
use super::meminfo;
use super::wire::{attributes, cookie_at, first_u32, prefix, u32_at, u64_at};
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord, XdpInfo, XdpStats, XdpUmem};

/// family, type, pad, inode, cookie.
const XDP_DIAG_MSG_LEN: usize = 16;
const XDP_DIAG_INFO_LEN: usize = 8;
const XDP_DIAG_UMEM_LEN: usize = 40;
const XDP_DIAG_STATS_LEN: usize = 48;
const AF_XDP: u8 = 44;

const XDP_DIAG_INFO: u16 = 1;
const XDP_DIAG_UID: u16 = 2;
const XDP_DIAG_RX_RING: u16 = 3;
const XDP_DIAG_TX_RING: u16 = 4;
const XDP_DIAG_UMEM: u16 = 5;
const XDP_DIAG_UMEM_FILL_RING: u16 = 6;
const XDP_DIAG_UMEM_COMPLETION_RING: u16 = 7;
const XDP_DIAG_MEMINFO: u16 = 8;
const XDP_DIAG_STATS: u16 = 9;

/// Decodes one reply payload of an AF_XDP dump.
pub(super) fn decode(payload: &[u8]) -> Result<SocketRecord, DecodeError> {
    let msg = prefix::<XDP_DIAG_MSG_LEN>(payload, "xdp_diag_msg")?;
    if msg[0] != AF_XDP {
        return Err(DecodeError::Family(msg[0]));
    }
    let unbound = Endpoint::Xdp {
        ifindex: 0,
        queue: 0,
    };
    let mut record = SocketRecord::new(Netid::Xdp, SockState::Close, unbound.clone(), unbound);
    record.inode = u32_at(msg, 4).into();
    record.cookie = Cookie(cookie_at(msg, 8));
    let mut xdp = XdpInfo::default();
    for attribute in attributes(&payload[XDP_DIAG_MSG_LEN..]) {
        let (kind, data) = attribute?;
        match kind {
            XDP_DIAG_INFO => {
                let info = prefix::<XDP_DIAG_INFO_LEN>(data, "xdp_diag_info")?;
                record.local = Endpoint::Xdp {
                    ifindex: u32_at(info, 0),
                    queue: u32_at(info, 4),
                };
            }
            XDP_DIAG_UID => record.uid = first_u32(data).unwrap_or(0),
            XDP_DIAG_RX_RING => xdp.rx_ring = first_u32(data),
            XDP_DIAG_TX_RING => xdp.tx_ring = first_u32(data),
            XDP_DIAG_UMEM_FILL_RING => xdp.fill_ring = first_u32(data),
            XDP_DIAG_UMEM_COMPLETION_RING => xdp.completion_ring = first_u32(data),
            XDP_DIAG_UMEM => {
                let umem = prefix::<XDP_DIAG_UMEM_LEN>(data, "xdp_diag_umem")?;
                xdp.umem = Some(XdpUmem {
                    size: u64_at(umem, 0),
                    id: u32_at(umem, 8),
                    num_pages: u32_at(umem, 12),
                    chunk_size: u32_at(umem, 16),
                    headroom: u32_at(umem, 20),
                    ifindex: u32_at(umem, 24),
                    queue_id: u32_at(umem, 28),
                    flags: u32_at(umem, 32),
                    refs: u32_at(umem, 36),
                });
            }
            XDP_DIAG_MEMINFO => {
                let mem = meminfo::decode(data);
                record.recv_q = mem.rmem_alloc;
                record.meminfo = Some(mem);
            }
            XDP_DIAG_STATS => {
                let stats = prefix::<XDP_DIAG_STATS_LEN>(data, "xdp_diag_stats")?;
                xdp.stats = Some(XdpStats {
                    rx_dropped: u64_at(stats, 0),
                    rx_invalid: u64_at(stats, 8),
                    rx_full: u64_at(stats, 16),
                    fill_ring_empty: u64_at(stats, 24),
                    tx_invalid: u64_at(stats, 32),
                    tx_ring_empty: u64_at(stats, 40),
                });
            }
            _ => {}
        }
    }
    record.xdp = Some(xdp);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::captured::payloads;

    /// Debian 12's 6.12 answering ss's request (everything shown), with familysocks's two
    /// AF_XDP sockets: a bare one, and one with a 16-frame UMEM of 2048-byte chunks and
    /// 64-entry fill, completion and RX rings, bound to `lo` queue 0 (testdata/capture.sh).
    fn captured() -> Vec<SocketRecord> {
        payloads(include_str!("testdata/xdp.hex"))
            .iter()
            .map(|payload| decode(payload).unwrap())
            .collect()
    }

    #[test]
    fn a_bare_socket_and_one_bound_with_a_umem() {
        let records = captured();
        assert_eq!(records.len(), 2);
        let (bare, bound) = (&records[0], &records[1]);
        for record in &records {
            assert_eq!((record.netid, record.state), (Netid::Xdp, SockState::Close));
            assert_ne!(record.inode, 0);
            assert!(record.meminfo.is_some_and(|mem| mem.rcvbuf > 0));
            assert_eq!(record.xdp.unwrap().stats, Some(XdpStats::default()));
        }
        assert_eq!(
            bare.local,
            Endpoint::Xdp {
                ifindex: 0,
                queue: 0
            }
        );
        assert_eq!(bare.xdp.unwrap().umem, None);
        assert_eq!(bare.xdp.unwrap().rx_ring, None);
        assert_eq!(
            bound.local,
            Endpoint::Xdp {
                ifindex: 1,
                queue: 0
            }
        );
        let xdp = bound.xdp.unwrap();
        assert_eq!(
            (xdp.rx_ring, xdp.tx_ring, xdp.fill_ring, xdp.completion_ring),
            (Some(64), None, Some(64), Some(64))
        );
        let umem = xdp.umem.unwrap();
        assert_eq!(
            (
                umem.size,
                umem.num_pages,
                umem.chunk_size,
                umem.ifindex,
                umem.queue_id
            ),
            (32768, 8, 2048, 1, 0)
        );
        assert_eq!((umem.headroom, umem.flags & 1, umem.refs), (0, 0, 1));
    }

    #[test]
    fn a_short_info_or_family_is_an_error() {
        let payload = payloads(include_str!("testdata/xdp.hex")).remove(1);
        assert!(matches!(
            decode(&payload[..15]),
            Err(DecodeError::Short { need: 16, .. })
        ));
        let mut wrong = payload.clone();
        wrong[0] = 17;
        assert_eq!(decode(&wrong), Err(DecodeError::Family(17)));
    }
}
