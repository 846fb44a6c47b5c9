//! The `sockwatch` command: parse the command line, dispatch, turn errors into one line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sockwatch: {err}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
