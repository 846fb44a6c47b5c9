//! top's `-b --json`: one JSON document a frame, on one line (docs/json-schema.md, "top").

use std::{
    cell::RefCell,
    io::{self, Write},
    net::SocketAddr,
};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::{
    follow::clock::WallClock,
    render::json::{ip_text, serialize_outside_text, InetJson, SCHEMA_VERSION},
    top::frame::{Connection, Frame, Group, Process, Rates},
};

/// Writes `frame` as one line of JSON, straight into `out`: a frame of 10,000 connections is
/// megabytes, which a line buffer of its own would only copy again. `out` should buffer
/// (top's standard output does).
pub fn write_frame(out: &mut impl Write, frame: &Frame, clock: &WallClock) -> io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &FrameJson {
            frame,
            time: {
                let mut time = Vec::with_capacity(32);
                clock.push_rfc3339(&mut time, frame.ts_ns);
                String::from_utf8_lossy(&time).into_owned()
            },
        },
    )?;
    out.write_all(b"\n")
}

struct FrameJson<'a> {
    frame: &'a Frame,
    time: String,
}

struct Endpoint(SocketAddr);

thread_local! {
    /// The text of the address being written: one buffer for the thousands of endpoints of
    /// a frame, rather than one allocated for each.
    static ADDRESS: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(48));
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ADDRESS.with_borrow_mut(|buf| {
            InetJson {
                address: ip_text(buf, self.0.ip()),
                port: self.0.port(),
            }
            .serialize(serializer)
        })
    }
}

struct Failures<'a>(&'a [(&'static str, u64)]);

impl Serialize for Failures<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (reason, n) in self.0 {
            map.serialize_entry(reason, n)?;
        }
        map.end()
    }
}

fn rates<M: SerializeMap>(map: &mut M, rates: &Rates) -> Result<(), M::Error> {
    map.serialize_entry("rx_bytes_per_s", &rates.rx_bytes)?;
    map.serialize_entry("tx_bytes_per_s", &rates.tx_bytes)?;
    map.serialize_entry("retransmits_per_s", &rates.retransmits)
}

fn process<M: SerializeMap>(map: &mut M, process: &Option<Process>) -> Result<(), M::Error> {
    map.serialize_entry("pid", &process.as_ref().map(|p| p.pid))?;
    serialize_outside_text(
        map,
        "comm",
        "comm_hex",
        process.as_ref().map(|p| &p.comm[..]),
    )
}

struct Rows<'a, T>(&'a [T]);

impl<T> Serialize for Rows<'_, T>
where
    for<'b> RowJson<'b, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(&RowJson(row))?;
        }
        seq.end()
    }
}

struct RowJson<'a, T>(&'a T);

impl Serialize for RowJson<'_, Connection> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("cookie", &c.cookie.0)?;
        map.serialize_entry("local", &Endpoint(c.local))?;
        map.serialize_entry("peer", &Endpoint(c.peer))?;
        map.serialize_entry("state", c.state.kernel_name())?;
        process(&mut map, &c.process)?;
        rates(&mut map, &c.rates)?;
        map.serialize_entry("srtt_ms", &c.srtt_ms)?;
        map.serialize_entry("age_ms", &c.age_ms)?;
        map.end()
    }
}

fn group<M: SerializeMap, K>(map: &mut M, g: &Group<K>) -> Result<(), M::Error> {
    map.serialize_entry("open", &g.open)?;
    map.serialize_entry("opened_per_s", &g.opened_per_s)?;
    map.serialize_entry("closed_per_s", &g.closed_per_s)?;
    map.serialize_entry("failures", &Failures(&g.failures))?;
    rates(map, &g.rates)
}

impl Serialize for RowJson<'_, Group<Option<Process>>> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        process(&mut map, &self.0.key)?;
        group(&mut map, self.0)?;
        map.end()
    }
}

impl Serialize for RowJson<'_, Group<SocketAddr>> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("peer", &Endpoint(self.0.key))?;
        group(&mut map, self.0)?;
        map.end()
    }
}

struct Totals<'a>(&'a Frame);

impl Serialize for Totals<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = &self.0.totals;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sockets", &t.by_state.iter().map(|(_, n)| n).sum::<u64>())?;
        map.serialize_entry("by_state", &ByState(&t.by_state))?;
        map.serialize_entry("opened_per_s", &t.opened_per_s)?;
        map.serialize_entry("closed_per_s", &t.closed_per_s)?;
        map.serialize_entry("failures", &t.failures.as_deref().map(Failures))?;
        map.serialize_entry("events_lost", &t.events_lost)?;
        rates(&mut map, &t.rates)?;
        map.end()
    }
}

struct ByState<'a>(&'a [(crate::model::SockState, u64)]);

impl Serialize for ByState<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (state, n) in self.0 {
            map.serialize_entry(state.kernel_name(), n)?;
        }
        map.end()
    }
}

impl Serialize for FrameJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let f = self.frame;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        map.serialize_entry("type", "frame")?;
        map.serialize_entry("time", &self.time)?;
        map.serialize_entry("ts_ns", &f.ts_ns)?;
        map.serialize_entry("interval_ms", &f.interval_ms)?;
        map.serialize_entry("degraded", &f.degraded)?;
        map.serialize_entry("totals", &Totals(f))?;
        map.serialize_entry("connections", &Rows(&f.connections))?;
        map.serialize_entry("processes", &Rows(&f.processes))?;
        map.serialize_entry("remotes", &Rows(&f.remotes))?;
        map.end()
    }
}
