//! Helper programs started by a test.

use crate::netns::NetNs;

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    process::{Child, ChildStdout, Command, Stdio},
};

/// A program that said it is ready; its output stays open for what it says next.
pub struct Ready {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub first_line: String,
}

/// Starts `command` with its output piped and waits for its first line (the program saying
/// it is ready).
pub fn spawn_ready(command: &mut Command) -> Ready {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first_line = String::new();
    stdout
        .read_line(&mut first_line)
        .unwrap_or_else(|e| panic!("cannot read {command:?}'s output: {e}"));
    Ready {
        child,
        stdout,
        first_line,
    }
}

/// Gives `command` the default actions of SIGINT, SIGTERM and SIGHUP, for a test that ends a
/// program with one of them: a run started in the background of a script (`cmd &`) inherits
/// SIGINT ignored, and a program without handlers (ss, snapshot) then rightly keeps running.
pub fn with_default_signals(command: &mut Command) -> &mut Command {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// A running tcphold: its connections (and their listener) are established; dropping it
/// closes tcphold's standard input, which ends it, and reaps it.
pub struct Held(Child);

impl Held {
    /// Starts tcphold (`exe`, `env!("CARGO_BIN_EXE_tcphold")` from a test) in `ns`, holding
    /// `connections` loopback connections for at most `seconds`; returns once they are all
    /// established.
    pub fn start(ns: &NetNs, exe: &str, connections: u32, seconds: u64) -> Held {
        let mut command = ns.command(exe);
        command
            .args(["--connections", &connections.to_string()])
            .args(["--seconds", &seconds.to_string()])
            .stdin(Stdio::piped());
        let ready = spawn_ready(&mut command);
        let held = Held(ready.child);
        assert!(
            ready.first_line.starts_with("ready"),
            "tcphold: {}",
            ready.first_line
        );
        held
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Runs tcpchurn (`exe`: `env!("CARGO_BIN_EXE_tcpchurn")` from a test) in `ns` to its end:
/// `connections` short connections to 127.0.0.1:`port` (0: an ephemeral port), for at most
/// a minute, with `args` added (`--reset-every`, ...); panics with its output if it fails.
pub fn churn(ns: &NetNs, exe: &str, connections: u32, port: u16, args: &[&str]) {
    let output = ns
        .command(exe)
        .args(["--connections", &connections.to_string(), "--seconds", "60"])
        .args(["--port", &port.to_string()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tcpchurn: {e}"));
    assert!(output.status.success(), "tcpchurn failed: {output:?}");
}
