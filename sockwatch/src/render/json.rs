//! JSON output, in sockwatch's one vocabulary (docs/json-schema.md, schema_version 1): the
//! snapshot document `{"schema_version":1,"sockets":[...]}`, one socket object per line, with
//! the keys the ShowOptions ask for, and the pieces every JSON output shares (endpoints,
//! strings from outside sockwatch). Written straight to the output, socket by socket, so a
//! large snapshot never exists as one JSON value in memory.

use std::{
    fmt,
    io::{self, Write},
    net::IpAddr,
};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{
    ss::fmt::{push_ipv4, push_ipv6},
    ShowOptions,
};
use crate::model::{
    inet_sockopt_names, Endpoint, Netid, SkMemInfo, SockFilter, SockState, SocketRecord,
    SocketUser, TcpInfo, Timer, TimerKind, TipcInfo, UnixName, XdpInfo, XdpStats, XdpUmem,
};

/// The version of the JSON vocabulary: the first key of a document, and of an NDJSON
/// stream's `start` line. Keys are only ever added within one version.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes `records` as one JSON document, ending with a newline.
pub fn write_json<'a, W: Write>(
    out: W,
    records: impl IntoIterator<Item = &'a SocketRecord>,
    show: &ShowOptions,
) -> io::Result<()> {
    let mut writer = JsonWriter::new(out, show);
    for record in records {
        writer.write_record(record)?;
    }
    writer.finish().map(drop)
}

/// [`write_json`] one record at a time, for records that stream in: each socket's object
/// is written as it comes, so memory stays bounded however many sockets there are.
pub struct JsonWriter<'a, W: Write> {
    out: W,
    show: &'a ShowOptions,
    written: usize,
}

impl<'a, W: Write> JsonWriter<'a, W> {
    pub fn new(out: W, show: &'a ShowOptions) -> Self {
        JsonWriter {
            out,
            show,
            written: 0,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        write!(
            self.out,
            "{{\"schema_version\":{SCHEMA_VERSION},\"sockets\":["
        )
    }

    pub fn write_record(&mut self, record: &SocketRecord) -> io::Result<()> {
        if self.written == 0 {
            self.start()?;
        }
        self.out
            .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        self.written += 1;
        let show = self.show;
        serde_json::to_writer(&mut self.out, &SocketJson { record, show })?;
        Ok(())
    }

    /// Closes the document and hands the output back.
    pub fn finish(mut self) -> io::Result<W> {
        if self.written == 0 {
            self.start()?;
        }
        self.out.write_all(b"\n]}\n")?;
        Ok(self.out)
    }
}

/// A string from outside sockwatch (comm, path, name) under `key`: its text, invalid UTF-8
/// replaced by U+FFFD; when the bytes are not UTF-8, also their lowercase hex under
/// `hex_key` (`<key>_hex`), so nothing is lost. `None` writes `null` and no twin.
pub(crate) fn serialize_outside_text<M: SerializeMap>(
    map: &mut M,
    key: &'static str,
    hex_key: &'static str,
    bytes: Option<&[u8]>,
) -> Result<(), M::Error> {
    let Some(bytes) = bytes else {
        return map.serialize_entry(key, &None::<&str>);
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => map.serialize_entry(key, text),
        Err(_) => {
            map.serialize_entry(key, &String::from_utf8_lossy(bytes))?;
            map.serialize_entry(hex_key, &AsJsonString(Hex(bytes)))
        }
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A Display value as a JSON string, written without an intermediate String.
struct AsJsonString<T: fmt::Display>(T);

impl<T: fmt::Display> Serialize for AsJsonString<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// An IP address's numeric text (as `Display` writes it, faster) into `buf`, as a str.
pub(crate) fn ip_text(buf: &mut Vec<u8>, addr: IpAddr) -> &str {
    buf.clear();
    match addr {
        IpAddr::V4(v4) => push_ipv4(buf, v4),
        IpAddr::V6(v6) => push_ipv6(buf, v6),
    }
    // push_ipv4 and push_ipv6 write ASCII only.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// An inet endpoint as every JSON output writes it: `{"address": "127.0.0.1", "port": 80}`;
/// `address` is [`ip_text`]'s.
pub(crate) struct InetJson<'a> {
    pub address: &'a str,
    pub port: u16,
}

impl Serialize for InetJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("address", self.address)?;
        map.serialize_entry("port", &self.port)?;
        map.end()
    }
}

struct SocketJson<'a> {
    record: &'a SocketRecord,
    show: &'a ShowOptions,
}

impl Serialize for SocketJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (r, show) = (self.record, self.show);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("netid", r.netid.ss_name())?;
        map.serialize_entry("state", r.state.kernel_name())?;
        // ss shows packet and netlink sockets as unconnected whatever their state.
        let ss_state = if r.netid.is_packet() || r.netid == Netid::Netlink {
            SockState::Close
        } else {
            r.state
        };
        map.serialize_entry("ss_state", ss_state.ss_name())?;
        map.serialize_entry("recv_q", &r.recv_q)?;
        map.serialize_entry("send_q", &r.send_q)?;
        map.serialize_entry("local", &EndpointJson(&r.local))?;
        map.serialize_entry("peer", &EndpointJson(&r.peer))?;
        // Each option's keys are all present when it is given, null when not reported.
        if show.extended {
            map.serialize_entry("uid", &r.uid)?;
            map.serialize_entry("inode", &r.inode)?;
            map.serialize_entry("cookie", &r.cookie.0)?;
            map.serialize_entry("sk", &r.sk_addr)?;
            map.serialize_entry("mark", &r.mark)?;
            map.serialize_entry("cgroup_id", &r.cgroup_id)?;
            map.serialize_entry("v6only", &r.v6only)?;
            map.serialize_entry("tos", &r.tos)?;
            map.serialize_entry("tclass", &r.tclass)?;
            map.serialize_entry("shutdown", &r.shutdown.map(ShutdownJson))?;
            // What ss -e adds to AF_XDP sockets: rings, UMEM, counters.
            map.serialize_entry("xdp", &r.xdp.as_ref().map(XdpJson))?;
        }
        if show.tipcinfo {
            map.serialize_entry("tipc", &r.tipc.as_ref().map(TipcJson))?;
        }
        if show.timers {
            map.serialize_entry("timer", &r.timer.as_ref().map(TimerJson))?;
        }
        if show.memory {
            map.serialize_entry("skmem", &r.meminfo.as_ref().map(SkMemJson))?;
        }
        if show.info {
            let tcp = r.tcp.as_ref();
            map.serialize_entry("congestion", &tcp.and_then(|t| t.congestion.as_ref()))?;
            map.serialize_entry(
                "tcp_info",
                &tcp.and_then(|t| t.info.as_ref()).map(TcpInfoJson),
            )?;
        }
        if show.inet_sockopt {
            let names = r
                .inet_sockopt
                .map(|bits| inet_sockopt_names(bits).collect::<Vec<_>>());
            map.serialize_entry("inet_sockopt", &names)?;
        }
        if show.bpf {
            let filter = r
                .packet_filter
                .as_ref()
                .map(|insns| insns.iter().map(SockFilterJson).collect::<Vec<_>>());
            map.serialize_entry("bpf_filter", &filter)?;
        }
        if show.processes {
            let users: Vec<UserJson> = r.users.iter().map(UserJson).collect();
            map.serialize_entry("users", &users)?;
        }
        map.end()
    }
}

struct EndpointJson<'a>(&'a Endpoint);

impl Serialize for EndpointJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self.0 {
            Endpoint::Inet { addr, port, scope } => {
                map.serialize_entry("address", &AsJsonString(addr))?;
                map.serialize_entry("port", port)?;
                map.serialize_entry("ifindex", scope)?;
            }
            Endpoint::Unix { name, inode } => {
                match name {
                    Some(UnixName::Path(path)) => {
                        serialize_outside_text(&mut map, "path", "path_hex", Some(path))?
                    }
                    Some(UnixName::Abstract(name)) => {
                        serialize_outside_text(&mut map, "abstract", "abstract_hex", Some(name))?
                    }
                    None => {}
                }
                map.serialize_entry("inode", inode)?;
            }
            Endpoint::Packet { protocol, ifindex } => {
                map.serialize_entry("protocol", protocol)?;
                map.serialize_entry("ifindex", ifindex)?;
            }
            Endpoint::Netlink { protocol, portid } => {
                map.serialize_entry("protocol", protocol)?;
                map.serialize_entry("portid", portid)?;
            }
            Endpoint::Vsock { cid, port } => {
                map.serialize_entry("cid", cid)?;
                map.serialize_entry("port", port)?;
            }
            Endpoint::Tipc(port) => {
                if let Some(port) = port {
                    map.serialize_entry("node", &port.node)?;
                    map.serialize_entry("ref", &port.port)?;
                }
            }
            Endpoint::Xdp { ifindex, queue } => {
                map.serialize_entry("ifindex", ifindex)?;
                map.serialize_entry("queue", queue)?;
            }
        }
        map.end()
    }
}

struct ShutdownJson(u8);

impl Serialize for ShutdownJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("read", &(self.0 & 1 != 0))?;
        map.serialize_entry("write", &(self.0 & 2 != 0))?;
        map.end()
    }
}

struct TipcJson<'a>(&'a TipcInfo);

impl Serialize for TipcJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tipc = self.0;
        // ss --tipcinfo's words, lowercase.
        let sock_type = match tipc.sock_type as i32 {
            libc::SOCK_STREAM => "stream",
            libc::SOCK_DGRAM => "dgram",
            libc::SOCK_RDM => "rdm",
            libc::SOCK_SEQPACKET => "seqpacket",
            _ => "unknown",
        };
        let congestion = match (tipc.link_congested, tipc.conn_congested) {
            (true, _) => "link",
            (false, true) => "conn",
            (false, false) => "none",
        };
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("type", sock_type)?;
        map.serialize_entry("congestion", congestion)?;
        map.serialize_entry("drops", &tipc.drops)?;
        map.serialize_entry("published", &tipc.published)?;
        map.serialize_entry("via", &tipc.via.map(TipcServiceJson))?;
        map.end()
    }
}

/// The service name a TIPC connection was made to: `{"type", "instance"}`.
struct TipcServiceJson((u32, u32));

impl Serialize for TipcServiceJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (service, instance) = self.0;
        numbers(
            serializer,
            &[("type", service.into()), ("instance", instance.into())],
        )
    }
}

struct XdpJson<'a>(&'a XdpInfo);

impl Serialize for XdpJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let xdp = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("rx_ring", &xdp.rx_ring)?;
        map.serialize_entry("tx_ring", &xdp.tx_ring)?;
        map.serialize_entry("fill_ring", &xdp.fill_ring)?;
        map.serialize_entry("completion_ring", &xdp.completion_ring)?;
        map.serialize_entry("umem", &xdp.umem.as_ref().map(XdpUmemJson))?;
        map.serialize_entry("stats", &xdp.stats.as_ref().map(XdpStatsJson))?;
        map.end()
    }
}

struct XdpUmemJson<'a>(&'a XdpUmem);

impl Serialize for XdpUmemJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let umem = self.0;
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("id", &umem.id)?;
        map.serialize_entry("size", &umem.size)?;
        map.serialize_entry("num_pages", &umem.num_pages)?;
        map.serialize_entry("chunk_size", &umem.chunk_size)?;
        map.serialize_entry("headroom", &umem.headroom)?;
        map.serialize_entry("ifindex", &umem.ifindex)?;
        map.serialize_entry("queue", &umem.queue_id)?;
        // XDP_DU_F_ZEROCOPY, which ss prints as `zc:`.
        map.serialize_entry("zerocopy", &(umem.flags & 1 != 0))?;
        map.serialize_entry("refs", &umem.refs)?;
        map.end()
    }
}

struct XdpStatsJson<'a>(&'a XdpStats);

impl Serialize for XdpStatsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let stats = self.0;
        numbers(
            serializer,
            &[
                ("rx_dropped", stats.rx_dropped),
                ("rx_invalid", stats.rx_invalid),
                ("rx_full", stats.rx_full),
                ("fill_ring_empty", stats.fill_ring_empty),
                ("tx_invalid", stats.tx_invalid),
                ("tx_ring_empty", stats.tx_ring_empty),
            ],
        )
    }
}

/// An object of numbers, in the order given.
fn numbers<S: Serializer>(serializer: S, fields: &[(&str, u64)]) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(fields.len()))?;
    for (key, value) in fields {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

struct TimerJson<'a>(&'a Timer);

impl Serialize for TimerJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // ss's names for the timers.
        let name = match self.0.kind {
            TimerKind::On => "on",
            TimerKind::Keepalive => "keepalive",
            TimerKind::Timewait => "timewait",
            TimerKind::Persist => "persist",
            TimerKind::Unknown => "unknown",
        };
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("name", name)?;
        map.serialize_entry("expires_ms", &self.0.expires_ms)?;
        map.serialize_entry("retrans", &self.0.retrans)?;
        map.end()
    }
}

struct SkMemJson<'a>(&'a SkMemInfo);

impl Serialize for SkMemJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        numbers(
            serializer,
            &[
                ("rmem_alloc", m.rmem_alloc.into()),
                ("rcvbuf", m.rcvbuf.into()),
                ("wmem_alloc", m.wmem_alloc.into()),
                ("sndbuf", m.sndbuf.into()),
                ("fwd_alloc", m.fwd_alloc.into()),
                ("wmem_queued", m.wmem_queued.into()),
                ("optmem", m.optmem.into()),
                ("backlog", m.backlog.into()),
                ("drops", m.drops.into()),
            ],
        )
    }
}

struct SockFilterJson<'a>(&'a SockFilter);

impl Serialize for SockFilterJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let insn = self.0;
        numbers(
            serializer,
            &[
                ("code", insn.code.into()),
                ("jt", insn.jt.into()),
                ("jf", insn.jf.into()),
                ("k", insn.k.into()),
            ],
        )
    }
}

struct UserJson<'a>(&'a SocketUser);

impl Serialize for UserJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        serialize_outside_text(&mut map, "comm", "comm_hex", Some(&self.0.comm))?;
        map.serialize_entry("pid", &self.0.pid)?;
        if let Some(tid) = self.0.tid {
            map.serialize_entry("tid", &tid)?;
        }
        map.serialize_entry("fd", &self.0.fd)?;
        map.end()
    }
}

/// A tcp_info field's value, in its kernel type.
#[derive(Clone, Copy)]
enum FieldValue {
    Bool(bool),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            FieldValue::Bool(v) => serializer.serialize_bool(v),
            FieldValue::U8(v) => serializer.serialize_u8(v),
            FieldValue::U16(v) => serializer.serialize_u16(v),
            FieldValue::U32(v) => serializer.serialize_u32(v),
            FieldValue::U64(v) => serializer.serialize_u64(v),
        }
    }
}

/// Every tcp_info field with the byte offset just past it in `struct tcp_info`: the kernel
/// sent the field when `TcpInfo::len` reaches that offset.
fn tcp_info_fields(i: &TcpInfo) -> [(&'static str, usize, FieldValue); 61] {
    use FieldValue::{Bool, U16, U32, U64, U8};
    [
        ("state", 1, U8(i.state)),
        ("ca_state", 2, U8(i.ca_state)),
        ("retransmits", 3, U8(i.retransmits)),
        ("probes", 4, U8(i.probes)),
        ("backoff", 5, U8(i.backoff)),
        ("options", 6, U8(i.options)),
        ("snd_wscale", 7, U8(i.snd_wscale)),
        ("rcv_wscale", 7, U8(i.rcv_wscale)),
        (
            "delivery_rate_app_limited",
            8,
            Bool(i.delivery_rate_app_limited),
        ),
        ("fastopen_client_fail", 8, U8(i.fastopen_client_fail)),
        ("rto", 12, U32(i.rto)),
        ("ato", 16, U32(i.ato)),
        ("snd_mss", 20, U32(i.snd_mss)),
        ("rcv_mss", 24, U32(i.rcv_mss)),
        ("unacked", 28, U32(i.unacked)),
        ("sacked", 32, U32(i.sacked)),
        ("lost", 36, U32(i.lost)),
        ("retrans", 40, U32(i.retrans)),
        ("fackets", 44, U32(i.fackets)),
        ("last_data_sent", 48, U32(i.last_data_sent)),
        ("last_ack_sent", 52, U32(i.last_ack_sent)),
        ("last_data_recv", 56, U32(i.last_data_recv)),
        ("last_ack_recv", 60, U32(i.last_ack_recv)),
        ("pmtu", 64, U32(i.pmtu)),
        ("rcv_ssthresh", 68, U32(i.rcv_ssthresh)),
        ("rtt", 72, U32(i.rtt)),
        ("rttvar", 76, U32(i.rttvar)),
        ("snd_ssthresh", 80, U32(i.snd_ssthresh)),
        ("snd_cwnd", 84, U32(i.snd_cwnd)),
        ("advmss", 88, U32(i.advmss)),
        ("reordering", 92, U32(i.reordering)),
        ("rcv_rtt", 96, U32(i.rcv_rtt)),
        ("rcv_space", 100, U32(i.rcv_space)),
        ("total_retrans", 104, U32(i.total_retrans)),
        ("pacing_rate", 112, U64(i.pacing_rate)),
        ("max_pacing_rate", 120, U64(i.max_pacing_rate)),
        ("bytes_acked", 128, U64(i.bytes_acked)),
        ("bytes_received", 136, U64(i.bytes_received)),
        ("segs_out", 140, U32(i.segs_out)),
        ("segs_in", 144, U32(i.segs_in)),
        ("notsent_bytes", 148, U32(i.notsent_bytes)),
        ("min_rtt", 152, U32(i.min_rtt)),
        ("data_segs_in", 156, U32(i.data_segs_in)),
        ("data_segs_out", 160, U32(i.data_segs_out)),
        ("delivery_rate", 168, U64(i.delivery_rate)),
        ("busy_time", 176, U64(i.busy_time)),
        ("rwnd_limited", 184, U64(i.rwnd_limited)),
        ("sndbuf_limited", 192, U64(i.sndbuf_limited)),
        ("delivered", 196, U32(i.delivered)),
        ("delivered_ce", 200, U32(i.delivered_ce)),
        ("bytes_sent", 208, U64(i.bytes_sent)),
        ("bytes_retrans", 216, U64(i.bytes_retrans)),
        ("dsack_dups", 220, U32(i.dsack_dups)),
        ("reord_seen", 224, U32(i.reord_seen)),
        ("rcv_ooopack", 228, U32(i.rcv_ooopack)),
        ("snd_wnd", 232, U32(i.snd_wnd)),
        ("rcv_wnd", 236, U32(i.rcv_wnd)),
        ("rehash", 240, U32(i.rehash)),
        ("total_rto", 242, U16(i.total_rto)),
        ("total_rto_recoveries", 244, U16(i.total_rto_recoveries)),
        ("total_rto_time", 248, U32(i.total_rto_time)),
    ]
}

struct TcpInfoJson<'a>(&'a TcpInfo);

impl Serialize for TcpInfoJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, end, value) in tcp_info_fields(self.0) {
            // Fields past what the kernel sent are unknown, not 0.
            map.serialize_entry(name, &(end <= self.0.len).then_some(value))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cookie, TcpExtra, TipcPort};
    use serde_json::{json, Value};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn tcp_record() -> SocketRecord {
        let mut r = SocketRecord::new(
            Netid::Tcp,
            SockState::Established,
            Endpoint::Inet {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 22,
                scope: 0,
            },
            Endpoint::Inet {
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                port: 40000,
                scope: 3,
            },
        );
        r.recv_q = 1;
        r.send_q = 2;
        r.inode = 4242;
        r.uid = 1000;
        r.cookie = Cookie(77);
        r.mark = Some(0x10);
        r.shutdown = Some(2);
        r.timer = Some(Timer {
            kind: TimerKind::Keepalive,
            expires_ms: 7_199_990,
            retrans: 0,
        });
        r.meminfo = Some(SkMemInfo {
            rcvbuf: 131072,
            drops: 3,
            ..SkMemInfo::default()
        });
        // Field by field, so that TcpExtra may grow.
        let tcp = r.tcp.insert(TcpExtra::default());
        tcp.info = Some(TcpInfo {
            // Up to and including tcpi_rcv_space, as a 2.6-era kernel sends.
            len: 100,
            state: 1,
            rtt: 52,
            rcv_space: 65483,
            total_retrans: 9,
            ..TcpInfo::default()
        });
        tcp.congestion = Some("cubic".to_string());
        r.users = vec![SocketUser {
            comm: b"sshd".to_vec(),
            pid: 10,
            tid: None,
            fd: 3,
        }];
        r
    }

    fn unix_record(name: Option<UnixName>) -> SocketRecord {
        SocketRecord::new(
            Netid::UnixStream,
            SockState::Listen,
            Endpoint::Unix { name, inode: 5 },
            Endpoint::Unix {
                name: None,
                inode: 0,
            },
        )
    }

    fn render(records: &[SocketRecord], show: &ShowOptions) -> Value {
        let mut out = Vec::new();
        write_json(&mut out, records, show).expect("write to a Vec");
        assert!(out.ends_with(b"\n"));
        serde_json::from_slice(&out).expect("valid JSON")
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn empty_snapshot_is_valid() {
        assert_eq!(
            render(&[], &ShowOptions::default()),
            json!({ "schema_version": 1, "sockets": [] })
        );
    }

    #[test]
    fn default_fields_only() {
        let doc = render(&[tcp_record()], &ShowOptions::default());
        let socket = &doc["sockets"][0];
        assert_eq!(
            keys(socket),
            ["local", "netid", "peer", "recv_q", "send_q", "ss_state", "state"]
        );
        assert_eq!(socket["netid"], "tcp");
        assert_eq!(socket["state"], "ESTABLISHED");
        assert_eq!(socket["ss_state"], "ESTAB");
        assert_eq!(socket["recv_q"], 1);
        assert_eq!(
            socket["local"],
            json!({ "address": "127.0.0.1", "port": 22, "ifindex": 0 })
        );
        assert_eq!(
            socket["peer"],
            json!({ "address": "::1", "port": 40000, "ifindex": 3 })
        );
    }

    #[test]
    fn inet_sockopt_and_bpf_filter() {
        let show = ShowOptions {
            inet_sockopt: true,
            bpf: true,
            ..ShowOptions::default()
        };
        let mut record = tcp_record();
        record.inet_sockopt = Some(0b10_0010);
        record.packet_filter = Some(vec![SockFilter {
            code: 6,
            jt: 0,
            jf: 0,
            k: 65535,
        }]);
        let doc = render(&[record, tcp_record()], &show);
        assert_eq!(
            doc["sockets"][0]["inet_sockopt"],
            json!(["is_icsk", "transparent"])
        );
        assert_eq!(
            doc["sockets"][0]["bpf_filter"],
            json!([{ "code": 6, "jt": 0, "jf": 0, "k": 65535 }])
        );
        for key in ["inet_sockopt", "bpf_filter"] {
            assert_eq!(doc["sockets"][1].get(key), Some(&Value::Null), "{key}");
        }
    }

    #[test]
    fn every_option_adds_its_fields() {
        let show = ShowOptions {
            extended: true,
            timers: true,
            memory: true,
            info: true,
            processes: true,
            ..ShowOptions::default()
        };
        let doc = render(&[tcp_record()], &show);
        let socket = &doc["sockets"][0];
        for key in [
            "uid",
            "inode",
            "cookie",
            "mark",
            "shutdown",
            "timer",
            "skmem",
            "congestion",
            "tcp_info",
            "users",
        ] {
            assert!(socket.get(key).is_some(), "missing {key}");
        }
        // Not reported by the kernel: present, null.
        for unknown in ["cgroup_id", "v6only", "tos", "tclass", "sk"] {
            assert_eq!(socket.get(unknown), Some(&Value::Null), "{unknown}");
        }
        assert_eq!(socket["inode"], 4242);
        assert_eq!(socket["cookie"], 77);
        assert_eq!(socket["shutdown"], json!({ "read": false, "write": true }));
        assert_eq!(
            socket["timer"],
            json!({ "name": "keepalive", "expires_ms": 7199990, "retrans": 0 })
        );
        assert_eq!(socket["skmem"]["rcvbuf"], 131072);
        assert_eq!(socket["skmem"]["drops"], 3);
        assert_eq!(keys(&socket["skmem"]).len(), 9);
        assert_eq!(socket["congestion"], "cubic");
        assert_eq!(
            socket["users"],
            json!([{ "comm": "sshd", "pid": 10, "fd": 3 }])
        );
    }

    #[test]
    fn tcp_info_holds_only_what_the_kernel_sent() {
        let show = ShowOptions {
            info: true,
            ..ShowOptions::default()
        };
        let doc = render(&[tcp_record()], &show);
        let info = &doc["sockets"][0]["tcp_info"];
        assert_eq!(info["rtt"], 52);
        assert_eq!(info["rcv_space"], 65483);
        assert_eq!(info["delivery_rate_app_limited"], false);
        assert_eq!(info["total_retrans"], Value::Null, "past len 100");
        assert_eq!(info["pacing_rate"], Value::Null);
        assert_eq!(keys(info).len(), 61);
        let known = info
            .as_object()
            .expect("object")
            .values()
            .filter(|v| !v.is_null());
        assert_eq!(known.count(), 33);

        let mut full = tcp_record();
        if let Some(TcpExtra {
            info: Some(info), ..
        }) = &mut full.tcp
        {
            info.len = 300;
            info.total_rto_time = 5;
        }
        let doc = render(&[full], &show);
        let info = &doc["sockets"][0]["tcp_info"];
        assert_eq!(keys(info).len(), 61);
        assert_eq!(info["total_rto_time"], 5);
        assert_eq!(info["total_retrans"], 9);
    }

    #[test]
    fn unix_endpoints_and_empty_users() {
        let show = ShowOptions {
            processes: true,
            ..ShowOptions::default()
        };
        let records = [
            unix_record(Some(UnixName::Path("/run/x.sock".into()))),
            unix_record(Some(UnixName::Abstract("name\"q".into()))),
            unix_record(None),
        ];
        let doc = render(&records, &show);
        let sockets = doc["sockets"].as_array().expect("array");
        assert_eq!(sockets.len(), 3);
        assert_eq!(sockets[0]["netid"], "u_str");
        assert_eq!(sockets[0]["state"], "LISTEN");
        assert_eq!(sockets[0]["ss_state"], "LISTEN");
        assert_eq!(
            sockets[0]["local"],
            json!({ "path": "/run/x.sock", "inode": 5 })
        );
        assert_eq!(
            sockets[1]["local"],
            json!({ "abstract": "name\"q", "inode": 5 })
        );
        assert_eq!(sockets[2]["local"], json!({ "inode": 5 }));
        assert_eq!(sockets[2]["peer"], json!({ "inode": 0 }));
        assert_eq!(sockets[2]["users"], json!([]));
    }

    #[test]
    fn packet_and_netlink_endpoints() {
        let packet = SocketRecord::new(
            Netid::PacketRaw,
            SockState::Close,
            Endpoint::Packet {
                protocol: 0x0003,
                ifindex: 2,
            },
            Endpoint::Packet {
                protocol: 0,
                ifindex: 0,
            },
        );
        let netlink = SocketRecord::new(
            Netid::Netlink,
            SockState::Close,
            Endpoint::Netlink {
                protocol: 0,
                portid: -4,
            },
            Endpoint::Netlink {
                protocol: 0,
                portid: 0,
            },
        );
        let doc = render(&[packet, netlink], &ShowOptions::default());
        assert_eq!(
            doc["sockets"][0]["local"],
            json!({ "protocol": 3, "ifindex": 2 })
        );
        assert_eq!(
            doc["sockets"][1]["local"],
            json!({ "protocol": 0, "portid": -4 })
        );
        assert_eq!(doc["sockets"][1]["netid"], "nl");
        assert_eq!(doc["sockets"][1]["state"], "CLOSE");
        assert_eq!(doc["sockets"][1]["ss_state"], "UNCONN");
    }

    #[test]
    fn xdp_and_tipc_details_as_ss_shows_them() {
        let mut xdp = SocketRecord::new(
            Netid::Xdp,
            SockState::Close,
            Endpoint::Xdp {
                ifindex: 1,
                queue: 0,
            },
            Endpoint::Xdp {
                ifindex: 0,
                queue: 0,
            },
        );
        xdp.xdp = Some(XdpInfo {
            rx_ring: Some(2048),
            tx_ring: None,
            umem: Some(XdpUmem {
                size: 16384,
                id: 1,
                num_pages: 4,
                chunk_size: 4096,
                headroom: 0,
                ifindex: 1,
                queue_id: 0,
                flags: 0,
                refs: 1,
            }),
            fill_ring: Some(2048),
            completion_ring: Some(2048),
            stats: Some(XdpStats {
                rx_full: 5,
                ..XdpStats::default()
            }),
        });
        let mut tipc = SocketRecord::new(
            Netid::Tipc,
            SockState::Established,
            Endpoint::Tipc(Some(TipcPort { node: 1, port: 2 })),
            Endpoint::Tipc(Some(TipcPort { node: 1, port: 3 })),
        );
        tipc.tipc = Some(TipcInfo {
            sock_type: libc::SOCK_STREAM as u32,
            conn_congested: true,
            drops: 7,
            via: Some((18889, 1)),
            ..TipcInfo::default()
        });
        let records = [xdp, tipc, tcp_record()];
        let extended = ShowOptions {
            extended: true,
            ..ShowOptions::default()
        };
        let doc = render(&records, &extended);
        assert_eq!(
            doc["sockets"][0]["xdp"],
            json!({
                "rx_ring": 2048, "tx_ring": null, "fill_ring": 2048, "completion_ring": 2048,
                "umem": {"id": 1, "size": 16384, "num_pages": 4, "chunk_size": 4096,
                         "headroom": 0, "ifindex": 1, "queue": 0, "zerocopy": false, "refs": 1},
                "stats": {"rx_dropped": 0, "rx_invalid": 0, "rx_full": 5, "fill_ring_empty": 0,
                          "tx_invalid": 0, "tx_ring_empty": 0}
            })
        );
        // Other sockets have the key, null (rule 3); --tipcinfo's key needs --tipcinfo.
        assert_eq!(doc["sockets"][2].get("xdp"), Some(&Value::Null));
        assert_eq!(doc["sockets"][1].get("tipc"), None);
        let tipcinfo = ShowOptions {
            tipcinfo: true,
            ..ShowOptions::default()
        };
        let doc = render(&records, &tipcinfo);
        assert_eq!(
            doc["sockets"][1]["tipc"],
            json!({
                "type": "stream", "congestion": "conn", "drops": 7, "published": false,
                "via": {"type": 18889, "instance": 1}
            })
        );
        assert_eq!(doc["sockets"][2].get("tipc"), Some(&Value::Null));
        assert_eq!(doc["sockets"][0].get("xdp"), None);
    }

    #[test]
    fn options_without_values_write_null() {
        let mut record = unix_record(None);
        record.users.clear();
        let show = ShowOptions {
            extended: true,
            timers: true,
            memory: true,
            info: true,
            ..ShowOptions::default()
        };
        let doc = render(&[record], &show);
        let socket = &doc["sockets"][0];
        for key in [
            "timer",
            "skmem",
            "congestion",
            "tcp_info",
            "mark",
            "shutdown",
        ] {
            assert_eq!(socket.get(key), Some(&Value::Null), "{key}");
        }
    }

    fn outside(bytes: Option<&[u8]>) -> Value {
        struct Text<'a>(Option<&'a [u8]>);
        impl Serialize for Text<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                serialize_outside_text(&mut map, "comm", "comm_hex", self.0)?;
                map.end()
            }
        }
        serde_json::to_value(Text(bytes)).expect("serializable")
    }

    #[test]
    fn unix_paths_that_are_not_utf8_carry_their_bytes() {
        let doc = render(
            &[unix_record(Some(UnixName::Path(b"/tmp/\xff\n".to_vec())))],
            &ShowOptions::default(),
        );
        assert_eq!(
            doc["sockets"][0]["local"],
            json!({ "path": "/tmp/\u{fffd}\n", "path_hex": "2f746d702fff0a", "inode": 5 })
        );
    }

    #[test]
    fn strings_from_outside_are_lossless() {
        assert_eq!(outside(Some(b"curl")), json!({ "comm": "curl" }));
        assert_eq!(outside(None), json!({ "comm": null }));
        // Control characters stay (JSON escapes them); invalid UTF-8 gets its hex twin.
        let hostile = outside(Some(b"\x1b]0;PWNED\n\x07\xff"));
        assert_eq!(
            hostile,
            json!({ "comm": "\u{1b}]0;PWNED\n\u{7}\u{fffd}", "comm_hex": "1b5d303b50574e45440a07ff" })
        );
    }
}
