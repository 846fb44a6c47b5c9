//! End-to-end: `sockwatch follow` on the real kernel, in network namespaces the tests create.
//! Every test here loads eBPF programs; under CI=true one that cannot run fails.

use std::{
    collections::HashMap,
    path::Path,
    process::{Child, Stdio},
};

use serde_json::Value;
use sockwatch_tests::process;
use sockwatch_tests::{
    fixture::Fixture,
    follow_run::{full_tcp_socket_keys, json_lines, lost, FollowRun, Recording},
    json::{follow_line_problems, table_socket_keys},
    privilege::can_run_namespace_tests,
    process::Held,
    sockwatch_bin, NetNs, SocketGroup,
};

/// One table, in JSON, at once.
const ONE_TABLE: [&str; 7] = [
    "follow",
    "--table",
    "--json",
    "--count",
    "1",
    "--interval",
    "0.1",
];

/// Runs tcpchurn in the namespace: `connections` short connections to 127.0.0.1:`port`.
fn churn(ns: &NetNs, connections: u32, port: u16) {
    process::churn(ns, env!("CARGO_BIN_EXE_tcpchurn"), connections, port, &[]);
}

fn states(events: &[&Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "transition")
        .map(|e| {
            (
                e["old_state"].as_str().unwrap_or("").to_string(),
                e["new_state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn every_short_connection_shows_all_its_transitions_with_owners() {
    const CONNECTIONS: u32 = 1000;
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let follow = FollowRun::start(&ns, &["--json"]);
    churn(&ns, CONNECTIONS, 7001);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");

    let events = json_lines(&stdout);
    let mut by_cookie: HashMap<u64, Vec<&Value>> = HashMap::new();
    for event in &events {
        by_cookie
            .entry(event["cookie"].as_u64().expect("cookie"))
            .or_default()
            .push(event);
    }
    let mut clients = 0;
    let mut accepted = 0;
    for socket in by_cookie.values() {
        let seq = states(socket);
        if seq.first().map(|s| s.1.as_str()) == Some("SYN_SENT") {
            clients += 1;
            assert_eq!(
                seq,
                [
                    ("CLOSE", "SYN_SENT"),
                    ("SYN_SENT", "ESTABLISHED"),
                    ("ESTABLISHED", "FIN_WAIT1"),
                    ("FIN_WAIT1", "FIN_WAIT2"),
                    ("FIN_WAIT2", "CLOSE"),
                ]
                .map(|(a, b)| (a.to_string(), b.to_string())),
                "client socket {socket:?}"
            );
            for event in socket {
                assert_eq!(event["comm"], "tcpchurn", "client owner: {event}");
                assert_eq!(event["peer"]["port"], 7001, "{event}");
            }
        } else if seq.first().map(|s| s.0.as_str()) == Some("LISTEN") {
            accepted += 1;
            assert_eq!(
                seq,
                [
                    ("LISTEN", "SYN_RECV"),
                    ("SYN_RECV", "ESTABLISHED"),
                    ("ESTABLISHED", "CLOSE_WAIT"),
                    ("CLOSE_WAIT", "LAST_ACK"),
                    ("LAST_ACK", "CLOSE"),
                ]
                .map(|(a, b)| (a.to_string(), b.to_string())),
                "accepted socket {socket:?}"
            );
            // accept() names the owner: every transition after it carries the acceptor.
            let after_accept = socket
                .iter()
                .find(|e| e["new_state"] == "CLOSE_WAIT")
                .expect("CLOSE_WAIT");
            assert_eq!(after_accept["comm"], "tcpchurn", "{after_accept}");
            assert_eq!(after_accept["local"]["port"], 7001);
        }
    }
    assert_eq!(clients, CONNECTIONS, "client sockets seen");
    assert_eq!(accepted, CONNECTIONS, "accepted sockets seen");
}

/// The socket fixture's TCP sockets (listeners, connections, orphans), in `ns`.
fn tcp_fixture(ns: &NetNs) -> Fixture {
    Fixture::start_with_own_dir(
        ns,
        Path::new(env!("CARGO_BIN_EXE_sockfixture")),
        &[SocketGroup::Tcp],
    )
}

#[test]
fn sockets_open_before_start_come_from_the_snapshot() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let fixture = tcp_fixture(&ns);

    // The table view lists them with their owner before any event happened.
    let table = ns.run(sockwatch_bin(), ONE_TABLE);
    assert!(table.status.success(), "{table:?}");
    let first = json_lines(&String::from_utf8_lossy(&table.stdout))
        .into_iter()
        .next()
        .expect("one table line");
    let sockets = first["sockets"].as_array().expect("sockets");
    assert!(
        sockets.iter().any(|s| s["state"] == "ESTABLISHED"),
        "established sockets in {first}"
    );
    // Owners come from /proc: every owned socket is the fixture's (a connection still in
    // the accept queue has no owner yet, as in ss -p).
    assert!(
        sockets
            .iter()
            .any(|s| s["state"] == "ESTABLISHED" && s["comm"] == "sockfixture"),
        "owners from /proc in {first}"
    );
    assert!(
        sockets
            .iter()
            .all(|s| s["comm"].is_null() || s["comm"] == "sockfixture"),
        "{first}"
    );

    // Their later transitions join them by cookie: the peer that sees the FIN does so in
    // softirq context, yet carries the owner the snapshot found.
    let follow = FollowRun::start(&ns, &["--json"]);
    drop(fixture);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (stdout, stderr) = follow.interrupt();
    assert!(stderr.contains(" at start"), "{stderr}");
    let events = json_lines(&stdout);
    let owned: Vec<&Value> = sockets
        .iter()
        .filter(|s| s["comm"] == "sockfixture")
        .map(|s| &s["cookie"])
        .collect();
    let passive = events
        .iter()
        .find(|e| {
            e["old_state"] == "ESTABLISHED"
                && e["new_state"] == "CLOSE_WAIT"
                && owned.contains(&&e["cookie"])
        })
        .unwrap_or_else(|| panic!("a passive close of an owned socket in {stdout}"));
    assert_eq!(passive["comm"], "sockfixture", "{passive}");
    assert!(
        passive["in_old_state_ms"].is_null(),
        "time in state unknown for a socket older than follow: {passive}"
    );
}

#[test]
fn a_filter_keeps_other_traffic_in_the_kernel() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let follow = FollowRun::start(&ns, &["--json", "sport = :7101 or dport = :7101"]);
    churn(&ns, 50, 7101);
    churn(&ns, 50, 7102);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (stdout, stderr) = follow.interrupt();
    let events = json_lines(&stdout);
    assert!(!events.is_empty(), "matching events arrive");
    for event in &events {
        let ports = [&event["local"]["port"], &event["peer"]["port"]];
        assert!(ports.contains(&&Value::from(7101)), "{event}");
    }
    // "X filtered (X in the kernel)": everything filtered was filtered before the ring buffer.
    let filtered = stderr
        .lines()
        .find(|l| l.contains("filtered"))
        .unwrap_or_else(|| panic!("no filtered count in {stderr}"))
        .split(", ")
        .find(|p| p.contains("filtered"))
        .unwrap_or_else(|| panic!("no filtered count in {stderr}"));
    let numbers: Vec<u64> = filtered
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        numbers.len() == 2 && numbers[0] == numbers[1] && numbers[0] > 0,
        "{stderr}"
    );
}

#[test]
fn json_lines_parse_and_a_recording_replays_the_same_output() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let recording = Recording::new(&ns, "replay");
    for view in [&[][..], &["--lifetime"][..]] {
        let mut args = vec!["--json", "--write", recording.arg()];
        args.extend_from_slice(view);
        let follow = FollowRun::start(&ns, &args);
        churn(&ns, 20, 7201);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (live, _) = follow.interrupt();
        let lines = json_lines(&live);
        assert!(!lines.is_empty(), "events for {view:?}");

        let mut replay_view = vec!["--json"];
        replay_view.extend_from_slice(view);
        // The same lines after the start line, which names the source.
        let replayed = recording.replay(&replay_view);
        let (live_start, live_rest) = live.split_once('\n').expect("a start line");
        let (replay_start, replay_rest) = replayed.split_once('\n').expect("a start line");
        assert!(live_start.contains(r#""source":"live""#), "{live_start}");
        assert!(
            replay_start.contains(r#""source":"recording""#),
            "{replay_start}"
        );
        assert_eq!(replay_rest, live_rest, "replay of {view:?}");
    }
}

/// `{"lost": n}` of the summary equals the sum of the inline reports, and after the loss the
/// table is rebuilt: the table follow shows when it stops lists what a fresh snapshot lists.
#[test]
fn a_full_ring_buffer_is_counted_reported_and_the_table_resynced() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let _fixture = tcp_fixture(&ns);
    let start_churn = || {
        ns.command(env!("CARGO_BIN_EXE_tcpchurn"))
            .args(["--connections", "4000", "--threads", "2", "--seconds", "30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpchurn")
    };
    let finish = |churn: Child| {
        let output = churn.wait_with_output().expect("wait for tcpchurn");
        assert!(output.status.success(), "{output:?}");
    };

    // The event log: inline reports add up to the summary's count.
    let log = FollowRun::start(&ns, &["--json", "--ring-kib", "4"]);
    finish(start_churn());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (stdout, stderr) = log.interrupt();
    let reported: u64 = json_lines(&stdout)
        .iter()
        .filter(|e| e["type"] == "lost")
        .inspect(|e| assert_eq!(follow_line_problems(e), Vec::<String>::new(), "{e}"))
        .map(|e| e["lost"].as_u64().expect("lost count"))
        .sum();
    assert!(lost(&stderr) > 0, "a 4 KiB ring must overflow: {stderr}");
    assert_eq!(reported, lost(&stderr), "{stderr}");

    // The table view: sockets open at start end in the middle of the churn, where their
    // ends are most likely lost, so that only a rebuild can take them out. The table
    // printed last (at the interrupt) must be the kernel's. The interval is longer than the
    // run: a rebuild on a loaded machine can take longer than any interval (seconds), and
    // the last periodic table then predated the end of the churn (the flake of this test).
    let table_args = ["--table", "--json", "-n", "--ring-kib", "4"];
    for round in 1..=3 {
        let held = hold(&ns, 10);
        let table = FollowRun::start(&ns, &[&table_args[..], &["--interval", "60"]].concat());
        let churn = start_churn();
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        finish(churn);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (stdout, stderr) = table.interrupt();
        assert!(lost(&stderr) > 0, "round {round}: {stderr}");
        assert_eq!(
            table_socket_keys(&stdout),
            full_tcp_socket_keys(&ns),
            "round {round}: table at stop vs snapshot"
        );
    }
}

/// Runs tcpchurn in the namespace with every `reset_every`-th connection closed by RST
/// (SO_LINGER 0): the kernel clears the remote port, the local address and the byte
/// counters before it destroys such a socket.
fn churn_with_resets(ns: &NetNs, connections: u32, port: u16, reset_every: u32) {
    let args = ["--reset-every", &reset_every.to_string()];
    process::churn(ns, env!("CARGO_BIN_EXE_tcpchurn"), connections, port, &args);
}

/// tcphold in `ns`: `connections` loopback connections held for the test.
fn hold(ns: &NetNs, connections: u32) -> Held {
    Held::start(ns, env!("CARGO_BIN_EXE_tcphold"), connections, 120)
}

/// A kernel-side port filter admits a socket at its first matching event; its end is then
/// delivered even though a reset cleared the remote port first. The table keeps no dead
/// socket and --lifetime shows every connection once.
#[test]
fn a_port_filter_keeps_the_end_of_connections_closed_by_reset() {
    const CONNECTIONS: u32 = 1000;
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let table = FollowRun::start(
        &ns,
        &[
            "--table",
            "--json",
            "-n",
            "--interval",
            "0.2",
            "dport = :7600",
        ],
    );
    churn_with_resets(&ns, CONNECTIONS, 7600, 2);
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (stdout, stderr) = table.interrupt();
    assert_eq!(lost(&stderr), 0, "{stderr}");
    // tcpchurn has exited: no socket with remote port 7600 is left (TIME-WAIT is not in
    // the table).
    assert_eq!(table_socket_keys(&stdout), Vec::<String>::new(), "{stderr}");

    let lifetime = FollowRun::start(&ns, &["--lifetime", "--json", "dport = :7601"]);
    churn_with_resets(&ns, 100, 7601, 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (stdout, stderr) = lifetime.interrupt();
    let ends = json_lines(&stdout);
    assert_eq!(ends.len(), 100, "one line a connection: {stdout}\n{stderr}");
}

/// After a reset the kernel has cleared the addresses and the counters before the destroy:
/// --lifetime takes them from the socket's last transition, so every connection shows its
/// real ends and the byte it sent and the byte it got back.
#[test]
fn lifetimes_of_connections_closed_by_reset_show_their_addresses_and_bytes() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let follow = FollowRun::start(&ns, &["--lifetime", "--json"]);
    churn_with_resets(&ns, 100, 7602, 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (stdout, stderr) = follow.interrupt();
    let clients: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter(|e| e["comm"] == "tcpchurn" && e["local"]["port"] != 7602)
        .collect();
    // Clients and their accepted peers; the listener has no peer port.
    let accepted = json_lines(&stdout)
        .into_iter()
        .filter(|e| e["local"]["port"] == 7602 && e["peer"]["port"] != 0)
        .count();
    assert_eq!(clients.len(), 100, "{stdout}\n{stderr}");
    assert_eq!(accepted, 100, "{stdout}");
    for end in &clients {
        assert_eq!(end["local"]["address"], "127.0.0.1", "{end}");
        assert_eq!(end["peer"]["port"], 7602, "{end}");
        // The byte sent (and, as the kernel counts, the SYN), the echo received.
        assert!(end["bytes_acked"].as_u64() >= Some(1), "{end}");
        assert!(end["bytes_received"].as_u64() >= Some(1), "{end}");
    }
}

/// A state filter admits a connection when it reaches the state; --lifetime then shows it
/// at its end (both ends of each connection pass through ESTABLISHED, the listener never).
#[test]
fn lifetime_with_a_state_filter_shows_connections_that_reached_the_state() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let follow = FollowRun::start(&ns, &["--lifetime", "--json", "state", "established"]);
    churn_with_resets(&ns, 100, 7603, 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (stdout, stderr) = follow.interrupt();
    assert_eq!(json_lines(&stdout).len(), 200, "{stdout}\n{stderr}");
}

/// With --all-netns the table starts from, and is rebuilt after a loss from, every
/// namespace in use: another namespace's connections stay in it.
#[test]
fn all_netns_lists_and_resyncs_every_namespace() {
    if !can_run_namespace_tests() {
        return;
    }
    let watcher = NetNs::create();
    let other = NetNs::create();
    let held = hold(&other, 10);
    let listed = other.run(sockwatch_bin(), ["snapshot", "-tane", "--json"]);
    let cookies: Vec<Value> = serde_json::from_slice::<Value>(&listed.stdout)
        .expect("snapshot JSON")["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(|s| s["cookie"].clone())
        .collect();
    assert_eq!(cookies.len(), 21, "10 pairs and a listener");
    // Other tests' namespaces come and go meanwhile; `ip netns add` creates its /run/netns
    // entry as an empty file before it bind-mounts the namespace on it (and `ip netns
    // delete` unmounts before it removes). Such an entry made the listing fail (setns:
    // EINVAL) at start or at a rebuild; it stays here for the whole run.
    let half_made = Path::new("/run/netns").join(format!("{}-half-made", watcher.name()));
    std::fs::write(&half_made, b"").expect("a half-made /run/netns entry");

    let follow = FollowRun::start(
        &watcher,
        &[
            "--all-netns",
            "--table",
            "--json",
            "-n",
            "--ring-kib",
            "4",
            "--interval",
            "0.2",
        ],
    );
    let churn = watcher
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", "4000", "--threads", "2", "--seconds", "30"])
        .output()
        .expect("run tcpchurn");
    assert!(churn.status.success(), "{churn:?}");
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (stdout, stderr) = follow.interrupt();
    let _ = std::fs::remove_file(&half_made);
    drop(held);
    assert!(lost(&stderr) > 0, "a 4 KiB ring must overflow: {stderr}");
    let tables = json_lines(&stdout);
    for (which, table) in [("first", tables.first()), ("last", tables.last())] {
        let in_table: Vec<&Value> = table.expect("table lines")["sockets"]
            .as_array()
            .expect("sockets")
            .iter()
            .map(|s| &s["cookie"])
            .collect();
        let missing: Vec<&Value> = cookies.iter().filter(|c| !in_table.contains(c)).collect();
        assert!(
            missing.is_empty(),
            "{which} table lacks {missing:?}: {stderr}"
        );
    }
}

/// The table holds only sockets whose events the kernel side sends: with a port filter, the
/// sockets listed at start on other ports are left out, for their ends would never come.
#[test]
fn a_filtered_table_starts_only_with_sockets_it_can_keep_current() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let held = hold(&ns, 10);
    let at_start = |filter: &[&str]| {
        let run = ns.run(sockwatch_bin(), ONE_TABLE.iter().chain(filter));
        assert!(run.status.success(), "{run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        stderr
            .lines()
            .flat_map(|line| line.split(", "))
            .find_map(|part| part.strip_suffix(" at start"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no start count in {stderr}"))
    };
    assert_eq!(at_start(&[]), 21, "10 pairs and a listener");
    assert_eq!(at_start(&["dport = :7700"]), 0);
    drop(held);
}
