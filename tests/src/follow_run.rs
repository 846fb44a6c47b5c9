//! `sockwatch follow` started in a namespace for a test, stopped as a user stops it.

use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, ChildStderr, Command, Stdio},
};

use serde_json::Value;

use crate::{
    json::{parse_lines, snapshot_socket_keys},
    sockwatch_bin, NetNs,
};

/// A file for a run in a namespace to record into (`follow --write`), in the temp directory,
/// named after the namespace and `tag`; removed when dropped, whatever the test's outcome.
pub struct Recording(PathBuf);

impl Recording {
    pub fn new(ns: &NetNs, tag: &str) -> Recording {
        Recording(std::env::temp_dir().join(format!("{}-{tag}.events", ns.name())))
    }

    /// The path, as an argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }

    /// `sockwatch follow VIEW --read` of the recording, which must succeed: its standard
    /// output.
    pub fn replay(&self, view: &[&str]) -> String {
        let replay = Command::new(sockwatch_bin())
            .arg("follow")
            .args(view)
            .args(["--read", self.arg()])
            .output()
            .expect("replay");
        assert!(replay.status.success(), "{replay:?}");
        String::from_utf8_lossy(&replay.stdout).into_owned()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A running `sockwatch follow`; killed and reaped if the test ends early.
pub struct FollowRun {
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// What follow printed on stderr before it was attached (e.g. hooks it lacks).
    pub startup: String,
}

impl FollowRun {
    /// Starts `sockwatch follow ARGS` in the namespace and waits until its programs are attached.
    pub fn start(ns: &NetNs, args: &[&str]) -> FollowRun {
        FollowRun::start_with(ns.command(sockwatch_bin()), args)
    }

    /// Like [`FollowRun::start`], with extra environment variables.
    pub fn start_with_env(ns: &NetNs, args: &[&str], env: &[(&str, &str)]) -> FollowRun {
        let mut command = ns.command(sockwatch_bin());
        command.envs(env.iter().copied());
        FollowRun::start_with(command, args)
    }

    /// As [`FollowRun::start`], with `sockwatch` run by `command` (e.g. under nsenter,
    /// which, unlike `ip netns exec`, keeps the host's /sys and its cgroup mounts).
    pub fn start_with(mut command: Command, args: &[&str]) -> FollowRun {
        let mut child = command
            .arg("follow")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockwatch follow");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut run = FollowRun {
            child,
            stderr,
            startup: String::new(),
        };
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
            run.startup.push_str(&line);
            assert!(
                !line.contains("sockwatch:"),
                "sockwatch follow failed: {line}"
            );
        }
    }

    /// Stops follow with SIGINT; returns its stdout and the rest of its stderr.
    pub fn interrupt(mut self) -> (String, String) {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let mut stderr = String::new();
        let _ = self.stderr.read_to_string(&mut stderr);
        let status = self.child.wait().expect("wait for follow");
        assert!(status.success(), "follow exit status {status:?}: {stderr}");
        (stdout, stderr)
    }
}

impl Drop for FollowRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines after the `start` line of follow's JSON stream.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    let mut lines = parse_lines(stdout);
    if lines.first().is_some_and(|l| l["type"] == "start") {
        lines.remove(0);
    }
    lines
}

/// The summary's "N lost" figure.
pub fn lost(stderr: &str) -> u64 {
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("sockwatch follow:"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" lost"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no lost count in {summary}"))
}

/// follow's summary line (`sockwatch follow: N events, ...`); a line of ends by reason may
/// follow it.
pub fn summary_line(stderr: &[String]) -> String {
    stderr
        .iter()
        .rev()
        .find(|line| line.contains(" events, "))
        .cloned()
        .unwrap_or_default()
}

/// The sorted keys of the namespace's full TCP sockets, from `snapshot --json`: what follow's
/// live table holds (no TIME-WAIT or SYN-RECV mini-sockets).
pub fn full_tcp_socket_keys(ns: &NetNs) -> Vec<String> {
    let listed = ns.run(
        sockwatch_bin(),
        [
            "snapshot",
            "--json",
            "-tan",
            "exclude",
            "time-wait",
            "exclude",
            "syn-recv",
        ],
    );
    assert!(listed.status.success(), "snapshot: {listed:?}");
    snapshot_socket_keys(&listed.stdout)
}
