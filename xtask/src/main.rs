//! Developer tasks for sockwatch: toolchain bootstrap, build, run, test.
//!
//! `cargo xtask build|run|test` install what they need on a fresh machine (rust-src, bpf-linker
//! built against the toolchain's own LLVM), say each step in one line, and fail with one clear
//! message when something cannot be had.

mod bench;
mod bootstrap;
mod cargo;
mod install;
mod kernels;
mod layers;
mod soak;
mod tasks;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  build            bootstrap the eBPF toolchain, build sockwatch (release)
  run -- ARGS      build, then run `sockwatch ARGS` (as root, through sudo when needed)
  test             fmt, clippy, unit tests and end-to-end tests (as CI runs them)
  kernels [SERIES...]
                   boot Debian 11's 5.10, Debian 12's 6.1 and 6.12 under QEMU and run
                   sockwatch's checks in each (SERIES: e.g. 5.10; default all)
  bench [--quick]  sockwatch against ss, netstat, tcpstates, tcplife; writes BENCHMARKS.md
  bench --only top top's CPU share scenario alone, once (BENCHMARKS.md kept)
  bench --only first-event
                   follow's time to first event alone, 7 runs (BENCHMARKS.md kept)
  soak [--seconds N] [--cases N]
                   long runs: property tests with many cases, follow under churn
  install [--prefix DIR]
                   build, then install the binary, the man page sockwatch(8) and the
                   bash, zsh and fish completions below DIR (default /usr/local)
  layers           check that no module of sockwatch or xtask imports in a cycle
  bootstrap        only install what the build needs";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => tasks::build(),
        Some("run") => {
            let rest = args[1..]
                .iter()
                .skip_while(|a| *a == "--")
                .cloned()
                .collect();
            tasks::run(rest)
        }
        Some("test") => tasks::test(),
        Some("kernels") => kernels::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("install") => install::run(&args[1..]),
        Some("layers") => layers::check(),
        Some("bootstrap") => bootstrap::ensure().map(|_| ()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
