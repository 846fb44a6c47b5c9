//! The netstat(8) view (net-tools 2.10): the same records in netstat's socket tables, with its
//! headers, column widths, address truncation, state names and timer format.
//!
//! netstat reads /proc/net/{tcp,udp,raw}[6] and /proc/net/unix; these records come from
//! sock_diag, which reports a few things differently. What each column is made from:
//! - Recv-Q/Send-Q: the record's queues, except that a TCP listener's Send-Q is 0 (sock_diag
//!   reports the backlog there; /proc/net/tcp the empty write queue).
//! - Timer: from the record's timer. sock_diag has one counter (`idiag_retrans`) where
//!   /proc/net/tcp has two, so it goes where netstat shows it: retransmits for `on`, probes
//!   (the last number) for `keepalive` and `probe`. UDP and raw show `off (0.00/0/0)`, as the
//!   kernel never runs timers for them.
//! - unix Flags: `[ ACC ]` exactly for listeners (the only flag the kernel ever reports).
//! - unix RefCnt: the kernel's socket reference count, which sock_diag does not report. It is
//!   rebuilt from what holds references: 2 for the socket itself, plus one for each socket
//!   whose peer it is, plus one from a connection not yet accepted (a connected stream socket
//!   whose peer has no inode and which is not shut down). Transient references are missed.
//! - unix State: ESTAB is CONNECTED, SYN-SENT CONNECTING, LISTEN LISTENING, UNCONN blank.
//!   Connections not yet accepted are not sock_diag sockets, so netstat's `CONNECTING` rows
//!   with I-Node 0 have no counterpart.
//! - PID/Program name: the lowest pid among the socket's users (netstat keeps the first
//!   process it meets in /proc), named from its command line as netstat does.

use std::{
    cell::RefCell,
    collections::HashMap,
    io::{self, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use crate::{
    model::{Endpoint, IpVersion, Netid, SockState, SocketRecord, Timer, TimerKind, UnixName},
    procs,
    system::{
        hosts,
        protocols::Protocols,
        services::{Services, Transport},
        users,
    },
};

/// Which sockets netstat lists: the default leaves out servers, -l shows only them, -a all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Listing {
    #[default]
    WithoutServers,
    OnlyServers,
    All,
}

/// What netstat's flags control in its socket tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetstatOptions {
    /// -a, -l.
    pub listing: Listing,
    /// Print the "Active Internet connections" table (tcp, udp, raw; -t -u -w or no selection).
    pub inet: bool,
    /// Print the "Active UNIX domain sockets" table (-x or no selection).
    pub unix: bool,
    /// -n or --numeric-hosts.
    pub numeric_hosts: bool,
    /// -n or --numeric-ports.
    pub numeric_ports: bool,
    /// -n or --numeric-users.
    pub numeric_users: bool,
    /// -W: never truncate addresses.
    pub wide: bool,
    /// -e: User and Inode columns.
    pub extend: bool,
    /// -p: PID/Program name column.
    pub programs: bool,
    /// -o: Timer column.
    pub timers: bool,
}

/// The three internet protocols netstat lists, in its order; also the "proto" its name
/// lookups use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InetProto {
    Tcp,
    Udp,
    Raw,
}

/// Where netstat's names come from: [`SystemNames`] asks the system, tests supply fixed ones.
/// Every lookup returns None when there is no name; the caller then prints the number.
pub trait Names {
    /// Host name of an address (reverse lookup).
    fn host(&self, addr: IpAddr) -> Option<String>;
    /// Network name (networks(5)) of an IPv4 address whose last byte is 0.
    fn network(&self, addr: Ipv4Addr) -> Option<String>;
    /// Service name of a tcp or udp port; for raw sockets the "port" is the IP protocol.
    fn service(&self, port: u16, proto: InetProto) -> Option<String>;
    fn user(&self, uid: u32) -> Option<String>;
    /// The program name netstat shows beside a pid (see [`procs::program_name`]).
    fn program(&self, pid: u32) -> Option<String>;
}

/// Writes the tables `options` asks for. Rows keep the records' order within netstat's
/// grouping: tcp, tcp6, udp, udp6, raw, raw6, then unix.
pub fn write_netstat<W: Write>(
    mut out: W,
    records: &[SocketRecord],
    options: &NetstatOptions,
    names: &dyn Names,
) -> io::Result<()> {
    let table = Table { options, names };
    if options.inet {
        table.write_inet(&mut out, records)?;
    }
    if options.unix {
        table.write_unix(&mut out, records)?;
    }
    Ok(())
}

/// netstat's PROGNAME_WIDTH: the column is this wide, the text one shorter.
const PROGRAM_WIDTH: usize = 20;
/// Address and port together fit in this many bytes plus the ':' (without -W).
const ADDRESS_WIDTH: usize = 22;

struct Table<'a> {
    options: &'a NetstatOptions,
    names: &'a dyn Names,
}

impl Table<'_> {
    fn listing_title(&self) -> &'static str {
        match self.options.listing {
            Listing::All => "(servers and established)",
            Listing::OnlyServers => "(only servers)",
            Listing::WithoutServers => "(w/o servers)",
        }
    }

    fn write_inet(&self, out: &mut impl Write, records: &[SocketRecord]) -> io::Result<()> {
        let options = self.options;
        writeln!(out, "Active Internet connections {}", self.listing_title())?;
        write!(
            out,
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State      "
        )?;
        if options.extend {
            write!(out, " User       Inode     ")?;
        }
        if options.programs {
            write!(out, " {:<PROGRAM_WIDTH$}", "PID/Program name")?;
        }
        if options.timers {
            write!(out, " Timer")?;
        }
        writeln!(out)?;

        let mut rows: Vec<(InetGroup, &SocketRecord)> = records
            .iter()
            .filter_map(|record| Some((InetGroup::of(record)?, record)))
            .filter(|(group, record)| self.shows(is_inet_server(group.proto, record)))
            .collect();
        rows.sort_by_key(|(group, _)| *group);
        for (group, record) in rows {
            self.write_inet_row(out, group, record)?;
        }
        Ok(())
    }

    /// netstat's -a/-l choice.
    fn shows(&self, is_server: bool) -> bool {
        match self.options.listing {
            Listing::All => true,
            Listing::OnlyServers => is_server,
            Listing::WithoutServers => !is_server,
        }
    }

    fn write_inet_row(
        &self,
        out: &mut impl Write,
        group: InetGroup,
        record: &SocketRecord,
    ) -> io::Result<()> {
        let proto = group.proto;
        let send_q = if proto == InetProto::Tcp && record.state == SockState::Listen {
            0
        } else {
            record.send_q
        };
        let state = match proto {
            InetProto::Tcp => tcp_state_name(record.state).to_string(),
            InetProto::Udp => match record.state {
                SockState::Established => "ESTABLISHED".to_string(),
                SockState::Close => String::new(),
                _ => "UNKNOWN".to_string(),
            },
            InetProto::Raw => record.state.kernel().to_string(),
        };
        write!(
            out,
            "{:<5} {:>6} {:>6} {:<23} {:<23} {:<11}",
            group.name(),
            record.recv_q,
            send_q,
            self.inet_address(&record.local, proto),
            self.inet_address(&record.peer, proto),
            state,
        )?;
        if self.options.extend {
            let name = (!self.options.numeric_users)
                .then(|| self.names.user(record.uid))
                .flatten();
            let user = name.unwrap_or_else(|| record.uid.to_string());
            write!(out, " {user:<10} {:<10}", record.inode)?;
        }
        if self.options.programs {
            write!(out, " {:<PROGRAM_WIDTH$}", self.program(record))?;
        }
        if self.options.timers {
            let timer = match proto {
                InetProto::Tcp => tcp_timer(record.timer.as_ref()),
                InetProto::Udp | InetProto::Raw => tcp_timer(None),
            };
            write!(out, " {timer}")?;
        }
        writeln!(out)
    }

    /// `address:port` as netstat prints it, cut to 23 bytes unless -W.
    fn inet_address(&self, endpoint: &Endpoint, proto: InetProto) -> String {
        let Endpoint::Inet { addr, port, .. } = endpoint else {
            return String::new();
        };
        let host = self.host_text(*addr);
        let port = match *port {
            0 => "*".to_string(),
            port if self.options.numeric_ports => port.to_string(),
            port => self
                .names
                .service(port, proto)
                .unwrap_or_else(|| port.to_string()),
        };
        if self.options.wide || host.len() + port.len() <= ADDRESS_WIDTH {
            return format!("{host}:{port}");
        }
        // netstat assumes the port name is the short one: it keeps up to 18 bytes of it.
        let port = truncate(&port, ADDRESS_WIDTH - 4);
        let host = truncate(&host, ADDRESS_WIDTH - port.len());
        format!("{host}:{port}")
    }

    fn host_text(&self, addr: IpAddr) -> String {
        match addr {
            IpAddr::V4(v4) => {
                if self.options.numeric_hosts || v4.is_unspecified() {
                    return v4.to_string();
                }
                // netstat treats x.y.z.0 as a network (its netmask is 255.255.255.0).
                let name = match v4.octets()[3] {
                    0 => self.names.network(v4),
                    _ => self.names.host(addr),
                };
                name.unwrap_or_else(|| v4.to_string())
            }
            IpAddr::V6(v6) => {
                let text = if self.options.numeric_hosts {
                    ipv6_text(v6)
                } else if v6.is_unspecified() {
                    return "[::]".to_string();
                } else {
                    self.names.host(addr).unwrap_or_else(|| ipv6_text(v6))
                };
                strip_v4_mapped_prefix(text, v6)
            }
        }
    }

    fn program(&self, record: &SocketRecord) -> String {
        let mut users: Vec<u32> = record.users.iter().map(|user| user.pid).collect();
        users.sort_unstable();
        users.dedup();
        users
            .into_iter()
            .find_map(|pid| Some(format!("{pid}/{}", self.names.program(pid)?)))
            .map(|text| truncate(&text, PROGRAM_WIDTH - 1).to_string())
            .unwrap_or_else(|| "-".to_string())
    }

    fn write_unix(&self, out: &mut impl Write, records: &[SocketRecord]) -> io::Result<()> {
        writeln!(out, "Active UNIX domain sockets {}", self.listing_title())?;
        write!(
            out,
            "Proto RefCnt Flags       Type       State         I-Node  "
        )?;
        if self.options.programs {
            write!(out, " {:<PROGRAM_WIDTH$}", "PID/Program name")?;
        }
        writeln!(out, " Path")?;

        let unix: Vec<&SocketRecord> = records.iter().filter(|r| r.netid.is_unix()).collect();
        let referenced_by_peers = peer_references(&unix);
        for record in unix {
            let listening = record.state == SockState::Listen;
            if !self.shows(listening) {
                continue;
            }
            let refcnt = 2
                + referenced_by_peers
                    .get(&record.inode)
                    .copied()
                    .unwrap_or_default()
                + u32::from(awaits_accept(record));
            let flags = if listening { "[ ACC ]" } else { "[ ]" };
            write!(
                out,
                "{:<5} {:<6} {:<11} {:<10} {:<13} {:<8}",
                "unix",
                refcnt,
                flags,
                unix_type_name(record.netid),
                unix_state_name(record.state),
                record.inode,
            )?;
            if self.options.programs {
                write!(out, " {:<PROGRAM_WIDTH$}", self.program(record))?;
            }
            writeln!(out, " {}", unix_path(&record.local))?;
        }
        Ok(())
    }
}

/// netstat's server test: a TCP socket is a server when its peer port is 0, a UDP or raw
/// socket when its peer address is unspecified.
fn is_inet_server(proto: InetProto, record: &SocketRecord) -> bool {
    match (proto, &record.peer) {
        (InetProto::Tcp, Endpoint::Inet { port, .. }) => *port == 0,
        (_, Endpoint::Inet { addr, .. }) => addr.is_unspecified(),
        _ => false,
    }
}

/// Where a record goes in netstat's internet table, in its print order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InetGroup {
    proto: InetProto,
    v6: bool,
}

impl InetGroup {
    fn of(record: &SocketRecord) -> Option<InetGroup> {
        let proto = match record.netid {
            Netid::Tcp => InetProto::Tcp,
            Netid::Udp => InetProto::Udp,
            Netid::Raw => InetProto::Raw,
            _ => return None,
        };
        Some(InetGroup {
            proto,
            v6: record.ip_version()? == IpVersion::V6,
        })
    }

    fn name(self) -> &'static str {
        match (self.proto, self.v6) {
            (InetProto::Tcp, false) => "tcp",
            (InetProto::Tcp, true) => "tcp6",
            (InetProto::Udp, false) => "udp",
            (InetProto::Udp, true) => "udp6",
            (InetProto::Raw, false) => "raw",
            (InetProto::Raw, true) => "raw6",
        }
    }
}

/// netstat's TCP state names: the kernel's, with request sockets shown as SYN_RECV (as
/// /proc/net/tcp lists them).
fn tcp_state_name(state: SockState) -> &'static str {
    match state {
        SockState::NewSynRecv => "SYN_RECV",
        SockState::Unknown => "",
        state => state.kernel_name(),
    }
}

/// The Timer column: `kind (seconds/retransmits/probes)`, seconds in netstat's 1/100 s
/// clock ticks.
fn tcp_timer(timer: Option<&Timer>) -> String {
    let Some(timer) = timer else {
        return "off (0.00/0/0)".to_string();
    };
    let ticks = timer.expires_ms / 10;
    let seconds = format!("{}.{:02}", ticks / 100, ticks % 100);
    let count = timer.retrans;
    match timer.kind {
        TimerKind::On => format!("on ({seconds}/{count}/0)"),
        TimerKind::Keepalive => format!("keepalive ({seconds}/0/{count})"),
        TimerKind::Timewait => format!("timewait ({seconds}/0/0)"),
        TimerKind::Persist => format!("probe ({seconds}/0/{count})"),
        // ss's "unknown" is any idiag_timer above 4; 5 stands for it.
        TimerKind::Unknown => format!("unkn-5 ({seconds}/{count}/0)"),
    }
}

/// How many sockets in the table name each inode as their peer.
fn peer_references(unix: &[&SocketRecord]) -> HashMap<u64, u32> {
    let mut counts = HashMap::new();
    for record in unix {
        if let Endpoint::Unix { inode, .. } = record.peer {
            if inode != 0 {
                *counts.entry(inode).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// A connected stream socket whose peer is a connection its server has not accepted yet:
/// that embryo socket has no inode, and holds a reference to this one.
fn awaits_accept(record: &SocketRecord) -> bool {
    let connection_oriented = matches!(record.netid, Netid::UnixStream | Netid::UnixSeqpacket);
    let peer_without_inode = matches!(record.peer, Endpoint::Unix { inode: 0, .. });
    let shut_down = record.shutdown == Some(3);
    connection_oriented
        && record.state == SockState::Established
        && peer_without_inode
        && !shut_down
}

fn unix_type_name(netid: Netid) -> &'static str {
    match netid {
        Netid::UnixStream => "STREAM",
        Netid::UnixDgram => "DGRAM",
        Netid::UnixSeqpacket => "SEQPACKET",
        _ => "UNKNOWN",
    }
}

fn unix_state_name(state: SockState) -> &'static str {
    match state {
        SockState::Established => "CONNECTED",
        SockState::SynSent => "CONNECTING",
        SockState::Listen => "LISTENING",
        SockState::Close => "",
        _ => "UNKNOWN",
    }
}

/// The Path column as netstat shows it: /proc/net/unix writes an abstract name with `@` for
/// each NUL byte, and netstat reads the path with scanf's `%s`, so it ends at white space.
fn unix_path(local: &Endpoint) -> String {
    let full = match local {
        Endpoint::Unix {
            name: Some(UnixName::Path(path)),
            ..
        } => path.clone(),
        Endpoint::Unix {
            name: Some(UnixName::Abstract(name)),
            ..
        } => format!("@{}", name.replace('\0', "@")),
        _ => String::new(),
    };
    full.split(|c: char| c.is_ascii_whitespace() || c == '\x0b')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// IPv6 text as glibc's inet_ntop writes it: like Rust's, except that IPv4-compatible
/// addresses (::a.b.c.d) keep their dotted tail.
pub(crate) fn ipv6_text(addr: Ipv6Addr) -> String {
    let s = addr.segments();
    if s[..6] == [0; 6] && s[6] != 0 {
        let [.., a, b, c, d] = addr.octets();
        return format!("::{}", Ipv4Addr::new(a, b, c, d));
    }
    addr.to_string()
}

/// netstat shows an IPv4-mapped address as the IPv4 address alone: it drops everything up to
/// the last ':' before the first '.' of the text (which leaves host names alone).
pub(crate) fn strip_v4_mapped_prefix(text: String, addr: Ipv6Addr) -> String {
    if addr.to_ipv4_mapped().is_none() {
        return text;
    }
    let Some(dot) = text.find('.') else {
        return text;
    };
    match text[..dot].rfind(':') {
        Some(colon) => text[colon + 1..].to_string(),
        None => text,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Names from the system, each looked up once: hosts and networks through the C library
/// (so /etc/hosts, DNS and the rest of nsswitch.conf apply, as for netstat), services from
/// /etc/services, IP protocols from /etc/protocols, users from the passwd database, programs
/// from /proc.
#[derive(Default)]
pub struct SystemNames {
    hosts: RefCell<HashMap<IpAddr, Option<String>>>,
    users: RefCell<HashMap<u32, Option<String>>>,
    programs: RefCell<HashMap<u32, Option<String>>>,
}

impl SystemNames {
    pub fn new() -> SystemNames {
        SystemNames::default()
    }
}

impl Names for SystemNames {
    fn host(&self, addr: IpAddr) -> Option<String> {
        self.hosts
            .borrow_mut()
            .entry(addr)
            .or_insert_with(|| hosts::name_of(addr))
            .clone()
    }

    fn network(&self, addr: Ipv4Addr) -> Option<String> {
        hosts::network_name(addr)
    }

    fn service(&self, port: u16, proto: InetProto) -> Option<String> {
        let transport = match proto {
            InetProto::Tcp => Transport::Tcp,
            InetProto::Udp => Transport::Udp,
            InetProto::Raw => return Protocols::system().last_name(port).map(str::to_string),
        };
        Services::system()
            .name_of(port, transport)
            .map(str::to_string)
    }

    fn user(&self, uid: u32) -> Option<String> {
        self.users
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| users::user_name(uid))
            .clone()
    }

    fn program(&self, pid: u32) -> Option<String> {
        self.programs
            .borrow_mut()
            .entry(pid)
            .or_insert_with(|| procs::program_name(pid))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SocketUser;

    /// Names as the captured machine had them: /etc/hosts maps 127.0.0.1 to localhost only.
    struct FixedNames;

    impl Names for FixedNames {
        fn host(&self, addr: IpAddr) -> Option<String> {
            (addr == IpAddr::V4(Ipv4Addr::LOCALHOST)).then(|| "localhost".to_string())
        }

        fn network(&self, _addr: Ipv4Addr) -> Option<String> {
            None
        }

        fn service(&self, port: u16, proto: InetProto) -> Option<String> {
            let name = match (port, proto) {
                (22, InetProto::Tcp) => "ssh",
                (80, InetProto::Tcp) => "http",
                (53, InetProto::Udp) => "domain",
                (5353, InetProto::Udp) => "mdns",
                (1, InetProto::Raw) => "icmp",
                (58, InetProto::Raw) => "ipv6-icmp",
                _ => return None,
            };
            Some(name.to_string())
        }

        fn user(&self, uid: u32) -> Option<String> {
            (uid == 0).then(|| "root".to_string())
        }

        fn program(&self, pid: u32) -> Option<String> {
            (pid == 4369).then(|| "python3".to_string())
        }
    }

    fn inet(addr: &str, port: u16) -> Endpoint {
        Endpoint::Inet {
            addr: addr.parse().expect("test address"),
            port,
            scope: 0,
        }
    }

    fn unix(name: Option<UnixName>, inode: u64) -> Endpoint {
        Endpoint::Unix { name, inode }
    }

    fn socket(
        netid: Netid,
        state: SockState,
        local: Endpoint,
        peer: Endpoint,
        inode: u64,
        fd: Option<u32>,
    ) -> SocketRecord {
        let mut record = SocketRecord::new(netid, state, local, peer);
        record.inode = inode;
        record.users = fd
            .map(|fd| SocketUser {
                comm: "python3".to_string(),
                pid: 4369,
                fd,
            })
            .into_iter()
            .collect();
        if netid.is_unix() {
            record.shutdown = Some(0);
        }
        record
    }

    /// The sockets of the captured session, as sock_diag reports them (ss -tuwxaneiomp),
    /// in an order netstat does not use, to check the grouping.
    fn captured_records() -> Vec<SocketRecord> {
        use Netid::{Raw, Tcp, Udp, UnixDgram, UnixStream};
        use SockState::{Close, Established, Listen, TimeWait};
        let path = || Some(UnixName::Path("/tmp/procs-bench/sock".to_string()));
        let mut records = vec![
            socket(
                UnixStream,
                Established,
                unix(None, 1033377),
                unix(None, 1033378),
                1033377,
                Some(18),
            ),
            socket(
                UnixStream,
                Listen,
                unix(path(), 1033376),
                unix(None, 0),
                1033376,
                Some(17),
            ),
            socket(
                UnixStream,
                Established,
                unix(path(), 1033378),
                unix(None, 1033377),
                1033378,
                Some(19),
            ),
            socket(
                UnixDgram,
                Close,
                unix(
                    Some(UnixName::Abstract("abstract name".to_string())),
                    1033379,
                ),
                unix(None, 0),
                1033379,
                Some(20),
            ),
            socket(
                Raw,
                Close,
                inet("0.0.0.0", 1),
                inet("0.0.0.0", 0),
                1033374,
                Some(15),
            ),
            socket(Raw, Close, inet("::", 58), inet("::", 0), 1033375, Some(16)),
            socket(
                Tcp,
                Listen,
                inet("2001:db8:1234:5678:9abc:def0:1234:5678", 40000),
                inet("::", 0),
                1033371,
                Some(12),
            ),
            socket(Tcp, Listen, inet("::", 80), inet("::", 0), 1033366, Some(6)),
            socket(
                Udp,
                Close,
                inet("0.0.0.0", 53),
                inet("0.0.0.0", 0),
                1033372,
                Some(13),
            ),
            socket(
                Udp,
                Established,
                inet("::1", 5353),
                inet("::1", 53),
                1033373,
                Some(14),
            ),
            socket(
                Tcp,
                Listen,
                inet("127.0.0.1", 22),
                inet("0.0.0.0", 0),
                1033359,
                Some(3),
            ),
            socket(
                Tcp,
                Established,
                inet("127.0.0.1", 22),
                inet("127.0.0.1", 36448),
                1033361,
                Some(5),
            ),
            socket(
                Tcp,
                Established,
                inet("127.0.0.1", 36448),
                inet("127.0.0.1", 22),
                1033360,
                Some(4),
            ),
            socket(
                Tcp,
                TimeWait,
                inet("127.0.0.1", 36450),
                inet("127.0.0.1", 22),
                0,
                None,
            ),
            socket(
                Tcp,
                Established,
                inet("127.0.0.1", 33264),
                inet("127.0.0.1", 80),
                1033369,
                Some(9),
            ),
            socket(
                Tcp,
                Established,
                inet("::1", 36512),
                inet("::1", 80),
                1033367,
                Some(7),
            ),
            socket(
                Tcp,
                Established,
                inet("::1", 80),
                inet("::1", 36512),
                1033368,
                Some(8),
            ),
            socket(
                Tcp,
                Established,
                inet("::ffff:127.0.0.1", 80),
                inet("::ffff:127.0.0.1", 33264),
                1033370,
                Some(11),
            ),
        ];
        for record in &mut records {
            if record.netid == Tcp && record.state == Listen {
                // sock_diag's Send-Q of a listener is its backlog.
                record.send_q = 128;
            }
            match record.inode {
                1033360 => {
                    record.timer = Some(Timer {
                        kind: TimerKind::Keepalive,
                        expires_ms: 7_199_695,
                        retrans: 0,
                    })
                }
                0 => {
                    record.timer = Some(Timer {
                        kind: TimerKind::Timewait,
                        expires_ms: 59_798,
                        retrans: 0,
                    })
                }
                _ => {}
            }
        }
        records
    }

    fn all() -> NetstatOptions {
        NetstatOptions {
            listing: Listing::All,
            inet: true,
            unix: true,
            ..NetstatOptions::default()
        }
    }

    fn numeric(options: NetstatOptions) -> NetstatOptions {
        NetstatOptions {
            numeric_hosts: true,
            numeric_ports: true,
            numeric_users: true,
            ..options
        }
    }

    fn render(records: &[SocketRecord], options: &NetstatOptions) -> String {
        let mut out = Vec::new();
        write_netstat(&mut out, records, options, &FixedNames).expect("write to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    fn assert_golden(options: NetstatOptions, golden: &str) {
        let expected = golden.replace("|\n", "\n");
        let actual = render(&captured_records(), &options);
        for (line, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
            assert_eq!(got, want, "line {}", line + 1);
        }
        assert_eq!(actual, expected);
    }

    #[test]
    fn golden_all() {
        assert_golden(all(), ALL);
    }

    #[test]
    fn golden_all_numeric() {
        assert_golden(numeric(all()), ALL_NUMERIC);
    }

    #[test]
    fn golden_only_servers() {
        let options = NetstatOptions {
            listing: Listing::OnlyServers,
            ..all()
        };
        assert_golden(options, ONLY_SERVERS);
    }

    #[test]
    fn golden_without_servers() {
        let options = NetstatOptions {
            listing: Listing::WithoutServers,
            ..all()
        };
        assert_golden(options, WITHOUT_SERVERS);
    }

    #[test]
    fn golden_everything_numeric() {
        let options = NetstatOptions {
            extend: true,
            timers: true,
            programs: true,
            ..numeric(all())
        };
        assert_golden(options, ALL_NUMERIC_EXTEND_TIMERS_PROGRAMS);
    }

    #[test]
    fn golden_wide() {
        let options = NetstatOptions {
            wide: true,
            ..numeric(all())
        };
        assert_golden(options, ALL_NUMERIC_WIDE);
    }

    #[test]
    fn golden_extend_with_user_names() {
        let options = NetstatOptions {
            extend: true,
            ..all()
        };
        assert_golden(options, ALL_EXTEND);
    }

    #[test]
    fn golden_programs() {
        let options = NetstatOptions {
            programs: true,
            numeric_users: true,
            ..all()
        };
        assert_golden(options, ALL_PROGRAMS_NUMERIC_USERS);
    }

    #[test]
    fn golden_timers() {
        let options = NetstatOptions {
            timers: true,
            ..all()
        };
        assert_golden(options, ALL_TIMERS);
    }

    #[test]
    fn only_the_chosen_tables() {
        let options = NetstatOptions {
            unix: false,
            ..numeric(all())
        };
        let text = render(&captured_records(), &options);
        assert!(text.starts_with("Active Internet connections"));
        assert!(!text.contains("UNIX"));
        let options = NetstatOptions {
            inet: false,
            ..numeric(all())
        };
        let text = render(&captured_records(), &options);
        assert!(text.starts_with("Active UNIX domain sockets"));
    }

    #[test]
    fn timer_forms() {
        let timer = |kind, expires_ms, retrans| {
            tcp_timer(Some(&Timer {
                kind,
                expires_ms,
                retrans,
            }))
        };
        assert_eq!(tcp_timer(None), "off (0.00/0/0)");
        assert_eq!(timer(TimerKind::On, 204, 2), "on (0.20/2/0)");
        assert_eq!(
            timer(TimerKind::Keepalive, 7_199_990, 1),
            "keepalive (7199.99/0/1)"
        );
        assert_eq!(
            timer(TimerKind::Timewait, 59_230, 0),
            "timewait (59.23/0/0)"
        );
        assert_eq!(timer(TimerKind::Persist, 1_005, 3), "probe (1.00/0/3)");
    }

    #[test]
    fn addresses_as_netstat_writes_them() {
        assert_eq!(ipv6_text("::1.2.3.4".parse().expect("v6")), "::1.2.3.4");
        assert_eq!(ipv6_text("::1".parse().expect("v6")), "::1");
        assert_eq!(
            ipv6_text("fe80::1:0:0:1".parse().expect("v6")),
            "fe80::1:0:0:1"
        );
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().expect("v6");
        assert_eq!(
            strip_v4_mapped_prefix(ipv6_text(mapped), mapped),
            "10.0.0.1"
        );
        assert_eq!(
            strip_v4_mapped_prefix("host.example".to_string(), mapped),
            "host.example"
        );
        assert_eq!(
            strip_v4_mapped_prefix("::1".to_string(), Ipv6Addr::LOCALHOST),
            "::1"
        );
        assert_eq!(truncate("añb", 2), "a");
        assert_eq!(truncate("ab", 5), "ab");
    }

    #[test]
    fn unix_reference_counts_and_paths() {
        use Netid::{UnixDgram, UnixStream};
        use SockState::{Established, Listen};
        // A dgram server two clients sent connect() to, and a client whose connection
        // waits in its server's accept queue.
        let mut records = vec![
            socket(
                UnixDgram,
                Established,
                unix(Some(UnixName::Path("/run/log".into())), 1),
                unix(None, 0),
                1,
                None,
            ),
            socket(
                UnixDgram,
                Established,
                unix(None, 2),
                unix(None, 1),
                2,
                None,
            ),
            socket(
                UnixDgram,
                Established,
                unix(None, 3),
                unix(None, 1),
                3,
                None,
            ),
            socket(
                UnixStream,
                Established,
                unix(None, 4),
                unix(None, 0),
                4,
                None,
            ),
            socket(
                UnixStream,
                Established,
                unix(None, 5),
                unix(None, 0),
                5,
                None,
            ),
            socket(
                UnixStream,
                Listen,
                unix(Some(UnixName::Abstract("a\0b c".into())), 6),
                unix(None, 0),
                6,
                None,
            ),
        ];
        // Socket 5's peer has closed.
        records[4].shutdown = Some(3);
        let options = NetstatOptions {
            inet: false,
            ..numeric(all())
        };
        let text = render(&records, &options);
        let rows: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(
            rows[0],
            "unix  4      [ ]         DGRAM      CONNECTED     1        /run/log"
        );
        assert_eq!(
            rows[1],
            "unix  2      [ ]         DGRAM      CONNECTED     2        "
        );
        assert_eq!(
            rows[3],
            "unix  3      [ ]         STREAM     CONNECTED     4        "
        );
        assert_eq!(
            rows[4],
            "unix  2      [ ]         STREAM     CONNECTED     5        "
        );
        assert_eq!(
            rows[5],
            "unix  2      [ ACC ]     STREAM     LISTENING     6        @a@b"
        );
    }

    #[test]
    fn system_names_find_root() {
        let names = SystemNames::new();
        assert_eq!(names.user(0).as_deref(), Some("root"));
        assert!(names.program(std::process::id()).is_some());
    }

    /// `netstat -a`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State      |
tcp        0      0 localhost:ssh           0.0.0.0:*               LISTEN     |
tcp        0      0 localhost:ssh           localhost:36448         ESTABLISHED|
tcp        0      0 localhost:36448         localhost:ssh           ESTABLISHED|
tcp        0      0 localhost:36450         localhost:ssh           TIME_WAIT  |
tcp        0      0 localhost:33264         localhost:http          ESTABLISHED|
tcp6       0      0 2001:db8:1234:567:40000 [::]:*                  LISTEN     |
tcp6       0      0 [::]:http               [::]:*                  LISTEN     |
tcp6       0      0 ::1:36512               ::1:http                ESTABLISHED|
tcp6       0      0 ::1:http                ::1:36512               ESTABLISHED|
tcp6       0      0 127.0.0.1:http          127.0.0.1:33264         ESTABLISHED|
udp        0      0 0.0.0.0:domain          0.0.0.0:*                          |
udp6       0      0 ::1:mdns                ::1:domain              ESTABLISHED|
raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7          |
raw6       0      0 [::]:ipv6-icmp          [::]:*                  7          |
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";

    /// `netstat -an`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_NUMERIC: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State      |
tcp        0      0 127.0.0.1:22            0.0.0.0:*               LISTEN     |
tcp        0      0 127.0.0.1:22            127.0.0.1:36448         ESTABLISHED|
tcp        0      0 127.0.0.1:36448         127.0.0.1:22            ESTABLISHED|
tcp        0      0 127.0.0.1:36450         127.0.0.1:22            TIME_WAIT  |
tcp        0      0 127.0.0.1:33264         127.0.0.1:80            ESTABLISHED|
tcp6       0      0 2001:db8:1234:567:40000 :::*                    LISTEN     |
tcp6       0      0 :::80                   :::*                    LISTEN     |
tcp6       0      0 ::1:36512               ::1:80                  ESTABLISHED|
tcp6       0      0 ::1:80                  ::1:36512               ESTABLISHED|
tcp6       0      0 127.0.0.1:80            127.0.0.1:33264         ESTABLISHED|
udp        0      0 0.0.0.0:53              0.0.0.0:*                          |
udp6       0      0 ::1:5353                ::1:53                  ESTABLISHED|
raw        0      0 0.0.0.0:1               0.0.0.0:*               7          |
raw6       0      0 :::58                   :::*                    7          |
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";

    /// `netstat -l`, captured from net-tools 2.10 (`|` marks line ends).
    const ONLY_SERVERS: &str = "\
Active Internet connections (only servers)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State      |
tcp        0      0 localhost:ssh           0.0.0.0:*               LISTEN     |
tcp6       0      0 2001:db8:1234:567:40000 [::]:*                  LISTEN     |
tcp6       0      0 [::]:http               [::]:*                  LISTEN     |
udp        0      0 0.0.0.0:domain          0.0.0.0:*                          |
raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7          |
raw6       0      0 [::]:ipv6-icmp          [::]:*                  7          |
Active UNIX domain sockets (only servers)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
";

    /// `netstat`, captured from net-tools 2.10 (`|` marks line ends).
    const WITHOUT_SERVERS: &str = "\
Active Internet connections (w/o servers)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State      |
tcp        0      0 localhost:ssh           localhost:36448         ESTABLISHED|
tcp        0      0 localhost:36448         localhost:ssh           ESTABLISHED|
tcp        0      0 localhost:36450         localhost:ssh           TIME_WAIT  |
tcp        0      0 localhost:33264         localhost:http          ESTABLISHED|
tcp6       0      0 ::1:36512               ::1:http                ESTABLISHED|
tcp6       0      0 ::1:http                ::1:36512               ESTABLISHED|
tcp6       0      0 127.0.0.1:http          127.0.0.1:33264         ESTABLISHED|
udp6       0      0 ::1:mdns                ::1:domain              ESTABLISHED|
Active UNIX domain sockets (w/o servers)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";

    /// `netstat -aneop`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_NUMERIC_EXTEND_TIMERS_PROGRAMS: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer|
tcp        0      0 127.0.0.1:22            0.0.0.0:*               LISTEN      0          1033359    4369/python3         off (0.00/0/0)|
tcp        0      0 127.0.0.1:22            127.0.0.1:36448         ESTABLISHED 0          1033361    4369/python3         off (0.00/0/0)|
tcp        0      0 127.0.0.1:36448         127.0.0.1:22            ESTABLISHED 0          1033360    4369/python3         keepalive (7199.69/0/0)|
tcp        0      0 127.0.0.1:36450         127.0.0.1:22            TIME_WAIT   0          0          -                    timewait (59.79/0/0)|
tcp        0      0 127.0.0.1:33264         127.0.0.1:80            ESTABLISHED 0          1033369    4369/python3         off (0.00/0/0)|
tcp6       0      0 2001:db8:1234:567:40000 :::*                    LISTEN      0          1033371    4369/python3         off (0.00/0/0)|
tcp6       0      0 :::80                   :::*                    LISTEN      0          1033366    4369/python3         off (0.00/0/0)|
tcp6       0      0 ::1:36512               ::1:80                  ESTABLISHED 0          1033367    4369/python3         off (0.00/0/0)|
tcp6       0      0 ::1:80                  ::1:36512               ESTABLISHED 0          1033368    4369/python3         off (0.00/0/0)|
tcp6       0      0 127.0.0.1:80            127.0.0.1:33264         ESTABLISHED 0          1033370    4369/python3         off (0.00/0/0)|
udp        0      0 0.0.0.0:53              0.0.0.0:*                           0          1033372    4369/python3         off (0.00/0/0)|
udp6       0      0 ::1:5353                ::1:53                  ESTABLISHED 0          1033373    4369/python3         off (0.00/0/0)|
raw        0      0 0.0.0.0:1               0.0.0.0:*               7           0          1033374    4369/python3         off (0.00/0/0)|
raw6       0      0 :::58                   :::*                    7           0          1033375    4369/python3         off (0.00/0/0)|
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   PID/Program name     Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  4369/python3         |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  4369/python3         /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  4369/python3         /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  4369/python3         @abstract|
";

    /// `netstat -anW`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_NUMERIC_WIDE: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State      |
tcp        0      0 127.0.0.1:22            0.0.0.0:*               LISTEN     |
tcp        0      0 127.0.0.1:22            127.0.0.1:36448         ESTABLISHED|
tcp        0      0 127.0.0.1:36448         127.0.0.1:22            ESTABLISHED|
tcp        0      0 127.0.0.1:36450         127.0.0.1:22            TIME_WAIT  |
tcp        0      0 127.0.0.1:33264         127.0.0.1:80            ESTABLISHED|
tcp6       0      0 2001:db8:1234:5678:9abc:def0:1234:5678:40000 :::*                    LISTEN     |
tcp6       0      0 :::80                   :::*                    LISTEN     |
tcp6       0      0 ::1:36512               ::1:80                  ESTABLISHED|
tcp6       0      0 ::1:80                  ::1:36512               ESTABLISHED|
tcp6       0      0 127.0.0.1:80            127.0.0.1:33264         ESTABLISHED|
udp        0      0 0.0.0.0:53              0.0.0.0:*                          |
udp6       0      0 ::1:5353                ::1:53                  ESTABLISHED|
raw        0      0 0.0.0.0:1               0.0.0.0:*               7          |
raw6       0      0 :::58                   :::*                    7          |
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";

    /// `netstat -ae`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_EXTEND: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode     |
tcp        0      0 localhost:ssh           0.0.0.0:*               LISTEN      root       1033359   |
tcp        0      0 localhost:ssh           localhost:36448         ESTABLISHED root       1033361   |
tcp        0      0 localhost:36448         localhost:ssh           ESTABLISHED root       1033360   |
tcp        0      0 localhost:36450         localhost:ssh           TIME_WAIT   root       0         |
tcp        0      0 localhost:33264         localhost:http          ESTABLISHED root       1033369   |
tcp6       0      0 2001:db8:1234:567:40000 [::]:*                  LISTEN      root       1033371   |
tcp6       0      0 [::]:http               [::]:*                  LISTEN      root       1033366   |
tcp6       0      0 ::1:36512               ::1:http                ESTABLISHED root       1033367   |
tcp6       0      0 ::1:http                ::1:36512               ESTABLISHED root       1033368   |
tcp6       0      0 127.0.0.1:http          127.0.0.1:33264         ESTABLISHED root       1033370   |
udp        0      0 0.0.0.0:domain          0.0.0.0:*                           root       1033372   |
udp6       0      0 ::1:mdns                ::1:domain              ESTABLISHED root       1033373   |
raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7           root       1033374   |
raw6       0      0 [::]:ipv6-icmp          [::]:*                  7           root       1033375   |
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";

    /// `netstat -ap --numeric-users`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_PROGRAMS_NUMERIC_USERS: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    |
tcp        0      0 localhost:ssh           0.0.0.0:*               LISTEN      4369/python3        |
tcp        0      0 localhost:ssh           localhost:36448         ESTABLISHED 4369/python3        |
tcp        0      0 localhost:36448         localhost:ssh           ESTABLISHED 4369/python3        |
tcp        0      0 localhost:36450         localhost:ssh           TIME_WAIT   -                   |
tcp        0      0 localhost:33264         localhost:http          ESTABLISHED 4369/python3        |
tcp6       0      0 2001:db8:1234:567:40000 [::]:*                  LISTEN      4369/python3        |
tcp6       0      0 [::]:http               [::]:*                  LISTEN      4369/python3        |
tcp6       0      0 ::1:36512               ::1:http                ESTABLISHED 4369/python3        |
tcp6       0      0 ::1:http                ::1:36512               ESTABLISHED 4369/python3        |
tcp6       0      0 127.0.0.1:http          127.0.0.1:33264         ESTABLISHED 4369/python3        |
udp        0      0 0.0.0.0:domain          0.0.0.0:*                           4369/python3        |
udp6       0      0 ::1:mdns                ::1:domain              ESTABLISHED 4369/python3        |
raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7           4369/python3        |
raw6       0      0 [::]:ipv6-icmp          [::]:*                  7           4369/python3        |
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   PID/Program name     Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  4369/python3         |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  4369/python3         /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  4369/python3         /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  4369/python3         @abstract|
";

    /// `netstat -ao`, captured from net-tools 2.10 (`|` marks line ends).
    const ALL_TIMERS: &str = "\
Active Internet connections (servers and established)|
Proto Recv-Q Send-Q Local Address           Foreign Address         State       Timer|
tcp        0      0 localhost:ssh           0.0.0.0:*               LISTEN      off (0.00/0/0)|
tcp        0      0 localhost:ssh           localhost:36448         ESTABLISHED off (0.00/0/0)|
tcp        0      0 localhost:36448         localhost:ssh           ESTABLISHED keepalive (7199.69/0/0)|
tcp        0      0 localhost:36450         localhost:ssh           TIME_WAIT   timewait (59.79/0/0)|
tcp        0      0 localhost:33264         localhost:http          ESTABLISHED off (0.00/0/0)|
tcp6       0      0 2001:db8:1234:567:40000 [::]:*                  LISTEN      off (0.00/0/0)|
tcp6       0      0 [::]:http               [::]:*                  LISTEN      off (0.00/0/0)|
tcp6       0      0 ::1:36512               ::1:http                ESTABLISHED off (0.00/0/0)|
tcp6       0      0 ::1:http                ::1:36512               ESTABLISHED off (0.00/0/0)|
tcp6       0      0 127.0.0.1:http          127.0.0.1:33264         ESTABLISHED off (0.00/0/0)|
udp        0      0 0.0.0.0:domain          0.0.0.0:*                           off (0.00/0/0)|
udp6       0      0 ::1:mdns                ::1:domain              ESTABLISHED off (0.00/0/0)|
raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7           off (0.00/0/0)|
raw6       0      0 [::]:ipv6-icmp          [::]:*                  7           off (0.00/0/0)|
Active UNIX domain sockets (servers and established)|
Proto RefCnt Flags       Type       State         I-Node   Path|
unix  3      [ ]         STREAM     CONNECTED     1033377  |
unix  2      [ ACC ]     STREAM     LISTENING     1033376  /tmp/procs-bench/sock|
unix  3      [ ]         STREAM     CONNECTED     1033378  /tmp/procs-bench/sock|
unix  2      [ ]         DGRAM                    1033379  @abstract|
";
}
