//! BENCHMARKS.md: the machine, the date, the command, the targets and every table.

use std::{fmt::Write, process::Command, time::Duration};

use super::{peers::Peers, table::Table, Plan, Target};

/// What the figures were measured on.
pub struct Machine {
    pub date: String,
    pub cpus: String,
    pub memory: String,
    pub kernel: String,
    pub load: String,
    pub versions: String,
}

impl Machine {
    pub fn describe(peers: &Peers) -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map_or("unknown model", |(_, m)| m.trim())
            .to_string();
        let count = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let memory_kib: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let load = read("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        let ss = first_line(&peers.ss.to_string_lossy(), &["-V"]);
        let libbpf_tools = first_line("dpkg-query", &["-W", "-f", "${Version}", "libbpf-tools"]);
        let commit = first_line("git", &["rev-parse", "--short", "HEAD"]);
        let dirty =
            !first_line("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
        Machine {
            date: first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            cpus: format!("{count} × {model}"),
            memory: format!("{:.1} GiB", memory_kib / 1024.0 / 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            load,
            versions: format!(
                "sockwatch {commit}{}; {ss}; libbpf-tools {}",
                if dirty { " (uncommitted changes)" } else { "" },
                if libbpf_tools.is_empty() {
                    "not installed"
                } else {
                    &libbpf_tools
                }
            ),
        }
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first line a command prints, or "" when it cannot run.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(crate::cargo::workspace_root())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

pub fn targets_markdown(targets: &[Target], quick: bool) -> String {
    let mut out = String::from("### Targets\n\n");
    if quick {
        out.push_str("(quick run: sizes too small and runs too short to judge these)\n\n");
    }
    out.push_str("| claim | measured | met |\n|---|---|---|\n");
    for target in targets {
        let met = match target.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(out, "| {} | {} | {met} |", target.claim, target.measured);
    }
    out
}

/// Marks the end of the generated part of BENCHMARKS.md: what follows is written by hand
/// (analysis, profiles) and kept when the file is written again.
pub const NOTES_MARKER: &str =
    "<!-- Written by hand below this line; `cargo xtask bench` keeps it. -->";

/// The hand-written part of an existing BENCHMARKS.md, marker included.
pub fn kept_notes(existing: &str) -> Option<&str> {
    existing.find(NOTES_MARKER).map(|at| &existing[at..])
}

pub fn document(
    plan: &Plan,
    machine: &Machine,
    targets: &[Target],
    tables: &[Table],
    elapsed: Duration,
    problems: &[String],
    notes: Option<&str>,
) -> String {
    let mut out = String::from("# Benchmarks\n\n");
    let _ = write!(
        out,
        "Written by `cargo xtask bench` (as root; {:.0} minutes here). Reproduce with:\n\n\
         ```sh\ncargo xtask bench          # this file\ncargo xtask bench --quick  # every scenario small, checks the harness, judges no timing\n```\n\n",
        elapsed.as_secs_f64() / 60.0
    );
    let _ = write!(
        out,
        "- Date: {}\n- Machine: {}, {} memory, Linux {}; load average at the start {} \
         (a shared machine: absolute figures are noisy, ratios less so)\n- Versions: {}\n\n",
        machine.date, machine.cpus, machine.memory, machine.kernel, machine.load, machine.versions
    );
    out.push_str(&targets_markdown(targets, plan.quick));
    if !problems.is_empty() {
        out.push_str("\nProblems found by the run:\n\n");
        for problem in problems {
            let _ = writeln!(out, "- {}", problem.replace('\n', " "));
        }
    }
    let _ = write!(
        out,
        "\n## Method\n\n\
         - All load runs inside network namespaces the bench creates (`ip netns add`), so ss, \
         netstat and sockwatch see only the bench's sockets; tools are started inside them by \
         setns(2) between fork and exec (no `ip netns exec` in between).\n\
         - Held connections: `tcphold` (tests/src/bin) spreads them over worker processes of at \
         most 9,000 connections (both ends live in the namespace: two sockets each), worker i \
         listening on 127.0.0.(i+1); the namespace's ip_local_port_range is 1024-65535.\n\
         - Churn: `tcpchurn` (tests/src/bin), 2 client threads connect, send a byte, read it back \
         and close, for a fixed time. Each run, traced or not, gets a namespace of its own, \
         deleted after it, and the next run waits until the system's TIME-WAIT socket count \
         stops falling (the kernel's teardown of the old namespace): a loop leaves tens of \
         thousands of TIME-WAIT sockets, which slow the next run's connects in a shared \
         namespace. The rate targets are the median of the per-repetition ratios (each traced \
         run over the untraced run of the same repetition, the row `/ untraced of the same \
         repetition`), which a machine's drift between repetitions does not skew. The tracer \
         CPU rows include each tracer's start-up (for sockwatch, loading its programs: about \
         0.5 s).\n\
         - Every scenario runs each tool {} times, the tools alternating in rotated order within \
         each repetition. Cells are `min / median`; ratio columns are `ratio of minimums / ratio \
         of medians`.\n\
         - Every tool runs under `rusage` (tests/src/bin), a small launcher that reports the \
         tool's wall time (spawn to reap), CPU time and peak RSS from wait4(2): forked straight \
         from the bench, a tool's ru_maxrss would include the bench's own memory. The launcher \
         puts a floor of about 1 MiB under the RSS figures. Standard output goes to a pipe that \
         the bench drains in 64 KiB reads, counting lines, in optimized code (the same sink for \
         every tool; unoptimized, the count took half a core at `follow --json`'s ~100 MB/s).\n\
         - Tracers are stopped with SIGINT. Lost events: sockwatch's summary line \
         (`sockwatch follow: N events, M lost, K sockets seen`); tcpstates and tcplife print \
         `lost N events on CPU #C` on standard error. sockwatch follow watches its own \
         namespace (it runs in the bench's); tcpstates and tcplife watch every namespace.\n\
         - A tracer is ready when sockwatch prints `attached`, or, for the libbpf tools, when \
         their attach link and perf buffer epoll set exist (plus 50 ms).\n\
         - Memory with live sockets: sockwatch follow lists the sockets that exist when it \
         starts (sock_diag, owners from /proc) into its live table, so the first row has \
         every socket from the start; the second has the sockets established while it runs.\n\
         - First event: a probe connects to a listener of its own in the namespace every 5 ms, \
         from before the tracer starts; the figure is the time from the tracer's spawn to the \
         first line on its standard output naming the probe's port. tcpstates and tcplife run \
         under `stdbuf -oL` there (as on a terminal: stdio would hold lines back in a pipe); \
         sockwatch writes each batch as it reads it.\n\n## Results\n\n",
        plan.repetitions
    );
    for table in tables {
        out.push_str(&table.markdown());
        out.push('\n');
    }
    out.push_str(notes.unwrap_or(NOTES_MARKER));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_hand_written_notes() {
        let existing = format!("# Benchmarks\nold tables\n{NOTES_MARKER}\n## Notes\nkept\n");
        assert_eq!(
            kept_notes(&existing),
            Some(format!("{NOTES_MARKER}\n## Notes\nkept\n").as_str())
        );
        assert_eq!(kept_notes("# Benchmarks\n"), None);
    }
}
