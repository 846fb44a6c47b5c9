//! One measured process: wall time from spawn to exit, its own CPU time and peak resident set
//! (wait4's rusage), and its standard output drained by a thread of the bench, so every tool
//! writes into the same kind of sink (a pipe read as fast as it fills).

use std::{
    io::{self, Read},
    process::{Child, ChildStderr, ChildStdout, Command, Stdio},
    sync::mpsc::{self, Receiver, Sender},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

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
            child,
            started,
            stdout,
            stderr,
            reaped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
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

    /// Whether the process has exited (without reaping it).
    pub fn has_exited(&self) -> bool {
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

    /// Waits for the exit, then for both outputs to be drained.
    pub fn finish(mut self) -> Result<Finished, String> {
        let (status, rusage) = wait4(self.child.id()).map_err(|e| format!("wait4: {e}"))?;
        let wall = self.started.elapsed();
        self.reaped = true;
        let stdout = self.stdout.take().map(Drain::finish).unwrap_or_default();
        let stderr = self.stderr.take().map(Drain::finish).unwrap_or_default();
        Ok(Finished {
            usage: Usage {
                wall,
                cpu: timeval(rusage.ru_utime) + timeval(rusage.ru_stime),
                max_rss_kib: u64::try_from(rusage.ru_maxrss).unwrap_or(0),
            },
            code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            stdout,
            stderr: String::from_utf8_lossy(&stderr.text).into_owned(),
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

/// Runs a command to its end and measures it.
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

fn wait4(pid: u32) -> io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; zero is a valid value for every field.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes into the two locals passed by pointer.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut rusage) };
        if r >= 0 {
            return Ok((status, rusage));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
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
    fn measures_a_short_process() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; echo two; echo oops >&2; exit 3"]);
        let finished = measure(command, true).expect("sh runs");
        assert_eq!(finished.code, Some(3));
        assert_eq!(finished.stdout.lines, 2);
        assert_eq!(finished.stdout.text, b"one\ntwo\n");
        assert_eq!(finished.stderr, "oops\n");
        assert!(finished.usage.max_rss_kib > 0);
        assert!(finished.success("sh").is_err());
    }
}
