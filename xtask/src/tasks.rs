//! The build, run and test tasks.

use std::{env, process::Command};

use crate::{
    bootstrap::{self, say},
    cargo::{build_release, cargo, is_root, workspace_root},
};

pub fn build() -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    say(&format!("built {}", binary.display()));
    Ok(())
}

pub fn run(args: Vec<String>) -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    let mut cmd = if is_root() {
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
    crate::layers::check()?;

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
    say("running unit and end-to-end tests (release)");
    let mut tests = cargo(&toolchain, &["test", "--release"]);
    tests.env("SOCKWATCH_BIN", &binary);
    bootstrap::run(&mut tests)?;
    crate::bench::run(&["--quick".to_string()])?;
    crate::soak::follow_soak(&toolchain, &binary, 120)?;
    say("all checks passed");
    Ok(())
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
