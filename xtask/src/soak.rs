//! `cargo xtask soak`: the long reliability runs that `cargo xtask test` keeps short.
//!
//! 1. The property tests of every input parser with many more cases (PROPTEST_CASES).
//! 2. `sockwatch follow` (JSON, lifetime and table views at once) under sustained loopback
//!    connection churn in a private network namespace, sampled every few seconds: memory,
//!    descriptors, a snapshot under churn; then a clean stop, no event lost, no program left
//!    loaded, and the live table equal to a fresh snapshot.
//!
//! RELIABILITY.md records what these runs gave.

use crate::{
    bootstrap::{self, say},
    cargo,
};

const USAGE: &str = "usage: cargo xtask soak [--seconds N] [--cases N]
  --seconds N   how long follow runs under churn (default 300)
  --cases N     cases per property test (default 20000)";

struct Options {
    seconds: u64,
    cases: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 300,
        cases: 20_000,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let target = match flag.as_str() {
            "--seconds" => &mut options.seconds,
            "--cases" => &mut options.cases,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        };
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a number\n{USAGE}"))?;
        *target = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a number\n{USAGE}"))?;
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let toolchain = bootstrap::ensure()?;
    let binary = cargo::build_release(&toolchain)?;

    say(&format!(
        "property tests, {} cases each (release)",
        options.cases
    ));
    let cases = options.cases.to_string();
    for target in [&["--test", "fuzz_inputs"][..], &["--lib", "fuzz_tests"][..]] {
        let mut fuzz = cargo::cargo(&toolchain, &["test", "--release", "-p", "sockwatch"]);
        fuzz.args(target).env("PROPTEST_CASES", &cases);
        cargo::run_selected_tests(&mut fuzz, &format!("property tests ({})", target.join(" ")))?;
    }

    follow_soak(&toolchain, &binary, options.seconds)?;
    say("soak passed");
    Ok(())
}

/// `sockwatch follow` under connection churn for `seconds`: memory and descriptors flat, no
/// event lost, the live table equal to a fresh snapshot at the end. `cargo xtask test` runs
/// a two-minute form.
pub fn follow_soak(
    toolchain: &bootstrap::Toolchain,
    binary: &std::path::Path,
    seconds: u64,
) -> Result<(), String> {
    say(&format!(
        "follow under connection churn for {seconds} s (release)"
    ));
    let mut soak = cargo::cargo(
        toolchain,
        &[
            "test",
            "--release",
            "-p",
            "sockwatch-tests",
            "--test",
            "reliability_follow",
            "--",
            "--ignored",
            "--exact",
            "follow_survives_a_soak",
            "--nocapture",
        ],
    );
    soak.env("SOCKWATCH_BIN", binary)
        .env("SOCKWATCH_SOAK_SECONDS", seconds.to_string());
    cargo::run_selected_tests(&mut soak, "the follow soak").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn reads_its_options() {
        let options = parse(&strings(&["--seconds", "60", "--cases", "5"])).unwrap();
        assert_eq!((options.seconds, options.cases), (60, 5));
        let defaults = parse(&[]).unwrap();
        assert_eq!((defaults.seconds, defaults.cases), (300, 20_000));
        assert!(parse(&strings(&["--seconds"])).is_err());
        assert!(parse(&strings(&["--seconds", "soon"])).is_err());
        assert!(parse(&strings(&["--minutes", "1"])).is_err());
    }
}
