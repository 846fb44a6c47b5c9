//! Decoding TIPC sock_diag replies (tipc_diag): a message with no fixed header, only
//! TIPC_NLA_SOCK, nested as linux/tipc_netlink.h lays it out, into a [`SocketRecord`].

use super::error::DecodeError;
use super::wire::{attributes, first_u32, first_u64};
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord, TipcInfo, TipcPort};

const TIPC_NLA_SOCK: u16 = 2;

const TIPC_NLA_SOCK_ADDR: u16 = 1;
const TIPC_NLA_SOCK_REF: u16 = 2;
const TIPC_NLA_SOCK_CON: u16 = 3;
const TIPC_NLA_SOCK_HAS_PUBL: u16 = 4;
const TIPC_NLA_SOCK_STAT: u16 = 5;
const TIPC_NLA_SOCK_TYPE: u16 = 6;
const TIPC_NLA_SOCK_INO: u16 = 7;
const TIPC_NLA_SOCK_UID: u16 = 8;
const TIPC_NLA_SOCK_TIPC_STATE: u16 = 9;
const TIPC_NLA_SOCK_COOKIE: u16 = 10;

const TIPC_NLA_CON_FLAG: u16 = 1;
const TIPC_NLA_CON_NODE: u16 = 2;
const TIPC_NLA_CON_SOCK: u16 = 3;
const TIPC_NLA_CON_TYPE: u16 = 4;
const TIPC_NLA_CON_INST: u16 = 5;

// This nest's numbers start at 0 (no UNSPEC), unlike the others.
const TIPC_NLA_SOCK_STAT_RCVQ: u16 = 0;
const TIPC_NLA_SOCK_STAT_SENDQ: u16 = 1;
const TIPC_NLA_SOCK_STAT_LINK_CONG: u16 = 2;
const TIPC_NLA_SOCK_STAT_CONN_CONG: u16 = 3;
const TIPC_NLA_SOCK_STAT_DROP: u16 = 4;

/// Decodes one reply payload of a TIPC dump; None for a message without TIPC_NLA_SOCK
/// (ss skips those). Missing numbers read as 0, as ss reads them.
pub(super) fn decode(payload: &[u8]) -> Result<Option<SocketRecord>, DecodeError> {
    let mut sock = None;
    for attribute in attributes(payload) {
        let (kind, data) = attribute?;
        if kind == TIPC_NLA_SOCK {
            sock = Some(data);
        }
    }
    let Some(sock) = sock else {
        return Ok(None);
    };
    let u32_of = |data: &[u8]| first_u32(data).unwrap_or(0);
    let mut local = TipcPort { node: 0, port: 0 };
    let mut peer = None;
    let mut state = 0;
    let mut info = TipcInfo::default();
    let mut record = SocketRecord::new(
        Netid::Tipc,
        SockState::Unknown,
        Endpoint::Tipc(None),
        Endpoint::Tipc(None),
    );
    for attribute in attributes(sock) {
        let (kind, data) = attribute?;
        match kind {
            TIPC_NLA_SOCK_ADDR => local.node = u32_of(data),
            TIPC_NLA_SOCK_REF => local.port = u32_of(data),
            TIPC_NLA_SOCK_CON => {
                let mut connection = TipcPort { node: 0, port: 0 };
                let (mut flag, mut service) = (false, (0, 0));
                for attribute in attributes(data) {
                    let (kind, data) = attribute?;
                    match kind {
                        TIPC_NLA_CON_FLAG => flag = true,
                        TIPC_NLA_CON_NODE => connection.node = u32_of(data),
                        TIPC_NLA_CON_SOCK => connection.port = u32_of(data),
                        TIPC_NLA_CON_TYPE => service.0 = u32_of(data),
                        TIPC_NLA_CON_INST => service.1 = u32_of(data),
                        _ => {}
                    }
                }
                peer = Some(connection);
                info.via = flag.then_some(service);
            }
            TIPC_NLA_SOCK_HAS_PUBL => info.published = true,
            TIPC_NLA_SOCK_STAT => {
                for attribute in attributes(data) {
                    let (kind, data) = attribute?;
                    match kind {
                        TIPC_NLA_SOCK_STAT_RCVQ => record.recv_q = u32_of(data),
                        TIPC_NLA_SOCK_STAT_SENDQ => record.send_q = u32_of(data),
                        TIPC_NLA_SOCK_STAT_LINK_CONG => info.link_congested = true,
                        TIPC_NLA_SOCK_STAT_CONN_CONG => info.conn_congested = true,
                        TIPC_NLA_SOCK_STAT_DROP => info.drops = u32_of(data),
                        _ => {}
                    }
                }
            }
            TIPC_NLA_SOCK_TYPE => info.sock_type = u32_of(data),
            TIPC_NLA_SOCK_INO => record.inode = u32_of(data).into(),
            TIPC_NLA_SOCK_UID => record.uid = u32_of(data),
            // The socket's sk_state: TIPC numbers its states as TCP's.
            TIPC_NLA_SOCK_TIPC_STATE => state = u32_of(data),
            TIPC_NLA_SOCK_COOKIE => record.cookie = Cookie(first_u64(data).unwrap_or(0)),
            _ => {}
        }
    }
    record.state = SockState::from_kernel(u8::try_from(state).unwrap_or(0));
    record.local = Endpoint::Tipc(Some(local));
    record.peer = Endpoint::Tipc(peer);
    record.tipc = Some(info);
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::captured::payloads;

    /// Debian 12's 6.12 answering ss's request, with familysocks's TIPC sockets: an RDM
    /// socket bound to {18888,17}, a stream listener bound to {18889,1} and a connection
    /// made to that service name; and the kernel's own topology service, a seqpacket
    /// listener (testdata/capture.sh).
    fn captured() -> Vec<SocketRecord> {
        payloads(include_str!("testdata/tipc.hex"))
            .iter()
            .map(|payload| decode(payload).unwrap().expect("TIPC_NLA_SOCK"))
            .collect()
    }

    fn info(record: &SocketRecord) -> TipcInfo {
        record.tipc.expect("TIPC info")
    }

    #[test]
    fn a_bound_rdm_socket_a_listener_and_a_connection_by_name() {
        let records = captured();
        assert_eq!(records.len(), 5);
        for record in &records {
            assert_eq!(record.netid, Netid::Tipc);
            assert!(matches!(record.local, Endpoint::Tipc(Some(_))));
            assert_ne!((record.inode, record.cookie), (0, Cookie(0)));
            let info = info(record);
            assert!(!info.link_congested && !info.conn_congested);
            assert_eq!(info.drops, 0);
        }
        let of_type = |sock_type: i32, state| {
            records
                .iter()
                .filter(move |r| info(r).sock_type == sock_type as u32 && r.state == state)
        };
        let rdm: Vec<_> = of_type(libc::SOCK_RDM, SockState::Close).collect();
        assert_eq!(rdm.len(), 1);
        assert!(info(rdm[0]).published && rdm[0].peer == Endpoint::Tipc(None));
        let listener: Vec<_> = of_type(libc::SOCK_STREAM, SockState::Listen).collect();
        assert_eq!(listener.len(), 1);
        assert!(info(listener[0]).published && listener[0].peer == Endpoint::Tipc(None));
        assert_eq!(of_type(libc::SOCK_SEQPACKET, SockState::Listen).count(), 1);
        let ends: Vec<_> = of_type(libc::SOCK_STREAM, SockState::Established).collect();
        assert_eq!(ends.len(), 2);
        // Each end's peer is the other end; both name the service the connection was made to.
        assert_eq!(ends[0].peer, ends[1].local);
        assert_eq!(ends[1].peer, ends[0].local);
        let via: Vec<_> = ends.iter().filter_map(|end| info(end).via).collect();
        assert_eq!(via, [(18889, 1), (18889, 1)]);
    }

    #[test]
    fn a_message_without_a_socket_is_skipped_and_a_bad_length_is_an_error() {
        assert_eq!(decode(&[]), Ok(None));
        let payload = payloads(include_str!("testdata/tipc.hex")).remove(0);
        let mut broken = payload.clone();
        // The outer attribute claims more than the message holds.
        broken[0] = 0xff;
        assert!(matches!(
            decode(&broken),
            Err(DecodeError::AttributeLength { .. })
        ));
    }
}
