//! The event tracers compared: `sockwatch follow` (text or JSON lines) and libbpf-tools'
//! tcpstates and tcplife. Each is started, awaited until its programs are attached, stopped
//! with SIGINT as a user would, and its losses read from what it prints on standard error.

use std::{
    path::PathBuf,
    process::Command,
    sync::mpsc::Receiver,
    thread,
    time::{Duration, Instant},
};

use super::{
    measure::{Launcher, LineWatch, Process, Usage, Watches},
    netns::BenchNs,
    peers::Peers,
};

/// How long a tracer may take to load and attach its programs.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tracer {
    Sockwatch,
    SockwatchJson,
    /// `sockwatch follow` without the hooks that tell why connections end: their cost is the
    /// difference to [`Tracer::Sockwatch`].
    SockwatchNoReasons,
    Tcpstates,
    Tcplife,
}

impl Tracer {
    pub fn label(self) -> &'static str {
        match self {
            Tracer::Sockwatch => "sockwatch follow",
            Tracer::SockwatchJson => "sockwatch follow --json",
            Tracer::SockwatchNoReasons => "sockwatch follow, reason hooks off",
            Tracer::Tcpstates => "tcpstates",
            Tracer::Tcplife => "tcplife",
        }
    }

    /// Header lines printed before the first event.
    fn header_lines(self) -> usize {
        match self {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => 0,
            Tracer::Tcpstates | Tracer::Tcplife => 1,
        }
    }
}

/// The binaries the tracers run.
pub struct Programs<'a> {
    pub sockwatch: &'a PathBuf,
    pub peers: &'a Peers,
    pub launcher: &'a Launcher,
}

impl Programs<'_> {
    /// Whether this tracer can run here (its peer program is installed).
    pub fn available(&self, tracer: Tracer) -> bool {
        match tracer {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => true,
            Tracer::Tcpstates => self.peers.tcpstates.is_some(),
            Tracer::Tcplife => self.peers.tcplife.is_some(),
        }
    }

    /// The command for `tracer`. sockwatch watches its own namespace, so it runs in the bench's;
    /// the libbpf tools see every namespace and run where the bench runs. `line_buffered` puts
    /// the libbpf tools (which use stdio, fully buffered into a pipe) under `stdbuf -oL`, as on
    /// a terminal; sockwatch writes each batch of events when it is read.
    fn command(&self, tracer: Tracer, ns: &BenchNs, line_buffered: bool) -> Option<Command> {
        let peer = match tracer {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => {
                let mut command = self.launcher.command(Some(ns), self.sockwatch);
                command.arg("follow");
                if tracer == Tracer::SockwatchJson {
                    command.arg("--json");
                }
                if tracer == Tracer::SockwatchNoReasons {
                    // The test-only switch of docs/follow-reasons.md: every reason hook off.
                    command.env("SOCKWATCH_SKIP_HOOKS", "reasons");
                }
                return Some(command);
            }
            Tracer::Tcpstates => self.peers.tcpstates.as_ref()?,
            Tracer::Tcplife => self.peers.tcplife.as_ref()?,
        };
        match (&self.peers.stdbuf, line_buffered) {
            (Some(stdbuf), true) => {
                let mut command = self.launcher.command(None, stdbuf);
                command.arg("-oL").arg(peer);
                Some(command)
            }
            _ => Some(self.launcher.command(None, peer)),
        }
    }
}

/// A tracer running with its programs attached.
pub struct Running {
    tracer: Tracer,
    process: Process,
    first_event: Option<Receiver<Instant>>,
}

/// What a tracer reported when stopped.
pub struct Stopped {
    pub usage: Usage,
    pub lost: u64,
}

impl Running {
    /// Starts `tracer` and returns once it is attached. With `first_event_token`, the first
    /// event line containing that token is timed (see [`Running::first_event`]).
    pub fn start(
        programs: &Programs,
        tracer: Tracer,
        ns: &BenchNs,
        first_event_token: Option<&str>,
    ) -> Result<Running, String> {
        let command = programs
            .command(tracer, ns, first_event_token.is_some())
            .ok_or_else(|| format!("{} is not installed", tracer.label()))?;
        let stdout = first_event_token.map(|token| LineWatch {
            skip: tracer.header_lines(),
            needle: Some(token.to_string()),
        });
        let attached_line = match tracer {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => {
                Some(LineWatch {
                    skip: 0,
                    needle: Some("attached".into()),
                })
            }
            Tracer::Tcpstates | Tracer::Tcplife => None,
        };
        let mut process = Process::spawn(
            command,
            Watches {
                stdout,
                stderr: attached_line,
                keep_stdout: false,
            },
        )?;
        let first_event = if first_event_token.is_some() {
            process.stdout_signal()
        } else {
            None
        };
        let attached = process.stderr_signal();
        let running = Running {
            tracer,
            process,
            first_event,
        };
        match tracer {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => {
                running.await_line(attached)?
            }
            Tracer::Tcpstates | Tracer::Tcplife => running.await_perf_buffers()?,
        }
        Ok(running)
    }

    /// sockwatch says `attached` on standard error once its programs are in place.
    fn await_line(&self, line: Option<Receiver<Instant>>) -> Result<(), String> {
        let line = line.ok_or("no stderr watch")?;
        line.recv_timeout(ATTACH_TIMEOUT)
            .map(|_| ())
            .map_err(|_| self.failed_to_attach())
    }

    /// The libbpf tools attach, then open one perf buffer a CPU under an epoll set, then print
    /// their header (into a buffer we cannot see): ready when the attach link and the epoll set
    /// exist, plus a short margin for the buffers to be opened.
    fn await_perf_buffers(&self) -> Result<(), String> {
        let deadline = Instant::now() + ATTACH_TIMEOUT;
        while Instant::now() < deadline {
            if self.process.has_exited() {
                break;
            }
            let Some(pid) = self.process.tool_pid() else {
                thread::sleep(Duration::from_millis(5));
                continue;
            };
            let fds = descriptor_kinds(pid);
            if fds.iter().any(|f| f == "anon_inode:bpf_link")
                && fds.iter().any(|f| f == "anon_inode:[eventpoll]")
            {
                thread::sleep(Duration::from_millis(50));
                return Ok(());
            }
            thread::sleep(Duration::from_millis(5));
        }
        Err(self.failed_to_attach())
    }

    fn failed_to_attach(&self) -> String {
        format!("{} did not attach its programs", self.tracer.label())
    }

    /// The instant the first watched event line was read, waiting at most `timeout`.
    pub fn first_event(&self, timeout: Duration) -> Option<Instant> {
        self.first_event.as_ref()?.recv_timeout(timeout).ok()
    }

    pub fn started(&self) -> Instant {
        self.process.started()
    }

    /// Stops the tracer with SIGINT and reads its losses.
    pub fn stop(self) -> Result<Stopped, String> {
        self.process.interrupt();
        let finished = self.process.finish()?;
        let label = self.tracer.label();
        // SIGINT is how the tracers are meant to be stopped: an exit by the signal itself is fine.
        if finished.code.is_some_and(|c| c != 0) {
            finished.success(label)?;
        }
        let lost = match self.tracer {
            Tracer::Sockwatch | Tracer::SockwatchJson | Tracer::SockwatchNoReasons => {
                sockwatch_lost(&finished.stderr).ok_or_else(|| {
                    format!(
                        "{label} printed no summary line: {}",
                        finished.stderr.trim()
                    )
                })?
            }
            Tracer::Tcpstates | Tracer::Tcplife => libbpf_tools_lost(&finished.stderr),
        };
        Ok(Stopped {
            usage: finished.usage,
            lost,
        })
    }
}

/// What each open descriptor of `pid` points at (`anon_inode:bpf_link`, `pipe:[..]`, ...).
fn descriptor_kinds(pid: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .collect()
}

/// The lost count in sockwatch's summary: `sockwatch follow: N events, M lost, K sockets seen`.
fn sockwatch_lost(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let rest = line.strip_prefix("sockwatch follow: ")?;
        let (_, after_events) = rest.split_once(" events, ")?;
        after_events.split_once(" lost")?.0.parse().ok()
    })
}

/// The sum of libbpf-tools' perf buffer warnings: `lost N events on CPU #C`.
fn libbpf_tools_lost(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("lost ")?
                .split_once(" events on CPU")?
                .0
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sockwatch_summary() {
        let stderr = "sockwatch follow: attached; Ctrl-C to stop\n\
                      sockwatch follow: 2020 events, 7 lost, 404 sockets seen\n";
        assert_eq!(sockwatch_lost(stderr), Some(7));
        assert_eq!(
            sockwatch_lost("sockwatch follow: attached; Ctrl-C to stop\n"),
            None
        );
    }

    #[test]
    fn sums_libbpf_tools_losses() {
        let stderr = "lost 12 events on CPU #0\nlost 3 events on CPU #1\nsomething else\n";
        assert_eq!(libbpf_tools_lost(stderr), 15);
        assert_eq!(libbpf_tools_lost(""), 0);
    }
}
