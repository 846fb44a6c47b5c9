//! follow's JSON lines (docs/json-schema.md): a `start` line, then one object a line, each
//! with a `type`: `transition`, `destroy`, `retransmit`, `connect-failed`, `drop`, `lost`,
//! `table`, `failures`. Keys follow sockwatch's one
//! vocabulary; every key of a line type is always present, `null` when unknown.

use std::{
    io::{self, Write},
    net::SocketAddr,
};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::ser::{CompactFormatter, Formatter};

use super::{in_state_ms, View};
use crate::{
    container::OwnerIdentity,
    escape::push_hex_pair,
    event::{Owner, Transition, TransitionKind},
    follow::{
        clock::{UtcText, WallClock},
        failures::{RecentFailures, WINDOW_NS},
        reasons::{errno_name, Story},
        table::{Applied, LiveSocket},
        Summary,
    },
    model::Cookie,
    render::{
        json::{ip_text, serialize_outside_text, InetJson, SCHEMA_VERSION},
        ss::fmt::push_u64,
    },
};

/// Writes JSON lines through one reused buffer.
pub struct JsonLines {
    utc: UtcText,
    line: Vec<u8>,
    time: Vec<u8>,
    local: Vec<u8>,
    sockets: SocketParts,
}

impl JsonLines {
    pub fn new(clock: WallClock) -> JsonLines {
        JsonLines {
            utc: UtcText::new(clock),
            line: Vec::with_capacity(512),
            time: Vec::with_capacity(32),
            local: Vec::with_capacity(48),
            sockets: SocketParts::default(),
        }
    }

    /// `time` of a monotonic timestamp, as RFC 3339 text (ASCII) in `self.time`.
    fn stamp(&mut self, ts_ns: u64) {
        self.time.clear();
        self.utc.push(&mut self.time, ts_ns);
    }

    fn write_line(
        line: &mut Vec<u8>,
        out: &mut impl Write,
        value: &impl Serialize,
    ) -> io::Result<()> {
        line.clear();
        serde_json::to_writer(&mut *line, value)?;
        line.push(b'\n');
        out.write_all(line)
    }

    /// The first line of every JSON stream.
    pub fn start(
        &mut self,
        out: &mut impl Write,
        view: View,
        started_ns: Option<u64>,
    ) -> io::Result<()> {
        if let Some(ns) = started_ns {
            self.stamp(ns);
        }
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        let start = StartJson {
            view,
            started: started_ns.map(|ns| (time, ns)),
        };
        Self::write_line(&mut self.line, out, &start)
    }

    /// A transition, retransmit or failed connect (log view), a destroyed socket or a
    /// listener's drops (log and lifetime views).
    pub fn event(
        &mut self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
        story: &Story,
        identity: Option<&OwnerIdentity>,
    ) -> io::Result<()> {
        self.stamp(t.ts_ns);
        let line = &mut self.line;
        line.clear();
        let mut object = Object::open(line);
        if t.kind == TransitionKind::Drop {
            ip_text(&mut self.local, t.local.ip());
            drop_object(&mut object, &self.time, &self.local, t, applied);
        } else {
            let event = EventJson {
                time: &self.time,
                socket: self
                    .sockets
                    .part(t, applied.owner.as_ref(), &mut self.local),
                t,
                applied,
                story,
                identity,
            };
            event.write(&mut object);
        }
        object.close();
        line.push(b'\n');
        out.write_all(line)
    }

    pub fn lost(&mut self, out: &mut impl Write, lost: u64, ts_ns: u64) -> io::Result<()> {
        self.stamp(ts_ns);
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        Self::write_line(&mut self.line, out, &LostJson { time, ts_ns, lost })
    }

    /// One refresh of `--table --failed`: a `failures` line whose `ends` are the `destroy`
    /// and `drop` lines of the last minute, newest first, as the event log writes them.
    pub fn failures(
        &mut self,
        out: &mut impl Write,
        failures: &RecentFailures,
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        let mut ends = Vec::with_capacity(failures.len() * 512);
        for failure in failures.newest_first() {
            self.event(
                &mut ends,
                &failure.transition,
                &failure.applied,
                &failure.story,
                None,
            )?;
        }
        self.stamp(now_ns);
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        let head = FailuresJson {
            time,
            now_ns,
            summary,
            failures,
        };
        let line = &mut self.line;
        line.clear();
        serde_json::to_writer(&mut *line, &head)?;
        // Each end is one JSON object a line (serde escapes newlines inside strings): the
        // lines become the elements of `ends`.
        line.pop();
        line.extend_from_slice(b",\"ends\":[");
        if ends.pop().is_some() {
            line.extend(ends.iter().map(|&b| if b == b'\n' { b',' } else { b }));
        }
        line.extend_from_slice(b"]}\n");
        out.write_all(line)
    }

    /// One refresh of the live table.
    pub fn table(
        &mut self,
        out: &mut impl Write,
        rows: &[(Cookie, &LiveSocket)],
        summary: &Summary,
        now_ns: u64,
    ) -> io::Result<()> {
        self.stamp(now_ns);
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        let table = TableJson {
            time,
            now_ns,
            rows,
            summary,
        };
        Self::write_line(&mut self.line, out, &table)
    }
}

/// `pid`, `tid`, `uid`, `cgroup_id`, `comm` (and `comm_hex`), null when the owner is unknown.
fn serialize_owner<M: SerializeMap>(map: &mut M, owner: Option<&Owner>) -> Result<(), M::Error> {
    map.serialize_entry("pid", &owner.map(|o| o.pid))?;
    map.serialize_entry("tid", &owner.map(|o| o.tid))?;
    map.serialize_entry("uid", &owner.map(|o| o.uid))?;
    map.serialize_entry("cgroup_id", &owner.map(|o| o.cgroup))?;
    serialize_outside_text(map, "comm", "comm_hex", owner.map(|o| o.comm.as_bytes()))
}

struct StartJson<'a> {
    view: View,
    /// Wall-clock text and monotonic ns of a live start; None for a replay.
    started: Option<(&'a str, u64)>,
}

impl Serialize for StartJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "start")?;
        map.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        let view = match self.view {
            View::Log => "log",
            View::Lifetime => "lifetime",
            View::Table => "table",
        };
        map.serialize_entry("view", view)?;
        let source = if self.started.is_some() {
            "live"
        } else {
            "recording"
        };
        map.serialize_entry("source", source)?;
        map.serialize_entry("time", &self.started.map(|(time, _)| time))?;
        map.serialize_entry("ts_ns", &self.started.map(|(_, ns)| ns))?;
        map.end()
    }
}

/// A key of the vocabulary as [`Object`] writes it: quoted, with its colon.
macro_rules! key {
    ($key:literal) => {
        concat!("\"", $key, "\":")
    };
}

/// One JSON object written straight into a byte buffer, for the lines follow writes for each
/// event: keys are literals of the vocabulary ([`key!`]) and most values numbers or ASCII
/// names, so nothing is escaped that need not be (serde_json escaped every key and wrote
/// each piece separately, which cost more than the rest of follow's user space together).
/// The output is byte for byte what serde_json writes for the same keys and values.
struct Object<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(buf: &'a mut Vec<u8>) -> Object<'a> {
        buf.push(b'{');
        Object { buf, empty: true }
    }

    /// Keys added to an object begun elsewhere (the first gets no comma).
    fn continuing(buf: &'a mut Vec<u8>) -> Object<'a> {
        Object { buf, empty: true }
    }

    fn close(self) {
        self.buf.push(b'}');
    }

    /// Keys and values written beforehand (`"a":1,"b":null`).
    fn fragment(&mut self, keys: &[u8]) {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.extend_from_slice(keys);
    }

    fn key(&mut self, key: &str) {
        self.fragment(key.as_bytes());
    }

    fn null(&mut self, key: &str) {
        self.key(key);
        self.buf.extend_from_slice(b"null");
    }

    fn number(&mut self, key: &str, value: Option<u64>) {
        match value {
            Some(v) => {
                self.key(key);
                push_u64(self.buf, v);
            }
            None => self.null(key),
        }
    }

    /// Floats as serde_json writes them (shortest round trip, `null` when not finite).
    fn float(&mut self, key: &str, value: Option<f64>) {
        match value.filter(|v| v.is_finite()) {
            Some(v) => {
                self.key(key);
                if !push_whole_ns_as_ms(self.buf, v) {
                    // Writing to a Vec cannot fail.
                    let _ = CompactFormatter.write_f64(self.buf, v);
                }
            }
            None => self.null(key),
        }
    }

    /// Text known to need no escaping: the vocabulary's names, numeric addresses, times.
    fn name(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value else {
            return self.null(key);
        };
        debug_assert!(!value.bytes().any(needs_escape), "{value:?}");
        self.key(key);
        self.buf.push(b'"');
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(b'"');
    }

    /// Any text, escaped as JSON requires.
    fn text(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value else {
            return self.null(key);
        };
        self.key(key);
        push_json_string(self.buf, value);
    }

    /// A string from outside sockwatch under `key`, as [`serialize_outside_text`] writes it:
    /// invalid UTF-8 replaced by U+FFFD, and then the raw bytes in hex under `hex_key`.
    fn outside_text(&mut self, key: &str, hex_key: &str, bytes: Option<&[u8]>) {
        let Some(bytes) = bytes else {
            return self.null(key);
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.text(key, Some(text)),
            Err(_) => {
                self.text(key, Some(&String::from_utf8_lossy(bytes)));
                self.key(hex_key);
                self.buf.push(b'"');
                for &b in bytes {
                    push_hex_pair(self.buf, b);
                }
                self.buf.push(b'"');
            }
        }
    }

    /// `pid`, `tid`, `uid`, `cgroup_id`, `comm` (and `comm_hex`), null when the owner is
    /// unknown.
    fn owner(&mut self, owner: Option<&Owner>) {
        self.number(key!("pid"), owner.map(|o| o.pid.into()));
        self.number(key!("tid"), owner.map(|o| o.tid.into()));
        self.number(key!("uid"), owner.map(|o| o.uid.into()));
        self.number(key!("cgroup_id"), owner.map(|o| o.cgroup));
        self.outside_text(
            key!("comm"),
            key!("comm_hex"),
            owner.map(|o| o.comm.as_bytes()),
        );
    }

    /// An inet endpoint (`address` is [`ip_text`]'s), as [`InetJson`] writes it.
    fn endpoint(&mut self, key: &str, address: &[u8], port: u16) {
        self.key(key);
        self.buf.extend_from_slice(b"{\"address\":\"");
        self.buf.extend_from_slice(address);
        self.buf.extend_from_slice(b"\",\"port\":");
        push_u64(self.buf, port.into());
        self.buf.push(b'}');
    }
}

/// Writes `ms` as serde_json would when it is a whole number of nanoseconds in milliseconds
/// (`ns as f64 / 1e6`, as follow's table computes durations) from 10 ns up to 10^9 ms, and
/// says whether it did: the digits of the nanoseconds with the point moved six places.
/// Those are the shortest digits that read back as `ms` (any two decimals of at most 15
/// significant digits are different doubles), and serde_json writes values from 1e-5 to
/// 1e16 without an exponent, a whole number as `N.0`. The general float writer was about a
/// fifth of the cost of an event line.
fn push_whole_ns_as_ms(buf: &mut Vec<u8>, ms: f64) -> bool {
    if !(1e-5..1e9).contains(&ms) {
        return false;
    }
    let ns = (ms * 1e6).round() as u64;
    if ns as f64 / 1e6 != ms {
        return false;
    }
    push_u64(buf, ns / 1_000_000);
    buf.push(b'.');
    let mut fraction = ns % 1_000_000;
    if fraction == 0 {
        buf.push(b'0');
        return true;
    }
    let mut digits = 6;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        digits -= 1;
    }
    let mut text = [b'0'; 6];
    for at in (0..digits).rev() {
        text[at] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    buf.extend_from_slice(&text[..digits]);
    true
}

/// Event lines of one socket share their `cookie` to `peer` keys (a connection's owner and
/// addresses seldom change between its dozen events): each is written once and kept in a
/// small table indexed by cookie, each slot checked against what it was written from.
#[derive(Default)]
struct SocketParts {
    slots: Vec<SocketPart>,
}

#[derive(Default)]
struct SocketPart {
    written_from: Option<(Cookie, u32, Option<Owner>, SocketAddr, SocketAddr)>,
    keys: Vec<u8>,
}

/// Slots of [`SocketParts`] (a power of two): more than the sockets a churn has events of
/// at once.
const SOCKET_PARTS: usize = 256;

/// The slot of a cookie. Cookies come in per-CPU runs: a multiplicative hash keeps the runs
/// apart.
fn slot_of(cookie: Cookie) -> usize {
    let hash = cookie.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (hash >> (64 - SOCKET_PARTS.trailing_zeros())) as usize
}

impl SocketParts {
    /// `"cookie":..,"netns":..,` the owner's keys, `"local":{..},"peer":{..}` of `t`'s
    /// socket. `text`: a buffer for the addresses' text.
    fn part(&mut self, t: &Transition, owner: Option<&Owner>, text: &mut Vec<u8>) -> &[u8] {
        if self.slots.is_empty() {
            self.slots.resize_with(SOCKET_PARTS, SocketPart::default);
        }
        let slot = &mut self.slots[slot_of(t.cookie)];
        let from = Some((t.cookie, t.netns, owner.copied(), t.local, t.remote));
        if slot.written_from != from {
            slot.keys.clear();
            let mut o = Object::continuing(&mut slot.keys);
            socket_keys(&mut o, t, owner);
            o.endpoint(
                key!("local"),
                ip_text(text, t.local.ip()).as_bytes(),
                t.local.port(),
            );
            o.endpoint(
                key!("peer"),
                ip_text(text, t.remote.ip()).as_bytes(),
                t.remote.port(),
            );
            slot.written_from = from;
        }
        &slot.keys
    }
}

/// Bytes JSON strings must escape.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `text` as a JSON string, escaped as serde_json escapes it.
fn push_json_string(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    let bytes = text.as_bytes();
    let mut clean = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        buf.extend_from_slice(&bytes[clean..i]);
        clean = i + 1;
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => {
                buf.extend_from_slice(b"\\u00");
                push_hex_pair(buf, b);
                continue;
            }
        };
        buf.push(b'\\');
        buf.push(short);
    }
    buf.extend_from_slice(&bytes[clean..]);
    buf.push(b'"');
}

/// A transition, retransmit, failed connect or destroy line.
struct EventJson<'a> {
    /// RFC 3339 text of the event's time.
    time: &'a [u8],
    /// The socket's keys, `cookie` to `peer` ([`SocketParts`]).
    socket: &'a [u8],
    t: &'a Transition,
    applied: &'a Applied,
    story: &'a Story,
    /// --container's keys, when given.
    identity: Option<&'a OwnerIdentity>,
}

impl EventJson<'_> {
    fn write(&self, o: &mut Object) {
        let (t, applied, story) = (self.t, self.applied, self.story);
        // The schema gives the totals on destroy lines only (a transition into CLOSE carries
        // them too, for the table to complete a destroy after a reset).
        let close = t
            .close
            .as_ref()
            .filter(|_| t.kind == TransitionKind::Destroy);
        let kind = match t.kind {
            TransitionKind::Destroy => "destroy",
            TransitionKind::Retransmit => "retransmit",
            TransitionKind::ConnectError => "connect-failed",
            _ => "transition",
        };
        o.name(key!("type"), Some(kind));
        stamp(o, self.time, t);
        o.fragment(self.socket);
        o.name(key!("old_state"), Some(t.old.kernel_name()));
        o.name(key!("new_state"), Some(t.new.kernel_name()));
        o.float(key!("in_old_state_ms"), applied.ms_in_old_state);
        o.float(key!("lifetime_ms"), applied.lifetime_ms);
        let retrans = close.map(|c| c.total_retrans).or(t.total_retrans);
        if close.is_none() && retrans.is_none() {
            // Most lines: every counter null, written at once.
            o.fragment(
                concat!(
                    key!("bytes_acked"),
                    "null,",
                    key!("bytes_received"),
                    "null,",
                    key!("total_retrans"),
                    "null,",
                    key!("srtt_us"),
                    "null,",
                    key!("min_rtt_us"),
                    "null"
                )
                .as_bytes(),
            );
        } else {
            o.number(key!("bytes_acked"), close.map(|c| c.bytes_acked));
            o.number(key!("bytes_received"), close.map(|c| c.bytes_received));
            o.number(key!("total_retrans"), retrans.map(u64::from));
            let srtt = close.and_then(|c| c.srtt_us);
            o.number(key!("srtt_us"), srtt.map(u64::from));
            let min_rtt = close.and_then(|c| c.min_rtt_us);
            o.number(key!("min_rtt_us"), min_rtt.map(u64::from));
        }
        o.number(key!("connect_us"), story.connect_us);
        if story.reason.is_none()
            && story.errno.is_none()
            && story.detail.is_none()
            && !story.owner_from_listener
        {
            // Every line but a connection's end and its accepted socket's first ones.
            o.fragment(
                concat!(
                    key!("reason"),
                    "null,",
                    key!("errno"),
                    "null,",
                    key!("detail"),
                    "null,",
                    key!("owner_from"),
                    "null"
                )
                .as_bytes(),
            );
        } else {
            o.name(key!("reason"), story.reason.map(|r| r.name()));
            o.text(key!("errno"), story.errno.map(errno_name).as_deref());
            o.text(key!("detail"), story.detail.as_deref());
            let owner_from = story.owner_from_listener.then_some("listener");
            o.name(key!("owner_from"), owner_from);
        }
        if let Some(identity) = self.identity {
            o.outside_text(
                key!("cgroup_path"),
                key!("cgroup_path_hex"),
                identity.cgroup_path.as_deref().map(str::as_bytes),
            );
            o.text(key!("container_id"), identity.container_id.as_deref());
            o.text(key!("pod_uid"), identity.pod_uid.as_deref());
            o.outside_text(
                key!("netns_name"),
                key!("netns_name_hex"),
                identity.netns_name.as_deref().map(str::as_bytes),
            );
        }
    }
}

/// `time` and `ts_ns`: what every event line has after `type`.
fn stamp(o: &mut Object, time: &[u8], t: &Transition) {
    o.key(key!("time"));
    o.buf.push(b'"');
    o.buf.extend_from_slice(time);
    o.buf.push(b'"');
    o.number(key!("ts_ns"), Some(t.ts_ns));
}

/// The socket and its owner: what every event line has after its time.
fn socket_keys(o: &mut Object, t: &Transition, owner: Option<&Owner>) {
    o.number(key!("cookie"), Some(t.cookie.0));
    o.number(key!("netns"), Some(t.netns.into()));
    o.owner(owner);
}

/// A listener's drops: the listener (cookie, owner, local address), why, how many.
fn drop_object(o: &mut Object, time: &[u8], local: &[u8], t: &Transition, applied: &Applied) {
    o.name(key!("type"), Some("drop"));
    stamp(o, time, t);
    socket_keys(o, t, applied.owner.as_ref());
    o.endpoint(key!("local"), local, t.local.port());
    o.name(key!("drop_reason"), t.dropped.map(|d| d.reason));
    o.number(key!("count"), t.dropped.map(|d| d.count));
}

struct LostJson<'a> {
    time: &'a str,
    ts_ns: u64,
    lost: u64,
}

impl Serialize for LostJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("type", "lost")?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("ts_ns", &self.ts_ns)?;
        map.serialize_entry("lost", &self.lost)?;
        map.end()
    }
}

struct FailuresJson<'a> {
    time: &'a str,
    now_ns: u64,
    summary: &'a Summary,
    failures: &'a RecentFailures,
}

impl Serialize for FailuresJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "failures")?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("ts_ns", &self.now_ns)?;
        map.serialize_entry("window_s", &(WINDOW_NS / 1_000_000_000))?;
        map.serialize_entry("events", &self.summary.events)?;
        map.serialize_entry("lost", &self.summary.lost)?;
        map.serialize_entry("failed", &self.failures.len())?;
        map.serialize_entry("not_kept", &self.failures.left_out())?;
        map.end()
    }
}

struct TableJson<'a> {
    time: &'a str,
    now_ns: u64,
    rows: &'a [(Cookie, &'a LiveSocket)],
    summary: &'a Summary,
}

impl Serialize for TableJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "table")?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("ts_ns", &self.now_ns)?;
        map.serialize_entry("events", &self.summary.events)?;
        map.serialize_entry("lost", &self.summary.lost)?;
        let sockets: Vec<TableSocketJson> = self
            .rows
            .iter()
            .map(|(cookie, socket)| TableSocketJson {
                cookie: *cookie,
                socket,
                now_ns: self.now_ns,
            })
            .collect();
        map.serialize_entry("sockets", &sockets)?;
        map.end()
    }
}

struct TableSocketJson<'a> {
    cookie: Cookie,
    socket: &'a LiveSocket,
    now_ns: u64,
}

impl Serialize for TableSocketJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.socket;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("cookie", &self.cookie.0)?;
        map.serialize_entry("state", s.state.kernel_name())?;
        let mut text = Vec::with_capacity(48);
        for (key, addr) in [("local", s.local), ("peer", s.remote)] {
            let end = InetJson {
                address: ip_text(&mut text, addr.ip()),
                port: addr.port(),
            };
            map.serialize_entry(key, &end)?;
        }
        map.serialize_entry("in_state_ms", &in_state_ms(s, self.now_ns))?;
        serialize_owner(&mut map, s.owner.as_ref())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        event::{CloseStats, Comm, Dropped},
        follow::{clock::WallClock, reasons::Reason},
        model::SockState,
    };

    fn transition(kind: TransitionKind, local: &str, remote: &str) -> Transition {
        Transition {
            ts_ns: 1_234_567_891_011,
            cookie: Cookie(u64::MAX - 7),
            local: local.parse().expect("addr"),
            remote: remote.parse().expect("addr"),
            netns: 4026531840,
            ..Transition::example(kind, SockState::Close, SockState::SynSent)
        }
    }

    fn owner(comm: &[u8]) -> Owner {
        Owner {
            pid: 4242,
            tid: 4243,
            uid: 0,
            cgroup: 1 << 40,
            comm: Comm::new(comm),
        }
    }

    /// Every line type an event can make, with the values that need care: invalid UTF-8 and
    /// control characters from outside, IPv6, floats, nulls, --container's keys.
    fn lines() -> Vec<String> {
        let mut json = JsonLines::new(WallClock::from_offset(1_765_000_000_000_000_000));
        let mut out = Vec::new();
        let state = transition(TransitionKind::State, "10.0.0.1:40000", "10.0.0.2:7000");
        let applied = Applied {
            ms_in_old_state: Some(0.0884),
            lifetime_ms: None,
            owner: Some(owner(b"\x1b]0;PWNED\n\x07\xff\"\\")),
            matched: true,
        };
        let story = Story {
            connect_us: Some(123),
            owner_from_listener: true,
            ..Story::default()
        };
        json.event(&mut out, &state, &applied, &story, None)
            .expect("to a Vec");

        let mut destroy = transition(TransitionKind::Destroy, "[::1]:443", "[fe80::1:2]:0");
        destroy.old = SockState::FinWait1;
        destroy.new = SockState::Close;
        destroy.close = Some(CloseStats {
            bytes_acked: 5001,
            bytes_received: 0,
            total_retrans: 3,
            srtt_us: Some(17),
            min_rtt_us: None,
        });
        let applied = Applied {
            ms_in_old_state: Some(93265.3444),
            lifetime_ms: Some(1e21),
            owner: Some(owner("cürl".as_bytes())),
            matched: true,
        };
        let story = Story {
            reason: Some(Reason::ResetSent),
            errno: Some(libc::ECONNRESET as u16),
            detail: Some("tcp-\"odd\"\\\u{1}\u{8}\u{c}\r\t\u{1f}/".into()),
            connect_us: None,
            owner_from_listener: false,
        };
        let identity = OwnerIdentity {
            cgroup_path: Some("/sys\tpath".into()),
            container_id: Some("abc".into()),
            pod_uid: None,
            netns_name: Some("ns é".into()),
        };
        json.event(&mut out, &destroy, &applied, &story, Some(&identity))
            .expect("to a Vec");

        let mut retransmit = transition(TransitionKind::Retransmit, "127.0.0.1:1", "127.0.0.1:2");
        retransmit.total_retrans = Some(9);
        let nothing = Applied {
            ms_in_old_state: None,
            lifetime_ms: Some(0.0),
            owner: None,
            matched: false,
        };
        json.event(&mut out, &retransmit, &nothing, &Story::default(), None)
            .expect("to a Vec");

        let failed = transition(TransitionKind::ConnectError, "0.0.0.0:0", "192.0.2.1:80");
        let story = Story {
            reason: Some(Reason::Unreachable),
            errno: Some(libc::ENETUNREACH as u16),
            ..Story::default()
        };
        json.event(&mut out, &failed, &nothing, &story, None)
            .expect("to a Vec");

        let mut drop = transition(TransitionKind::Drop, "127.0.0.1:8080", "0.0.0.0:0");
        drop.dropped = Some(Dropped {
            count: 12,
            reason: "listen-overflow",
        });
        let listener = Applied {
            owner: Some(owner(b"server")),
            ..nothing
        };
        json.event(&mut out, &drop, &listener, &Story::default(), None)
            .expect("to a Vec");
        let no_drop = transition(TransitionKind::Drop, "[::]:80", "[::]:0");
        json.event(&mut out, &no_drop, &nothing, &Story::default(), None)
            .expect("to a Vec");

        String::from_utf8(out)
            .expect("JSON is UTF-8")
            .lines()
            .map(String::from)
            .collect()
    }

    /// Durations as the table computes them (`ns as f64 / 1e6`) and others: the digits
    /// serde_json writes for each.
    #[test]
    fn milliseconds_are_written_as_serde_json_writes_them() {
        let serde_text = |v: f64| {
            let mut buf = Vec::new();
            CompactFormatter.write_f64(&mut buf, v).expect("to a Vec");
            String::from_utf8(buf).expect("ASCII")
        };
        let mut ns: Vec<u64> = (0..100_000).collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            // xorshift: nanoseconds of every magnitude up to past the fast path's end.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x % 10u64.pow((x % 17) as u32 + 1));
        }
        for power in 0..19 {
            let p = 10u64.pow(power);
            ns.extend([p - 1, p, p + 1, 999_999_999_999_999, 1_000_000_000_000_000]);
        }
        for n in ns {
            let ms = n as f64 / 1e6;
            let mut buf = Vec::new();
            if push_whole_ns_as_ms(&mut buf, ms) {
                assert_eq!(
                    String::from_utf8(buf).expect("ASCII"),
                    serde_text(ms),
                    "{n} ns"
                );
            } else {
                assert!(
                    !(10..1_000_000_000_000_000).contains(&n),
                    "{n} ns not written"
                );
            }
        }
        // Not whole nanoseconds, out of range: left to serde_json.
        for v in [0.1234567, 1e-7, 1e21, -1.0, 0.000_009_9, 2.5e-3 / 7.0] {
            assert!(
                !push_whole_ns_as_ms(&mut Vec::new(), v) || {
                    let mut buf = Vec::new();
                    push_whole_ns_as_ms(&mut buf, v);
                    String::from_utf8(buf).expect("ASCII") == serde_text(v)
                }
            );
        }
    }

    /// A socket's kept keys are rewritten when its owner or addresses change, and when another
    /// socket takes its slot: each line is the one a fresh writer makes.
    #[test]
    fn kept_socket_keys_follow_every_change() {
        let clock = WallClock::from_offset(1_765_000_000_000_000_000);
        let mut kept = JsonLines::new(clock);
        let first = transition(TransitionKind::State, "10.0.0.1:40000", "10.0.0.2:7000");
        let neighbour = (1..)
            .map(|n| Cookie(first.cookie.0.wrapping_add(n)))
            .find(|&c| slot_of(c) == slot_of(first.cookie))
            .expect("a cookie in the same slot");
        let mut events = Vec::new();
        for (i, owner) in [
            None,
            Some(owner(b"one")),
            Some(owner(b"one")),
            Some(owner(b"two")),
        ]
        .into_iter()
        .enumerate()
        {
            let mut t = first.clone();
            t.ts_ns += i as u64;
            events.push((t, owner));
        }
        let mut moved = first.clone();
        moved.remote = "[::1]:9".parse().expect("addr");
        events.push((moved.clone(), Some(owner(b"two"))));
        let mut other = moved.clone();
        other.cookie = neighbour;
        events.push((other, Some(owner(b"two"))));
        events.push((moved, Some(owner(b"two"))));
        for (t, owner) in events {
            let applied = Applied {
                ms_in_old_state: Some(1.5),
                lifetime_ms: None,
                owner,
                matched: true,
            };
            let story = Story::default();
            let mut from_kept = Vec::new();
            kept.event(&mut from_kept, &t, &applied, &story, None)
                .expect("to a Vec");
            let mut fresh = Vec::new();
            JsonLines::new(clock)
                .event(&mut fresh, &t, &applied, &story, None)
                .expect("to a Vec");
            assert_eq!(String::from_utf8(from_kept), String::from_utf8(fresh));
        }
    }

    /// The lines as serde_json wrote them before follow wrote them by hand: the same bytes.
    #[test]
    fn event_lines_are_byte_for_byte_serde_json_lines() {
        let expected = [
            r#"{"type":"transition","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":4242,"tid":4243,"uid":0,"cgroup_id":1099511627776,"comm":"\u001b]0;PWNED\n\u0007�\"\\","comm_hex":"1b5d303b50574e45440a07ff225c","local":{"address":"10.0.0.1","port":40000},"peer":{"address":"10.0.0.2","port":7000},"old_state":"CLOSE","new_state":"SYN_SENT","in_old_state_ms":0.0884,"lifetime_ms":null,"bytes_acked":null,"bytes_received":null,"total_retrans":null,"srtt_us":null,"min_rtt_us":null,"connect_us":123,"reason":null,"errno":null,"detail":null,"owner_from":"listener"}"#,
            r#"{"type":"destroy","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":4242,"tid":4243,"uid":0,"cgroup_id":1099511627776,"comm":"cürl","local":{"address":"::1","port":443},"peer":{"address":"fe80::1:2","port":0},"old_state":"FIN_WAIT1","new_state":"CLOSE","in_old_state_ms":93265.3444,"lifetime_ms":1e+21,"bytes_acked":5001,"bytes_received":0,"total_retrans":3,"srtt_us":17,"min_rtt_us":null,"connect_us":null,"reason":"reset-sent","errno":"ECONNRESET","detail":"tcp-\"odd\"\\\u0001\b\f\r\t\u001f/","owner_from":null,"cgroup_path":"/sys\tpath","container_id":"abc","pod_uid":null,"netns_name":"ns é"}"#,
            r#"{"type":"retransmit","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":null,"tid":null,"uid":null,"cgroup_id":null,"comm":null,"local":{"address":"127.0.0.1","port":1},"peer":{"address":"127.0.0.1","port":2},"old_state":"CLOSE","new_state":"SYN_SENT","in_old_state_ms":null,"lifetime_ms":0.0,"bytes_acked":null,"bytes_received":null,"total_retrans":9,"srtt_us":null,"min_rtt_us":null,"connect_us":null,"reason":null,"errno":null,"detail":null,"owner_from":null}"#,
            r#"{"type":"connect-failed","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":null,"tid":null,"uid":null,"cgroup_id":null,"comm":null,"local":{"address":"0.0.0.0","port":0},"peer":{"address":"192.0.2.1","port":80},"old_state":"CLOSE","new_state":"SYN_SENT","in_old_state_ms":null,"lifetime_ms":0.0,"bytes_acked":null,"bytes_received":null,"total_retrans":null,"srtt_us":null,"min_rtt_us":null,"connect_us":null,"reason":"unreachable","errno":"ENETUNREACH","detail":null,"owner_from":null}"#,
            r#"{"type":"drop","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":4242,"tid":4243,"uid":0,"cgroup_id":1099511627776,"comm":"server","local":{"address":"127.0.0.1","port":8080},"drop_reason":"listen-overflow","count":12}"#,
            r#"{"type":"drop","time":"2025-12-06T06:07:14.567891Z","ts_ns":1234567891011,"cookie":18446744073709551608,"netns":4026531840,"pid":null,"tid":null,"uid":null,"cgroup_id":null,"comm":null,"local":{"address":"::","port":80},"drop_reason":null,"count":null}"#,
        ];
        let lines = lines();
        assert_eq!(lines.len(), expected.len());
        for (line, expected) in lines.iter().zip(expected) {
            assert_eq!(line, expected);
            let _: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        }
    }
}
