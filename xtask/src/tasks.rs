//! The build, run and test tasks.

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

pub fn build() -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    say(&format!("built {}", binary.display()));
    Ok(())
}

pub fn run(args: Vec<String>) -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    let is_root = effective_uid() == 0;
    let mut cmd = if is_root {
        Command::new(&binary)
    } else if on_path("sudo") {
        say("not root: running sockwatch through sudo");
        let mut cmd = Command::new("sudo");
        cmd.arg("-E").arg(&binary);
        cmd
    } else {
        say("not root and no sudo: running unprivileged (snapshot works; follow needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)");
        Command::new(&binary)
    };
    let status = cmd
        .args(&args)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    // sockwatch's own exit status is the answer; pass it through unchanged.
    std::process::exit(status.code().unwrap_or(1));
}

pub fn test() -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    say("checking formatting (cargo fmt --check)");
    bootstrap::run(&mut cargo(&toolchain, &["fmt", "--all", "--", "--check"]))?;

    say("linting user-space crates (cargo clippy --all-targets -D warnings)");
    // Clippy needs no eBPF object: skip that build (the placeholder keeps the crate compiling).
    let mut clippy = cargo(
        &toolchain,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
    clippy.env("AYA_BUILD_SKIP", "1");
    bootstrap::run(&mut clippy)?;

    say("linting the eBPF crate (bpfel-unknown-none)");
    let ebpf_clippy = format!("+{}", toolchain.name);
    let mut clippy = cargo(
        &toolchain,
        &[
            &ebpf_clippy,
            "clippy",
            "--quiet",
            "-p",
            "sockwatch-ebpf",
            "--target",
            "bpfel-unknown-none",
            "-Z",
            "build-std=core",
            "--release",
            "--",
            "-D",
            "warnings",
        ],
    );
    clippy.env(
        "CARGO_TARGET_DIR",
        workspace_root().join("target/ebpf-clippy"),
    );
    bootstrap::run(&mut clippy)?;

    let binary = build_release(&toolchain)?;
    // The BTF offsets test compares sockwatch's reading of the kernel's BTF with bpftool's.
    crate::bench::peers::ensure_program("bpftool", "bpftool")?;
    say("running unit and end-to-end tests (release)");
    let mut tests = cargo(&toolchain, &["test", "--release"]);
    tests.env("SOCKWATCH_BIN", &binary);
    bootstrap::run(&mut tests)?;
    crate::bench::run(&["--quick".to_string()])?;
    crate::soak::follow_soak(&toolchain, &binary, 120)?;
    say("all checks passed");
    Ok(())
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

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|d| d.join(program).is_file()))
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
        assert_eq!(
            passed_in("test result: FAILED. 2 passed; 1 failed; 0 ignored"),
            2
        );
    }
}
