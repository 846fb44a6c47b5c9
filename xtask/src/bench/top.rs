//! top's scenario: its CPU share at 1 s refresh with 10,000 live sockets and the
//! connect/close loop running, against the 5%-of-one-core target, and the events it lost.

use std::thread;

use super::{
    load::{churn, Holder},
    measure::{measure, Finished},
    netns::BenchNs,
    say,
    table::{number, Table},
    Bins, Outcome, Scenario, Target,
};

/// Client threads of the connect/close loop (as follow's scenarios).
const CHURN_THREADS: u32 = 2;
/// The share of one core top may use on average, in percent.
const CPU_GOAL_PERCENT: f64 = 5.0;
/// Frames of the short run, whose cost (start-up, the programs' loading, the first
/// listings) the long run's is compared with.
const SHORT_FRAMES: u64 = 2;

/// Runs `top -b --json -d 1 -n frames` in `ns` while the loop churns, to its end.
fn top_under_churn(
    ns: &BenchNs,
    bins: &Bins,
    sockwatch: &std::path::Path,
    frames: u64,
) -> Result<Finished, String> {
    let mut command = bins.launcher.command(Some(ns), sockwatch);
    command.args(["top", "-b", "--json", "-d", "1", "-n", &frames.to_string()]);
    // The loop outlasts top: its start-up and every frame see churn.
    let seconds = frames as f64 + 3.0;
    thread::scope(|scope| {
        let load = scope.spawn(|| churn(ns, bins, CHURN_THREADS, seconds));
        let finished = measure(command, true);
        load.join().map_err(|_| "the churn thread panicked")??;
        let finished = finished?;
        finished.success("sockwatch top")?;
        Ok(finished)
    })
}

/// `events_lost` of the last frame top printed.
fn events_lost(finished: &Finished) -> Option<f64> {
    let text = String::from_utf8_lossy(&finished.stdout.text);
    let last = text.lines().last()?;
    let at = last.find("\"events_lost\":")? + "\"events_lost\":".len();
    let digits: String = last[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

pub fn cpu_with_churn(scenario: Scenario, sockwatch: &std::path::Path) -> Outcome {
    let sockets = 2 * scenario.plan.top_connections;
    let long_frames = SHORT_FRAMES + scenario.plan.churn_seconds.ceil() as u64;
    let mut table = Table::new(
        format!("top: CPU at 1 s refresh, {sockets} live sockets and the connect/close loop"),
        &["sockwatch top"],
        &[],
    );
    let share = table.add_row(
        format!(
            "CPU share of one core: frames {} to {long_frames} (the first {SHORT_FRAMES} runs' cost taken off)",
            SHORT_FRAMES + 1
        ),
        "%",
    );
    let lost = table.add_row("events lost", "events");
    say(&format!(
        "top: CPU with {sockets} live sockets and churn, {} repetitions",
        scenario.plan.repetitions
    ));
    let _holder = Holder::start(
        &scenario.ns,
        &scenario.bins.tcphold,
        scenario.plan.top_connections,
    )?;
    for _ in 0..scenario.plan.repetitions {
        let short = top_under_churn(&scenario.ns, scenario.bins, sockwatch, SHORT_FRAMES)?;
        let long = top_under_churn(&scenario.ns, scenario.bins, sockwatch, long_frames)?;
        let cpu = long.usage.cpu.as_secs_f64() - short.usage.cpu.as_secs_f64();
        let wall = long.usage.wall.as_secs_f64() - short.usage.wall.as_secs_f64();
        if wall > 0.0 {
            table.push(share, 0, 100.0 * cpu.max(0.0) / wall);
        }
        if let Some(n) = events_lost(&long) {
            table.push(lost, 0, n);
        }
    }
    scenario.problems.extend(table.empty_cells(&[0]));
    let median = table.stats(share, 0).map(|s| s.median);
    let target = Target::new(
        format!(
            "`sockwatch top` at 1 s refresh ≤ {CPU_GOAL_PERCENT}% of one core with {sockets} live sockets and churn"
        ),
        median.map_or("not measured".into(), |m| format!("{}% (median)", number(m))),
        median.map(|m| m <= CPU_GOAL_PERCENT),
    );
    Ok((table, vec![target]))
}
