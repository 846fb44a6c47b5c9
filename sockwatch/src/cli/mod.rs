//! The command-line layer: only turns parsed arguments into library calls and exit codes.

pub mod args;
mod follow;
mod netstat;
mod serve;
mod snapshot;

use std::process::ExitCode;

use args::{Cli, Command};

/// Exit status for errors a user can meet (bad options, no privileges, kernel lacks a hook).
pub const EXIT_ERROR: u8 = 1;

pub fn dispatch(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Follow(args) => follow::run(args),
        Command::Netstat(args) => netstat::run(args),
        Command::Snapshot(args) => snapshot::run(args),
        Command::Serve(args) => serve::run(args),
    }
}
