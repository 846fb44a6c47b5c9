//! Follow scenarios: the connect/close loop's rate untraced and under each tracer (with the
//! events each lost and the CPU each used), the tracers' memory with many live sockets, and
//! the time from a tracer's start to its first event.

use std::time::Duration;

use super::{
    load::{churn, Holder},
    netns::BenchNs,
    probe::Probe,
    say,
    table::{number, ratio, ratio_text, Table},
    tracer::{Programs, Running, Stopped, Tracer},
    Outcome, Plan, Scenario, Target,
};

/// Client threads of the connect/close loop.
const CHURN_THREADS: u32 = 2;
/// How long a tracer may take to show the first probe connection.
const FIRST_EVENT_TIMEOUT: Duration = Duration::from_secs(20);
/// The share of the untraced rate a traced loop must keep: text log, JSON lines.
const RATE_GOAL_TEXT: f64 = 0.8;
const RATE_GOAL_JSON: f64 = 0.7;
/// Follow's memory budget with 100,000 live sockets, in bytes.
const MEMORY_GOAL_BYTES: f64 = 100e6;

/// Runs `body` once per available tool and repetition, rotating the order each repetition.
fn alternate<T: Copy>(
    plan: &Plan,
    tools: &[(usize, T)],
    mut body: impl FnMut(usize, T) -> Result<(), String>,
) -> Result<(), String> {
    for repetition in 0..plan.repetitions {
        for k in 0..tools.len() {
            let (column, tool) = tools[(repetition + k) % tools.len()];
            body(column, tool)?;
        }
    }
    Ok(())
}

/// The tracers installed here, with their column in a table whose first tracer column is
/// `first_column`.
fn tracer_columns(
    programs: &Programs,
    tracers: &[Tracer],
    first_column: usize,
) -> Vec<(usize, Tracer)> {
    tracers
        .iter()
        .enumerate()
        .filter(|(_, t)| programs.available(**t))
        .map(|(i, t)| (first_column + i, *t))
        .collect()
}

pub fn churn_under_tracers(scenario: Scenario, programs: &Programs) -> Outcome {
    const UNTRACED: usize = 0;
    const TEXT: usize = 1;
    const JSON: usize = 2;
    const TCPSTATES: usize = 3;
    const TCPLIFE: usize = 4;
    const NO_REASONS: usize = 5;
    let mut table = Table::new(
        format!(
            "Follow: connect/close loop ({CHURN_THREADS} threads, {} s) untraced and traced",
            scenario.plan.churn_seconds
        ),
        &[
            "untraced",
            "sockwatch follow",
            "sockwatch follow --json",
            "tcpstates",
            "tcplife",
            "sockwatch follow, reason hooks off",
        ],
        &[
            (TEXT, UNTRACED),
            (JSON, UNTRACED),
            (TEXT, TCPSTATES),
            (TEXT, TCPLIFE),
            (NO_REASONS, UNTRACED),
            (TEXT, NO_REASONS),
        ],
    );
    let rate = table.add_row("connections per second", "conn/s");
    let rate_kept = table.add_row(
        "connections per second / untraced of the same repetition",
        "x",
    );
    let lost = table.add_row("events lost", "events");
    let cpu = table.add_row("tracer CPU time", "s");
    let cpu_per_connection = table.add_row("tracer CPU per connection", "µs");
    let rss = table.add_row("tracer peak RSS", "MiB");
    say(&format!(
        "follow: connect/close loop, {} s a run, {} repetitions",
        scenario.plan.churn_seconds, scenario.plan.repetitions
    ));
    let traced = tracer_columns(
        programs,
        &[
            Tracer::Sockwatch,
            Tracer::SockwatchJson,
            Tracer::Tcpstates,
            Tracer::Tcplife,
            Tracer::SockwatchNoReasons,
        ],
        TEXT,
    );
    let tools: Vec<(usize, Option<Tracer>)> = std::iter::once((UNTRACED, None))
        .chain(traced.into_iter().map(|(column, t)| (column, Some(t))))
        .collect();
    // Each repetition's rates, to compare each traced run with the untraced run of its own
    // repetition: the machine's speed drifts between repetitions more than within one.
    let mut rates = vec![vec![None; table.columns.len()]; scenario.plan.repetitions];
    let mut runs = 0;
    alternate(scenario.plan, &tools, |column, tracer| {
        let repetition = runs / tools.len();
        runs += 1;
        // A fresh namespace a run: a loop leaves tens of thousands of TIME-WAIT sockets,
        // which slow the next run's connects in the same namespace.
        let ns = BenchNs::create("churn-run")?;
        let running = tracer
            .map(|t| Running::start(programs, t, &ns, None))
            .transpose()?;
        let run = churn(
            &ns,
            scenario.bins,
            CHURN_THREADS,
            scenario.plan.churn_seconds,
        )?;
        table.push(rate, column, run.rate);
        rates[repetition][column] = Some(run.rate);
        if let Some(running) = running {
            let stopped = running.stop()?;
            let cpu_seconds = stopped.usage.cpu.as_secs_f64();
            table.push(lost, column, stopped.lost as f64);
            table.push(cpu, column, cpu_seconds);
            if run.connections > 0 {
                table.push(
                    cpu_per_connection,
                    column,
                    cpu_seconds * 1e6 / run.connections as f64,
                );
            }
            table.push(rss, column, mib(&stopped));
        }
        ns.delete_and_settle();
        Ok(())
    })?;
    for repetition in &rates {
        let Some(untraced) = repetition[UNTRACED] else {
            continue;
        };
        for (column, traced) in repetition.iter().enumerate().skip(TEXT) {
            if let Some(r) = traced.and_then(|traced| ratio(traced, untraced)) {
                table.push(rate_kept, column, r);
            }
        }
    }

    scenario
        .problems
        .extend(table.empty_cells(&[TEXT, JSON, NO_REASONS]));
    if table.stats(rate, UNTRACED).is_none() {
        scenario
            .problems
            .push("follow: no untraced connection rate".into());
    }
    let mut targets = Vec::new();
    for (column, goal) in [(TEXT, RATE_GOAL_TEXT), (JSON, RATE_GOAL_JSON)] {
        let name = &table.columns[column];
        let kept = table.stats(rate_kept, column).map(|s| s.median);
        let most_lost = table.rows[lost].samples[column]
            .iter()
            .copied()
            .fold(0.0, f64::max);
        targets.push(Target::new(
            format!("`{name}` keeps ≥ {goal}x the untraced connection rate, 0 events lost"),
            kept.map_or("not measured".into(), |kept| {
                format!(
                    "{} (median of {} same-repetition ratios), {} lost at most",
                    ratio_text(kept),
                    table.rows[rate_kept].samples[column].len(),
                    number(most_lost)
                )
            }),
            kept.map(|kept| kept >= goal && most_lost == 0.0),
        ));
    }
    Ok((table, targets))
}

pub fn memory_with_live_sockets(scenario: Scenario, programs: &Programs) -> Outcome {
    let sockets = 2 * scenario.plan.live_connections;
    let mut table = Table::new(
        format!("Follow: memory with {sockets} live sockets"),
        &["sockwatch follow", "tcpstates", "tcplife"],
        &[(0, 1), (0, 2)],
    );
    let tools = tracer_columns(
        programs,
        &[Tracer::Sockwatch, Tracer::Tcpstates, Tracer::Tcplife],
        0,
    );
    say(&format!(
        "follow: memory with {sockets} live sockets, {} repetitions",
        scenario.plan.repetitions
    ));

    // Sockets that exist before the tracer starts: follow lists them at start-up.
    let before = table.add_row(
        format!(
            "peak RSS, sockets established before start, then {} s of churn",
            scenario.plan.live_churn_seconds
        ),
        "MiB",
    );
    {
        let _holder = Holder::start(
            &scenario.ns,
            &scenario.bins.tcphold,
            scenario.plan.live_connections,
        )?;
        alternate(scenario.plan, &tools, |column, tracer| {
            let running = Running::start(programs, tracer, &scenario.ns, None)?;
            churn(
                &scenario.ns,
                scenario.bins,
                CHURN_THREADS,
                scenario.plan.live_churn_seconds,
            )?;
            table.push(before, column, mib(&running.stop()?));
            Ok(())
        })?;
    }

    // Sockets established while the tracer runs: every one passes through it.
    let during = table.add_row("peak RSS, sockets established while following", "MiB");
    let lost = table.add_row("events lost while establishing them", "events");
    alternate(scenario.plan, &tools, |column, tracer| {
        let running = Running::start(programs, tracer, &scenario.ns, None)?;
        let holder = Holder::start(
            &scenario.ns,
            &scenario.bins.tcphold,
            scenario.plan.live_connections,
        )?;
        // Let the tracer read what the burst queued before it is stopped.
        std::thread::sleep(Duration::from_millis(500));
        let stopped = running.stop()?;
        drop(holder);
        table.push(during, column, mib(&stopped));
        table.push(lost, column, stopped.lost as f64);
        Ok(())
    })?;

    scenario.problems.extend(table.empty_cells(&[0]));
    let worst = [before, during]
        .into_iter()
        .filter_map(|row| table.stats(row, 0))
        .map(|s| s.median)
        .fold(None, |acc: Option<f64>, m| {
            Some(acc.map_or(m, |a| a.max(m)))
        });
    let worst_bytes = worst.map(|mib| mib * 1024.0 * 1024.0);
    let target = Target::new(
        format!("`sockwatch follow` peak RSS ≤ 100 MB with {sockets} live sockets"),
        worst_bytes.map_or("not measured".into(), |b| {
            format!("{:.1} MB (median of the worse case)", b / 1e6)
        }),
        worst_bytes.map(|b| b <= MEMORY_GOAL_BYTES),
    );
    Ok((table, vec![target]))
}

/// Follow's start-up goal: the first event within this long of start with
/// `Plan::first_event_connections` held (issue 16).
const FIRST_EVENT_GOAL_MS: f64 = 30.0;

pub fn first_event(scenario: Scenario, programs: &Programs) -> Outcome {
    let mut table = Table::new(
        "Follow: time from start to the first event",
        &[
            "sockwatch follow",
            "sockwatch follow --json",
            "tcpstates",
            "tcplife",
        ],
        &[(0, 2), (0, 3)],
    );
    let tools = tracer_columns(
        programs,
        &[
            Tracer::Sockwatch,
            Tracer::SockwatchJson,
            Tracer::Tcpstates,
            Tracer::Tcplife,
        ],
        0,
    );
    say(&format!(
        "follow: time to the first event, {} repetitions",
        scenario.plan.repetitions
    ));
    let idle = table.add_row("start to first event line", "ms");
    let idle_rss = table.add_row("peak RSS of those runs", "MiB");
    time_first_events(&scenario, programs, &tools, &mut table, idle, idle_rss)?;

    // Follow lists every socket (and finds its owner) before it shows an event: the start-up
    // join is what many open sockets cost.
    let sockets = 2 * scenario.plan.first_event_connections;
    let held = table.add_row(
        format!("start to first event line, {sockets} sockets open"),
        "ms",
    );
    let held_rss = table.add_row(
        format!("peak RSS of those runs, {sockets} sockets open"),
        "MiB",
    );
    {
        let _holder = Holder::start(
            &scenario.ns,
            &scenario.bins.tcphold,
            scenario.plan.first_event_connections,
        )?;
        time_first_events(&scenario, programs, &tools, &mut table, held, held_rss)?;
    }
    scenario.problems.extend(table.empty_cells(&[0, 1]));
    let median = table.stats(held, 0).map(|s| s.median);
    let versus = table
        .median_ratio(held, 0, 2)
        .map_or(String::new(), |r| format!(", {} tcpstates'", ratio_text(r)));
    let target = Target::new(
        format!(
            "`sockwatch follow` shows its first event ≤ {FIRST_EVENT_GOAL_MS} ms after start \
             with {sockets} sockets open"
        ),
        median.map_or("not measured".into(), |ms| {
            format!("{} ms (median){versus}", number(ms))
        }),
        median.map(|ms| ms <= FIRST_EVENT_GOAL_MS),
    );
    let rss_ratio = table.median_ratio(idle_rss, 0, 2);
    let memory = Target::new(
        format!(
            "`sockwatch follow` peak RSS ≤ {RSS_GOAL_VS_TCPSTATES}x tcpstates' (no sockets open)"
        ),
        rss_ratio.map_or("not measured".into(), ratio_text),
        rss_ratio.map(|r| r <= RSS_GOAL_VS_TCPSTATES),
    );
    Ok((table, vec![target, memory]))
}

/// Follow's memory goal against tcpstates' at start (issue 16).
const RSS_GOAL_VS_TCPSTATES: f64 = 1.5;

/// Times each tracer from its start to its first line naming a probe connection (which runs
/// from before the tracer starts until the tracer shows one), into `row`; its peak RSS into
/// `rss_row`.
fn time_first_events(
    scenario: &Scenario,
    programs: &Programs,
    tools: &[(usize, Tracer)],
    table: &mut Table,
    row: usize,
    rss_row: usize,
) -> Result<(), String> {
    let ns = &scenario.ns;
    alternate(scenario.plan, tools, |column, tracer| {
        let probe = Probe::start(ns)?;
        let running = Running::start(programs, tracer, ns, Some(&probe.port.to_string()))?;
        let seen = running.first_event(FIRST_EVENT_TIMEOUT);
        drop(probe);
        let started = running.started();
        let stopped = running.stop()?;
        table.push(rss_row, column, mib(&stopped));
        let seen = seen.ok_or_else(|| {
            format!(
                "{} showed no probe connection within {} s",
                tracer.label(),
                FIRST_EVENT_TIMEOUT.as_secs()
            )
        })?;
        table.push(row, column, (seen - started).as_secs_f64() * 1e3);
        Ok(())
    })
}

fn mib(stopped: &Stopped) -> f64 {
    stopped.usage.max_rss_kib as f64 / 1024.0
}
