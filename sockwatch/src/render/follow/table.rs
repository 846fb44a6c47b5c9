//! `follow --table`: the live socket table, redrawn in place at an interval, as an ss-style
//! table (JSON lines are `json`'s).

use std::io::{self, Write};

use super::{in_state_ms, log::push_left, push_tcp_endpoint};
use crate::{
    escape::push_escaped,
    follow::{
        clock::WallClock,
        failures::{RecentFailures, WINDOW_NS},
        table::LiveSocket,
        Summary,
    },
    model::Cookie,
    render::ss::fmt::push_u64,
};

pub struct LiveView {
    pub clock: WallClock,
    pub numeric: bool,
    /// Clear the screen before each redraw (a terminal on stdout).
    pub clear: bool,
}

impl LiveView {
    /// The first line of `--table --failed`: how many failures the last minute holds.
    pub fn failures_title(
        &self,
        out: &mut impl Write,
        failures: &RecentFailures,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        if self.clear {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        write!(
            out,
            "{}  {} failed in the last {} s",
            self.clock.format(now_ns),
            failures.len(),
            WINDOW_NS / 1_000_000_000
        )?;
        if failures.left_out() > 0 {
            write!(out, " (and {} older not kept)", failures.left_out())?;
        }
        writeln!(out, "  {} events  {} lost", summary.events, summary.lost)
    }

    /// Draws the sockets the filter kept, in the order given, as text.
    pub fn draw(
        &self,
        out: &mut impl Write,
        rows: &[(Cookie, &LiveSocket)],
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
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
        let endpoints: Vec<(Vec<u8>, Vec<u8>)> = rows
            .iter()
            .map(|(_, s)| {
                let (mut local, mut remote) = (Vec::new(), Vec::new());
                push_tcp_endpoint(&mut local, s.local, self.numeric);
                push_tcp_endpoint(&mut remote, s.remote, self.numeric);
                (local, remote)
            })
            .collect();
        let local_width = endpoints
            .iter()
            .map(|e| e.0.len())
            .max()
            .unwrap_or(0)
            .max(18);
        let remote_width = endpoints
            .iter()
            .map(|e| e.1.len())
            .max()
            .unwrap_or(0)
            .max(17);
        writeln!(
            out,
            "{:<12} {:<local_width$} {:<remote_width$} {:>10} Process",
            "State", "Local Address:Port", "Peer Address:Port", "ms"
        )?;
        let mut line = Vec::with_capacity(160);
        for ((_, s), (local, remote)) in rows.iter().zip(&endpoints) {
            line.clear();
            push_left(&mut line, 12, |b| {
                b.extend_from_slice(s.state.ss_name().as_bytes())
            });
            line.push(b' ');
            push_left(&mut line, local_width, |b| b.extend_from_slice(local));
            line.push(b' ');
            push_left(&mut line, remote_width, |b| b.extend_from_slice(remote));
            line.push(b' ');
            let ms = in_state_ms(s, now_ns).map_or_else(|| "-".to_string(), |v| format!("{v:.0}"));
            line.extend_from_slice(format!("{ms:>10} ").as_bytes());
            if let Some(owner) = &s.owner {
                line.extend_from_slice(b"(\"");
                push_escaped(&mut line, owner.comm.as_bytes());
                line.extend_from_slice(b"\",pid=");
                push_u64(&mut line, owner.pid.into());
                line.push(b')');
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    }
}
