//! `sockwatch snapshot -E` against `ss -E`: both follow the same namespace while TCP and UDP
//! sockets come and go; each prints the destroyed sockets as they go, the same bytes, and
//! sockwatch ends at once and cleanly on a signal or when its reader goes away.

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use sockwatch_tests::{privilege::can_run_namespace_tests, sockwatch_bin, NetNs};

/// Sockets that live and die: a TCP connection closed from both ends, a listener, UDP
/// sockets over IPv4 and IPv6.
const CHURN: &str = r#"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 7100)); l.listen(5)
for _ in range(2):
    c = socket.create_connection(("127.0.0.1", 7100)); a, _ = l.accept(); c.close(); a.close()
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    u = socket.socket(family, socket.SOCK_DGRAM); u.bind((addr, 5000)); u.close()
l.close()
"#;

fn follow(mut program: Command) -> Child {
    program.stdout(Stdio::piped()).stderr(Stdio::piped());
    program.spawn().expect("start a follower")
}

/// Sends `signal` to `child` (a process this test started) and collects what it printed.
fn stop(mut child: Child, signal: libc::c_int) -> (Option<i32>, String, Duration) {
    // SAFETY: kill on the pid of a child not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let asked = Instant::now();
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read output");
    let status = child.wait().expect("wait");
    (status.code(), out, asked.elapsed())
}

#[test]
fn events_print_what_ss_prints_and_end_on_signals() {
    if !can_run_namespace_tests() {
        return;
    }
    for (args, signal) in [
        (&["-E"][..], libc::SIGTERM),
        (&["-En"][..], libc::SIGINT),
        (
            &["-tnE", "dport = :7100 or sport = :7100"][..],
            libc::SIGHUP,
        ),
    ] {
        let ns = NetNs::create();
        let mut ss = ns.command("stdbuf");
        ss.args(["-oL", "ss"]).args(args);
        let mut ours = ns.command(sockwatch_bin());
        ours.arg("snapshot").args(args);
        let ss = follow(ss);
        let ours = follow(ours);
        thread::sleep(Duration::from_millis(500));
        let churn = ns.run("python3", ["-c", CHURN]);
        assert!(churn.status.success(), "{churn:?}");
        thread::sleep(Duration::from_millis(500));
        let (ss_status, ss_out, _) = stop(ss, libc::SIGTERM);
        let (status, out, took) = stop(ours, signal);
        assert!(
            ss_status.is_none() || ss_status == Some(143),
            "ss: {ss_status:?}"
        );
        assert!(!ss_out.is_empty(), "ss -E saw nothing for {args:?}");
        assert_eq!(out, ss_out, "sockwatch snapshot {args:?} against ss");
        assert_eq!(status, Some(0), "{args:?} after signal {signal}");
        assert!(
            took < Duration::from_secs(1),
            "{args:?} took {took:?} to stop"
        );
    }
}

#[test]
fn events_end_quietly_when_the_reader_goes() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let mut child = ns
        .command(sockwatch_bin())
        .args(["snapshot", "-E"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockwatch");
    thread::sleep(Duration::from_millis(300));
    drop(child.stdout.take());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "still running with its reader gone"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}
