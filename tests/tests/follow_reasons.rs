//! End-to-end: `sockwatch follow` says why each connection ended, on the real kernel, in
//! namespaces the tests make, both sides of each connection, IPv4 and IPv6.
//!
//! Each reason is also checked with the hook that tells it skipped (SOCKWATCH_SKIP_HOOKS, for
//! tests only): follow must then say it lacks the hook and must not guess the reason.

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::Duration,
};

use serde_json::Value;
use sockwatch_tests::{
    follow_run::{json_lines, lost, FollowRun, Recording},
    json::follow_line_problems,
    privilege::can_run_namespace_tests,
    NetNs,
};

const TCPEND: &str = env!("CARGO_BIN_EXE_tcpend");
const SKIP: &str = "SOCKWATCH_SKIP_HOOKS";

/// Runs `tcpend ARGS` in the namespace; returns its stdout. Panics when it fails.
fn tcpend(ns: &NetNs, args: &[&str]) -> String {
    let output = ns.command(TCPEND).args(args).output().expect("run tcpend");
    assert!(
        output.status.success(),
        "tcpend {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The port of `name=ADDR:PORT` in tcpend's output.
fn port_of(output: &str, name: &str) -> u64 {
    output
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {output}"))
}

/// Follows in `ns` (JSON) while `scenario` runs; returns the events and follow's stderr.
fn follow_json(
    ns: &NetNs,
    skip: &str,
    scenario: impl FnOnce() -> String,
) -> (Vec<Value>, String, String) {
    let follow = FollowRun::start_with_env(ns, &["--json"], &[(SKIP, skip)]);
    let startup = follow.startup.clone();
    let output = scenario();
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    let events = json_lines(&stdout);
    for event in &events {
        let problems = follow_line_problems(event);
        assert!(problems.is_empty(), "{problems:?}: {event}");
    }
    (events, startup, output)
}

/// The destroy event of the connection whose local port is `port` (not its listener's).
fn destroy_of(events: &[Value], port: u64) -> &Value {
    events
        .iter()
        .find(|e| e["type"] == "destroy" && e["local"]["port"] == port && e["peer"]["port"] != 0)
        .unwrap_or_else(|| panic!("no destroy of local port {port} in {events:#?}"))
}

fn addresses() -> [&'static str; 2] {
    ["127.0.0.1", "::1"]
}

#[test]
fn a_fin_exchange_ends_normal_on_both_sides() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let ns = NetNs::create();
        let (events, _, output) = follow_json(&ns, "", || tcpend(&ns, &["normal", addr]));
        for side in ["client", "server"] {
            let end = destroy_of(&events, port_of(&output, side));
            assert_eq!(end["reason"], "normal", "{side} {addr}: {end}");
            assert_eq!(end["errno"], Value::Null, "{end}");
            assert_eq!(end["comm"], "tcpend", "{end}");
            // The kernel's counters include the FIN's sequence number (bytes_acked the active
            // opener's SYN's too).
            for counter in ["bytes_acked", "bytes_received"] {
                let value = end[counter].as_u64().unwrap_or(0);
                assert!((100..=102).contains(&value), "{counter}: {end}");
            }
            assert!(end["srtt_us"].as_u64().is_some(), "{end}");
        }
        let client = destroy_of(&events, port_of(&output, "client"));
        assert!(client["connect_us"].as_u64().is_some(), "{client}");
    }
}

/// ... and a recording of that run replays it so: the recording says which hooks were
/// attached (a replay cannot tell `normal` where the live run could not).
#[test]
fn without_the_reset_hook_a_quiet_end_is_unknown_and_said_once() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let recording = Recording::new(&ns, "reasons");
    let follow = FollowRun::start_with_env(
        &ns,
        &["--json", "--write", recording.arg()],
        &[(SKIP, "tcp_send_reset")],
    );
    let startup = follow.startup.clone();
    let output = tcpend(&ns, &["normal", "127.0.0.1"]);
    std::thread::sleep(Duration::from_millis(300));
    let (live, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    assert_eq!(
        startup
            .lines()
            .filter(|l| l.contains("resets this host sent"))
            .count(),
        1,
        "{startup}"
    );
    let client = port_of(&output, "client");
    let end = destroy_of(&json_lines(&live), client).clone();
    assert_eq!(end["reason"], "unknown", "{end}");

    let replayed = json_lines(&recording.replay(&["--json"]));
    assert_eq!(destroy_of(&replayed, client), &end);
}

#[test]
fn so_linger_zero_is_reset_sent_with_its_bytes_and_reset_received_on_the_peer() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let ns = NetNs::create();
        let (events, _, output) = follow_json(&ns, "", || tcpend(&ns, &["abort", addr]));
        let (client_port, server_port) = (port_of(&output, "client"), port_of(&output, "server"));
        let client = destroy_of(&events, client_port);
        assert_eq!(client["reason"], "reset-sent", "{addr}: {client}");
        assert!(client["detail"].is_string(), "{client}");
        // 5000 bytes and the SYN's sequence number (no FIN: the RST ended it).
        assert_eq!(client["bytes_acked"], 5001, "{client}");
        assert_eq!(client["bytes_received"], 2000, "{client}");
        assert_eq!(client["peer"]["port"], server_port, "{client}");
        assert_eq!(client["comm"], "tcpend", "{client}");
        let server = destroy_of(&events, server_port);
        assert_eq!(server["reason"], "reset-received", "{addr}: {server}");
        assert_eq!(server["errno"], "ECONNRESET", "{server}");
        assert_eq!(server["bytes_received"], 5000, "{server}");
        assert_eq!(server["bytes_acked"], 2000, "{server}");
        assert_eq!(server["comm"], "tcpend", "{server}");
    }
    // The resets come from their hooks, not from the state sequence.
    let ns = NetNs::create();
    let (events, _, output) = follow_json(&ns, "tcp_send_reset,tcp_receive_reset", || {
        tcpend(&ns, &["abort", "127.0.0.1"])
    });
    for side in ["client", "server"] {
        let end = destroy_of(&events, port_of(&output, side));
        assert_eq!(end["reason"], "unknown", "{side}: {end}");
    }
}

#[test]
fn a_closed_port_is_refused_with_the_owner() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let ns = NetNs::create();
        let (events, _, _) = follow_json(&ns, "", || tcpend(&ns, &["refused", addr, "9"]));
        let end = events
            .iter()
            .find(|e| e["type"] == "destroy" && e["peer"]["port"] == 9)
            .unwrap_or_else(|| panic!("no destroy towards port 9: {events:#?}"));
        assert_eq!(end["reason"], "refused", "{addr}: {end}");
        assert_eq!(end["errno"], "ECONNREFUSED", "{end}");
        assert_eq!(end["comm"], "tcpend", "{end}");
    }
    let ns = NetNs::create();
    let (events, _, _) = follow_json(&ns, "tcp_receive_reset,inet_sk_error_report", || {
        tcpend(&ns, &["refused", "127.0.0.1", "9"])
    });
    let end = events
        .iter()
        .find(|e| e["type"] == "destroy" && e["peer"]["port"] == 9)
        .expect("destroy");
    assert_eq!(end["reason"], "unknown", "{end}");
}

#[test]
fn a_connect_with_no_route_is_unreachable_with_owner_and_destination() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in ["10.99.0.1", "2001:db8::1"] {
        let ns = NetNs::create();
        let (events, _, _) = follow_json(&ns, "", || tcpend(&ns, &["unreachable", addr, "80"]));
        let attempt = events
            .iter()
            .find(|e| e["type"] == "connect-failed")
            .unwrap_or_else(|| panic!("no connect-failed event: {events:#?}"));
        assert_eq!(attempt["reason"], "unreachable", "{attempt}");
        assert_eq!(attempt["errno"], "ENETUNREACH", "{attempt}");
        assert_eq!(attempt["peer"]["address"], addr, "{attempt}");
        assert_eq!(attempt["peer"]["port"], 80, "{attempt}");
        assert_eq!(attempt["comm"], "tcpend", "{attempt}");
        let end = events
            .iter()
            .find(|e| e["type"] == "destroy")
            .unwrap_or_else(|| panic!("no destroy: {events:#?}"));
        assert_eq!(end["reason"], "unreachable", "{end}");
        assert_eq!(end["peer"]["address"], addr, "{end}");
        assert_eq!(end["comm"], "tcpend", "{end}");
    }
    let ns = NetNs::create();
    let (events, startup, _) = follow_json(&ns, "sys_exit_connect", || {
        tcpend(&ns, &["unreachable", "10.99.0.1", "80"])
    });
    assert!(
        startup.contains("connect() failing before a SYN"),
        "{startup}"
    );
    assert!(events.iter().all(|e| e["type"] != "connect-failed"));
    let end = events
        .iter()
        .find(|e| e["type"] == "destroy")
        .expect("destroy");
    assert_eq!(end["reason"], "unknown", "{end}");
}

/// Runs `tcpend hold ADDR`, kills its client through sock_diag (`ss -K`) and returns tcpend's
/// output.
fn kill_held_connection(ns: &NetNs, addr: &str) -> String {
    let mut hold = ns
        .command(TCPEND)
        .args(["hold", addr])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpend hold");
    let mut stdout = BufReader::new(hold.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("tcpend hold output");
    let server_port = port_of(&first, "server");
    let ss = ns.run("ss", ["-K", "-t", "dport", "=", &format!(":{server_port}")]);
    assert!(ss.status.success(), "ss -K: {ss:?}");
    let mut rest = String::new();
    stdout.read_line(&mut rest).expect("tcpend hold result");
    assert!(hold.wait().expect("wait tcpend").success(), "{rest}");
    first
}

#[test]
fn a_socket_killed_through_sock_diag_is_killed_and_its_peer_reset() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let ns = NetNs::create();
        let (events, _, output) = follow_json(&ns, "", || kill_held_connection(&ns, addr));
        let client = destroy_of(&events, port_of(&output, "client"));
        assert_eq!(client["reason"], "killed", "{addr}: {client}");
        assert_eq!(client["errno"], "ECONNABORTED", "{client}");
        let server = destroy_of(&events, port_of(&output, "server"));
        assert_eq!(server["reason"], "reset-received", "{addr}: {server}");
    }
    let ns = NetNs::create();
    let (events, _, output) = follow_json(&ns, "inet_sk_error_report", || {
        kill_held_connection(&ns, "127.0.0.1")
    });
    let client = destroy_of(&events, port_of(&output, "client"));
    assert_ne!(client["reason"], "killed", "{client}");
}

/// A listener with backlog 0 that never accepts (syncookies off, tcp_syn_retries 1) and four
/// clients, followed with `--retransmits` and the hooks in `skip` left out: the events,
/// follow's stderr and the listener's port.
fn overflow_a_listener(addr: &str, skip: &str) -> (Vec<Value>, String, u64) {
    let ns = NetNs::create();
    // TCP's sysctls live under net.ipv4 for both families.
    for setting in ["net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_syn_retries=1"] {
        let out = ns.run("sysctl", ["-qw", setting]);
        assert!(out.status.success(), "sysctl {setting}: {out:?}");
    }
    let follow = FollowRun::start_with_env(&ns, &["--json", "--retransmits"], &[(SKIP, skip)]);
    let output = tcpend(&ns, &["overflow", addr, "4"]);
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    (json_lines(&stdout), stderr, port_of(&output, "listener"))
}

#[test]
fn clients_of_a_full_listener_retransmit_their_syn_and_time_out() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let (events, stderr, listener_port) = overflow_a_listener(addr, "");
        let timed_out: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["type"] == "destroy"
                    && e["peer"]["port"] == listener_port
                    && e["reason"] == "timeout"
            })
            .collect();
        assert!(!timed_out.is_empty(), "{addr}: {events:#?}");
        for end in &timed_out {
            assert_eq!(end["errno"], "ETIMEDOUT", "{end}");
            assert!(end["total_retrans"].as_u64() >= Some(1), "{end}");
            assert_eq!(end["comm"], "tcpend", "{end}");
        }
        assert!(
            events
                .iter()
                .any(|e| e["type"] == "retransmit" && e["peer"]["port"] == listener_port),
            "no retransmit event: {events:#?}"
        );
        assert!(stderr.contains("timeout"), "summary by reason: {stderr}");
        // The SYNs dropped at the full accept queue, against the listener and its owner.
        let drops: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "drop" && e["local"]["port"] == listener_port)
            .collect();
        assert!(!drops.is_empty(), "no drop event: {events:#?}");
        for drop in &drops {
            assert_eq!(drop["drop_reason"], "listen-overflow", "{drop}");
            assert!(drop["count"].as_u64() >= Some(1), "{drop}");
            assert_eq!(drop["comm"], "tcpend", "{drop}");
        }
        assert!(
            stderr.contains("listen-overflow"),
            "summary of drops: {stderr}"
        );
        // The one client the queue took was never accepted: the listener's owner, marked.
        let unaccepted = events
            .iter()
            .find(|e| {
                e["type"] == "destroy"
                    && e["local"]["port"] == listener_port
                    && e["peer"]["port"] != 0
            })
            .unwrap_or_else(|| panic!("no destroy of the queued connection: {events:#?}"));
        assert_eq!(unaccepted["owner_from"], "listener", "{unaccepted}");
        assert_eq!(unaccepted["comm"], "tcpend", "{unaccepted}");
    }
    // ETIMEDOUT is the kernel's word, not a guess from the SYN retransmits.
    let (events, _, listener_port) = overflow_a_listener("127.0.0.1", "inet_sk_error_report");
    let ends: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "destroy" && e["peer"]["port"] == listener_port)
        .collect();
    assert!(!ends.is_empty(), "{events:#?}");
    assert!(ends.iter().all(|e| e["reason"] != "timeout"), "{ends:#?}");
}

/// Two namespaces joined by a veth pair: `near` 10.201.0.1/24 and `far` 10.201.0.2/24.
struct Link {
    near: NetNs,
    far: NetNs,
}

impl Link {
    fn new() -> Link {
        let (near, far) = (NetNs::create(), NetNs::create());
        let id = std::process::id() % 100_000;
        let (a, b) = (format!("rt{id}a"), format!("rt{id}b"));
        let ip = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .expect("run ip");
            assert!(out.status.success(), "ip {args:?}: {out:?}");
        };
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
        ip(&["link", "set", &a, "netns", near.name()]);
        ip(&["link", "set", &b, "netns", far.name()]);
        for (ns, dev, addr) in [(&near, &a, "10.201.0.1/24"), (&far, &b, "10.201.0.2/24")] {
            for args in [
                vec!["addr", "add", addr, "dev", dev],
                vec!["link", "set", dev, "up"],
            ] {
                let out = ns.run("ip", &args);
                assert!(out.status.success(), "ip {args:?}: {out:?}");
            }
        }
        Link { near, far }
    }

    /// Cuts or restores the far side's way back: a blackhole route to the near address
    /// swallows its ACKs, so the near side's segments go unacknowledged and are retransmitted
    /// (a link set down would make the near side's sends fail locally instead).
    fn cut_return_path(&self, cut: bool) {
        let verb = if cut { "add" } else { "del" };
        let out = self
            .far
            .run("ip", ["route", verb, "blackhole", "10.201.0.1/32"]);
        assert!(out.status.success(), "route {verb}: {out:?}");
    }
}

/// Sends 1 MiB over a link whose return path is cut for 1.5 s, following with `--retransmits`
/// and the hooks in `skip` left out; returns the events, follow's start-up lines and the
/// client's port.
fn send_over_a_lossy_link(skip: &str) -> (Vec<Value>, String, u64) {
    let link = Link::new();
    let mut sink = link
        .far
        .command(TCPEND)
        .args(["sink", "10.201.0.2", "7100"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpend sink");
    let mut sink_out = BufReader::new(sink.stdout.take().expect("piped"));
    let mut line = String::new();
    sink_out.read_line(&mut line).expect("sink ready");
    let follow =
        FollowRun::start_with_env(&link.near, &["--json", "--retransmits"], &[(SKIP, skip)]);
    let startup = follow.startup.clone();
    let mut sender = link
        .near
        .command(TCPEND)
        .args(["send", "10.201.0.2", "7100"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpend send");
    std::thread::sleep(Duration::from_millis(300));
    link.cut_return_path(true);
    std::thread::sleep(Duration::from_millis(1500));
    link.cut_return_path(false);
    assert!(sender.wait().expect("wait sender").success());
    assert!(sink.wait().expect("wait sink").success());
    let mut output = String::new();
    std::io::Read::read_to_string(&mut sender.stdout.take().expect("piped"), &mut output)
        .expect("sender output");
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    (json_lines(&stdout), startup, port_of(&output, "client"))
}

#[test]
fn data_in_flight_whose_acks_are_lost_is_retransmitted() {
    if !can_run_namespace_tests() {
        return;
    }
    let (events, _, client_port) = send_over_a_lossy_link("");
    let end = destroy_of(&events, client_port);
    assert_eq!(end["reason"], "normal", "{end}");
    let retransmits = end["total_retrans"].as_u64().unwrap_or(0);
    assert!(retransmits >= 1, "{end}");
    let shown = events
        .iter()
        .filter(|e| e["type"] == "retransmit" && e["local"]["port"] == client_port)
        .count();
    assert!(shown >= 1, "no retransmit events: {events:#?}");
    assert!(end["min_rtt_us"].as_u64().is_some(), "{end}");
    // The events come from the retransmit hook; the count from the socket, hook or not.
    let (events, startup, client_port) = send_over_a_lossy_link("tcp_retransmit_skb");
    assert!(startup.contains("retransmit events"), "{startup}");
    assert!(events.iter().all(|e| e["type"] != "retransmit"));
    let end = destroy_of(&events, client_port);
    assert!(end["total_retrans"].as_u64() >= Some(1), "{end}");
}

#[test]
fn io_uring_connect_and_accept_name_no_wrong_owner() {
    if !can_run_namespace_tests() {
        return;
    }
    for addr in addresses() {
        let ns = NetNs::create();
        let (events, _, output) = follow_json(&ns, "", || tcpend(&ns, &["uring", addr]));
        let (client_port, server_port) = (port_of(&output, "client"), port_of(&output, "server"));
        let of = |port: u64| -> Vec<&Value> {
            events
                .iter()
                .filter(|e| e["local"]["port"] == port && e["peer"]["port"] != 0)
                .collect()
        };
        let (client, server) = (of(client_port), of(server_port));
        assert!(!client.is_empty() && !server.is_empty(), "{events:#?}");
        let pid = client
            .iter()
            .find_map(|e| e["pid"].as_u64())
            .unwrap_or_else(|| panic!("the io_uring connect names no owner: {client:#?}"));
        // io_uring's connect runs in the caller's context: the connect hook names it.
        for event in &client {
            assert_eq!(event["pid"], pid, "{event}");
            assert_eq!(event["owner_from"], Value::Null, "{event}");
        }
        // No accept syscall: the owner shown is the listener's, marked as such (or none).
        for event in &server {
            if !event["pid"].is_null() {
                assert_eq!(event["pid"], pid, "{event}");
                assert_eq!(event["owner_from"], "listener", "{event}");
            }
        }
        assert_eq!(destroy_of(&events, server_port)["reason"], "normal");
        assert_eq!(destroy_of(&events, client_port)["reason"], "normal");
    }
}

/// A refused connect, a reset pair and a normal close, in the namespace.
fn fail_some(ns: &NetNs) -> (u64, u64) {
    tcpend(ns, &["refused", "127.0.0.1", "9"]);
    let output = tcpend(ns, &["abort", "127.0.0.1"]);
    tcpend(ns, &["normal", "127.0.0.1"]);
    (port_of(&output, "client"), port_of(&output, "server"))
}

#[test]
fn the_failed_table_shows_the_recent_failures_with_their_reasons() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let follow = FollowRun::start(&ns, &["--table", "--failed", "--json", "--interval", "0.2"]);
    let (client_port, server_port) = fail_some(&ns);
    std::thread::sleep(Duration::from_millis(500));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    let last = json_lines(&stdout)
        .pop()
        .unwrap_or_else(|| panic!("no table: {stdout}"));
    assert_eq!(last["type"], "failures", "{last}");
    assert_eq!(last["window_s"], 60, "{last}");
    let ends = last["ends"].as_array().expect("ends");
    // The listeners' and the normal connection's ends are not failures.
    assert_eq!(ends.len(), 3, "{last:#}");
    assert_eq!(last["failed"], 3);
    assert!(ends
        .iter()
        .all(|e| e["type"] == "destroy" && e["comm"] == "tcpend"));
    let reason_of = |port: u64, key: &str| {
        ends.iter()
            .find(|e| e[key]["port"] == port)
            .unwrap_or_else(|| panic!("no end with {key} port {port}: {last:#}"))["reason"]
            .clone()
    };
    assert_eq!(reason_of(9, "peer"), "refused");
    assert_eq!(reason_of(client_port, "local"), "reset-sent");
    assert_eq!(reason_of(server_port, "local"), "reset-received");
    let times: Vec<u64> = ends.iter().map(|e| e["ts_ns"].as_u64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    // As text: a title with the count, then --lifetime's lines.
    let follow = FollowRun::start(&ns, &["--table", "--failed", "-n", "--interval", "0.2"]);
    fail_some(&ns);
    std::thread::sleep(Duration::from_millis(500));
    let (stdout, _) = follow.interrupt();
    let last_title = stdout
        .rfind(" failed in the last 60 s")
        .unwrap_or_else(|| panic!("no failures title: {stdout}"));
    let table = &stdout[stdout[..last_title].rfind('\n').map_or(0, |i| i + 1)..];
    assert!(table.contains("3 failed in the last 60 s"), "{table}");
    assert!(table.contains("REASON"), "{table}");
    assert!(table.contains("refused (ECONNREFUSED)"), "{table}");
    assert!(table.contains(":9 "), "{table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(!table.contains("normal"), "{table}");
}
