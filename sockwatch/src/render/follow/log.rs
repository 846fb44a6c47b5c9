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
        reasons::{errno_name, Story},
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
    reason: Option<&'static str>,
    errno: Option<std::borrow::Cow<'static, str>>,
    detail: Option<&'a str>,
    srtt_us: Option<u32>,
    min_rtt_us: Option<u32>,
    connect_us: Option<u64>,
    owner_from: Option<&'static str>,
    drop_reason: Option<&'static str>,
    count: Option<u64>,
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

/// ` reason (ERRNO) detail` for the line that ends a connection; nothing otherwise.
fn push_reason(buf: &mut Vec<u8>, story: &Story) {
    let Some(reason) = story.reason else {
        return;
    };
    buf.push(b' ');
    buf.extend_from_slice(reason.name().as_bytes());
    if let Some(errno) = story.errno {
        buf.extend_from_slice(b" (");
        buf.extend_from_slice(errno_name(errno).as_bytes());
        buf.push(b')');
    }
    if let Some(detail) = &story.detail {
        buf.push(b' ');
        buf.extend_from_slice(detail.as_bytes());
    }
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
                line.extend_from_slice(b" REASON");
            }
            View::Lifetime => {
                for (title, width) in [
                    (&b"TX_BYTES"[..], 10),
                    (b"RX_BYTES", 10),
                    (b"RETRANS", 7),
                    (b"RTT", 8),
                    (b"CONNECT", 8),
                ] {
                    push_right(&mut line, title, width);
                    line.push(b' ');
                }
                push_right(&mut line, b"MS", 10);
                line.extend_from_slice(b" REASON");
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
        self.time.clear();
        self.time_text.push(&mut self.time, t.ts_ns);
        match self.format {
            Format::JsonLines => self.write_json(out, t, applied, story)?,
            Format::Text => self.write_text(out, t, applied, story)?,
        }
        Ok(true)
    }

    fn write_json(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
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
                TransitionKind::Retransmit => "retransmit",
                TransitionKind::ConnectError => "connect-failed",
                TransitionKind::Drop => "drop",
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
            total_retrans: t.close.map(|c| c.total_retrans).or(t.total_retrans),
            reason: story.reason.map(|r| r.name()),
            errno: story.errno.map(errno_name),
            detail: story.detail.as_deref(),
            srtt_us: t.close.and_then(|c| c.srtt_us),
            min_rtt_us: t.close.and_then(|c| c.min_rtt_us),
            connect_us: story.connect_us,
            owner_from: story.owner_from_listener.then_some("listener"),
            drop_reason: t.dropped.map(|d| d.reason),
            count: t.dropped.map(|d| d.count),
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
        story: &Story,
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
        // The listener's owner: the socket is not accepted (yet).
        if story.owner_from_listener {
            pid.push(b'*');
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
            View::Lifetime if t.kind == TransitionKind::Destroy => {
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
                let us_as_ms = |us: u64| us as f64 / 1000.0;
                push_ms(line, close.srtt_us.map(|us| us_as_ms(us.into())), 8);
                line.push(b' ');
                push_ms(line, story.connect_us.map(us_as_ms), 8);
                line.push(b' ');
                push_ms(line, applied.lifetime_ms, 10);
                push_reason(line, story);
            }
            _ => {
                push_left(line, t.old.kernel_name().as_bytes(), STATE_WIDTH);
                line.extend_from_slice(b" -> ");
                let new = match t.kind {
                    TransitionKind::Destroy => "DESTROYED",
                    TransitionKind::Retransmit => "RETRANSMIT",
                    TransitionKind::ConnectError => "CONNECT_FAILED",
                    TransitionKind::Drop => "DROPPED",
                    _ => t.new.kernel_name(),
                };
                push_left(line, new.as_bytes(), STATE_WIDTH);
                line.push(b' ');
                let ms = match t.kind {
                    TransitionKind::State | TransitionKind::Destroy => applied.ms_in_old_state,
                    _ => None,
                };
                push_ms(line, ms, 9);
                push_reason(line, story);
                if let Some(count) = t.total_retrans {
                    line.extend_from_slice(b" retrans ");
                    push_u64(line, count.into());
                }
                if let Some(dropped) = t.dropped {
                    line.push(b' ');
                    line.extend_from_slice(dropped.reason.as_bytes());
                    line.push(b' ');
                    push_u64(line, dropped.count);
                }
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
