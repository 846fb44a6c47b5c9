//! End-to-end: `sockwatch follow` on the real kernel, in a network namespace of the test's own.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStderr, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

use serde_json::Value;

fn sockwatch_bin() -> String {
    std::env::var("SOCKWATCH_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/sockwatch").to_string()
    })
}

/// Whether this run may skip privileged tests: never under CI=true.
fn skip_unprivileged(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false);
    if root {
        return false;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: needs root to load eBPF programs and make network namespaces (CI=true: not skipping)");
    }
    eprintln!("SKIPPED {test}: needs root");
    true
}

/// A network namespace made by the test and removed when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "swf-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        run("ip", &["-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, program]);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

/// A running `sockwatch follow`; killed and reaped if the test ends early.
struct FollowRun {
    child: Child,
    stderr: BufReader<ChildStderr>,
}

impl FollowRun {
    /// Starts `sockwatch follow ARGS` in the namespace and waits until its programs are attached.
    fn start(ns: &Netns, args: &[&str]) -> FollowRun {
        let mut child = ns
            .command(&sockwatch_bin())
            .arg("follow")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockwatch follow");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut run = FollowRun { child, stderr };
        let mut line = String::new();
        loop {
            line.clear();
            let n = run
                .stderr
                .read_line(&mut line)
                .expect("read follow's stderr");
            assert!(n > 0, "sockwatch follow exited before attaching");
            if line.contains("attached") {
                return run;
            }
            assert!(
                !line.contains("sockwatch:"),
                "sockwatch follow failed: {line}"
            );
        }
    }

    /// Stops follow with SIGINT; returns its exit status, stdout and the rest of stderr.
    fn interrupt(mut self) -> (std::process::ExitStatus, String, String) {
        run("kill", &["-INT", &self.child.id().to_string()]);
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let mut stderr = String::new();
        let _ = self.stderr.read_to_string(&mut stderr);
        let status = self.child.wait().expect("wait for follow");
        (status, stdout, stderr)
    }
}

impl Drop for FollowRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn churn(ns: &Netns, connections: u32) {
    let output = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", &connections.to_string(), "--seconds", "30"])
        .output()
        .expect("run tcpchurn");
    assert!(
        output.status.success(),
        "tcpchurn failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_loopback_connection_shows_its_transitions_in_order() {
    if skip_unprivileged("a_loopback_connection_shows_its_transitions_in_order") {
        return;
    }
    let ns = Netns::new();
    let follow = FollowRun::start(&ns, &["--json", "--duration", "20"]);
    churn(&ns, 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGINT: follow detaches, prints what it has and its summary.
    let (status, stdout, stderr) = follow.interrupt();
    assert!(status.success(), "follow exit status {status:?}: {stderr}");
    assert!(stderr.contains(" 0 lost"), "summary reports loss: {stderr}");

    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    let listener_port = events
        .iter()
        .find(|e| e["new_state"] == "LISTEN")
        .map(|e| e["local"]["port"].as_u64().expect("port"))
        .expect("a LISTEN transition");
    let client_cookie = events
        .iter()
        .find(|e| e["new_state"] == "SYN_SENT")
        .map(|e| e["cookie"].clone())
        .expect("a SYN_SENT transition");
    let client: Vec<&Value> = events
        .iter()
        .filter(|e| e["cookie"] == client_cookie)
        .collect();
    let states: Vec<(&str, &str)> = client
        .iter()
        .filter(|e| e["type"] == "transition")
        .map(|e| {
            (
                e["old_state"].as_str().unwrap_or(""),
                e["new_state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        &states[..3],
        &[
            ("CLOSE", "SYN_SENT"),
            ("SYN_SENT", "ESTABLISHED"),
            ("ESTABLISHED", "FIN_WAIT1")
        ],
        "client transitions: {states:?}"
    );
    assert_eq!(
        states.last().map(|s| s.1),
        Some("CLOSE"),
        "client ends closed: {states:?}"
    );
    for event in &client[1..] {
        assert_eq!(
            event["remote"]["port"].as_u64(),
            Some(listener_port),
            "{event}"
        );
        assert_eq!(event["comm"], "tcpchurn", "owner of {event}");
    }
    assert!(
        client.iter().any(|e| e["type"] == "destroy"),
        "client socket destroyed"
    );
}
