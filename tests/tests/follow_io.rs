//! What sockwatch does when its input or output misbehaves (issue #10 items 1, 5, 6, 9, 11):
//! write errors on standard output or on `--write`'s file, torn and foreign recordings, signals
//! while blocked on a FIFO or a stalled reader, and option values that must be refused.
//!
//! Live runs happen in network namespaces the tests make; crafted recordings are written with
//! sockwatch-common's own record type, so they follow the layout the binary reads.

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    os::unix::{fs::PermissionsExt, process::ExitStatusExt},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use sockwatch_common::{event_kind, SockEvent, RECORDING_FORMAT_VERSION};
use sockwatch_tests::process;
use sockwatch_tests::{
    follow_run::summary_line, privilege::can_run_namespace_tests, process::with_default_signals,
    sockwatch_bin, NetNs,
};

/// A view ends within a second of a signal; the margin is for a loaded test machine.
const SIGNAL_LIMIT: Duration = Duration::from_millis(1500);
const RUN_LIMIT: Duration = Duration::from_secs(20);
const SIGNALS: [(&str, i32); 3] = [
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGHUP", libc::SIGHUP),
];
/// Every view of follow, by the options that select it.
const VIEWS: [(&str, &[&str]); 4] = [
    ("log", &[]),
    ("lifetime", &["--lifetime"]),
    ("json", &["--json"]),
    ("table", &["--table", "--interval", "0.1"]),
];
const RECORD: usize = std::mem::size_of::<SockEvent>();
const HEADER: usize = 32;

/// A directory of this test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sw-io-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn header() -> Vec<u8> {
    let mut header = format!("sockwatch-ev-v{RECORDING_FORMAT_VERSION}\n").into_bytes();
    header.resize(16, 0);
    header.extend_from_slice(&(RECORD as u32).to_le_bytes());
    header.extend_from_slice(&[0; 4]);
    header.extend_from_slice(&0i64.to_le_bytes());
    header
}

fn bytes_of(events: &[SockEvent]) -> Vec<u8> {
    // SAFETY: SockEvent is repr(C) plain data with no padding (sockwatch-common says so).
    unsafe {
        std::slice::from_raw_parts(events.as_ptr().cast::<u8>(), std::mem::size_of_val(events))
    }
    .to_vec()
}

/// A connect of socket `cookie` (CLOSE -> SYN_SENT) at `ts_ns`.
fn connect(cookie: u64, ts_ns: u64) -> SockEvent {
    let mut event = SockEvent {
        ts_ns,
        cookie,
        kind: event_kind::STATE,
        family: 2,
        sport: 40000 + (cookie % 20000) as u16,
        dport: 80,
        old_state: 7,
        new_state: 2,
        pid: 1,
        tid: 1,
        ..SockEvent::default()
    };
    event.saddr[..4].copy_from_slice(&[127, 0, 0, 1]);
    event.daddr[..4].copy_from_slice(&[127, 0, 0, 1]);
    event.comm[..4].copy_from_slice(b"test");
    event
}

fn recording(events: &[SockEvent]) -> Vec<u8> {
    let mut bytes = header();
    bytes.extend_from_slice(&bytes_of(events));
    bytes
}

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: Vec<String>,
}

fn run(command: &mut Command) -> Ran {
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("start sockwatch");
    Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

fn sockwatch(args: &[&str]) -> Command {
    let mut command = Command::new(sockwatch_bin());
    command.args(args);
    command
}

fn transitions(stdout: &str) -> usize {
    stdout
        .lines()
        .filter(|l| l.contains("\"type\":\"transition\""))
        .count()
}

/// An error: status 1 and exactly one line on stderr, which names what is expected.
fn assert_one_line_error(ran: &Ran, case: &str, expected: &[&str]) {
    assert_eq!(ran.status.code(), Some(1), "{case}: {:?}", ran.stderr);
    assert_eq!(ran.stderr.len(), 1, "{case}: {:?}", ran.stderr);
    for part in expected {
        assert!(
            ran.stderr[0].contains(part),
            "{case}: {:?} lacks {part:?}",
            ran.stderr[0]
        );
    }
}

/// A recording cut inside a record replays every whole record before it (whatever batch it
/// falls in), then names the damage's offset in one line, status 1.
#[test]
fn a_torn_recording_replays_every_whole_record() {
    let scratch = Scratch::new("torn");
    for whole in [0usize, 1, 500, 4095, 4096, 199_999] {
        let events: Vec<SockEvent> = (1..=whole as u64 + 1).map(|c| connect(c, c)).collect();
        let bytes = recording(&events);
        let path = scratch.path("torn.events");
        fs::write(&path, &bytes[..bytes.len() - 5]).expect("write the torn recording");
        let ran = run(sockwatch(&["follow", "--json", "--read"]).arg(&path));
        assert_eq!(transitions(&ran.stdout), whole, "{whole} whole records");
        let offset = (HEADER + whole * RECORD).to_string();
        assert_one_line_error(
            &ran,
            &format!("{whole} whole records"),
            &["damaged", &offset],
        );
    }
}

/// A recording from another format version is refused in one line naming both versions; so
/// are directories and files that are not recordings.
#[test]
fn foreign_files_are_refused_in_one_line() {
    let scratch = Scratch::new("foreign");
    let path = scratch.path("old.events");
    let mut old = b"sockwatch-ev-v1\n".to_vec();
    old.extend_from_slice(&[0; 8]);
    old.extend_from_slice(&bytes_of(&[connect(1, 1)]));
    fs::write(&path, &old).expect("a version-1 recording");
    let ran = run(sockwatch(&["follow", "--read"]).arg(&path));
    let ours = format!("version {RECORDING_FORMAT_VERSION}");
    assert_one_line_error(&ran, "version 1", &["version 1;", &ours]);

    let mut resized = recording(&[connect(1, 1)]);
    resized[16..20].copy_from_slice(&(RECORD as u32 + 8).to_le_bytes());
    fs::write(&path, &resized).expect("a recording of another record size");
    let ran = run(sockwatch(&["follow", "--read"]).arg(&path));
    let size = format!("{}-byte", RECORD + 8);
    assert_one_line_error(&ran, "record size", &[&size, &ours]);

    let ran = run(sockwatch(&["follow", "--read"]).arg(&scratch.0));
    assert_one_line_error(&ran, "directory", &["is a directory"]);
    let ran = run(&mut sockwatch(&["follow", "--read", "/dev/null"]));
    assert_one_line_error(&ran, "/dev/null", &["not a sockwatch recording"]);
}

/// The summary of crafted recordings: loss counts saturate, a rebuild before the first event
/// is not counted "at start" twice, and sockets named by events are "seen" even when their
/// events are older than the listing.
#[test]
fn the_summary_counts_crafted_recordings_right() {
    let scratch = Scratch::new("summary");
    let path = scratch.path("summary.events");
    let summary = |events: &[SockEvent]| {
        fs::write(&path, recording(events)).expect("write the recording");
        let ran = run(sockwatch(&["follow", "--json", "--read"]).arg(&path));
        assert_eq!(ran.status.code(), Some(0), "{:?}", ran.stderr);
        summary_line(&ran.stderr)
    };
    let lost = SockEvent {
        kind: event_kind::LOST,
        bytes_acked: u64::MAX,
        ..SockEvent::default()
    };
    let line = summary(&[lost, lost]);
    assert!(line.contains(&format!("{} lost", u64::MAX)), "{line}");

    let rebuild = |ts_ns| SockEvent {
        ts_ns,
        kind: event_kind::REBUILD,
        ..SockEvent::default()
    };
    let listed = |cookie, ts_ns| SockEvent {
        kind: event_kind::SNAPSHOT,
        old_state: 1,
        new_state: 1,
        ..connect(cookie, ts_ns)
    };
    let mut events = vec![rebuild(100)];
    events.extend((1..=21).map(|c| listed(c, 100)));
    events.push(lost);
    events.push(rebuild(200));
    events.extend((1..=21).map(|c| listed(c, 200)));
    // Events older than the second listing (queued while it ran), for sockets it listed.
    events.extend((1..=21).map(|c| SockEvent {
        old_state: 2,
        new_state: 1,
        ..connect(c, 150)
    }));
    // A new socket after the listing.
    events.push(connect(100, 300));
    let line = summary(&events);
    assert!(line.contains(" 21 at start"), "{line}");
    assert!(line.contains(" 22 sockets seen"), "{line}");
}

/// Interval, count, duration and ring sizes: values that cannot work are refused in one
/// line; none panics (the recording is tiny, so accepted values end at once).
#[test]
fn no_option_value_panics() {
    let scratch = Scratch::new("options");
    let path = scratch.path("tiny.events");
    fs::write(&path, recording(&[connect(1, 1), connect(2, 2)])).expect("a tiny recording");
    let read = path.to_str().expect("UTF-8 path");
    let refused: &[&[&str]] = &[
        &["--table", "--interval", "0"],
        &["--table", "--interval", "1e-10"],
        &["--table", "--interval", "1e-9"],
        &["--table", "--interval", "0.049"],
        &["--table", "--interval", "-1"],
        &["--table", "--interval", "NaN"],
        &["--table", "--interval", "inf"],
        &["--table", "--interval", "1e300"],
        &["--count", "0"],
        &["--count", "-1"],
        &["--count", "18446744073709551616"],
        &["--duration", "-1"],
        &["--duration", "NaN"],
        &["--duration", "1e300"],
        &["--ring-kib", "0"],
        &["--ring-kib", "3"],
        &["--ring-kib", "4294967296"],
        &["--ring-kib", "2097152"],
    ];
    for args in refused {
        let ran = run(sockwatch(&["follow", "--read", read]).args(*args));
        assert_one_line_error(&ran, &args.join(" "), &[]);
        assert!(!ran.stderr[0].contains("panicked"), "{:?}", ran.stderr);
    }
    let accepted: &[&[&str]] = &[
        &["--table", "--interval", "0.05"],
        &["--table", "--interval", "86400"],
        &["--count", "1"],
        &["--count", "18446744073709551615"],
        &["--duration", "0"],
        &["--duration", "1e-10"],
        &["--duration", "1e18"],
    ];
    for args in accepted {
        let ran = run(sockwatch(&["follow", "--read", read]).args(*args));
        let case = args.join(" ");
        assert_eq!(ran.status.code(), Some(0), "{case}: {:?}", ran.stderr);
        assert!(
            ran.stderr
                .last()
                .is_some_and(|l| l.starts_with("sockwatch follow: ")),
            "{case}: {:?}",
            ran.stderr
        );
    }
}

/// Every view of a replay, and snapshot and netstat, with standard output on a full device:
/// status 1 and one line naming standard output and ENOSPC (only EPIPE is a quiet end).
#[test]
fn a_full_standard_output_is_an_error_in_every_view_and_command() {
    let scratch = Scratch::new("full");
    let path = scratch.path("some.events");
    fs::write(&path, recording(&[connect(1, 1), connect(2, 2)])).expect("a recording");
    let full = || {
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    for (view, args) in VIEWS {
        let ran = run(sockwatch(&["follow", "--read"])
            .arg(&path)
            .args(args)
            .stdout(full()));
        assert_one_line_error(
            &ran,
            &format!("replay, {view} view"),
            &["standard output", "No space left on device"],
        );
    }
    for args in [
        &["snapshot", "-tan"][..],
        &["netstat", "-tan"],
        &["netstat", "-s"],
    ] {
        let ran = run(sockwatch(args).stdout(full()));
        assert_one_line_error(&ran, &args.join(" "), &["No space left on device"]);
    }
}

/// A tmpfs of 64 KiB mounted in a mount namespace of the run's own, holding `file`.
fn on_small_tmpfs(ns: &NetNs, dir: &Path, shell: &str) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=64k sw-small \"$1\" && ip netns exec {} {shell}",
            ns.name()
        ))
        .arg("sh")
        .arg(dir);
    command
}

/// A live follow whose standard output, or whose `--write` file, fills its disk: status 1,
/// one line naming the output and ENOSPC. The recording left on the full disk is torn, and
/// its replay gives every whole record and then the damage's offset.
#[test]
fn a_full_disk_under_live_follow_is_an_error() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let scratch = Scratch::new("disk");
    let mount = scratch.path("mnt");
    fs::create_dir_all(&mount).expect("mount point");
    let bin = sockwatch_bin();
    let copy = scratch.path("copy.events");
    let cases = [
        (
            "standard output",
            format!("{} follow --json --duration 8 > \"$1/out\"", bin.display()),
        ),
        (
            "--write",
            format!(
                "{} follow --json --duration 8 --write \"$1/rec\" > /dev/null; rc=$?; cp \"$1/rec\" {}; exit $rc",
                bin.display(),
                copy.display()
            ),
        ),
    ];
    for (case, shell) in cases {
        let child = on_small_tmpfs(&ns, &mount, &shell)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start follow on a small tmpfs");
        thread::sleep(Duration::from_secs(2));
        churn(&ns, 400);
        let output = child.wait_with_output().expect("wait for follow");
        let stderr: Vec<String> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| !l.contains("attached"))
            .map(str::to_string)
            .collect();
        let ran = Ran {
            status: output.status,
            stdout: String::new(),
            stderr,
        };
        let expected = if case == "--write" {
            "writing recording"
        } else {
            "writing standard output"
        };
        assert_one_line_error(&ran, case, &[expected, "No space left on device"]);
    }
    let size = fs::metadata(&copy).expect("the recording left").len() as usize;
    let whole = (size - HEADER) / RECORD;
    assert_ne!((size - HEADER) % RECORD, 0, "a 64 KiB disk cuts a record");
    let ran = run(sockwatch(&["follow", "--json", "--read"]).arg(&copy));
    let offset = (HEADER + whole * RECORD).to_string();
    assert_one_line_error(&ran, "torn replay", &["damaged", &offset]);
    let lines = ran
        .stdout
        .lines()
        .filter(|l| l.contains("\"type\""))
        .count();
    assert!(
        lines >= whole - whole / 10,
        "{lines} lines for {whole} records"
    );
}

/// `--write` over an existing world-readable file leaves it readable by its owner only.
#[test]
fn a_recording_is_owner_only_even_over_an_existing_file() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let scratch = Scratch::new("mode");
    let path = scratch.path("run.events");
    fs::write(&path, b"an older file").expect("existing file");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    let output = ns
        .command(sockwatch_bin())
        .args(["follow", "--duration", "0.5", "--write"])
        .arg(&path)
        .output()
        .expect("run follow");
    assert!(output.status.success(), "{output:?}");
    let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
}

fn churn(ns: &NetNs, connections: u32) {
    process::churn(ns, env!("CARGO_BIN_EXE_tcpchurn"), connections, 7300, &[]);
}

/// Waits until `pipe` has something to read (at most RUN_LIMIT).
fn wait_readable(pipe: &impl std::os::fd::AsRawFd) {
    let mut poll = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut poll, 1, RUN_LIMIT.as_millis() as libc::c_int) };
    assert_eq!(ready, 1, "nothing written within {RUN_LIMIT:?}");
}

/// What a process is doing, for a failure message: its command, state and kernel wait.
fn process_state(pid: u32) -> String {
    let read = |what: &str| fs::read_to_string(format!("/proc/{pid}/{what}")).unwrap_or_default();
    format!(
        "pid {pid} {:?} state {:?} wchan {:?}",
        read("cmdline").replace('\0', " "),
        read("stat")
            .split(") ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next()),
        read("wchan")
    )
}

/// A process that must end soon after a signal; killed if the test fails first.
struct Victim {
    child: Child,
}

impl Victim {
    /// With the signals' default actions, whatever started the tests.
    fn spawn(command: &mut Command) -> Victim {
        let child = with_default_signals(command)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockwatch");
        Victim { child }
    }

    /// Sends `signal` and waits: the status, stderr lines, and how long the exit took.
    fn signal(mut self, signal: i32) -> (ExitStatus, Vec<String>, Duration) {
        let sent = Instant::now();
        // SAFETY: kill(2) on our own child.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill");
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                sent.elapsed() < RUN_LIMIT,
                "still running {RUN_LIMIT:?} after the signal: {}",
                process_state(self.child.id())
            );
            thread::sleep(Duration::from_millis(10));
        };
        let elapsed = sent.elapsed();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let lines = stderr.lines().map(str::to_string).collect();
        (status, lines, elapsed)
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A replay blocked opening a FIFO with no writer, or reading one whose writer is silent,
/// ends on each signal within a second, status 0, with its summary.
#[test]
fn a_signal_ends_a_replay_blocked_on_a_fifo() {
    let scratch = Scratch::new("fifo");
    let fifo = scratch.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for writer in [false, true] {
        for (name, signal) in SIGNALS {
            let case = format!("{name}, writer {writer}");
            let victim = Victim::spawn(
                sockwatch(&["follow", "--read"])
                    .arg(&fifo)
                    .stdout(Stdio::null()),
            );
            // The writer sends the header and one record, then stays silent.
            let _held = writer.then(|| {
                let mut pipe = fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo)
                    .expect("open fifo");
                pipe.write_all(&recording(&[connect(1, 1)]))
                    .expect("write the fifo");
                pipe
            });
            thread::sleep(Duration::from_millis(300));
            let (status, stderr, elapsed) = victim.signal(signal);
            assert_eq!(status.code(), Some(0), "{case}: {stderr:?}");
            assert!(
                elapsed < SIGNAL_LIMIT,
                "{case}: ended {elapsed:?} after the signal"
            );
            assert!(
                stderr
                    .last()
                    .is_some_and(|l| l.starts_with("sockwatch follow: ")),
                "{case}: {stderr:?}"
            );
            eprintln!("{case}: ended {elapsed:?} after the signal");
        }
    }
}

/// Standard output a pipe nobody reads: a live follow and a long replay end on each signal
/// within a second, and the summary counts the bytes the reader never took.
#[test]
fn a_signal_ends_follow_writing_to_a_stalled_reader() {
    let scratch = Scratch::new("stalled");
    let path = scratch.path("long.events");
    let events: Vec<SockEvent> = (1..=50_000).map(|c| connect(c, c)).collect();
    fs::write(&path, recording(&events)).expect("a long recording");
    let check = |case: &str, command: &mut Command, signal: i32, traffic: &dyn Fn()| {
        let (reader, writer) = std::io::pipe().expect("pipe");
        let victim = Victim::spawn(command.stdout(writer));
        traffic();
        thread::sleep(Duration::from_millis(500));
        let (status, stderr, elapsed) = victim.signal(signal);
        drop(reader);
        assert_eq!(status.code(), Some(0), "{case}: {stderr:?}");
        assert!(
            elapsed < SIGNAL_LIMIT,
            "{case}: ended {elapsed:?} after the signal"
        );
        let summary = summary_line(&stderr);
        assert!(
            summary.contains("bytes of output not written"),
            "{case}: {stderr:?}"
        );
        eprintln!("{case}: ended {elapsed:?} after the signal: {summary}");
    };
    for (name, signal) in SIGNALS {
        check(
            &format!("replay, {name}"),
            sockwatch(&["follow", "--json", "--read"]).arg(&path),
            signal,
            &|| {},
        );
    }
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    for (name, signal) in SIGNALS {
        let mut command = ns.command(sockwatch_bin());
        command.args(["follow", "--json"]);
        check(&format!("live, {name}"), &mut command, signal, &|| {
            // Attached once the first connection shows in the pipe is not observable here:
            // give loading its time, then make far more output than a pipe holds.
            thread::sleep(Duration::from_secs(3));
            churn(&ns, 2000);
        });
    }
}

/// `--write` into a pipe nobody reads (as `--write >(zstd > run.zst)` with a stalled
/// compressor): each signal still ends the run within a second, and the summary counts the
/// recording's bytes that were not written.
#[test]
fn a_signal_ends_follow_recording_into_a_stalled_pipe() {
    if !can_run_namespace_tests() {
        return;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let ns = NetNs::create();
    let scratch = Scratch::new("stalled-recording");
    let fifo = scratch.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for (name, signal) in SIGNALS {
        // A reader that never reads: the recording's pipe fills and stays full.
        let _reader = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .expect("open the fifo's reading end");
        let mut command = ns.command(sockwatch_bin());
        command
            .args(["follow", "--write"])
            .arg(&fifo)
            .stdout(Stdio::null());
        let victim = Victim::spawn(&mut command);
        thread::sleep(Duration::from_secs(3));
        churn(&ns, 300);
        thread::sleep(Duration::from_millis(300));
        let (status, stderr, elapsed) = victim.signal(signal);
        assert_eq!(status.code(), Some(0), "{name}: {stderr:?}");
        assert!(
            elapsed < SIGNAL_LIMIT,
            "{name}: ended {elapsed:?} after the signal"
        );
        let summary = summary_line(&stderr);
        assert!(
            summary.contains("bytes of the recording not written"),
            "{name}: {stderr:?}"
        );
        eprintln!("{name}: ended {elapsed:?} after the signal: {summary}");
    }
}

/// snapshot and `netstat -c` writing into a pipe nobody reads end on each signal within a
/// second (the default action of these signals: neither catches them).
#[test]
fn a_signal_ends_snapshot_and_netstat_on_a_stalled_reader() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    // Enough listening sockets that a listing overflows a pipe (64 KiB).
    let mut holder = ns
        .command("python3")
        .args([
            "-c",
            "import socket,sys\nss=[]\nfor i in range(1500):\n s=socket.socket()\n s.bind(('127.0.0.1',0))\n s.listen()\n ss.append(s)\nprint('ready',flush=True)\nsys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 holding sockets");
    let mut ready = String::new();
    BufReader::new(holder.stdout.as_mut().expect("stdout"))
        .read_line(&mut ready)
        .expect("holder ready");
    assert_eq!(ready.trim(), "ready");
    for args in [&["snapshot", "-tanl"][..], &["netstat", "-tanlc"]] {
        for (name, signal) in SIGNALS {
            let case = format!("{} {name}", args.join(" "));
            let (reader, writer) = std::io::pipe().expect("pipe");
            let mut command = ns.command(sockwatch_bin());
            command.args(args).stdout(writer);
            let victim = Victim::spawn(&mut command);
            // Signal sockwatch itself once it writes, not `ip netns exec` still setting up.
            wait_readable(&reader);
            let (status, stderr, elapsed) = victim.signal(signal);
            drop(reader);
            assert!(
                status.code() == Some(0) || status.signal() == Some(signal),
                "{case}: {status:?} {stderr:?}"
            );
            assert!(
                elapsed < SIGNAL_LIMIT,
                "{case}: ended {elapsed:?} after the signal"
            );
            eprintln!("{case}: ended {elapsed:?} after the signal ({status:?})");
        }
    }
    drop(holder.stdin.take());
    let _ = holder.wait();
}
