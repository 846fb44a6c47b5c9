//! Running ss and sockwatch side by side in a namespace, and judging the difference.

use std::{
    env,
    ffi::OsStr,
    fmt::Write as _,
    iter,
    path::{Path, PathBuf},
    process::Output,
};

use crate::{diff, netns::NetNs, normalize::Masks};

/// Environment variable naming the sockwatch binary under test (`cargo xtask test` sets it).
pub const SOCKWATCH_BIN: &str = "SOCKWATCH_BIN";

/// Stderr lines quoted in a report; ss can print hundreds (one warning a socket).
const STDERR_LINES_SHOWN: usize = 10;

/// Exit codes sockwatch may use for an error (ss uses 1 and 255; anything else from sockwatch,
/// such as 101 from a panic or death by a signal, is a failure of its own).
const ERROR_CODES: [i32; 2] = [1, 2];

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
        Run {
            command_line: format!("ss {}", shell_words(args)),
            output: ns.run("ss", args),
        }
    }

    /// `ss args` inside `ns` with extra environment (e.g. TCPDIAG_FILE).
    pub fn ss_with_env(ns: &NetNs, env: &[(&str, &OsStr)], args: &[&str]) -> Run {
        let mut command = ns.command("ss");
        command.args(args);
        let mut command_line = String::new();
        for (name, value) in env {
            command.env(name, value);
            let _ = write!(command_line, "{name}={} ", value.to_string_lossy());
        }
        let _ = write!(command_line, "ss {}", shell_words(args));
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

    /// `program args` inside `ns` as user and group nobody (65534) with no capabilities;
    /// `label` names the program in reports.
    pub fn as_nobody(ns: &NetNs, label: &str, program: impl AsRef<OsStr>, args: &[&str]) -> Run {
        let output = ns
            .command("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run setpriv in namespace {}: {e}", ns.name()));
        Run {
            command_line: format!("{label} {} (as nobody)", shell_words(args)),
            output,
        }
    }

    /// `sockwatch snapshot args` inside `ns`.
    pub fn sockwatch(ns: &NetNs, args: &[&str]) -> Run {
        Run {
            command_line: format!("sockwatch snapshot {}", shell_words(args)),
            output: ns.run(sockwatch_bin(), iter::once(&"snapshot").chain(args)),
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

    /// Whether the run ended with one of sockwatch's error codes.
    fn is_error_exit(&self) -> bool {
        self.output
            .status
            .code()
            .is_some_and(|code| ERROR_CODES.contains(&code))
    }

    fn status(&self) -> String {
        match self.output.status.code() {
            Some(code) => format!("exit {code}"),
            None => format!("{}", self.output.status),
        }
    }
}

/// Runs `ss args` and `sockwatch snapshot args` in `ns` and panics with a report unless they
/// agree (see `check_same`) once the masks `args` call for are applied.
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

/// Whether two runs agree: both succeed, or both fail with the second one exiting 1 or 2
/// (`ERROR_CODES`); and their stdout is equal after masking. Err holds a readable report: a
/// diff of the masked stdout, then both outputs in full.
pub fn check_same(expected: &Run, actual: &Run, masks: Masks) -> Result<(), String> {
    let (want, got) = (expected.stdout(), actual.stdout());
    let (want_masked, got_masked) = (masks.apply(&want), masks.apply(&got));
    let same_status = match expected.success() {
        true => actual.success(),
        false => actual.is_error_exit(),
    };
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
            "status: {} for ss, {} for sockwatch (expected {})",
            expected.status(),
            actual.status(),
            if expected.success() {
                "exit 0"
            } else {
                "exit 1 or 2"
            }
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

/// [`check_same`], and also the same stderr and the same exit status: for runs where ss
/// prints warnings and goes on, which sockwatch must print alike.
pub fn check_same_with_stderr(expected: &Run, actual: &Run, masks: Masks) -> Result<(), String> {
    check_same(expected, actual, masks)?;
    let (want, got) = (expected.stderr(), actual.stderr());
    if want == got && expected.output.status.code() == actual.output.status.code() {
        return Ok(());
    }
    Err(format!(
        "`{}`: stderr {got:?}, {}; `{}`: stderr {want:?}, {}",
        actual.command_line,
        actual.status(),
        expected.command_line,
        expected.status()
    ))
}

/// For a filter ss rejects: checks that ss does reject it, and that sockwatch exits 1 or 2
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
    if sockwatch.is_error_exit() && sockwatch.output.stdout.is_empty() && error_lines == 1 {
        return Ok(());
    }
    Err(format!(
        "`{}` should fail like `{}` ({}): exit 1 or 2, a one-line error, no output; got {}, \
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
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    fn run(command_line: &str, code: i32, stdout: &str) -> Run {
        Run {
            command_line: command_line.to_string(),
            output: Output {
                // A wait status: the exit code sits in the second byte.
                status: std::process::ExitStatus::from_raw(code << 8),
                stdout: stdout.as_bytes().to_vec(),
                stderr: Vec::new(),
            },
        }
    }

    #[test]
    fn same_output_and_success_pass() {
        let ss = run("ss -tan", 0, "State\nESTAB\n");
        let sw = run("sockwatch snapshot -tan", 0, "State\nESTAB\n");
        assert_eq!(check_same(&ss, &sw, Masks::default()), Ok(()));
    }

    #[test]
    fn errors_must_use_sockwatchs_codes() {
        let ss = run("ss -tan 'dport ='", 255, "");
        assert!(check_same(&ss, &run("sockwatch", 2, ""), Masks::default()).is_ok());
        assert!(check_same(&ss, &run("sockwatch", 1, ""), Masks::default()).is_ok());
        // A panic (101) or ss's own 255 is not a clean error exit.
        for code in [101, 255, 0] {
            let report = check_same(&ss, &run("sockwatch", code, ""), Masks::default())
                .expect_err("wrong exit code accepted");
            assert!(report.contains("expected exit 1 or 2"), "{report}");
        }
    }

    #[test]
    fn a_difference_is_reported_with_a_diff_and_both_outputs() {
        let ss = run("ss -tan", 0, "State\nESTAB 0\n");
        let sw = run("sockwatch snapshot -tan", 0, "State\nESTAB 1\n");
        let report = check_same(&ss, &sw, Masks::default()).expect_err("outputs differ");
        assert!(report.contains("-ESTAB 0\n+ESTAB 1\n"), "{report}");
        assert!(
            report.contains("---- ss -tan (exit 0), stdout:\nState\nESTAB 0\n"),
            "{report}"
        );
        assert!(
            report.contains("---- sockwatch snapshot -tan (exit 0)"),
            "{report}"
        );
    }

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
