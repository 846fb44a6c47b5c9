//! Decoding vsock sock_diag replies: `struct vsock_diag_msg` (linux/vm_sockets_diag.h)
//! into a [`SocketRecord`]. vsock_diag sends no attributes: the message is the socket.

use super::error::DecodeError;
use super::wire::{cookie_at, prefix, u32_at};
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord};

/// family, type, state, shutdown; source cid and port, destination cid and port, inode,
/// cookie.
const VSOCK_DIAG_MSG_LEN: usize = 32;
const AF_VSOCK: u8 = 40;

/// Decodes one reply payload of a vsock dump (ss lists sockets of every type: stream,
/// datagram, and the others as `???`).
pub(super) fn decode(payload: &[u8]) -> Result<SocketRecord, DecodeError> {
    let msg = prefix::<VSOCK_DIAG_MSG_LEN>(payload, "vsock_diag_msg")?;
    if msg[0] != AF_VSOCK {
        return Err(DecodeError::Family(msg[0]));
    }
    let netid = match i32::from(msg[1]) {
        libc::SOCK_STREAM => Netid::VsockStream,
        libc::SOCK_DGRAM => Netid::VsockDgram,
        _ => Netid::VsockOther,
    };
    let mut record = SocketRecord::new(
        netid,
        SockState::from_kernel(msg[2]),
        Endpoint::Vsock {
            cid: u32_at(msg, 4),
            port: u32_at(msg, 8),
        },
        Endpoint::Vsock {
            cid: u32_at(msg, 12),
            port: u32_at(msg, 16),
        },
    );
    record.shutdown = Some(msg[3]);
    record.inode = u32_at(msg, 20).into();
    record.cookie = Cookie(cookie_at(msg, 24));
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::captured::payloads;

    /// Debian 12's 6.12 answering ss's request, with familysocks's vsock listeners on port
    /// 1234 (stream) and 1235 (seqpacket) and a loopback connection to each
    /// (testdata/capture.sh).
    fn captured() -> Vec<SocketRecord> {
        payloads(include_str!("testdata/vsock.hex"))
            .iter()
            .map(|payload| decode(payload).unwrap())
            .collect()
    }

    #[test]
    fn a_listener_and_both_ends_of_a_loopback_connection() {
        const ANY: u32 = u32::MAX;
        let (records, others): (Vec<_>, Vec<_>) = captured()
            .into_iter()
            .partition(|r| r.netid == Netid::VsockStream);
        assert_eq!(records.len(), 3);
        // The seqpacket listener and its connection: ss's `???` sockets.
        assert_eq!(others.len(), 3);
        for other in &others {
            assert_eq!(other.netid, Netid::VsockOther);
            let ports = [&other.local, &other.peer].map(|end| match end {
                Endpoint::Vsock { port, .. } => *port,
                _ => panic!("not vsock: {end:?}"),
            });
            assert!(ports.contains(&1235), "{other:?}");
        }
        // The kernel lists them in its hash table's order.
        let find = |state, test: &dyn Fn(&SocketRecord) -> bool| {
            let found: Vec<_> = records
                .iter()
                .filter(|r| r.state == state && test(r))
                .collect();
            assert_eq!(found.len(), 1, "{state:?}: {records:?}");
            found[0]
        };
        let listener = find(SockState::Listen, &|_| true);
        assert_eq!(
            listener.local,
            Endpoint::Vsock {
                cid: ANY,
                port: 1234
            }
        );
        assert_eq!(
            listener.peer,
            Endpoint::Vsock {
                cid: ANY,
                port: ANY
            }
        );
        let client = find(SockState::Established, &|r| {
            r.peer == Endpoint::Vsock { cid: 1, port: 1234 }
        });
        let Endpoint::Vsock {
            port: client_port, ..
        } = client.local
        else {
            panic!("not vsock: {:?}", client.local);
        };
        let server = find(SockState::Established, &|r| {
            r.local == Endpoint::Vsock { cid: 1, port: 1234 }
        });
        assert_eq!(
            server.peer,
            Endpoint::Vsock {
                cid: 1,
                port: client_port
            }
        );
        for record in &records {
            assert_ne!(record.inode, 0);
            assert_ne!(record.cookie, Cookie(0));
            assert_eq!(record.shutdown, Some(0));
        }
    }

    #[test]
    fn short_wrong_family_and_other_types() {
        let mut payload = payloads(include_str!("testdata/vsock.hex")).remove(0);
        assert_eq!(payload[1], libc::SOCK_STREAM as u8);
        assert!(matches!(
            decode(&payload[..31]),
            Err(DecodeError::Short { need: 32, .. })
        ));
        payload[1] = libc::SOCK_SEQPACKET as u8;
        assert_eq!(decode(&payload).map(|r| r.netid), Ok(Netid::VsockOther));
        payload[0] = 2;
        assert_eq!(decode(&payload), Err(DecodeError::Family(2)));
    }
}
