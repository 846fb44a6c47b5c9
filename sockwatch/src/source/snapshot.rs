//! One snapshot: a dump request per family and protocol the query names, each reply
//! decoded as it streams in and handed to the caller's sink, in ss's order (netlink,
//! packet, unix, raw, udp, tcp, dccp, sctp, vsock, tipc, xdp, mptcp; IPv4 before IPv6).
//! vsock, tipc and xdp are asked for as ss asks; a kernel without their diag module
//! (vsock_diag, tipc_diag, xsk_diag) has none to list. The dumps are
//! received on a thread of their own while the caller's thread decodes; a protocol's IPv6
//! half is fetched on a third while its IPv4 half streams, then decoded after it. TCP of
//! both versions is one dump instead (the kernel walks its tables once per request, and
//! that walk is most of a listing's time), its IPv6 sockets held back until the IPv4 ones
//! are through.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use super::diag_socket::{self, DiagSocket, Progress};
use super::error::{DecodeError, SourceError, Target};
use super::proc_raw::{self, DgramTable};
use super::query::Query;
use super::request::{self, Request};
use super::{inet, netlink_sock, packet, tipc, unix, vsock, xdp};
use crate::model::{Netid, SockState, SocketRecord};

/// Inet protocols in the order ss lists them (raw comes from /proc, before these; vsock,
/// tipc and xdp between sctp and mptcp).
const INET_ORDER: [Netid; 5] = [
    Netid::Udp,
    Netid::Tcp,
    Netid::Dccp,
    Netid::Sctp,
    Netid::Mptcp,
];

/// How many reply datagrams (of up to 32 KiB) the fetching thread may receive ahead of the
/// decoding one. Enough (2 MiB) to keep the kernel busy while the decoding thread is
/// preempted on a loaded machine, where 16 measured clearly slower; a sink slower than the
/// kernel (or one waiting for something) holds the dump back rather than letting replies
/// pile up.
const READ_AHEAD: usize = 64;

/// What the running kernel could not list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Netids asked for whose sock_diag support the kernel lacks (a module not built or
    /// not loadable, e.g. SCTP or DCCP); none of their sockets are in the snapshot.
    pub unsupported: Vec<Netid>,
    /// How the kernel refused the older DCCP request (DCCPDIAG_GETSOCK) that follows a
    /// refused DCCP dump, as ss 6.1 sends it, when the errno is not one ss keeps quiet
    /// about (ENOENT, EOPNOTSUPP): ss prints it as "RTNETLINK answers: ...". Kernels
    /// without DCCP at all (6.16 on) answer EINVAL.
    pub dccp_compat_refusal: Option<i32>,
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
    /// Both IP versions of an inet protocol from one dump, IPv4 and IPv6 sockets mixed.
    InetBothVersions(Netid),
    Vsock,
    Tipc,
    Xdp,
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

/// The steps `query` needs, in ss's order. `tee`: the TCP replies are copied to an ss -D
/// dump, which holds a dump per IP version.
fn plan(query: &Query, tee: bool) -> Vec<Step> {
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
    for netid in INET_ORDER {
        // vsock, tipc and xdp come before mptcp, whether mptcp is asked for or not.
        if netid == Netid::Mptcp {
            if query.wants(Netid::VsockStream) || query.wants(Netid::VsockDgram) {
                steps.push(dump(
                    request::vsock(query.states, next_seq()),
                    Decoder::Vsock,
                ));
            }
            if query.wants(Netid::Tipc) {
                steps.push(dump(request::tipc(query.states, next_seq()), Decoder::Tipc));
            }
            if query.wants(Netid::Xdp) && unconnected_wanted {
                steps.push(dump(request::xdp(next_seq()), Decoder::Xdp));
            }
        }
        if !query.wants(netid) {
            continue;
        }
        // Most of a TCP listing's time is the kernel walking its socket tables, once per
        // request: one request for both versions walks them once.
        if netid == Netid::Tcp && query.ip.v4 && query.ip.v6 && !tee {
            let program = query.bytecode.as_deref();
            let request = request::tcp_both_versions(
                query.states,
                &query.extensions,
                program,
                query.ports,
                next_seq(),
            );
            steps.push(dump(request, Decoder::InetBothVersions(netid)));
            continue;
        }
        let mut half = |v6: bool, wanted: bool| {
            let seq = next_seq();
            wanted
                .then(|| {
                    let program = query.bytecode.as_deref();
                    request::inet(
                        netid,
                        v6,
                        query.states,
                        &query.extensions,
                        program,
                        query.ports,
                        seq,
                    )
                })
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
    let steps = plan(query, dump.is_some());
    // Opened here, in the caller's network namespace. The second socket fetches a
    // protocol's IPv6 half while its IPv4 half streams: the kernel does most of a dump's
    // work, in the receiving thread's recvmsg calls, so this puts two cores on it.
    let socket = DiagSocket::open()?;
    let spare = steps
        .iter()
        .any(|step| matches!(step, Step::Dump { then: Some(_), .. }))
        .then(DiagSocket::open)
        .transpose()?;
    thread::scope(|scope| {
        // The dumps run on their own thread while this one decodes and hands records to
        // the sink: the kernel's work and ours overlap. Leaving early drops `replies`,
        // which stops the fetcher at its next request.
        let (deliver, replies) = mpsc::sync_channel(READ_AHEAD);
        let (recycle, recycled) = mpsc::channel();
        let steps = &steps;
        scope.spawn(move || fetch_all(steps, socket, spare, &deliver, &recycled));
        let mut coverage = Coverage::default();
        for step in steps {
            let (request, then, decoder) = match step {
                Step::Dump {
                    request,
                    then,
                    decoder,
                } => (request, then, *decoder),
                Step::ProcRaw => {
                    proc_raw::read_proc_dgram(DgramTable::Raw, query.ip, query.states, &mut sink)?;
                    continue;
                }
            };
            // ss's dump format holds TCP only: its messages do not name their protocol.
            let mut tee: Option<&mut dyn Write> = match (&mut dump, decoder) {
                (Some(dump), Decoder::Inet(Netid::Tcp)) => Some(&mut **dump),
                _ => None,
            };
            // ss lists a protocol's IPv4 sockets before its IPv6 ones: from a dump of
            // both, the IPv6 ones wait here (as their own dump's replies would have).
            let mut held_v6 = HeldPayloads::default();
            let mut decode = |payload: &[u8]| match decoder {
                Decoder::InetBothVersions(_) if payload.first() == Some(&AF_INET6) => {
                    held_v6.push(payload);
                    Ok(())
                }
                _ => decode(payload, decoder, query, &mut sink),
            };
            for request in std::iter::once(request).chain(then) {
                let outcome = receive(request, &replies, &recycle, &mut tee, &mut decode);
                settle(query, &mut coverage, request.target, outcome)?;
            }
            if matches!(decoder, Decoder::Inet(Netid::Dccp))
                && coverage.unsupported.contains(&Netid::Dccp)
            {
                coverage.dccp_compat_refusal = dccp_compat(query, &mut decode)?;
            }
            for payload in held_v6.iter() {
                self::decode(payload, decoder, query, &mut sink).map_err(|reason| {
                    let target = Target::Inet {
                        netid: Netid::Tcp,
                        v6: true,
                    };
                    SourceError::Malformed { target, reason }
                })?;
            }
        }
        Ok(coverage)
    })
}

/// ss 6.1's second try at DCCP after the kernel refused the DCCP dump: the older request,
/// on a socket of its own. Its sockets (of the IP versions asked for) go to `decode`; a
/// refusal ss would print is returned.
fn dccp_compat(
    query: &Query,
    decode: &mut impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<Option<i32>, SourceError> {
    const SEQ: u32 = 1;
    let request = request::dccp_compat(query.states, &query.extensions, SEQ);
    let mut socket = DiagSocket::open()?;
    // The older request lists both IP versions at once.
    let mut asked_version = |payload: &[u8]| match payload.first() {
        Some(&family)
            if (family == libc::AF_INET as u8 && !query.ip.v4)
                || (family == libc::AF_INET6 as u8 && !query.ip.v6) =>
        {
            Ok(())
        }
        _ => decode(payload),
    };
    let outcome = socket.fetch(&request, |datagram| {
        diag_socket::process(datagram, SEQ, request.target, &mut asked_version)
    });
    match outcome {
        Ok(()) => Ok(None),
        Err(err) => match err.kernel_errno() {
            Some(libc::ENOENT | libc::EOPNOTSUPP) => Ok(None),
            Some(errno) => Ok(Some(errno)),
            None => Err(err),
        },
    }
}

/// What the fetching thread hands the decoding one, for each request in plan order: its
/// replies, then its end.
enum Delivery {
    /// Reply datagrams, one or several back to back.
    Replies(Vec<u8>),
    /// The dump is over: received up to its NLMSG_DONE, or failed.
    End(Result<(), SourceError>),
}

/// Runs the dumps of `steps` in order, delivering their replies as they arrive, a
/// protocol's IPv6 half (fetched on a further thread meanwhile) after its IPv4 half.
/// Buffers come back through `recycled` to be filled again. Returns when the decoding
/// thread has stopped listening.
fn fetch_all(
    steps: &[Step],
    mut socket: DiagSocket,
    mut spare: Option<DiagSocket>,
    deliver: &SyncSender<Delivery>,
    recycled: &Receiver<Vec<u8>>,
) {
    for step in steps {
        let Step::Dump { request, then, .. } = step else {
            continue;
        };
        let delivered = match (then, spare.as_mut()) {
            (Some(then), Some(helper)) => {
                let (delivered, prefetched) = thread::scope(|scope| {
                    let prefetch = scope.spawn(|| helper.collect(then));
                    let delivered = forward(&mut socket, request, deliver, recycled);
                    let prefetched = prefetch
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (delivered, prefetched)
                });
                delivered && {
                    let end = prefetched.map(|replies| {
                        // A failed send shows in the End's below.
                        let _ = deliver.send(Delivery::Replies(replies));
                    });
                    deliver.send(Delivery::End(end)).is_ok()
                }
            }
            // plan() asks for a spare socket whenever a step has a second request.
            (Some(_), None) => false,
            (None, _) => forward(&mut socket, request, deliver, recycled),
        };
        if !delivered {
            return;
        }
    }
}

/// Runs one dump, delivering each datagram as it arrives and then the dump's end; false
/// when nobody listens any more.
fn forward(
    socket: &mut DiagSocket,
    request: &Request,
    deliver: &SyncSender<Delivery>,
    recycled: &Receiver<Vec<u8>>,
) -> bool {
    let outcome = diag_socket::request_seq(request).and_then(|seq| {
        socket.fetch(request, |datagram| {
            let mut buffer = recycled.try_recv().unwrap_or_default();
            buffer.clear();
            buffer.extend_from_slice(datagram);
            // A closed channel only means the decoder gave up; the dump still runs to
            // its end so that the socket is left clean.
            let _ = deliver.send(Delivery::Replies(buffer));
            diag_socket::process(datagram, seq, request.target, &mut |_| Ok(()))
        })
    });
    deliver.send(Delivery::End(outcome)).is_ok()
}

/// Decodes the replies to `request` as they are delivered, up to its end, copying them
/// to `tee` first.
fn receive(
    request: &Request,
    replies: &Receiver<Delivery>,
    recycle: &Sender<Vec<u8>>,
    tee: &mut Option<&mut dyn Write>,
    decode: &mut impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<(), SourceError> {
    let target = request.target;
    // Settled by the replies themselves (their NLMSG_DONE, or the first failure), or
    // before any arrive by a request we cannot read back.
    let (seq, mut outcome) = match diag_socket::request_seq(request) {
        Ok(seq) => (seq, None),
        Err(err) => (0, Some(Err(err))),
    };
    loop {
        // The fetcher only hangs up by panicking, which the scope passes on.
        let delivery = replies.recv().map_err(|_| SourceError::Malformed {
            target,
            reason: DecodeError::MissingDone,
        })?;
        let replies = match delivery {
            Delivery::Replies(replies) => replies,
            Delivery::End(end) => {
                return outcome.unwrap_or_else(|| {
                    end.and(Err(SourceError::Malformed {
                        target,
                        reason: DecodeError::MissingDone,
                    }))
                })
            }
        };
        if outcome.is_none() {
            let mut read = || {
                if let Some(tee) = tee.as_mut() {
                    tee.write_all(&replies).map_err(SourceError::DumpWrite)?;
                }
                diag_socket::process(&replies, seq, target, decode)
            };
            outcome = match read() {
                Ok(Progress::More) => None,
                Ok(Progress::Done) => Some(Ok(())),
                Err(err) => Some(Err(err)),
            };
        }
        // Nobody to take it back only when the fetcher is done.
        let _ = recycle.send(replies);
    }
}

const AF_INET6: u8 = libc::AF_INET6 as u8;

/// Message payloads kept back in arrival order, in one buffer.
#[derive(Default)]
struct HeldPayloads {
    /// Each payload after its length (4 bytes, native order).
    bytes: Vec<u8>,
}

impl HeldPayloads {
    fn push(&mut self, payload: &[u8]) {
        self.bytes
            .extend_from_slice(&(payload.len() as u32).to_ne_bytes());
        self.bytes.extend_from_slice(payload);
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.bytes[..];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let (payload, tail) = tail.split_at(u32::from_ne_bytes(*len) as usize);
            rest = tail;
            Some(payload)
        })
    }
}

fn decode(
    payload: &[u8],
    decoder: Decoder,
    query: &Query,
    sink: &mut impl FnMut(SocketRecord),
) -> Result<(), DecodeError> {
    let record = match decoder {
        Decoder::Inet(netid) | Decoder::InetBothVersions(netid) => {
            Some(inet::decode(payload, netid)?)
        }
        Decoder::Unix => unix::decode(payload)?,
        Decoder::Packet => packet::decode(payload)?,
        Decoder::Netlink => Some(netlink_sock::decode(payload)?),
        Decoder::Vsock => Some(vsock::decode(payload)?),
        Decoder::Tipc => tipc::decode(payload)?,
        Decoder::Xdp => Some(xdp::decode(payload)?),
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
        Target::Vsock => &[Netid::VsockStream, Netid::VsockDgram],
        Target::Tipc => &[Netid::Tipc],
        Target::Xdp => &[Netid::Xdp],
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::build::message;
    use crate::source::wire::{NLMSG_DONE, NLMSG_ERROR};

    const SEQ: u32 = 5;

    fn done() -> Vec<u8> {
        message(NLMSG_DONE, SEQ, &0i32.to_ne_bytes())
    }

    /// What `receive` makes of `deliveries` for one request: its outcome, the payloads it
    /// decoded, how many buffers it handed back, and how many deliveries it left unread.
    fn received(
        deliveries: Vec<Delivery>,
    ) -> (Result<(), SourceError>, Vec<Vec<u8>>, usize, usize) {
        let (deliver, replies) = mpsc::sync_channel(deliveries.len());
        for delivery in deliveries {
            deliver.send(delivery).unwrap();
        }
        let (recycle, recycled) = mpsc::channel();
        let mut seen = Vec::new();
        let outcome = receive(
            &request::packet(SEQ),
            &replies,
            &recycle,
            &mut None,
            &mut |payload: &[u8]| {
                seen.push(payload.to_vec());
                Ok(())
            },
        );
        (
            outcome,
            seen,
            recycled.try_iter().count(),
            replies.try_iter().count(),
        )
    }

    #[test]
    fn vsock_tipc_xdp_are_asked_in_ss_order() {
        let query = Query::new(
            [
                Netid::Mptcp,
                Netid::Xdp,
                Netid::Tipc,
                Netid::VsockDgram,
                Netid::Sctp,
            ],
            crate::source::IpVersions::BOTH,
            crate::source::StateMask::ALL,
            crate::source::Extensions::default(),
        );
        let targets = |query: &Query| -> Vec<Target> {
            plan(query, false)
                .iter()
                .filter_map(|step| match step {
                    Step::Dump { request, .. } => Some(request.target),
                    Step::ProcRaw => None,
                })
                .collect()
        };
        let sctp = Target::Inet {
            netid: Netid::Sctp,
            v6: false,
        };
        let mptcp = Target::Inet {
            netid: Netid::Mptcp,
            v6: false,
        };
        assert_eq!(
            targets(&query),
            [sctp, Target::Vsock, Target::Tipc, Target::Xdp, mptcp]
        );
        // Asked for alone (`--vsock --tipc --xdp`), without mptcp, they are still asked.
        let alone = Query::new(
            [Netid::VsockStream, Netid::Tipc, Netid::Xdp],
            crate::source::IpVersions::BOTH,
            crate::source::StateMask::ALL,
            crate::source::Extensions::default(),
        );
        assert_eq!(targets(&alone), [Target::Vsock, Target::Tipc, Target::Xdp]);
        // A kernel without the module refuses the dump: nothing to list.
        let mut coverage = Coverage::default();
        let refused = Err(SourceError::Kernel {
            target: Target::Vsock,
            errno: libc::ENOENT,
        });
        settle(&query, &mut coverage, Target::Vsock, refused).unwrap();
        assert_eq!(coverage.unsupported, [Netid::VsockDgram]);
    }

    #[test]
    fn tcp_of_both_versions_is_one_dump_unless_teed() {
        let kinds = |ip, tee| -> Vec<(u16, Option<bool>)> {
            let query = Query::new(
                [Netid::Tcp],
                ip,
                crate::source::StateMask::ALL,
                crate::source::Extensions::default(),
            );
            plan(&query, tee)
                .iter()
                .map(|step| match step {
                    Step::Dump { request, then, .. } => (
                        crate::source::wire::message(&request.bytes).unwrap().0.kind,
                        then.as_ref().map(|then| then.target == request.target),
                    ),
                    Step::ProcRaw => panic!("no raw asked for"),
                })
                .collect()
        };
        const TCPDIAG_GETSOCK: u16 = 18;
        const SOCK_DIAG_BY_FAMILY: u16 = 20;
        let both = crate::source::IpVersions::BOTH;
        assert_eq!(kinds(both, false), [(TCPDIAG_GETSOCK, None)]);
        // ss -D files hold one dump per version.
        assert_eq!(kinds(both, true), [(SOCK_DIAG_BY_FAMILY, Some(false))]);
        let v4 = crate::source::IpVersions {
            v4: true,
            v6: false,
        };
        assert_eq!(kinds(v4, false), [(SOCK_DIAG_BY_FAMILY, None)]);
    }

    #[test]
    fn held_payloads_come_back_in_order() {
        let mut held = HeldPayloads::default();
        for payload in [&[10u8, 1][..], &[], &[10, 2, 3]] {
            held.push(payload);
        }
        let back: Vec<&[u8]> = held.iter().collect();
        assert_eq!(back, [&[10u8, 1][..], &[], &[10, 2, 3]]);
        assert_eq!(HeldPayloads::default().iter().count(), 0);
    }

    #[test]
    fn replies_are_decoded_up_to_their_end() {
        let (outcome, seen, recycled, unread) = received(vec![
            Delivery::Replies([message(20, SEQ, &[1]), message(20, SEQ, &[2])].concat()),
            Delivery::Replies([message(20, SEQ, &[3]), done()].concat()),
            Delivery::End(Ok(())),
            // The next request's.
            Delivery::Replies(message(20, SEQ + 1, &[4])),
        ]);
        outcome.unwrap();
        assert_eq!(seen, [[1], [2], [3]]);
        assert_eq!((recycled, unread), (2, 1));
    }

    #[test]
    fn an_end_without_done_is_malformed() {
        let (outcome, seen, ..) = received(vec![
            Delivery::Replies(message(20, SEQ, &[1])),
            Delivery::End(Ok(())),
        ]);
        assert!(matches!(
            outcome,
            Err(SourceError::Malformed {
                reason: DecodeError::MissingDone,
                ..
            })
        ));
        assert_eq!(seen, [[1]]);
    }

    #[test]
    fn failures_of_the_fetch_pass_through() {
        let failed = SourceError::Io {
            target: Target::Packet,
            op: "recv",
            source: std::io::ErrorKind::UnexpectedEof.into(),
        };
        let (outcome, ..) = received(vec![Delivery::End(Err(failed))]);
        assert!(matches!(outcome, Err(SourceError::Io { op: "recv", .. })));
    }

    #[test]
    fn the_first_failure_wins_and_later_replies_are_drained_undecoded() {
        let mut refusal = (-libc::EPERM).to_ne_bytes().to_vec();
        refusal.extend_from_slice(&[0; 16]);
        let (outcome, seen, recycled, unread) = received(vec![
            Delivery::Replies(message(NLMSG_ERROR, SEQ, &refusal)),
            Delivery::Replies([message(20, SEQ, &[9]), done()].concat()),
            Delivery::End(Ok(())),
        ]);
        assert_eq!(outcome.unwrap_err().kernel_errno(), Some(libc::EPERM));
        assert!(seen.is_empty());
        assert_eq!((recycled, unread), (2, 0));
    }
}
