//! Decoding unix sock_diag replies: `struct unix_diag_msg` and its attributes
//! (linux/unix_diag.h) into a [`SocketRecord`].
//!
//! Endpoints follow ss: the local end is the socket's name (None when unbound) with its own
//! inode as the "port"; the peer end has no name and the peer socket's inode (0: none).

use super::error::DecodeError;
use super::meminfo;
use super::wire::{attributes, cookie_at, first_u32, first_u8, prefix, u32_at};
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord, UnixName, UnixVfs};

const UNIX_DIAG_MSG_LEN: usize = 16;

const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_VFS: u16 = 1;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_MEMINFO: u16 = 5;
const UNIX_DIAG_SHUTDOWN: u16 = 6;
const UNIX_DIAG_UID: u16 = 7;

fn netid(socket_type: u8) -> Option<Netid> {
    match i32::from(socket_type) {
        libc::SOCK_STREAM => Some(Netid::UnixStream),
        libc::SOCK_DGRAM => Some(Netid::UnixDgram),
        libc::SOCK_SEQPACKET => Some(Netid::UnixSeqpacket),
        _ => None,
    }
}

/// A sun_path as the kernel reports it: a leading NUL marks an abstract name (kept whole
/// after that NUL, inner NULs included); a path ends at its first NUL.
fn name(raw: &[u8]) -> Option<UnixName> {
    match raw.split_first() {
        None => None,
        Some((0, rest)) => Some(UnixName::Abstract(rest.to_vec())),
        Some(_) => {
            let path = raw.split(|&b| b == 0).next().unwrap_or_default();
            Some(UnixName::Path(path.to_vec()))
        }
    }
}

/// Decodes one reply payload of a unix dump; None for socket types ss does not know.
pub(super) fn decode(payload: &[u8]) -> Result<Option<SocketRecord>, DecodeError> {
    let msg = prefix::<UNIX_DIAG_MSG_LEN>(payload, "unix_diag_msg")?;
    if msg[0] != libc::AF_UNIX as u8 {
        return Err(DecodeError::Family(msg[0]));
    }
    let Some(netid) = netid(msg[1]) else {
        return Ok(None);
    };
    let inode = u32_at(msg, 4);
    let mut local_name = None;
    let mut peer_inode = 0;
    let mut record = SocketRecord::new(
        netid,
        SockState::from_kernel(msg[2]),
        Endpoint::Unix {
            name: None,
            inode: 0,
        },
        Endpoint::Unix {
            name: None,
            inode: 0,
        },
    );
    record.inode = inode.into();
    record.cookie = Cookie(cookie_at(msg, 8));

    for attribute in attributes(&payload[UNIX_DIAG_MSG_LEN..]) {
        let (kind, data) = attribute?;
        match kind {
            UNIX_DIAG_NAME => local_name = name(data),
            UNIX_DIAG_PEER => peer_inode = first_u32(data).unwrap_or(0),
            UNIX_DIAG_RQLEN => {
                if let Ok(rqlen) = prefix::<8>(data, "unix_diag_rqlen") {
                    record.recv_q = u32_at(rqlen, 0);
                    record.send_q = u32_at(rqlen, 4);
                }
            }
            UNIX_DIAG_VFS => {
                record.unix_vfs = prefix::<8>(data, "unix_diag_vfs").ok().map(|vfs| UnixVfs {
                    ino: u32_at(vfs, 0),
                    dev: u32_at(vfs, 4),
                });
            }
            UNIX_DIAG_ICONS => {
                record.unix_pending = data
                    .chunks_exact(4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
            UNIX_DIAG_MEMINFO => record.meminfo = Some(meminfo::decode(data)),
            UNIX_DIAG_SHUTDOWN => record.shutdown = first_u8(data),
            UNIX_DIAG_UID => record.uid = first_u32(data).unwrap_or(0),
            _ => {}
        }
    }
    record.local = Endpoint::Unix {
        name: local_name,
        inode: inode.into(),
    };
    record.peer = Endpoint::Unix {
        name: None,
        inode: peer_inode.into(),
    };
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::build::attr;

    fn unix_diag_msg(socket_type: u8, state: u8, inode: u32) -> Vec<u8> {
        let mut buf = vec![libc::AF_UNIX as u8, socket_type, state, 0];
        buf.extend_from_slice(&inode.to_ne_bytes());
        buf.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        buf
    }

    fn pair(a: u32, b: u32) -> Vec<u8> {
        [a, b].iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn decodes_a_listening_path_socket() {
        let mut msg = unix_diag_msg(libc::SOCK_STREAM as u8, 10, 5000);
        attr(&mut msg, UNIX_DIAG_NAME, b"/run/x.sock");
        attr(&mut msg, UNIX_DIAG_PEER, &0u32.to_ne_bytes());
        attr(&mut msg, UNIX_DIAG_RQLEN, &pair(2, 128));
        attr(&mut msg, UNIX_DIAG_VFS, &pair(777, 0x0080_0001));
        attr(&mut msg, UNIX_DIAG_ICONS, &pair(6001, 6002));
        attr(&mut msg, UNIX_DIAG_SHUTDOWN, &[0]);
        attr(&mut msg, UNIX_DIAG_UID, &1000u32.to_ne_bytes());

        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(record.netid, Netid::UnixStream);
        assert_eq!(record.state, SockState::Listen);
        assert_eq!(
            record.local,
            Endpoint::Unix {
                name: Some(UnixName::Path("/run/x.sock".into())),
                inode: 5000
            }
        );
        assert_eq!(
            record.peer,
            Endpoint::Unix {
                name: None,
                inode: 0
            }
        );
        assert_eq!((record.recv_q, record.send_q), (2, 128));
        assert_eq!((record.inode, record.uid), (5000, 1000));
        assert_eq!(record.cookie, Cookie(1));
        assert_eq!(record.shutdown, Some(0));
        assert_eq!(
            record.unix_vfs,
            Some(UnixVfs {
                ino: 777,
                dev: 0x0080_0001
            })
        );
        assert_eq!(record.unix_pending, vec![6001, 6002]);
    }

    #[test]
    fn decodes_abstract_names_and_peers() {
        let mut msg = unix_diag_msg(libc::SOCK_DGRAM as u8, 1, 10);
        attr(&mut msg, UNIX_DIAG_NAME, b"\0abc\0d");
        attr(&mut msg, UNIX_DIAG_PEER, &11u32.to_ne_bytes());
        let record = decode(&msg).unwrap().unwrap();
        assert_eq!(record.netid, Netid::UnixDgram);
        assert_eq!(
            record.local,
            Endpoint::Unix {
                name: Some(UnixName::Abstract("abc\0d".into())),
                inode: 10
            }
        );
        assert_eq!(
            record.peer,
            Endpoint::Unix {
                name: None,
                inode: 11
            }
        );
        assert_eq!((record.unix_vfs, record.unix_pending.len()), (None, 0));
    }

    #[test]
    fn paths_end_at_their_first_nul() {
        assert_eq!(name(b"/tmp/s\0\0"), Some(UnixName::Path("/tmp/s".into())));
        assert_eq!(name(b""), None);
    }

    #[test]
    fn unknown_types_are_skipped_and_bad_messages_rejected() {
        assert_eq!(decode(&unix_diag_msg(9, 7, 1)).unwrap(), None);
        assert!(decode(&unix_diag_msg(1, 7, 1)[..10]).is_err());
        let mut foreign = unix_diag_msg(1, 7, 1);
        foreign[0] = 2;
        assert_eq!(decode(&foreign).unwrap_err(), DecodeError::Family(2));
    }
}
