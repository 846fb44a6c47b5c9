//! The command-line layer: [`args`] parses, [`config`] builds each command's configuration,
//! and each command's module runs it. Nothing here decides what the library does.

pub mod args;
mod config;
mod follow;
mod netstat;
mod snapshot;

use std::process::ExitCode;

use args::{Cli, Command};
use config::{follow::FollowPlan, netstat::NetstatConfig, snapshot::SnapshotConfig};

/// Exit status for errors a user can meet (bad options, no privileges, kernel lacks a hook).
pub const EXIT_ERROR: u8 = 1;

pub fn dispatch(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Follow(args) => follow::run(FollowPlan::new(args)?),
        Command::Netstat(args) => netstat::run(NetstatConfig::new(&args)?),
        Command::Snapshot(args) => snapshot::run(SnapshotConfig::new(&args)?),
    }
}
