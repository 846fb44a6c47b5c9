//! Helper programs started by a test.

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
