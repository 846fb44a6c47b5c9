//! `sockwatch snapshot ARGS` against `ss ARGS` on the same sockets: every option set, the
//! filter language (accepted and rejected expressions), dump files (-D / --read).
//!
//! Each test makes its own namespace and fixture, so they run in parallel. They need root; see
//! `sockwatch_tests::privilege` for what happens without it.

use std::{ffi::OsStr, fs, path::Path};

use sockwatch_tests::{
    assert_all_passed, check_rejected_like_ss, check_same, check_same_with_stderr, check_with_ss,
    compare_with_ss, sockwatch_bin, Masks, Run, SocketGroup, Testbed,
};

fn testbed() -> Option<Testbed> {
    Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL)
}

/// One test per option set: `sockwatch snapshot ARGS` must print what `ss ARGS` prints.
macro_rules! option_sets {
    ($($name:ident => [$($arg:expr),+ $(,)?];)+) => {$(
        #[test]
        fn $name() {
            let Some(bed) = testbed() else { return };
            compare_with_ss(bed.ns(), &[$($arg),+]);
        }
    )+};
}

option_sets! {
    // TCP
    tcp_connected => ["-t"];
    tcp_connected_numeric => ["-tn"];
    tcp_all_numeric => ["-tan"];
    tcp_all_numeric_other_order => ["-tna"];
    tcp_all_services => ["-ta"];
    tcp_all_resolved => ["-tar"];
    tcp_listening => ["-ltn"];
    tcp_listening_processes => ["-tlpn"];
    tcp_processes => ["-tanp"];
    tcp_threads => ["-tanT"];
    tcp_threads_processes => ["-tlnpT"];
    tcp_threads_long => ["--tcp", "--all", "--threads"];
    tcp_no_header => ["-tanH"];
    inet_tos => ["-tuan", "--tos"];
    inet_cgroup => ["-tuan", "--cgroup"];
    inet_tos_cgroup_extended_oneline => ["-tuaneO", "--tos", "--cgroup"];
    tcp_extended => ["-tane"];
    tcp_timers => ["-tano"];
    tcp_memory => ["-tanm"];
    tcp_info => ["-tani"];
    tcp_info_oneline => ["-tanO", "-i"];
    tcp_everything => ["-tanoeimp"];
    tcp_everything_oneline => ["-tanoeimpO"];
    tcp_ipv4 => ["-4tan"];
    tcp_ipv6 => ["-6tan"];
    tcp_long_options => ["--tcp", "--all", "--numeric", "--extended"];
    // UDP and raw
    udp_all_numeric => ["-uan"];
    udp_all_services => ["-ua"];
    udp_connected => ["-un"];
    udp_extended_memory => ["-uanem"];
    udp_ipv6 => ["-6uan"];
    raw_all => ["-wa"];
    // Raw sockets come from /proc (no RAW_DIAG here): ss shows no details for them.
    raw_extended => ["-wane"];
    raw_info_memory => ["-wanim"];
    tcp_and_udp_listening => ["-tuln"];
    // Unix (-x selects the unix family: its default states are the connected ones)
    unix_connected => ["-x"];
    unix_with_tcp_query => ["-x", "-A", "tcp"];
    unix_all => ["-xa"];
    unix_all_numeric => ["-xan"];
    unix_listening => ["-xl"];
    unix_extended_memory => ["-xaem"];
    unix_processes => ["-xap"];
    unix_threads => ["-xaT"];
    unix_oneline => ["-xaO"];
    unix_stream_only => ["-a", "-A", "unix_stream"];
    unix_dgram_only => ["-a", "-A", "unix_dgram"];
    unix_seqpacket_only => ["-a", "-A", "unix_seqpacket"];
    // Packet
    packet_all => ["-0a"];
    packet_processes => ["-0ap"];
    packet_threads => ["-0aT"];
    packet_extended => ["-0ae"];
    packet_extended_oneline => ["-0aeO"];
    // ss's packet_diag reader ignores the socket type: either table lists every packet socket.
    packet_dgram_only => ["-a", "-A", "packet_dgram"];
    packet_raw_only => ["-a", "-A", "packet_raw"];
    // -b: packet socket filters (the fixture's SOCK_DGRAM one has one); -b turns on -o.
    packet_bpf => ["-0ab"];
    packet_bpf_oneline => ["-0abO"];
    packet_bpf_extended_memory => ["-0abem"];
    tcp_bpf_timers => ["-tanb"];
    // --inet-sockopt: the fixture's udp :514 has recverr, freebind, transparent,
    // bind_addr_no_port and mc_all off; TCP sockets show is_icsk.
    inet_sockopt => ["-tuan", "--inet-sockopt"];
    inet_sockopt_oneline => ["-tuanO", "--inet-sockopt"];
    inet_sockopt_everything => ["-tuanoeim", "--inet-sockopt", "--tos"];
    inet_sockopt_raw_from_proc => ["-wan", "--inet-sockopt"];
    // Netlink and everything at once
    netlink_all => ["-a", "-A", "netlink"];
    netlink_family => ["-a", "-f", "netlink"];
    everything => ["-a"];
    everything_numeric => ["-an"];
    everything_connected => ["-n"];
    everything_listening => ["-ln"];
    everything_timers_extended => ["-anoe"];
    // Table and family selection
    query_inet => ["-a", "-A", "inet"];
    query_tcp_udp => ["-an", "-A", "tcp,udp"];
    query_all => ["-an", "-A", "all"];
    family_inet => ["-an", "-f", "inet"];
    family_inet6 => ["-an", "-f", "inet6"];
    family_unix => ["-a", "-f", "unix"];
    family_link => ["-a", "-f", "link"];
    // Tables with no sockets in the namespace
    dccp => ["-dan"];
    sctp => ["-San"];
    mptcp => ["-Man"];
    // Summary
    summary => ["-s"];
}

/// vsock, tipc and xdp: this kernel has none of their diag modules, so ss prints its header
/// (whose columns depend on the tables and states chosen) and nothing on stderr.
#[test]
fn families_without_diag_modules() {
    let Some(bed) = testbed() else { return };
    let arg_sets: &[&[&str]] = &[
        &["--vsock"],
        &["-a", "--vsock"],
        &["--tipc"],
        &["-a", "--tipc", "--tipcinfo"],
        &["-l", "--tipc"],
        &["--xdp"],
        &["-an", "--xdp"],
        &["-f", "vsock"],
        &["-f", "tipc"],
        &["-f", "xdp"],
        &["-A", "vsock_stream"],
        &["-A", "v_dgr"],
        &["-A", "vsock,!v_str"],
        &["-A", "tipc"],
        &["-A", "xdp"],
        &["-an", "-A", "xdp,tcp"],
        &["-tn", "--vsock"],
        &["-H", "--vsock"],
        &["--vsock", "src", "1:2"],
        &["-tan", "--tipcinfo"],
    ];
    let mut failures = Vec::new();
    for args in arg_sets {
        let (ss, sockwatch) = (Run::ss(bed.ns(), args), Run::sockwatch(bed.ns(), args));
        if let Err(report) = check_same_with_stderr(&ss, &sockwatch, Masks::for_args(args)) {
            failures.push(report);
        }
    }
    assert_all_passed("vsock, tipc and xdp option sets", arg_sets.len(), &failures);
}

/// ss -b run by a user without CAP_NET_ADMIN: the kernel sends every packet socket's filter
/// attribute empty, and ss prints `bpf filter (0): ` for each.
#[test]
fn packet_bpf_unprivileged() {
    let Some(bed) = testbed() else { return };
    let args = ["-0ab"];
    let expected = Run::as_nobody(bed.ns(), "ss", "ss", &args);
    let actual = Run::as_nobody(
        bed.ns(),
        "sockwatch",
        sockwatch_bin(),
        &["snapshot", "-0ab"],
    );
    if let Err(report) = check_same_with_stderr(&expected, &actual, Masks::for_args(&args)) {
        panic!("{report}");
    }
}

/// DCCP where the kernel has no DCCP diag (none at all from Linux 6.16): ss 6.1, refused
/// the dump, tries the older DCCPDIAG_GETSOCK request and prints that refusal ("RTNETLINK
/// answers: Invalid argument" here) on stderr, once a run, then goes on and exits 0.
#[test]
fn dccp_without_diag_like_ss() {
    let Some(bed) = testbed() else { return };
    let arg_sets: &[&[&str]] = &[
        &["-d"],
        &["-dan"],
        &["-dl"],
        &["-dan4"],
        &["-dan6"],
        &["-tdan"],
        &["-an", "-A", "dccp"],
        &["-an", "-A", "inet"],
        &["-an", "-f", "inet"],
        &["-an"],
        &["-a"],
        &["-dane", "--tos"],
        &["-d", "sport", "=", ":22"],
    ];
    let mut failures = Vec::new();
    for args in arg_sets {
        let (ss, sockwatch) = (Run::ss(bed.ns(), args), Run::sockwatch(bed.ns(), args));
        if let Err(report) = check_same_with_stderr(&ss, &sockwatch, Masks::for_args(args)) {
            failures.push(report);
        }
    }
    assert_all_passed("DCCP option sets", arg_sets.len(), &failures);
}

#[test]
fn other_namespace_by_name() {
    let Some(bed) = testbed() else { return };
    let name = bed.ns().name();
    compare_with_ss(bed.ns(), &["-N", name, "-tan"]);
}

#[test]
fn filter_from_file() {
    let Some(bed) = testbed() else { return };
    let file = bed.socket_dir().join("filter");
    fs::write(
        &file,
        "( sport = :ssh or dport = :ssh ) and not dst 10.200.0.1\n",
    )
    .expect("writing the filter file");
    compare_with_ss(bed.ns(), &["-tan", "-F", path_str(&file)]);
}

/// Filter expressions, each with the options to list them under. `{dir}` stands for the
/// fixture's socket directory.
const FILTERS: &[(&str, &str)] = &[
    // States
    ("-tan", "state established"),
    ("-tan", "state listening"),
    ("-tan", "state time-wait"),
    ("-tan", "state fin-wait-2"),
    ("-tan", "state close-wait"),
    ("-tan", "state established state close-wait"),
    ("-tan", "state connected"),
    ("-tan", "state synchronized"),
    ("-tan", "state bucket"),
    ("-tan", "state big"),
    ("-tan", "state all"),
    ("-tan", "exclude time-wait"),
    ("-tan", "state connected exclude established"),
    ("-an", "state listening"),
    ("-xan", "state connected"),
    // Ports
    ("-tan", "( dport = :ssh or sport = :ssh )"),
    ("-tan", "sport = :http-alt"),
    ("-tan", "sport eq :22"),
    ("-tan", "dport != :22"),
    ("-tan", "dport ne :8080"),
    ("-tan", "dport gt :1024"),
    ("-tan", "dport > :1024"),
    ("-tan", "dport < :1024"),
    ("-tan", "sport le :80"),
    ("-tan", "sport ge :1024"),
    ("-tan", "sport lt :1024"),
    ("-tan", "sport gt :1024 and sport lt :65535"),
    ("-tan", "sport = :99999"),
    ("-uan", "dport = :mdns"),
    ("-uan", "dport = :ntp or sport = :ntp"),
    // Addresses
    ("-tan", "dst 127.0.0.1"),
    ("-tan", "src [::1]"),
    ("-tan", "src [::1]/128"),
    ("-tan", "src 127.0.0.0/8"),
    ("-tan", "dst 127.0.0.1/32"),
    ("-tan", "src 10.200.0.0/24"),
    ("-tan", "dst 10.200.0.1:22"),
    ("-tan", "src 127.0.0.1:8080"),
    ("-tan", "dst [::1]:8080"),
    ("-tan", "dst *:8080"),
    ("-tan", "dst 127.0.0.1:*"),
    ("-tan", "src [::ffff:127.0.0.1]"),
    ("-tan", "src localhost"),
    ("-uan", "src *:5353"),
    // Devices and flags
    ("-uan", "dev lo"),
    ("-tan", "dev swa"),
    ("-tuan", "dev swa"),
    ("-tan", "autobound"),
    // Boolean structure
    ("-tan", "not dport = :22"),
    ("-tan", "! ( sport = :80 )"),
    ("-tan", "src 127.0.0.1 and dport = :8080"),
    ("-tan", "src 127.0.0.1 or src [::1]"),
    ("-tan", "not ( src 127.0.0.1 or src [::1] )"),
    (
        "-tan",
        "( sport = :22 and dport gt :1024 ) or ( sport = :80 )",
    ),
    ("-tan", "state established ( dport = :ssh or sport = :ssh )"),
    ("-tan", "state established and not src 10.200.0.0/24"),
    // Unix addresses
    ("-xan", "src {dir}/*"),
    ("-xan", "src unix:{dir}/*"),
    ("-xan", "src {dir}/stream.sock"),
    ("-xan", "not src {dir}/*"),
    ("-xan", "src @sockfixture.stream"),
    ("-xan", "src @sockfixture*"),
    ("-xan", "src {dir}/dgram.sock or src @sockfixture.dgram"),
    ("-xan", "dst *"),
];

#[test]
fn filters_match_ss() {
    let Some(bed) = testbed() else { return };
    let dir = path_str(bed.socket_dir());
    let failures: Vec<String> = FILTERS
        .iter()
        .filter_map(|&(options, filter)| {
            let filter = filter.replace("{dir}", dir);
            check_with_ss(bed.ns(), &[options, &filter]).err()
        })
        .collect();
    assert_all_passed("filter expressions", FILTERS.len(), &failures);
}

/// Expressions ss rejects (some at parse time with a usage message, some while resolving a
/// name, port or address).
const BAD_FILTERS: &[&str] = &[
    "dport =",
    "dport gt",
    "( sport = :22",
    "sport = :22 )",
    "and",
    "not",
    "state bogus",
    "src 1.2.3.4.5",
    "dst 300.1.1.1",
    "src [::1",
    "dport = :nosuchservice",
    "sport > :abc",
    "dev nosuchdevice",
    "foo bar",
];

#[test]
fn bad_filters_fail_like_ss() {
    let Some(bed) = testbed() else { return };
    let failures: Vec<String> = BAD_FILTERS
        .iter()
        .filter_map(|filter| check_rejected_like_ss(bed.ns(), &["-tan", filter]).err())
        .collect();
    assert_all_passed("bad filter expressions", BAD_FILTERS.len(), &failures);
}

const BAD_OPTIONS: &[&[&str]] = &[
    &["-Q"],
    &["--bogus"],
    &["-A", "bogus"],
    &["-f", "bogus"],
    &["-N", "sw-no-such-namespace"],
    &["-F", "/nonexistent/filter"],
    &["-D"],
    // Without SELinux (this machine), ss refuses -Z and -z.
    &["-tZ"],
    &["-z"],
];

#[test]
fn bad_options_fail_like_ss() {
    let Some(bed) = testbed() else { return };
    let failures: Vec<String> = BAD_OPTIONS
        .iter()
        .filter_map(|args| check_rejected_like_ss(bed.ns(), args).err())
        .collect();
    assert_all_passed("bad option sets", BAD_OPTIONS.len(), &failures);
}

/// -D with a selection without TCP: ss writes nothing, says so on stderr and exits 0.
#[test]
fn dump_without_tcp_like_ss() {
    let Some(bed) = testbed() else { return };
    for args in [&["-u", "-D", "-"][..], &["-x", "-D", "/nonexistent/dump"]] {
        let (ss, sockwatch) = (Run::ss(bed.ns(), args), Run::sockwatch(bed.ns(), args));
        if let Err(report) = check_same(&ss, &sockwatch, Masks::default()) {
            panic!("{report}");
        }
        let said = "tcpdiag dump requested and no tcp in filter.\n";
        assert_eq!(ss.stderr(), format!("ss: {said}"));
        assert_eq!(sockwatch.stderr(), format!("sockwatch: {said}"));
        assert!(ss.success() && ss.output.stdout.is_empty());
    }
}

/// Display options and filters applied to a dump file. ss 6.1's -D writes TCP only (an IPv4
/// dump, then an IPv6 one).
const DUMP_READERS: &[&[&str]] = &[
    &["-tan"],
    &["-t"],
    &["-tl"],
    &["-tane"],
    &["-tano"],
    &["-tan", "state established"],
    &["-tan", "state", "established"],
    &["-tn", "sport", "=", ":22"],
];

/// `ss -D FILE`, read back by `sockwatch snapshot --read FILE` and by `TCPDIAG_FILE=FILE ss`:
/// both read the same bytes, so they must print exactly the same (no masks). Like ss, sockwatch
/// reads up to the first NLMSG_DONE (the IPv4 half) and applies the filter expression only,
/// not the selected states.
#[test]
fn reads_dumps_written_by_ss() {
    let Some(bed) = tcp_testbed() else { return };
    let ns = bed.ns();
    let dump = bed.socket_dir().join("ss.dump");
    let dump = path_str(&dump);
    let written = Run::ss(ns, &["-D", dump, "-ta"]);
    assert!(written.success(), "ss -D failed: {}", written.stderr());

    let mut failures = Vec::new();
    for args in DUMP_READERS {
        let expected = Run::ss_with_env(ns, &[("TCPDIAG_FILE", OsStr::new(dump))], args);
        let mut sockwatch_args = vec!["--read", dump];
        sockwatch_args.extend_from_slice(args);
        let actual = Run::sockwatch(ns, &sockwatch_args);
        failures.extend(check_same(&expected, &actual, Masks::default()).err());
    }
    assert_all_passed("dump readers", DUMP_READERS.len(), &failures);
}

/// `sockwatch snapshot -D FILE` must be a file ss reads (`TCPDIAG_FILE=FILE ss`), showing the
/// same as ss's own dump taken a moment later.
#[test]
fn writes_dumps_ss_reads() {
    let Some(bed) = tcp_testbed() else { return };
    let ns = bed.ns();
    let ss_dump = bed.socket_dir().join("ss.dump");
    let sockwatch_dump = bed.socket_dir().join("sockwatch.dump");
    let (ss_dump, sockwatch_dump) = (path_str(&ss_dump), path_str(&sockwatch_dump));
    let written = Run::sockwatch(ns, &["-D", sockwatch_dump, "-ta"]);
    assert!(
        written.success(),
        "sockwatch snapshot -D failed: {}",
        written.stderr()
    );
    let written = Run::ss(ns, &["-D", ss_dump, "-ta"]);
    assert!(written.success(), "ss -D failed: {}", written.stderr());

    let mut failures = Vec::new();
    for args in DUMP_READERS {
        let expected = Run::ss_with_env(ns, &[("TCPDIAG_FILE", OsStr::new(ss_dump))], args);
        let actual = Run::ss_with_env(ns, &[("TCPDIAG_FILE", OsStr::new(sockwatch_dump))], args);
        // Two dumps taken a moment apart: their timers differ.
        failures.extend(check_same(&expected, &actual, Masks::for_args(args)).err());
        // ss reports a truncated or malformed file on stderr only.
        if actual.stderr() != expected.stderr() {
            failures.push(format!(
                "`{}` complains about sockwatch's dump:\n{}\n(on ss's own dump: {:?})",
                actual.command_line,
                actual.stderr(),
                expected.stderr()
            ));
        }
    }
    assert_all_passed("readers of sockwatch's dump", DUMP_READERS.len(), &failures);
}

fn tcp_testbed() -> Option<Testbed> {
    Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &[SocketGroup::Tcp])
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
