//! `sockwatch follow` started in a namespace for a test, stopped as a user stops it.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStderr, Stdio},
};

use crate::{sockwatch_bin, NetNs};

/// A running `sockwatch follow`; killed and reaped if the test ends early.
pub struct FollowRun {
    child: Child,
    stderr: BufReader<ChildStderr>,
}

impl FollowRun {
    /// Starts `sockwatch follow ARGS` in the namespace and waits until its programs are attached.
    pub fn start(ns: &NetNs, args: &[&str]) -> FollowRun {
        let mut child = ns
            .command(sockwatch_bin())
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
