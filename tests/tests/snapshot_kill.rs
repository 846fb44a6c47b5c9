//! `sockwatch snapshot -K` against `ss -K`: in a namespace of its own, connections to two
//! listeners; sockwatch kills those to one, ss those to the other. Each must print the
//! sockets it closed as `ss FILTER` listed them just before, close exactly those (both ends
//! gone, checked with ss), and leave every other socket alone. Run by a user without
//! CAP_NET_ADMIN, whose SOCK_DESTROY the kernel refuses, both print and exit the same.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use sockwatch_tests::{
    assert_all_passed, check_same_with_stderr, sockwatch_bin, Masks, NetNs, Run,
};

/// Three connections to each of two listeners, held until stdin closes.
const HOLDER: &str = r#"
import socket, sys
keep = []
for port in (7000, 7001):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(8); keep.append(l)
    for _ in range(3):
        c = socket.create_connection(("127.0.0.1", port)); a, _ = l.accept(); keep += [c, a]
print("ready", flush=True)
sys.stdin.read()
"#;

fn stdout(output: std::process::Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn ss(ns: &NetNs, args: &[&str]) -> String {
    stdout(ns.run("ss", args))
}

/// The data lines of an `ss -tn` listing.
fn rows(listing: &str) -> Vec<&str> {
    listing.lines().skip(1).collect()
}

/// Waits until the namespace's TCP sockets on `port` (either end) are gone.
fn gone(ns: &NetNs, port: &str) -> Result<(), String> {
    let filter = format!("sport = :{port} or dport = :{port}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = ss(ns, &["-tnH", "state", "connected", &filter]);
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(left);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// TCP and UDP sockets of both IP versions, fewer than fill one sock_diag reply datagram,
/// held until stdin closes.
const MIXED_HOLDER: &str = r#"
import socket, sys
keep = []
l = socket.socket(); l.bind(("127.0.0.1", 7000)); l.listen(8)
c = socket.create_connection(("127.0.0.1", 7000)); a, _ = l.accept()
l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 7002)); l6.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 7003))
uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); uc.bind(("127.0.0.1", 7004))
uc.connect(("127.0.0.1", 7003))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 7005))
keep += [l, c, a, l6, u, uc, u6]
print("ready", flush=True)
sys.stdin.read()
"#;

/// An MPTCP listener and one connection to it, held until stdin closes.
const MPTCP_HOLDER: &str = r#"
import socket, sys
IPPROTO_MPTCP = 262
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
l.bind(("127.0.0.1", 7200)); l.listen(8)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
c.connect(("127.0.0.1", 7200)); a, _ = l.accept()
print("ready", flush=True)
sys.stdin.read()
"#;

struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

impl Holder {
    /// Runs `script` in `ns` and waits for its "ready".
    fn start(ns: &NetNs, script: &str) -> Holder {
        let mut child = ns
            .command("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let mut ready = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut ready)
            .expect("holder output");
        assert_eq!(ready.trim(), "ready");
        Holder(child)
    }
}

#[test]
fn kill_closes_exactly_what_the_filter_selects_like_ss() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let _holder = Holder::start(&ns, HOLDER);

    let before = ss(&ns, &["-tan"]);
    assert_eq!(rows(&before).len(), 2 + 2 * 6, "{before}");
    let mut killed = Vec::new();
    for (tool, port) in [("sockwatch", "7000"), ("ss", "7001")] {
        let filter = format!("dport = :{port}");
        let expected = ss(&ns, &["-tn", &filter]);
        let printed = match tool {
            "ss" => ss(&ns, &["-K", "-tn", &filter]),
            _ => stdout(ns.run(sockwatch_bin(), ["snapshot", "-K", "-tn", &filter])),
        };
        assert_eq!(printed, expected, "{tool} -K -tn '{filter}'");
        assert_eq!(rows(&printed).len(), 3, "{printed}");
        // Both ends: the killed clients and, reset by them, their accepted peers.
        if let Err(left) = gone(&ns, port) {
            panic!("{tool} -K left connected sockets on port {port}:\n{left}");
        }
        killed.push(port);
        // Everything else untouched: both listeners, the other port's connections.
        let now = ss(&ns, &["-tan"]);
        let expected_rows = 2 + 6 * (2 - killed.len());
        assert_eq!(rows(&now).len(), expected_rows, "after {tool}:\n{now}");
        assert_eq!(
            rows(&ss(&ns, &["-ltn"])).len(),
            2,
            "the listeners must survive"
        );
    }
    // A filter that selects nothing closes nothing; sockets the kernel cannot close (unix
    // ones here, without -t) are listed as ss lists them.
    let listeners = ss(&ns, &["-ltn"]);
    let printed = stdout(ns.run(sockwatch_bin(), ["snapshot", "-K", "-tn", "sport = :1"]));
    assert_eq!(printed, ss(&ns, &["-tn", "sport = :1"]));
    assert_eq!(ss(&ns, &["-ltn"]), listeners);
    let printed = stdout(ns.run(sockwatch_bin(), ["snapshot", "-K", "-x"]));
    assert_eq!(printed, ss(&ns, &["-K", "-x"]));
}

/// Without CAP_NET_ADMIN the kernel refuses SOCK_DESTROY (EPERM). ss 6.1 then prints
/// "SOCK_DESTROY answers: Operation not permitted" once a protocol, drops the rest of that
/// protocol's dump (TCP: nothing more listed), lists UDP from /proc/net/udp{,6} instead,
/// and exits 0. Same stdout, stderr and status as ss, and nothing closed.
#[test]
fn kill_refused_without_cap_net_admin_like_ss() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let _holder = Holder::start(&ns, MIXED_HOLDER);
    let before = ss(&ns, &["-tuan"]);
    assert_eq!(rows(&before).len(), 7, "{before}");
    let cases: &[&[&str]] = &[
        &["-K", "-tan"],
        &["-K", "-tan6"],
        &["-K", "-uan"],
        &["-K", "-uan6"],
        &["-K", "-tuan"],
        &["-K", "-uane"],
        &["-K", "-tan", "sport = :7002"],
        &["-K", "-uan", "sport = :7004"],
        &["-K", "-uan", "state", "established"],
        &["-K", "-tn", "sport = :1"],
        // Every table: TCP and UDP refused, netlink and unix listed, DCCP's own line.
        &["-K", "-an"],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let expected = Run::as_nobody(&ns, "ss", "ss", args);
        let sockwatch_args: Vec<&str> = std::iter::once("snapshot")
            .chain(args.iter().copied())
            .collect();
        let actual = Run::as_nobody(&ns, "sockwatch", sockwatch_bin(), &sockwatch_args);
        if let Err(report) = check_same_with_stderr(&expected, &actual, Masks::for_args(args)) {
            failures.push(report);
        }
    }
    assert_all_passed("refused -K runs", cases.len(), &failures);
    assert_eq!(ss(&ns, &["-tuan"]), before, "nothing may be closed");
}

/// MPTCP sockets: ss 6.1 asks to close them with the protocol cut to TCP's, the kernel finds
/// no such TCP socket, and ss lists none and closes none; sockwatch the same.
#[test]
fn kill_leaves_mptcp_like_ss() {
    let Some(ns) = NetNs::for_test() else {
        return;
    };
    let _holder = Holder::start(&ns, MPTCP_HOLDER);
    let before = ss(&ns, &["-Man"]);
    assert_eq!(rows(&before).len(), 3, "{before}");
    for args in [&["-K", "-Man"][..], &["-K", "-Mn", "dport = :7200"]] {
        let expected = Run::ss(&ns, args);
        let actual = Run::sockwatch(&ns, args);
        if let Err(report) = check_same_with_stderr(&expected, &actual, Masks::for_args(args)) {
            panic!("{report}");
        }
        assert_eq!(ss(&ns, &["-Man"]), before, "nothing may be closed");
    }
}
