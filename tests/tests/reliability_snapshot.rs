//! Reliability of `sockwatch snapshot` on the real kernel: a reader that goes away (`| head`),
//! an unprivileged user (compared with ss run as the same user), the dump files it writes and
//! reads back, and odd /proc content (a fake /proc bind-mounted in a private mount namespace).

use std::{
    ffi::OsStr,
    fs,
    net::UdpSocket,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Output, Stdio},
    thread,
};

use sockwatch_tests::{
    assert_all_passed, check_same, sockwatch_bin, Masks, NetNs, Run, SocketGroup, Testbed,
};

/// The unprivileged user the tests switch to: nobody, with no groups and no capabilities.
const NOBODY: [&str; 4] = [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

/// A real dump (`ss -tanieomD`), shared with sockwatch's property tests.
const SEED_DUMP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sockwatch/tests/data/ss-tcp.dump"
);

/// A directory of the test's own under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("sw-rel-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `sockwatch snapshot ARGS` in `ns` with standard output a pipe nobody reads any more.
fn run_into_closed_pipe(ns: &NetNs, args: &[&str]) -> Output {
    let mut child = ns
        .command(sockwatch_bin())
        .arg("snapshot")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockwatch");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for sockwatch")
}

/// With its reader gone before the first byte, every output form ends quietly with status 0.
#[test]
fn a_closed_output_ends_every_listing_quietly() {
    let Some(bed) = Testbed::start(
        env!("CARGO_BIN_EXE_sockfixture"),
        &[SocketGroup::Tcp, SocketGroup::Udp, SocketGroup::Unix],
    ) else {
        return;
    };
    let cases: &[&[&str]] = &[
        &["-a"],
        &["-aeimop"],
        &["-a", "--json"],
        &["-a", "--netstat"],
        &["-s"],
        &["-t", "-D", "-"],
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|args| {
            let output = run_into_closed_pipe(bed.ns(), args);
            let stderr = stderr_lines(&output);
            let quiet = output.status.code() == Some(0) && stderr.is_empty();
            (!quiet).then(|| format!("snapshot {args:?}: {}, stderr {stderr:?}", output.status))
        })
        .collect();
    assert_all_passed("listings into a closed pipe", cases.len(), &failures);
}

/// UDP sockets bound in `ns`'s network namespace, held open by the test process: made on a
/// thread that enters the namespace (setns changes only the calling thread's).
fn udp_sockets_in(ns: &NetNs, count: usize) -> Vec<UdpSocket> {
    let path = Path::new("/run/netns").join(ns.name());
    thread::spawn(move || {
        let file = fs::File::open(&path).expect("open the namespace");
        // SAFETY: setns(2) with a namespace fd we hold, on this thread only.
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        (0..count)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket"))
            .collect()
    })
    .join()
    .expect("socket thread")
}

/// Sockets for a listing of about 250 KiB with -aem.
const SOCKETS: usize = 1500;

/// Raises this process's soft limit on open files to at least `wanted` (within the hard limit).
fn raise_open_file_limit(wanted: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted as libc::rlim_t {
            limit.rlim_cur = limit.rlim_max.min(wanted as libc::rlim_t);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
}

/// `sockwatch snapshot -aem | head -1` on a listing far larger than the pipe and the output
/// buffer: sockwatch meets the closed pipe mid-listing and exits 0 without a word.
#[test]
fn head_of_a_large_listing_exits_zero() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    raise_open_file_limit(SOCKETS + 100);
    let _sockets = udp_sockets_in(&ns, SOCKETS);
    let full = ns.run(sockwatch_bin(), ["snapshot", "-aem"]);
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    // Pipe (64 KiB) plus sockwatch's buffer (64 KiB), with room to spare.
    assert!(
        full.stdout.len() > 3 << 16,
        "only {} bytes",
        full.stdout.len()
    );
    for round in 0..5 {
        let output = ns.run(
            "bash",
            [
                OsStr::new("-c"),
                OsStr::new("\"$0\" snapshot -aem | head -1 >/dev/null; exit ${PIPESTATUS[0]}"),
                sockwatch_bin().as_os_str(),
            ],
        );
        assert_eq!(
            (output.status.code(), stderr_lines(&output)),
            (Some(0), Vec::new()),
            "round {round} of `snapshot -aem | head -1` ({} bytes in all)",
            full.stdout.len()
        );
    }
    eprintln!(
        "snapshot -aem | head -1: exit 0, quiet, 5 of 5 runs ({} bytes of listing)",
        full.stdout.len()
    );
}

/// A copy of the sockwatch binary in `dir` that any user can run (the build tree may be
/// private); `dir` must be open to all.
fn public_sockwatch(dir: &TempDir) -> PathBuf {
    let copy = dir.0.join("sockwatch");
    fs::copy(sockwatch_bin(), &copy).expect("copy sockwatch");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod binary");
    copy
}

/// A run as nobody inside the namespace.
fn run_as_nobody(ns: &NetNs, program: &Path, args: &[&str], shown: &str) -> Run {
    let output = ns
        .command("setpriv")
        .args(NOBODY)
        .arg(program)
        .args(args)
        .output()
        .expect("run setpriv");
    Run {
        command_line: format!("setpriv {} {shown} {}", NOBODY.join(" "), args.join(" ")),
        output,
    }
}

/// As nobody, snapshot shows what the kernel lets nobody see: exactly what ss shows the same
/// user, for every socket family and detail option.
#[test]
fn an_unprivileged_user_sees_what_ss_shows_it() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL) else {
        return;
    };
    let dir = TempDir::new("nobody-bin");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let sockwatch = public_sockwatch(&dir);
    let ss = Path::new("ss");
    let cases: &[&[&str]] = &[
        &["-tan"],
        &["-uan"],
        &["-wan"],
        &["-xan"],
        &["-0an"],
        &["-an", "-A", "netlink"],
        &["-tanp"],
        &["-tane"],
        &["-tanm"],
        &["-tani"],
        &["-xanp"],
        &["-s"],
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|args| {
            let expected = run_as_nobody(bed.ns(), ss, args, "ss");
            let mut actual_args = vec!["snapshot"];
            actual_args.extend_from_slice(args);
            let actual = run_as_nobody(bed.ns(), &sockwatch, &actual_args, "sockwatch");
            check_same(&expected, &actual, Masks::for_args(args)).err()
        })
        .collect();
    assert_all_passed("option sets as nobody", cases.len(), &failures);
    eprintln!("as nobody: {} option sets, same as ss", cases.len());
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").mode() & 0o777
}

/// `-D FILE` creates FILE for its owner only (0600, whatever the umask lets through), and
/// narrows a file that was there to 0600 too (follow --write does the same); `-D -` writes to standard output; and the dump
/// reads back (`--read`) as the same listing as the live one.
#[test]
fn dump_files_are_private_and_read_back() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &[SocketGroup::Tcp]) else {
        return;
    };
    let dir = TempDir::new("dumps");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o1777)).expect("chmod dir");
    let dump = dir.0.join("new.dump");
    // `snapshot -ta -D FILE` under a umask.
    let dump_with_umask = |umask: &str, file: &Path| {
        bed.ns()
            .command("sh")
            .args(["-c", &format!("umask {umask}; exec \"$@\""), "sh"])
            .arg(sockwatch_bin())
            .args(["snapshot", "-ta", "-D"])
            .arg(file)
            .output()
            .expect("run sockwatch")
    };
    for umask in ["022", "000"] {
        let _ = fs::remove_file(&dump);
        let output = dump_with_umask(umask, &dump);
        assert!(output.status.success(), "{:?}", stderr_lines(&output));
        assert_eq!(mode_of(&dump), 0o600, "dump made under umask {umask}");
    }

    // A world-readable file that was there: the dump names connections, so 0600 as well.
    let shared = dir.0.join("shared.dump");
    fs::write(&shared, b"").expect("create");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o644)).expect("chmod");
    let output = dump_with_umask("022", &shared);
    assert!(output.status.success(), "{:?}", stderr_lines(&output));
    assert_eq!(mode_of(&shared), 0o600);

    // As nobody, in a directory anyone may write: the file is nobody's, 0600.
    let sockwatch = public_sockwatch(&dir);
    let nobody_dump = dir.0.join("nobody.dump");
    let nobody_path = nobody_dump.to_string_lossy().into_owned();
    let run = run_as_nobody(
        bed.ns(),
        &sockwatch,
        &["snapshot", "-t", "-D", &nobody_path],
        "sockwatch",
    );
    assert!(run.success(), "{}", run.stderr());
    let meta = fs::metadata(&nobody_dump).expect("stat");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o600));

    // `-D -`: the same bytes on standard output, readable back.
    let to_stdout = bed
        .ns()
        .run(sockwatch_bin(), ["snapshot", "-ta", "-D", "-"]);
    assert!(to_stdout.status.success(), "{:?}", stderr_lines(&to_stdout));
    assert!(!Path::new("-").exists(), "-D - created a file named -");
    let from_stdout = dir.0.join("stdout.dump");
    fs::write(&from_stdout, &to_stdout.stdout).expect("write");

    // Each dump reads back as ss reads it (TCPDIAG_FILE: up to the first NLMSG_DONE).
    for file in [&dump, &from_stdout] {
        let path = file.to_string_lossy();
        let ss = Run::ss_with_env(bed.ns(), &[("TCPDIAG_FILE", file.as_os_str())], &["-tan"]);
        let replay = Run::sockwatch(bed.ns(), &["-tan", "--read", &path]);
        if let Err(report) = check_same(&ss, &replay, Masks::default()) {
            panic!("{report}");
        }
    }
}

/// Dump files that are not dumps: status 1, nothing on stdout, one line on stderr naming the
/// file and the problem; the same through TCPDIAG_FILE.
#[test]
fn bad_dump_files_are_refused_in_one_line() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let dir = TempDir::new("bad-dumps");
    let seed = fs::read(SEED_DUMP).expect("the seed dump");
    let files: Vec<(&str, PathBuf)> = vec![
        ("text", dir.0.join("text")),
        ("empty", dir.0.join("empty")),
        ("truncated", dir.0.join("truncated")),
        ("missing", dir.0.join("missing")),
        ("a directory", dir.0.clone()),
    ];
    fs::write(&files[0].1, "sockets: not a dump\n").expect("write");
    fs::write(&files[1].1, b"").expect("write");
    fs::write(&files[2].1, &seed[..seed.len() / 2]).expect("write");
    let mut failures = Vec::new();
    for (what, path) in &files {
        let by_option = ns.run(
            sockwatch_bin(),
            [
                OsStr::new("snapshot"),
                OsStr::new("--read"),
                path.as_os_str(),
            ],
        );
        let by_env = ns
            .command(sockwatch_bin())
            .arg("snapshot")
            .env("TCPDIAG_FILE", path)
            .output()
            .expect("run sockwatch");
        for (how, output) in [("--read", by_option), ("TCPDIAG_FILE", by_env)] {
            let stderr = stderr_lines(&output);
            let clean = output.status.code() == Some(1)
                && output.stdout.is_empty()
                && stderr.len() == 1
                && stderr[0].starts_with("sockwatch: ")
                && stderr[0].contains(&*path.to_string_lossy());
            if !clean {
                failures.push(format!(
                    "{what} via {how}: {}, stderr {stderr:?}",
                    output.status
                ));
            } else {
                eprintln!("{what} via {how}: {}", stderr[0]);
            }
        }
    }
    assert_all_passed("bad dump files", files.len() * 2, &failures);
}

/// A fake /proc: the given files (paths relative to /proc) in a directory of their own.
struct FakeProc(TempDir);

impl FakeProc {
    fn new(name: &str, files: &[(&str, &[u8])]) -> FakeProc {
        let dir = TempDir::new(name);
        for (path, content) in files {
            let path = dir.0.join(path);
            fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            fs::write(path, content).expect("write a fake proc file");
        }
        FakeProc(dir)
    }

    /// `program args` in `ns`, with the fake mounted on /proc in a private mount namespace
    /// (so nothing outside sees it).
    fn run(&self, ns: &NetNs, program: impl AsRef<OsStr>, args: &[&str]) -> Output {
        ns.command("unshare")
            .args(["-m", "sh", "-c", "mount --bind \"$0\" /proc && exec \"$@\""])
            .arg(&self.0 .0)
            .arg(program)
            .args(args)
            .output()
            .expect("run unshare")
    }
}

/// Raw sockets come from /proc (thread-self/net/raw): a garbled file is an error naming the
/// file and line; a valid fake line shows up as that socket.
#[test]
fn odd_proc_net_raw_is_reported_or_shown() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
    let garbled = FakeProc::new(
        "proc-garbled",
        &[
            (
                "thread-self/net/raw",
                format!("{header}  1: nonsense\n").as_bytes(),
            ),
            ("thread-self/net/raw6", header.as_bytes()),
        ],
    );
    let output = garbled.run(&ns, sockwatch_bin(), &["snapshot", "-wan"]);
    let stderr = stderr_lines(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr:?}");
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(
        stderr[0].contains("/proc/thread-self/net/raw:2:"),
        "{stderr:?}"
    );
    eprintln!("garbled /proc/net/raw: exit 1, {}", stderr[0]);

    let line = "   1: 0100007F:00FF 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4242 2 0000000000000000 0\n";
    let fake = FakeProc::new(
        "proc-raw",
        &[
            ("thread-self/net/raw", format!("{header}{line}").as_bytes()),
            ("thread-self/net/raw6", header.as_bytes()),
        ],
    );
    let output = fake.run(&ns, sockwatch_bin(), &["snapshot", "-wane"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{:?}", stderr_lines(&output));
    assert!(stdout.contains("127.0.0.1:255"), "{stdout}");
    // As ss: sockets read from /proc get no -e details.
    assert!(!stdout.contains("ino:4242"), "{stdout}");
}

/// `-s` reads /proc/net/sockstat, sockstat6 and snmp: on odd content (unknown tags,
/// non-numbers, stray bytes, no sockstat6) it prints what ss prints; without the counter it
/// needs from snmp it prints a summary (as ss) or fails in one line.
#[test]
fn odd_sockstat_content_is_read_as_ss_reads_it() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let snmp = b"Tcp: RtoAlgorithm CurrEstab\nTcp: 1 4\n".as_slice();
    let sockstat = b"sockets: used 7\nTCP: inuse 1 orphan x tw 3\nUDP: inuse 2 mem 1\n\xff\xfe\nRAW: inuse\nBOGUS: 1 2\nFRAG: inuse 3 memory 4096\n".as_slice();
    let odd = FakeProc::new(
        "proc-sockstat",
        &[("net/sockstat", sockstat), ("net/snmp", snmp)],
    );
    let ss = odd.run(&ns, "ss", &["-s"]);
    let sockwatch = odd.run(&ns, sockwatch_bin(), &["snapshot", "-s"]);
    let expected = Run {
        command_line: "ss -s (fake /proc)".into(),
        output: ss,
    };
    let actual = Run {
        command_line: "sockwatch snapshot -s (fake /proc)".into(),
        output: sockwatch,
    };
    if let Err(report) = check_same(&expected, &actual, Masks::default()) {
        panic!("{report}");
    }

    let no_counter = FakeProc::new(
        "proc-snmp",
        &[
            ("net/sockstat", sockstat),
            ("net/snmp", b"Udp: InDatagrams\nUdp: 5\n"),
        ],
    );
    let output = no_counter.run(&ns, sockwatch_bin(), &["snapshot", "-s"]);
    let stderr = stderr_lines(&output);
    match output.status.code() {
        Some(0) => assert!(!output.stdout.is_empty()),
        Some(1) => assert_eq!(stderr.len(), 1, "{stderr:?}"),
        _ => panic!("snmp without CurrEstab: {}, {stderr:?}", output.status),
    }
    eprintln!("snmp without CurrEstab: {}, {stderr:?}", output.status);
}

/// The peak RSS in KiB that the `rusage` launcher reports on `stderr`, and the rest of it.
fn split_rusage(stderr: &[u8]) -> (Option<u64>, Vec<String>) {
    let text = String::from_utf8_lossy(stderr);
    let mut peak = None;
    let mut rest = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("rusage: ") {
            Some(fields) => {
                peak = fields
                    .split(' ')
                    .find_map(|f| f.strip_prefix("max_rss_kib="))
                    .and_then(|v| v.parse().ok())
            }
            None => rest.push(line.to_string()),
        }
    }
    (peak, rest)
}

/// Inputs without end or with absurd lengths (`-F /dev/zero`, TCPDIAG_FILE=/dev/urandom, a
/// dump header declaring 1 GiB, /proc files that are /dev/zero) end in one line and status 1,
/// with memory bounded by a constant whatever the input holds.
#[test]
fn endless_and_absurd_inputs_end_in_one_line_in_bounded_memory() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let dir = TempDir::new("endless");
    let huge_header = dir.0.join("huge-header");
    // nlmsghdr: length 0x40000010, type SOCK_DIAG_BY_FAMILY, then nothing.
    let mut header = 0x4000_0010u32.to_ne_bytes().to_vec();
    header.extend_from_slice(&20u16.to_ne_bytes());
    header.extend_from_slice(&[0; 10]);
    fs::write(&huge_header, &header).expect("write");
    let rusage = env!("CARGO_BIN_EXE_rusage");
    let bin = sockwatch_bin();
    let huge = huge_header.to_string_lossy().into_owned();
    let measured = |command: &mut std::process::Command| {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.output().expect("run rusage")
    };
    // (what, peak limit in MiB, output)
    let mut runs: Vec<(String, u64, Output)> = Vec::new();
    let files: [(&str, &[&str]); 5] = [
        ("-F /dev/zero", &["snapshot", "-tan", "-F", "/dev/zero"]),
        ("-F /dev/urandom", &["snapshot", "-F", "/dev/urandom"]),
        ("--read /dev/zero", &["snapshot", "--read", "/dev/zero"]),
        (
            "--read /dev/urandom",
            &["snapshot", "--read", "/dev/urandom"],
        ),
        ("--read huge header", &["snapshot", "--read", &huge]),
    ];
    for (what, args) in files {
        let output = measured(ns.command(rusage).arg(&bin).args(args));
        runs.push((what.into(), 16, output));
    }
    let output = measured(
        ns.command(rusage)
            .arg(&bin)
            .args(["snapshot", "-F", "-"])
            .stdin(fs::File::open("/dev/zero").expect("open /dev/zero")),
    );
    runs.push(("-F - < /dev/zero".into(), 16, output));
    for file in ["/dev/urandom", "/dev/zero", &*huge] {
        let output = measured(
            ns.command(rusage)
                .arg(&bin)
                .arg("snapshot")
                .env("TCPDIAG_FILE", file),
        );
        runs.push((format!("TCPDIAG_FILE={file}"), 16, output));
    }
    // /proc files that never end: each read is capped (16 MiB), then refused.
    let proc_cases: [(&str, &[&str]); 5] = [
        ("net/snmp", &["snapshot", "-s"]),
        ("thread-self/net/raw", &["snapshot", "-w"]),
        ("net/snmp", &["netstat", "-s"]),
        ("net/route", &["netstat", "-rn"]),
        ("net/dev", &["netstat", "-i"]),
    ];
    for (file, args) in proc_cases {
        let fake = TempDir::new("endless-proc");
        let path = fake.0.join(file);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
        for other in ["net/sockstat", "net/snmp"] {
            let other = fake.0.join(other);
            if fs::symlink_metadata(&other).is_err() {
                fs::create_dir_all(other.parent().expect("a parent")).expect("mkdir");
                fs::write(other, "").expect("write");
            }
        }
        let output = measured(
            ns.command("unshare")
                .args(["-m", "sh", "-c", "mount --bind \"$0\" /proc && exec \"$@\""])
                .arg(&fake.0)
                .arg(rusage)
                .arg(&bin)
                .args(args),
        );
        runs.push((format!("/proc/{file} = /dev/zero, {args:?}"), 48, output));
    }
    let mut failures = Vec::new();
    for (what, limit_mib, output) in &runs {
        let (peak, stderr) = split_rusage(&output.stderr);
        let clean = output.status.code() == Some(1)
            && output.stdout.is_empty()
            && stderr.len() == 1
            && stderr[0].starts_with("sockwatch: ")
            && peak.is_some_and(|kib| kib <= limit_mib << 10);
        if clean {
            eprintln!("{what}: {} (peak {} KiB)", stderr[0], peak.unwrap_or(0));
        } else {
            failures.push(format!(
                "{what}: {}, peak {peak:?} KiB (limit {limit_mib} MiB), stderr {stderr:?}, stdout {:?}",
                output.status,
                String::from_utf8_lossy(&output.stdout)
            ));
        }
    }
    assert_all_passed("endless inputs", runs.len(), &failures);
}
