//! The command-line layer: [`args`] parses, [`config`] builds each command's configuration,
//! and each command's module runs it. Nothing here decides what the library does.

pub mod args;
mod config;
mod docs;
mod follow;
mod netstat;
mod serve;
mod snapshot;
mod top;

use std::{
    io::{self, Write},
    process::ExitCode,
};

use args::{Cli, Command};
use config::{
    follow::FollowPlan, netstat::NetstatConfig, serve::ServePlan, snapshot::SnapshotConfig,
    top::TopPlan,
};

/// Exit status for errors a user can meet (bad options, no privileges, kernel lacks a hook).
pub const EXIT_ERROR: u8 = 1;

pub fn dispatch(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Follow(args) => follow::run(FollowPlan::new(args)?),
        Command::Netstat(args) => netstat::run(NetstatConfig::new(&args)?),
        Command::Snapshot(args) => snapshot::run(SnapshotConfig::new(&args)?),
        Command::Top(args) => top::run(TopPlan::new(args)?),
        Command::Serve(args) => serve::run(ServePlan::new(args)?),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            docs::write_completions(shell, &mut out);
            print_all(&out)
        }
        Command::Man => {
            let mut out = Vec::new();
            docs::write_man(&mut out).map_err(|e| format!("writing the man page: {e}"))?;
            print_all(&out)
        }
    }
}

/// Writes generated text to standard output; a closed pipe ends quietly.
fn print_all(text: &[u8]) -> Result<ExitCode, String> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(ExitCode::SUCCESS),
    }
}
