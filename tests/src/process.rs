//! Helper programs started by a test.

use std::{
    io::{BufRead, BufReader},
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
