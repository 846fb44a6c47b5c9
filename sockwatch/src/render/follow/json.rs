//! follow's JSON lines (docs/json-schema.md): a `start` line, then one object a line, each
//! with a `type`: `transition`, `destroy`, `retransmit`, `connect-failed`, `drop`, `lost`,
//! `table`, `failures`. Keys follow sockwatch's one
//! vocabulary; every key of a line type is always present, `null` when unknown.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{in_state_ms, View};
use crate::{
    container::OwnerIdentity,
    event::{Owner, Transition, TransitionKind},
    follow::{
        clock::{UtcText, WallClock},
        failures::{RecentFailures, WINDOW_NS},
        reasons::{errno_name, Story},
        table::{Applied, LiveSocket},
        Summary,
    },
    model::Cookie,
    render::json::{ip_text, serialize_outside_text, InetJson, SCHEMA_VERSION},
};

/// Writes JSON lines through one reused buffer.
pub struct JsonLines {
    utc: UtcText,
    line: Vec<u8>,
    time: Vec<u8>,
    local: Vec<u8>,
    peer: Vec<u8>,
}

impl JsonLines {
    pub fn new(clock: WallClock) -> JsonLines {
        JsonLines {
            utc: UtcText::new(clock),
            line: Vec::with_capacity(512),
            time: Vec::with_capacity(32),
            local: Vec::with_capacity(48),
            peer: Vec::with_capacity(48),
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
        let time = std::str::from_utf8(&self.time).unwrap_or_default();
        let local = ip_text(&mut self.local, t.local.ip());
        if t.kind == TransitionKind::Drop {
            return Self::write_line(
                &mut self.line,
                out,
                &DropJson {
                    time,
                    local,
                    t,
                    applied,
                },
            );
        }
        let line = EventJson {
            time,
            local,
            peer: ip_text(&mut self.peer, t.remote.ip()),
            t,
            applied,
            story,
            identity,
        };
        Self::write_line(&mut self.line, out, &line)
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

struct EventJson<'a> {
    time: &'a str,
    /// Numeric text of the local and peer addresses.
    local: &'a str,
    peer: &'a str,
    t: &'a Transition,
    applied: &'a Applied,
    story: &'a Story,
    /// --container's keys, when given.
    identity: Option<&'a OwnerIdentity>,
}

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (t, applied, story) = (self.t, self.applied, self.story);
        // The schema gives the totals on destroy lines only (a transition into CLOSE carries
        // them too, for the table to complete a destroy after a reset).
        let close = t
            .close
            .as_ref()
            .filter(|_| t.kind == TransitionKind::Destroy);
        let mut map = serializer.serialize_map(None)?;
        let kind = match t.kind {
            TransitionKind::Destroy => "destroy",
            TransitionKind::Retransmit => "retransmit",
            TransitionKind::ConnectError => "connect-failed",
            _ => "transition",
        };
        map.serialize_entry("type", kind)?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("ts_ns", &t.ts_ns)?;
        map.serialize_entry("cookie", &t.cookie.0)?;
        map.serialize_entry("netns", &t.netns)?;
        serialize_owner(&mut map, applied.owner.as_ref())?;
        let local = InetJson {
            address: self.local,
            port: t.local.port(),
        };
        map.serialize_entry("local", &local)?;
        let peer = InetJson {
            address: self.peer,
            port: t.remote.port(),
        };
        map.serialize_entry("peer", &peer)?;
        map.serialize_entry("old_state", t.old.kernel_name())?;
        map.serialize_entry("new_state", t.new.kernel_name())?;
        map.serialize_entry("in_old_state_ms", &applied.ms_in_old_state)?;
        map.serialize_entry("lifetime_ms", &applied.lifetime_ms)?;
        map.serialize_entry("bytes_acked", &close.map(|c| c.bytes_acked))?;
        map.serialize_entry("bytes_received", &close.map(|c| c.bytes_received))?;
        let retrans = close.map(|c| c.total_retrans).or(t.total_retrans);
        map.serialize_entry("total_retrans", &retrans)?;
        map.serialize_entry("srtt_us", &close.and_then(|c| c.srtt_us))?;
        map.serialize_entry("min_rtt_us", &close.and_then(|c| c.min_rtt_us))?;
        map.serialize_entry("connect_us", &story.connect_us)?;
        map.serialize_entry("reason", &story.reason.map(|r| r.name()))?;
        map.serialize_entry("errno", &story.errno.map(errno_name))?;
        map.serialize_entry("detail", &story.detail)?;
        let owner_from = story.owner_from_listener.then_some("listener");
        map.serialize_entry("owner_from", &owner_from)?;
        if let Some(identity) = self.identity {
            serialize_outside_text(
                &mut map,
                "cgroup_path",
                "cgroup_path_hex",
                identity.cgroup_path.as_deref().map(str::as_bytes),
            )?;
            map.serialize_entry("container_id", &identity.container_id)?;
            map.serialize_entry("pod_uid", &identity.pod_uid)?;
            serialize_outside_text(
                &mut map,
                "netns_name",
                "netns_name_hex",
                identity.netns_name.as_deref().map(str::as_bytes),
            )?;
        }
        map.end()
    }
}

/// A listener's drops: the listener (cookie, owner, local address), why, how many.
struct DropJson<'a> {
    time: &'a str,
    /// Numeric text of the listener's address.
    local: &'a str,
    t: &'a Transition,
    applied: &'a Applied,
}

impl Serialize for DropJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.t;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "drop")?;
        map.serialize_entry("time", self.time)?;
        map.serialize_entry("ts_ns", &t.ts_ns)?;
        map.serialize_entry("cookie", &t.cookie.0)?;
        map.serialize_entry("netns", &t.netns)?;
        serialize_owner(&mut map, self.applied.owner.as_ref())?;
        let local = InetJson {
            address: self.local,
            port: t.local.port(),
        };
        map.serialize_entry("local", &local)?;
        map.serialize_entry("drop_reason", &t.dropped.map(|d| d.reason))?;
        map.serialize_entry("count", &t.dropped.map(|d| d.count))?;
        map.end()
    }
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
