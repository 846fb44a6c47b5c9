//! Decoding packet sock_diag replies: `struct packet_diag_msg` and its attributes
//! (linux/packet_diag.h) into a [`SocketRecord`].
//!
//! As in ss: the state is always UNCONN, Recv-Q is the receive memory in use, the local end
//! is (protocol, interface) and the peer end carries nothing.

use super::error::DecodeError;
use super::meminfo;
use super::wire::{attributes, cookie_at, first_u32, prefix, u16_at, u32_at};
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord};

const PACKET_DIAG_MSG_LEN: usize = 16;

const PACKET_DIAG_INFO: u16 = 0;
const PACKET_DIAG_UID: u16 = 5;
const PACKET_DIAG_MEMINFO: u16 = 6;

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
            // struct packet_diag_info starts with pdi_index.
            PACKET_DIAG_INFO => ifindex = first_u32(data).unwrap_or(0),
            PACKET_DIAG_UID => record.uid = first_u32(data).unwrap_or(0),
            PACKET_DIAG_MEMINFO => {
                let mem = meminfo::decode(data);
                record.recv_q = mem.rmem_alloc;
                record.meminfo = Some(mem);
            }
            _ => {}
        }
    }
    record.local = Endpoint::Packet {
        // pdiag_num: the ethernet protocol, already in host order.
        protocol: u16_at(msg, 2),
        ifindex,
    };
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::build::attr;

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
        let mut info = 2u32.to_ne_bytes().to_vec();
        info.resize(24, 0);
        attr(&mut msg, PACKET_DIAG_INFO, &info);
        attr(&mut msg, PACKET_DIAG_UID, &0u32.to_ne_bytes());
        let mem: Vec<u8> = [768u32, 212_992]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        attr(&mut msg, PACKET_DIAG_MEMINFO, &mem);

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
