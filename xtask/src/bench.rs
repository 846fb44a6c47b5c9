//! `cargo xtask bench [--quick]`: every speed and memory claim of sockwatch as a ratio against
//! its peers (ss, netstat, libbpf-tools' tcpstates and tcplife), all measured in the same run,
//! on load made by the project's own generators inside network namespaces the bench creates.
//!
//! The full run writes BENCHMARKS.md; `--quick` runs every scenario small, checks that each
//! produced numbers and that sockwatch printed what ss printed, and judges no timing;
//! `--only top`, `--only first-event` and `--only churn` run one scenario and keep
//! BENCHMARKS.md.

mod follow;
mod load;
mod measure;
mod netns;
mod netstat;
pub(crate) mod peers;
mod probe;
mod report;
mod snapshot;
mod table;
mod top;
mod tracer;

use std::{path::PathBuf, time::Instant};

use crate::{
    bootstrap::{self, ensure},
    cargo,
};
use netns::BenchNs;
use table::Table;

/// The project's helper programs (tests/src/bin), built beside sockwatch.
pub struct Bins {
    pub tcphold: PathBuf,
    pub tcpchurn: PathBuf,
    pub launcher: measure::Launcher,
}

/// Sizes and lengths of one bench run.
pub struct Plan {
    pub quick: bool,
    pub repetitions: usize,
    /// Held connections for the snapshot scenario (two sockets each).
    pub snapshot_connections: Vec<u64>,
    pub churn_seconds: f64,
    /// Held connections for follow's memory scenario.
    pub live_connections: u64,
    pub live_churn_seconds: f64,
    /// Held connections for top's scenario (two sockets each).
    pub top_connections: u64,
    /// Held connections while timing follow's first event (two sockets each).
    pub first_event_connections: u64,
}

impl Plan {
    /// About 10 minutes on 2 cores.
    fn full() -> Plan {
        Plan {
            quick: false,
            repetitions: 5,
            snapshot_connections: vec![5_000, 50_000],
            churn_seconds: 10.0,
            live_connections: 50_000,
            live_churn_seconds: 2.0,
            top_connections: 5_000,
            first_event_connections: 5_000,
        }
    }

    /// Every scenario, small: well under 2 minutes.
    fn quick() -> Plan {
        Plan {
            quick: true,
            repetitions: 2,
            snapshot_connections: vec![500],
            churn_seconds: 2.0,
            live_connections: 500,
            live_churn_seconds: 0.5,
            top_connections: 250,
            first_event_connections: 500,
        }
    }
}

/// One claim, what was measured, and whether it holds (None: not measured).
pub struct Target {
    pub claim: String,
    pub measured: String,
    pub met: Option<bool>,
}

impl Target {
    pub fn new(claim: String, measured: String, met: Option<bool>) -> Target {
        Target {
            claim,
            measured,
            met,
        }
    }
}

/// What every scenario is handed: the run's plan, the load generators, a network namespace
/// of its own (deleted when the scenario ends) and the list its problems go to.
pub struct Scenario<'a> {
    pub plan: &'a Plan,
    pub bins: &'a Bins,
    pub ns: BenchNs,
    pub problems: &'a mut Vec<String>,
}

impl Scenario<'_> {
    /// `program args` in the scenario's namespace, under the measuring launcher.
    pub fn command<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: &std::path::Path,
        args: impl IntoIterator<Item = S>,
    ) -> std::process::Command {
        let mut command = self.bins.launcher.command(Some(&self.ns), program);
        command.args(args);
        command
    }
}

/// A scenario's table and the targets it judged.
pub type Outcome = Result<(Table, Vec<Target>), String>;

/// One bench run's scenarios and what they found, in the order they ran.
struct Bench<'a> {
    plan: &'a Plan,
    bins: &'a Bins,
    problems: Vec<String>,
    tables: Vec<Table>,
    targets: Vec<Target>,
}

impl Bench<'_> {
    /// Runs one scenario in a namespace named after `purpose`, prints its table and keeps
    /// its results.
    fn scenario(
        &mut self,
        purpose: &str,
        run: impl FnOnce(Scenario) -> Outcome,
    ) -> Result<(), String> {
        let (table, found) = run(Scenario {
            plan: self.plan,
            bins: self.bins,
            ns: BenchNs::create(purpose)?,
            problems: &mut self.problems,
        })?;
        println!("\n{}", table.markdown());
        self.tables.push(table);
        self.targets.extend(found);
        Ok(())
    }

    fn verdict(&self) -> Result<(), String> {
        match self.problems.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "the bench found problems:\n{}",
                self.problems.join("\n")
            )),
        }
    }
}

pub fn say(line: &str) {
    println!("bench: {line}");
}

pub fn run(args: &[String]) -> Result<(), String> {
    let (plan, only) = match args {
        [] => (Plan::full(), None),
        [flag] if flag == "--quick" => (Plan::quick(), None),
        // One scenario alone, to try it: its table is printed, BENCHMARKS.md kept.
        [flag, name] if flag == "--only" && name == "top" => (
            Plan {
                repetitions: 1,
                ..Plan::full()
            },
            Some(name.as_str()),
        ),
        // The connect/close loop under the tracers: its targets are medians of 5 runs.
        [flag, name] if flag == "--only" && name == "churn" => (
            Plan {
                repetitions: 5,
                ..Plan::full()
            },
            Some(name.as_str()),
        ),
        // Follow's start-up, for work on it: enough alternating runs for a median.
        [flag, name] if flag == "--only" && name == "first-event" => (
            Plan {
                repetitions: 7,
                ..Plan::full()
            },
            Some(name.as_str()),
        ),
        _ => {
            return Err(
                "usage: cargo xtask bench [--quick | --only top | --only first-event \
                        | --only churn]"
                    .into(),
            )
        }
    };
    if !cargo::is_root() {
        return Err("the bench needs root (network namespaces, eBPF tracers)".into());
    }
    let toolchain = ensure()?;
    let sockwatch = cargo::build_release(&toolchain)?;
    say("building the load generators and the measuring launcher (tcphold, tcpchurn, rusage)");
    bootstrap::run(&mut cargo::cargo(
        &toolchain,
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            "sockwatch-tests",
            "--bins",
        ],
    ))?;
    let bin_dir = sockwatch
        .parent()
        .ok_or("the sockwatch binary has no folder")?;
    let bins = Bins {
        tcphold: bin_dir.join("tcphold"),
        tcpchurn: bin_dir.join("tcpchurn"),
        launcher: measure::Launcher::new(&bin_dir.join("rusage")),
    };
    let mut bench = Bench {
        plan: &plan,
        bins: &bins,
        problems: Vec::new(),
        tables: Vec::new(),
        targets: Vec::new(),
    };
    if only == Some("top") {
        bench.scenario("top", |s| top::cpu_with_churn(s, &sockwatch))?;
        println!("\n{}", report::targets_markdown(&bench.targets, false));
        return bench.verdict();
    }
    let peers = peers::ensure()?;
    let programs = tracer::Programs {
        sockwatch: &sockwatch,
        peers: &peers,
        launcher: &bins.launcher,
    };
    if let Some(name) = only {
        match name {
            "churn" => bench.scenario("churn", |s| follow::churn_under_tracers(s, &programs))?,
            _ => bench.scenario("first", |s| follow::first_event(s, &programs))?,
        }
        println!("\n{}", report::targets_markdown(&bench.targets, false));
        return bench.verdict();
    }
    let machine = report::Machine::describe(&peers);
    let started = Instant::now();

    let snapshot_tools = snapshot::Tools {
        sockwatch: &sockwatch,
        ss: &peers.ss,
        netstat: peers.netstat.as_deref(),
    };
    bench.scenario("snapshot", |s| snapshot::run(s, &snapshot_tools))?;
    let netstat_tools = netstat::Tools {
        sockwatch: &sockwatch,
        netstat: peers.netstat.as_deref(),
        ss: &peers.ss,
    };
    bench.scenario("netstat", |s| netstat::run(s, &netstat_tools))?;
    bench.scenario("churn", |s| follow::churn_under_tracers(s, &programs))?;
    bench.scenario("live", |s| follow::memory_with_live_sockets(s, &programs))?;
    bench.scenario("first", |s| follow::first_event(s, &programs))?;
    bench.scenario("top", |s| top::cpu_with_churn(s, &sockwatch))?;

    let elapsed = started.elapsed();
    println!("\n{}", report::targets_markdown(&bench.targets, plan.quick));
    if plan.quick {
        say("quick run: BENCHMARKS.md left as it is (timings of a quick run mean nothing)");
    } else {
        let path = cargo::workspace_root().join("BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        let notes = report::kept_notes(&existing);
        let text = report::document(
            &plan,
            &machine,
            &bench.targets,
            &bench.tables,
            elapsed,
            &bench.problems,
            notes,
        );
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        say(&format!("wrote {}", path.display()));
    }
    say(&format!("done in {:.0} s", elapsed.as_secs_f64()));
    bench.verdict()
}
