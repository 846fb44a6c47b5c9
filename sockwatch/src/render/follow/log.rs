//! How follow shows what happens: an event log line a transition, a line a finished
//! connection (--lifetime), or JSON lines of either.
//!
//! Lines are built in one reused buffer without per-field allocation: follow must keep up
//! with hundreds of thousands of events a second.

use std::{
    io,
    io::Write,
    net::{IpAddr, SocketAddr},
};

use serde::Serialize;

use crate::{
    event::{Transition, TransitionKind},
    follow::{
        clock::{TimeText, WallClock},
        table::Applied,
    },
    render::ss::fmt::{push_ipv4, push_ipv6, push_u64},
    system::services::{Services, Transport},
};

/// Which view follow prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// One line a transition.
    Log,
    /// One line a finished connection.
    Lifetime,
    /// The live socket table, redrawn at an interval.
    Table,
}

/// Output format of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    JsonLines,
}

const ADDRESS_WIDTH: usize = 26;
const STATE_WIDTH: usize = 11;

pub struct Printer {
    view: View,
    format: Format,
    time_text: TimeText,
    numeric: bool,
    line: Vec<u8>,
    time: Vec<u8>,
    local: Vec<u8>,
    remote: Vec<u8>,
}

#[derive(Serialize)]
struct JsonEndpoint<'a> {
    address: &'a str,
    port: u16,
}

#[derive(Serialize)]
struct JsonTransition<'a> {
    r#type: &'static str,
    time: &'a str,
    ts_ns: u64,
    cookie: u64,
    netns: u32,
    kind: TransitionKind,
    pid: Option<u32>,
    tid: Option<u32>,
    uid: Option<u32>,
    cgroup: Option<u64>,
    comm: Option<&'a str>,
    local: JsonEndpoint<'a>,
    remote: JsonEndpoint<'a>,
    old_state: &'static str,
    new_state: &'static str,
    ms_in_old_state: Option<f64>,
    lifetime_ms: Option<f64>,
    bytes_acked: Option<u64>,
    bytes_received: Option<u64>,
    total_retrans: Option<u32>,
}

#[derive(Serialize)]
struct JsonLost {
    r#type: &'static str,
    lost: u64,
}

/// Appends `text` left-aligned in `width` columns.
fn push_left(buf: &mut Vec<u8>, text: &[u8], width: usize) {
    buf.extend_from_slice(text);
    buf.resize(buf.len() + width.saturating_sub(text.len()), b' ');
}

/// Appends `text` right-aligned in `width` columns.
fn push_right(buf: &mut Vec<u8>, text: &[u8], width: usize) {
    buf.resize(buf.len() + width.saturating_sub(text.len()), b' ');
    buf.extend_from_slice(text);
}

/// Milliseconds with three decimals (`-` when unknown), right-aligned.
fn push_ms(buf: &mut Vec<u8>, value: Option<f64>, width: usize) {
    let mut text = Vec::with_capacity(16);
    match value {
        Some(ms) => {
            let micros = (ms * 1000.0).round() as u64;
            push_u64(&mut text, micros / 1000);
            text.push(b'.');
            let frac = micros % 1000;
            text.extend_from_slice(&[
                b'0' + (frac / 100) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ]);
        }
        None => text.push(b'-'),
    }
    push_right(buf, &text, width);
}

fn as_str(bytes: &[u8]) -> &str {
    // Only ASCII digits, dots, colons, brackets and service names go into these buffers.
    std::str::from_utf8(bytes).unwrap_or("?")
}

impl Printer {
    pub fn new(view: View, format: Format, clock: WallClock, numeric: bool) -> Printer {
        Printer {
            view,
            format,
            time_text: TimeText::new(clock),
            numeric,
            line: Vec::with_capacity(256),
            time: Vec::with_capacity(16),
            local: Vec::with_capacity(64),
            remote: Vec::with_capacity(64),
        }
    }

    /// `addr:port` as ss prints it (IPv6 in brackets, the port as a tcp service name unless
    /// -n); in JSON only the address.
    fn push_endpoint(buf: &mut Vec<u8>, addr: &SocketAddr, numeric: Option<bool>) {
        buf.clear();
        match addr.ip() {
            IpAddr::V4(ip) => push_ipv4(buf, ip),
            IpAddr::V6(ip) => {
                if numeric.is_some() {
                    buf.push(b'[');
                }
                push_ipv6(buf, ip);
                if numeric.is_some() {
                    buf.push(b']');
                }
            }
        }
        let Some(numeric) = numeric else {
            return;
        };
        buf.push(b':');
        let port = addr.port();
        match (!numeric && port != 0)
            .then(|| Services::system().name_of(port, Transport::Tcp))
            .flatten()
        {
            Some(name) => buf.extend_from_slice(name.as_bytes()),
            None => push_u64(buf, port.into()),
        }
    }

    pub fn header(&self, out: &mut impl Write) -> io::Result<()> {
        if self.format == Format::JsonLines {
            return Ok(());
        }
        let mut line = Vec::with_capacity(160);
        push_left(&mut line, b"TIME", 15);
        line.push(b' ');
        push_right(&mut line, b"PID", 7);
        line.push(b' ');
        push_left(&mut line, b"COMM", 16);
        line.push(b' ');
        push_left(&mut line, b"LOCAL", ADDRESS_WIDTH);
        line.push(b' ');
        push_left(&mut line, b"REMOTE", ADDRESS_WIDTH);
        line.push(b' ');
        match self.view {
            View::Table => return Ok(()),
            View::Log => {
                push_left(&mut line, b"OLD", STATE_WIDTH);
                line.extend_from_slice(b" -> ");
                push_left(&mut line, b"NEW", STATE_WIDTH);
                line.push(b' ');
                push_right(&mut line, b"MS", 9);
            }
            View::Lifetime => {
                for (title, width) in [(&b"TX_BYTES"[..], 10), (b"RX_BYTES", 10), (b"RETRANS", 7)] {
                    push_right(&mut line, title, width);
                    line.push(b' ');
                }
                push_right(&mut line, b"MS", 10);
            }
        }
        line.push(b'\n');
        out.write_all(&line)
    }

    /// Prints one transition if the view shows it; says whether it did.
    pub fn transition(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<bool> {
        let shown = match self.view {
            View::Log => matches!(t.kind, TransitionKind::State | TransitionKind::Destroy),
            View::Lifetime => t.kind == TransitionKind::Destroy,
            View::Table => false,
        };
        if !shown {
            return Ok(false);
        }
        self.time.clear();
        self.time_text.push(&mut self.time, t.ts_ns);
        match self.format {
            Format::JsonLines => self.write_json(out, t, applied)?,
            Format::Text => self.write_text(out, t, applied)?,
        }
        Ok(true)
    }

    fn write_json(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<()> {
        let owner = applied.owner.as_ref();
        Self::push_endpoint(&mut self.local, &t.local, None);
        Self::push_endpoint(&mut self.remote, &t.remote, None);
        let line = JsonTransition {
            r#type: match t.kind {
                TransitionKind::State => "transition",
                TransitionKind::Destroy => "destroy",
                TransitionKind::Owner => "owner",
                TransitionKind::Snapshot => "snapshot",
            },
            time: as_str(&self.time),
            ts_ns: t.ts_ns,
            cookie: t.cookie.0,
            netns: t.netns,
            kind: t.kind,
            pid: owner.map(|o| o.pid),
            tid: owner.map(|o| o.tid),
            uid: owner.map(|o| o.uid),
            cgroup: owner.map(|o| o.cgroup),
            comm: owner.map(|o| o.comm.as_str()),
            local: JsonEndpoint {
                address: as_str(&self.local),
                port: t.local.port(),
            },
            remote: JsonEndpoint {
                address: as_str(&self.remote),
                port: t.remote.port(),
            },
            old_state: t.old.kernel_name(),
            new_state: t.new.kernel_name(),
            ms_in_old_state: applied.ms_in_old_state,
            lifetime_ms: applied.lifetime_ms,
            bytes_acked: t.close.map(|c| c.bytes_acked),
            bytes_received: t.close.map(|c| c.bytes_received),
            total_retrans: t.close.map(|c| c.total_retrans),
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line)?;
        self.line.push(b'\n');
        out.write_all(&self.line)
    }

    fn write_text(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        push_left(line, &self.time, 15);
        line.push(b' ');
        let mut pid = Vec::with_capacity(10);
        match &applied.owner {
            Some(owner) => push_u64(&mut pid, owner.pid.into()),
            None => pid.push(b'-'),
        }
        push_right(line, &pid, 7);
        line.push(b' ');
        let comm = applied.owner.as_ref().map_or("-", |o| o.comm.as_str());
        push_left(line, comm.as_bytes(), 16);
        line.push(b' ');
        Self::push_endpoint(&mut self.local, &t.local, Some(self.numeric));
        Self::push_endpoint(&mut self.remote, &t.remote, Some(self.numeric));
        push_left(line, &self.local, ADDRESS_WIDTH);
        line.push(b' ');
        push_left(line, &self.remote, ADDRESS_WIDTH);
        line.push(b' ');
        match self.view {
            View::Lifetime => {
                let close = t.close.unwrap_or_default();
                for (value, width) in [
                    (close.bytes_acked, 10),
                    (close.bytes_received, 10),
                    (close.total_retrans.into(), 7),
                ] {
                    let mut text = Vec::with_capacity(20);
                    push_u64(&mut text, value);
                    push_right(line, &text, width);
                    line.push(b' ');
                }
                push_ms(line, applied.lifetime_ms, 10);
            }
            _ => {
                push_left(line, t.old.kernel_name().as_bytes(), STATE_WIDTH);
                line.extend_from_slice(b" -> ");
                let new = match t.kind {
                    TransitionKind::Destroy => "DESTROYED",
                    _ => t.new.kernel_name(),
                };
                push_left(line, new.as_bytes(), STATE_WIDTH);
                line.push(b' ');
                push_ms(line, applied.ms_in_old_state, 9);
            }
        }
        line.push(b'\n');
        out.write_all(line)
    }

    /// Reports events the kernel could not deliver.
    pub fn lost(&self, out: &mut impl Write, lost: u64) -> io::Result<()> {
        match self.format {
            Format::JsonLines => {
                serde_json::to_writer(
                    &mut *out,
                    &JsonLost {
                        r#type: "lost",
                        lost,
                    },
                )?;
                writeln!(out)
            }
            Format::Text => writeln!(out, "LOST {lost} events"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_millisecond_text() {
        let mut buf = Vec::new();
        push_ms(&mut buf, Some(0.0884), 9);
        push_ms(&mut buf, None, 3);
        push_ms(&mut buf, Some(93265.3444), 10);
        assert_eq!(String::from_utf8_lossy(&buf), "    0.088  - 93265.344");
        let mut buf = Vec::new();
        push_left(&mut buf, b"ab", 4);
        push_right(&mut buf, b"cd", 4);
        push_left(&mut buf, b"toolong", 3);
        assert_eq!(String::from_utf8_lossy(&buf), "ab    cdtoolong");
    }
}
