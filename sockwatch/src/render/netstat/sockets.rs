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
    borrow::Cow,
    collections::HashMap,
    io::{self, Write},
    net::IpAddr,
};

use super::{
    addr::{ipv6_text, strip_v4_mapped_prefix},
    InetProto, Names,
};
use crate::{
    escape::escape,
    model::{Endpoint, IpVersion, Netid, SockState, SocketRecord, Timer, TimerKind, UnixName},
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
    /// Escape names from outside sockwatch (unix paths, host, user and program names), as
    /// for a terminal; a pipe or file gets them byte for byte, as netstat writes them.
    pub escape: bool,
}

/// Writes the tables `options` asks for from records in any order. Rows keep the records'
/// order within netstat's grouping: tcp, tcp6, udp, udp6, raw, raw6, then unix.
pub fn write_netstat<W: Write>(
    mut out: W,
    records: &[SocketRecord],
    options: &NetstatOptions,
    names: &dyn Names,
) -> io::Result<()> {
    let tables = SocketTables { options, names };
    if options.inet {
        tables.write_inet_header(&mut out)?;
        let mut rows: Vec<(InetGroup, &SocketRecord)> = records
            .iter()
            .filter_map(|record| Some((InetGroup::of(record)?, record)))
            .collect();
        rows.sort_by_key(|(group, _)| *group);
        for (_, record) in rows {
            tables.write_inet_record(&mut out, record)?;
        }
    }
    if options.unix {
        tables.write_unix(&mut out, records)?;
    }
    Ok(())
}

/// The internet protocols in netstat's order: a listing that fetches them in this order,
/// each IPv4 before IPv6, can write every record as it comes
/// ([`SocketTables::write_inet_record`]).
pub const INET_ORDER: [Netid; 3] = [Netid::Tcp, Netid::Udp, Netid::Raw];

/// netstat's PROGNAME_WIDTH: the column is this wide, the text one shorter.
const PROGRAM_WIDTH: usize = 20;
/// Address and port together fit in this many bytes plus the ':' (without -W).
const ADDRESS_WIDTH: usize = 22;

/// netstat's socket tables, written a piece at a time so that a listing can stream: the
/// internet table's header, its rows as records come, then the unix table (which needs every
/// unix socket at once, for the reference counts).
pub struct SocketTables<'a> {
    options: &'a NetstatOptions,
    names: &'a dyn Names,
}

impl<'a> SocketTables<'a> {
    pub fn new(options: &'a NetstatOptions, names: &'a dyn Names) -> Self {
        SocketTables { options, names }
    }

    /// The "Active Internet connections" title and column headings.
    pub fn write_inet_header(&self, out: &mut impl Write) -> io::Result<()> {
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
        writeln!(out)
    }

    /// One row of the internet table, if the record is a tcp, udp or raw socket that -a/-l
    /// lets through.
    pub fn write_inet_record(&self, out: &mut impl Write, record: &SocketRecord) -> io::Result<()> {
        match InetGroup::of(record) {
            Some(group) if self.shows(is_inet_server(group.proto, record)) => {
                self.write_inet_row(out, group, record)
            }
            _ => Ok(()),
        }
    }

    fn listing_title(&self) -> &'static str {
        match self.options.listing {
            Listing::All => "(servers and established)",
            Listing::OnlyServers => "(only servers)",
            Listing::WithoutServers => "(w/o servers)",
        }
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
            self.text(&self.inet_address(&record.local, proto)),
            self.text(&self.inet_address(&record.peer, proto)),
            state,
        )?;
        if self.options.extend {
            let name = (!self.options.numeric_users)
                .then(|| self.names.user(record.uid))
                .flatten();
            let user = name.unwrap_or_else(|| record.uid.to_string());
            write!(out, " {:<10} {:<10}", self.text(&user), record.inode)?;
        }
        if self.options.programs {
            write!(out, " {:<PROGRAM_WIDTH$}", self.text(&self.program(record)))?;
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

    /// `text` as the output shows names from outside sockwatch (see `NetstatOptions::escape`).
    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.options.escape {
            escape(text.as_bytes())
        } else {
            Cow::Borrowed(text)
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

    /// The unix table, from every record (the unix ones are picked out).
    pub fn write_unix(&self, out: &mut impl Write, records: &[SocketRecord]) -> io::Result<()> {
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
                write!(out, " {:<PROGRAM_WIDTH$}", self.text(&self.program(record)))?;
            }
            let path = unix_path(&record.local);
            out.write_all(b" ")?;
            if self.options.escape {
                out.write_all(escape(&path).as_bytes())?;
            } else {
                out.write_all(&path)?;
            }
            out.write_all(b"\n")?;
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
fn unix_path(local: &Endpoint) -> Vec<u8> {
    let full: Vec<u8> = match local {
        Endpoint::Unix {
            name: Some(UnixName::Path(path)),
            ..
        } => path.clone(),
        Endpoint::Unix {
            name: Some(UnixName::Abstract(name)),
            ..
        } => std::iter::once(b'@')
            .chain(name.iter().map(|&b| if b == 0 { b'@' } else { b }))
            .collect(),
        _ => Vec::new(),
    };
    full.split(|b| b.is_ascii_whitespace() || *b == b'\x0b')
        .next()
        .unwrap_or_default()
        .to_vec()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("añb", 2), "a");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
