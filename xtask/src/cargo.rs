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
