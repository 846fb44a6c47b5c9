//! `sockwatch snapshot --json`: the output parses, and lists as many sockets as ss does.

use serde_json::Value;
use sockwatch_tests::{assert_all_passed, Run, SocketGroup, Testbed};

/// Option sets whose ss listing has one line per socket (no continuation lines).
const LISTINGS: &[&str] = &["-tan", "-uan", "-wan", "-xan", "-0an", "-tuwxan"];

#[test]
fn json_lists_the_same_sockets_as_ss() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL) else {
        return;
    };
    let mut failures = Vec::new();
    for options in LISTINGS {
        let ss = Run::ss(bed.ns(), &["-H", options]);
        assert!(
            ss.success(),
            "`{}` failed: {}",
            ss.command_line,
            ss.stderr()
        );
        let want = ss.stdout().lines().filter(|l| !l.trim().is_empty()).count();
        let json = Run::sockwatch(bed.ns(), &["--json", options]);
        let got = match socket_count(&json) {
            Ok(count) => count,
            Err(problem) => {
                failures.push(format!("`{}`: {problem}", json.command_line));
                continue;
            }
        };
        if got != want {
            failures.push(format!(
                "`{}` lists {got} sockets, `{}` lists {want}:\n{}\n---- ss:\n{}",
                json.command_line,
                ss.command_line,
                json.stdout(),
                ss.stdout()
            ));
        }
    }
    assert_all_passed("JSON listings", LISTINGS.len(), &failures);
}

/// The number of sockets in a JSON snapshot: a top-level array of socket objects, or an
/// object whose `sockets` member is one.
fn socket_count(run: &Run) -> Result<usize, String> {
    if !run.success() {
        return Err(format!("failed: {}", run.stderr()));
    }
    let value: Value = serde_json::from_slice(&run.output.stdout)
        .map_err(|e| format!("output is not JSON ({e}):\n{}", run.stdout()))?;
    let sockets = match &value {
        Value::Array(sockets) => sockets,
        Value::Object(fields) => match fields.get("sockets") {
            Some(Value::Array(sockets)) => sockets,
            _ => return Err(format!("no `sockets` array in:\n{value:#}")),
        },
        _ => return Err(format!("neither an array nor an object:\n{value:#}")),
    };
    if let Some(odd) = sockets.iter().find(|s| !s.is_object()) {
        return Err(format!("a socket entry is not an object: {odd}"));
    }
    Ok(sockets.len())
}
