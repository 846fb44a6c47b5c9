//! One measured process: wall time from spawn to exit, its own CPU time and peak resident set,
//! and its standard output drained by a thread of the bench, so every tool writes into the same
//! kind of sink (a pipe read as fast as it fills).
//!
//! Tools run under the `rusage` launcher (tests/src/bin/rusage.rs), which reports the figures
//! on its last line of standard error: a process forked straight from the bench would count
//! the bench's own memory into its peak RSS.

use std::{
    ffi::OsStr,
    io::{self, Read},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, ChildStderr, ChildStdout, Command, Stdio},
    sync::mpsc::{self, Receiver, Sender},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use super::netns::BenchNs;

/// The `rusage` launcher: every measured tool is started through it.
pub struct Launcher(PathBuf);

impl Launcher {
    pub fn new(path: &Path) -> Launcher {
        Launcher(path.to_path_buf())
    }

    /// A command running `program` under the launcher, inside `ns` when given. The launcher
    /// dies with the bench (PR_SET_PDEATHSIG), and the tool with the launcher.
    pub fn command(&self, ns: Option<&BenchNs>, program: impl AsRef<OsStr>) -> Command {
        let mut command = match ns {
            Some(ns) => ns.command(&self.0),
            None => Command::new(&self.0),
        };
        command.arg(program);
        // SAFETY: prctl is async-signal-safe and takes no pointers.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command
    }
}

/// What a finished process cost.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub wall: Duration,
    /// User plus system time of the process itself.
    pub cpu: Duration,
    pub max_rss_kib: u64,
}

/// A line to wait for on an output stream: the first line, after `skip` lines, that contains
/// `needle` (when given) marks the instant sent to the receiver.
pub struct LineWatch {
    pub skip: usize,
    pub needle: Option<String>,
}

/// What was read from one output stream.
#[derive(Default)]
pub struct Drained {
    pub bytes: u64,
    pub lines: u64,
    /// Everything read, when asked for.
    pub text: Vec<u8>,
}

pub struct Finished {
    pub usage: Usage,
    /// Exit code, or None when ended by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Drained,
    pub stderr: String,
}

impl Finished {
    /// Ok when the process exited with status 0; otherwise its stderr in one message.
    pub fn success(&self, what: &str) -> Result<(), String> {
        if self.code == Some(0) {
            return Ok(());
        }
        let how = match (self.code, self.signal) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended abnormally".to_string(),
        };
        Err(format!("{what} {how}: {}", self.stderr.trim()))
    }
}

/// A running process whose outputs are being drained; killed and reaped if dropped unfinished.
pub struct Process {
    /// The launcher's arguments, for messages.
    program: Vec<String>,
    child: Child,
    started: Instant,
    stdout: Option<Drain>,
    stderr: Option<Drain>,
    reaped: bool,
}

pub struct Watches {
    pub stdout: Option<LineWatch>,
    pub stderr: Option<LineWatch>,
    /// Keep the whole standard output (for comparisons).
    pub keep_stdout: bool,
}

impl Process {
    pub fn spawn(mut command: Command, watches: Watches) -> Result<Process, String> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let program = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let stdout = child
            .stdout
            .take()
            .map(|out| Drain::start(out, watches.stdout, watches.keep_stdout));
        let stderr = child
            .stderr
            .take()
            .map(|err| Drain::start(err, watches.stderr, true));
        Ok(Process {
            program,
            child,
            started,
            stdout,
            stderr,
            reaped: false,
        })
    }

    /// The measured tool: the launcher's child, once it has started.
    pub fn tool_pid(&self) -> Option<u32> {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The receiver for the standard output's watched line, if one was asked for.
    pub fn stdout_signal(&mut self) -> Option<Receiver<Instant>> {
        self.stdout.as_mut().and_then(|d| d.signal.take())
    }

    pub fn stderr_signal(&mut self) -> Option<Receiver<Instant>> {
        self.stderr.as_mut().and_then(|d| d.signal.take())
    }

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    /// Whether the launcher has exited (without reaping it).
    pub fn has_exited(&self) -> bool {
        // SAFETY: siginfo_t is plain old data; all zeroes is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes into the one struct passed; WNOWAIT leaves the child unreaped.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid is valid for the SIGCHLD information waitid fills in.
        r == 0 && unsafe { info.si_pid() } != 0
    }

    fn signal(&self, signal: i32) {
        if !self.reaped {
            // SAFETY: kill takes a pid and a signal number. The pid is our unreaped child, so it
            // cannot have been reused.
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        }
    }

    /// Waits for the exit, then for both outputs to be drained, and reads the launcher's report.
    pub fn finish(mut self) -> Result<Finished, String> {
        let program = format!("{:?}", self.program);
        wait4(self.child.id()).map_err(|e| format!("wait4: {e}"))?;
        self.reaped = true;
        let stdout = self.stdout.take().map(Drain::finish).unwrap_or_default();
        let stderr = self.stderr.take().map(Drain::finish).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr.text);
        let (stderr, report) = split_report(&stderr);
        let report = report.ok_or_else(|| {
            format!(
                "{program}: no report from the rusage launcher: {}",
                stderr.trim()
            )
        })?;
        Ok(Finished {
            usage: report.usage,
            code: report.code,
            signal: report.signal,
            stdout,
            stderr: stderr.to_string(),
        })
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal(libc::SIGKILL);
            let _ = wait4(self.child.id());
        }
    }
}

/// Runs a launcher command to its end and measures the tool.
pub fn measure(command: Command, keep_stdout: bool) -> Result<Finished, String> {
    Process::spawn(
        command,
        Watches {
            stdout: None,
            stderr: None,
            keep_stdout,
        },
    )?
    .finish()
}

/// Reaps the launcher (its own figures are not wanted: the report has the tool's).
fn wait4(pid: u32) -> io::Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes into the local passed by pointer.
        if unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) } >= 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The launcher's last line:
/// `rusage: wall_ns=N user_us=N system_us=N max_rss_kib=N status=CODE|signal=N`.
struct Report {
    usage: Usage,
    code: Option<i32>,
    signal: Option<i32>,
}

/// The tool's own standard error, and the launcher's report that ends it.
fn split_report(stderr: &str) -> (&str, Option<Report>) {
    let body = stderr.strip_suffix('\n').unwrap_or(stderr);
    let (before, last) = match body.rsplit_once('\n') {
        Some((before, last)) => (&stderr[..before.len() + 1], last),
        None => ("", body),
    };
    match parse_report(last) {
        Some(report) => (before, Some(report)),
        None => (stderr, None),
    }
}

fn parse_report(line: &str) -> Option<Report> {
    let fields = line.strip_prefix("rusage: ")?;
    let field = |key: &str| {
        fields
            .split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    };
    let number = |key: &str| field(key)?.parse::<u64>().ok();
    Some(Report {
        usage: Usage {
            wall: Duration::from_nanos(number("wall_ns")?),
            cpu: Duration::from_micros(number("user_us")? + number("system_us")?),
            max_rss_kib: number("max_rss_kib")?,
        },
        code: field("status").and_then(|c| c.parse().ok()),
        signal: field("signal").and_then(|c| c.parse().ok()),
    })
}

/// A thread reading one output stream to its end.
struct Drain {
    thread: JoinHandle<Drained>,
    signal: Option<Receiver<Instant>>,
}

trait Stream: Read + Send + 'static {}
impl Stream for ChildStdout {}
impl Stream for ChildStderr {}

impl Drain {
    fn start(stream: impl Stream, watch: Option<LineWatch>, keep: bool) -> Drain {
        let (sender, receiver) = mpsc::channel();
        let watcher = watch.map(|watch| LineWatcher::new(watch, sender));
        let thread = thread::spawn(move || drain(stream, watcher, keep));
        Drain {
            thread,
            signal: Some(receiver),
        }
    }

    fn finish(self) -> Drained {
        self.thread.join().unwrap_or_default()
    }
}

fn drain(mut stream: impl Read, mut watcher: Option<LineWatcher>, keep: bool) -> Drained {
    let mut drained = Drained::default();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buffer[..n];
        drained.bytes += n as u64;
        drained.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if keep {
            drained.text.extend_from_slice(chunk);
        }
        if let Some(w) = &mut watcher {
            if w.feed(chunk) {
                watcher = None;
            }
        }
    }
    drained
}

/// Finds the watched line in a stream read in chunks.
struct LineWatcher {
    watch: LineWatch,
    partial: Vec<u8>,
    sender: Sender<Instant>,
}

impl LineWatcher {
    fn new(watch: LineWatch, sender: Sender<Instant>) -> LineWatcher {
        LineWatcher {
            watch,
            partial: Vec::new(),
            sender,
        }
    }

    /// Takes the next chunk; true once the line was found (and signalled).
    fn feed(&mut self, chunk: &[u8]) -> bool {
        let now = Instant::now();
        for &byte in chunk {
            if byte != b'\n' {
                self.partial.push(byte);
                continue;
            }
            let line = std::mem::take(&mut self.partial);
            if self.watch.skip > 0 {
                self.watch.skip -= 1;
                continue;
            }
            let hit = match &self.watch.needle {
                Some(needle) => contains_token(&String::from_utf8_lossy(&line), needle),
                None => true,
            };
            if hit {
                let _ = self.sender.send(now);
                return true;
            }
        }
        false
    }
}

/// Whether `needle` occurs in `line` and is not part of a longer number or word: "41234"
/// matches "127.0.0.1:41234 " and "41234\t", not "141234".
fn contains_token(line: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric();
    line.match_indices(needle).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_boundaries() {
        assert!(contains_token("127.0.0.1:41234 127.0.0.1:80", "41234"));
        assert!(contains_token("x 41234", "41234"));
        assert!(contains_token("\"port\":41234}", "41234"));
        assert!(!contains_token("141234", "41234"));
        assert!(!contains_token("412345", "41234"));
        assert!(contains_token("attached; Ctrl-C", "attached"));
    }

    #[test]
    fn watcher_skips_headers_and_spans_chunks() {
        let (sender, receiver) = mpsc::channel();
        let mut watcher = LineWatcher::new(
            LineWatch {
                skip: 1,
                needle: Some("5000".into()),
            },
            sender,
        );
        assert!(!watcher.feed(b"HEADER 5000\nother 1\nport 50"));
        assert!(receiver.try_recv().is_err());
        assert!(watcher.feed(b"00 here\n"));
        assert!(receiver.try_recv().is_ok());
    }

    #[test]
    fn splits_the_launcher_report_from_the_tool_stderr() {
        let stderr = "warning: x\nrusage: wall_ns=2500000 user_us=1000 system_us=500 max_rss_kib=3072 status=3\n";
        let (tool, report) = split_report(stderr);
        let report = report.expect("a report");
        assert_eq!(tool, "warning: x\n");
        assert_eq!(report.usage.wall, Duration::from_micros(2500));
        assert_eq!(report.usage.cpu, Duration::from_micros(1500));
        assert_eq!(report.usage.max_rss_kib, 3072);
        assert_eq!((report.code, report.signal), (Some(3), None));

        let killed = "rusage: wall_ns=1 user_us=0 system_us=0 max_rss_kib=1 signal=2\n";
        let (tool, report) = split_report(killed);
        assert_eq!(tool, "");
        assert_eq!(report.map(|r| (r.code, r.signal)), Some((None, Some(2))));

        assert!(split_report("plain error\n").1.is_none());
        assert!(split_report("").1.is_none());
    }
}
