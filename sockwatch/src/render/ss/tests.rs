//! Golden tests: records built from what the kernel reported for sockets made in a private
//! network namespace, rendered and compared byte for byte with what ss 6.1 printed for them.
//!
//! `tests/capture.sh` makes every capture. TCP: sockfixture's sockets (tests/src/fixture.rs:
//! listeners, pairs with unread data, a stalled transfer with its persist timer, keepalive,
//! TIME-WAIT, FIN-WAIT-2/CLOSE-WAIT, IPv4-mapped, a full accept queue) and a few of the
//! script's own (owners shared with forked children, uid 1000, a fwmark, bound to lo over
//! IPv4 and IPv6, an IPv6-only wildcard, SYN-SENT against a full backlog), dumped once with
//! `ss -D` (`tests/captures/tcp.dump`) and printed by ss from that dump with each golden's
//! options, so they all show the same kernel state. UDP, raw, unix (paths, abstract names,
//! socketpairs), packet and netlink: sockfixture's sockets and the script's own (a process's
//! netlink socket, raw protocol 253, packet sockets for every protocol and for an unnamed one,
//! a unix listener with a waiting peer, a half-shut unix pair) listed live in a second
//! namespace. `tests/records.rs` turns the dump and the captures back into records.

mod records;

use std::net::IpAddr;

use super::*;
use crate::model::{
    Cookie, Endpoint, Netid, NetlinkInfo, PacketInfo, SkMemInfo, SockState, SocketUser, UnixName,
    UnixVfs,
};
use crate::system::services::{Services, Transport};

fn inet_endpoint(text: &str) -> Endpoint {
    let (addr, port) = text.rsplit_once(':').unwrap();
    let (addr, scope) = match addr.split_once('%') {
        Some((addr, scope)) => (addr, scope.parse().unwrap()),
        None => (addr, 0),
    };
    let addr: IpAddr = addr.trim_matches(['[', ']']).parse().unwrap();
    Endpoint::Inet {
        addr,
        port: port.parse().unwrap(),
        scope,
    }
}

/// An inet socket from "addr:port" texts; IPv6 in brackets, `%N` for the interface index.
fn inet(netid: Netid, state: SockState, local: &str, peer: &str) -> SocketRecord {
    SocketRecord::new(netid, state, inet_endpoint(local), inet_endpoint(peer))
}

fn unix(
    netid: Netid,
    state: SockState,
    name: Option<UnixName>,
    inode: u64,
    peer: u64,
) -> SocketRecord {
    let mut record = SocketRecord::new(
        netid,
        state,
        Endpoint::Unix { name, inode },
        Endpoint::Unix {
            name: None,
            inode: peer,
        },
    );
    record.inode = inode;
    record
}

fn packet(netid: Netid, protocol: u16, ifindex: u32) -> SocketRecord {
    let endpoint = Endpoint::Packet { protocol, ifindex };
    SocketRecord::new(netid, SockState::Close, endpoint.clone(), endpoint)
}

fn netlink(protocol: u8, portid: i64) -> SocketRecord {
    SocketRecord::new(
        Netid::Netlink,
        SockState::Close,
        Endpoint::Netlink { protocol, portid },
        Endpoint::Netlink {
            protocol,
            portid: 0,
        },
    )
}

fn mem(v: [u32; 9]) -> SkMemInfo {
    SkMemInfo {
        rmem_alloc: v[0],
        rcvbuf: v[1],
        wmem_alloc: v[2],
        sndbuf: v[3],
        fwd_alloc: v[4],
        wmem_queued: v[5],
        optmem: v[6],
        backlog: v[7],
        drops: v[8],
    }
}

/// The answers the capture machine gave.
struct FixedNames {
    services: Services,
    ephemeral: (u16, u16),
    /// pid -> comm.
    processes: Vec<(u32, String)>,
}

impl Names for FixedNames {
    fn service(&mut self, port: u16, transport: Transport) -> Option<&str> {
        self.services.name_of(port, transport)
    }

    fn ephemeral_ports(&mut self) -> (u16, u16) {
        self.ephemeral
    }

    fn ip_protocol(&mut self, protocol: u16) -> Option<&str> {
        match protocol {
            1 => Some("icmp"),
            58 => Some("ipv6-icmp"),
            _ => None,
        }
    }

    fn interface(&mut self, ifindex: u32) -> Option<&str> {
        (ifindex == 1).then_some("lo")
    }

    fn host(&mut self, addr: IpAddr) -> Option<&str> {
        (addr == IpAddr::from([127, 0, 0, 1])).then_some("localhost")
    }

    fn process(&mut self, pid: u32) -> Option<&str> {
        self.processes
            .iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, comm)| comm.as_str())
    }

    fn cgroup(&mut self, id: u64) -> Option<&str> {
        (id == records::ROOT_CGROUP).then_some("/")
    }
}

/// ShowOptions from ss's single-letter flags.
fn options(flags: &str) -> ShowOptions {
    ShowOptions {
        numeric: flags.contains('n'),
        resolve: flags.contains('r'),
        timers: flags.contains('o'),
        extended: flags.contains('e'),
        memory: flags.contains('m'),
        info: flags.contains('i'),
        processes: flags.contains('p'),
        no_header: flags.contains('H'),
        oneline: flags.contains('O'),
        ..ShowOptions::default()
    }
}

struct Golden {
    name: &'static str,
    expected: &'static str,
    records: fn() -> Vec<SocketRecord>,
    flags: &'static str,
    layout: SsLayout,
    /// ip_local_port_range of the capture.
    ephemeral: (u16, u16),
}

/// The capture machine's ip_local_port_range.
const EPHEMERAL: (u16, u16) = (32768, 60999);

/// A table with or without the Netid column, compact or sized for a terminal.
fn layout(netid: bool, screen_width: Option<usize>) -> SsLayout {
    SsLayout {
        netid,
        screen_width,
        ..SsLayout::default()
    }
}

fn check(golden: &Golden) {
    let mut names = FixedNames {
        services: Services::parse(records::SERVICES),
        ephemeral: golden.ephemeral,
        processes: records::processes(),
    };
    let mut out = Vec::new();
    render_ss(
        &(golden.records)(),
        &options(golden.flags),
        &golden.layout,
        &mut names,
        &mut out,
    )
    .unwrap();
    let got = String::from_utf8(out).unwrap();
    if got != golden.expected {
        let mismatch = got
            .split_inclusive('\n')
            .zip(golden.expected.split_inclusive('\n'))
            .enumerate()
            .find(|(_, (g, e))| g != e);
        match mismatch {
            Some((line, (got_line, want_line))) => panic!(
                "{}: line {} differs\n got: {:?}\nwant: {:?}",
                golden.name,
                line + 1,
                got_line,
                want_line
            ),
            None => panic!(
                "{}: {} lines rendered, ss printed {}",
                golden.name,
                got.lines().count(),
                golden.expected.lines().count()
            ),
        }
    }
}

/// What ss prints for records made in a test, with no service or process names to find.
fn render_unnamed(records: &[SocketRecord], show: &ShowOptions, layout: &SsLayout) -> String {
    let mut names = FixedNames {
        services: Services::default(),
        ephemeral: EPHEMERAL,
        processes: Vec::new(),
    };
    let mut out = Vec::new();
    render_ss(records, show, layout, &mut names, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// `test: capture file, records, ss flags, layout[, ephemeral port range];`
macro_rules! golden {
    ($($test:ident: $file:literal, $records:path, $flags:literal, $layout:expr $(, $ephemeral:expr)?;)*) => {
        $(
            #[test]
            fn $test() {
                #[allow(unused_variables)]
                let ephemeral = EPHEMERAL;
                $(let ephemeral = $ephemeral;)?
                check(&Golden {
                    name: $file,
                    expected: include_str!(concat!("tests/golden/", $file, ".txt")),
                    records: $records,
                    flags: $flags,
                    layout: $layout,
                    ephemeral,
                });
            }
        )*
    };
}

golden! {
    tcp_numeric: "tcp_tan", records::tcp, "tan", layout(false, None);
    tcp_service_names: "tcp_ta", records::tcp, "ta", layout(false, None);
    tcp_host_names: "tcp_tar", records::tcp, "tar", layout(false, None);
    tcp_ports_in_the_ephemeral_range_keep_numbers: "tcp_ta_eph", records::tcp, "ta", layout(false, None), (8000, 9999);
    tcp_no_header: "tcp_tanH", records::tcp, "tanH", layout(false, None);
    tcp_extended: "tcp_tane", records::tcp, "tane", layout(false, None);
    tcp_timers: "tcp_tano", records::tcp, "tano", layout(false, None);
    tcp_processes: "tcp_tanp", records::tcp, "tanp", layout(false, None);
    tcp_memory: "tcp_tanm", records::tcp, "tanm", layout(false, None);
    tcp_memory_oneline: "tcp_tanmO", records::tcp, "tanmO", layout(false, None);
    tcp_info_named_rates: "tcp_tai", records::tcp, "tai", layout(false, None);
    tcp_info_oneline: "tcp_taniO", records::tcp, "taniO", layout(false, None);
    tcp_everything: "tcp_tanoemip", records::tcp, "tanoemip", layout(false, None);
    tcp_terminal_80: "tcp_tan_tty80", records::tcp, "tan", layout(false, Some(80));
    tcp_terminal_200: "tcp_tan_tty200", records::tcp, "tan", layout(false, Some(200));
    tcp_terminal_40: "tcp_tan_tty40", records::tcp, "tan", layout(false, Some(40));
    tcp_terminal_everything: "tcp_tanoemi_tty120", records::tcp, "tanoemi", layout(false, Some(120));
    tcp_terminal_processes: "tcp_tanep_tty100", records::tcp, "tanep", layout(false, Some(100));
    tcp_listening: "ltn", records::listeners, "ltn", layout(false, None);
    tcp_single_state_hides_its_column: "tcp_tn_one_state", records::tcp, "tn",
        SsLayout { state: false, ..layout(false, None) };
    udp_numeric: "uan", records::udp, "uan", layout(false, None);
    udp_service_names: "ua", records::udp, "ua", layout(false, None);
    udp_info_shows_nothing: "uani", records::udp, "uani", layout(false, None);
    udp_everything: "uanoemi", records::udp, "uanoemi", layout(false, None);
    udp_everything_oneline: "uanoemiO", records::udp, "uanoemiO", layout(false, None);
    udp_processes: "uanp", records::udp, "uanp", layout(false, None);
    unix_all: "xa", records::unix, "xa", layout(true, None);
    unix_numeric: "xan", records::unix, "xan", layout(true, None);
    unix_extended: "xane", records::unix, "xane", layout(true, None);
    unix_extended_memory_oneline: "xanemO", records::unix, "xanemO", layout(true, None);
    unix_everything: "xanoemip", records::unix, "xanoemip", layout(true, None);
    raw_numeric: "wan", records::raw, "wan", layout(false, None);
    raw_protocol_names: "wa", records::raw, "wa", layout(false, None);
    packet_names: "0a", records::packet, "0a", layout(true, None);
    packet_numeric: "0an", records::packet, "0an", layout(true, None);
    packet_extended_memory_oneline: "0anemO", records::packet, "0anemO", layout(true, None);
    packet_memory: "0anm", records::packet, "0anm", layout(true, None);
    packet_processes: "0anp", records::packet, "0anp", layout(true, None);
    netlink_names: "nl_a", records::netlink_a, "a", layout(false, None);
    netlink_numeric: "nl_an", records::netlink_an, "an", layout(false, None);
    netlink_extended_memory: "nl_anem", records::netlink_anem, "anem", layout(false, None);
    netlink_processes_named_by_port_only: "nl_anp", records::netlink_anp, "anp", layout(false, None);
    all_tables: "all_a", records::all_a, "a", layout(true, None);
    all_tables_numeric: "all_an", records::all_an, "an", layout(true, None);
    all_tables_terminal: "all_an_tty90", records::all_an_tty90, "an", layout(true, Some(90));
}

/// ss prints its buffer whenever a record starts with five 1 MiB chunks filled, sizing the
/// columns of each batch from what it has seen so far: a long name late in the listing
/// widens only the lines printed after it. 65534 records of 64 token bytes fill the first
/// batch (checked against ss 6.1 on 99,500 unix sockets, and a transcription of its buffer
/// code).
#[test]
fn output_is_printed_in_batches_like_ss() {
    let mut records: Vec<SocketRecord> = (0..70_000)
        .map(|i| {
            unix(
                Netid::UnixStream,
                SockState::Established,
                None,
                3_100_000 + i,
                3_200_000 + i,
            )
        })
        .collect();
    records.push(unix(
        Netid::UnixStream,
        SockState::Established,
        Some(UnixName::Abstract(
            "a-much-longer-name-than-any-before".into(),
        )),
        3_000_000,
        0,
    ));
    let text = render_unnamed(&records, &options("xan"), &layout(true, None));
    let widths: Vec<usize> = text.lines().map(str::len).collect();
    let first_batch = 1 + 65534;
    assert!(widths[..first_batch].iter().all(|w| *w == widths[0]));
    assert!(widths[first_batch..].iter().all(|w| *w > widths[0]));
}

/// Raw sockets read from /proc: ss prints their columns and owners, none of the details.
#[test]
fn raw_sockets_from_proc_show_owners_only() {
    let mut record = inet(Netid::Raw, SockState::Close, "0.0.0.0:1", "0.0.0.0:0");
    record.from_proc = true;
    record.inode = 48282;
    record.sk_addr = Some(0);
    record.users = vec![SocketUser::process("ping", 700, 3)];
    assert_eq!(
        render_unnamed(&[record], &options("wanoemip"), &layout(false, None)),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         UNCONN 0      0            0.0.0.0:1         0.0.0.0:*    users:((\"ping\",pid=700,fd=3))\n"
    );
}

/// --inet-sockopt and -b: ss's texts, on a continuation line unless -O (padded like ss's
/// other continuation lines).
#[test]
fn inet_sockopt_and_bpf_filter_texts() {
    let mut tcp = inet(Netid::Tcp, SockState::Listen, "127.0.0.1:80", "0.0.0.0:0");
    tcp.inet_sockopt = Some(0b1_0000_0110);
    let mut raw = packet(Netid::PacketRaw, 3, 0);
    raw.packet_filter = Some(crate::model::IPV4_CHECK.to_vec());
    let mut unprivileged = packet(Netid::PacketDgram, 3, 0);
    unprivileged.packet_filter = Some(Vec::new());
    for (flags, sep) in [("an", "\n\t"), ("anO", " ")] {
        let show = ShowOptions {
            inet_sockopt: true,
            bpf: true,
            ..options(flags)
        };
        let records = [tcp.clone(), raw.clone(), unprivileged.clone()];
        let text = render_unnamed(&records, &show, &layout(true, None));
        for expected in [
            format!("{sep}inet-sockopt: ( is_icsk freebind bind_addr_no_port)"),
            format!("{sep}bpf filter (2):  0x28 0 0 12, 0x15 0 1 2048,"),
            format!("{sep}bpf filter (0): "),
        ] {
            assert!(text.contains(&expected), "{expected:?} not in {text:?}");
        }
    }
}
