//! Strings sockwatch did not make (process names, unix socket paths, paths in errors) cannot
//! drive a terminal or forge a line: follow's text views and error messages escape them,
//! snapshot and netstat escape them on a terminal only and stay byte-identical to ss and
//! netstat in a pipe.

use std::{
    ffi::OsStr,
    fs::File,
    os::{
        fd::AsRawFd,
        unix::{ffi::OsStrExt, net::UnixListener},
    },
    path::PathBuf,
    process::Command,
    time::Duration,
};

use sockwatch_tests::{
    follow_run::{FollowRun, Recording},
    sockwatch_bin, NetNs, Run,
};

/// `\e]0;PWNED\n\a\xff`: sets the terminal title, breaks the line, rings, and is not UTF-8.
const HOSTILE_COMM_HEX: &str = "1b5d303b50574e45440a07ff";
const HOSTILE_COMM_ESCAPED: &str = r"\x1b]0;PWNED\n\x07\xff";

/// What `sockwatch ARGS` prints on a terminal (script(1) gives it a pty) in `ns`, checked to
/// hold no raw control byte and no invalid UTF-8.
fn on_a_terminal(ns: &NetNs, args: &str) -> String {
    let command = format!("{} {args}", sockwatch_bin().display());
    let tty = ns
        .command("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("run script");
    assert!(tty.status.success(), "{args}: {tty:?}");
    let text = String::from_utf8_lossy(&tty.stdout).into_owned();
    let problems = raw_bytes_in(&tty.stdout);
    assert!(problems.is_empty(), "{args}: {problems:?}: {text:?}");
    text
}

/// `sockwatch snapshot ARGS` through a pipe prints ss's bytes exactly, `raw` among them.
fn same_as_ss_in_a_pipe(ns: &NetNs, args: &[&str], raw: &[u8]) {
    let ss = Run::ss(ns, args);
    let ours = Run::sockwatch(ns, args);
    assert!(
        ss.success() && ours.success(),
        "{:?} {:?}",
        ss.output,
        ours.output
    );
    assert!(
        ours.output.stdout.windows(raw.len()).any(|w| w == raw),
        "{args:?}: no {raw:?} in {:?}",
        ours.stdout()
    );
    assert_eq!(
        ours.output.stdout, ss.output.stdout,
        "{args:?}: pipe output differs from ss"
    );
}

/// The problems of text meant for a terminal: raw control bytes or invalid UTF-8.
fn raw_bytes_in(text: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(b) = text
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\n' && b != b'\r') || b == 0x7f)
    {
        problems.push(format!("raw control byte {b:#04x}"));
    }
    if std::str::from_utf8(text).is_err() {
        problems.push("invalid UTF-8".to_string());
    }
    problems
}

#[test]
fn a_hostile_process_name_stays_one_escaped_line_in_every_text_view() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let recording = Recording::new(&ns, "escape");
    let views = [
        (
            "log",
            FollowRun::start(&ns, &["-n", "--write", recording.arg()]),
        ),
        ("lifetime", FollowRun::start(&ns, &["-n", "--lifetime"])),
        (
            "table",
            FollowRun::start(&ns, &["-n", "--table", "--interval", "0.1"]),
        ),
    ];
    // Connections for a second and a half, so the table redraws the listener a few times.
    let churn = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args([
            "--connections",
            "1000000",
            "--seconds",
            "1.5",
            "--port",
            "7401",
        ])
        .args(["--comm-hex", HOSTILE_COMM_HEX])
        .output()
        .expect("run tcpchurn");
    assert!(churn.status.success(), "tcpchurn: {churn:?}");
    std::thread::sleep(Duration::from_millis(300));
    let mut outputs: Vec<(&str, String)> = views
        .into_iter()
        .map(|(view, run)| (view, run.interrupt().0))
        .collect();
    outputs.push(("replay", recording.replay(&["-n"])));

    for (view, text) in &outputs {
        let problems = raw_bytes_in(text.as_bytes());
        assert!(problems.is_empty(), "{view}: {problems:?}:\n{text}");
        let hostile: Vec<&str> = text.lines().filter(|l| l.contains("PWNED")).collect();
        assert!(!hostile.is_empty(), "{view}: the process's lines:\n{text}");
        for line in &hostile {
            assert!(
                line.contains(HOSTILE_COMM_ESCAPED),
                "{view}: not escaped whole on one line: {line:?}"
            );
            assert!(line.contains(":7401"), "{view}: {line:?}");
        }
    }
}

/// Waits until a socket listens on `port` in `ns`.
fn wait_for_listener(ns: &NetNs, port: u16) {
    let wanted = format!("sport = :{port}");
    for _ in 0..100 {
        let ss = ns.run("ss", ["-Htln", &wanted]);
        if !ss.stdout.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on :{port}");
}

#[test]
fn a_hostile_process_name_from_proc_is_raw_in_a_pipe_escaped_on_a_terminal() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    // Only listens (no connections), so ss and sockwatch see the same sockets.
    let mut holder = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", "0", "--seconds", "20", "--port", "7402"])
        .args(["--comm-hex", HOSTILE_COMM_HEX])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start tcpchurn");
    wait_for_listener(&ns, 7402);
    let hostile_raw = b"\x1b]0;PWNED\n\x07\xff";

    // Through a pipe: ss's bytes exactly (ss prints the name raw).
    same_as_ss_in_a_pipe(&ns, &["-tanp"], hostile_raw);

    // JSON: the text, and the raw bytes in comm_hex.
    let json = Run::sockwatch(&ns, &["--json", "-tanp"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.output.stdout).expect("JSON");
    let users: Vec<&serde_json::Value> = doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .filter_map(|s| s["users"].as_array())
        .flatten()
        .collect();
    assert!(
        users
            .iter()
            .any(|u| u["comm_hex"] == HOSTILE_COMM_HEX
                && u["comm"] == "\u{1b}]0;PWNED\n\u{7}\u{fffd}"),
        "{doc}"
    );

    // On a terminal: escaped, on one line.
    let text = on_a_terminal(&ns, "snapshot -tanp");
    assert!(
        text.lines()
            .any(|l| l.contains(":7402") && l.contains(HOSTILE_COMM_ESCAPED)),
        "{text}"
    );

    // follow's table lists the listener from its start-up listing, escaped.
    let table = FollowRun::start(&ns, &["-n", "--table", "--interval", "0.1"]);
    std::thread::sleep(Duration::from_millis(400));
    let (text, _) = table.interrupt();
    assert!(raw_bytes_in(text.as_bytes()).is_empty(), "{text:?}");
    assert!(
        text.lines()
            .any(|l| l.contains(":7402") && l.contains(HOSTILE_COMM_ESCAPED)),
        "{text}"
    );
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn netstat_escapes_hostile_interface_names_on_a_terminal_only() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    // A device name may hold any byte but NUL, '/', ':' and white space.
    let name = OsStr::from_bytes(b"e\x1b[31m\x07");
    let added = ns.run(
        "ip",
        [
            OsStr::new("link"),
            OsStr::new("add"),
            name,
            OsStr::new("type"),
            OsStr::new("veth"),
            OsStr::new("peer"),
            OsStr::new("name"),
            OsStr::new("plain0"),
        ],
    );
    assert!(added.status.success(), "{added:?}");
    for args in [["-ia"], ["-iea"]] {
        let netstat = ns.run("netstat", args);
        let ours = ns.run(sockwatch_bin(), ["netstat"].into_iter().chain(args));
        assert!(
            netstat.status.success() && ours.status.success(),
            "{netstat:?} {ours:?}"
        );
        assert!(ours.stdout.windows(7).any(|w| w == b"e\x1b[31m\x07"));
        assert_eq!(ours.stdout, netstat.stdout, "{args:?}: pipe output differs");

        let text = on_a_terminal(&ns, &format!("netstat {}", args[0]));
        assert!(text.contains(r"e\x1b[31m\x07"), "{args:?}: {text}");
    }
}

/// A unix socket bound to `path` inside the namespace (setns on a thread of this process).
fn bind_in(ns: &NetNs, path: PathBuf) -> UnixListener {
    let netns = format!("/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        let file = File::open(&netns).unwrap_or_else(|e| panic!("{netns}: {e}"));
        // SAFETY: setns on a descriptor we own; it moves only this thread.
        let status = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(status, 0, "setns: {}", std::io::Error::last_os_error());
        UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind {path:?}: {e}"))
    })
    .join()
    .expect("the binding thread")
}

#[test]
fn snapshot_and_netstat_escape_hostile_unix_paths_on_a_terminal_only() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("{}-escape", ns.name()));
    std::fs::create_dir_all(&dir).expect("socket dir");
    let path = dir.join(OsStr::from_bytes(b"s\n\x1b[31mred"));
    let _listener = bind_in(&ns, path);
    // netstat cuts a path at white space (scanf's %s): this one keeps its ESC.
    let _second = bind_in(&ns, dir.join(OsStr::from_bytes(b"e\x1b[32mgreen")));
    // Not UTF-8: ss and netstat print the byte as it is.
    let _third = bind_in(&ns, dir.join(OsStr::from_bytes(b"x\xffy")));

    // Through a pipe: the path byte for byte, exactly as ss prints it.
    same_as_ss_in_a_pipe(&ns, &["-xa"], b"s\n\x1b[31mred");
    same_as_ss_in_a_pipe(&ns, &["-xa"], b"x\xffy");

    // JSON: the text, and the bytes in path_hex.
    let json = Run::sockwatch(&ns, &["--json", "-xa"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.output.stdout).expect("JSON");
    let hex: String = dir
        .join(OsStr::from_bytes(b"x\xffy"))
        .as_os_str()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        doc["sockets"]
            .as_array()
            .expect("sockets")
            .iter()
            .any(|s| s["local"]["path_hex"] == hex.as_str()
                && s["local"]["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("x\u{fffd}y"))),
        "{doc}"
    );

    // On a terminal (script(1) gives it a pty): escaped, one line.
    let text = on_a_terminal(&ns, "snapshot -xa");
    assert!(
        text.lines().any(|l| l.contains(r"s\n\x1b[31mred")),
        "escaped path on one line:\n{text}"
    );
    assert!(text.contains(r"x\xffy"), "{text}");

    // netstat: the same, against net-tools' netstat through a pipe.
    let netstat = ns.run("netstat", ["-xa"]);
    let ours = ns.run(sockwatch_bin(), ["netstat", "-xa"]);
    assert!(
        netstat.status.success() && ours.status.success(),
        "{netstat:?} {ours:?}"
    );
    assert!(
        ours.stdout.windows(4).any(|w| w == b"e\x1b[3"),
        "{}",
        String::from_utf8_lossy(&ours.stdout)
    );
    assert_eq!(
        ours.stdout, netstat.stdout,
        "pipe output differs from netstat"
    );
    let text = on_a_terminal(&ns, "netstat -xa");
    assert!(text.contains(r"e\x1b[32mgreen"), "{text}");
    assert!(text.contains(r"x\xffy"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_messages_escape_the_paths_they_name() {
    let hostile = OsStr::from_bytes(b"/nonexistent/\x1b[2J\nforged: \xff");
    for args in [
        &[OsStr::new("snapshot"), OsStr::new("-F"), hostile][..],
        &[OsStr::new("follow"), OsStr::new("--read"), hostile][..],
        &[OsStr::new("snapshot"), OsStr::new("--read"), hostile][..],
        &[
            OsStr::new("snapshot"),
            OsStr::new("-t"),
            OsStr::new("-D"),
            hostile,
        ][..],
    ] {
        let output = Command::new(sockwatch_bin())
            .args(args)
            .output()
            .expect("run sockwatch");
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = &output.stderr;
        let text = String::from_utf8_lossy(stderr);
        assert!(raw_bytes_in(stderr).is_empty(), "{text:?}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        // The path's own bytes, escaped: the invalid byte too, not U+FFFD.
        assert!(
            text.contains(r"/nonexistent/\x1b[2J\nforged: \xff"),
            "{args:?}: {text:?}"
        );
    }
}
