//! The `sockwatch` command: parse the command line, dispatch, turn errors into one line.
//! Error text may quote paths, names and arguments from outside: it passes the escaper here,
//! at the edge, so a message is always one line of visible characters.

mod cli;

use std::process::ExitCode;

use clap::{error::ErrorKind, Parser};
use sockwatch::escape::escape_message;

fn main() -> ExitCode {
    let args = match cli::args::Cli::try_parse() {
        Ok(args) => args,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // clap's first line names the problem; the usage lines after it are noise here.
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.trim_start_matches("error: ");
            eprintln!("sockwatch: {}", escape_message(first));
            return ExitCode::from(cli::EXIT_ERROR);
        }
    };
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sockwatch: {}", escape_message(&err));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
