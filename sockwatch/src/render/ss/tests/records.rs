//! Generated from captures of ss 6.1 on sockets made in a private network namespace:
//! TCP records decoded from a sock_diag dump (`ss -D`), the others parsed from ss output.
//! Each family's sockets are written out once, from its most detailed capture; the captures
//! with fewer columns render the same records (ss prints only what its options ask for).
//! Neither the dump nor the scripts that made and parsed the captures were kept, so this
//! file cannot be regenerated yet: edit it by hand, with the golden file it feeds
//! (issue #16 asks for checked-in dumps and a committed generator).

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

/// TCP sockets, everything sock_diag reports with -m -i, owners as -p found them.
pub fn tcp() -> Vec<SocketRecord> {
    vec![
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1514917,
            uid: 0,
            cookie: Cookie(0x82343),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 4096, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 1,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![user("python3", 2958, 24), user("python3", 2743, 24)],
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.1:9000", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 3,
            inode: 1514906,
            uid: 1000,
            cookie: Cookie(0x82344),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 3,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![user("python3", 2836, 14)],
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.3:8443", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514897,
            uid: 0,
            cookie: Cookie(0x82345),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 3),
                user("python3", 2836, 3),
                user("python3", 2743, 3),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "0.0.0.0:8080", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514903,
            uid: 0,
            cookie: Cookie(0x82346),
            shutdown: Some(0),
            mark: Some(42),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 9),
                user("python3", 2836, 9),
                user("python3", 2743, 9),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.1:2049", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514902,
            uid: 0,
            cookie: Cookie(0x82347),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 8),
                user("python3", 2836, 8),
                user("python3", 2743, 8),
            ],
            ..inet(
                Netid::Tcp,
                SockState::Listen,
                "127.0.0.1:40000",
                "0.0.0.0:0",
            )
        },
        SocketRecord {
            recv_q: 1,
            send_q: 0,
            inode: 1514904,
            uid: 0,
            cookie: Cookie(0x82348),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 2])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    unacked: 1,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 11),
                user("python3", 2836, 11),
                user("python3", 2743, 11),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.2:7000", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 5,
            inode: 1514900,
            uid: 0,
            cookie: Cookie(0x82349),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 5,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 6),
                user("python3", 2836, 6),
                user("python3", 2743, 6),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "127.0.0.1:5432", "0.0.0.0:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514907,
            uid: 0,
            cookie: Cookie(0x8234a),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 35328,
                    rcv_mss: 536,
                    last_data_sent: 660,
                    last_data_recv: 660,
                    last_ack_recv: 660,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 22,
                    rttvar: 12,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 11,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 37427564972,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 1001,
                    segs_out: 3,
                    segs_in: 2,
                    min_rtt: 8,
                    data_segs_out: 1,
                    delivery_rate: 4416000000,
                    delivered: 2,
                    bytes_sent: 1000,
                    snd_wnd: 70656,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 4416000000,
                    min_rtt: 8,
                    pacing_gain: 739,
                    cwnd_gain: 739,
                }),
            }),
            timer: Some(Timer {
                kind: TimerKind::Keepalive,
                expires_ms: 7199340,
                retrans: 0,
            }),
            users: vec![user("python3", 2958, 14), user("python3", 2743, 14)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:44014",
                "127.0.0.1:8080",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514915,
            uid: 0,
            cookie: Cookie(0x8234b),
            shutdown: Some(2),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 5,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 660,
                    last_data_recv: 660,
                    last_ack_recv: 656,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 127,
                    rttvar: 252,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 11,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 467844590039,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 2,
                    segs_out: 3,
                    segs_in: 2,
                    min_rtt: 2,
                    delivery_rate: 32507936,
                    busy_time: 4000,
                    delivered: 2,
                    snd_wnd: 65536,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 32507812,
                    min_rtt: 2,
                    pacing_gain: 739,
                    cwnd_gain: 739,
                }),
            }),
            users: vec![user("python3", 2958, 22), user("python3", 2743, 22)],
            ..inet(
                Netid::Tcp,
                SockState::FinWait2,
                "127.0.0.1:44028",
                "127.0.0.1:8080",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 0,
            uid: 0,
            cookie: Cookie(0x8234c),
            mark: Some(0),
            timer: Some(Timer {
                kind: TimerKind::Timewait,
                expires_ms: 59496,
                retrans: 0,
            }),
            ..inet(
                Netid::Tcp,
                SockState::TimeWait,
                "127.0.0.1:44042",
                "127.0.0.1:8080",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514914,
            uid: 0,
            cookie: Cookie(0x8234d),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 660,
                    last_data_recv: 660,
                    last_ack_recv: 660,
                    pmtu: 65535,
                    rcv_ssthresh: 65483,
                    rtt: 3,
                    rttvar: 1,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65483,
                    pacing_rate: 312153598139,
                    max_pacing_rate: 18446744073709551615,
                    segs_in: 2,
                    min_rtt: 3,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 65483,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 3,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            users: vec![user("python3", 2958, 21), user("python3", 2743, 21)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:5432",
                "127.0.0.1:43580",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 0,
            uid: 0,
            cookie: Cookie(0x8234e),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 508,
                    last_data_recv: 508,
                    last_ack_recv: 508,
                    pmtu: 65535,
                    rcv_ssthresh: 65483,
                    rtt: 8,
                    rttvar: 4,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65483,
                    pacing_rate: 117057600000,
                    max_pacing_rate: 18446744073709551615,
                    segs_in: 2,
                    min_rtt: 8,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 65483,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 8,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.2:7000",
                "127.0.0.1:53296",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 2174976,
            inode: 1514918,
            uid: 0,
            cookie: Cookie(0x8234f),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 4194304, 2368, 3937984, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    backoff: 1,
                    options: 7,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 208000,
                    snd_mss: 1024,
                    rcv_mss: 536,
                    last_data_sent: 564,
                    last_data_recv: 664,
                    last_ack_recv: 308,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 5087,
                    rttvar: 10169,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 12,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 14632200000,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 2049,
                    segs_out: 5,
                    segs_in: 4,
                    notsent_bytes: 2174976,
                    min_rtt: 2,
                    data_segs_out: 2,
                    delivery_rate: 29257142,
                    busy_time: 564000,
                    rwnd_limited: 564000,
                    delivered: 3,
                    bytes_sent: 2048,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 29257141,
                    min_rtt: 2,
                    pacing_gain: 739,
                    cwnd_gain: 739,
                }),
            }),
            timer: Some(Timer {
                kind: TimerKind::Persist,
                expires_ms: 108,
                retrans: 0,
            }),
            users: vec![user("python3", 2958, 25), user("python3", 2743, 25)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:40960",
                "127.0.0.1:9000",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514911,
            uid: 0,
            cookie: Cookie(0x82350),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32741,
                    rcv_mss: 536,
                    last_data_sent: 664,
                    last_data_recv: 664,
                    last_ack_recv: 664,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 3,
                    rttvar: 1,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 311896391500,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 1,
                    segs_out: 2,
                    segs_in: 1,
                    min_rtt: 3,
                    delivered: 1,
                    snd_wnd: 65483,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 3,
                    pacing_gain: 256,
                    cwnd_gain: 256,
                }),
            }),
            users: vec![user("python3", 2958, 18), user("python3", 2743, 18)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:52444",
                "127.0.0.1:22",
            )
        },
        SocketRecord {
            recv_q: 2048,
            send_q: 0,
            inode: 1514986,
            uid: 0,
            cookie: Cookie(0x82351),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([3712, 4096, 0, 3939840, 384, 0, 0, 0, 1])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    ato: 80000,
                    snd_mss: 32768,
                    rcv_mss: 1024,
                    last_data_sent: 664,
                    last_data_recv: 564,
                    last_ack_recv: 564,
                    pmtu: 65535,
                    rcv_ssthresh: 2048,
                    rtt: 3,
                    rttvar: 1,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_rtt: 100000,
                    rcv_space: 2048,
                    pacing_rate: 312153598139,
                    max_pacing_rate: 18446744073709551615,
                    bytes_received: 2048,
                    segs_out: 3,
                    segs_in: 5,
                    min_rtt: 3,
                    data_segs_in: 2,
                    delivered: 1,
                    snd_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 3,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            users: vec![user("python3", 2958, 26), user("python3", 2743, 26)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:9000",
                "127.0.0.1:40960",
            )
        },
        SocketRecord {
            recv_q: 1,
            send_q: 0,
            inode: 1514916,
            uid: 0,
            cookie: Cookie(0x82352),
            shutdown: Some(1),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([832, 131072, 0, 3939840, 3264, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 8,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    ato: 40000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 664,
                    last_data_recv: 664,
                    last_ack_recv: 664,
                    pmtu: 65535,
                    rcv_ssthresh: 65483,
                    rtt: 2,
                    rttvar: 1,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65483,
                    pacing_rate: 468230400000,
                    max_pacing_rate: 18446744073709551615,
                    bytes_received: 1,
                    segs_out: 1,
                    segs_in: 3,
                    min_rtt: 2,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![user("python3", 2958, 23), user("python3", 2743, 23)],
            ..inet(
                Netid::Tcp,
                SockState::CloseWait,
                "127.0.0.1:8080",
                "127.0.0.1:44028",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1515014,
            uid: 0,
            cookie: Cookie(0x82353),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32741,
                    rcv_mss: 536,
                    last_data_sent: 508,
                    last_data_recv: 508,
                    last_ack_recv: 508,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 8,
                    rttvar: 4,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 116961147509,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 1,
                    segs_out: 2,
                    segs_in: 1,
                    min_rtt: 8,
                    delivered: 1,
                    snd_wnd: 65483,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 8,
                    pacing_gain: 256,
                    cwnd_gain: 256,
                }),
            }),
            users: vec![user("python3", 2958, 27), user("python3", 2743, 27)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:53296",
                "127.0.0.2:7000",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1515015,
            uid: 0,
            cookie: Cookie(0x82354),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 3264, 832, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 2,
                    delivery_rate_app_limited: true,
                    rto: 1000000,
                    snd_mss: 524,
                    rcv_mss: 88,
                    unacked: 1,
                    last_data_sent: 971096,
                    last_data_recv: 971096,
                    last_ack_recv: 971096,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rttvar: 250000,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65495,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    segs_out: 1,
                    min_rtt: 4294967295,
                    rcv_wnd: 65495,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 0,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            timer: Some(Timer {
                kind: TimerKind::On,
                expires_ms: 492,
                retrans: 0,
            }),
            users: vec![user("python3", 2958, 28), user("python3", 2743, 28)],
            ..inet(
                Netid::Tcp,
                SockState::SynSent,
                "127.0.0.1:53304",
                "127.0.0.2:7000",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 1,
            inode: 1515016,
            uid: 0,
            cookie: Cookie(0x82355),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 3264, 832, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 2,
                    delivery_rate_app_limited: true,
                    rto: 1000000,
                    snd_mss: 524,
                    rcv_mss: 88,
                    unacked: 1,
                    last_data_sent: 971096,
                    last_data_recv: 971096,
                    last_ack_recv: 971096,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rttvar: 250000,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65495,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    segs_out: 1,
                    min_rtt: 4294967295,
                    rcv_wnd: 65495,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 0,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            timer: Some(Timer {
                kind: TimerKind::On,
                expires_ms: 492,
                retrans: 0,
            }),
            users: vec![user("python3", 2958, 29), user("python3", 2743, 29)],
            ..inet(
                Netid::Tcp,
                SockState::SynSent,
                "127.0.0.1:53318",
                "127.0.0.2:7000",
            )
        },
        SocketRecord {
            recv_q: 1000,
            send_q: 0,
            inode: 1514908,
            uid: 0,
            cookie: Cookie(0x82356),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([1832, 131072, 0, 3939840, 2264, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    ato: 40000,
                    snd_mss: 32768,
                    rcv_mss: 1000,
                    last_data_sent: 664,
                    last_data_recv: 664,
                    last_ack_recv: 664,
                    pmtu: 65535,
                    rcv_ssthresh: 70173,
                    rtt: 17,
                    rttvar: 8,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65483,
                    pacing_rate: 55085926128,
                    max_pacing_rate: 18446744073709551615,
                    bytes_received: 1000,
                    segs_out: 1,
                    segs_in: 3,
                    min_rtt: 17,
                    data_segs_in: 1,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 70656,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 17,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            users: vec![user("python3", 2958, 15), user("python3", 2743, 15)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "127.0.0.1:8080",
                "127.0.0.1:44014",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514898,
            uid: 0,
            cookie: Cookie(0x82357),
            shutdown: Some(0),
            v6only: Some(false),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 4),
                user("python3", 2836, 4),
                user("python3", 2743, 4),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "[::]:22", "[::]:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514899,
            uid: 0,
            cookie: Cookie(0x82358),
            shutdown: Some(0),
            v6only: Some(true),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 5),
                user("python3", 2836, 5),
                user("python3", 2743, 5),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "[::]:443", "[::]:0")
        },
        SocketRecord {
            recv_q: 0,
            send_q: 128,
            inode: 1514901,
            uid: 0,
            cookie: Cookie(0x82359),
            shutdown: Some(0),
            v6only: Some(true),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 16384, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 10,
                    sacked: 128,
                    snd_cwnd: 10,
                    reordering: 3,
                    pacing_rate: 18446744073709551615,
                    max_pacing_rate: 18446744073709551615,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: None,
            }),
            users: vec![
                user("python3", 2958, 7),
                user("python3", 2836, 7),
                user("python3", 2743, 7),
            ],
            ..inet(Netid::Tcp, SockState::Listen, "[::1]%1:3306", "[::]:0")
        },
        SocketRecord {
            recv_q: 5,
            send_q: 0,
            inode: 1514909,
            uid: 0,
            cookie: Cookie(0x8235a),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([837, 131072, 0, 3939840, 3259, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    ato: 40000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 668,
                    last_data_recv: 668,
                    last_ack_recv: 668,
                    pmtu: 65536,
                    rcv_ssthresh: 65476,
                    rtt: 11,
                    rttvar: 5,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65464,
                    reordering: 3,
                    rcv_space: 65476,
                    pacing_rate: 85039267271,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 1,
                    bytes_received: 5,
                    segs_out: 3,
                    segs_in: 2,
                    min_rtt: 11,
                    data_segs_in: 1,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 11,
                    pacing_gain: 256,
                    cwnd_gain: 256,
                }),
            }),
            users: vec![user("python3", 2958, 16), user("python3", 2743, 16)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "[::1]:51328",
                "[::1]:22",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514913,
            uid: 0,
            cookie: Cookie(0x8235b),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32741,
                    rcv_mss: 536,
                    last_data_sent: 668,
                    last_data_recv: 668,
                    last_ack_recv: 668,
                    pmtu: 65535,
                    rcv_ssthresh: 65495,
                    rtt: 3,
                    rttvar: 1,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65495,
                    pacing_rate: 311896391500,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 1,
                    segs_out: 2,
                    segs_in: 1,
                    min_rtt: 3,
                    delivered: 1,
                    snd_wnd: 65483,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 3,
                    pacing_gain: 256,
                    cwnd_gain: 256,
                }),
            }),
            users: vec![user("python3", 2958, 20), user("python3", 2743, 20)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "[::ffff:7f00:1]:43580",
                "[::ffff:7f00:1]:5432",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514910,
            uid: 0,
            cookie: Cookie(0x8235c),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 676,
                    last_data_recv: 676,
                    last_ack_recv: 676,
                    pmtu: 65536,
                    rcv_ssthresh: 65464,
                    rtt: 4,
                    rttvar: 2,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 11,
                    advmss: 65464,
                    reordering: 3,
                    rcv_space: 65464,
                    pacing_rate: 187292160000,
                    max_pacing_rate: 18446744073709551615,
                    bytes_acked: 5,
                    segs_out: 1,
                    segs_in: 3,
                    min_rtt: 3,
                    data_segs_out: 1,
                    delivery_rate: 10922666666,
                    delivered: 2,
                    bytes_sent: 5,
                    snd_wnd: 65536,
                    rcv_wnd: 65536,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 10922666015,
                    min_rtt: 3,
                    pacing_gain: 739,
                    cwnd_gain: 739,
                }),
            }),
            users: vec![user("python3", 2958, 17), user("python3", 2743, 17)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "[::1]:22",
                "[::1]:51328",
            )
        },
        SocketRecord {
            recv_q: 0,
            send_q: 0,
            inode: 1514912,
            uid: 0,
            cookie: Cookie(0x8235d),
            shutdown: Some(0),
            mark: Some(0),
            cgroup_id: Some(1),
            meminfo: Some(mem([0, 131072, 0, 3939840, 0, 0, 0, 0, 0])),
            tcp: Some(TcpExtra {
                info: Some(TcpInfo {
                    len: 280,
                    state: 1,
                    options: 7,
                    snd_wscale: 10,
                    rcv_wscale: 10,
                    delivery_rate_app_limited: true,
                    rto: 204000,
                    snd_mss: 32768,
                    rcv_mss: 536,
                    last_data_sent: 676,
                    last_data_recv: 676,
                    last_ack_recv: 676,
                    pmtu: 65535,
                    rcv_ssthresh: 65483,
                    rtt: 4,
                    rttvar: 2,
                    snd_ssthresh: 2147483647,
                    snd_cwnd: 10,
                    advmss: 65483,
                    reordering: 3,
                    rcv_space: 65483,
                    pacing_rate: 234115200000,
                    max_pacing_rate: 18446744073709551615,
                    segs_in: 2,
                    min_rtt: 4,
                    delivered: 1,
                    snd_wnd: 65536,
                    rcv_wnd: 65483,
                    ..TcpInfo::default()
                }),
                congestion: Some("bbr".to_string()),
                cc_info: Some(CongestionInfo::Bbr {
                    bw: 0,
                    min_rtt: 4,
                    pacing_gain: 0,
                    cwnd_gain: 0,
                }),
            }),
            users: vec![user("python3", 2958, 19), user("python3", 2743, 19)],
            ..inet(
                Netid::Tcp,
                SockState::Established,
                "[::ffff:7f00:1]:22",
                "[::ffff:7f00:1]:52444",
            )
        },
    ]
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
