//! End-to-end: `sockwatch follow` on the real kernel, in network namespaces the tests create.
//! Every test here loads eBPF programs; under CI=true one that cannot run fails.

use std::{collections::HashMap, path::Path};

use serde_json::Value;
use sockwatch_tests::{
    fixture::Fixture,
    follow_run::{json_lines, lost, FollowRun},
    json::{follow_line_problems, inet_socket_key, snapshot_socket_keys},
    privilege::can_run_namespace_tests,
    sockwatch_bin, NetNs, SocketGroup,
};

/// Runs tcpchurn in the namespace: `connections` short connections to 127.0.0.1:`port`.
fn churn(ns: &NetNs, connections: u32, port: u16) {
    let output = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", &connections.to_string(), "--seconds", "60"])
        .args(["--port", &port.to_string()])
        .output()
        .expect("run tcpchurn");
    assert!(
        output.status.success(),
        "tcpchurn failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    if !can_run_namespace_tests() {
        return;
    }
    const CONNECTIONS: u32 = 1000;
    let ns = NetNs::create();
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

#[test]
fn sockets_open_before_start_come_from_the_snapshot() {
    if !can_run_namespace_tests() {
        return;
    }
    let ns = NetNs::create();
    let dir = std::env::temp_dir().join(format!("{}-follow", ns.name()));
    std::fs::create_dir_all(&dir).expect("socket dir");
    let fixture = Fixture::start(
        &ns,
        Path::new(env!("CARGO_BIN_EXE_sockfixture")),
        &[SocketGroup::Tcp],
        &dir,
        false,
    );

    // The table view lists them with their owner before any event happened.
    let table = ns
        .command(sockwatch_bin())
        .args([
            "follow",
            "--table",
            "--json",
            "--count",
            "1",
            "--interval",
            "0.1",
        ])
        .output()
        .expect("run follow --table");
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_filter_keeps_other_traffic_in_the_kernel() {
    if !can_run_namespace_tests() {
        return;
    }
    let ns = NetNs::create();
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
    if !can_run_namespace_tests() {
        return;
    }
    let ns = NetNs::create();
    let recording = std::env::temp_dir().join(format!("{}.events", ns.name()));
    let recording_arg = recording.to_str().expect("UTF-8 temp path");
    for view in [&[][..], &["--lifetime"][..]] {
        let mut args = vec!["--json", "--write", recording_arg];
        args.extend_from_slice(view);
        let follow = FollowRun::start(&ns, &args);
        churn(&ns, 20, 7201);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (live, _) = follow.interrupt();
        let lines = json_lines(&live);
        assert!(!lines.is_empty(), "events for {view:?}");

        let replay = std::process::Command::new(sockwatch_bin())
            .args(["follow", "--json", "--read", recording_arg])
            .args(view)
            .output()
            .expect("replay");
        assert!(replay.status.success(), "{replay:?}");
        // The same lines after the start line, which names the source.
        let replayed = String::from_utf8_lossy(&replay.stdout);
        let (live_start, live_rest) = live.split_once('\n').expect("a start line");
        let (replay_start, replay_rest) = replayed.split_once('\n').expect("a start line");
        assert!(live_start.contains(r#""source":"live""#), "{live_start}");
        assert!(
            replay_start.contains(r#""source":"recording""#),
            "{replay_start}"
        );
        assert_eq!(replay_rest, live_rest, "replay of {view:?}");
    }
    let _ = std::fs::remove_file(&recording);
}

/// `{"lost": n}` of the summary equals the sum of the inline reports, and after the loss the
/// table is rebuilt: it lists what a fresh snapshot lists.
#[test]
fn a_full_ring_buffer_is_counted_reported_and_the_table_resynced() {
    if !can_run_namespace_tests() {
        return;
    }
    let ns = NetNs::create();
    let dir = std::env::temp_dir().join(format!("{}-overload", ns.name()));
    std::fs::create_dir_all(&dir).expect("socket dir");
    let _fixture = Fixture::start(
        &ns,
        Path::new(env!("CARGO_BIN_EXE_sockfixture")),
        &[SocketGroup::Tcp],
        &dir,
        false,
    );
    let churn_hard = || {
        let output = ns
            .command(env!("CARGO_BIN_EXE_tcpchurn"))
            .args(["--connections", "4000", "--threads", "2", "--seconds", "30"])
            .output()
            .expect("run tcpchurn");
        assert!(output.status.success(), "{output:?}");
    };

    // The event log: inline reports add up to the summary's count.
    let log = FollowRun::start(&ns, &["--json", "--ring-kib", "4"]);
    churn_hard();
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

    // The table view: after the loss and the rebuild, the table is the kernel's again.
    let table = FollowRun::start(
        &ns,
        &[
            "--table",
            "--json",
            "-n",
            "--ring-kib",
            "4",
            "--interval",
            "0.2",
        ],
    );
    churn_hard();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (stdout, stderr) = table.interrupt();
    assert!(lost(&stderr) > 0, "{stderr}");
    let last = json_lines(&stdout).pop().expect("a table line");
    let mut in_table: Vec<String> = last["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(inet_socket_key)
        .collect();
    in_table.sort();
    let snapshot = ns
        .command(sockwatch_bin())
        .args([
            "snapshot",
            "--json",
            "-tan",
            "exclude",
            "time-wait",
            "exclude",
            "syn-recv",
        ])
        .output()
        .expect("snapshot");
    let listed = snapshot_socket_keys(&snapshot.stdout);
    assert_eq!(in_table, listed, "table after resync vs snapshot");
    let _ = std::fs::remove_dir_all(&dir);
}
