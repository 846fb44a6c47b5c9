//! Decoding netlink sock_diag replies, about netlink sockets themselves:
//! `struct netlink_diag_msg` and its attributes (linux/netlink_diag.h).
//!
//! As in ss: the state is always UNCONN; Recv-Q and Send-Q are the receive and send memory
//! in use; the local end is (protocol, port id). The peer end of a connected socket holds
//! its destination port id (its group is in [`NetlinkInfo::dst_group`]); an unconnected
//! socket's peer has port id -1, which ss prints as `*`.

use super::error::DecodeError;
use super::meminfo;
use super::wire::{attributes, cookie_at, first_u32, first_u64, prefix, u32_at};
use crate::model::{Cookie, Endpoint, Netid, NetlinkInfo, SockState, SocketRecord};

const NETLINK_DIAG_MSG_LEN: usize = 28;

const NETLINK_DIAG_MEMINFO: u16 = 0;
const NETLINK_DIAG_GROUPS: u16 = 1;

/// ndiag_state of a socket that called connect().
const NETLINK_CONNECTED: u8 = 1;

/// The first 32 groups: the low bits of the first `unsigned long` of the kernel's bitmap.
fn first_groups(data: &[u8]) -> u32 {
    match first_u64(data) {
        Some(word) => word as u32,
        None => first_u32(data).unwrap_or(0),
    }
}

/// Decodes one reply payload of a netlink dump.
pub(super) fn decode(payload: &[u8]) -> Result<SocketRecord, DecodeError> {
    let msg = prefix::<NETLINK_DIAG_MSG_LEN>(payload, "netlink_diag_msg")?;
    if msg[0] != libc::AF_NETLINK as u8 {
        return Err(DecodeError::Family(msg[0]));
    }
    let protocol = msg[2];
    let connected = msg[3] == NETLINK_CONNECTED;
    let peer_portid = if connected { u32_at(msg, 8).into() } else { -1 };
    let mut record = SocketRecord::new(
        Netid::Netlink,
        SockState::Close,
        Endpoint::Netlink {
            protocol,
            portid: u32_at(msg, 4).into(),
        },
        Endpoint::Netlink {
            protocol,
            portid: peer_portid,
        },
    );
    record.inode = u32_at(msg, 16).into();
    record.cookie = Cookie(cookie_at(msg, 20));
    let mut extra = NetlinkInfo {
        groups: 0,
        connected,
        dst_group: u32_at(msg, 12),
    };

    for attribute in attributes(&payload[NETLINK_DIAG_MSG_LEN..]) {
        let (kind, data) = attribute?;
        match kind {
            NETLINK_DIAG_MEMINFO => {
                let mem = meminfo::decode(data);
                record.recv_q = mem.rmem_alloc;
                record.send_q = mem.wmem_alloc;
                record.meminfo = Some(mem);
            }
            NETLINK_DIAG_GROUPS => extra.groups = first_groups(data),
            _ => {}
        }
    }
    record.netlink = Some(extra);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::build::attr;

    fn netlink_diag_msg(protocol: u8, state: u8, portid: u32, dst: (u32, u32)) -> Vec<u8> {
        let mut buf = vec![
            libc::AF_NETLINK as u8,
            libc::SOCK_RAW as u8,
            protocol,
            state,
        ];
        for v in [portid, dst.0, dst.1, 4321, 8, 0] {
            buf.extend_from_slice(&v.to_ne_bytes());
        }
        buf
    }

    #[test]
    fn decodes_an_unconnected_socket_with_groups() {
        let mut msg = netlink_diag_msg(0, 0, 812, (0, 0));
        let mem: Vec<u8> = [4352u32, 0, 832]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        attr(&mut msg, NETLINK_DIAG_MEMINFO, &mem);
        attr(
            &mut msg,
            NETLINK_DIAG_GROUPS,
            &0x5_0000_0011u64.to_ne_bytes(),
        );

        let record = decode(&msg).unwrap();
        assert_eq!(record.netid, Netid::Netlink);
        assert_eq!(record.state, SockState::Close);
        assert_eq!(
            record.local,
            Endpoint::Netlink {
                protocol: 0,
                portid: 812
            }
        );
        assert_eq!(
            record.peer,
            Endpoint::Netlink {
                protocol: 0,
                portid: -1
            }
        );
        assert_eq!((record.recv_q, record.send_q), (4352, 832));
        assert_eq!((record.inode, record.cookie), (4321, Cookie(8)));
        assert_eq!(
            record.netlink,
            Some(NetlinkInfo {
                groups: 0x11,
                connected: false,
                dst_group: 0
            })
        );
    }

    #[test]
    fn connected_sockets_show_their_destination() {
        let record = decode(&netlink_diag_msg(16, NETLINK_CONNECTED, 5, (0, 3))).unwrap();
        assert_eq!(
            record.peer,
            Endpoint::Netlink {
                protocol: 16,
                portid: 0
            }
        );
        assert_eq!(record.netlink.unwrap().dst_group, 3);
        assert_eq!(first_groups(&7u32.to_ne_bytes()), 7);
        assert!(decode(&[16; 20]).is_err());
    }
}
