//! One snapshot: a dump request per family and protocol the query names, each reply
//! decoded as it streams in and handed to the caller's sink, in ss's order (netlink,
//! packet, unix, raw, udp, tcp, dccp, sctp, mptcp; IPv4 before IPv6).

use std::io::Write;

use super::diag_socket::DiagSocket;
use super::error::{DecodeError, SourceError, Target};
use super::query::Query;
use super::request::{self, Request};
use super::{inet, netlink_sock, packet, proc_raw, unix};
use crate::model::{Netid, SockState, SocketRecord};

/// Inet protocols in the order ss lists them (raw comes from /proc, before these).
const INET_ORDER: [Netid; 5] = [
    Netid::Udp,
    Netid::Tcp,
    Netid::Dccp,
    Netid::Sctp,
    Netid::Mptcp,
];

/// What the running kernel could not list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Netids asked for whose sock_diag support the kernel lacks (a module not built or
    /// not loadable, e.g. SCTP or DCCP); none of their sockets are in the snapshot.
    pub unsupported: Vec<Netid>,
}

/// Lists the sockets `query` describes, handing each to `sink` as soon as it is decoded.
pub fn snapshot(query: &Query, sink: impl FnMut(SocketRecord)) -> Result<Coverage, SourceError> {
    Snapshot::new(query, sink)?.run(None)
}

/// [`snapshot`], also writing every reply datagram of the TCP requests to `dump` as it
/// arrives: ss -D's format, which `ss` reads back with TCPDIAG_FILE and
/// [`super::snapshot_from_dump`] reads too. Like ss, only TCP goes to the dump: its
/// messages do not say which protocol they describe.
pub fn snapshot_tee(
    query: &Query,
    dump: &mut dyn Write,
    sink: impl FnMut(SocketRecord),
) -> Result<Coverage, SourceError> {
    Snapshot::new(query, sink)?.run(Some(dump))
}

/// Whether a refusal means "this kernel cannot list that kind of socket" rather than a
/// failure: no handler registered (ENOENT), or a request the kernel does not understand.
fn means_unsupported(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::EINVAL | libc::EOPNOTSUPP | libc::EPROTONOSUPPORT
    )
}

struct Snapshot<'q, S> {
    query: &'q Query,
    socket: DiagSocket,
    sink: S,
    coverage: Coverage,
}

impl<'q, S: FnMut(SocketRecord)> Snapshot<'q, S> {
    fn new(query: &'q Query, sink: S) -> Result<Self, SourceError> {
        Ok(Snapshot {
            query,
            socket: DiagSocket::open()?,
            sink,
            coverage: Coverage::default(),
        })
    }

    fn run(mut self, mut dump: Option<&mut dyn Write>) -> Result<Coverage, SourceError> {
        let query = self.query;
        // Packet and netlink sockets are always UNCONN.
        let unconnected_wanted = query.states.contains(SockState::Close);
        if query.wants(Netid::Netlink) && unconnected_wanted {
            let request = request::netlink(self.socket.next_seq());
            self.fetch(&request, None, |payload, sink| {
                sink(netlink_sock::decode(payload)?);
                Ok(())
            })?;
        }
        if (query.wants(Netid::PacketRaw) || query.wants(Netid::PacketDgram)) && unconnected_wanted
        {
            let request = request::packet(self.socket.next_seq());
            self.fetch(&request, None, |payload, sink| {
                if let Some(record) = packet::decode(payload)? {
                    if query.wants(record.netid) {
                        sink(record);
                    }
                }
                Ok(())
            })?;
        }
        if query.netids.iter().any(|netid| netid.is_unix()) {
            let seq = self.socket.next_seq();
            let request = request::unix(query.states, &query.extensions, seq);
            self.fetch(&request, None, |payload, sink| {
                if let Some(record) = unix::decode(payload)? {
                    if query.wants(record.netid) {
                        sink(record);
                    }
                }
                Ok(())
            })?;
        }
        if query.wants(Netid::Raw) {
            proc_raw::read(query.ip, query.states, &mut self.sink)?;
        }
        for netid in INET_ORDER.into_iter().filter(|&n| query.wants(n)) {
            let versions = [(false, query.ip.v4), (true, query.ip.v6)];
            for v6 in versions
                .into_iter()
                .filter_map(|(v6, wanted)| wanted.then_some(v6))
            {
                let seq = self.socket.next_seq();
                let Some(request) = request::inet(netid, v6, query.states, &query.extensions, seq)
                else {
                    continue;
                };
                let tee: Option<&mut dyn Write> = match dump.as_mut() {
                    Some(dump) if netid == Netid::Tcp => Some(&mut **dump),
                    _ => None,
                };
                let served = self.fetch(&request, tee, |payload, sink| {
                    sink(inet::decode(payload, netid)?);
                    Ok(())
                })?;
                if !served {
                    break; // the other IP version is just as unsupported
                }
            }
        }
        Ok(self.coverage)
    }

    /// Runs one dump, `true` when the kernel served it. A kernel that cannot (see
    /// [`means_unsupported`]) gets the netids asked for from that family noted in the
    /// coverage; TCP, UDP and unix are always there, so their refusals stay errors.
    fn fetch(
        &mut self,
        request: &Request,
        tee: Option<&mut dyn Write>,
        mut decode: impl FnMut(&[u8], &mut S) -> Result<(), DecodeError>,
    ) -> Result<bool, SourceError> {
        let sink = &mut self.sink;
        let err = match self
            .socket
            .dump(request, tee, |payload| decode(payload, sink))
        {
            Ok(()) => return Ok(true),
            Err(err) => err,
        };
        let netids: &[Netid] = match request.target {
            Target::Inet { netid, .. } if !matches!(netid, Netid::Tcp | Netid::Udp) => &[netid],
            Target::Packet => &[Netid::PacketRaw, Netid::PacketDgram],
            Target::Netlink => &[Netid::Netlink],
            _ => return Err(err),
        };
        if !err.kernel_errno().is_some_and(means_unsupported) {
            return Err(err);
        }
        for &netid in netids {
            if self.query.wants(netid) && !self.coverage.unsupported.contains(&netid) {
                self.coverage.unsupported.push(netid);
            }
        }
        Ok(false)
    }
}
