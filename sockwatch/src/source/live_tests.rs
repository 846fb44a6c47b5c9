//! Tests against the running kernel, as root: a python3 process in a fresh network
//! namespace (`unshare -n`) makes sockets, and a test thread enters that namespace to list
//! them. Without root they pass through the end-to-end tests' privilege gate: skipped with a
//! `SKIPPED:` line, or failed under CI=true.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sockwatch_tests::privilege::can_run_namespace_tests;

use super::*;
use crate::model::{Endpoint, IpVersion, Netid, SockState, SocketRecord, UnixName};

/// A process holding sockets in its own network namespace until dropped.
pub(super) struct SocketHolder {
    child: Child,
}

impl SocketHolder {
    /// Runs `script` (python3) in a new network namespace with `lo` up; the script prints
    /// "ready" once its sockets exist, then waits for stdin to close. None when this test
    /// cannot run here (the reason is printed).
    pub fn start(script: &str) -> Option<SocketHolder> {
        if !can_run_namespace_tests() {
            return None;
        }
        let spawned = Command::new("unshare")
            .args([
                "-n",
                "sh",
                "-c",
                "ip link set lo up && exec python3 -c \"$0\"",
            ])
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = spawned.expect("run unshare (util-linux)");
        let mut line = String::new();
        let stdout = child.stdout.as_mut().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("socket holder output");
        assert_eq!(line.trim(), "ready", "socket holder failed to start");
        Some(SocketHolder { child })
    }

    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.child.id()))
    }

    /// Runs `f` on a thread inside the holder's namespace.
    pub fn within<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let netns = self.netns();
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    enter_netns_path(&netns).expect("enter the holder's namespace");
                    f()
                })
                .join()
                .expect("namespace thread")
        })
    }

    /// Runs a command inside the holder's namespace and returns its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Vec<u8> {
        let output = Command::new("nsenter")
            .arg(format!("--net={}", self.netns().display()))
            .arg(program)
            .args(args)
            .output()
            .expect("nsenter");
        assert!(output.status.success(), "{program} {args:?} failed");
        output.stdout
    }
}

impl Drop for SocketHolder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

const SOCKETS: &str = r#"
import socket, sys
keep = []
def tcp_listener(family, addr, backlog):
    s = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(addr); s.listen(backlog); keep.append(s); return s
tcp_listener(socket.AF_INET, ("127.0.0.1", 5555), 5)
keep.append(socket.create_connection(("127.0.0.1", 5555)))  # left in the accept queue
tcp_listener(socket.AF_INET6, ("::", 6666), 7)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 5353)); keep.append(u)
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); lst.bind("\0sockwatch-live"); lst.listen(3)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); cli.connect("\0sockwatch-live")
keep += [lst, cli]
keep += list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
keep.append(socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))
pd = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
pd.bind(("lo", 0x0800)); keep.append(pd)
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); nl.bind((0, 1)); keep.append(nl)
keep.append(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
keep.append(socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
try:
    m = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    m.bind(("127.0.0.1", 7777)); m.listen(4); keep.append(m)
except OSError:
    pass
print("ready", flush=True)
sys.stdin.read()
"#;

fn all_netids() -> Query {
    Query::new(
        [
            Netid::Tcp,
            Netid::Udp,
            Netid::Raw,
            Netid::Mptcp,
            Netid::Sctp,
            Netid::UnixStream,
            Netid::UnixDgram,
            Netid::UnixSeqpacket,
            Netid::PacketRaw,
            Netid::PacketDgram,
            Netid::Netlink,
        ],
        IpVersions::BOTH,
        StateMask::ALL,
        Extensions {
            tcp_info: true,
            tcp_counters: true,
            memory: true,
            tos: true,
            unix_details: true,
        },
    )
}

fn inet(addr: &str, port: u16) -> Endpoint {
    Endpoint::Inet {
        addr: addr.parse::<IpAddr>().unwrap(),
        port,
        scope: 0,
    }
}

fn find<'a>(records: &'a [SocketRecord], netid: Netid, local: &Endpoint) -> &'a SocketRecord {
    records
        .iter()
        .find(|r| r.netid == netid && &r.local == local)
        .unwrap_or_else(|| panic!("no {netid:?} socket at {local:?} in {records:#?}"))
}

#[test]
fn lists_every_family_in_a_private_namespace() {
    let Some(holder) = SocketHolder::start(SOCKETS) else {
        return;
    };
    let (records, coverage) = holder.within(|| {
        let mut records = Vec::new();
        let coverage = snapshot(&all_netids(), |r| records.push(r)).unwrap();
        (records, coverage)
    });
    // No SCTP module here; whatever the kernel lacks must be reported, not fail.
    assert!(coverage
        .unsupported
        .iter()
        .all(|n| matches!(n, Netid::Sctp | Netid::Mptcp)));

    let listener = find(&records, Netid::Tcp, &inet("127.0.0.1", 5555));
    assert_eq!(listener.state, SockState::Listen);
    assert_eq!((listener.recv_q, listener.send_q), (1, 5));
    assert_ne!(listener.inode, 0);
    assert!(listener.cgroup_id.is_some() && listener.mark.is_some());
    let tcp = listener.tcp.as_ref().expect("tcp_info asked for");
    assert!(tcp
        .info
        .is_some_and(|info| info.len >= 232 && info.state == 10));
    assert!(tcp.congestion.is_some());
    assert!(listener.meminfo.is_some());

    let established: Vec<_> = records
        .iter()
        .filter(|r| r.netid == Netid::Tcp && r.state == SockState::Established)
        .collect();
    assert_eq!(established.len(), 2);
    assert!(established.iter().all(|r| r.cookie.0 != 0));

    let v6 = find(&records, Netid::Tcp, &inet("::", 6666));
    assert_eq!((v6.v6only, v6.send_q), (Some(true), 7));
    assert!(v6.tclass.is_some());

    let udp = find(&records, Netid::Udp, &inet("127.0.0.1", 5353));
    assert_eq!(
        (udp.state, udp.peer.clone()),
        (SockState::Close, inet("0.0.0.0", 0))
    );

    assert_eq!(
        find(&records, Netid::Raw, &inet("0.0.0.0", 1)).state,
        SockState::Close
    );
    find(&records, Netid::Raw, &inet("::", 58));

    let unix_listener = records
        .iter()
        .find(|r| {
            matches!(&r.local, Endpoint::Unix { name: Some(UnixName::Abstract(n)), .. }
                if n == b"sockwatch-live")
                && r.state == SockState::Listen
        })
        .expect("the unix listener");
    assert_eq!((unix_listener.recv_q, unix_listener.send_q), (1, 3));
    assert_eq!(unix_listener.unix_pending.len(), 1);
    let seqpackets: Vec<_> = records
        .iter()
        .filter(|r| r.netid == Netid::UnixSeqpacket)
        .collect();
    assert_eq!(seqpackets.len(), 2);
    // A socketpair's ends name each other.
    assert_eq!(
        seqpackets[0].peer,
        Endpoint::Unix {
            name: None,
            inode: seqpackets[1].inode
        }
    );

    let packet_any = find(
        &records,
        Netid::PacketRaw,
        &Endpoint::Packet {
            protocol: 3,
            ifindex: 0,
        },
    );
    assert_eq!(packet_any.state, SockState::Close);
    find(
        &records,
        Netid::PacketDgram,
        &Endpoint::Packet {
            protocol: 0x0800,
            ifindex: 1,
        },
    );

    let route = records
        .iter()
        .find(|r| {
            r.netid == Netid::Netlink
                && r.netlink.is_some_and(|n| n.groups == 1)
                && matches!(r.local, Endpoint::Netlink { protocol: 0, portid } if portid > 0)
        })
        .expect("the bound NETLINK_ROUTE socket");
    assert_eq!(
        route.peer,
        Endpoint::Netlink {
            protocol: 0,
            portid: -1
        }
    );
}

#[test]
fn state_mask_and_netids_narrow_the_snapshot() {
    let Some(holder) = SocketHolder::start(SOCKETS) else {
        return;
    };
    let query = Query::new(
        [Netid::Tcp, Netid::UnixSeqpacket, Netid::Netlink],
        IpVersions {
            v4: true,
            v6: false,
        },
        [SockState::Listen].into_iter().collect(),
        Extensions::default(),
    );
    let records = holder.within(|| {
        let mut records = Vec::new();
        snapshot(&query, |r| records.push(r)).unwrap();
        records
    });
    // Only IPv4 TCP listeners (an MPTCP listener has a TCP one too): socketpairs are
    // ESTABLISHED, netlink sockets UNCONN.
    assert!(
        records.iter().all(|r| r.netid == Netid::Tcp
            && r.state == SockState::Listen
            && r.ip_version() == Some(IpVersion::V4)
            && r.tcp.is_none()),
        "{records:#?}"
    );
    find(&records, Netid::Tcp, &inet("127.0.0.1", 5555));
}

/// The local and peer ends of each TCP socket, as text comparable with ss -Htan.
fn endpoints(records: &[SocketRecord]) -> BTreeSet<String> {
    let show = |e: &Endpoint| match e {
        Endpoint::Inet {
            addr: IpAddr::V6(a),
            port,
            ..
        } => format!("[{a}]:{port}"),
        Endpoint::Inet { addr, port, .. } => format!("{addr}:{port}"),
        other => panic!("not inet: {other:?}"),
    };
    records
        .iter()
        .map(|r| format!("{} {}", show(&r.local), show(&r.peer)))
        .collect()
}

#[test]
fn reads_a_dump_written_by_ss_and_writes_one_ss_reads() {
    let Some(holder) = SocketHolder::start(SOCKETS) else {
        return;
    };
    // ss -D writes the TCP replies raw, an IPv4 dump then an IPv6 one; read as ss reads it,
    // the file shows the IPv4 sockets.
    let dump = std::env::temp_dir().join(format!("sockwatch-ss-dump-{}", std::process::id()));
    holder.run("ss", &["-a", "-D", dump.to_str().unwrap()]);
    let file = std::fs::read(&dump).unwrap();
    std::fs::remove_file(&dump).unwrap();
    let mut from_ss = Vec::new();
    snapshot_from_dump(&file[..], |r| from_ss.push(r)).unwrap();

    let query = Query::new(
        [Netid::Tcp],
        IpVersions::BOTH,
        StateMask::ALL,
        Extensions::default(),
    );
    let mut ours = Vec::new();
    let mut tee = Vec::new();
    holder.within(|| snapshot_tee(&query, &mut tee, |r| ours.push(r)).unwrap());
    assert!(ours.iter().any(|r| r.ip_version() == Some(IpVersion::V6)));
    let ours_v4: Vec<SocketRecord> = ours
        .iter()
        .filter(|r| r.ip_version() == Some(IpVersion::V4))
        .cloned()
        .collect();
    assert_eq!(endpoints(&from_ss), endpoints(&ours_v4));
    assert_eq!(from_ss.len(), ours_v4.len());

    // Our tee is ss's format: our reader takes its IPv4 half back ...
    let mut reread = Vec::new();
    snapshot_from_dump(&tee[..], |r| reread.push(r)).unwrap();
    assert_eq!(reread, ours_v4);
    // ... and so does ss (it too stops at the first NLMSG_DONE).
    let ours_file = dump.with_extension("ours");
    std::fs::write(&ours_file, &tee).unwrap();
    let output = Command::new("ss")
        .args(["-Htan"])
        .env("TCPDIAG_FILE", &ours_file)
        .output()
        .unwrap();
    std::fs::remove_file(&ours_file).unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(listed.lines().count(), ours_v4.len(), "{listed}");
    assert!(listed.contains("127.0.0.1:5555"));
}

/// A namespace made with `ip netns add`, deleted when dropped.
struct NamedNetns(String);

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn enters_a_named_namespace() {
    if !can_run_namespace_tests() {
        return;
    }
    let netns = NamedNetns(format!("sockwatch-test-{}", std::process::id()));
    let made = Command::new("ip").args(["netns", "add", &netns.0]).status();
    assert!(made.is_ok_and(|s| s.success()), "ip netns add failed");
    let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let (inside, records) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter_netns(&netns.0).unwrap();
                let mut records = Vec::new();
                let query = Query::new(
                    [Netid::Tcp, Netid::Udp, Netid::Raw],
                    IpVersions::BOTH,
                    StateMask::ALL,
                    Extensions::default(),
                );
                snapshot(&query, |r| records.push(r)).unwrap();
                (
                    std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
                    records,
                )
            })
            .join()
            .unwrap()
    });
    assert_ne!(inside, own);
    assert!(
        records.is_empty(),
        "a new namespace has no sockets: {records:?}"
    );
    // Only the thread moved.
    assert_eq!(std::fs::read_link("/proc/thread-self/ns/net").unwrap(), own);
}

/// Not run by default: `cargo test --release -p sockwatch --lib -- --ignored --nocapture
/// decode_speed`. Holds loopback connections in a private namespace (20,000 unless
/// SOCKWATCH_BENCH_CONNECTIONS says otherwise; each makes two TCP sockets; over IPv4, or
/// half over IPv6 with SOCKWATCH_BENCH_MIXED=1) and times listing them against ss.
#[test]
#[ignore]
fn decode_speed() {
    // Processes of at most 4,000 connections (8,000 descriptors) stay under the
    // open-file limit; each has its own listener.
    const PER_PROCESS: usize = 4_000;
    let connections: usize = std::env::var("SOCKWATCH_BENCH_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mixed = std::env::var("SOCKWATCH_BENCH_MIXED").is_ok_and(|v| v == "1");
    let script = format!(
        r#"
import os, socket, sys
total, per, mixed = {connections}, {PER_PROCESS}, {python_mixed}
kids = []
for i, start in enumerate(range(0, total, per)):
    v6 = mixed and i % 2 == 1
    host = "::1" if v6 else "127.0.0.1"
    l = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    l.bind((host, 20000 + i)); l.listen(4096)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        keep = []
        for _ in range(min(per, total - start)):
            c = socket.create_connection((host, 20000 + i)); a, _ = l.accept(); keep += [c, a]
        os.write(w, b"x"); sys.stdin.read(); os._exit(0)
    os.read(r, 1); kids.append(pid); l.close()
print("ready", flush=True)
sys.stdin.read()
for k in kids: os.kill(k, 9)
"#,
        python_mixed = if mixed { "True" } else { "False" }
    );
    let Some(holder) = SocketHolder::start(&script) else {
        return;
    };
    let query = Query::new(
        [Netid::Tcp],
        IpVersions::BOTH,
        StateMask::ALL,
        Extensions::default(),
    );
    let info_query = Query {
        extensions: Extensions {
            tcp_info: true,
            ..Extensions::default()
        },
        ..query.clone()
    };
    // The machine may be busy: report the fastest of several runs, for us and for ss.
    fn fastest(mut run: impl FnMut()) -> Duration {
        (0..10)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed()
            })
            .min()
            .unwrap_or_default()
    }
    let (plain, with_info, replies) = holder.within(|| {
        let plain = fastest(|| drop(snapshot(&query, |_| {}).unwrap()));
        let with_info = fastest(|| drop(snapshot(&info_query, |_| {}).unwrap()));
        let mut replies = Vec::new();
        snapshot_tee(&info_query, &mut replies, |_| {}).unwrap();
        (plain, with_info, replies)
    });
    let ss = |options: &str| {
        let command = format!("ss {options} >/dev/null");
        fastest(|| drop(holder.run("sh", &["-c", &command])))
    };
    let (ss_plain, ss_info) = (ss("-Htan"), ss("-Htani"));

    // Decoding alone, from the recorded replies (tcp_info included): ours, and
    // netlink-packet-sock-diag's parser for comparison.
    let mut count = 0;
    let ours = fastest(|| {
        count = 0;
        snapshot_from_dump(&replies[..], |_| count += 1).unwrap();
    });
    let crate_parser = fastest(|| {
        use netlink_packet_core::NetlinkMessage;
        use netlink_packet_sock_diag::SockDiagMessage;
        let mut rest = &replies[..];
        while !rest.is_empty() {
            let message = NetlinkMessage::<SockDiagMessage>::deserialize(rest).unwrap();
            let len = message.header.length as usize;
            rest = &rest[(len + 3) & !3..];
        }
    });
    eprintln!(
        "{count} TCP sockets: snapshot {plain:?} (ss -tan {ss_plain:?}); with tcp_info \
         {with_info:?} (ss -tani {ss_info:?}); decoding alone {ours:?} \
         (netlink-packet-sock-diag {crate_parser:?})"
    );
    assert!(count >= 2 * connections);
}
