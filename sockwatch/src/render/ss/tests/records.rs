//! The records the golden tests render, from captures of ss 6.1 on sockets made in a private
//! network namespace.
//!
//! TCP: `captures/tcp.dump` is `ss -D` of sockfixture's TCP sockets; `capture.sh` beside this
//! file makes it and has ss print it with each golden's options, so regenerate the dump and
//! every TCP golden together with `unshare -n sockwatch/src/render/ss/tests/capture.sh`. The
//! records are decoded from the dump here, at test time, so nothing generated can drift from it;
//! their owners are the ones `ss -tanp` printed for that dump.
//!
//! The other families were captured live in a quiet namespace by scripts that were not kept,
//! and are written out below as ss printed them: each family's sockets once, from its most
//! detailed capture (the captures with fewer columns render the same records).

use super::*;

/// The sockets as `ss -p` showed their one owner: the fixture process (python3, pid 6241)
/// holding the i-th socket at descriptor `fds[i]`.
fn held_by_the_fixture(mut records: Vec<SocketRecord>, fds: &[u32]) -> Vec<SocketRecord> {
    assert_eq!(records.len(), fds.len(), "one descriptor a socket");
    for (record, &fd) in records.iter_mut().zip(fds) {
        record.users = vec![user("python3", 6241, fd)];
    }
    records
}

/// Where ss's own sock_diag socket came in a capture, beside the kernel's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SsSocket {
    First,
    Second,
}

/// Captures of one listing differ only in ss's own sock_diag socket (netlink protocol 4):
/// each capture was a new ss process, whose pid is that socket's port id, and the kernel
/// listed it before or after its own tcpdiag socket.
fn with_ss_socket(
    mut records: Vec<SocketRecord>,
    ss_pid: i64,
    place: SsSocket,
) -> Vec<SocketRecord> {
    let tcpdiag = |portid: Option<i64>| {
        move |record: &SocketRecord| match record.local {
            Endpoint::Netlink {
                protocol: 4,
                portid: p,
            } => portid.map_or(p != 0, |id| p == id),
            _ => false,
        }
    };
    let ss = records
        .iter()
        .position(tcpdiag(None))
        .expect("ss's own socket");
    let kernel = records
        .iter()
        .position(tcpdiag(Some(0)))
        .expect("the kernel's tcpdiag socket");
    if let Endpoint::Netlink { portid, .. } = &mut records[ss].local {
        *portid = ss_pid;
    }
    if (ss < kernel) != (place == SsSocket::First) {
        records.swap(ss, kernel);
    }
    records
}

/// TCP sockets, everything sock_diag reports with -m -i, owners as `ss -p` found them.
pub fn tcp() -> Vec<SocketRecord> {
    let mut records = Vec::new();
    crate::source::snapshot_from_dump(&include_bytes!("captures/tcp.dump")[..], |record| {
        records.push(record)
    })
    .expect("captures/tcp.dump decodes");
    let owners = owners_in_capture(include_str!("golden/tcp_tanp.txt"));
    assert_eq!(records.len(), owners.len(), "one line of ss -p a socket");
    for (record, users) in records.iter_mut().zip(owners) {
        record.users = users;
    }
    records
}

/// The `users:((...))` column of each socket line of an ss -p capture, in order.
fn owners_in_capture(capture: &str) -> Vec<Vec<SocketUser>> {
    let owners_of = |line: &str| {
        let Some((_, users)) = line.split_once("users:((") else {
            return Vec::new();
        };
        let users = &users[..users.find("))").expect("users:(( closes")];
        users
            .split("),(")
            .map(|entry| {
                // "comm",pid=N,fd=N
                let (comm, ids) = entry[1..].split_once("\",").expect("a quoted comm");
                let id = |key: &str| -> u32 {
                    let field = ids.split(',').find_map(|f| f.strip_prefix(key));
                    field.expect("pid= and fd=").parse().expect("a number")
                };
                user(comm, id("pid="), id("fd="))
            })
            .collect()
    };
    capture.lines().skip(1).map(owners_of).collect()
}

/// Parsed from `ss -uanoemi`.
pub fn q_uanoemi() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 832,
            send_q: 0,
            cookie: Cookie(0x8c241),
            inode: 1726740,
            cgroup_id: Some(1),
            shutdown: Some(0),
            meminfo: Some(mem([832, 212992, 0, 212992, 3264, 0, 0, 0, 0])),
            ..inet(Netid::Udp, SockState::Close, "0.0.0.0:53", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            cookie: Cookie(0x8c242),
            inode: 1726744,
            cgroup_id: Some(1),
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..inet(Netid::Udp, SockState::Close, "127.0.0.1%1:123", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            cookie: Cookie(0x8c243),
            inode: 1726741,
            cgroup_id: Some(1),
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..inet(
                Netid::Udp,
                SockState::Established,
                "127.0.0.1:36502",
                "127.0.0.1:53",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(false),
            cookie: Cookie(0x8c244),
            inode: 1726742,
            cgroup_id: Some(1),
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..inet(Netid::Udp, SockState::Close, ":::5353", ":::0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(true),
            cookie: Cookie(0x8c245),
            inode: 1726743,
            cgroup_id: Some(1),
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..inet(Netid::Udp, SockState::Close, "[::1]:40123", "[::]:0")
        },
    ]
}

/// Parsed from `ss -uanp`: the sockets of `ss -uanoemi`, with their owner.
pub fn q_uanp() -> Vec<SocketRecord> {
    held_by_the_fixture(q_uanoemi(), &[3, 7, 4, 5, 6])
}

/// Parsed from `ss -ltn`.
pub fn q_ltn() -> Vec<SocketRecord> {
    vec![SocketRecord {
        recv_q: 0,
        send_q: 4,
        ..inet(Netid::Tcp, SockState::Listen, "127.0.0.1:22", "0.0.0.0:0")
    }]
}

/// Parsed from `ss -a`: the sockets of `ss -an`, ss's own socket aside.
pub fn q_all_a() -> Vec<SocketRecord> {
    with_ss_socket(q_all_an(), 6733, SsSocket::First)
}

/// Parsed from `ss -an`.
pub fn q_all_an() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(0, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(0, 0)
        },
        SocketRecord {
            recv_q: 832,
            send_q: 0,
            ..netlink(4, 0)
        },
        SocketRecord {
            recv_q: 4352,
            send_q: 0,
            ..netlink(4, 6732)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(6, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(9, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(10, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(12, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(16, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..packet(Netid::PacketRaw, 3, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..packet(Netid::PacketDgram, 2048, 1)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..packet(Netid::PacketRaw, 34997, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726752,
            ..unix(Netid::UnixStream, SockState::Established, None, 1726752, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726755,
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726755,
                1726754,
            )
        },
        SocketRecord {
            recv_q: 3,
            send_q: 0,
            inode: 1726751,
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                Some(UnixName::Path("/tmp/rx/sock/stream.sock".into())),
                1726751,
                1726750,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 768,
            inode: 1726750,
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726750,
                1726751,
            )
        },
        SocketRecord {
            recv_q: 1,
            send_q: 5,
            inode: 1726749,
            ..unix(
                Netid::UnixStream,
                SockState::Listen,
                Some(UnixName::Path("/tmp/rx/sock/stream.sock".into())),
                1726749,
                0,
            )
        },
        SocketRecord {
            recv_q: 2,
            send_q: 0,
            inode: 1726756,
            ..unix(
                Netid::UnixDgram,
                SockState::Established,
                Some(UnixName::Path("/tmp/rx/sock/dgram.sock".into())),
                1726756,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1726759,
            ..unix(
                Netid::UnixSeqpacket,
                SockState::Listen,
                Some(UnixName::Path("/tmp/rx/sock/seq.sock".into())),
                1726759,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726754,
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726754,
                1726755,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 768,
            inode: 1726758,
            ..unix(
                Netid::UnixDgram,
                SockState::Established,
                None,
                1726758,
                1726756,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726757,
            ..unix(
                Netid::UnixDgram,
                SockState::Close,
                Some(UnixName::Abstract("ab@cd".replace('@', "\0").into())),
                1726757,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1726753,
            ..unix(
                Netid::UnixStream,
                SockState::Listen,
                Some(UnixName::Abstract(
                    "golden-abstract".replace('@', "\0").into(),
                )),
                1726753,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(Netid::Raw, SockState::Close, "0.0.0.0:253", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(Netid::Raw, SockState::Close, "0.0.0.0:1", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(false),
            ..inet(Netid::Raw, SockState::Close, ":::58", ":::0")
        },
        SocketRecord {
            recv_q: 832,
            send_q: 0,
            ..inet(Netid::Udp, SockState::Close, "0.0.0.0:53", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(Netid::Udp, SockState::Close, "127.0.0.1%1:123", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(
                Netid::Udp,
                SockState::Established,
                "127.0.0.1:36502",
                "127.0.0.1:53",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(false),
            ..inet(Netid::Udp, SockState::Close, ":::5353", ":::0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(true),
            ..inet(Netid::Udp, SockState::Close, "[::1]:40123", "[::]:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 4,
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.1:22", "0.0.0.0:0")
        },
    ]
}

/// Parsed from `ss -an` on a 90-column terminal: the sockets of `ss -an`, ss's own socket
/// aside.
pub fn q_all_an_tty90() -> Vec<SocketRecord> {
    with_ss_socket(q_all_an(), 6735, SsSocket::Second)
}

/// Parsed from `ss -xanoemip`.
pub fn q_xanoemip() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726752,
            users: vec![user("python3", 6241, 16)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..unix(Netid::UnixStream, SockState::Established, None, 1726752, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726755,
            users: vec![user("python3", 6241, 19)],
            shutdown: Some(1),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726755,
                1726754,
            )
        },
        SocketRecord {
            recv_q: 3,
            send_q: 0,
            inode: 1726751,
            users: vec![user("python3", 6241, 15)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            unix_vfs: Some(UnixVfs {
                ino: 10010833,
                dev: 266338304,
            }),
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                Some(UnixName::Path("/tmp/rx/sock/stream.sock".into())),
                1726751,
                1726750,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 768,
            inode: 1726750,
            users: vec![user("python3", 6241, 14)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 768, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726750,
                1726751,
            )
        },
        SocketRecord {
            recv_q: 1,
            send_q: 5,
            inode: 1726749,
            users: vec![user("python3", 6241, 13)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            unix_vfs: Some(UnixVfs {
                ino: 10010833,
                dev: 266338304,
            }),
            unix_pending: vec![1726752],
            ..unix(
                Netid::UnixStream,
                SockState::Listen,
                Some(UnixName::Path("/tmp/rx/sock/stream.sock".into())),
                1726749,
                0,
            )
        },
        SocketRecord {
            recv_q: 2,
            send_q: 0,
            inode: 1726756,
            users: vec![user("python3", 6241, 20)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            unix_vfs: Some(UnixVfs {
                ino: 10010849,
                dev: 266338304,
            }),
            ..unix(
                Netid::UnixDgram,
                SockState::Established,
                Some(UnixName::Path("/tmp/rx/sock/dgram.sock".into())),
                1726756,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1726759,
            users: vec![user("python3", 6241, 23)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            unix_vfs: Some(UnixVfs {
                ino: 10010866,
                dev: 266338304,
            }),
            ..unix(
                Netid::UnixSeqpacket,
                SockState::Listen,
                Some(UnixName::Path("/tmp/rx/sock/seq.sock".into())),
                1726759,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726754,
            users: vec![user("python3", 6241, 18)],
            shutdown: Some(2),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                1726754,
                1726755,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 768,
            inode: 1726758,
            users: vec![user("python3", 6241, 22)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 768, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixDgram,
                SockState::Established,
                None,
                1726758,
                1726756,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1726757,
            users: vec![user("python3", 6241, 21)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixDgram,
                SockState::Close,
                Some(UnixName::Abstract("ab@cd".replace('@', "\0").into())),
                1726757,
                0,
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1726753,
            users: vec![user("python3", 6241, 17)],
            shutdown: Some(0),
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            ..unix(
                Netid::UnixStream,
                SockState::Listen,
                Some(UnixName::Abstract(
                    "golden-abstract".replace('@', "\0").into(),
                )),
                1726753,
                0,
            )
        },
    ]
}

/// Parsed from `ss -wa`.
pub fn q_wa() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(Netid::Raw, SockState::Close, "0.0.0.0:253", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..inet(Netid::Raw, SockState::Close, "0.0.0.0:1", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            v6only: Some(false),
            ..inet(Netid::Raw, SockState::Close, ":::58", ":::0")
        },
    ]
}

/// Parsed from `ss -0anemO`.
pub fn q_0anem_oneline() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            cookie: Cookie(0x8c251),
            inode: 1726760,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            packet: Some(PacketInfo {
                version: 0,
                copy_thresh: 0,
                flags: 1,
                ..PacketInfo::default()
            }),
            ..packet(Netid::PacketRaw, 3, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            cookie: Cookie(0x8c252),
            inode: 1726761,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            packet: Some(PacketInfo {
                version: 0,
                copy_thresh: 0,
                flags: 1,
                ..PacketInfo::default()
            }),
            ..packet(Netid::PacketDgram, 2048, 1)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            cookie: Cookie(0x8c253),
            inode: 1726762,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            packet: Some(PacketInfo {
                version: 0,
                copy_thresh: 0,
                flags: 1,
                ..PacketInfo::default()
            }),
            ..packet(Netid::PacketRaw, 34997, 0)
        },
    ]
}

/// Parsed from `ss -0anp`: the sockets of `ss -0anemO`, with their owner.
pub fn q_0anp() -> Vec<SocketRecord> {
    held_by_the_fixture(q_0anem_oneline(), &[24, 25, 26])
}

/// Parsed from `ss -f netlink -a`: the sockets of `ss -f netlink -an`, ss's own socket aside.
pub fn q_nl_a() -> Vec<SocketRecord> {
    with_ss_socket(q_nl_an(), 6728, SsSocket::Second)
}

/// Parsed from `ss -f netlink -an`.
pub fn q_nl_an() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(0, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(0, 0)
        },
        SocketRecord {
            recv_q: 4352,
            send_q: 0,
            ..netlink(4, 6729)
        },
        SocketRecord {
            recv_q: 832,
            send_q: 0,
            ..netlink(4, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(6, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(9, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(10, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(12, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            ..netlink(16, 0)
        },
    ]
}

/// Parsed from `ss -f netlink -anem`.
pub fn q_nl_anem() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(0, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(0, 0)
        },
        SocketRecord {
            recv_q: 4352,
            send_q: 0,
            meminfo: Some(mem([4352, 2097152, 0, 65536, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(4, 6731)
        },
        SocketRecord {
            recv_q: 832,
            send_q: 0,
            meminfo: Some(mem([832, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(4, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(6, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(9, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(10, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(12, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000001,
                ..NetlinkInfo::default()
            }),
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(15, 0)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000001,
                ..NetlinkInfo::default()
            }),
            ..netlink(15, 6241)
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            meminfo: Some(mem([0, 212992, 0, 212992, 0, 0, 0, 0, 0])),
            netlink: Some(NetlinkInfo {
                groups: 0x00000000,
                ..NetlinkInfo::default()
            }),
            ..netlink(16, 0)
        },
    ]
}

pub const SERVICES: &str = "ssh\t\t22/tcp\ndomain\t\t53/tcp\ndomain\t\t53/udp\nhttp\t\t80/tcp\t\twww\nntp\t\t123/udp\nhttps\t\t443/tcp\nhttps\t\t443/udp\nnfs\t\t2049/tcp\nnfs\t\t2049/udp\nmysql\t\t3306/tcp\nmdns\t\t5353/udp\npostgresql\t5432/tcp\tpostgres\nbbs\t\t7000/tcp\nafs3-fileserver 7000/udp\nhttp-alt\t8080/tcp\twebcache\n";

pub const CGROUPS: &[u64] = &[1];

pub const PROCESSES: &[(u32, &str)] = &[(6241, "python3"), (6728, "ss"), (6733, "ss")];
