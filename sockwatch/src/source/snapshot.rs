//! One snapshot: a dump request per family and protocol the query names, each reply
//! decoded as it streams in and handed to the caller's sink, in ss's order (netlink,
//! packet, unix, raw, udp, tcp, dccp, sctp, mptcp; IPv4 before IPv6). A protocol's IPv6
//! half is fetched on a second thread while its IPv4 half streams, then decoded after it.

use std::io::Write;
use std::thread;

use super::diag_socket::{self, DiagSocket, Progress};
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
    run(query, None, sink)
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
    run(query, Some(dump), sink)
}

/// Whether a refusal means "this kernel cannot list that kind of socket" rather than a
/// failure: no handler registered (ENOENT), or a request the kernel does not understand.
fn means_unsupported(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::EINVAL | libc::EOPNOTSUPP | libc::EPROTONOSUPPORT
    )
}

/// How to turn a dump's reply payloads into records.
#[derive(Clone, Copy)]
enum Decoder {
    Netlink,
    Packet,
    Unix,
    Inet(Netid),
}

/// One step of a snapshot, in output order.
enum Step {
    /// A dump, and maybe a second one of the same kind (a protocol's IPv6 half after its
    /// IPv4 half) whose replies follow.
    Dump {
        request: Request,
        then: Option<Request>,
        decoder: Decoder,
    },
    ProcRaw,
}

/// The steps `query` needs, in ss's order.
fn plan(query: &Query) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut seq = 0;
    let mut next_seq = || {
        seq += 1;
        seq
    };
    let dump = |request, decoder| Step::Dump {
        request,
        then: None,
        decoder,
    };
    // Packet and netlink sockets are always UNCONN.
    let unconnected_wanted = query.states.contains(SockState::Close);
    if query.wants(Netid::Netlink) && unconnected_wanted {
        steps.push(dump(request::netlink(next_seq()), Decoder::Netlink));
    }
    if (query.wants(Netid::PacketRaw) || query.wants(Netid::PacketDgram)) && unconnected_wanted {
        steps.push(dump(request::packet(next_seq()), Decoder::Packet));
    }
    if query.netids.iter().any(|netid| netid.is_unix()) {
        let request = request::unix(query.states, &query.extensions, next_seq());
        steps.push(dump(request, Decoder::Unix));
    }
    if query.wants(Netid::Raw) {
        steps.push(Step::ProcRaw);
    }
    for netid in INET_ORDER.into_iter().filter(|&n| query.wants(n)) {
        let mut half = |v6: bool, wanted: bool| {
            let seq = next_seq();
            wanted
                .then(|| request::inet(netid, v6, query.states, &query.extensions, seq))
                .flatten()
        };
        let (request, then) = match (half(false, query.ip.v4), half(true, query.ip.v6)) {
            (Some(v4), v6) => (v4, v6),
            (None, Some(v6)) => (v6, None),
            (None, None) => continue,
        };
        steps.push(Step::Dump {
            request,
            then,
            decoder: Decoder::Inet(netid),
        });
    }
    steps
}

fn run(
    query: &Query,
    mut dump: Option<&mut dyn Write>,
    mut sink: impl FnMut(SocketRecord),
) -> Result<Coverage, SourceError> {
    let mut socket = DiagSocket::open()?;
    // A second socket, for fetching one dump on another thread while the first streams:
    // the kernel does most of a dump's work, in the receiving thread's recvmsg calls, so
    // this puts two cores on it. Opened here, in the caller's network namespace.
    let mut spare = None;
    let mut coverage = Coverage::default();
    for step in plan(query) {
        let (request, then, decoder) = match step {
            Step::Dump {
                request,
                then,
                decoder,
            } => (request, then, decoder),
            Step::ProcRaw => {
                proc_raw::read(query.ip, query.states, &mut sink)?;
                continue;
            }
        };
        // ss's dump format holds TCP only: its messages do not name their protocol.
        let mut tee: Option<&mut dyn Write> = match (&mut dump, decoder) {
            (Some(dump), Decoder::Inet(Netid::Tcp)) => Some(&mut **dump),
            _ => None,
        };
        let mut decode = |payload: &[u8]| decode(payload, decoder, query, &mut sink);
        let Some(then) = then else {
            let outcome = stream(&mut socket, &request, tee, &mut decode);
            settle(query, &mut coverage, request.target, outcome)?;
            continue;
        };
        let mut helper = match spare.take() {
            Some(socket) => socket,
            None => DiagSocket::open()?,
        };
        let (outcome, prefetched) = thread::scope(|scope| {
            let prefetch = scope.spawn(|| helper.collect(&then));
            let outcome = stream(&mut socket, &request, reborrow(&mut tee), &mut decode);
            let prefetched = prefetch
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (outcome, prefetched)
        });
        spare = Some(helper);
        settle(query, &mut coverage, request.target, outcome)?;
        let outcome = prefetched.and_then(|replies| replay(&then, &replies, tee, &mut decode));
        settle(query, &mut coverage, then.target, outcome)?;
    }
    Ok(coverage)
}

/// A shorter-lived handle on an optional writer, leaving the original usable afterwards.
fn reborrow<'a>(writer: &'a mut Option<&mut dyn Write>) -> Option<&'a mut dyn Write> {
    match writer {
        Some(writer) => Some(&mut **writer),
        None => None,
    }
}

/// Runs one dump, copying each datagram to `tee` and decoding it as it arrives.
fn stream(
    socket: &mut DiagSocket,
    request: &Request,
    mut tee: Option<&mut dyn Write>,
    decode: &mut impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<(), SourceError> {
    let seq = diag_socket::request_seq(request)?;
    socket.fetch(request, |datagram| {
        if let Some(tee) = tee.as_mut() {
            tee.write_all(datagram).map_err(SourceError::DumpWrite)?;
        }
        diag_socket::process(datagram, seq, request.target, decode)
    })
}

/// Decodes replies gathered by [`DiagSocket::collect`], as [`stream`] would have.
fn replay(
    request: &Request,
    replies: &[u8],
    tee: Option<&mut dyn Write>,
    decode: &mut impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<(), SourceError> {
    if let Some(tee) = tee {
        tee.write_all(replies).map_err(SourceError::DumpWrite)?;
    }
    let seq = diag_socket::request_seq(request)?;
    match diag_socket::process(replies, seq, request.target, decode)? {
        Progress::Done => Ok(()),
        Progress::More => Err(SourceError::Malformed {
            target: request.target,
            reason: DecodeError::MissingDone,
        }),
    }
}

fn decode(
    payload: &[u8],
    decoder: Decoder,
    query: &Query,
    sink: &mut impl FnMut(SocketRecord),
) -> Result<(), DecodeError> {
    let record = match decoder {
        Decoder::Inet(netid) => Some(inet::decode(payload, netid)?),
        Decoder::Unix => unix::decode(payload)?,
        Decoder::Packet => packet::decode(payload)?,
        Decoder::Netlink => Some(netlink_sock::decode(payload)?),
    };
    // One unix or packet dump covers all socket types; keep those asked for.
    if let Some(record) = record.filter(|r| query.keeps(r.netid)) {
        sink(record);
    }
    Ok(())
}

/// Passes a dump's outcome on, except refusals that mean this kernel cannot list that kind
/// of socket (see [`means_unsupported`]): those note the netids asked for in the coverage.
/// TCP, UDP and unix are always there, so their refusals stay errors.
fn settle(
    query: &Query,
    coverage: &mut Coverage,
    target: Target,
    outcome: Result<(), SourceError>,
) -> Result<(), SourceError> {
    let Err(err) = outcome else {
        return Ok(());
    };
    let netids: &[Netid] = match target {
        Target::Inet { netid, .. } if !matches!(netid, Netid::Tcp | Netid::Udp) => &[netid],
        Target::Packet => &[Netid::PacketRaw, Netid::PacketDgram],
        Target::Netlink => &[Netid::Netlink],
        _ => return Err(err),
    };
    if !err.kernel_errno().is_some_and(means_unsupported) {
        return Err(err);
    }
    for &netid in netids {
        if query.wants(netid) && !coverage.unsupported.contains(&netid) {
            coverage.unsupported.push(netid);
        }
    }
    Ok(())
}
