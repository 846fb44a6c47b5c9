//! End-to-end: `sockwatch top` on the real kernel, in network namespaces the tests create:
//! batch JSON frames against connections with known traffic from a named process and a
//! burst of short connections, and the terminal UI driven under tmux.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use sockwatch_tests::{sockwatch_bin, NetNs};

const LOAD_NAME: &str = "swtopload";
const BURST_NAME: &str = "swtopburst";
const CONNECTIONS: usize = 3;
const BURST: u64 = 40;

/// Starts a load generator (its input and output piped); returns once it printed `ready`.
fn ready(mut command: Command, what: &str) -> Child {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("read {what}: {e}"));
    assert!(line.starts_with("ready"), "{what}: {line}");
    child
}

/// Starts tcpstream in the namespace: CONNECTIONS connections with data both ways, every
/// thread named LOAD_NAME; returns once they are established.
fn stream(ns: &NetNs) -> Child {
    let mut command = ns.command(env!("CARGO_BIN_EXE_tcpstream"));
    command
        .args(["--connections", &CONNECTIONS.to_string()])
        .args(["--seconds", "60", "--name", LOAD_NAME]);
    ready(command, "tcpstream")
}

/// `name` as tcpchurn's `--comm-hex` takes it.
fn comm_hex(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// BURST short connections from threads named BURST_NAME.
fn burst(ns: &NetNs) {
    let hex = comm_hex(BURST_NAME);
    let output = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", &BURST.to_string(), "--threads", "2"])
        .args(["--seconds", "30", "--comm-hex", &hex])
        .output()
        .expect("run tcpchurn");
    assert!(output.status.success(), "tcpchurn failed: {output:?}");
}

fn comm_is(row: &Value, name: &str) -> bool {
    row["comm"].as_str() == Some(name)
}

/// How many things a per-second rate over the frame's interval stands for.
fn count(frame: &Value, per_s: &Value) -> u64 {
    let secs = frame["interval_ms"].as_f64().expect("interval_ms") / 1000.0;
    (per_s.as_f64().unwrap_or(0.0) * secs).round() as u64
}

/// `top -b --json -n FRAMES -d 0.5` in `ns`: its frames, `between` run once the first came
/// (the programs are attached then). top must end well.
fn batch_frames(ns: &NetNs, frames: usize, between: impl FnOnce()) -> Vec<Value> {
    let mut top = ns
        .command(sockwatch_bin())
        .args([
            "top",
            "-b",
            "--json",
            "-n",
            &frames.to_string(),
            "-d",
            "0.5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockwatch top");
    let lines = BufReader::new(top.stdout.take().expect("piped stdout")).lines();
    let mut frames = lines.take(frames).map(|line| {
        let line = line.expect("read a frame");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("frame is not JSON ({e}): {line}"))
    });
    let mut read = vec![frames.next().expect("a first frame")];
    between();
    read.extend(frames);
    let status = top.wait().expect("wait for top");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut top.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "top failed: {stderr}");
    read
}

#[test]
fn batch_frames_show_named_connections_rates_and_a_short_burst() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let mut load = stream(&ns);
    let frames = batch_frames(&ns, 6, || burst(&ns));
    assert_eq!(frames.len(), 6);
    drop(load.stdin.take());
    let _ = load.wait();

    for frame in &frames {
        assert_eq!(frame["schema_version"], 1);
        assert_eq!(
            frame["degraded"],
            Value::Null,
            "top runs with its events here"
        );
    }
    let last = frames.last().unwrap();
    // Both ends of each connection live in the named process.
    let named: Vec<&Value> = last["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| comm_is(c, LOAD_NAME) && c["state"] == "ESTABLISHED")
        .collect();
    assert_eq!(named.len(), 2 * CONNECTIONS, "frame: {last}");
    for connection in &named {
        assert!(connection["local"]["address"].is_string() && connection["peer"]["port"].is_u64());
    }
    let moving = named
        .iter()
        .filter(|c| c["rx_bytes_per_s"].as_f64().unwrap() > 0.0)
        .count();
    assert!(moving >= CONNECTIONS, "connections with traffic: {named:?}");
    let process = last["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| comm_is(p, LOAD_NAME))
        .unwrap_or_else(|| panic!("no {LOAD_NAME} row: {last}"));
    assert_eq!(process["open"], 2 * CONNECTIONS as u64);
    assert!(
        process["rx_bytes_per_s"].as_f64().unwrap() > 16_000.0,
        "{process}"
    );
    assert!(
        process["tx_bytes_per_s"].as_f64().unwrap() > 16_000.0,
        "{process}"
    );

    // The burst's connections lived far less than a refresh: only the events saw them.
    let burst_rows = || {
        frames.iter().flat_map(|frame| {
            frame["processes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| comm_is(p, BURST_NAME))
                .map(move |p| (frame, p))
        })
    };
    let opened: u64 = burst_rows()
        .map(|(f, p)| count(f, &p["opened_per_s"]))
        .sum();
    let closed: u64 = burst_rows()
        .map(|(f, p)| count(f, &p["closed_per_s"]))
        .sum();
    assert!(
        opened >= BURST,
        "burst opened {opened} of {BURST}: {frames:?}"
    );
    assert!(closed >= BURST, "burst closed {closed} of {BURST}");
    let total =
        |figure: &str| -> u64 { frames.iter().map(|f| count(f, &f["totals"][figure])).sum() };
    // Both ends of every burst connection are established, and each end is counted once,
    // whether its DESTROY came as an event or in the kernel's sums (the stream's connections
    // opened before top and close after it).
    assert_eq!(total("opened_per_s"), 2 * BURST, "opened in all");
    assert_eq!(total("closed_per_s"), 2 * BURST, "closed in all");
    let lost: u64 = last["totals"]["events_lost"].as_u64().expect("events_lost");
    assert_eq!(lost, 0);
}

const RESET_NAME: &str = "swtopreset";
const RESETS: u64 = 30;
const REFUSALS: u64 = 10;

/// Sums, over all frames, a figure of the process rows named `name`.
fn per_process(frames: &[Value], name: &str, figure: impl Fn(&Value, &Value) -> u64) -> u64 {
    let figure = &figure;
    frames
        .iter()
        .flat_map(|frame| {
            frame["processes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| comm_is(p, name))
                .map(move |p| figure(frame, p))
        })
        .sum()
}

fn failures(row: &Value, reason: &str) -> u64 {
    row["failures"][reason].as_u64().unwrap_or(0)
}

/// top hears of connections that came and went between two listings from their ends alone
/// (no state changes): a burst of refused connections and one of reset connections, all far
/// shorter than a refresh, are counted under their processes with their reasons.
#[test]
fn short_refused_and_reset_connections_count_per_process_with_their_reason() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let frames = batch_frames(&ns, 5, || {
        // Every connection closed by the client with SO_LINGER 0: the client sends the
        // RST, the server (in the same process) receives it.
        let output = ns
            .command(env!("CARGO_BIN_EXE_tcpchurn"))
            .args(["--connections", &RESETS.to_string(), "--threads", "1"])
            .args(["--seconds", "30", "--reset-every", "1"])
            .args(["--comm-hex", &comm_hex(RESET_NAME)])
            .output()
            .expect("run tcpchurn");
        assert!(output.status.success(), "tcpchurn failed: {output:?}");
        for _ in 0..REFUSALS {
            let output = ns
                .command(env!("CARGO_BIN_EXE_tcpend"))
                .args(["refused", "127.0.0.1", "9"])
                .output()
                .expect("run tcpend");
            assert!(output.status.success(), "tcpend refused failed: {output:?}");
        }
    });
    assert_eq!(frames.len(), 5);

    let opened = per_process(&frames, RESET_NAME, |f, p| count(f, &p["opened_per_s"]));
    let closed = per_process(&frames, RESET_NAME, |f, p| count(f, &p["closed_per_s"]));
    let sent = per_process(&frames, RESET_NAME, |_, p| failures(p, "reset-sent"));
    let received = per_process(&frames, RESET_NAME, |_, p| failures(p, "reset-received"));
    // Both ends of each connection are the named process's.
    assert_eq!(
        (opened, closed, sent, received),
        (2 * RESETS, 2 * RESETS, RESETS, RESETS),
        "opened, closed, reset-sent, reset-received: {frames:?}"
    );
    let refused = per_process(&frames, "tcpend", |_, p| failures(p, "refused"));
    let refused_opened = per_process(&frames, "tcpend", |f, p| count(f, &p["opened_per_s"]));
    assert_eq!(
        (refused, refused_opened),
        (REFUSALS, 0),
        "refused, opened: {frames:?}"
    );
    // By remote: the clients' resets under the listener's address and port (the RST
    // cleared the client's remote port before its destroy: the kernel put it back), the
    // accepted ends' under the clients' address alone (port 0).
    let by_port = |reason: &str, port_zero: bool| -> u64 {
        frames
            .iter()
            .flat_map(|frame| frame["remotes"].as_array().unwrap())
            .filter(|remote| (remote["peer"]["port"] == 0) == port_zero)
            .map(|remote| failures(remote, reason))
            .sum()
    };
    assert_eq!(
        (
            by_port("reset-sent", false),
            by_port("reset-received", true)
        ),
        (RESETS, RESETS),
        "remotes: {frames:?}"
    );
    let lost = frames.last().unwrap()["totals"]["events_lost"].as_u64();
    assert_eq!(lost, Some(0));
}

/// A tmux server of the test's own (its own socket), killed on drop.
struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("sw-top-{}-{}", std::process::id(), rand_suffix()),
            session: "top".into(),
        };
        let status = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                &tmux.session,
                "-x",
                "160",
                "-y",
                "40",
            ])
            .arg(command)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
        thread::sleep(Duration::from_millis(300));
    }

    fn screen(&self) -> String {
        let output = self
            .cmd()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let output = self
            .cmd()
            .args(["display-message", "-p", "-t", &self.session, format])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Waits until the screen shows `text`; panics with the screen after `secs`.
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn wait_for_file(path: &Path, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// A pane running a shell that saves `stty -g` before and after top, and top's pid.
fn ui_pane(ns: &NetNs, dir: &Path) -> Tmux {
    let d = dir.display();
    let inner = format!(
        "echo $$ > {d}/pid; exec ip netns exec {} {} top -d 0.5",
        ns.name(),
        sockwatch_bin().display()
    );
    let script = format!(
        "stty -g > {d}/before; sh -c '{inner}'; echo $? > {d}/status; stty -g > {d}/after; exec sleep 60"
    );
    Tmux::start(&script)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sw-top-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("make a temporary directory");
    dir
}

#[test]
fn terminal_ui_sorts_filters_groups_and_restores_the_terminal_on_q() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let mut load = stream(&ns);
    let dir = temp_dir("q");
    let tmux = ui_pane(&ns, &dir);
    // What batch mode shows: the header and the named process's connections.
    let screen = tmux.wait_for(LOAD_NAME, 20);
    assert!(
        screen.contains("TCP sockets:") && screen.contains("ESTAB"),
        "{screen}"
    );
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    // A key waits while a refresh's listing runs (a loaded machine makes it long): wait for
    // its effect rather than read the screen once.
    tmux.keys(&[">"]);
    tmux.wait_for("TX/Sv", 5);
    tmux.keys(&["i"]);
    tmux.wait_for("TX/S^", 5);
    tmux.keys(&["p"]);
    let screen = tmux.wait_for("OPENED/S", 5);
    assert!(
        screen.contains(LOAD_NAME) && screen.contains("processes by"),
        "{screen}"
    );
    // A bad filter is reported and changes nothing; a good one applies.
    tmux.keys(&["/", "dport =", "Enter"]);
    tmux.wait_for("filter not changed", 5);
    tmux.keys(&["c", "/", "sport = :1", "Enter"]);
    tmux.wait_for("filter: sport = :1", 5);
    let screen = tmux.wait_for("TCP sockets: 0", 5);
    assert!(!screen.contains(LOAD_NAME), "{screen}");
    tmux.keys(&["q"]);
    let after = wait_for_file(&dir.join("after"), 10);
    let before = wait_for_file(&dir.join("before"), 1);
    assert_eq!(before, after, "stty settings restored");
    assert_eq!(wait_for_file(&dir.join("status"), 1).trim(), "0");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    drop(load.stdin.take());
    let _ = load.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn terminal_ui_restores_the_terminal_on_sigterm() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let dir = temp_dir("term");
    let tmux = ui_pane(&ns, &dir);
    tmux.wait_for("TCP sockets:", 20);
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    let pid = wait_for_file(&dir.join("pid"), 5);
    let status = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let after = wait_for_file(&dir.join("after"), 10);
    assert_eq!(wait_for_file(&dir.join("before"), 1), after);
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Connections held open while the churn runs: top lists them (and the churn's TIME-WAIT
/// sockets) at every refresh.
const HELD: u64 = 10_000;

/// Starts `tcphold` in the namespace with HELD connections; returns once they are open.
fn hold(ns: &NetNs) -> Child {
    let mut command = ns.command(env!("CARGO_BIN_EXE_tcphold"));
    command.args(["--connections", &HELD.to_string(), "--seconds", "120"]);
    ready(command, "tcphold")
}

/// `sockwatch follow` (its text log into /dev/null) in the namespace, once attached.
fn follow_into_nothing(ns: &NetNs) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = ns
        .command(sockwatch_bin())
        .arg("follow")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockwatch follow");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    while !line.contains("attached") {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read follow's stderr");
        assert!(n > 0, "follow exited before attaching");
    }
    (child, stderr)
}

/// top at 1 s refresh and follow side by side, under the same churn, with HELD connections
/// for top to list at each refresh (and the churn's TIME-WAIT sockets). top's reader takes
/// nothing until the churn is over, as a slow consumer of `top -b` would: each frame is
/// megabytes, far more than a pipe holds. Neither the listing nor the stalled output may keep
/// top from draining its ring buffer: it loses no more events than follow.
#[test]
fn top_loses_no_events_under_a_churn_follow_keeps_up_with() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let mut held = hold(&ns);
    let (mut follow, mut follow_err) = follow_into_nothing(&ns);
    let mut top = ns
        .command(sockwatch_bin())
        .args(["top", "-b", "--json", "-n", "8", "-d", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockwatch top");
    // top's first frame comes a refresh after its programs are attached.
    thread::sleep(Duration::from_millis(1500));
    let churn = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args([
            "--connections",
            "100000000",
            "--threads",
            "2",
            "--seconds",
            "5",
        ])
        .output()
        .expect("run tcpchurn");
    assert!(churn.status.success(), "tcpchurn failed: {churn:?}");
    let frames: Vec<Value> = BufReader::new(top.stdout.take().expect("piped stdout"))
        .lines()
        .map(|line| serde_json::from_str(&line.expect("read a frame")).expect("a JSON frame"))
        .collect();
    let status = top.wait().expect("wait for top");
    assert!(status.success(), "top failed: {status:?}");
    let _ = Command::new("kill")
        .args(["-INT", &follow.id().to_string()])
        .status();
    let mut follow_stderr = String::new();
    std::io::Read::read_to_string(&mut follow_err, &mut follow_stderr).unwrap();
    assert!(follow.wait().expect("wait for follow").success());
    drop(held.stdin.take());
    let _ = held.wait();

    assert_eq!(frames.len(), 8);
    let opened: u64 = frames
        .iter()
        .map(|f| count(f, &f["totals"]["opened_per_s"]))
        .sum();
    let churned = String::from_utf8_lossy(&churn.stdout);
    assert!(opened > 10_000, "top saw {opened} opened ({churned})");
    let follow_lost = sockwatch_tests::follow_run::lost(&follow_stderr);
    let top_lost = frames.last().unwrap()["totals"]["events_lost"]
        .as_u64()
        .expect("events_lost");
    eprintln!("top lost {top_lost}, follow lost {follow_lost}, opened {opened}: {churned}");
    assert!(
        top_lost <= follow_lost,
        "top lost {top_lost} events, follow {follow_lost}, under {churned}"
    );
}
