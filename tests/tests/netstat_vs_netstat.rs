//! `sockwatch netstat ARGS` against the real `netstat ARGS` (net-tools) in a private namespace
//! with known sockets (the fixture), interfaces (the veth pair, a label, a down pair), routes
//! (via a gateway, with a metric, host, unreachable, IPv6) and multicast groups. No default
//! route: name lookups must fail fast, not wait for a resolver behind the veth.
//!
//! Lines are compared after collapsing runs of blanks. Numbers that change on their own (TCP
//! timers counting down, counters bumped by IPv6 neighbour discovery on the veth) are masked
//! where two runs of netstat, one before and one after sockwatch's, disagree: a counter only
//! grows, so where they agree sockwatch must print the same value.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::OnceLock,
    thread,
    time::Duration,
};

use serde_json::Value;
use sockwatch_tests::{
    assert_all_passed, process::with_default_signals, sockwatch_bin, NetNs, Run, SocketGroup,
    Testbed,
};

/// Attempts at a stable reading before a comparison is judged.
const ATTEMPTS: usize = 6;
const SETTLE: Duration = Duration::from_millis(500);

/// The testbed, with everything netstat's other tables show added to the namespace. None
/// when the test is skipped (no root, or no netstat outside CI).
fn testbed() -> Option<Testbed> {
    if !netstat_installed() {
        return None;
    }
    let bed = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL)?;
    for command in [
        "addr add 10.200.0.9/24 dev swa label swa:1",
        "route add 10.201.0.0/16 via 10.200.0.2 dev swa",
        "route add 10.202.0.5 dev swb",
        "route add unreachable 10.203.0.0/16",
        "route add 10.204.0.0/16 via 10.200.0.2 metric 100",
        "-6 addr add 2001:db8::1/64 dev swa nodad",
        "-6 route add 2001:db8:1::/48 via 2001:db8::2",
        "addr add 239.1.2.3/32 dev swa autojoin",
        "link add swc type veth peer name swd",
    ] {
        ip(bed.ns(), command);
    }
    Some(bed)
}

fn ip(ns: &NetNs, command: &str) {
    let output = Command::new("ip")
        .args(["-n", ns.name()])
        .args(command.split_whitespace())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip {command}: {e}"));
    assert!(
        output.status.success(),
        "ip {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether net-tools' netstat is here; under CI=true its absence fails the test.
fn netstat_installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| Command::new("netstat").arg("-V").output().is_ok());
    if !installed {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "netstat (net-tools) is not installed (CI=true: not skipping)"
        );
        eprintln!("SKIPPED: netstat (net-tools) is not installed");
    }
    installed
}

fn netstat(ns: &NetNs, args: &[&str]) -> Run {
    Run {
        command_line: format!("netstat {}", args.join(" ")),
        output: ns.run("netstat", args),
    }
}

fn sockwatch(ns: &NetNs, args: &[&str]) -> Run {
    let mut full = vec!["netstat"];
    full.extend_from_slice(args);
    Run {
        command_line: format!("sockwatch netstat {}", args.join(" ")),
        output: ns.run(sockwatch_bin(), &full),
    }
}

/// Lines with runs of blanks collapsed to one and trailing blanks dropped.
fn collapsed(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// A line's words with every run of digits replaced by `#`: what a word is apart from its
/// numbers.
fn shape(word: &str) -> String {
    let mut shaped = String::new();
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !shaped.ends_with('#') {
                shaped.push('#');
            }
        } else {
            shaped.push(c);
        }
    }
    shaped
}

/// What sockwatch must print, from two netstat runs around it: each word where both agree,
/// else any word of the same shape (its numbers moved). None when the runs differ in more
/// than numbers (a line came or went): the reading was not stable.
fn template(before: &str, after: &str) -> Option<Vec<Vec<(String, bool)>>> {
    let (before, after) = (collapsed(before), collapsed(after));
    if before.len() != after.len() {
        return None;
    }
    before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            let (b, a): (Vec<&str>, Vec<&str>) = (b.split(' ').collect(), a.split(' ').collect());
            if b.len() != a.len() {
                return None;
            }
            b.iter()
                .zip(&a)
                .map(|(bw, aw)| match bw == aw {
                    true => Some((bw.to_string(), false)),
                    false if shape(bw) == shape(aw) => Some((shape(bw), true)),
                    false => None,
                })
                .collect()
        })
        .collect()
}

fn matches(template: &[Vec<(String, bool)>], output: &str) -> bool {
    let lines = collapsed(output);
    lines.len() == template.len()
        && lines.iter().zip(template).all(|(line, words)| {
            let got: Vec<&str> = line.split(' ').collect();
            got.len() == words.len()
                && got
                    .iter()
                    .zip(words)
                    .all(|(word, (want, moving))| match moving {
                        true => shape(word) == *want,
                        false => word == want,
                    })
        })
}

/// `netstat ARGS`, `sockwatch netstat ARGS`, `netstat ARGS` again, until the two netstat
/// runs agree up to moving numbers; then sockwatch must match. Err holds a report.
fn check(ns: &NetNs, args: &[&str]) -> Result<(), String> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let before = netstat(ns, args);
        let ours = sockwatch(ns, args);
        let after = netstat(ns, args);
        if !before.success() {
            return Err(format!(
                "`{}` failed: {}",
                before.command_line,
                before.stderr()
            ));
        }
        if let Some(template) = template(&before.stdout(), &after.stdout()) {
            if ours.success() && matches(&template, &ours.stdout()) {
                return Ok(());
            }
        }
        last = Some((before, ours));
        thread::sleep(SETTLE);
    }
    let (expected, actual) = last.expect("at least one attempt");
    Err(format!(
        "`{}` differs from `{}` ({})\n---- netstat:\n{}---- sockwatch:\n{}---- sockwatch stderr:\n{}",
        actual.command_line,
        expected.command_line,
        diff_lines(&expected.stdout(), &actual.stdout()),
        expected.stdout(),
        actual.stdout(),
        actual.stderr()
    ))
}

/// The first differing line, collapsed, for the report's headline.
fn diff_lines(want: &str, got: &str) -> String {
    let (want, got) = (collapsed(want), collapsed(got));
    let index = want
        .iter()
        .zip(&got)
        .position(|(w, g)| w != g)
        .unwrap_or(want.len().min(got.len()));
    format!(
        "line {}: netstat {:?}, sockwatch {:?}",
        index + 1,
        want.get(index).map_or("<none>", String::as_str),
        got.get(index).map_or("<none>", String::as_str)
    )
}

fn check_all(what: &str, sets: &[&[&str]]) {
    let Some(bed) = testbed() else { return };
    let failures: Vec<String> = sets
        .iter()
        .filter_map(|args| check(bed.ns(), args).err())
        .collect();
    assert_all_passed(what, sets.len(), &failures);
}

#[test]
fn sockets_match_netstat() {
    check_all(
        "socket listings",
        &[
            &[],
            &["-a"],
            &["-an"],
            &["-l"],
            &["-ln"],
            &["-t"],
            &["-tn"],
            &["-ta"],
            &["-tan"],
            &["-ua"],
            &["-uan"],
            &["-wan"],
            &["-xa"],
            &["-xan"],
            &["-xl"],
            &["-tuwan"],
            &["--tcp", "--all", "--numeric"],
        ],
    );
}

#[test]
fn socket_columns_match_netstat() {
    check_all(
        "socket listings with extra columns",
        &[
            &["-ae"],
            &["-aee"],
            &["-ap"],
            &["-anp"],
            &["-xap"],
            &["-ao"],
            &["-tano"],
            &["-aneop"],
            &["-aW"],
            &["-anW"],
            &["--numeric-hosts", "-a"],
            &["--numeric-ports", "-a"],
            &["--numeric-users", "-ae"],
        ],
    );
}

#[test]
fn address_families_match_netstat() {
    check_all(
        "address family selections",
        &[
            &["-4an"],
            &["-6an"],
            &["-4tan"],
            &["-A", "inet", "-an"],
            &["-A", "inet6", "-a"],
            &["-A", "unix", "-a"],
            &["-A", "inet,unix", "-an"],
            &["--inet6", "-ua"],
        ],
    );
}

#[test]
fn interfaces_match_netstat() {
    check_all(
        "interface tables",
        &[&["-i"], &["-ia"], &["-ie"], &["-iae"], &["--interfaces"]],
    );
}

#[test]
fn routes_match_netstat() {
    check_all(
        "routing tables",
        &[
            &["-r"],
            &["-rn"],
            &["-re"],
            &["-rne"],
            &["-rnee"],
            &["-rA", "inet6"],
            &["-rn6"],
            &["-rn", "-A", "inet,inet6"],
            &["--route", "--numeric", "-F"],
        ],
    );
}

#[test]
fn groups_match_netstat() {
    check_all(
        "group memberships",
        &[&["-g"], &["-gn"], &["-g4"], &["-gn6"], &["-gtn"]],
    );
}

#[test]
fn statistics_match_netstat() {
    check_all(
        "statistics",
        &[
            &["-s"],
            &["-st"],
            &["-su"],
            &["-sw"],
            &["-stu"],
            &["-s6"],
            &["-s", "-A", "inet6", "-t"],
        ],
    );
}

/// `-s --json`: one object whose sections are the titles `netstat -s` prints, each an object
/// of counters; Tcp's MaxConn keeps its sign.
#[test]
fn statistics_json() {
    let Some(bed) = testbed() else { return };
    let json = sockwatch(bed.ns(), &["-s", "--json"]);
    assert!(json.success(), "{}", json.stderr());
    let value: Value = serde_json::from_str(&json.stdout())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", json.stdout()));
    let object = value.as_object().expect("a JSON object");
    let text = netstat(bed.ns(), &["-s"]).stdout();
    let mut titles: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with(' '))
        .map(|line| line.trim_end_matches(':'))
        .collect();
    assert_eq!(value["schema_version"], 1);
    let mut sections: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| *key != "schema_version")
        .collect();
    titles.sort_unstable();
    sections.sort_unstable();
    assert_eq!(sections, titles);
    assert_eq!(value["Tcp"]["MaxConn"], -1);
    assert!(object
        .iter()
        .all(|(key, section)| key == "schema_version" || section.is_object()));
}

/// -c reprints the listing every second until SIGINT; the interface table's title comes once.
#[test]
fn continuous_until_interrupted() {
    let Some(bed) = testbed() else { return };
    let mut command = bed.ns().command(sockwatch_bin());
    let mut child = with_default_signals(&mut command)
        .args(["netstat", "-ic"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sockwatch starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut heads = 0;
    let mut titles = 0;
    while heads < 3 {
        let Some(Ok(line)) = lines.next() else { break };
        heads += usize::from(line.starts_with("Iface "));
        titles += usize::from(line == "Kernel Interface table");
    }
    // `ip netns exec` passes the signal's target through: signal sockwatch itself.
    let pid = sockwatch_pid(child.id()).expect("sockwatch runs under ip netns exec");
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = child.wait().expect("sockwatch ends");
    assert_eq!((heads, titles), (3, 1), "three listings, one title");
    assert!(
        !status.success(),
        "ended by SIGINT, not by itself: {status}"
    );
}

/// `ip netns exec` execs its program in place, so the child's pid is sockwatch's.
fn sockwatch_pid(child: u32) -> Option<i32> {
    let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
    (comm.trim() == "sockwatch").then_some(child as i32)
}

/// Options for parts of netstat sockwatch does not have, and bad options: exit 1, nothing on
/// stdout, one line on stderr.
#[test]
fn unsupported_and_bad_options_are_one_line_errors() {
    let Some(bed) = testbed() else { return };
    let sets: &[&[&str]] = &[
        &["-M"],
        &["-rC"],
        &["-A", "ipx"],
        &["--ax25"],
        &["--netrom"],
        &["-A", "appletalk"],
        &["-U"],
        &["--bogus"],
        &["-A", "nosuchfamily"],
        &["-ri"],
        &["-s", "-A", "unix"],
        &["--json"],
    ];
    let failures: Vec<String> = sets
        .iter()
        .filter_map(|args| {
            let run = sockwatch(bed.ns(), args);
            let stderr = run.stderr();
            let ok = run.output.status.code() == Some(1)
                && run.output.stdout.is_empty()
                && stderr.lines().count() == 1;
            (!ok).then(|| {
                format!(
                    "`{}`: {:?}, stdout {:?}, stderr {stderr:?}",
                    run.command_line,
                    run.output.status,
                    run.stdout()
                )
            })
        })
        .collect();
    assert_all_passed("rejected option sets", sets.len(), &failures);
}

/// As an unprivileged user, `-p` warns on stderr in net-tools' own words: "(No info could
/// be read ...)" when no process of the user holds a socket, "(Not all processes could be
/// identified ...)" when one does.
#[test]
fn programs_as_an_unprivileged_user_warn_like_netstat() {
    let Some(bed) = testbed() else { return };
    const NOBODY: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    let stderr_of = |program: &str, args: &[&str]| {
        let mut command = bed.ns().command("setpriv");
        command.args(NOBODY).arg(program).args(args);
        let output = command.output().expect("run setpriv");
        assert!(output.status.success(), "{program} {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let sockwatch_bin = sockwatch_bin();
    let sockwatch_bin = sockwatch_bin.to_str().expect("UTF-8 path");
    let compare = |case: &str| {
        for args in [&["-tanp"][..], &["-tulnp"], &["-xap"]] {
            let mut own_args = vec!["netstat"];
            own_args.extend_from_slice(args);
            let want = stderr_of("netstat", args);
            let got = stderr_of(sockwatch_bin, &own_args);
            assert!(
                !want.is_empty(),
                "{case}: netstat {args:?} printed no warning"
            );
            assert_eq!(got, want, "{case}: netstat {args:?}");
        }
    };
    compare("no socket of nobody's");

    let mut holder = bed
        .ns()
        .command("setpriv")
        .args(NOBODY)
        .args([
            // Not through PATH: root's may hold shims nobody cannot run.
            "/usr/bin/python3",
            "-c",
            "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint('ready',flush=True)\nsys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("a socket held by nobody");
    let mut ready = String::new();
    BufReader::new(holder.stdout.as_mut().expect("stdout"))
        .read_line(&mut ready)
        .expect("holder ready");
    assert_eq!(ready.trim(), "ready");
    compare("a socket of nobody's");
    drop(holder.stdin.take());
    let _ = holder.wait();
}

#[test]
fn templates_mask_only_moving_numbers() {
    let t = template("a 1 x\nb (5.00/0/0)\n", "a 2 x\nb (4.99/0/0)\n").expect("same shape");
    assert!(matches(&t, "a   7 x\nb (3.10/0/0)\n"));
    assert!(!matches(&t, "a 7 y\nb (3.10/0/0)\n"));
    assert!(!matches(&t, "a 7 x\n"));
    assert!(template("a 1\n", "a 1\nb\n").is_none());
    assert!(template("a 1\n", "a x\n").is_none());
    let fixed = template("c 3\n", "c 3\n").expect("same");
    assert!(!matches(&fixed, "c 4\n"));
}
