//! Grammar, error and matching tests of the whole filter, on hand-built records. Expected
//! results follow ss 6.1's behaviour, checked against the real ss where it matters.

use std::net::IpAddr;

use super::*;
use crate::{
    model::{Endpoint, Netid, SockState, UnixName},
    system::services::Transport,
};

/// Fixed answers in place of the system's.
struct FakeLookup;

impl Lookup for FakeLookup {
    fn service_port(&self, name: &str, transport: Transport) -> Option<u16> {
        match (name, transport) {
            ("ssh", _) => Some(22),
            ("http", Transport::Tcp) => Some(80),
            ("https", _) => Some(443),
            ("split", Transport::Tcp) => Some(1000),
            ("split", Transport::Udp) => Some(2000),
            ("udponly", Transport::Udp) => Some(3000),
            _ => None,
        }
    }

    fn host_addresses(&self, host: &str) -> Vec<IpAddr> {
        let parse = |list: &[&str]| list.iter().map(|a| a.parse().unwrap()).collect();
        match host {
            "localhost" => parse(&["127.0.0.1", "::1"]),
            "web.test" => parse(&["10.1.1.1", "10.1.1.2", "fd00::1"]),
            "v6.test" => parse(&["fd00::2"]),
            _ => Vec::new(),
        }
    }

    fn interface_index(&self, name: &str) -> Option<u32> {
        match name {
            "lo" => Some(1),
            "eth0" => Some(2),
            _ => None,
        }
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        matches!(path, "/app" | "app" | "/sys/fs/cgroup/app").then_some(4242)
    }

    fn ephemeral_ports(&self) -> (u16, u16) {
        (32768, 60999)
    }
}

fn ctx() -> ParseContext<'static> {
    ParseContext {
        family: None,
        tcp_services: true,
        udp_services: true,
        lookup: &FakeLookup,
    }
}

fn parse_in(ctx: &ParseContext, args: &[&str]) -> Result<Filter, FilterError> {
    Filter::parse(args, None, ctx)
}

fn parse(args: &[&str]) -> Filter {
    parse_in(&ctx(), args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

fn error(args: &[&str]) -> String {
    match parse_in(&ctx(), args) {
        Ok(filter) => panic!("{args:?} parsed: {:?}", filter.expr()),
        Err(error) => error.to_string(),
    }
}

fn inet(text: &str) -> Endpoint {
    let (addr, port) = text.rsplit_once(':').unwrap();
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    Endpoint::Inet {
        addr: addr.parse().unwrap(),
        port: port.parse().unwrap(),
        scope: 0,
    }
}

fn tcp(local: &str, peer: &str) -> SocketRecord {
    SocketRecord::new(Netid::Tcp, SockState::Established, inet(local), inet(peer))
}

fn unix(name: Option<UnixName>, inode: u64, peer_inode: u64) -> SocketRecord {
    SocketRecord::new(
        Netid::UnixStream,
        SockState::Established,
        Endpoint::Unix { name, inode },
        Endpoint::Unix {
            name: None,
            inode: peer_inode,
        },
    )
}

fn path(name: &str) -> Option<UnixName> {
    Some(UnixName::Path(name.into()))
}

fn packet(protocol: u16, ifindex: u32) -> SocketRecord {
    let end = Endpoint::Packet { protocol, ifindex };
    SocketRecord::new(Netid::PacketRaw, SockState::Close, end.clone(), end)
}

fn netlink(protocol: u8, portid: i64) -> SocketRecord {
    let local = Endpoint::Netlink { protocol, portid };
    let peer = Endpoint::Netlink {
        protocol,
        portid: 0,
    };
    SocketRecord::new(Netid::Netlink, SockState::Close, local, peer)
}

/// Which of `records` the filter selects, by index.
fn selected(filter: &Filter, records: &[SocketRecord]) -> Vec<usize> {
    (0..records.len())
        .filter(|&i| filter.matches(&records[i]))
        .collect()
}

// ---- grammar ----

#[test]
fn no_arguments_select_everything() {
    let filter = parse(&[]);
    assert_eq!(filter.states(), None);
    assert_eq!(filter.expr(), None);
    assert!(filter.matches(&tcp("1.2.3.4:1", "5.6.7.8:2")));
    assert!(filter.matches(&unix(None, 1, 0)));
}

#[test]
fn state_clauses_then_expression_in_one_argument() {
    let filter = parse(&["state", "established", "( dport = :ssh or sport = :ssh )"]);
    assert_eq!(filter.states(), Some(1 << 1));
    assert_eq!(filter.state_mask(SS_ALL), 1 << 1);
    assert_eq!(
        filter.expr().unwrap().to_string(),
        "dport = :ssh or sport = :ssh"
    );
    let records = [
        tcp("10.0.0.1:22", "10.0.0.2:5000"),
        tcp("10.0.0.1:5000", "10.0.0.2:22"),
        tcp("10.0.0.1:5000", "10.0.0.2:80"),
    ];
    assert_eq!(selected(&filter, &records), [0, 1]);
}

#[test]
fn options_decide_states_without_clauses() {
    let filter = parse(&["dport", "=", "22"]);
    assert_eq!(filter.states(), None);
    assert_eq!(filter.state_mask(SS_ALL), SS_ALL);
    assert_eq!(filter.state_mask(0), 0);
}

#[test]
fn parentheses_as_separate_arguments() {
    let separate = parse(&["(", "dport", "=", ":ssh", "or", "sport", "=", ":ssh", ")"]);
    let joined = parse(&["( dport = :ssh or sport = :ssh )"]);
    assert_eq!(separate.expr(), joined.expr());
}

#[test]
fn adjacent_conditions_are_joined_by_and() {
    let implicit = parse(&["dport = 22 sport = 1000"]);
    let explicit = parse(&["dport = 22 and sport = 1000"]);
    assert_eq!(implicit.expr(), explicit.expr());
    assert!(matches!(implicit.expr(), Some(Expr::All(terms)) if terms.len() == 2));
}

#[test]
fn operator_spellings_are_equivalent() {
    let words = parse(&["not dport = 1 and dport = 2 or dport = 3"]);
    for spelling in [
        "! dport = 1 && dport = 2 || dport = 3",
        "! dport = 1 & dport = 2 | dport = 3",
        "not dport == 1 and dport eq 2 or dport 3",
    ] {
        assert_eq!(parse(&[spelling]).expr(), words.expr(), "{spelling}");
    }
}

#[test]
fn and_or_have_equal_precedence_left_to_right() {
    // ss reads "a or b and c" as "(a or b) and c" (checked with the real ss).
    let filter = parse(&["sport = 5555 or sport = 1 and dport = 2"]);
    assert!(!filter.matches(&tcp("127.0.0.1:5555", "127.0.0.1:40000")));
    assert!(filter.matches(&tcp("127.0.0.1:5555", "127.0.0.1:2")));
    let grouped = parse(&["sport = 5555 or ( sport = 1 and dport = 2 )"]);
    assert!(grouped.matches(&tcp("127.0.0.1:5555", "127.0.0.1:40000")));
}

#[test]
fn not_applies_to_one_term() {
    let filter = parse(&["not sport = 5555 and dport = 5555"]);
    assert!(filter.matches(&tcp("127.0.0.1:40000", "127.0.0.1:5555")));
    assert!(!filter.matches(&tcp("127.0.0.1:5555", "127.0.0.1:5555")));
    let negated_group = parse(&["! ( sport = 5555 or dport = 1 )"]);
    assert!(negated_group.matches(&tcp("127.0.0.1:40000", "127.0.0.1:5555")));
    assert!(!negated_group.matches(&tcp("127.0.0.1:40000", "127.0.0.1:1")));
}

#[test]
fn display_is_canonical_and_parses_back() {
    let filter = parse(&[
        "( src 10.0.0.0/8 or dst [::1] ) sport > 1000 not ( dev lo and fwmark 0x10/0xff ) \
         cgroup /app or autobound or dport != :ssh or src unix:/tmp/a\\ b",
    ]);
    let text = filter.expr().unwrap().to_string();
    assert_eq!(
        text,
        "src 10.0.0.0/8 or dst [::1] and not sport <= 1000 and not ( dev lo and fwmark \
         0x10/0xff ) and cgroup /app or autobound or not dport = :ssh or src unix:/tmp/a\\ b"
    );
    assert_eq!(parse(&[&text]).expr(), filter.expr());
}

#[test]
fn every_port_comparison() {
    let local = |port: u16| tcp(&format!("10.0.0.1:{port}"), "10.0.0.2:7000");
    let records = [local(21), local(22), local(23)];
    let cases: [(&str, &[usize]); 13] = [
        ("sport = 22", &[1]),
        ("sport == :22", &[1]),
        ("sport eq 22", &[1]),
        ("sport 22", &[1]),
        ("sport != 22", &[0, 2]),
        ("sport ne 22", &[0, 2]),
        ("sport >= 22", &[1, 2]),
        ("sport geq 22", &[1, 2]),
        ("sport <= 22", &[0, 1]),
        ("sport le 22", &[0, 1]),
        ("sport > 22", &[2]),
        ("sport lt 22", &[0]),
        ("dport gt 6999", &[0, 1, 2]),
    ];
    for (text, expected) in cases {
        assert_eq!(selected(&parse(&[text]), &records), expected, "{text}");
    }
}

#[test]
fn src_and_dst_take_only_equality() {
    assert_eq!(
        parse(&["dst = 10.0.0.2"]).expr(),
        parse(&["dst 10.0.0.2"]).expr()
    );
    assert_eq!(
        error(&["dst != 10.0.0.2"]),
        "filter: expected an address after \"dst\", found \"!=\" at column 5"
    );
    assert_eq!(
        error(&["src", ">", "x"]),
        "filter: expected an address after \"src\", found \">\" at column 5"
    );
}

#[test]
fn dev_mark_and_cgroup_take_equality_or_inequality() {
    let bound = |scope| {
        let mut rec = tcp("10.0.0.1:80", "10.0.0.2:7000");
        rec.local = Endpoint::Inet {
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            scope,
        };
        rec
    };
    assert!(parse(&["dev = lo"]).matches(&bound(1)));
    assert!(parse(&["dev != lo"]).matches(&bound(2)));
    assert!(!parse(&["dev neq lo"]).matches(&bound(1)));
    assert_eq!(
        error(&["fwmark >= 1"]),
        "filter: expected a mark after \"fwmark\", found \">=\" at column 8"
    );
    assert!(matches!(
        parse(&["cgroup != /app"]).expr(),
        Some(Expr::Not(_))
    ));
}

#[test]
fn file_text_follows_arguments() {
    let text = "# only ssh\n( dport = :ssh\n  or sport = :ssh )\n";
    let from_file =
        Filter::parse(&["state", "listening", "dst 10.0.0.2"], Some(text), &ctx()).unwrap();
    assert_eq!(from_file.states(), Some(1 << 10));
    assert_eq!(
        from_file.expr().unwrap().to_string(),
        "dst 10.0.0.2 and ( dport = :ssh or sport = :ssh )"
    );
    let only_file = Filter::parse::<&str>(&[], Some(text), &ctx()).unwrap();
    assert_eq!(only_file.states(), None);
    assert!(only_file.matches(&tcp("10.0.0.1:22", "10.0.0.2:7000")));
}

#[test]
fn file_errors_give_line_and_column() {
    let result = Filter::parse::<&str>(&[], Some("dport = 22\n  or dst\n"), &ctx());
    assert_eq!(
        result.unwrap_err().to_string(),
        "filter: expected an address after \"dst\" at end of input"
    );
    let result = Filter::parse::<&str>(&[], Some("dport = 22\n  or foo.invalid\n"), &ctx());
    assert_eq!(
        result.unwrap_err().to_string(),
        "filter: expected a condition, found \"foo.invalid\" at line 2, column 6"
    );
}

#[test]
fn system_context_parses_plain_filters() {
    let filter = Filter::parse_args(&["state", "connected", "dport = 22 or src 127.0.0.1"]);
    assert!(filter.is_ok());
    assert!(Filter::parse_text("sport >= 1024\n").is_ok());
}

// ---- addresses and ports ----

#[test]
fn short_ipv4_prefixes_read_as_ss_reads_them() {
    let filter = parse(&["dst 10.0.0/24"]);
    assert!(filter.matches(&tcp("1.1.1.1:1", "10.0.0.5:80")));
    assert!(!filter.matches(&tcp("1.1.1.1:1", "10.0.1.5:80")));
    // "10.8" is 10.8.0.0, not inet_aton's 10.0.0.8.
    let filter = parse(&["dst 10.8"]);
    assert!(filter.matches(&tcp("1.1.1.1:1", "10.8.0.0:80")));
    assert!(!filter.matches(&tcp("1.1.1.1:1", "10.0.0.8:80")));
    let filter = parse(&["dst 10.0.0.0/255.255.0.0"]);
    assert!(filter.matches(&tcp("1.1.1.1:1", "10.0.200.1:80")));
    assert!(!filter.matches(&tcp("1.1.1.1:1", "10.1.0.1:80")));
}

#[test]
fn address_with_port() {
    let records = [
        tcp("10.0.0.1:22", "10.0.0.2:5000"),
        tcp("10.0.0.1:80", "10.0.0.2:5000"),
        tcp("10.0.0.9:22", "10.0.0.2:5000"),
    ];
    assert_eq!(selected(&parse(&["src 10.0.0.1:22"]), &records), [0]);
    assert_eq!(selected(&parse(&["src 10.0.0.0/24:22"]), &records), [0, 2]);
    assert_eq!(selected(&parse(&["src *:22"]), &records), [0, 2]);
    assert_eq!(selected(&parse(&["src :22"]), &records), [0, 2]);
    assert_eq!(selected(&parse(&["src *22"]), &records), [0, 2]);
    assert_eq!(selected(&parse(&["src 10.0.0.1:*"]), &records), [0, 1]);
    assert_eq!(selected(&parse(&["src *"]), &records), [0, 1, 2]);
    assert_eq!(selected(&parse(&["src [10.0.0.1]:80"]), &records), [1]);
}

#[test]
fn port_numbers_and_service_names() {
    let ssh = tcp("10.0.0.1:22", "10.0.0.2:5000");
    for text in [
        "sport = 22",
        "sport = 0x16",
        "sport = 026",
        "sport = :ssh",
        "src :ssh",
    ] {
        assert!(parse(&[text]).matches(&ssh), "{text}");
    }
    let web = tcp("10.0.0.1:80", "10.0.0.2:5000");
    assert!(parse(&["sport = :http"]).matches(&web));
    assert!(
        parse(&["sport = -1"]).matches(&web),
        "-1 is ss's 'any port'"
    );
    assert_eq!(
        error(&["sport = :split"]),
        "filter: service \"split\" is tcp port 1000 but udp port 2000 at column 9"
    );
    assert_eq!(
        error(&["dport", ":nosuch"]),
        "filter: \"nosuch\" is not a port number or service name at column 7"
    );
    let tcp_only = ParseContext {
        udp_services: false,
        ..ctx()
    };
    assert!(parse_in(&tcp_only, &["sport = :split"]).is_ok());
    assert!(parse_in(&tcp_only, &["sport = :udponly"]).is_err());
}

#[test]
fn ipv6_addresses_need_brackets_without_a_prefix_length() {
    let loopback6 = tcp("[::1]:5555", "[::1]:40000");
    assert!(parse(&["src [::1]"]).matches(&loopback6));
    assert!(parse(&["src [::1]:5555"]).matches(&loopback6));
    assert!(parse(&["src ::1/128"]).matches(&loopback6));
    assert!(parse(&["src fe80::/10"]).matches(&tcp("[fe80::1]:1", "[fe80::2]:2")));
    // The same errors as ss 6.1 gives.
    assert_eq!(
        error(&["dst ::1"]),
        "filter: \":\" is not an address, prefix or known host name at column 5"
    );
    assert_eq!(
        error(&["dst [::1]/128"]),
        "filter: \"/128\" is not a port number or service name at column 5"
    );
    assert_eq!(
        error(&["dst [::1"]),
        "filter: \"[::1\" has no closing \"]\" at column 5"
    );
}

#[test]
fn ipv4_prefixes_match_v4_mapped_ipv6_but_not_the_reverse() {
    let v4 = tcp("127.0.0.1:40000", "127.0.0.1:5555");
    let mapped = tcp("[::ffff:127.0.0.1]:5555", "[::ffff:127.0.0.1]:40000");
    let records = [v4, mapped];
    assert_eq!(selected(&parse(&["src 127.0.0.1"]), &records), [0, 1]);
    assert_eq!(selected(&parse(&["src 127.0.0.0/8"]), &records), [0, 1]);
    assert_eq!(selected(&parse(&["src [::ffff:127.0.0.1]"]), &records), [1]);
}

#[test]
fn zero_length_prefixes_keep_their_family() {
    let records = [
        tcp("127.0.0.1:40000", "127.0.0.1:5555"),
        tcp("[::ffff:127.0.0.1]:5555", "[::ffff:127.0.0.1]:40000"),
        tcp("[::1]:5555", "[::1]:40000"),
        unix(path("/run/a"), 7, 0),
    ];
    // The kernel drops plain IPv6 sockets for an IPv4 "0/0"; ss itself drops them for the
    // negation: so they match neither (checked with the real ss).
    assert_eq!(selected(&parse(&["src 0/0"]), &records), [0, 1, 3]);
    assert_eq!(
        selected(&parse(&["not src 0/0"]), &records),
        Vec::<usize>::new()
    );
    assert_eq!(selected(&parse(&["src ::/0"]), &records), [1, 2, 3]);
    assert_eq!(selected(&parse(&["src *"]), &records), [0, 1, 2, 3]);
    assert_eq!(selected(&parse(&["src any"]), &records), [0, 1, 2, 3]);
    // With "dev" ss sends no bytecode, and only its own family-blind test remains.
    let unbound = parse(&["dev 0 and src 0/0"]);
    assert_eq!(selected(&unbound, &records), [0, 1, 2, 3]);
}

#[test]
fn host_names_resolve_to_every_address_but_the_kernel_sees_the_first() {
    let records = [
        tcp("10.0.0.1:1", "10.1.1.1:80"),
        tcp("10.0.0.1:1", "10.1.1.2:80"),
        tcp("[fd00::9]:1", "[fd00::1]:80"),
        tcp("10.0.0.1:1", "10.1.1.3:80"),
    ];
    // ss's bytecode repeats the first address, so the kernel passes only 10.1.1.1 and
    // v4 sockets; ss's own test passes any of the three addresses.
    assert_eq!(selected(&parse(&["dst web.test"]), &records), [0]);
    assert_eq!(
        selected(&parse(&["dst web.test or dev 9"]), &records),
        [0, 1, 2]
    );
    assert_eq!(
        error(&["dst no.such.host"]),
        "filter: \"no.such.host\" is not an address, prefix or known host name at column 5"
    );
}

#[test]
fn context_family_reads_addresses_and_restricts_the_family() {
    let v6 = ParseContext {
        family: Some(Family::Inet6),
        ..ctx()
    };
    assert!(parse_in(&v6, &["dst 10.0.0.1"]).is_err());
    let filter = parse_in(&v6, &["dst localhost"]).unwrap();
    assert_eq!(filter.family(), Some(Family::Inet6));
    assert!(filter.matches(&tcp("[::1]:1", "[::1]:80")));
    assert!(!filter.matches(&tcp("127.0.0.1:1", "127.0.0.1:80")));
}

#[test]
fn family_prefixes_restrict_the_family() {
    let v4 = tcp("10.0.0.1:22", "10.0.0.2:5000");
    let v6 = tcp("[fd00::1]:22", "[fd00::2]:5000");
    let filter = parse(&["sport = inet:*:22"]);
    assert_eq!(filter.family(), Some(Family::Inet));
    assert!(filter.matches(&v4));
    assert!(!filter.matches(&v6));
    let filter = parse(&["src inet6:*:22"]);
    assert_eq!(filter.family(), Some(Family::Inet6));
    assert_eq!(selected(&filter, &[v4, v6]), [1]);
    // The last family named wins.
    assert_eq!(
        parse(&["src unix:/x or src inet6:[::1]"]).family(),
        Some(Family::Inet6)
    );
    assert_eq!(parse(&["dport = 22"]).family(), None);
    assert_eq!(
        error(&["src vsock:3:22"]),
        "filter: vsock addresses are not supported at column 5"
    );
}

// ---- unix, packet and netlink sockets ----

#[test]
fn unix_globs_match_local_names() {
    let records = [
        unix(path("/tmp/.X11-unix/X0"), 10, 11),
        unix(Some(UnixName::Abstract("abstractname".into())), 12, 0),
        unix(None, 13, 10),
        tcp("10.0.0.1:1", "10.0.0.2:2"),
    ];
    let filter = parse(&["src unix:/tmp/*"]);
    assert_eq!(filter.family(), Some(Family::Unix));
    assert_eq!(selected(&filter, &records), [0]);
    assert_eq!(
        selected(&parse(&["src unix:/TMP/.x11-UNIX/x0"]), &records),
        [0]
    );
    assert_eq!(selected(&parse(&["src unix:@abs*"]), &records), [1]);
    assert_eq!(
        selected(&parse(&["src unix:"]), &records),
        [2],
        "only unnamed"
    );
    // ss has no peer name for the filter: dst globs see "" (checked with the real ss).
    assert_eq!(
        selected(&parse(&["dst unix:/tmp/*"]), &records),
        Vec::<usize>::new()
    );
    assert_eq!(selected(&parse(&["dst unix:*"]), &records), [0, 1, 2]);
}

#[test]
fn unix_context_reads_every_address_as_a_glob() {
    let as_unix = ParseContext {
        family: Some(Family::Unix),
        ..ctx()
    };
    let records = [
        unix(path("/run/user/1000/bus"), 10, 0),
        unix(path("/tmp/x"), 11, 0),
    ];
    let filter = parse_in(&as_unix, &["src /run/*"]).unwrap();
    assert_eq!(selected(&filter, &records), [0]);
    let filter = parse_in(&as_unix, &["src /run/*", "or", "src", "/tmp/?"]).unwrap();
    assert_eq!(selected(&filter, &records), [0, 1]);
    // Without -x the same text is not an address.
    assert_eq!(
        error(&["src /run/*"]),
        "filter: \"/run/*\" is not an address, prefix or known host name at column 5"
    );
}

#[test]
fn unix_ports_are_inodes() {
    let records = [
        unix(path("/run/a"), 500, 900),
        unix(path("/run/b"), 1500, 0),
        unix(path("/run/c"), 3_000_000_000, 0),
    ];
    assert_eq!(selected(&parse(&["sport gt 1000"]), &records), [1]);
    assert_eq!(selected(&parse(&["sport = 500"]), &records), [0]);
    assert_eq!(selected(&parse(&["dport = 900"]), &records), [0]);
    // ss holds inodes in a C int, so one above 2^31 compares as negative.
    assert_eq!(selected(&parse(&["sport < 0"]), &records), [2]);
}

#[test]
fn unix_sockets_against_ip_prefixes() {
    let records = [unix(path("/run/a"), 1, 0), unix(None, 2, 0)];
    // The remote address is all zeros for ss; a named socket's local slot is a pointer.
    assert_eq!(selected(&parse(&["dst 0.0.0.0"]), &records), [0, 1]);
    assert_eq!(selected(&parse(&["src 0.0.0.0"]), &records), [1]);
    assert_eq!(
        selected(&parse(&["src 10.0.0.1"]), &records),
        Vec::<usize>::new()
    );
}

#[test]
fn autobound_per_family() {
    let records = [
        tcp("10.0.0.1:40000", "10.0.0.2:22"),
        tcp("10.0.0.1:22", "10.0.0.2:40000"),
        unix(None, 1, 2),
        unix(Some(UnixName::Abstract("e7016".into())), 3, 0),
        unix(Some(UnixName::Abstract("E7016".into())), 4, 0),
        unix(Some(UnixName::Abstract("abstractname".into())), 5, 0),
        unix(path("/run/a"), 6, 0),
        packet(0, 0),
        packet(3, 0),
        netlink(0, -4000),
        netlink(0, 4000),
    ];
    let filter = parse(&["autobound"]);
    assert_eq!(selected(&filter, &records), [0, 2, 3, 7, 9]);
    assert!(matches!(
        filter.expr(),
        Some(Expr::Autobound {
            ephemeral: (32768, 60999)
        })
    ));
}

#[test]
fn packet_sockets() {
    let records = [packet(3, 0), packet(0x0800, 1), packet(0x86dd, 2)];
    assert_eq!(selected(&parse(&["src link:ip"]), &records), [1]);
    assert_eq!(selected(&parse(&["src link:IPv6:eth0"]), &records), [2]);
    assert_eq!(selected(&parse(&["src link:*:lo"]), &records), [1]);
    assert_eq!(selected(&parse(&["src link:all"]), &records), [0]);
    assert_eq!(selected(&parse(&["src link:0x800:if1"]), &records), [1]);
    assert_eq!(selected(&parse(&["sport = link:eth0"]), &records), [2]);
    // Without a prefix the "port" is the interface index and the address the protocol
    // number in host order (checked with the real ss: "src 3.0.0.0" finds ETH_P_ALL).
    assert_eq!(selected(&parse(&["sport = :1"]), &records), [1]);
    assert_eq!(selected(&parse(&["src 3.0.0.0"]), &records), [0]);
    assert_eq!(selected(&parse(&["dev eth0"]), &records), [2]);
    assert_eq!(
        error(&["src link:ethernet"]),
        "filter: \"ethernet\" is not a link-layer protocol at column 5"
    );
    assert_eq!(
        error(&["src link:ip:eth9"]),
        "filter: \"eth9\" is not an interface name or index at column 5"
    );
}

#[test]
fn netlink_sockets() {
    let records = [netlink(0, 0), netlink(0, 812), netlink(15, -42)];
    assert_eq!(selected(&parse(&["src netlink:rtnl"]), &records), [0, 1]);
    assert_eq!(
        selected(&parse(&["src netlink:rtnl:kernel"]), &records),
        [0]
    );
    assert_eq!(selected(&parse(&["src netlink:*:812"]), &records), [1]);
    assert_eq!(selected(&parse(&["src netlink:uevent"]), &records), [2]);
    // The remote "port" of a netlink socket is -1 for ss: no port matches it.
    assert_eq!(
        selected(&parse(&["dport = 0"]), &records),
        Vec::<usize>::new()
    );
    assert_eq!(
        error(&["src netlink:route"]),
        "filter: \"route\" is not a netlink protocol at column 5"
    );
    assert_eq!(
        error(&["src netlink:rtnl:me"]),
        "filter: \"me\" is not a netlink port id at column 5"
    );
}

#[test]
fn non_inet_addresses_make_the_kernel_drop_inet_sockets() {
    // The kernel refuses bytecode with a unix or link address; ss then lists no inet
    // sockets, whatever the rest of the filter says.
    let filter = parse(&["src unix:/x or sport = 22 or src inet:*:22"]);
    assert_eq!(filter.family(), Some(Family::Inet));
    assert!(!filter.matches(&tcp("10.0.0.1:22", "10.0.0.2:1")));
    // Unless "dev" keeps ss from sending bytecode at all.
    let filter = parse(&["src unix:/x or sport = 22 or src inet:*:1 or dev 5"]);
    assert!(filter.matches(&tcp("10.0.0.1:22", "10.0.0.2:1")));
}

// ---- dev, fwmark, cgroup ----

#[test]
fn devices_by_name_index_or_if_n() {
    let bound = |scope| {
        let mut rec = tcp("10.0.0.1:80", "10.0.0.2:7000");
        if let Endpoint::Inet { scope: s, .. } = &mut rec.local {
            *s = scope;
        }
        rec
    };
    let records = [bound(0), bound(1), bound(2), bound(7)];
    assert_eq!(selected(&parse(&["dev lo"]), &records), [1]);
    assert_eq!(selected(&parse(&["dev 2"]), &records), [2]);
    assert_eq!(selected(&parse(&["dev if7"]), &records), [3]);
    assert_eq!(selected(&parse(&["dev 0x7"]), &records), [3]);
    assert_eq!(selected(&parse(&["dev 0"]), &records), [0]);
    assert_eq!(
        error(&["dev", "eth9"]),
        "filter: \"eth9\" is not an interface name or index at column 5"
    );
    assert_eq!(
        error(&["dev"]),
        "filter: expected an interface after \"dev\" at end of input"
    );
}

#[test]
fn marks_with_and_without_masks() {
    let marked = |mark| {
        let mut rec = tcp("10.0.0.1:80", "10.0.0.2:7000");
        rec.mark = mark;
        rec
    };
    let records = [
        marked(None),
        marked(Some(0x1234)),
        marked(Some(0xffff_ffff)),
    ];
    assert_eq!(selected(&parse(&["fwmark 0x1234"]), &records), [1]);
    assert_eq!(selected(&parse(&["fwmark 4660"]), &records), [1]);
    assert_eq!(selected(&parse(&["fwmark 0x1200/0xff00"]), &records), [1]);
    assert_eq!(selected(&parse(&["fwmark 0/0xffff0000"]), &records), [0, 1]);
    assert_eq!(selected(&parse(&["fwmark 0"]), &records), [0]);
    assert_eq!(selected(&parse(&["fwmark -1"]), &records), [2]);
    // sscanf ignores trailing text, and so does ss.
    assert_eq!(selected(&parse(&["fwmark = 0x1234xyz"]), &records), [1]);
    assert!(
        parse(&["fwmark 0"]).matches(&unix(None, 1, 0)),
        "non-inet marks read 0"
    );
    assert_eq!(
        error(&["fwmark one"]),
        "filter: \"one\" is not a mark or mark/mask at column 8"
    );
    assert_eq!(
        error(&["fwmark 1x/2"]),
        "filter: \"1x/2\" is not a mark or mark/mask at column 8"
    );
}

#[test]
fn cgroups_by_path() {
    let in_cgroup = |id| {
        let mut rec = tcp("10.0.0.1:80", "10.0.0.2:7000");
        rec.cgroup_id = id;
        rec
    };
    let records = [in_cgroup(Some(4242)), in_cgroup(Some(1)), in_cgroup(None)];
    assert_eq!(selected(&parse(&["cgroup /app"]), &records), [0]);
    assert_eq!(selected(&parse(&["cgroup = app"]), &records), [0]);
    assert_eq!(
        selected(&parse(&["cgroup != /sys/fs/cgroup/app"]), &records),
        [1, 2]
    );
    assert_eq!(
        error(&["cgroup /nonexistent"]),
        "filter: \"/nonexistent\" is not a cgroup path at column 8"
    );
}

#[test]
fn kernel_reads_port_bounds_through_16_bits() {
    // "sport >= *" is "port >= -1" for ss but "port >= 65535" in the kernel's bytecode,
    // so it keeps unix sockets and drops inet ones.
    let filter = parse(&["sport >= *"]);
    assert!(filter.matches(&unix(None, 5, 0)));
    assert!(!filter.matches(&tcp("10.0.0.1:80", "10.0.0.2:7000")));
    assert!(filter.matches(&tcp("10.0.0.1:65535", "10.0.0.2:7000")));
}

// ---- errors ----

#[test]
fn expected_value_errors() {
    assert_eq!(
        error(&["dst"]),
        "filter: expected an address after \"dst\" at end of input"
    );
    assert_eq!(
        error(&["dst", "and", "sport = 1"]),
        "filter: expected an address after \"dst\", found \"and\" at column 5"
    );
    assert_eq!(
        error(&["sport", "="]),
        "filter: expected a port after \"sport\" at end of input"
    );
    assert_eq!(
        error(&["cgroup ("]),
        "filter: expected a cgroup path after \"cgroup\", found \"(\" at column 8"
    );
}

#[test]
fn expected_condition_errors() {
    assert_eq!(
        error(&["( )"]),
        "filter: expected a condition, found \")\" at column 3"
    );
    assert_eq!(
        error(&["and dport = 1"]),
        "filter: expected a condition, found \"and\" at column 1"
    );
    assert_eq!(
        error(&["dport = 1 or"]),
        "filter: expected a condition at end of input"
    );
    assert_eq!(
        error(&["dport = 1", "not"]),
        "filter: expected a condition at end of input"
    );
    assert_eq!(
        error(&["dport = 1 2"]),
        "filter: expected a condition, found \"2\" at column 11"
    );
    assert_eq!(
        error(&["(dport = 1)"]),
        "filter: expected a condition, found \"(dport\" at column 1"
    );
}

#[test]
fn parenthesis_errors() {
    assert_eq!(
        error(&["( dport = 22"]),
        "filter: expected \")\" at end of input"
    );
    assert_eq!(
        error(&["dport = 22 )"]),
        "filter: unmatched \")\" at column 12"
    );
    assert_eq!(
        error(&["( ( dport = 22 ) ) )"]),
        "filter: unmatched \")\" at column 20"
    );
}

#[test]
fn state_errors_through_the_filter() {
    assert_eq!(
        error(&["state", "listen"]),
        "filter: unknown state \"listen\" at column 7"
    );
    assert_eq!(
        error(&["exclude"]),
        "filter: expected a state name after \"exclude\" at end of input"
    );
    // State clauses come first only: later, "state" is no keyword.
    assert_eq!(
        error(&["dport = 1", "state", "established"]),
        "filter: expected a condition, found \"state\" at column 11"
    );
}

#[test]
fn nesting_is_bounded() {
    let deep_parens = format!("{} dport = 1 {}", "( ".repeat(150), ") ".repeat(150));
    assert!(error(&[&deep_parens])
        .starts_with("filter: expression nests more than 100 levels deep at column "));
    let deep_nots = format!("{} dport = 1", "not ".repeat(150));
    assert!(error(&[&deep_nots]).contains("nests more than 100 levels"));
    let alternating = (0..150)
        .map(|i| format!("dport = {i}"))
        .collect::<Vec<_>>()
        .join(" or ")
        .replacen(" or ", " and ", 75);
    // Long chains of one operator are flat, so only alternation adds depth.
    let chain = vec!["dport = 1"; 5000].join(" or ");
    assert!(parse_in(&ctx(), &[&chain]).is_ok());
    assert!(parse_in(&ctx(), &[&alternating]).is_ok());
    let zigzag = (0..150)
        .map(|i| format!("dport = {i} {} ", if i % 2 == 0 { "or" } else { "and" }))
        .collect::<String>()
        + " dport = 1";
    assert!(error(&[&zigzag]).contains("nests more than 100 levels"));
}

#[test]
fn nul_bytes_in_globs_are_errors() {
    assert_eq!(
        error(&["src unix:/tmp/a\0b"]),
        "filter: \"/tmp/a\\0b\" contains a NUL byte at column 5"
    );
}

// ---- hints ----

#[test]
fn hint_ports_from_port_conditions() {
    let hint = parse(&["dport = :80 or sport = :443"]).kernel_hint(SS_ALL);
    assert_eq!(hint.ports, Some(vec![80, 443]));
    assert!(hint.ipv4 && hint.ipv6);
    let hint = parse(&["( dport = :80 or dport = 81 ) and src 10.0.0.0/8:22"]).kernel_hint(SS_ALL);
    assert_eq!(hint.ports, Some(vec![22]), "and keeps the smaller set");
    let hint = parse(&["not not sport = 22"]).kernel_hint(SS_ALL);
    assert_eq!(hint.ports, Some(vec![22]));
    let hint = parse(&["sport = 70000 or sport = -5"]).kernel_hint(SS_ALL);
    assert_eq!(hint.ports, Some(vec![]), "no inet socket has such ports");
}

#[test]
fn hint_ports_unknown_when_not_implied() {
    for text in [
        "not dport = :80",
        "sport > 10",
        "dst 10.0.0.1",
        "dport = 80 or dev lo",
        "autobound",
    ] {
        assert_eq!(parse(&[text]).kernel_hint(SS_ALL).ports, None, "{text}");
    }
    assert_eq!(parse(&[]).kernel_hint(SS_ALL).ports, None);
    let many = (1..=9)
        .map(|port| format!("dport = {port}"))
        .collect::<Vec<_>>()
        .join(" or ");
    assert_eq!(parse(&[&many]).kernel_hint(SS_ALL).ports, None);
}

#[test]
fn exact_ports_for_the_request_socket_id() {
    let ports = |text: &str| {
        let filter = parse(&[text]);
        (
            filter.exact_port(Side::Local),
            filter.exact_port(Side::Remote),
        )
    };
    assert_eq!(ports("sport = :22"), (Some(22), None));
    assert_eq!(ports("dport = :ssh"), (None, Some(22)));
    assert_eq!(ports("src 127.0.0.1:22"), (Some(22), None));
    assert_eq!(ports("sport = :22 and dport = :80"), (Some(22), Some(80)));
    assert_eq!(ports("dport = :80 and not sport = :22"), (None, Some(80)));
    assert_eq!(ports("sport = :22 or src 10.0.0.1:22"), (Some(22), None));
    assert_eq!(ports("not not dport = :80"), (None, Some(80)));
    // Not implied: every matching socket need not have one such port on that side.
    for text in [
        "sport = :22 or sport = :23",
        "sport = :22 or dport = :22",
        "sport = :22 or dev lo",
        "not sport = :22",
        "sport >= :22",
        "src 127.0.0.1",
        // 0 in a request means any port; beyond 65535 no socket matches (the bytecode and
        // user space say so).
        "sport = :0",
        "sport = 70000",
    ] {
        assert_eq!(ports(text), (None, None), "{text}");
    }
    assert_eq!(parse(&[]).exact_port(Side::Local), None);
}

#[test]
fn hint_families() {
    let families = |text: &str| {
        let hint = parse(&[text]).kernel_hint(SS_ALL);
        (hint.ipv4, hint.ipv6)
    };
    assert_eq!(families("dport = 22"), (true, true));
    assert_eq!(families("src 10.0.0.1"), (true, true), "v4-mapped");
    assert_eq!(families("src [fd00::1]"), (false, true));
    assert_eq!(
        families("dev lo and src [fd00::1]"),
        (true, true),
        "no bytecode"
    );
    assert_eq!(families("src inet:*:22"), (true, false));
    assert_eq!(families("src inet6:*"), (false, true));
    assert_eq!(families("not src 0/0"), (false, false));
    assert_eq!(families("src [fd00::1] or src ::/0"), (false, true));
    let hint = parse(&["src unix:/tmp/*"]).kernel_hint(SS_ALL);
    assert_eq!(
        (hint.ipv4, hint.ipv6, hint.ports),
        (false, false, Some(vec![]))
    );
}

#[test]
fn hint_states_add_request_sockets_to_syn_recv() {
    let filter = parse(&["state", "syn-recv", "state", "established"]);
    let mask = filter.state_mask(SS_CONN);
    let hint = filter.kernel_hint(mask);
    assert_eq!(
        hint.states,
        1 << 3 | 1 << 1 | 1 << SockState::NewSynRecv.kernel()
    );
    assert_eq!(parse(&[]).kernel_hint(1 << 10).states, 1 << 10);
}

// ---- robustness ----

/// A fixed, dependency-free pseudo-random sequence (xorshift64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

const CONDITIONS: &[&str] = &[
    "dport = :ssh",
    "sport > 1000",
    "src 10.0.0/24",
    "dst [::1]:22",
    "src *:80",
    "dst localhost",
    "src unix:/tmp/*",
    "dst unix:*",
    "src link:ip:lo",
    "sport = link:1",
    "src netlink:rtnl:kernel",
    "dev lo",
    "dev != 2",
    "fwmark 0x10/0xff",
    "cgroup /app",
    "autobound",
    "src inet6:*",
    "sport <= 0x16",
    "dport ge 22",
    "src 0/0",
    "dst web.test",
    "dst [::ffff:10.0.0.1]",
    "sport lt 40000",
    "dport != 443",
    "src 127.0.0.1",
];

const WORDS: &[&str] = &[
    "(",
    ")",
    "!",
    "not",
    "and",
    "&&",
    "&",
    "or",
    "||",
    "|",
    "src",
    "dst",
    "sport",
    "dport",
    "dev",
    "fwmark",
    "cgroup",
    "autobound",
    "=",
    "==",
    "!=",
    ">=",
    "<=",
    ">",
    "<",
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "geq",
    "leq",
    "neq",
    "state",
    "exclude",
    "established",
    "all",
    "22",
    ":ssh",
    "*",
    "[::1",
    "::1",
    "fe80::/10",
    "unix:",
    "link:",
    "netlink:x",
    "vsock:1",
    "lo",
    "if3",
    "/app",
    "-1",
    "",
    "\\",
    "é",
    "[",
    "]",
    "/",
    ":",
    "0x",
    "99999999999",
    "10.0.0.0/255.255.0.0",
    "1.2.3.4.5",
];

/// A random, mostly well-formed expression, as arguments.
fn random_expression(random: &mut Random, depth: u32, out: &mut Vec<&str>) {
    match random.next() % if depth > 4 { 1 } else { 5 } {
        0 => out.push(random.pick(CONDITIONS)),
        1 => {
            out.push(random.pick(&["not", "!"]));
            random_expression(random, depth + 1, out);
        }
        2 => {
            out.push("(");
            random_expression(random, depth + 1, out);
            out.push(")");
        }
        _ => {
            random_expression(random, depth + 1, out);
            let joiner = random.pick(&["and", "or", "&&", "||", "&", "|", ""]);
            if !joiner.is_empty() {
                out.push(joiner);
            }
            random_expression(random, depth + 1, out);
        }
    }
}

/// Parses many random word sequences, well-formed ones with a random word changed and
/// arbitrary ones: no panic, and every accepted filter can be matched, hinted and printed
/// back to the same expression.
#[test]
fn random_word_sequences_never_panic() {
    let records = [
        tcp("10.0.0.1:22", "10.0.0.2:40000"),
        tcp("[::ffff:10.0.0.1]:80", "[::1]:22"),
        unix(path("/tmp/x"), 42, 43),
        unix(None, 1, 0),
        packet(3, 1),
        netlink(0, -7),
    ];
    let contexts = [
        ctx(),
        ParseContext {
            family: Some(Family::Unix),
            ..ctx()
        },
        ParseContext {
            family: Some(Family::Packet),
            tcp_services: false,
            ..ctx()
        },
    ];
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for round in 0..20_000 {
        let mut args = Vec::new();
        if round % 2 == 0 {
            random_expression(&mut random, 0, &mut args);
            if !args.is_empty() && random.next().is_multiple_of(2) {
                let at = (random.next() % args.len() as u64) as usize;
                args[at] = random.pick(WORDS);
            }
        } else {
            for _ in 0..random.next() % 10 {
                args.push(random.pick(WORDS));
            }
        }
        let ctx = &contexts[round % contexts.len()];
        let file = (round % 7 == 0).then(|| args.join("\n"));
        let Ok(filter) = Filter::parse(&args, file.as_deref(), ctx) else {
            continue;
        };
        accepted += 1;
        for rec in &records {
            filter.matches(rec);
        }
        filter.kernel_hint(SS_ALL);
        // An empty value (a lone backslash) cannot be printed back.
        if let Some(expr) = filter.expr().filter(|_| !args.contains(&"\\")) {
            let text = expr.to_string();
            let again = Filter::parse(&[&text], None, ctx)
                .unwrap_or_else(|error| panic!("{args:?} printed as {text:?}: {error}"));
            assert_eq!(again.expr(), Some(expr), "{args:?} printed as {text:?}");
        }
    }
    assert!(accepted > 3_000, "only {accepted} sequences parsed");
}
