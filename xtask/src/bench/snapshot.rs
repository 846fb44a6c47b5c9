//! Snapshot scenario: `sockwatch snapshot ARGS` against `ss ARGS` (and netstat where it has an
//! equivalent) on N held connections, alternating tools within each repetition.

use std::{path::Path, process::Command};

use super::{
    load::Holder,
    measure::{measure, Launcher},
    netns::BenchNs,
    say,
    table::{ratio_text, Table},
    Outcome, Scenario, Target,
};

/// The ss options measured, and netstat's equivalent where it has one. The filtered ones
/// match none of the held sockets (their ports are ephemeral): what they measure is how
/// fast the uninteresting sockets are passed over.
const OPTIONS: [(&[&str], Option<&str>); 8] = [
    (&["-tan"], Some("-tan")),
    (&["-tan", "sport = :22"], None),
    (&["-tan", "dport = :22"], None),
    (&["-tan", "src 127.0.0.1:22"], None),
    (&["-tani"], None),
    (&["-tanp"], Some("-tanp")),
    (&["-s"], None),
    // ss has no JSON: its column is `ss -tan`, the same sockets as text.
    (&["-tan", "--json"], None),
];

/// How a command line is shown: ss's arguments, the filter quoted.
fn shown(options: &[&str]) -> String {
    let quoted: Vec<String> = options
        .iter()
        .map(|o| {
            if o.contains(' ') {
                format!("'{o}'")
            } else {
                o.to_string()
            }
        })
        .collect();
    quoted.join(" ")
}

/// Whether the options carry a filter.
fn filtered(options: &[&str]) -> bool {
    options.iter().any(|o| !o.starts_with('-'))
}

const SOCKWATCH: usize = 0;
const SS: usize = 1;
const NETSTAT: usize = 2;

pub struct Tools<'a> {
    pub sockwatch: &'a Path,
    pub ss: &'a Path,
    pub netstat: Option<&'a Path>,
}

/// Rows of one option at one size: wall time and peak RSS.
struct Rows {
    options: &'static [&'static str],
    sockets: u64,
    wall: usize,
    rss: usize,
}

pub fn run(scenario: Scenario, tools: &Tools) -> Outcome {
    let mut table = Table::new(
        "Snapshot: wall time and peak RSS",
        &["sockwatch snapshot", "ss", "netstat"],
        &[(SOCKWATCH, SS), (SOCKWATCH, NETSTAT)],
    );
    let mut largest = Vec::new();
    for &connections in &scenario.plan.snapshot_connections {
        let _holder = Holder::start(&scenario.ns, &scenario.bins.tcphold, connections)?;
        let sockets = count_sockets(&scenario.ns, &scenario.bins.launcher, tools.ss)?;
        say(&format!(
            "snapshot: {sockets} TCP sockets, {} repetitions",
            scenario.plan.repetitions
        ));
        largest.clear();
        for (options, netstat_option) in OPTIONS {
            let option = shown(options);
            let label = format!("`{option}`, {sockets} sockets");
            let rows = Rows {
                options,
                sockets,
                wall: table.add_row(format!("{label}: wall time"), "ms"),
                rss: table.add_row(format!("{label}: peak RSS"), "MiB"),
            };
            let mut outputs: [Option<Vec<u8>>; 3] = Default::default();
            for repetition in 0..scenario.plan.repetitions {
                // Rotate the order, so no tool always runs first (or right after another).
                for k in 0..3 {
                    let column = (repetition + k) % 3;
                    let Some(command) = command(&scenario, tools, column, options, netstat_option)
                    else {
                        continue;
                    };
                    let name = &table.columns[column];
                    let keep =
                        repetition == 0 && options[0] == "-tan" && !options.contains(&"--json");
                    let finished = measure(command, keep)?;
                    finished.success(name)?;
                    if finished.stdout.lines == 0 {
                        return Err(format!("{name} {option} printed nothing"));
                    }
                    table.push(rows.wall, column, finished.usage.wall.as_secs_f64() * 1e3);
                    table.push(rows.rss, column, finished.usage.max_rss_kib as f64 / 1024.0);
                    if keep {
                        outputs[column] = Some(finished.stdout.text);
                    }
                }
            }
            if let [Some(sockwatch), Some(ss), _] = &outputs {
                check_same_output(&option, sockets, sockwatch, ss, scenario.problems);
            }
            largest.push(rows);
        }
    }
    scenario
        .problems
        .extend(table.empty_cells(&[SOCKWATCH, SS]));
    let targets = targets(&table, &largest);
    Ok((table, targets))
}

/// The command of one column for one option; None where netstat has no equivalent.
fn command(
    scenario: &Scenario,
    tools: &Tools,
    column: usize,
    options: &[&str],
    netstat_option: Option<&str>,
) -> Option<Command> {
    let (program, args) = match column {
        SOCKWATCH => (tools.sockwatch, [&["snapshot"], options].concat()),
        SS => (
            tools.ss,
            options.iter().copied().filter(|o| *o != "--json").collect(),
        ),
        _ => (tools.netstat?, vec![netstat_option?]),
    };
    Some(scenario.command(program, args))
}

/// The TCP sockets in the namespace, as ss counts them.
pub(super) fn count_sockets(ns: &BenchNs, launcher: &Launcher, ss: &Path) -> Result<u64, String> {
    let mut command = launcher.command(Some(ns), ss);
    command.arg("-tan");
    let finished = measure(command, false)?;
    finished.success("ss -tan")?;
    Ok(finished.stdout.lines.saturating_sub(1))
}

/// sockwatch must print what ss prints: the held sockets do not change between the two runs.
fn check_same_output(
    option: &str,
    sockets: u64,
    sockwatch: &[u8],
    ss: &[u8],
    problems: &mut Vec<String>,
) {
    if sockwatch == ss {
        say(&format!(
            "snapshot: `sockwatch snapshot {option}` printed what ss printed ({sockets} sockets)"
        ));
        return;
    }
    let sockwatch = String::from_utf8_lossy(sockwatch);
    let ss = String::from_utf8_lossy(ss);
    let first_difference = sockwatch
        .lines()
        .zip(ss.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| sockwatch.lines().count().min(ss.lines().count()));
    problems.push(format!(
        "`sockwatch snapshot {option}` differs from `ss {option}` ({sockets} sockets) at line {}:\n  sockwatch: {:?}\n  ss:        {:?}",
        first_difference + 1,
        sockwatch.lines().nth(first_difference).unwrap_or("<end>"),
        ss.lines().nth(first_difference).unwrap_or("<end>"),
    ));
}

/// The snapshot targets, judged at the largest size measured.
fn targets(table: &Table, rows: &[Rows]) -> Vec<Target> {
    let mut targets = Vec::new();
    for rows in rows {
        let goal = match rows.options {
            ["-tan"] => Some(0.5),
            ["-tanp"] => Some(0.2),
            options if options[0] == "-tan" && filtered(options) => Some(0.5),
            _ => None,
        };
        if let Some(goal) = goal {
            let measured = table.median_ratio(rows.wall, SOCKWATCH, SS);
            targets.push(Target::new(
                format!(
                    "`snapshot {}` wall time ≤ {goal}x ss ({} sockets)",
                    shown(rows.options),
                    rows.sockets
                ),
                measured.map_or("not measured".into(), ratio_text),
                measured.map(|r| r <= goal),
            ));
        }
    }
    let worst_memory = rows
        .iter()
        .filter_map(|r| Some((table.median_ratio(r.rss, SOCKWATCH, SS)?, r)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((
        worst,
        Rows {
            options, sockets, ..
        },
    )) = worst_memory
    {
        targets.push(Target::new(
            format!("snapshot peak RSS ≤ 2x ss ({sockets} sockets, every option)"),
            format!("{} (worst: `{}`)", ratio_text(worst), shown(options)),
            Some(worst <= 2.0),
        ));
    }
    targets
}
