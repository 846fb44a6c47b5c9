//! netstat scenario: `sockwatch netstat -tan` and `-tanp` against net-tools' netstat and
//! against ss on the same options, at the largest snapshot size: wall time and peak RSS.
//! sockwatch's netstat streams its internet table as snapshot does, so its memory is
//! judged against ss's.

use std::{path::Path, process::Command};

use super::{
    load::Holder,
    measure::measure,
    say,
    snapshot::count_sockets,
    table::{ratio_text, Table},
    Outcome, Scenario, Target,
};

const OPTIONS: [&str; 2] = ["-tan", "-tanp"];

const SOCKWATCH: usize = 0;
const NETSTAT: usize = 1;
const SS: usize = 2;

pub struct Tools<'a> {
    pub sockwatch: &'a Path,
    pub netstat: Option<&'a Path>,
    pub ss: &'a Path,
}

pub fn run(scenario: Scenario, tools: &Tools) -> Outcome {
    let mut table = Table::new(
        "netstat: wall time and peak RSS",
        &["sockwatch netstat", "netstat", "ss"],
        &[(SOCKWATCH, NETSTAT), (SOCKWATCH, SS)],
    );
    let connections = scenario
        .plan
        .snapshot_connections
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let _holder = Holder::start(&scenario.ns, &scenario.bins.tcphold, connections)?;
    let sockets = count_sockets(&scenario.ns, &scenario.bins.launcher, tools.ss)?;
    say(&format!(
        "netstat: {sockets} TCP sockets, {} repetitions",
        scenario.plan.repetitions
    ));
    let mut targets = Vec::new();
    for option in OPTIONS {
        let label = format!("`{option}`, {sockets} sockets");
        let wall = table.add_row(format!("{label}: wall time"), "ms");
        let rss = table.add_row(format!("{label}: peak RSS"), "MiB");
        for repetition in 0..scenario.plan.repetitions {
            // Rotate the order, so no tool always runs first (or right after another).
            for k in 0..3 {
                let column = (repetition + k) % 3;
                let Some(command) = command(&scenario, tools, column, option) else {
                    continue;
                };
                let name = &table.columns[column];
                let finished = measure(command, false)?;
                finished.success(name)?;
                // Both headers and at least most sockets: a listing cut short is no measurement.
                if finished.stdout.lines < sockets / 2 {
                    return Err(format!(
                        "{name} {option} printed {} lines for {sockets} sockets",
                        finished.stdout.lines
                    ));
                }
                table.push(wall, column, finished.usage.wall.as_secs_f64() * 1e3);
                table.push(rss, column, finished.usage.max_rss_kib as f64 / 1024.0);
            }
        }
        let measured = table.median_ratio(rss, SOCKWATCH, SS);
        targets.push(Target::new(
            format!("`netstat {option}` peak RSS ≤ 2x ss's ({sockets} sockets)"),
            measured.map_or("not measured".into(), ratio_text),
            measured.map(|r| r <= 2.0),
        ));
    }
    scenario
        .problems
        .extend(table.empty_cells(&[SOCKWATCH, SS]));
    Ok((table, targets))
}

/// The command of one column; None when net-tools' netstat is not installed.
fn command(scenario: &Scenario, tools: &Tools, column: usize, option: &str) -> Option<Command> {
    let (program, args) = match column {
        SOCKWATCH => (tools.sockwatch, vec!["netstat", option]),
        NETSTAT => (tools.netstat?, vec![option]),
        _ => (tools.ss, vec![option]),
    };
    Some(scenario.command(program, args))
}
