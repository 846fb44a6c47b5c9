//! `sockwatch top`'s output: the header and rows of a frame as text cells, shared by the
//! batch text ([`text`]) and the terminal UI ([`tui`]); and one JSON document a frame
//! ([`json`]). Strings from outside (comms) are escaped for the terminal here.

pub mod json;
pub mod text;
pub mod tui;

use std::{fmt::Write as _, net::SocketAddr};

use crate::{
    escape::escape,
    top::{
        frame::{Frame, Group, Process, Rates},
        state::{failures_total, AppState, Column, Grouping},
    },
};

/// A byte rate, short: `812`, `12.3K`, `4.5M` (powers of 1024, as top's memory columns).
pub fn bytes_per_s(rate: f64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if rate < 1024.0 {
        return format!("{rate:.0}");
    }
    let mut value = rate / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

fn per_s(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{r:.1}"))
}

fn process_text(process: &Option<Process>) -> String {
    match process {
        Some(p) => format!("{}/{}", p.pid, escape(&p.comm)),
        None => "-".to_string(),
    }
}

fn rate_cell(rates: &Rates, column: Column) -> Option<String> {
    match column {
        Column::Rx => Some(bytes_per_s(rates.rx_bytes)),
        Column::Tx => Some(bytes_per_s(rates.tx_bytes)),
        Column::Retransmits => Some(format!("{:.1}", rates.retransmits)),
        _ => None,
    }
}

fn group_cell<K>(group: &Group<K>, column: Column, key: &dyn Fn(&K) -> String) -> String {
    if let Some(cell) = rate_cell(&group.rates, column) {
        return cell;
    }
    match column {
        Column::Process | Column::Peer => key(&group.key),
        Column::Open => group.open.to_string(),
        Column::Opened => per_s(group.opened_per_s),
        Column::Closed => per_s(group.closed_per_s),
        Column::Failed => failures_total(&group.failures).to_string(),
        _ => String::new(),
    }
}

/// The rows of the state's grouping as cells, in `grouping.columns()` order.
pub fn rows(frame: &Frame, grouping: Grouping) -> Vec<Vec<String>> {
    let columns = grouping.columns();
    match grouping {
        Grouping::Connections => frame
            .connections
            .iter()
            .map(|c| {
                columns
                    .iter()
                    .map(|&column| {
                        rate_cell(&c.rates, column).unwrap_or_else(|| match column {
                            Column::Local => c.local.to_string(),
                            Column::Peer => c.peer.to_string(),
                            Column::State => c.state.ss_name().to_string(),
                            Column::Process => process_text(&c.process),
                            Column::Srtt => c
                                .srtt_ms
                                .map_or_else(|| "-".into(), |ms| format!("{ms:.1}ms")),
                            Column::Age => c.age_ms.map_or_else(|| "-".into(), age),
                            _ => String::new(),
                        })
                    })
                    .collect()
            })
            .collect(),
        Grouping::Processes => frame
            .processes
            .iter()
            .map(|g| {
                let columns = columns.iter();
                columns.map(|&c| group_cell(g, c, &process_text)).collect()
            })
            .collect(),
        Grouping::Remotes => frame
            .remotes
            .iter()
            .map(|g| {
                // Port 0: the clients of a local listener, whatever their ports.
                let key = |peer: &SocketAddr| {
                    let text = peer.to_string();
                    match text.strip_suffix(":0") {
                        Some(host) => format!("{host}:*"),
                        None => text,
                    }
                };
                columns.iter().map(|&c| group_cell(g, c, &key)).collect()
            })
            .collect(),
    }
}

/// How long, short: `42s`, `3m05s`, `2h10m`.
fn age(ms: f64) -> String {
    let secs = (ms / 1000.0) as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
}

/// Column titles, the sort column marked with `v` (descending) or `^` (ascending).
pub fn titles(state: &AppState) -> Vec<String> {
    let sorted = state.sort_column();
    let mark = if state.inverted { '^' } else { 'v' };
    state
        .grouping
        .columns()
        .iter()
        .map(|&c| {
            if c == sorted {
                format!("{}{mark}", c.title())
            } else {
                c.title().to_string()
            }
        })
        .collect()
}

/// The header lines: sockets by state, churn and failures, totals; then the notice of what
/// is missing, if anything is.
pub fn header(frame: &Frame, state: &AppState) -> Vec<String> {
    let t = &frame.totals;
    let sockets: u64 = t.by_state.iter().map(|(_, n)| n).sum();
    let mut first = format!("TCP sockets: {sockets}");
    if !t.by_state.is_empty() {
        let states: Vec<String> = t
            .by_state
            .iter()
            .map(|(s, n)| format!("{} {n}", s.ss_name()))
            .collect();
        let _ = write!(first, " ({})", states.join(", "));
    }
    let mut second = format!(
        "opened/s {}  closed/s {}  rx/s {}  tx/s {}  retrans/s {:.1}",
        per_s(t.opened_per_s),
        per_s(t.closed_per_s),
        bytes_per_s(t.rates.rx_bytes),
        bytes_per_s(t.rates.tx_bytes),
        t.rates.retransmits
    );
    match &t.failures {
        Some(failures) if !failures.is_empty() => {
            let list: Vec<String> = failures.iter().map(|(r, n)| format!("{r} {n}")).collect();
            let _ = write!(second, "  failures: {}", list.join(", "));
        }
        Some(_) => second.push_str("  failures: 0"),
        None => {}
    }
    if let Some(lost) = t.events_lost {
        let _ = write!(second, "  events lost {lost}");
    }
    let mut third = format!(
        "{} by {}{}  every {:.2}s",
        state.grouping.name(),
        state.sort_column().title(),
        if state.inverted { " (ascending)" } else { "" },
        frame.interval_ms / 1000.0
    );
    if !state.filter_text.is_empty() {
        let _ = write!(third, "  filter: {}", escape(state.filter_text.as_bytes()));
    }
    if state.paused {
        third.push_str("  [paused]");
    }
    let mut lines = vec![first, second, third];
    if let Some(notice) = &frame.degraded {
        lines.push(format!("note: {}", escape(notice.as_bytes())));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::{Cookie, SockState},
        top::frame::{Connection, Totals},
    };

    #[test]
    fn rates_and_ages_read_short() {
        assert_eq!(bytes_per_s(812.0), "812");
        assert_eq!(bytes_per_s(12.5 * 1024.0), "12.5K");
        assert_eq!(bytes_per_s(3.0 * 1024.0 * 1024.0), "3.0M");
        assert_eq!(age(42_000.0), "42s");
        assert_eq!(age(185_000.0), "3m05s");
        assert_eq!(age(7_800_000.0), "2h10m");
    }

    #[test]
    fn comms_are_escaped_for_the_terminal() {
        let frame = Frame {
            ts_ns: 0,
            interval_ms: 1000.0,
            degraded: None,
            totals: Totals::default(),
            connections: vec![Connection {
                cookie: Cookie(1),
                state: SockState::Established,
                local: "127.0.0.1:1".parse().unwrap(),
                peer: "127.0.0.1:2".parse().unwrap(),
                process: Some(Process {
                    pid: 9,
                    comm: b"\x1b]0;x\x07"[..].into(),
                }),
                rates: Rates::default(),
                srtt_ms: None,
                age_ms: None,
            }],
            processes: Vec::new(),
            remotes: Vec::new(),
        };
        let cells = rows(&frame, Grouping::Connections);
        assert_eq!(cells[0][3], "9/\\x1b]0;x\\x07");
        assert_eq!(cells[0][2], "ESTAB");
    }
}
