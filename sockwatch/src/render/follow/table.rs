//! `follow --table`: the live socket table, redrawn in place at an interval, as an ss-style
//! table (or one JSON line a refresh).

use std::{io, io::Write, net::SocketAddr};

use serde::Serialize;

use super::Format;
use crate::{
    follow::{clock::WallClock, session::EventFilter, table::LiveTable, Summary},
    model::Cookie,
    system::services::Transport,
};

pub struct LiveView {
    pub format: Format,
    pub clock: WallClock,
    pub numeric: bool,
    /// Clear the screen before each redraw (a terminal on stdout).
    pub clear: bool,
}

#[derive(Serialize)]
struct JsonSocket<'a> {
    cookie: u64,
    state: &'static str,
    local: String,
    remote: String,
    ms_in_state: Option<f64>,
    pid: Option<u32>,
    comm: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonTable<'a> {
    r#type: &'static str,
    time: String,
    events: u64,
    lost: u64,
    sockets: Vec<JsonSocket<'a>>,
}

impl LiveView {
    fn endpoint(&self, addr: &SocketAddr) -> String {
        let port = match (self.numeric, addr.port()) {
            (_, 0) => "*".to_string(),
            (false, port) => crate::system::services::Services::system()
                .name_of(port, Transport::Tcp)
                .map_or_else(|| port.to_string(), str::to_string),
            (true, port) => port.to_string(),
        };
        // As ss prints them: IPv4 "any" as 0.0.0.0, IPv6 "any" as *.
        match addr {
            SocketAddr::V4(a) => format!("{}:{port}", a.ip()),
            SocketAddr::V6(a) if a.ip().is_unspecified() => format!("*:{port}"),
            SocketAddr::V6(a) => format!("[{}]:{port}", a.ip()),
        }
    }

    pub fn draw(
        &self,
        out: &mut impl Write,
        table: &LiveTable,
        filter: &EventFilter,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        let mut rows: Vec<(&Cookie, &crate::follow::table::LiveSocket)> = table
            .iter()
            .filter(|(_, s)| filter.matches_parts(s.state, s.state, s.local, s.remote))
            .collect();
        // Stable order between refreshes: by local then remote address.
        rows.sort_by_key(|(cookie, s)| (s.local, s.remote, **cookie));
        let ms_in_state = |s: &crate::follow::table::LiveSocket| {
            s.since_ns
                .map(|since| now_ns.saturating_sub(since) as f64 / 1e6)
        };
        if self.format == Format::JsonLines {
            let line = JsonTable {
                r#type: "table",
                time: self.clock.format(now_ns),
                events: summary.events,
                lost: summary.lost,
                sockets: rows
                    .iter()
                    .map(|(cookie, s)| JsonSocket {
                        cookie: cookie.0,
                        state: s.state.ss_name(),
                        local: self.endpoint(&s.local),
                        remote: self.endpoint(&s.remote),
                        ms_in_state: ms_in_state(s),
                        pid: s.owner.as_ref().map(|o| o.pid),
                        comm: s.owner.as_ref().map(|o| o.comm.as_str()),
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut *out, &line)?;
            return writeln!(out);
        }
        if self.clear {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        writeln!(
            out,
            "{}  {} sockets  {} events  {} lost",
            self.clock.format(now_ns),
            rows.len(),
            summary.events,
            summary.lost
        )?;
        let texts: Vec<(String, String)> = rows
            .iter()
            .map(|(_, s)| (self.endpoint(&s.local), self.endpoint(&s.remote)))
            .collect();
        let local_width = texts.iter().map(|t| t.0.len()).max().unwrap_or(0).max(18);
        let remote_width = texts.iter().map(|t| t.1.len()).max().unwrap_or(0).max(17);
        writeln!(
            out,
            "{:<12} {:<local_width$} {:<remote_width$} {:>10} Process",
            "State", "Local Address:Port", "Peer Address:Port", "ms"
        )?;
        for ((_, s), (local, remote)) in rows.iter().zip(&texts) {
            let ms = ms_in_state(s).map_or_else(|| "-".to_string(), |v| format!("{v:.0}"));
            let process = s.owner.as_ref().map_or_else(String::new, |o| {
                format!("(\"{}\",pid={})", o.comm.as_str(), o.pid)
            });
            writeln!(
                out,
                "{:<12} {:<local_width$} {:<remote_width$} {:>10} {process}",
                s.state.ss_name(),
                local,
                remote,
                ms
            )?;
        }
        Ok(())
    }
}
