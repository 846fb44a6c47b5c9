//! End-to-end: `sockwatch serve` in a namespace the test makes, running as an unprivileged
//! user that holds only the capabilities deploy/sockwatch.service grants, scraped by a real
//! Prometheus (Debian's `prometheus` package, with `promtool`) started in the same namespace.
//! Under CI=true a test that cannot run fails.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, ChildStderr, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant, SystemTime},
};

use serde_json::Value;
use sockwatch_tests::process;
use sockwatch_tests::{
    follow_run::FollowRun, privilege::can_run_namespace_tests, process::spawn_ready, sockwatch_bin,
    NetNs, VethLink,
};

const SERVE_PORT: u16 = 9464;
const PROMETHEUS_PORT: u16 = 9090;
const UNIT_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/sockwatch.service");

/// The capabilities the systemd unit grants, as setpriv spells them (`+bpf,+perfmon,...`).
fn unit_capabilities() -> String {
    let unit = std::fs::read_to_string(UNIT_FILE).expect("read deploy/sockwatch.service");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .expect("the unit names its AmbientCapabilities");
    line.split_whitespace()
        .map(|cap| format!("+{}", cap.trim_start_matches("CAP_").to_lowercase()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Programs these tests need besides the harness's own.
fn require_programs(programs: &[&str]) -> bool {
    if !can_run_namespace_tests() {
        return false;
    }
    for program in programs {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{program} is not installed (`cargo xtask test` installs it with apt-get)"
        );
    }
    true
}

/// `program` inside the namespace through nsenter, not `ip netns exec`, which mounts a fresh
/// /sys without the cgroup hierarchies: sockwatch sees the host's, as a service does.
fn in_namespace(ns: &NetNs, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--net=/run/netns/{}", ns.name()))
        .arg(program);
    command
}

/// A running `sockwatch serve` as user nobody with only the unit's capabilities; killed and
/// reaped if the test ends early.
struct Serve {
    child: Child,
    stderr: BufReader<ChildStderr>,
}

impl Serve {
    fn start(ns: &NetNs, args: &[&str]) -> Serve {
        let caps = unit_capabilities();
        let mut child = in_namespace(ns, "setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(format!("--inh-caps=-all,{caps}"))
            .arg(format!("--ambient-caps=-all,{caps}"))
            .arg(format!("--bounding-set=-all,{caps}"))
            .arg(sockwatch_bin())
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockwatch serve under setpriv");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut serve = Serve { child, stderr };
        let mut line = String::new();
        loop {
            line.clear();
            let n = serve
                .stderr
                .read_line(&mut line)
                .expect("read serve's stderr");
            assert!(n > 0, "sockwatch serve exited before listening");
            if line.contains("listening on") {
                return serve;
            }
            assert!(!line.starts_with("sockwatch:"), "serve failed: {line}");
            // The unit's capabilities attach every hook: no feature said to be missing.
            assert!(!line.contains("unavailable"), "serve degraded: {line}");
        }
    }

    /// Sends SIGTERM and checks serve ends, successfully, within a second.
    fn terminate_within_a_second(mut self) -> String {
        let sent = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for serve") {
                break status;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(5),
                "serve still running 5 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = sent.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "serve took {took:?} to end after SIGTERM"
        );
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        assert!(status.success(), "serve exit status {status:?}: {rest}");
        rest
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl` inside the namespace: the status code and the body.
fn http_get(ns: &NetNs, url: &str, extra: &[&str]) -> (u16, String) {
    let output = ns
        .command("curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn scrape(ns: &NetNs) -> String {
    let (code, body) = http_get(ns, &format!("http://127.0.0.1:{SERVE_PORT}/metrics"), &[]);
    assert_eq!(code, 200, "{body}");
    body
}

/// Sample lines of one metric in a scrape: labels text -> value.
fn samples(scrape: &str, metric: &str) -> BTreeMap<String, f64> {
    scrape
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?.strip_prefix('{')?;
            let (labels, value) = rest.rsplit_once("} ")?;
            Some((labels.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("start the command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        // Tests run on several threads: each directory is its own.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prometheus in the namespace, scraping serve every second; killed on drop.
struct Prometheus {
    child: Child,
    _dir: TempDir,
}

impl Prometheus {
    fn start(ns: &NetNs) -> Prometheus {
        Prometheus::start_with(
            ns,
            &format!(
                "scrape_configs:\n  - job_name: sockwatch\n    static_configs:\n      - targets: ['127.0.0.1:{SERVE_PORT}']\n"
            ),
        )
    }

    /// Prometheus with these `scrape_configs` (of a job named sockwatch), scraping every
    /// second unless they say otherwise.
    fn start_with(ns: &NetNs, scrape_configs: &str) -> Prometheus {
        let dir = TempDir::new("sw-prometheus");
        let config = dir.0.join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{scrape_configs}"),
        )
        .expect("write prometheus.yml");
        let child = ns
            .command("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus { child, _dir: dir };
        let started = Instant::now();
        // Up once serve has been scraped successfully.
        loop {
            let up = prometheus.query(ns, "up{job=\"sockwatch\"}");
            if up.first().is_some_and(|s| s["value"][1] == "1") {
                return prometheus;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Prometheus did not scrape serve within 60 s: {up:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The result list of an instant query (empty while Prometheus starts).
    fn query(&self, ns: &NetNs, expr: &str) -> Vec<Value> {
        let url = format!("http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query");
        let (code, body) = http_get(
            ns,
            &url,
            &["-G", "--data-urlencode", &format!("query={expr}")],
        );
        if code != 200 {
            return Vec::new();
        }
        let answer: Value = serde_json::from_str(&body).expect("Prometheus answers JSON");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// The raw samples Prometheus stored for each series of `selector` in the last minute
/// (a range selector returns the samples as scraped: no rate, no extrapolation), keeping only
/// those scraped after `after` (unix seconds).
fn raw_samples_after(
    prometheus: &Prometheus,
    ns: &NetNs,
    selector: &str,
    after: f64,
) -> Vec<(BTreeMap<String, String>, Vec<f64>)> {
    prometheus
        .query(ns, &format!("{selector}[1m]"))
        .iter()
        .map(|series| {
            let labels = series["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let values = series["values"]
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .filter(|v| v[0].as_f64().is_some_and(|t| t > after))
                        .filter_map(|v| v[1].as_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            (labels, values)
        })
        .collect()
}

/// Waits until every series of `selector` has at least two samples scraped after `after`,
/// then returns the newest value of each, keyed by the labels named in `keys`.
fn settled_counters(
    prometheus: &Prometheus,
    ns: &NetNs,
    selector: &str,
    after: f64,
    keys: &[&str],
) -> BTreeMap<Vec<String>, f64> {
    let started = Instant::now();
    loop {
        let series = raw_samples_after(prometheus, ns, selector, after);
        if !series.is_empty() && series.iter().all(|(_, values)| values.len() >= 2) {
            return series
                .into_iter()
                .map(|(labels, values)| {
                    // Nothing moves after the churn: every later sample is the same.
                    assert!(
                        values.windows(2).all(|w| w[0] == w[1]),
                        "{selector} {labels:?} still moving after the churn: {values:?}"
                    );
                    let key = keys
                        .iter()
                        .map(|k| labels.get(*k).cloned().unwrap_or_default())
                        .collect();
                    (key, values[values.len() - 1])
                })
                .collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no settled samples of {selector} after 30 s: {series:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn churn(ns: &NetNs, connections: u32, port: u16) {
    process::churn(ns, env!("CARGO_BIN_EXE_tcpchurn"), connections, port, &[]);
}

#[test]
fn prometheus_sees_a_known_churn_by_process_with_exact_counts() {
    if !require_programs(&["prometheus", "promtool", "curl", "setpriv", "nsenter"]) {
        return;
    }
    const CONNECTIONS: u32 = 300;
    const REFUSED: u32 = 4;
    let ns = NetNs::create();
    let serve = Serve::start(&ns, &["--listen", &format!("127.0.0.1:{SERVE_PORT}")]);
    let prometheus = Prometheus::start(&ns);

    // /events: a reader that joins before the churn sees the start line, then its events.
    let mut events = ns
        .command("curl")
        .args(["-sN", "-m", "6"])
        .arg(format!("http://127.0.0.1:{SERVE_PORT}/events"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start curl on /events");
    // follow --lifetime over the same period: its lines must agree with the counters.
    let lifetime = FollowRun::start_with(
        in_namespace(&ns, sockwatch_bin()),
        &["--lifetime", "--json"],
    );
    std::thread::sleep(Duration::from_millis(500));

    churn(&ns, CONNECTIONS, 7101);
    // curl under a name of its own (a process is named after the file it runs), so that
    // only these attempts count under it. Nothing listens on port 1: each is refused
    // (SYN_SENT -> CLOSE).
    let bin = TempDir::new("sw-serve-bin");
    let refuser = bin.0.join("refuser");
    std::os::unix::fs::symlink("/usr/bin/curl", &refuser).expect("symlink curl");
    for _ in 0..REFUSED {
        let status = ns
            .command(&refuser)
            .args(["-s", "http://127.0.0.1:1/"])
            .status()
            .expect("run curl as refuser");
        assert!(!status.success());
    }
    let churn_ended = unix_now();

    let by_direction = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_connections_opened_total{process=\"tcpchurn\"}",
        churn_ended,
        &["direction", "netns", "container"],
    );
    let expected: BTreeMap<Vec<String>, f64> = ["accept", "connect"]
        .into_iter()
        .map(|d| {
            (
                vec![d.to_string(), ns.name().to_string(), String::new()],
                f64::from(CONNECTIONS),
            )
        })
        .collect();
    assert_eq!(by_direction, expected);

    let closed = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_connections_closed_total{process=\"tcpchurn\"}",
        churn_ended,
        &["direction", "reason"],
    );
    for direction in ["accept", "connect"] {
        let ended: f64 = closed
            .iter()
            .filter(|(key, _)| key[0] == direction)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(ended, f64::from(CONNECTIONS), "{direction}: {closed:?}");
    }
    assert!(
        closed.keys().all(|key| key[1] != "unknown"),
        "every hook is attached here: {closed:?}"
    );

    // Each refused attempt counts as a failed connect, refused.
    let failed = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_connections_failed_total{process=\"refuser\"}",
        churn_ended,
        &["direction", "reason"],
    );
    assert_eq!(
        failed,
        BTreeMap::from([(
            vec!["connect".to_string(), "refused".to_string()],
            f64::from(REFUSED)
        )])
    );
    let lost = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_events_lost_total",
        churn_ended,
        &["stage"],
    );
    assert!(lost.values().all(|&n| n == 0.0), "{lost:?}");

    let mut stream = String::new();
    events
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stream)
        .expect("read /events");
    let _ = events.wait();
    let lines: Vec<Value> = stream
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    assert_eq!(
        lines.first().map(|l| l["type"].clone()),
        Some("start".into())
    );
    assert_eq!(lines[0]["schema_version"], 1);
    let churn_connects = lines
        .iter()
        .filter(|l| {
            l["comm"] == "tcpchurn"
                && l["old_state"] == "SYN_SENT"
                && l["new_state"] == "ESTABLISHED"
        })
        .count();
    assert_eq!(churn_connects, CONNECTIONS as usize);

    // follow --lifetime saw the same ends for the same reasons: the churn's by direction
    // (its client's side has the server's port as peer), the refuser's attempts.
    let (lifetime, _) = lifetime.interrupt();
    let destroys: Vec<Value> = lifetime
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "destroy" && l["peer"]["port"] != 0)
        .collect();
    let mut ends: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    for line in destroys.iter().filter(|l| l["comm"] == "tcpchurn") {
        let direction = if line["peer"]["port"] == 7101 {
            "connect"
        } else {
            "accept"
        };
        let reason = line["reason"].as_str().unwrap_or("null").to_string();
        *ends.entry(vec![direction.to_string(), reason]).or_default() += 1.0;
    }
    assert_eq!(ends, closed, "follow --lifetime disagrees");
    let refused = destroys
        .iter()
        .filter(|l| l["comm"] == "refuser" && l["reason"] == "refused")
        .count();
    assert_eq!(refused, REFUSED as usize, "follow --lifetime: {destroys:?}");

    let check = run_ok(ns.command("sh").args([
        "-c",
        &format!("curl -s http://127.0.0.1:{SERVE_PORT}/metrics | promtool check metrics"),
    ]));
    assert!(!check.contains("error"), "promtool: {check}");

    drop(prometheus);
    let summary = serve.terminate_within_a_second();
    assert!(summary.contains("sockwatch serve:"), "{summary}");
}

/// The cgroup2 mount point, from this (host) mount namespace.
fn cgroup2_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2").then_some(())?;
            Some(PathBuf::from(left.split_whitespace().nth(4)?))
        })
        .expect("a cgroup2 mount")
}

/// A cgroup made by the test (with its parents), removed on drop once empty.
struct TestCgroup {
    top: PathBuf,
    leaf: PathBuf,
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let mut dir = self.leaf.clone();
        while dir.starts_with(&self.top) {
            let _ = std::fs::remove_dir(&dir);
            if !dir.pop() {
                break;
            }
        }
    }
}

const CONTAINER: &str = "5e1b0c7d9a2f4e3b8c6d1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
const POD: &str = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

/// A cgroup under the cgroup2 mount whose path looks like a Kubernetes container's
/// (cgroupfs driver): `.../kubepods/besteffort/pod<POD>/<CONTAINER>`.
fn kubernetes_like_cgroup(name: &str) -> TestCgroup {
    let top = cgroup2_mount().join(format!("sw-{name}-{}", std::process::id()));
    let leaf = top.join(format!("kubepods/besteffort/pod{POD}/{CONTAINER}"));
    std::fs::create_dir_all(&leaf).expect("make the container-like cgroup");
    TestCgroup { top, leaf }
}

/// Runs tcpchurn in the namespace from inside `cgroup`. nsenter, not `ip netns exec`: the
/// latter mounts a fresh /sys without the cgroup mounts.
fn churn_in_cgroup(ns: &NetNs, cgroup: &TestCgroup, connections: u32, port: u16) {
    run_ok(&mut in_cgroup(
        ns,
        cgroup,
        env!("CARGO_BIN_EXE_tcpchurn"),
        &format!("--connections {connections} --port {port}"),
    ));
}

/// `program args` in the namespace, started from inside `cgroup`.
fn in_cgroup(ns: &NetNs, cgroup: &TestCgroup, program: &str, args: &str) -> Command {
    let mut command = in_namespace(ns, "sh");
    command.args([
        "-c",
        &format!(
            "echo $$ > {}/cgroup.procs && exec {program} {args}",
            cgroup.leaf.display()
        ),
    ]);
    command
}

#[test]
fn a_process_in_a_kubernetes_container_cgroup_is_labelled_with_its_ids() {
    if !require_programs(&["curl", "setpriv", "nsenter"]) {
        return;
    }
    let cgroup = kubernetes_like_cgroup("serve");
    let ns = NetNs::create();
    let serve = Serve::start(&ns, &["--listen", &format!("127.0.0.1:{SERVE_PORT}")]);
    churn_in_cgroup(&ns, &cgroup, 20, 7102);
    std::thread::sleep(Duration::from_millis(300));
    let opened = samples(&scrape(&ns), "sockwatch_connections_opened_total");
    let labels = format!(
        "direction=\"connect\",process=\"tcpchurn\",container=\"{CONTAINER}\",pod_uid=\"{POD}\",netns=\"{}\"",
        ns.name()
    );
    assert_eq!(opened.get(&labels), Some(&20.0), "{opened:#?}");
    serve.terminate_within_a_second();
}

#[test]
fn follow_names_the_container_of_each_owner() {
    if !require_programs(&["nsenter"]) {
        return;
    }
    let cgroup = kubernetes_like_cgroup("follow");
    let ns = NetNs::create();
    // nsenter: follow sees the cgroup2 hierarchy (see Serve::start).
    let follow = FollowRun::start_with(
        in_namespace(&ns, sockwatch_bin()),
        &["--lifetime", "--json", "--container"],
    );
    churn_in_cgroup(&ns, &cgroup, 5, 7103);
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, _) = follow.interrupt();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .filter(|l: &Value| l["comm"] == "tcpchurn")
        .collect();
    // 5 connections, both ends, and the listener.
    assert!(lines.len() >= 10, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["container_id"], CONTAINER, "{line}");
        assert_eq!(line["pod_uid"], POD, "{line}");
        assert_eq!(line["netns_name"], ns.name(), "{line}");
        assert!(
            line["cgroup_path"]
                .as_str()
                .is_some_and(|p| p.ends_with(&format!("/kubepods/besteffort/pod{POD}/{CONTAINER}"))),
            "{line}"
        );
    }
}

#[test]
fn two_thousand_process_names_stay_under_the_label_cap() {
    if !require_programs(&["curl", "setpriv", "nsenter"]) {
        return;
    }
    const PROCESSES: u32 = 2000;
    const CAP: usize = 50;
    let ns = NetNs::create();
    let serve = Serve::start(
        &ns,
        &[
            "--listen",
            &format!("127.0.0.1:{SERVE_PORT}"),
            "--max-label-values",
            &CAP.to_string(),
        ],
    );
    run_ok(
        ns.command(env!("CARGO_BIN_EXE_namedconns"))
            .args([&PROCESSES.to_string(), "nc"]),
    );
    std::thread::sleep(Duration::from_millis(300));
    let opened = samples(&scrape(&ns), "sockwatch_connections_opened_total");
    let process = |labels: &str| {
        labels
            .split("process=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let names: BTreeSet<String> = opened.keys().map(|l| process(l)).collect();
    let admitted = names
        .iter()
        .filter(|n| !n.is_empty() && *n != "other")
        .count();
    assert!(admitted <= CAP, "{admitted} process values: {names:?}");
    assert!(names.contains("other"), "{names:?}");
    // Every connection is still counted: under its own name or under `other`.
    let connects: f64 = opened
        .iter()
        .filter(|(labels, _)| labels.starts_with("direction=\"connect\""))
        .filter(|(labels, _)| {
            let name = process(labels);
            name == "other" || name.starts_with("nc")
        })
        .map(|(_, n)| n)
        .sum();
    // The scrape's own connection may land under `other` too.
    assert!(
        connects == f64::from(PROCESSES) || connects == f64::from(PROCESSES + 1),
        "{connects} connections counted"
    );
    serve.terminate_within_a_second();
}

#[test]
fn beyond_loopback_events_are_off_and_a_token_is_required() {
    if !require_programs(&["prometheus", "curl", "setpriv", "nsenter"]) {
        return;
    }
    let ns = NetNs::with_veth();
    let dir = TempDir::new("sw-serve-token");
    let token_file = dir.0.join("token");
    std::fs::write(&token_file, "s3cret-token\n").expect("write token");
    let address = "10.200.0.1";
    let serve = Serve::start(
        &ns,
        &[
            "--listen",
            &format!("{address}:{SERVE_PORT}"),
            "--token-file",
            &token_file.display().to_string(),
        ],
    );
    let url = |path: &str| format!("http://{address}:{SERVE_PORT}{path}");
    let bearer = ["-H", "Authorization: Bearer s3cret-token"];
    assert_eq!(http_get(&ns, &url("/healthz"), &[]).0, 200);
    assert_eq!(http_get(&ns, &url("/metrics"), &[]).0, 401);
    assert_eq!(
        http_get(
            &ns,
            &url("/metrics"),
            &["-H", "Authorization: Bearer wrong"]
        )
        .0,
        401
    );
    let (code, body) = http_get(&ns, &url("/metrics"), &bearer);
    assert_eq!(code, 200);
    assert!(body.contains("sockwatch_events_total"), "{body}");
    assert_eq!(http_get(&ns, &url("/events"), &bearer).0, 404);
    assert_eq!(http_get(&ns, &url("/metrics"), &["-X", "POST"]).0, 405);
    // The README's scrape configuration, pointed at this serve and this token, scrapes it
    // (Prometheus::start_with waits until it is up).
    let scrape_configs = readme_block("yaml")
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace(
            "/etc/prometheus/sockwatch-token",
            &token_file.display().to_string(),
        )
        .replace(
            "['host-a:9464', 'host-b:9464']",
            &format!("['{address}:{SERVE_PORT}']"),
        );
    assert!(scrape_configs.contains(&token_file.display().to_string()));
    drop(Prometheus::start_with(&ns, &scrape_configs));
    serve.terminate_within_a_second();
    assert!(Path::new(&token_file).exists());
}

/// Connects to serve from a thread that joins the namespace, asks for /events and then never
/// reads: a stuck log shipper.
fn stuck_events_reader(ns: &NetNs) -> std::net::TcpStream {
    let path = format!("/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        use std::{io::Write, os::fd::AsRawFd};
        let netns = std::fs::File::open(&path).expect("open the namespace");
        // SAFETY: setns on this thread only, with a namespace file we hold open.
        let joined = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(joined, 0, "setns: {}", std::io::Error::last_os_error());
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", SERVE_PORT)).expect("connect to serve");
        stream
            .write_all(b"GET /events HTTP/1.1\r\nHost: serve\r\n\r\n")
            .expect("send the request");
        stream
    })
    .join()
    .expect("reader thread")
}

#[test]
fn a_stuck_events_reader_loses_lines_but_stalls_nothing() {
    if !require_programs(&["curl", "setpriv", "nsenter"]) {
        return;
    }
    const CONNECTIONS: u32 = 4000;
    let ns = NetNs::create();
    let serve = Serve::start(&ns, &["--listen", &format!("127.0.0.1:{SERVE_PORT}")]);
    let _reader = stuck_events_reader(&ns);
    std::thread::sleep(Duration::from_millis(300));
    churn(&ns, CONNECTIONS, 7104);
    std::thread::sleep(Duration::from_millis(500));
    let metrics = scrape(&ns);
    let opened = samples(&metrics, "sockwatch_connections_opened_total");
    let churned: f64 = opened
        .iter()
        .filter(|(labels, _)| labels.contains("process=\"tcpchurn\""))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(churned, f64::from(2 * CONNECTIONS), "{opened:#?}");
    let lost = samples(&metrics, "sockwatch_events_lost_total");
    assert_eq!(lost.get("stage=\"kernel\""), Some(&0.0), "{lost:?}");
    assert!(
        lost.get("stage=\"events_client\"")
            .is_some_and(|&n| n > 0.0),
        "{lost:?}"
    );
    serve.terminate_within_a_second();
}

/// Polls serve's /metrics until `done` holds for the samples of `metric`, for at most 10 s;
/// returns the last samples either way (the caller asserts on them).
fn scrape_until(
    ns: &NetNs,
    metric: &str,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let started = Instant::now();
    loop {
        let found = samples(&scrape(ns), metric);
        if done(&found) || started.elapsed() > Duration::from_secs(10) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sum of the samples whose labels hold every one of `labels` (`name="value"` each).
fn sum_where(found: &BTreeMap<String, f64>, labels: &[&str]) -> f64 {
    found
        .iter()
        .filter(|(text, _)| labels.iter().all(|l| text.contains(l)))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn a_state_filter_counts_the_ends_of_the_connections_it_admitted() {
    if !require_programs(&["curl", "setpriv", "nsenter"]) {
        return;
    }
    const CONNECTIONS: u32 = 50;
    let ns = NetNs::create();
    // Every connection passes through ESTABLISHED, then leaves it before its end: each is
    // admitted, and its close must be counted though its last states no longer match.
    let serve = Serve::start(
        &ns,
        &[
            "--listen",
            &format!("127.0.0.1:{SERVE_PORT}"),
            "state",
            "established",
            "( sport = :7105 or dport = :7105 )",
        ],
    );
    churn(&ns, CONNECTIONS, 7105);
    let closed = scrape_until(&ns, "sockwatch_connections_closed_total", |found| {
        sum_where(found, &[]) >= f64::from(2 * CONNECTIONS)
    });
    let opened = samples(&scrape(&ns), "sockwatch_connections_opened_total");
    for direction in ["connect", "accept"] {
        // The accepted side is its listener's owner's, though the filter leaves LISTEN out.
        let direction = format!("direction=\"{direction}\"");
        let labels = [direction.as_str(), "process=\"tcpchurn\""];
        assert_eq!(
            sum_where(&opened, &labels),
            f64::from(CONNECTIONS),
            "{opened:#?}"
        );
        assert_eq!(
            sum_where(&closed, &labels),
            f64::from(CONNECTIONS),
            "closes hidden by the filter: {closed:#?}"
        );
    }
    serve.terminate_within_a_second();
}

/// Counters of the namespace as nstat reads them (absolute values), by name.
fn nstat(ns: &NetNs, names: &[&str]) -> BTreeMap<String, f64> {
    let text = run_ok(ns.command("nstat").arg("-saz").args(names));
    let found: BTreeMap<String, f64> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            Some((name.to_string(), words.next()?.parse().ok()?))
        })
        .collect();
    for name in names {
        assert!(found.contains_key(*name), "nstat has no {name}: {text}");
    }
    found
}

/// How much each of `names` rose between two nstat readings.
fn risen(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, name: &str) -> f64 {
    after[name] - before[name]
}

/// `tcpend ARGS` in the namespace, from inside `cgroup`.
fn tcpend_in_cgroup(ns: &NetNs, cgroup: &TestCgroup, args: &str) -> Command {
    in_cgroup(ns, cgroup, env!("CARGO_BIN_EXE_tcpend"), args)
}

/// The (comm, container_id) of a follow JSON line, as serve's process and container labels.
fn owner_key(line: &Value) -> Vec<String> {
    ["comm", "container_id"]
        .iter()
        .map(|key| line[*key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The issue's "done when", as the README's fleet section tells it: Prometheus scrapes serve
/// (the unit's capabilities) and shows connections, failures and retransmits by process and
/// container with the numbers follow --lifetime gives over the same period, and the
/// retransmits the kernel's own counter gives.
#[test]
fn retransmits_over_a_link_set_down_count_as_the_kernel_and_follow_lifetime_count_them() {
    if !require_programs(&["prometheus", "curl", "setpriv", "nsenter", "nstat"]) {
        return;
    }
    const REFUSED: u32 = 2;
    let link = VethLink::new();
    let cgroup = kubernetes_like_cgroup("retrans");
    let serve = Serve::start(
        &link.near,
        &["--listen", &format!("127.0.0.1:{SERVE_PORT}")],
    );
    let prometheus = Prometheus::start(&link.near);
    let lifetime = FollowRun::start_with(
        in_namespace(&link.near, sockwatch_bin()),
        &["--lifetime", "--json", "--container"],
    );
    let before = nstat(&link.near, &["TcpRetransSegs"]);

    let mut sink = spawn_ready(link.far.command(env!("CARGO_BIN_EXE_tcpend")).args([
        "sink",
        VethLink::FAR_ADDR,
        "7106",
    ]));
    // The sender runs in a container's cgroup: its retransmits carry the container's labels.
    let mut sender = tcpend_in_cgroup(
        &link.near,
        &cgroup,
        &format!("send {} 7106", VethLink::FAR_ADDR),
    )
    .stdout(Stdio::null())
    .spawn()
    .expect("start tcpend send");
    std::thread::sleep(Duration::from_millis(300));
    link.set_far_end(false);
    std::thread::sleep(Duration::from_millis(1500));
    link.set_far_end(true);
    assert!(sender.wait().expect("wait for the sender").success());
    assert!(sink.child.wait().expect("wait for the sink").success());
    // Connects from the same container that nothing answers: failures by container.
    for _ in 0..REFUSED {
        run_ok(&mut tcpend_in_cgroup(
            &link.near,
            &cgroup,
            "refused 127.0.0.1 9",
        ));
    }
    let after = nstat(&link.near, &["TcpRetransSegs"]);
    let kernel = risen(&before, &after, "TcpRetransSegs");
    assert!(
        kernel >= 1.0,
        "the kernel retransmitted nothing: {before:?} {after:?}"
    );
    let ended = unix_now();

    let counted = settled_counters(
        &prometheus,
        &link.near,
        "sockwatch_retransmits_total",
        ended,
        &["process", "container", "pod_uid", "netns"],
    );
    // follow --lifetime over the same period: the sender's end carries the same total, under
    // the same process and container; its close is counted under the same reason.
    let (lifetime, _) = lifetime.interrupt();
    let ends: Vec<Value> = lifetime
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "destroy" && l["comm"] == "tcpend" && l["peer"]["port"] == 7106)
        .collect();
    assert_eq!(ends.len(), 1, "{lifetime}");
    let mut retransmits: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    let mut closes: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    for end in &ends {
        *retransmits.entry(owner_key(end)).or_default() +=
            end["total_retrans"].as_f64().unwrap_or(0.0);
        let mut key = owner_key(end);
        key.push(end["reason"].as_str().unwrap_or("null").to_string());
        *closes.entry(key).or_default() += 1.0;
    }
    // The socket's own total at its end is the kernel's count.
    assert_eq!(
        retransmits,
        BTreeMap::from([(vec!["tcpend".to_string(), CONTAINER.to_string()], kernel)]),
        "follow --lifetime's total_retrans disagrees with nstat"
    );
    let expected = BTreeMap::from([(
        vec![
            "tcpend".to_string(),
            CONTAINER.to_string(),
            POD.to_string(),
            link.near.name().to_string(),
        ],
        kernel,
    )]);
    // Only the sender retransmitted in this namespace: all of the kernel's count is its own.
    let counted: BTreeMap<Vec<String>, f64> =
        counted.into_iter().filter(|(_, n)| *n > 0.0).collect();
    assert_eq!(counted, expected, "nstat TcpRetransSegs rose by {kernel}");
    let closed = settled_counters(
        &prometheus,
        &link.near,
        "sockwatch_connections_closed_total{process=\"tcpend\"}",
        ended,
        &["process", "container", "reason"],
    );
    assert_eq!(closes, closed, "follow --lifetime disagrees on closes");
    let opened = settled_counters(
        &prometheus,
        &link.near,
        "sockwatch_connections_opened_total{process=\"tcpend\"}",
        ended,
        &["process", "container"],
    );
    let lifetime_opened: BTreeMap<Vec<String>, f64> =
        retransmits.keys().map(|key| (key.clone(), 1.0)).collect();
    assert_eq!(
        opened, lifetime_opened,
        "follow --lifetime disagrees on opens"
    );
    let failures: BTreeMap<Vec<String>, f64> = lifetime
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "destroy" && l["comm"] == "tcpend" && l["peer"]["port"] == 9)
        .fold(BTreeMap::new(), |mut by, end| {
            let mut key = owner_key(&end);
            key.push(end["reason"].as_str().unwrap_or("null").to_string());
            *by.entry(key).or_default() += 1.0;
            by
        });
    let refused = vec![
        "tcpend".to_string(),
        CONTAINER.to_string(),
        "refused".to_string(),
    ];
    assert_eq!(failures, BTreeMap::from([(refused, f64::from(REFUSED))]));
    let failed = settled_counters(
        &prometheus,
        &link.near,
        "sockwatch_connections_failed_total{process=\"tcpend\"}",
        ended,
        &["process", "container", "reason"],
    );
    assert_eq!(failures, failed, "follow --lifetime disagrees on failures");

    // The README's fleet queries, as a new user would paste them: each is valid, and the
    // retransmits one shows the sender by process and container.
    let queries = readme_queries();
    assert!(queries.len() >= 5, "{queries:?}");
    for query in &queries {
        let url = format!("http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query");
        let (code, body) = http_get(
            &link.near,
            &url,
            &["-G", "--data-urlencode", &format!("query={query}")],
        );
        assert_eq!(code, 200, "{query}: {body}");
    }
    let by_owner = queries
        .iter()
        .find(|q| q.contains("sockwatch_retransmits_total"))
        .expect("a retransmits query in the README");
    let shown = prometheus.query(&link.near, by_owner);
    assert!(
        shown
            .iter()
            .any(|series| series["metric"]["process"] == "tcpend"
                && series["metric"]["container"] == CONTAINER),
        "{by_owner}: {shown:?}"
    );

    drop(prometheus);
    serve.terminate_within_a_second();
}

/// The first `language` code block of the README's "Monitoring a fleet" section.
fn readme_block(language: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let fleet = readme
        .split("### Monitoring a fleet")
        .nth(1)
        .expect("the README has a fleet section");
    fleet
        .split(&format!("```{language}\n"))
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no {language} block in the fleet section"))
        .to_string()
}

/// The PromQL lines of the README's "Monitoring a fleet" section, comments removed.
fn readme_queries() -> Vec<String> {
    readme_block("promql")
        .lines()
        .map(|line| {
            line.split(" # ")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn listen_drops_count_as_the_kernel_counts_them() {
    if !require_programs(&["prometheus", "curl", "setpriv", "nsenter", "nstat"]) {
        return;
    }
    const CLIENTS: u32 = 4;
    let ns = NetNs::create();
    // No syncookies: a SYN at the full queue is dropped; one SYN retry: clients give up in ~3 s.
    for setting in ["net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_syn_retries=1"] {
        run_ok(ns.command("sysctl").args(["-qw", setting]));
    }
    let serve = Serve::start(&ns, &["--listen", &format!("127.0.0.1:{SERVE_PORT}")]);
    let prometheus = Prometheus::start(&ns);
    let counters = ["TcpExtListenDrops", "TcpExtListenOverflows"];
    let before = nstat(&ns, &counters);
    // A listener of backlog 0 that never accepts, and its clients.
    let output = run_ok(ns.command(env!("CARGO_BIN_EXE_tcpend")).args([
        "overflow",
        "127.0.0.1",
        &CLIENTS.to_string(),
    ]));
    let after = nstat(&ns, &counters);
    let ended = unix_now();
    let dropped = risen(&before, &after, "TcpExtListenDrops");
    let overflows = risen(&before, &after, "TcpExtListenOverflows");
    assert!(dropped >= 1.0, "the kernel dropped nothing: {output}");

    let drops = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_listen_drops_total",
        ended,
        &["reason", "process", "netns"],
    );
    // The only listener that dropped anything is tcpend's: every drop is against it.
    let total: f64 = drops.values().sum();
    assert_eq!(
        total, dropped,
        "nstat ListenDrops rose by {dropped}: {drops:?}"
    );
    for (key, n) in &drops {
        assert_eq!(key[1..], ["tcpend", ns.name()], "{drops:?}");
        assert!(*n == 0.0 || key[0] != "other", "{drops:?}");
    }
    // All of them at a full accept queue: all counted as such.
    if overflows == dropped {
        let key = vec![
            "listen-overflow".to_string(),
            "tcpend".to_string(),
            ns.name().to_string(),
        ];
        assert_eq!(drops.get(&key), Some(&dropped), "{drops:?}");
    }

    // Each client the listener never answered timed out: a failed connect, timeout.
    let timed_out: f64 = output
        .split_whitespace()
        .find_map(|w| w.strip_prefix("timed_out="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no timed_out= in {output}"));
    assert!(timed_out >= 1.0, "{output}");
    let failed = settled_counters(
        &prometheus,
        &ns,
        "sockwatch_connections_failed_total{process=\"tcpend\"}",
        ended,
        &["direction", "reason"],
    );
    assert_eq!(
        failed,
        BTreeMap::from([(
            vec!["connect".to_string(), "timeout".to_string()],
            timed_out
        )])
    );

    drop(prometheus);
    serve.terminate_within_a_second();
}

/// systemd's own check of deploy/sockwatch.service (`systemd-analyze verify`, which needs no
/// running systemd), with ExecStart pointed at the binary under test: it must say nothing.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if !require_programs(&["systemd-analyze"]) {
        return;
    }
    let unit = std::fs::read_to_string(UNIT_FILE).expect("read deploy/sockwatch.service");
    let installed = "/usr/local/bin/sockwatch";
    assert!(
        unit.contains(&format!("ExecStart={installed} serve")),
        "{unit}"
    );
    let dir = TempDir::new("sw-unit");
    let copy = dir.0.join("sockwatch.service");
    let bin = sockwatch_bin();
    std::fs::write(&copy, unit.replace(installed, &bin.display().to_string()))
        .expect("write the unit's copy");
    // --man=no: the man page is installed with the package, not here.
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // verify only warns about unknown keys: any word from it is a finding.
    assert!(output.status.success() && said.trim().is_empty(), "{said}");
}

/// deploy/daemonset.yaml parsed (python3's yaml module turns it into JSON) and checked for
/// what serve needs on a node: the same capabilities as the unit and nothing more, hostPID,
/// the node's network with every namespace, not root, and the scrape annotations naming
/// the port serve listens on.
#[test]
fn the_daemonset_has_what_serve_needs_on_a_node() {
    if !require_programs(&["python3"]) {
        return;
    }
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/daemonset.yaml");
    let json = run_ok(Command::new("python3").args([
        "-c",
        "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
        manifest,
    ]));
    let documents: Vec<Value> = serde_json::from_str(&json).expect("python3 wrote JSON");
    let daemonset = documents
        .iter()
        .find(|d| d["kind"] == "DaemonSet" && d["apiVersion"] == "apps/v1")
        .unwrap_or_else(|| panic!("no apps/v1 DaemonSet: {documents:#?}"));
    let namespace = &daemonset["metadata"]["namespace"];
    assert!(
        documents
            .iter()
            .any(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == *namespace),
        "the DaemonSet's namespace {namespace} is not made"
    );
    let spec = &daemonset["spec"];
    assert_eq!(
        spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"],
        "the selector must match the pod template"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(pod["hostNetwork"], true);
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("container args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args.first(), Some(&"serve"), "{args:?}");
    assert!(args.contains(&"--all-netns"), "{args:?}");
    let port = args
        .iter()
        .find_map(|a| a.strip_prefix("--listen="))
        .and_then(|listen| listen.rsplit(':').next())
        .expect("--listen=ADDR:PORT");
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], port);
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(
        container["ports"][0]["containerPort"].as_u64(),
        port.parse().ok()
    );
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_ne!(security["runAsUser"], 0);
    assert_ne!(security["privileged"], true);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let added: BTreeSet<String> = security["capabilities"]["add"]
        .as_array()
        .expect("capabilities to add")
        .iter()
        .filter_map(|c| Some(format!("+{}", c.as_str()?.to_lowercase())))
        .collect();
    let unit: BTreeSet<String> = unit_capabilities().split(',').map(String::from).collect();
    assert_eq!(
        added, unit,
        "the DaemonSet and the unit grant different capabilities"
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"], "/healthz",
        "{container}"
    );
}
