//! The programs sockwatch is measured against, installed through apt when missing. A peer that
//! cannot be had leaves its column empty; ss cannot be missed: it is the specification.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use super::say;
use crate::bootstrap::describe;

/// Where each peer program was found.
pub struct Peers {
    pub ss: PathBuf,
    pub netstat: Option<PathBuf>,
    pub tcpstates: Option<PathBuf>,
    pub tcplife: Option<PathBuf>,
    /// coreutils' stdbuf: line-buffers the libbpf tools for the time-to-first-event run.
    pub stdbuf: Option<PathBuf>,
}

/// Program, the Debian package that ships it.
const WANTED: [(&str, &str); 5] = [
    ("ss", "iproute2"),
    ("netstat", "net-tools"),
    ("tcpstates", "libbpf-tools"),
    ("tcplife", "libbpf-tools"),
    ("stdbuf", "coreutils"),
];

pub fn ensure() -> Result<Peers, String> {
    let mut missing: Vec<&str> = WANTED
        .iter()
        .filter(|(program, _)| find(program).is_none())
        .map(|&(_, package)| package)
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        install(&missing);
    }
    let peers = Peers {
        ss: find("ss").ok_or("ss (iproute2) is not installed and could not be installed")?,
        netstat: find("netstat"),
        tcpstates: find("tcpstates"),
        tcplife: find("tcplife"),
        stdbuf: find("stdbuf"),
    };
    for (program, package) in WANTED {
        if find(program).is_none() {
            say(&format!(
                "{program} ({package}) is missing: its column stays empty"
            ));
        }
    }
    Ok(peers)
}

/// `program` from Debian's `package`, installed when missing (the install is said in one
/// line); Err when it still cannot be found.
pub(crate) fn ensure_program(program: &str, package: &str) -> Result<PathBuf, String> {
    if find(program).is_none() {
        install(&[package]);
    }
    find(program)
        .ok_or_else(|| format!("{program} ({package}) is not installed and could not be installed"))
}

/// apt-get install; on failure once more after apt-get update (a stale or empty package list).
fn install(packages: &[&str]) {
    let list = packages.join(" ");
    say(&format!("installing {list} (apt-get install -y {list})"));
    if apt_install(packages).is_ok() {
        return;
    }
    say("install failed: updating the package lists (apt-get update)");
    let updated = quietly(Command::new("apt-get").args(["update", "-qq"]));
    if let Err(e) = updated.and_then(|()| apt_install(packages)) {
        say(&format!("cannot install {list}: {e}"));
    }
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    quietly(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// A program on PATH, or in the sbin folders a non-root PATH may lack.
fn find(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a command without showing its output; an error carries the last line it printed.
fn quietly(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot start {}: {e}", describe(command)))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    Err(format!(
        "{} failed ({}): {}",
        describe(command),
        output.status,
        last.unwrap_or("no message")
    ))
}
