//! follow's views, one module a format: the event log and `--lifetime` lines as text
//! (`log`), the live table as text (`table`), and every view as JSON lines (`json`).
//!
//! Event lines are built in reused buffers without per-field allocation: follow must keep up
//! with hundreds of thousands of events a second. A field is added to a view by one column in
//! `log` (or `table`) and one key in `json`.

mod json;
mod log;
mod table;

use std::{
    io::{self, Write},
    net::SocketAddr,
};

use crate::{
    container::{IdentityResolver, OwnerIdentity},
    event::{Transition, TransitionKind},
    follow::{
        clock::WallClock,
        failures::RecentFailures,
        reasons::Story,
        table::{Applied, LiveSocket},
        FollowConfig, Format, Summary, View, Views,
    },
    model::Cookie,
    render::ss::fmt::{push_ip, push_u64},
    system::services::{Services, Transport},
};
use json::JsonLines;
use log::LogText;
use table::LiveView;

/// follow's output in the view and format the configuration asks for.
pub struct FollowViews {
    view: View,
    format: Format,
    text: LogText,
    json: JsonLines,
    table: LiveView,
    /// --container: each owner's cgroup, container, pod and namespace name.
    identities: Option<IdentityResolver>,
}

impl FollowViews {
    pub fn new(config: &FollowConfig, clock: WallClock) -> FollowViews {
        FollowViews {
            view: config.view,
            format: config.format,
            text: LogText::new(clock, config.numeric),
            json: JsonLines::new(clock),
            table: LiveView {
                clock,
                numeric: config.numeric,
                clear: config.clear_screen,
            },
            identities: config.container.then(IdentityResolver::default),
        }
    }
}

impl Views for FollowViews {
    fn header(&mut self, mut out: &mut dyn Write, started_ns: Option<u64>) -> io::Result<()> {
        match self.format {
            Format::JsonLines => self.json.start(&mut out, self.view, started_ns),
            Format::Text => self
                .text
                .header(&mut out, self.view, self.identities.is_some()),
        }
    }

    fn transition(
        &mut self,
        mut out: &mut dyn Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
    ) -> io::Result<bool> {
        let shown = match self.view {
            View::Log => matches!(
                t.kind,
                TransitionKind::State
                    | TransitionKind::Destroy
                    | TransitionKind::Retransmit
                    | TransitionKind::ConnectError
                    | TransitionKind::Drop
            ),
            View::Lifetime => matches!(t.kind, TransitionKind::Destroy | TransitionKind::Drop),
            View::Table => false,
        };
        if !shown {
            return Ok(false);
        }
        let identity: Option<OwnerIdentity> = self
            .identities
            .as_mut()
            .map(|resolver| resolver.identify(applied.owner.as_ref(), t.netns));
        let identity = identity.as_ref();
        match self.format {
            Format::JsonLines => self.json.event(&mut out, t, applied, story, identity)?,
            Format::Text => self
                .text
                .event(&mut out, self.view, t, applied, story, identity)?,
        }
        Ok(true)
    }

    fn lost(&mut self, mut out: &mut dyn Write, lost: u64, ts_ns: u64) -> io::Result<()> {
        match self.format {
            Format::JsonLines => self.json.lost(&mut out, lost, ts_ns),
            Format::Text => writeln!(out, "LOST {lost} events"),
        }
    }

    fn is_table(&self) -> bool {
        self.view == View::Table
    }

    fn table(
        &mut self,
        mut out: &mut dyn Write,
        rows: &mut [(Cookie, &LiveSocket)],
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        // Stable order between refreshes: by local then remote address.
        rows.sort_by_key(|(cookie, s)| (s.local, s.remote, *cookie));
        match self.format {
            Format::JsonLines => self.json.table(&mut out, rows, summary, now_ns),
            Format::Text => self.table.draw(&mut out, rows, summary, now_ns),
        }
    }

    fn failures(
        &mut self,
        mut out: &mut dyn Write,
        failures: &RecentFailures,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        match self.format {
            Format::JsonLines => self.json.failures(&mut out, failures, summary, now_ns),
            Format::Text => self.failures_text(out, failures, summary, now_ns),
        }
    }
}

impl FollowViews {
    /// `--table --failed` as text: a title line, then the `--lifetime` lines of the failures,
    /// newest first.
    fn failures_text(
        &mut self,
        out: &mut dyn Write,
        failures: &RecentFailures,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        let mut out = out;
        self.table
            .failures_title(&mut out, failures, summary, now_ns)?;
        self.text.header(&mut out, View::Lifetime, false)?;
        for failure in failures.newest_first() {
            self.text.event(
                &mut out,
                View::Lifetime,
                &failure.transition,
                &failure.applied,
                &failure.story,
                None,
            )?;
        }
        Ok(())
    }
}

/// Milliseconds the socket has been in its state at `now_ns`, when known.
fn in_state_ms(socket: &LiveSocket, now_ns: u64) -> Option<f64> {
    socket
        .since_ns
        .map(|since| now_ns.saturating_sub(since) as f64 / 1e6)
}

/// `address:port` of a TCP socket as ss writes it: [`push_ip`], then the port as `*` when 0,
/// its tcp service name unless `numeric`, else its number.
fn push_tcp_endpoint(buf: &mut Vec<u8>, addr: SocketAddr, numeric: bool) {
    push_ip(buf, addr.ip(), false);
    buf.push(b':');
    let port = addr.port();
    if port == 0 {
        buf.push(b'*');
        return;
    }
    match (!numeric)
        .then(|| Services::system().name_of(port, Transport::Tcp))
        .flatten()
    {
        Some(name) => buf.extend_from_slice(name.as_bytes()),
        None => push_u64(buf, port.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_ss_writes_them() {
        let endpoint = |addr: &str| {
            let mut buf = Vec::new();
            push_tcp_endpoint(&mut buf, addr.parse().expect("socket address"), true);
            String::from_utf8(buf).expect("ASCII")
        };
        assert_eq!(endpoint("127.0.0.1:80"), "127.0.0.1:80");
        assert_eq!(endpoint("0.0.0.0:0"), "0.0.0.0:*");
        assert_eq!(endpoint("[::]:22"), "*:22");
        assert_eq!(endpoint("[::1]:7001"), "[::1]:7001");
    }
}
