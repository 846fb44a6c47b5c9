//! Decoding packet sock_diag replies: `struct packet_diag_msg` and its attributes
//! (linux/packet_diag.h) into a [`SocketRecord`].
//!
//! As in ss: the state is always UNCONN, Recv-Q is the receive memory in use, the local end
//! is (protocol, interface) and the peer end carries nothing. `packet` holds what ss -e
//! shows: the socket's version, copy threshold and flags, its rings and fanout group.

use super::error::DecodeError;
use super::meminfo;
use super::wire::{attributes, cookie_at, first_u32, prefix, u16_at, u32_at};
use crate::model::{
    Cookie, Endpoint, Netid, PacketInfo, PacketRing, SockFilter, SockState, SocketRecord,
};

const PACKET_DIAG_MSG_LEN: usize = 16;
/// `struct packet_diag_info`: index, version, reserve, copy_thresh, tstamp, flags.
const PACKET_DIAG_INFO_LEN: usize = 24;
/// `struct packet_diag_ring`: seven u32s.
const PACKET_DIAG_RING_LEN: usize = 28;

const PACKET_DIAG_INFO: u16 = 0;
const PACKET_DIAG_RX_RING: u16 = 2;
const PACKET_DIAG_TX_RING: u16 = 3;
const PACKET_DIAG_FANOUT: u16 = 4;
const PACKET_DIAG_UID: u16 = 5;
const PACKET_DIAG_MEMINFO: u16 = 6;
const PACKET_DIAG_FILTER: u16 = 7;

fn netid(socket_type: u8) -> Option<Netid> {
    match i32::from(socket_type) {
        libc::SOCK_RAW => Some(Netid::PacketRaw),
        libc::SOCK_DGRAM => Some(Netid::PacketDgram),
        _ => None,
    }
}

/// Decodes one reply payload of a packet dump; None for socket types ss does not know.
pub(super) fn decode(payload: &[u8]) -> Result<Option<SocketRecord>, DecodeError> {
    let msg = prefix::<PACKET_DIAG_MSG_LEN>(payload, "packet_diag_msg")?;
    if msg[0] != libc::AF_PACKET as u8 {
        return Err(DecodeError::Family(msg[0]));
    }
    let Some(netid) = netid(msg[1]) else {
        return Ok(None);
    };
    let mut ifindex = 0;
    let mut info = None;
    let (mut rx_ring, mut tx_ring, mut fanout) = (None, None, None);
    let mut record = SocketRecord::new(
        netid,
        SockState::Close,
        Endpoint::Packet {
            protocol: 0,
            ifindex: 0,
        },
        Endpoint::Packet {
            protocol: 0,
            ifindex: 0,
        },
    );
    record.inode = u32_at(msg, 4).into();
    record.cookie = Cookie(cookie_at(msg, 8));

    for attribute in attributes(&payload[PACKET_DIAG_MSG_LEN..]) {
        let (kind, data) = attribute?;
        match kind {
            PACKET_DIAG_INFO => {
                // struct packet_diag_info starts with pdi_index.
                ifindex = first_u32(data).unwrap_or(0);
                info = prefix::<PACKET_DIAG_INFO_LEN>(data, "packet_diag_info")
                    .ok()
                    .map(|info| PacketInfo {
                        version: u32_at(info, 4),
                        copy_thresh: u32_at(info, 12),
                        flags: u32_at(info, 20),
                        ..PacketInfo::default()
                    });
            }
            PACKET_DIAG_RX_RING => rx_ring = ring(data),
            PACKET_DIAG_TX_RING => tx_ring = ring(data),
            PACKET_DIAG_FANOUT => fanout = first_u32(data),
            PACKET_DIAG_UID => record.uid = first_u32(data).unwrap_or(0),
            PACKET_DIAG_MEMINFO => {
                let mem = meminfo::decode(data);
                record.recv_q = mem.rmem_alloc;
                record.meminfo = Some(mem);
            }
            PACKET_DIAG_FILTER => {
                let (insns, _) = data.as_chunks::<8>();
                let insns = insns.iter().map(|insn| SockFilter {
                    code: u16_at(insn, 0),
                    jt: insn[2],
                    jf: insn[3],
                    k: u32_at(insn, 4),
                });
                record.packet_filter = Some(insns.collect());
            }
            _ => {}
        }
    }
    record.local = Endpoint::Packet {
        // pdiag_num: the ethernet protocol, already in host order.
        protocol: u16_at(msg, 2),
        ifindex,
    };
    // The kernel sends rings and fanout only with the info, and only when the socket has them.
    record.packet = info.map(|info| PacketInfo {
        rx_ring,
        tx_ring,
        fanout,
        ..info
    });
    Ok(Some(record))
}

fn ring(data: &[u8]) -> Option<PacketRing> {
    let ring = prefix::<PACKET_DIAG_RING_LEN>(data, "packet_diag_ring").ok()?;
    Some(PacketRing {
        block_size: u32_at(ring, 0),
        block_nr: u32_at(ring, 4),
        frame_size: u32_at(ring, 8),
        frame_nr: u32_at(ring, 12),
        retire_tmo: u32_at(ring, 16),
        sizeof_priv: u32_at(ring, 20),
        features: u32_at(ring, 24),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::build::attr;

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    fn packet_diag_msg(socket_type: u8, protocol: u16, inode: u32) -> Vec<u8> {
        let mut buf = vec![libc::AF_PACKET as u8, socket_type];
        buf.extend_from_slice(&protocol.to_ne_bytes());
        buf.extend_from_slice(&inode.to_ne_bytes());
        buf.extend_from_slice(&[0; 8]);
        buf
    }

    #[test]
    fn decodes_a_bound_raw_socket() {
        let mut msg = packet_diag_msg(libc::SOCK_RAW as u8, 0x0800, 99);
        // index 2, TPACKET_V3, reserve 0, copy_thresh 64, tstamp 0, running | auxdata
        attr(&mut msg, PACKET_DIAG_INFO, &words(&[2, 2, 0, 64, 0, 0x3]));
        attr(
            &mut msg,
            PACKET_DIAG_RX_RING,
            &words(&[4096, 8, 2048, 16, 60, 0, 1]),
        );
        attr(
            &mut msg,
            PACKET_DIAG_FANOUT,
            &(7u32 | 3 << 16).to_ne_bytes(),
        );
        attr(&mut msg, PACKET_DIAG_UID, &0u32.to_ne_bytes());
        attr(&mut msg, PACKET_DIAG_MEMINFO, &words(&[768, 212_992]));

        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(record.netid, Netid::PacketRaw);
        assert_eq!(record.state, SockState::Close);
        assert_eq!(
            record.local,
            Endpoint::Packet {
                protocol: 0x0800,
                ifindex: 2
            }
        );
        assert_eq!((record.recv_q, record.send_q, record.inode), (768, 0, 99));
        assert_eq!(record.meminfo.unwrap().rcvbuf, 212_992);
        assert_eq!(
            record.packet,
            Some(PacketInfo {
                version: 2,
                copy_thresh: 64,
                flags: 0x3,
                rx_ring: Some(PacketRing {
                    block_size: 4096,
                    block_nr: 8,
                    frame_size: 2048,
                    frame_nr: 16,
                    retire_tmo: 60,
                    sizeof_priv: 0,
                    features: 1,
                }),
                tx_ring: None,
                fanout: Some(7 | 3 << 16),
            })
        );
    }

    #[test]
    fn filters_are_decoded_and_an_empty_one_kept() {
        let mut msg = packet_diag_msg(libc::SOCK_RAW as u8, 3, 1);
        let mut insns = vec![0x28, 0, 0, 0];
        insns.extend_from_slice(&12u32.to_ne_bytes());
        insns.extend_from_slice(&[0x15, 0, 0, 1]);
        insns.extend_from_slice(&0x800u32.to_ne_bytes());
        attr(&mut msg, PACKET_DIAG_FILTER, &insns);
        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(
            record.packet_filter.as_deref(),
            Some(&crate::model::IPV4_CHECK[..])
        );
        // Without CAP_NET_ADMIN the kernel sends the attribute empty.
        let mut msg = packet_diag_msg(libc::SOCK_RAW as u8, 3, 1);
        attr(&mut msg, PACKET_DIAG_FILTER, &[]);
        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(record.packet_filter, Some(Vec::new()));
        let record = decode(&packet_diag_msg(libc::SOCK_RAW as u8, 3, 1)).unwrap();
        assert_eq!(record.unwrap().packet_filter, None);
    }

    #[test]
    fn short_info_keeps_the_interface_only() {
        let mut msg = packet_diag_msg(libc::SOCK_RAW as u8, 3, 1);
        attr(&mut msg, PACKET_DIAG_INFO, &words(&[5, 2]));
        attr(&mut msg, PACKET_DIAG_TX_RING, &words(&[1, 2, 3]));
        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(
            record.local,
            Endpoint::Packet {
                protocol: 3,
                ifindex: 5
            }
        );
        assert_eq!(record.packet, None);
    }

    #[test]
    fn dgram_sockets_and_unknown_types() {
        let record = decode(&packet_diag_msg(libc::SOCK_DGRAM as u8, 3, 1))
            .unwrap()
            .unwrap();
        assert_eq!(record.netid, Netid::PacketDgram);
        assert_eq!(
            record.local,
            Endpoint::Packet {
                protocol: 3,
                ifindex: 0
            }
        );
        assert_eq!(decode(&packet_diag_msg(1, 3, 1)).unwrap(), None);
        assert!(decode(&[17, 3, 0]).is_err());
    }
}
