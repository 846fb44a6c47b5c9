//! Reliability of `sockwatch follow` on the real kernel: how it stops (SIGINT, SIGTERM, SIGHUP,
//! a closed standard output) in each view, what it leaves behind (no eBPF program may stay
//! loaded), and how it copes with missing privileges and an unmounted tracefs.
//!
//! Each run watches a network namespace of its own, where tcpchurn makes the only traffic.
//! The programs a run loaded are found through its file descriptors while it runs
//! (/proc/PID/fdinfo), so other follow processes on the machine do not confuse the check.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ExitStatus, Stdio},
    sync::mpsc::{self, Receiver},
    thread,
    time::{Duration, Instant},
};

use sockwatch_tests::process;
use sockwatch_tests::{
    follow_run::{full_tcp_socket_keys, summary_line, FollowRun},
    json::table_socket_keys,
    privilege::can_run_namespace_tests,
    process::Held,
    sockwatch_bin, NetNs,
};

/// The views of follow, by the options that select them.
const VIEWS: [(&str, &[&str]); 3] = [
    ("log", &[]),
    ("lifetime", &["--lifetime"]),
    ("json", &["--json"]),
];

/// The signals follow must stop on cleanly.
const SIGNALS: [(&str, i32); 3] = [
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGHUP", libc::SIGHUP),
];

/// Program names as the kernel keeps them (BPF_OBJ_NAME_LEN: 15 characters and a NUL).
/// The tp_btf programs come first (each hook has a main and a nested program), then the
/// accept hooks.
const PROGRAM_NAMES: [&str; 12] = [
    "inet_sock_set_state",
    "state_nested",
    "tcp_destroy_sock",
    "destroy_nested",
    "keep_counters_at_close",
    "tcp_send_reset",
    "tcp_receive_reset",
    "inet_sk_error_report",
    "tcp_retransmit_skb",
    // One program for the exits of accept and accept4.
    "sys_exit_accept",
    "sys_enter_connect",
    "sys_exit_connect",
];
/// How many of PROGRAM_NAMES (the tp_btf ones, first) attach without tracefs.
const TP_BTF_PROGRAMS: usize = 9;

/// How long loading and attaching may take, and stopping after a signal.
const ATTACH_LIMIT: Duration = Duration::from_secs(20);
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// How long the kernel may take to free the programs of a process that exited (links are
/// released after an RCU grace period).
const UNLOAD_LIMIT: Duration = Duration::from_secs(5);

const SUMMARY_PREFIX: &str = "sockwatch follow: ";

/// A running `sockwatch follow` in a namespace; killed and reaped if the test ends early.
struct Follow {
    child: Child,
    stderr: Receiver<String>,
    stdout: Option<thread::JoinHandle<Captured>>,
    /// The ids of the eBPF programs it holds.
    programs: BTreeSet<u32>,
}

/// What follow wrote to standard output: its lines, counted, and the first of them, kept
/// (up to KEPT_OUTPUT bytes, so that a long run costs the test no memory).
#[derive(Default)]
struct Captured {
    lines: u64,
    head: String,
    /// Events reported lost by `LOST n events` lines (text) or `"type":"lost"` lines (JSON).
    lost_reported: u64,
}

const KEPT_OUTPUT: usize = 1 << 20;

impl Captured {
    fn read(pipe: impl Read) -> Captured {
        let mut captured = Captured::default();
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            captured.lines += 1;
            captured.lost_reported += lost_count(&line).unwrap_or(0);
            if captured.head.len() + line.len() < KEPT_OUTPUT {
                captured.head.push_str(&line);
                captured.head.push('\n');
            }
        }
        captured
    }
}

/// The count of a line reporting lost events, in either format.
fn lost_count(line: &str) -> Option<u64> {
    if let Some(rest) = line.strip_prefix("LOST ") {
        return rest.split_whitespace().next()?.parse().ok();
    }
    if !line.contains("\"type\":\"lost\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value["lost"].as_u64()
}

/// What a stopped follow left: exit status, output, the stderr lines after "attached", and
/// how long it took to exit.
struct Stopped {
    status: ExitStatus,
    stdout: Captured,
    stderr: Vec<String>,
    exit_time: Duration,
}

impl Follow {
    /// Starts follow (through `wrapper`, e.g. setpriv, when given) and waits for "attached".
    /// With `close_stdout`, standard output is a pipe whose reader is already gone.
    fn start(ns: &NetNs, wrapper: &[&str], args: &[&str], close_stdout: bool) -> Follow {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = ns.command(program);
                command.args(rest).arg(sockwatch_bin());
                command
            }
            None => ns.command(sockwatch_bin()),
        };
        let mut child = command
            .arg("follow")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockwatch follow");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdout = if close_stdout {
            drop(stdout);
            None
        } else {
            Some(thread::spawn(move || Captured::read(stdout)))
        };
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        let mut follow = Follow {
            child,
            stderr,
            stdout,
            programs: BTreeSet::new(),
        };
        // One line for each feature the kernel cannot serve may come first.
        loop {
            match follow.stderr.recv_timeout(ATTACH_LIMIT) {
                Ok(line) if line.contains("attached") => break,
                Ok(line) if line.contains(": unavailable on this kernel (") => {}
                Ok(line) => panic!("follow {args:?} did not attach: {line}"),
                Err(_) => panic!("follow {args:?}: no \"attached\" line within {ATTACH_LIMIT:?}"),
            }
        }
        follow.programs = programs_held_by(follow.child.id());
        follow
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of our own child, which is not reaped yet.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the process to exit (panics after STOP_LIMIT) and collects what it wrote.
    fn wait(mut self, since: Instant) -> Stopped {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for follow") {
                break status;
            }
            assert!(
                since.elapsed() < STOP_LIMIT,
                "follow still running {STOP_LIMIT:?} after it was told to stop"
            );
            thread::sleep(Duration::from_millis(5));
        };
        let exit_time = since.elapsed();
        let stdout = self
            .stdout
            .take()
            .map(|reader| reader.join().expect("stdout reader"))
            .unwrap_or_default();
        let stderr = self.stderr.iter().collect();
        Stopped {
            status,
            stdout,
            stderr,
            exit_time,
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of a pipe, as they come, through a channel (closed at end of file).
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Ids of the eBPF programs process `pid` holds a descriptor of (programs, and the links
/// that attach them), from /proc/PID/fdinfo.
fn programs_held_by(pid: u32) -> BTreeSet<u32> {
    let dir = format!("/proc/{pid}/fdinfo");
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {dir}: {e}"));
    entries
        .filter_map(|entry| fs::read_to_string(entry.ok()?.path()).ok())
        .filter_map(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("prog_id:"))
                .and_then(|id| id.trim().parse().ok())
        })
        .collect()
}

/// The kernel's view of loaded eBPF programs, through the bpf(2) syscall: no bpftool needed.
mod bpf {
    use std::{ffi::CStr, mem::size_of};

    const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
    const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
    /// struct bpf_prog_info up to and including `name` (uapi/linux/bpf.h).
    const PROG_INFO_LEN: usize = 80;
    const PROG_INFO_NAME_AT: usize = 64;

    #[repr(C)]
    struct GetFdById {
        id: u32,
        next_id: u32,
        open_flags: u32,
    }

    #[repr(C)]
    struct InfoByFd {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }

    fn bpf<T>(command: libc::c_long, attr: &mut T) -> libc::c_long {
        // SAFETY: `attr` is a live, writable bpf_attr prefix of the size passed.
        unsafe { libc::syscall(libc::SYS_bpf, command, attr as *mut T, size_of::<T>()) }
    }

    /// The name of loaded program `id`, or None when no such program is loaded.
    pub fn program_name(id: u32) -> Option<String> {
        let mut by_id = GetFdById {
            id,
            next_id: 0,
            open_flags: 0,
        };
        let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id);
        if fd < 0 {
            let error = std::io::Error::last_os_error();
            assert_eq!(
                error.raw_os_error(),
                Some(libc::ENOENT),
                "BPF_PROG_GET_FD_BY_ID {id}: {error}"
            );
            return None;
        }
        let mut info = [0u8; PROG_INFO_LEN];
        let mut request = InfoByFd {
            bpf_fd: fd as u32,
            info_len: PROG_INFO_LEN as u32,
            info: info.as_mut_ptr() as u64,
        };
        let rc = bpf(BPF_OBJ_GET_INFO_BY_FD, &mut request);
        let error = std::io::Error::last_os_error();
        // SAFETY: `fd` is the descriptor the kernel just gave us.
        unsafe { libc::close(fd as i32) };
        assert_eq!(rc, 0, "BPF_OBJ_GET_INFO_BY_FD {id}: {error}");
        let name = CStr::from_bytes_until_nul(&info[PROG_INFO_NAME_AT..])
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some(name)
    }
}

/// Checks that the programs of a run were sockwatch's, by name.
fn assert_sockwatch_programs(programs: &BTreeSet<u32>, accept_hooks: bool) {
    let names: BTreeSet<String> = programs
        .iter()
        .filter_map(|&id| bpf::program_name(id))
        .collect();
    let expected: BTreeSet<String> = PROGRAM_NAMES
        .iter()
        .take(if accept_hooks {
            PROGRAM_NAMES.len()
        } else {
            TP_BTF_PROGRAMS
        })
        .map(|name| name.chars().take(15).collect())
        .collect();
    assert_eq!(names, expected, "programs {programs:?} while follow ran");
}

/// Waits until none of `programs` is loaded any more; returns how long that took.
fn assert_unloaded(programs: &BTreeSet<u32>) -> Duration {
    let since = Instant::now();
    loop {
        let left: Vec<u32> = programs
            .iter()
            .copied()
            .filter(|&id| bpf::program_name(id).is_some())
            .collect();
        if left.is_empty() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < UNLOAD_LIMIT,
            "eBPF programs {left:?} still loaded {UNLOAD_LIMIT:?} after follow exited"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// `connections` short loopback connections in the namespace.
fn churn(ns: &NetNs, connections: u32) {
    process::churn(ns, env!("CARGO_BIN_EXE_tcpchurn"), connections, 0, &[]);
}

/// The summary line's event count, if `line` is a summary.
fn summary_events(line: &str) -> Option<u64> {
    let rest = line.strip_prefix(SUMMARY_PREFIX)?;
    let (events, rest) = rest.split_once(" events, ")?;
    rest.contains(" lost, ").then_some(())?;
    rest.contains(" sockets seen").then_some(())?;
    events.parse().ok()
}

/// Every view stops on each signal with status 0, its output complete, the summary as the
/// last stderr line, and no program left loaded.
#[test]
fn every_view_stops_cleanly_on_each_signal() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    for (view, args) in VIEWS {
        for (signal_name, signal) in SIGNALS {
            let case = format!("{view} view, {signal_name}");
            let follow = Follow::start(&ns, &[], args, false);
            assert_sockwatch_programs(&follow.programs, true);
            let programs = follow.programs.clone();
            churn(&ns, 5);
            let sent = Instant::now();
            follow.signal(signal);
            let stopped = follow.wait(sent);
            assert_eq!(
                stopped.status.code(),
                Some(0),
                "{case}: {:?}",
                stopped.stderr
            );
            let last = summary_line(&stopped.stderr);
            let last = last.as_str();
            let events = summary_events(last)
                .unwrap_or_else(|| panic!("{case}: no summary line last: {:?}", stopped.stderr));
            assert!(
                events > 0,
                "{case}: no events counted for 5 connections: {last}"
            );
            let other_lines = stopped
                .stderr
                .iter()
                .filter(|line| !line.starts_with("sockwatch follow: ends:"))
                .count();
            assert_eq!(other_lines, 1, "{case}: extra stderr: {:?}", stopped.stderr);
            // The lifetime view prints finished connections: all 5 of them here.
            let lines = stopped.stdout.lines;
            assert!(
                lines >= 5,
                "{case}: {lines} lines of output:\n{}",
                stopped.stdout.head
            );
            let unloaded = assert_unloaded(&programs);
            eprintln!(
                "{case}: exit 0 in {:?}, {events} events, {lines} lines, programs gone after {unloaded:?}",
                stopped.exit_time
            );
        }
    }
}

/// With standard output closed, every view stops at its first write: status 0, no summary
/// (its reader is gone too, as with `| head`), no program left loaded.
#[test]
fn every_view_stops_quietly_when_its_output_closes() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    for (view, args) in VIEWS {
        let follow = Follow::start(&ns, &[], args, true);
        let programs = follow.programs.clone();
        // Two connections: the first line follow writes meets the closed pipe.
        churn(&ns, 2);
        let started = Instant::now();
        let stopped = follow.wait(started);
        assert_eq!(
            stopped.status.code(),
            Some(0),
            "{view} view: {:?}",
            stopped.stderr
        );
        assert!(
            stopped.stderr.is_empty(),
            "{view} view: stderr after a closed output: {:?}",
            stopped.stderr
        );
        let unloaded = assert_unloaded(&programs);
        eprintln!(
            "{view} view, closed stdout: exit 0 {:?} after the traffic, programs gone after \
             {unloaded:?}",
            stopped.exit_time
        );
    }
}

/// With tracefs unmounted (a private mount namespace), root's follow mounts it again and the
/// accept hooks (tracepoints, which need it) attach; without CAP_SYS_ADMIN (CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN only),
/// follow still runs and its summary says in one line why accept owners are unknown.
#[test]
fn an_unmounted_tracefs_is_mounted_or_explained() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    // `ip netns exec` mounts a fresh /sys, without tracefs; unmount anything there anyway.
    let unmounted = [
        "unshare",
        "-m",
        "sh",
        "-c",
        "umount /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; \
         test -d /sys/kernel/tracing/events && exit 99; exec \"$@\"",
        "sh",
    ];
    let caps_only: Vec<&str> = unmounted
        .iter()
        .copied()
        .chain([
            "setpriv",
            "--bounding-set=-all,+bpf,+perfmon,+net_admin",
            "--inh-caps=-all",
        ])
        .collect();
    for (who, wrapper, accept_hooks) in [
        ("root", &unmounted[..], true),
        ("capabilities only", &caps_only[..], false),
    ] {
        let follow = Follow::start(&ns, wrapper, &["--json"], false);
        assert_sockwatch_programs(&follow.programs, accept_hooks);
        let programs = follow.programs.clone();
        churn(&ns, 2);
        let sent = Instant::now();
        follow.signal(libc::SIGINT);
        let stopped = follow.wait(sent);
        assert_eq!(
            stopped.status.code(),
            Some(0),
            "{who}: {:?}",
            stopped.stderr
        );
        let summary = summary_line(&stopped.stderr);
        assert!(
            summary_events(&summary).is_some(),
            "{who}: {:?}",
            stopped.stderr
        );
        let explained =
            summary.contains("owners of accepted sockets unknown") && summary.contains("tracefs");
        assert_eq!(explained, !accept_hooks, "{who}: {summary}");
        assert_unloaded(&programs);
        eprintln!(
            "{who}, tracefs unmounted: {} programs; {summary}",
            programs.len()
        );
    }
}

/// Without privileges, follow refuses in one line naming the capabilities, with status 1.
#[test]
fn an_unprivileged_user_is_refused_in_one_line() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let output = ns
        .command("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(sockwatch_bin())
        .args(["follow", "--duration", "5"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for capability in ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"] {
        assert!(lines[0].contains(capability), "{stderr}");
    }
    eprintln!("unprivileged follow: exit 1, {stderr}");
}

/// A signal while the programs are still loading must also end with status 0 and a summary.
/// (Before the first milliseconds of start-up, no program can catch a signal: the delays
/// start after that.)
#[test]
fn a_signal_while_loading_stops_cleanly() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let binary = fs::canonicalize(sockwatch_bin()).expect("sockwatch binary path");
    for delay in [20, 100, 250] {
        let mut child = ns
            .command(&binary)
            .arg("follow")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start follow");
        // Signal sockwatch itself, not `ip` before it has executed sockwatch.
        let exe = format!("/proc/{}/exe", child.id());
        let since = Instant::now();
        while fs::read_link(&exe).ok().as_deref() != Some(binary.as_path()) {
            assert!(since.elapsed() < ATTACH_LIMIT, "sockwatch did not start");
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(delay));
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let status = child.wait().expect("wait");
        assert_eq!(
            status.code(),
            Some(0),
            "SIGINT {delay} ms after exec: {status}"
        );
    }
}

/// With a state or port filter the kernel drops what does not match, but never the end of a
/// socket it admitted: follow's memory stays flat under churn (it grew by the socket, about
/// 0.4 KiB each, when the destroys were filtered out and the table kept every socket).
#[test]
fn a_kernel_filter_keeps_memory_flat_under_churn() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    for filter in [&["state", "established"][..], &["dport", "=", ":7700"][..]] {
        let run = Follow::start(&ns, &[], filter, false);
        let churn = |connections: u32| {
            let connections = connections.to_string();
            let output = ns.run(
                env!("CARGO_BIN_EXE_tcpchurn"),
                [
                    "--connections",
                    &connections,
                    "--threads",
                    "2",
                    "--port",
                    "7700",
                ]
                .into_iter()
                .chain(["--reset-every", "2", "--seconds", "60"]),
            );
            assert!(output.status.success(), "{output:?}");
        };
        churn(10_000);
        let (warm, _) = rss_and_fds(run.child.id());
        churn(60_000);
        let (last, _) = rss_and_fds(run.child.id());
        eprintln!("{filter:?}: RSS {warm} KiB after 10,000 connections, {last} KiB after 70,000");
        let sent = Instant::now();
        run.signal(libc::SIGINT);
        let stopped = run.wait(sent);
        assert_eq!(stopped.status.code(), Some(0), "{:?}", stopped.stderr);
        // 120,000 sockets kept would be some 40 MiB.
        assert!(
            last <= warm + 8 * 1024,
            "{filter:?}: RSS grew from {warm} KiB to {last} KiB over 60,000 connections: {:?}",
            stopped.stderr
        );
    }
}

/// How long the soak runs, in seconds (`cargo xtask soak --seconds N` sets it).
const SOAK_SECONDS: &str = "SOCKWATCH_SOAK_SECONDS";
/// How often the soak samples follow and takes a snapshot.
const SOAK_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// A process's resident memory (KiB) and open descriptors.
fn rss_and_fds(pid: u32) -> (u64, usize) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count());
    (rss, fds)
}

/// follow --json and follow --lifetime side by side under connection churn for
/// SOCKWATCH_SOAK_SECONDS, snapshots taken every few seconds: both stay up with flat memory
/// and descriptors, every snapshot succeeds, losses stay within [`over_loss_budget`] and are
/// reported, both stop cleanly and unload their programs.
#[test]
#[ignore = "long: run by `cargo xtask soak`"]
fn follow_survives_a_soak() {
    if !can_run_namespace_tests() {
        return;
    }
    let seconds: u64 = std::env::var(SOAK_SECONDS)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let ns = NetNs::create();
    // Long-lived connections beside the churn, so the final table has something to match.
    let held = Held::start(&ns, env!("CARGO_BIN_EXE_tcphold"), 200, seconds + 120);
    let runs = [
        ("json", Follow::start(&ns, &[], &["--json"], false)),
        ("lifetime", Follow::start(&ns, &[], &["--lifetime"], false)),
    ];
    // A third follow keeps the live table: at the end it must list what a fresh snapshot
    // lists.
    let table = TableInFile::start(&ns, "soak");
    let mut churn = ns
        .command(env!("CARGO_BIN_EXE_tcpchurn"))
        .args(["--connections", "1000000000", "--threads", "2"])
        .args(["--seconds", &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcpchurn");

    let started = Instant::now();
    let mut samples: Vec<[(u64, usize); 2]> = Vec::new();
    let mut snapshots_failed = Vec::new();
    eprintln!("soak: {seconds} s; t(s)  json RSS KiB/fds  lifetime RSS KiB/fds  snapshot ms");
    while churn.try_wait().expect("poll tcpchurn").is_none() {
        thread::sleep(SOAK_SAMPLE_EVERY);
        let sample = [0, 1].map(|i| rss_and_fds(runs[i].1.child.id()));
        for ((view, _), (rss, _)) in runs.iter().zip(sample) {
            // A process that exited has no VmRSS any more.
            assert!(rss > 0, "the {view} follow exited during the soak");
        }
        let snap_started = Instant::now();
        let snapshot = ns.run(sockwatch_bin(), ["snapshot", "-tanie"]);
        let snap_ms = snap_started.elapsed().as_millis();
        if !snapshot.status.success() {
            snapshots_failed.push(String::from_utf8_lossy(&snapshot.stderr).into_owned());
        }
        eprintln!(
            "soak: {:5}  {:>8}/{:<3}  {:>8}/{:<3}  {snap_ms}",
            started.elapsed().as_secs(),
            sample[0].0,
            sample[0].1,
            sample[1].0,
            sample[1].1
        );
        samples.push(sample);
    }
    let churned = churn.wait_with_output().expect("tcpchurn output");
    assert!(
        churned.status.success(),
        "tcpchurn: {}",
        String::from_utf8_lossy(&churned.stderr)
    );
    eprintln!(
        "soak: tcpchurn {}",
        String::from_utf8_lossy(&churned.stdout).trim()
    );

    // Losses are checked last: the live table must match a snapshot whether or not the
    // machine kept up (a loss rebuilds it), and it is the more telling failure.
    let mut losses = Vec::new();
    for (view, run) in runs {
        let programs = run.programs.clone();
        let sent = Instant::now();
        run.signal(libc::SIGINT);
        let stopped = run.wait(sent);
        assert_eq!(
            stopped.status.code(),
            Some(0),
            "{view}: {:?}",
            stopped.stderr
        );
        let summary = summary_line(&stopped.stderr);
        assert!(
            summary_events(&summary).is_some(),
            "{view}: {:?}",
            stopped.stderr
        );
        assert_unloaded(&programs);
        if over_loss_budget(&summary) {
            losses.push(format!("{view}: {summary}"));
        }
        eprintln!(
            "soak: {view}: {} lines, {} events reported lost in the output; {summary}",
            stopped.stdout.lines, stopped.stdout.lost_reported
        );
    }
    assert!(
        snapshots_failed.is_empty(),
        "snapshots failed: {snapshots_failed:?}"
    );

    // The live table after the churn, against a fresh snapshot of full sockets.
    thread::sleep(Duration::from_millis(1500));
    let in_snapshot = full_tcp_socket_keys(&ns);
    let (in_table, table_stderr) = table.stop();
    let table_summary = summary_line(&table_stderr);
    eprintln!("soak: table: {table_summary}");
    if over_loss_budget(&table_summary) {
        losses.push(format!("table: {table_summary}"));
    }
    drop(held);
    assert_table_is_snapshot(&in_table, &in_snapshot);
    eprintln!(
        "soak: live table matches a fresh snapshot ({} sockets)",
        in_table.len()
    );

    // Memory and descriptors after warm-up (the second sample) against the end.
    if let (Some(warm), Some(last)) = (samples.get(1), samples.last()) {
        for i in 0..2 {
            let (rss_warm, fds_warm) = warm[i];
            let (rss_last, fds_last) = last[i];
            assert!(
                rss_last <= rss_warm * 2 + 16 * 1024,
                "follow {i}: RSS grew from {rss_warm} KiB to {rss_last} KiB"
            );
            assert_eq!(fds_last, fds_warm, "follow {i}: descriptors changed");
        }
    }
    assert!(losses.is_empty(), "events lost: {losses:?}");
}

/// Losses the soak accepts: at most one per million events, each reported (inline, in the
/// summary, and repaired by a rebuild or the audit). The kernel sometimes skips a program run
/// or ends a socket without running any (see follow/audit.rs); a reader that falls behind
/// loses far more, and fails.
fn over_loss_budget(summary: &str) -> bool {
    let events = summary_events(summary).unwrap_or(0);
    let lost: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" lost"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    lost.saturating_mul(1_000_000) > events
}

#[test]
fn summary_lines_are_recognised() {
    assert!(!over_loss_budget(
        "sockwatch follow: 5000000 events, 3 lost, 9 sockets seen, 1 at start"
    ));
    assert!(over_loss_budget(
        "sockwatch follow: 5000000 events, 6 lost, 9 sockets seen, 1 at start"
    ));
    assert_eq!(
        summary_events("sockwatch follow: 12 events, 0 lost, 3 sockets seen"),
        Some(12)
    );
    assert_eq!(
        summary_events("sockwatch follow: 1 events, 0 lost, 1 sockets seen (owners ...)"),
        Some(1)
    );
    assert_eq!(
        summary_events("sockwatch follow: attached; Ctrl-C to stop"),
        None
    );
}

/// Orphans whose FIN was acknowledged: the clients close first and the server holds its ends
/// open. Prints `ready` once every client end is a FIN-WAIT-2 TIME-WAIT mini-socket, closes the
/// server ends at the first line on stdin and prints `closed`.
const ORPHANS_IN_FIN_WAIT_2: &str = r#"
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 7810))
listener.listen(64)
clients = [socket.create_connection(("127.0.0.1", 7810)) for _ in range(20)]
servers = [listener.accept()[0] for _ in clients]
for client in clients:
    client.close()
time.sleep(0.3)
print("ready", flush=True)
sys.stdin.readline()
for server in servers:
    server.close()
print("closed", flush=True)
sys.stdin.read()
"#;

/// An orphaned connection whose FIN was acknowledged lives on as a TIME-WAIT mini-socket in
/// substate FIN-WAIT-2 (its full socket is destroyed at the hand-over), which sock_diag lists
/// as FIN-WAIT-2, as ss shows it. No program sees it change or end: a table started beside it
/// must not take it in, or it stays there after it is gone.
#[test]
fn a_table_started_beside_orphans_in_fin_wait_2_ends_as_the_snapshot() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let mut orphans = ns
        .command("python3")
        .args(["-c", ORPHANS_IN_FIN_WAIT_2])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut said = BufReader::new(orphans.stdout.take().expect("python3 stdout"));
    let mut line = String::new();
    said.read_line(&mut line).expect("python3 ready line");
    assert_eq!(line.trim(), "ready", "the orphans' script");
    let fin_wait_2 = ns.run(
        sockwatch_bin(),
        ["snapshot", "-tanH", "state", "fin-wait-2"],
    );
    assert_eq!(
        String::from_utf8_lossy(&fin_wait_2.stdout).lines().count(),
        20,
        "20 client ends in FIN-WAIT-2 before follow starts"
    );

    let table = FollowRun::start(&ns, &["--table", "--json", "-n", "--interval", "0.2"]);
    let mut stdin = orphans.stdin.take().expect("python3 stdin");
    writeln!(stdin, "close").expect("tell python3 to close");
    line.clear();
    said.read_line(&mut line).expect("python3 closed line");
    assert_eq!(line.trim(), "closed", "the orphans' script");
    thread::sleep(Duration::from_millis(800));
    let in_snapshot = full_tcp_socket_keys(&ns);
    let (stdout, _) = table.interrupt();
    drop(stdin);
    let _ = orphans.wait();
    assert_table_is_snapshot(&table_socket_keys(&stdout), &in_snapshot);
}

/// Clients that connect and close at once, to servers that close a random 0-20 ms later from
/// a thread each, on a listener whose accept queue overflows: the workload that showed sockets
/// ending with no program run and no counter moved (see follow/audit.rs). Runs SECONDS.
const STALLED_SERVERS: &str = r#"
import socket, sys, threading, time, random
end = time.time() + float(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 7820))
listener.listen(4096)
def serve():
    while time.time() < end:
        connection, _ = listener.accept()
        def close_later(c=connection):
            c.recv(1)
            time.sleep(random.random() * 0.02)
            c.close()
        threading.Thread(target=close_later, daemon=True).start()
def connect():
    while time.time() < end:
        socket.create_connection(("127.0.0.1", 7820)).close()
for _ in range(2):
    threading.Thread(target=serve, daemon=True).start()
clients = [threading.Thread(target=connect) for _ in range(4)]
for client in clients:
    client.start()
for client in clients:
    client.join()
"#;

/// Under that workload the kernel ends some sockets without telling follow, and a table
/// started mid-way lists orphans in FIN-WAIT-2: whatever happened, the table must end as a
/// fresh snapshot, once the audit (two rounds, 10 s apart) has run.
#[test]
fn a_table_under_stalled_servers_ends_as_the_snapshot() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let workload = ns
        .command("python3")
        .args(["-c", STALLED_SERVERS, "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    thread::sleep(Duration::from_secs(2));
    let table = TableInFile::start(&ns, "stalled");
    let finished = workload.wait_with_output().expect("wait for python3");
    assert!(finished.status.success(), "the workload: {finished:?}");
    // Two audit rounds after the last socket ended.
    thread::sleep(Duration::from_secs(22));
    let in_snapshot = full_tcp_socket_keys(&ns);
    let (in_table, stderr) = table.stop();
    eprintln!("{}", stderr.join("\n"));
    assert_table_is_snapshot(&in_table, &in_snapshot);
}

/// `follow --table --json` writing its table to a file: a pipe nobody reads would hold follow
/// back, and the losses that follow (each rebuilding the table) would hide what the tests look
/// for.
struct TableInFile {
    child: Child,
    path: std::path::PathBuf,
}

impl TableInFile {
    fn start(ns: &NetNs, name: &str) -> TableInFile {
        let path = std::env::temp_dir().join(format!("{}-{name}-table", ns.name()));
        let child = ns
            .command(sockwatch_bin())
            .args(["follow", "--table", "--json", "-n", "--interval", "0.5"])
            .stdout(Stdio::from(
                fs::File::create(&path).expect("create the table file"),
            ))
            .stderr(Stdio::piped())
            .spawn()
            .expect("start follow --table");
        TableInFile { child, path }
    }

    /// Stops follow with SIGINT: the sockets of the last table it wrote, and its stderr lines.
    fn stop(self) -> (Vec<String>, Vec<String>) {
        let TableInFile { child, path } = self;
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let stopped = child.wait_with_output().expect("wait for follow --table");
        assert!(stopped.status.success(), "follow --table: {stopped:?}");
        let text = fs::read_to_string(&path).expect("read the table file");
        let _ = fs::remove_file(&path);
        let stderr = String::from_utf8_lossy(&stopped.stderr)
            .lines()
            .map(str::to_string)
            .collect();
        (table_socket_keys(&text), stderr)
    }
}

fn assert_table_is_snapshot(in_table: &[String], in_snapshot: &[String]) {
    assert_eq!(
        in_table, in_snapshot,
        "live table at the end vs a fresh snapshot"
    );
}
