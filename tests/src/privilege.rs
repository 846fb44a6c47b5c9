//! The privilege gate: the tests create network namespaces, which needs root
//! (CAP_SYS_ADMIN and CAP_NET_ADMIN), plus the `ip` and `ss` programs.
//!
//! Without them a test never passes silently: with `CI=true` it fails, otherwise it prints a
//! `SKIPPED: <reason>` line to stderr and returns.

use std::{io::Write, process::Command, sync::OnceLock};

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

/// True when the calling test can run. Otherwise fails the test under `CI=true`, or prints a
/// visible `SKIPPED:` line and returns false.
pub fn can_run_namespace_tests() -> bool {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    let Some(reason) = MISSING.get_or_init(missing_requirement) else {
        return true;
    };
    let test = std::thread::current().name().unwrap_or("test").to_string();
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: cannot run: {reason} (CI=true: not skipping)");
    }
    // Straight to the stderr stream: eprintln! would be captured, and hidden, by the test harness.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
    false
}

/// Why the namespace tests cannot run here, if they cannot.
fn missing_requirement() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let missing: Vec<&str> = match effective_capabilities(&status) {
        Some(caps) => [
            (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
            (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        ]
        .into_iter()
        .filter(|&(bit, _)| caps & (1 << bit) == 0)
        .map(|(_, name)| name)
        .collect(),
        None => return Some("cannot read CapEff from /proc/self/status".into()),
    };
    if !missing.is_empty() {
        return Some(format!("needs root ({} missing)", missing.join(", ")));
    }
    for (program, version_flag) in [("ip", "-V"), ("ss", "-V")] {
        if Command::new(program).arg(version_flag).output().is_err() {
            return Some(format!("`{program}` (iproute2) is not installed"));
        }
    }
    None
}

/// The CapEff mask from the text of /proc/<pid>/status.
fn effective_capabilities(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_effective_capabilities() {
        let status = "Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(effective_capabilities(status), Some(0x1ff_ffff_ffff));
        assert_eq!(effective_capabilities("Name:\tcat\n"), None);
        assert_eq!(effective_capabilities("CapEff:\tzz\n"), None);
    }
}
