//! The load generators of tests/src/bin, driven inside a bench namespace: `tcphold` (N
//! established connections, held) and `tcpchurn` (a connect/close loop).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdin, Stdio},
    thread,
    time::{Duration, Instant},
};

use super::{measure::measure, netns::BenchNs, Bins};

/// Upper bound on a holder's life, should the bench die without closing its input.
const HOLD_SECONDS: u32 = 1800;

/// A running `tcphold`: its connections are established once `start` returns. Dropping it
/// closes the holder's input, which makes it end its workers and exit; this waits for that.
pub struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    /// Establishes `connections` connections (2 sockets each, both in the namespace).
    pub fn start(ns: &BenchNs, exe: &Path, connections: u64) -> Result<Holder, String> {
        let mut child = ns
            .command(exe)
            .args(["--connections", &connections.to_string()])
            .args(["--seconds", &HOLD_SECONDS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        // From here on, Drop ends the holder if it does not get ready.
        let holder = Holder { child, stdin };
        let mut line = String::new();
        if let Some(out) = stdout {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if !line.starts_with("ready") {
            return Err(format!(
                "tcphold could not establish {connections} connections (see its message above)"
            ));
        }
        Ok(holder)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connect/close loop run.
pub struct Churn {
    pub connections: u64,
    pub rate: f64,
}

/// Runs `tcpchurn` with `threads` clients for `seconds`.
pub fn churn(ns: &BenchNs, bins: &Bins, threads: u32, seconds: f64) -> Result<Churn, String> {
    let mut command = bins.launcher.command(Some(ns), &bins.tcpchurn);
    command
        .args(["--threads", &threads.to_string()])
        .args(["--seconds", &seconds.to_string()])
        // Bounded by time: more connections than any loopback can make in that time.
        .args(["--connections", "1000000000"]);
    let finished = measure(command, true)?;
    finished.success("tcpchurn")?;
    let text = String::from_utf8_lossy(&finished.stdout.text);
    parse_churn(&text).ok_or_else(|| format!("unexpected tcpchurn output: {}", text.trim()))
}

/// Reads `connections=N seconds=S rate=R`.
fn parse_churn(text: &str) -> Option<Churn> {
    let field = |key: &str| {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    };
    Some(Churn {
        connections: field("connections")?.parse().ok()?,
        rate: field("rate")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_churn_output() {
        let churn = parse_churn("connections=2500 seconds=2.001 rate=1249\n").expect("parses");
        assert_eq!(churn.connections, 2500);
        assert_eq!(churn.rate, 1249.0);
        assert!(parse_churn("connections=x").is_none());
    }
}
