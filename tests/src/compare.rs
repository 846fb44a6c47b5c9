//! Running ss and sockwatch side by side in a namespace, and judging the difference.

use std::{
    env,
    ffi::OsStr,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Output,
};

use crate::{diff, netns::NetNs, normalize::Masks};

/// Environment variable naming the sockwatch binary under test (`cargo xtask test` sets it).
pub const SOCKWATCH_BIN: &str = "SOCKWATCH_BIN";

/// Stderr lines quoted in a report; ss can print hundreds (one warning a socket).
const STDERR_LINES_SHOWN: usize = 10;

/// The sockwatch binary: `$SOCKWATCH_BIN`, else `<workspace>/target/release/sockwatch`.
/// Panics with what to do when it does not exist.
pub fn sockwatch_bin() -> PathBuf {
    let (path, origin) = match env::var_os(SOCKWATCH_BIN).filter(|path| !path.is_empty()) {
        Some(path) => (PathBuf::from(path), format!("from ${SOCKWATCH_BIN}")),
        None => {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new("."));
            (
                workspace.join("target/release/sockwatch"),
                format!("the default, ${SOCKWATCH_BIN} being unset"),
            )
        }
    };
    assert!(
        path.is_file(),
        "sockwatch binary not found at {} ({origin}): build it with \
         `cargo build --release -p sockwatch`, or point ${SOCKWATCH_BIN} at it \
         (`cargo xtask test` does both)",
        path.display()
    );
    path
}

/// One finished run of ss or sockwatch, with the command line it ran for reports.
pub struct Run {
    pub command_line: String,
    pub output: Output,
}

impl Run {
    /// `ss args` inside `ns`.
    pub fn ss(ns: &NetNs, args: &[&str]) -> Run {
        Run::ss_with_env(ns, &[], args)
    }

    /// `ss args` inside `ns` with extra environment (e.g. TCPDIAG_FILE).
    pub fn ss_with_env(ns: &NetNs, env: &[(&str, &OsStr)], args: &[&str]) -> Run {
        let mut command = ns.command("ss");
        command.args(args);
        let mut shown = String::new();
        for (name, value) in env {
            command.env(name, value);
            let _ = write!(shown, "{name}={} ", value.to_string_lossy());
        }
        Run::finish(ns, command, format!("{shown}ss {}", shell_words(args)))
    }

    /// `sockwatch snapshot args` inside `ns`.
    pub fn sockwatch(ns: &NetNs, args: &[&str]) -> Run {
        let mut command = ns.command(sockwatch_bin());
        command.arg("snapshot").args(args);
        Run::finish(
            ns,
            command,
            format!("sockwatch snapshot {}", shell_words(args)),
        )
    }

    fn finish(ns: &NetNs, mut command: std::process::Command, command_line: String) -> Run {
        let output = command.output().unwrap_or_else(|e| {
            panic!(
                "cannot run `{command_line}` in namespace {}: {e}",
                ns.name()
            )
        });
        Run {
            command_line,
            output,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    fn status(&self) -> String {
        match self.output.status.code() {
            Some(code) => format!("exit {code}"),
            None => format!("{}", self.output.status),
        }
    }
}

/// Runs `ss args` and `sockwatch snapshot args` in `ns` and panics with a report unless both
/// succeed or both fail, and print the same stdout once the masks `args` call for are applied.
pub fn compare_with_ss(ns: &NetNs, args: &[&str]) {
    if let Err(report) = check_with_ss(ns, args) {
        panic!("{report}");
    }
}

/// `compare_with_ss`, returning the report instead of panicking (for table-driven tests that
/// collect every failure).
pub fn check_with_ss(ns: &NetNs, args: &[&str]) -> Result<(), String> {
    let expected = Run::ss(ns, args);
    let actual = Run::sockwatch(ns, args);
    check_same(&expected, &actual, Masks::for_args(args))
}

/// Whether two runs agree: both succeed or both fail (the exact non-zero code is not compared:
/// ss exits 1 or 255 on errors, sockwatch documents its own codes), and their stdout is equal
/// after masking. Err holds a readable report: a diff of the masked stdout, then both
/// outputs in full.
pub fn check_same(expected: &Run, actual: &Run, masks: Masks) -> Result<(), String> {
    let (want, got) = (expected.stdout(), actual.stdout());
    let (want_masked, got_masked) = (masks.apply(&want), masks.apply(&got));
    let same_status = expected.success() == actual.success();
    if same_status && want_masked == got_masked {
        return Ok(());
    }
    let mut report = format!(
        "`{}` differs from `{}`\n",
        actual.command_line, expected.command_line
    );
    if !same_status {
        let _ = writeln!(
            report,
            "status: {} for ss, {} for sockwatch",
            expected.status(),
            actual.status()
        );
    }
    if want_masked != got_masked {
        if masks.any() {
            let _ = writeln!(
                report,
                "masked in both before comparing (see sockwatch_tests::normalize): {masks}"
            );
        }
        report.push_str(&diff::unified(
            &want_masked,
            &got_masked,
            &expected.command_line,
            &actual.command_line,
        ));
    }
    for run in [expected, actual] {
        let _ = write!(
            report,
            "---- {} ({}), stdout:\n{}---- stderr:\n{}",
            run.command_line,
            run.status(),
            run.stdout(),
            first_lines(&run.stderr(), STDERR_LINES_SHOWN)
        );
    }
    Err(report)
}

/// For a filter ss rejects: checks that ss does reject it, and that sockwatch exits non-zero
/// with nothing on stdout and a one-line error on stderr. The error text itself may differ.
pub fn check_rejected_like_ss(ns: &NetNs, args: &[&str]) -> Result<(), String> {
    let ss = Run::ss(ns, args);
    if ss.success() {
        return Err(format!(
            "test table error: `{}` succeeds, so it is no bad expression; stdout:\n{}",
            ss.command_line,
            ss.stdout()
        ));
    }
    let sockwatch = Run::sockwatch(ns, args);
    let stderr = sockwatch.stderr();
    let error_lines = stderr.lines().filter(|l| !l.trim().is_empty()).count();
    if !sockwatch.success() && sockwatch.output.stdout.is_empty() && error_lines == 1 {
        return Ok(());
    }
    Err(format!(
        "`{}` should fail like `{}` ({}), with a one-line error and no output; got {}, \
         stdout:\n{}---- stderr ({error_lines} lines):\n{stderr}",
        sockwatch.command_line,
        ss.command_line,
        ss.status(),
        sockwatch.status(),
        sockwatch.stdout()
    ))
}

/// Panics with every report, numbered, if there are any.
pub fn assert_all_passed(what: &str, total: usize, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let mut report = format!("{} of {total} {what} failed:\n", failures.len());
    for (n, failure) in failures.iter().enumerate() {
        let _ = write!(report, "\n==== failure {} ====\n{failure}\n", n + 1);
    }
    panic!("{report}");
}

/// Arguments joined for display, quoted where a shell would need it.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@%+[]".contains(c));
            if plain {
                arg.to_string()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_lines(text: &str, count: usize) -> String {
    let total = text.lines().count();
    let mut shown: String = text.lines().take(count).map(|l| format!("{l}\n")).collect();
    if total > count {
        let _ = writeln!(shown, "[... {} more lines]", total - count);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(
            shell_words(&["-tan", "dport", "=", ":22", "( sport = :80 )", ""]),
            "-tan dport = :22 '( sport = :80 )' ''"
        );
        assert_eq!(
            shell_words(&["src", "/tmp/sw-1-2/*"]),
            "src '/tmp/sw-1-2/*'"
        );
    }

    #[test]
    fn long_stderr_is_cut() {
        assert_eq!(first_lines("a\nb\nc\n", 2), "a\nb\n[... 1 more lines]\n");
        assert_eq!(first_lines("a\n", 2), "a\n");
    }
}
