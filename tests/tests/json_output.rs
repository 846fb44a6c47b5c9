//! Every JSON output against docs/json-schema.md, key by key and type by type: snapshot's
//! document with each option, netstat -s, and each line type of follow's streams (live, in a
//! namespace, and replayed).

use serde_json::Value;
use sockwatch_tests::process;
use sockwatch_tests::{
    assert_all_passed,
    follow_run::{FollowRun, Recording},
    json::{
        follow_line_problems, object_problems, parse_lines, Keys, Kinds, ARRAY, BOOLEAN,
        BOOLEAN_OR_NULL, KERNEL_STATES, NUMBER, NUMBER_OR_NULL, OBJECT, OBJECT_OR_NULL, STRING,
        STRING_OR_NULL,
    },
    sockwatch_bin, NetNs, Run, SocketGroup, Testbed,
};

/// Option sets whose ss listing has one line per socket (no continuation lines).
const LISTINGS: &[&str] = &["-tan", "-uan", "-wan", "-xan", "-0an", "-tuwxan"];

/// Every option that adds keys, alone and together.
const OPTIONS: &[&str] = &["", "e", "o", "m", "i", "p", "eomip"];

#[test]
fn json_lists_the_same_sockets_as_ss() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL) else {
        return;
    };
    let mut failures = Vec::new();
    for options in LISTINGS {
        let ss = Run::ss(bed.ns(), &["-H", options]);
        assert!(
            ss.success(),
            "`{}` failed: {}",
            ss.command_line,
            ss.stderr()
        );
        let want = ss.stdout().lines().filter(|l| !l.trim().is_empty()).count();
        let json = Run::sockwatch(bed.ns(), &["--json", options]);
        match sockets(&json) {
            Ok(sockets) if sockets.len() == want => {}
            Ok(sockets) => failures.push(format!(
                "`{}` lists {} sockets, `{}` lists {want}:\n{}\n---- ss:\n{}",
                json.command_line,
                sockets.len(),
                ss.command_line,
                json.stdout(),
                ss.stdout()
            )),
            Err(problem) => failures.push(format!("`{}`: {problem}", json.command_line)),
        }
    }
    assert_all_passed("JSON listings", LISTINGS.len(), &failures);
}

/// The `sockets` of a snapshot document that starts with `"schema_version": 1`.
fn sockets(run: &Run) -> Result<Vec<Value>, String> {
    if !run.success() {
        return Err(format!("failed: {}", run.stderr()));
    }
    if !run
        .output
        .stdout
        .starts_with(br#"{"schema_version":1,"sockets":["#)
    {
        return Err(format!(
            "does not start with the version:\n{}",
            run.stdout()
        ));
    }
    let doc: Value = serde_json::from_slice(&run.output.stdout)
        .map_err(|e| format!("output is not JSON ({e}):\n{}", run.stdout()))?;
    let problems = object_problems(
        "document",
        &doc,
        &[("schema_version", NUMBER), ("sockets", ARRAY)],
        &[],
    );
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(doc["sockets"].as_array().cloned().unwrap_or_default())
}

/// The keys of a snapshot socket object with these options (ss's letters).
fn socket_keys(options: &str) -> Vec<(&'static str, Kinds)> {
    let mut keys = vec![
        ("netid", STRING),
        ("state", STRING),
        ("ss_state", STRING),
        ("recv_q", NUMBER),
        ("send_q", NUMBER),
        ("local", OBJECT),
        ("peer", OBJECT),
    ];
    let per_option: [(char, &[(&str, Kinds)]); 5] = [
        (
            'e',
            &[
                ("uid", NUMBER),
                ("inode", NUMBER),
                ("cookie", NUMBER),
                ("sk", NUMBER_OR_NULL),
                ("mark", NUMBER_OR_NULL),
                ("cgroup_id", NUMBER_OR_NULL),
                ("v6only", BOOLEAN_OR_NULL),
                ("tos", NUMBER_OR_NULL),
                ("tclass", NUMBER_OR_NULL),
                ("shutdown", OBJECT_OR_NULL),
                ("xdp", OBJECT_OR_NULL),
            ],
        ),
        ('o', &[("timer", OBJECT_OR_NULL)]),
        ('m', &[("skmem", OBJECT_OR_NULL)]),
        (
            'i',
            &[("congestion", STRING_OR_NULL), ("tcp_info", OBJECT_OR_NULL)],
        ),
        ('p', &[("users", ARRAY)]),
    ];
    for (letter, option_keys) in per_option {
        if options.contains(letter) {
            keys.extend_from_slice(option_keys);
        }
    }
    keys
}

/// What is wrong with one snapshot socket object.
fn socket_problems(socket: &Value, options: &str) -> Vec<String> {
    let netid = socket["netid"].as_str().unwrap_or("?");
    let what = format!("{netid} socket {socket}");
    let mut problems = object_problems(&what, socket, &socket_keys(options), &[]);
    let state = socket["state"].as_str().unwrap_or("?");
    if !KERNEL_STATES.contains(&state) {
        problems.push(format!("{what}: state {state:?} is not a kernel name"));
    }
    let (endpoint, optional): (Keys, Keys) = match netid {
        "tcp" | "udp" | "raw" | "mptcp" | "sctp" | "dccp" => (
            &[("address", STRING), ("port", NUMBER), ("ifindex", NUMBER)],
            &[],
        ),
        "u_str" | "u_dgr" | "u_seq" => (
            &[("inode", NUMBER)],
            &[
                ("path", STRING),
                ("path_hex", STRING),
                ("abstract", STRING),
                ("abstract_hex", STRING),
            ],
        ),
        "p_raw" | "p_dgr" => (&[("protocol", NUMBER), ("ifindex", NUMBER)], &[]),
        "nl" => (&[("protocol", NUMBER), ("portid", NUMBER)], &[]),
        _ => return vec![format!("{what}: unknown netid")],
    };
    for end in ["local", "peer"] {
        problems.extend(object_problems(&what, &socket[end], endpoint, optional));
    }
    let nested: [(&str, &[(&str, Kinds)]); 3] = [
        ("shutdown", &[("read", BOOLEAN), ("write", BOOLEAN)]),
        (
            "timer",
            &[
                ("name", STRING),
                ("expires_ms", NUMBER),
                ("retrans", NUMBER),
            ],
        ),
        (
            "skmem",
            &[
                ("rmem_alloc", NUMBER),
                ("rcvbuf", NUMBER),
                ("wmem_alloc", NUMBER),
                ("sndbuf", NUMBER),
                ("fwd_alloc", NUMBER),
                ("wmem_queued", NUMBER),
                ("optmem", NUMBER),
                ("backlog", NUMBER),
                ("drops", NUMBER),
            ],
        ),
    ];
    for (key, keys) in nested {
        if socket[key].is_object() {
            problems.extend(object_problems(key, &socket[key], keys, &[]));
        }
    }
    if let Some(info) = socket["tcp_info"].as_object() {
        if info.len() != 61 {
            problems.push(format!("{what}: tcp_info has {} keys, not 61", info.len()));
        }
        for (key, value) in info {
            if !["number", "boolean", "null"].contains(&sockwatch_tests::json::kind_of(value)) {
                problems.push(format!("{what}: tcp_info.{key} is {value}"));
            }
        }
    }
    for user in socket["users"].as_array().into_iter().flatten() {
        problems.extend(object_problems(
            "user",
            user,
            &[("comm", STRING), ("pid", NUMBER), ("fd", NUMBER)],
            &[("comm_hex", STRING)],
        ));
    }
    problems
}

#[test]
fn snapshot_keys_and_types_are_the_documented_ones_for_every_option() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL) else {
        return;
    };
    let mut failures = Vec::new();
    for options in OPTIONS {
        let flags = format!("-an{options}");
        let run = Run::sockwatch(bed.ns(), &["--json", &flags, "-A", "all"]);
        let sockets = match sockets(&run) {
            Ok(sockets) => sockets,
            Err(problem) => {
                failures.push(format!("`{}`: {problem}", run.command_line));
                continue;
            }
        };
        let mut problems: Vec<String> = sockets
            .iter()
            .flat_map(|s| socket_problems(s, options))
            .collect();
        // The nested objects were checked on real values, not only on nulls.
        let seen = |key: &str| sockets.iter().any(|s| s[key].is_object());
        for (letter, key) in [('m', "skmem"), ('i', "tcp_info"), ('e', "shutdown")] {
            if options.contains(letter) && !seen(key) {
                problems.push(format!("no socket with a `{key}` object"));
            }
        }
        if options.contains('p') && !sockets.iter().any(|s| s["users"][0].is_object()) {
            problems.push("no socket with a user".to_string());
        }
        for netid in ["tcp", "udp", "u_str", "p_raw", "nl"] {
            if !sockets.iter().any(|s| s["netid"] == netid) {
                problems.push(format!("no {netid} socket listed"));
            }
        }
        if !problems.is_empty() {
            problems.truncate(20);
            failures.push(format!("`{}`:\n{}", run.command_line, problems.join("\n")));
        }
    }
    assert_all_passed("snapshot JSON schemas", OPTIONS.len(), &failures);
}

#[test]
fn netstat_statistics_document_is_versioned_sections_of_numbers() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let output = ns.run(sockwatch_bin(), ["netstat", "-s", "--json"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.starts_with(br#"{"schema_version":1,"#),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let sections = doc.as_object().expect("an object");
    assert!(sections.len() > 3, "{doc}");
    for (name, section) in sections.iter().filter(|(k, _)| *k != "schema_version") {
        let counters = section
            .as_object()
            .unwrap_or_else(|| panic!("{name}: {section}"));
        assert!(
            counters.values().all(Value::is_u64) || counters.values().all(Value::is_number),
            "{name}: {section}"
        );
    }
}

/// Runs tcpchurn in the namespace: `connections` connections, every thread named `comm`.
fn churn(ns: &NetNs, connections: u32, port: u16, comm_hex: &str) {
    process::churn(
        ns,
        env!("CARGO_BIN_EXE_tcpchurn"),
        connections,
        port,
        &["--comm-hex", comm_hex],
    );
}

/// Every line's keys and types, and the stream's shape: one `start` line first, of `view`.
fn check_stream(stdout: &str, view: &str, source: &str) -> Vec<Value> {
    let lines = parse_lines(stdout);
    let start = lines.first().expect("a start line");
    assert_eq!(start["type"], "start", "{start}");
    assert_eq!(start["schema_version"], 1, "{start}");
    assert_eq!(start["view"], view, "{start}");
    assert_eq!(start["source"], source, "{start}");
    assert_eq!(start["time"].is_null(), source == "recording", "{start}");
    let problems: Vec<String> = lines.iter().flat_map(follow_line_problems).collect();
    assert!(problems.is_empty(), "{view}:\n{}", problems.join("\n"));
    assert!(
        lines[1..].iter().all(|l| l["type"] != "start"),
        "one start line: {stdout}"
    );
    lines
}

/// A comm that is not UTF-8 and holds control characters (`\e]0;PWNED\n\a\xff`).
const HOSTILE_COMM_HEX: &str = "1b5d303b50574e45440a07ff";

#[test]
fn follow_lines_are_the_documented_ones_in_every_view_and_replay() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let recording = Recording::new(&ns, "json");
    let log = FollowRun::start(&ns, &["--json", "--write", recording.arg()]);
    let lifetime = FollowRun::start(&ns, &["--json", "--lifetime"]);
    churn(&ns, 5, 7301, HOSTILE_COMM_HEX);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (log_out, _) = log.interrupt();
    let (lifetime_out, _) = lifetime.interrupt();

    let lines = check_stream(&log_out, "log", "live");
    for kind in ["transition", "destroy"] {
        assert!(
            lines.iter().any(|l| l["type"] == kind),
            "no {kind}: {log_out}"
        );
    }
    // The hostile name arrives whole: its text (U+FFFD for the invalid byte) and its bytes.
    let client = lines
        .iter()
        .find(|l| l["new_state"] == "SYN_SENT")
        .unwrap_or_else(|| panic!("a connect in {log_out}"));
    assert_eq!(client["comm"], "\u{1b}]0;PWNED\n\u{7}\u{fffd}", "{client}");
    assert_eq!(client["comm_hex"], HOSTILE_COMM_HEX, "{client}");
    assert_eq!(client["peer"]["port"], 7301, "{client}");

    let lines = check_stream(&lifetime_out, "lifetime", "live");
    assert!(lines.len() > 5, "{lifetime_out}");
    assert!(
        lines[1..].iter().all(|l| l["type"] == "destroy"),
        "{lifetime_out}"
    );

    check_stream(&recording.replay(&["--json"]), "log", "recording");
}

#[test]
fn follow_table_lines_are_the_documented_ones() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &[SocketGroup::Tcp]) else {
        return;
    };
    let output = bed.ns().run(
        sockwatch_bin(),
        [
            "follow",
            "--table",
            "--json",
            "--count",
            "2",
            "--interval",
            "0.1",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines = check_stream(&stdout, "table", "live");
    assert_eq!(lines.len(), 3, "start and two refreshes: {stdout}");
    let sockets = lines[2]["sockets"].as_array().expect("sockets");
    assert!(
        sockets
            .iter()
            .any(|s| s["state"] == "ESTABLISHED" && s["pid"].is_number()),
        "{stdout}"
    );
}
