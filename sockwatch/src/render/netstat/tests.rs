//! The socket tables against captures of net-tools 2.10's netstat: the records of one
//! captured session, rendered with each set of options, compared with what netstat printed
//! (the golden files in tests/, named after the options: `all-numeric.txt` is `netstat -an`).

use std::net::{IpAddr, Ipv4Addr};

use super::{write_netstat, InetProto, Listing, Names, NetstatOptions};
use crate::model::{
    Endpoint, Netid, SockState, SocketRecord, SocketUser, Timer, TimerKind, UnixName,
};

/// Names as the captured machine had them: /etc/hosts maps 127.0.0.1 to localhost only.
struct FixedNames;

impl Names for FixedNames {
    fn host(&self, addr: IpAddr) -> Option<String> {
        (addr == IpAddr::V4(Ipv4Addr::LOCALHOST)).then(|| "localhost".to_string())
    }

    fn network(&self, _addr: Ipv4Addr) -> Option<String> {
        None
    }

    fn service(&self, port: u16, proto: InetProto) -> Option<String> {
        let name = match (port, proto) {
            (22, InetProto::Tcp) => "ssh",
            (80, InetProto::Tcp) => "http",
            (53, InetProto::Udp) => "domain",
            (5353, InetProto::Udp) => "mdns",
            (1, InetProto::Raw) => "icmp",
            (58, InetProto::Raw) => "ipv6-icmp",
            _ => return None,
        };
        Some(name.to_string())
    }

    fn user(&self, uid: u32) -> Option<String> {
        (uid == 0).then(|| "root".to_string())
    }

    fn program(&self, pid: u32) -> Option<String> {
        (pid == 4369).then(|| "python3".to_string())
    }
}

fn inet(addr: &str, port: u16) -> Endpoint {
    Endpoint::Inet {
        addr: addr.parse().expect("test address"),
        port,
        scope: 0,
    }
}

fn unix(name: Option<UnixName>, inode: u64) -> Endpoint {
    Endpoint::Unix { name, inode }
}

fn socket(
    netid: Netid,
    state: SockState,
    local: Endpoint,
    peer: Endpoint,
    inode: u64,
    fd: Option<u32>,
) -> SocketRecord {
    let mut record = SocketRecord::new(netid, state, local, peer);
    record.inode = inode;
    record.users = fd
        .map(|fd| SocketUser {
            comm: b"python3".to_vec(),
            pid: 4369,
            fd,
        })
        .into_iter()
        .collect();
    if netid.is_unix() {
        record.shutdown = Some(0);
    }
    record
}

/// The sockets of the captured session, as sock_diag reports them (ss -tuwxaneiomp),
/// in an order netstat does not use, to check the grouping.
fn captured_records() -> Vec<SocketRecord> {
    use Netid::{Raw, Tcp, Udp, UnixDgram, UnixStream};
    use SockState::{Close, Established, Listen, TimeWait};
    let path = || Some(UnixName::Path("/tmp/procs-bench/sock".into()));
    let mut records = vec![
        socket(
            UnixStream,
            Established,
            unix(None, 1033377),
            unix(None, 1033378),
            1033377,
            Some(18),
        ),
        socket(
            UnixStream,
            Listen,
            unix(path(), 1033376),
            unix(None, 0),
            1033376,
            Some(17),
        ),
        socket(
            UnixStream,
            Established,
            unix(path(), 1033378),
            unix(None, 1033377),
            1033378,
            Some(19),
        ),
        socket(
            UnixDgram,
            Close,
            unix(Some(UnixName::Abstract("abstract name".into())), 1033379),
            unix(None, 0),
            1033379,
            Some(20),
        ),
        socket(
            Raw,
            Close,
            inet("0.0.0.0", 1),
            inet("0.0.0.0", 0),
            1033374,
            Some(15),
        ),
        socket(Raw, Close, inet("::", 58), inet("::", 0), 1033375, Some(16)),
        socket(
            Tcp,
            Listen,
            inet("2001:db8:1234:5678:9abc:def0:1234:5678", 40000),
            inet("::", 0),
            1033371,
            Some(12),
        ),
        socket(Tcp, Listen, inet("::", 80), inet("::", 0), 1033366, Some(6)),
        socket(
            Udp,
            Close,
            inet("0.0.0.0", 53),
            inet("0.0.0.0", 0),
            1033372,
            Some(13),
        ),
        socket(
            Udp,
            Established,
            inet("::1", 5353),
            inet("::1", 53),
            1033373,
            Some(14),
        ),
        socket(
            Tcp,
            Listen,
            inet("127.0.0.1", 22),
            inet("0.0.0.0", 0),
            1033359,
            Some(3),
        ),
        socket(
            Tcp,
            Established,
            inet("127.0.0.1", 22),
            inet("127.0.0.1", 36448),
            1033361,
            Some(5),
        ),
        socket(
            Tcp,
            Established,
            inet("127.0.0.1", 36448),
            inet("127.0.0.1", 22),
            1033360,
            Some(4),
        ),
        socket(
            Tcp,
            TimeWait,
            inet("127.0.0.1", 36450),
            inet("127.0.0.1", 22),
            0,
            None,
        ),
        socket(
            Tcp,
            Established,
            inet("127.0.0.1", 33264),
            inet("127.0.0.1", 80),
            1033369,
            Some(9),
        ),
        socket(
            Tcp,
            Established,
            inet("::1", 36512),
            inet("::1", 80),
            1033367,
            Some(7),
        ),
        socket(
            Tcp,
            Established,
            inet("::1", 80),
            inet("::1", 36512),
            1033368,
            Some(8),
        ),
        socket(
            Tcp,
            Established,
            inet("::ffff:127.0.0.1", 80),
            inet("::ffff:127.0.0.1", 33264),
            1033370,
            Some(11),
        ),
    ];
    for record in &mut records {
        if record.netid == Tcp && record.state == Listen {
            // sock_diag's Send-Q of a listener is its backlog.
            record.send_q = 128;
        }
        match record.inode {
            1033360 => {
                record.timer = Some(Timer {
                    kind: TimerKind::Keepalive,
                    expires_ms: 7_199_695,
                    retrans: 0,
                })
            }
            0 => {
                record.timer = Some(Timer {
                    kind: TimerKind::Timewait,
                    expires_ms: 59_798,
                    retrans: 0,
                })
            }
            _ => {}
        }
    }
    records
}

fn all() -> NetstatOptions {
    NetstatOptions {
        listing: Listing::All,
        inet: true,
        unix: true,
        ..NetstatOptions::default()
    }
}

fn numeric(options: NetstatOptions) -> NetstatOptions {
    NetstatOptions {
        numeric_hosts: true,
        numeric_ports: true,
        numeric_users: true,
        ..options
    }
}

fn render(records: &[SocketRecord], options: &NetstatOptions) -> String {
    let mut out = Vec::new();
    write_netstat(&mut out, records, options, &FixedNames).expect("write to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

/// Compares with a capture of net-tools 2.10's netstat on the machine the records
/// describe (the files in tests/, named after the options: `all-numeric` is `netstat -an`).
fn assert_golden(options: NetstatOptions, golden: &str) {
    let expected = golden;
    let actual = render(&captured_records(), &options);
    for (line, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
        assert_eq!(got, want, "line {}", line + 1);
    }
    assert_eq!(actual, expected);
}

#[test]
fn golden_all() {
    assert_golden(all(), include_str!("tests/all.txt"));
}

#[test]
fn golden_all_numeric() {
    assert_golden(numeric(all()), include_str!("tests/all-numeric.txt"));
}

#[test]
fn golden_only_servers() {
    let options = NetstatOptions {
        listing: Listing::OnlyServers,
        ..all()
    };
    assert_golden(options, include_str!("tests/only-servers.txt"));
}

#[test]
fn golden_without_servers() {
    let options = NetstatOptions {
        listing: Listing::WithoutServers,
        ..all()
    };
    assert_golden(options, include_str!("tests/without-servers.txt"));
}

#[test]
fn golden_everything_numeric() {
    let options = NetstatOptions {
        extend: true,
        timers: true,
        programs: true,
        ..numeric(all())
    };
    assert_golden(
        options,
        include_str!("tests/all-numeric-extend-timers-programs.txt"),
    );
}

#[test]
fn golden_wide() {
    let options = NetstatOptions {
        wide: true,
        ..numeric(all())
    };
    assert_golden(options, include_str!("tests/all-numeric-wide.txt"));
}

#[test]
fn golden_extend_with_user_names() {
    let options = NetstatOptions {
        extend: true,
        ..all()
    };
    assert_golden(options, include_str!("tests/all-extend.txt"));
}

#[test]
fn golden_programs() {
    let options = NetstatOptions {
        programs: true,
        numeric_users: true,
        ..all()
    };
    assert_golden(
        options,
        include_str!("tests/all-programs-numeric-users.txt"),
    );
}

#[test]
fn golden_timers() {
    let options = NetstatOptions {
        timers: true,
        ..all()
    };
    assert_golden(options, include_str!("tests/all-timers.txt"));
}

#[test]
fn only_the_chosen_tables() {
    let options = NetstatOptions {
        unix: false,
        ..numeric(all())
    };
    let text = render(&captured_records(), &options);
    assert!(text.starts_with("Active Internet connections"));
    assert!(!text.contains("UNIX"));
    let options = NetstatOptions {
        inet: false,
        ..numeric(all())
    };
    let text = render(&captured_records(), &options);
    assert!(text.starts_with("Active UNIX domain sockets"));
}

#[test]
fn unix_reference_counts_and_paths() {
    use Netid::{UnixDgram, UnixStream};
    use SockState::{Established, Listen};
    // A dgram server two clients sent connect() to, and a client whose connection
    // waits in its server's accept queue.
    let mut records = vec![
        socket(
            UnixDgram,
            Established,
            unix(Some(UnixName::Path("/run/log".into())), 1),
            unix(None, 0),
            1,
            None,
        ),
        socket(
            UnixDgram,
            Established,
            unix(None, 2),
            unix(None, 1),
            2,
            None,
        ),
        socket(
            UnixDgram,
            Established,
            unix(None, 3),
            unix(None, 1),
            3,
            None,
        ),
        socket(
            UnixStream,
            Established,
            unix(None, 4),
            unix(None, 0),
            4,
            None,
        ),
        socket(
            UnixStream,
            Established,
            unix(None, 5),
            unix(None, 0),
            5,
            None,
        ),
        socket(
            UnixStream,
            Listen,
            unix(Some(UnixName::Abstract("a\0b c".into())), 6),
            unix(None, 0),
            6,
            None,
        ),
    ];
    // Socket 5's peer has closed.
    records[4].shutdown = Some(3);
    let options = NetstatOptions {
        inet: false,
        ..numeric(all())
    };
    let text = render(&records, &options);
    let rows: Vec<&str> = text.lines().skip(2).collect();
    assert_eq!(
        rows[0],
        "unix  4      [ ]         DGRAM      CONNECTED     1        /run/log"
    );
    assert_eq!(
        rows[1],
        "unix  2      [ ]         DGRAM      CONNECTED     2        "
    );
    assert_eq!(
        rows[3],
        "unix  3      [ ]         STREAM     CONNECTED     4        "
    );
    assert_eq!(
        rows[4],
        "unix  2      [ ]         STREAM     CONNECTED     5        "
    );
    assert_eq!(
        rows[5],
        "unix  2      [ ACC ]     STREAM     LISTENING     6        @a@b"
    );
}
