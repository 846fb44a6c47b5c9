//! Cargo and the workspace, as every task reaches them: the root, a cargo command through
//! rustup's proxy, the release build, whether we run as root. Kept apart from the tasks so
//! that `test`, `bench` and `soak` all use it without reaching into one another.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use crate::bootstrap::{self, say, Toolchain};

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// A cargo command in the workspace, through rustup's proxy so that `+toolchain` works.
pub(crate) fn cargo(toolchain: &Toolchain, args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace_root()).args(args);
    toolchain.apply(&mut cmd);
    cmd
}

fn release_binary() -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release/sockwatch")
}

pub(crate) fn build_release(toolchain: &Toolchain) -> Result<PathBuf, String> {
    say("building sockwatch and its eBPF programs (release)");
    bootstrap::run(&mut cargo(
        toolchain,
        &["build", "--release", "--quiet", "-p", "sockwatch"],
    ))?;
    Ok(release_binary())
}

pub(crate) fn is_root() -> bool {
    effective_uid() == 0
}

fn effective_uid() -> u32 {
    // /proc/self/status avoids a libc dependency for one call.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(u32::MAX)
}

/// Runs a `cargo test` that selects its tests (a filter, `--exact` names, one target) and fails
/// unless at least one test passed: a renamed test must fail CI, not leave it green. Its
/// output is passed through as it comes.
pub(crate) fn run_selected_tests(cmd: &mut Command, what: &str) -> Result<u64, String> {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let mut passed = 0;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            passed += passed_in(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})"));
    }
    if passed == 0 {
        return Err(format!(
            "{what}: no test ran (was a test renamed, or a filter left stale?)"
        ));
    }
    Ok(passed)
}

/// The passed count of a libtest summary line (`test result: ok. 3 passed; 0 failed; ...`).
fn passed_in(line: &str) -> u64 {
    line.strip_prefix("test result: ")
        .and_then(|rest| rest.split("; ").next())
        .and_then(|first| first.split_whitespace().rev().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        let line = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 5 filtered out; finished in 0.01s";
        assert_eq!(passed_in(line), 3);
        assert_eq!(
            passed_in("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out"),
            0
        );
        assert_eq!(passed_in("running 3 tests"), 0);
        let mut none_ran = Command::new("sh");
        none_ran.args([
            "-c",
            "echo 'test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 7 filtered out'",
        ]);
        assert!(run_selected_tests(&mut none_ran, "a stale filter").is_err());
        let mut one_ran = Command::new("sh");
        one_ran.args([
            "-c",
            "echo 'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 6 filtered out'",
        ]);
        assert_eq!(run_selected_tests(&mut one_ran, "one test"), Ok(1));
        assert_eq!(
            passed_in("test result: FAILED. 2 passed; 1 failed; 0 ignored"),
            2
        );
    }
}
