//! sock_diag dump requests, one a family (and protocol), as bytes ready to send.
//!
//! Inet and unix requests are built with netlink-packet-sock-diag; packet_diag and
//! netlink_diag requests, which that crate lacks, are laid out here (linux/packet_diag.h,
//! linux/netlink_diag.h).

use std::net::IpAddr;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::{
    constants::{
        AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP,
        IPPROTO_UDP, SOCK_DIAG_BY_FAMILY,
    },
    inet::{ExtensionFlags, InetRequest, SocketId, StateFlags},
    unix::{ShowFlags, StateFlags as UnixStateFlags, UnixRequest},
    SockDiagMessage,
};

use super::error::Target;
use super::query::{Extensions, PortMatch, StateMask};
use super::wire::NLMSG_HDRLEN;
use crate::model::{Endpoint, Netid, SocketRecord};

/// IPPROTO_MPTCP does not fit the request's u8 protocol field: it travels in an
/// INET_DIAG_REQ_PROTOCOL attribute instead.
const IPPROTO_MPTCP: u32 = 262;
const INET_DIAG_REQ_PROTOCOL: u16 = 3;
const INET_DIAG_REQ_BYTECODE: u16 = 1;

const UDIAG_SHOW_UID: u32 = 0x40;

const PACKET_SHOW_INFO: u32 = 0x1;
const PACKET_SHOW_RING_CFG: u32 = 0x4;
const PACKET_SHOW_FANOUT: u32 = 0x8;
const PACKET_SHOW_MEMINFO: u32 = 0x10;
const PACKET_SHOW_FILTER: u32 = 0x20;

/// NDIAG_PROTO_ALL: every netlink protocol.
const NDIAG_PROTO_ALL: u8 = 0xff;
const NDIAG_SHOW_MEMINFO: u32 = 0x1;
const NDIAG_SHOW_GROUPS: u32 = 0x2;

/// An encoded request and the dump it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Request {
    pub target: Target,
    pub bytes: Vec<u8>,
}

/// The IP protocol number of an inet netid that sock_diag serves (not raw: see proc_raw).
fn ip_protocol(netid: Netid) -> Option<u32> {
    match netid {
        Netid::Tcp => Some(IPPROTO_TCP.into()),
        Netid::Udp => Some(IPPROTO_UDP.into()),
        Netid::Mptcp => Some(IPPROTO_MPTCP),
        Netid::Sctp => Some(IPPROTO_SCTP.into()),
        Netid::Dccp => Some(IPPROTO_DCCP.into()),
        _ => None,
    }
}

fn inet_extensions(ext: &Extensions) -> ExtensionFlags {
    // Shutdown state is cheap and newer kernels send it anyway.
    let mut flags = ExtensionFlags::SHUTDOWN;
    if ext.tcp_info {
        // VEGASINFO asks for the congestion module's numbers (vegas, dctcp or bbr info).
        flags |= ExtensionFlags::INFO | ExtensionFlags::CONG | ExtensionFlags::VEGASINFO;
    }
    if ext.tcp_counters {
        flags |= ExtensionFlags::INFO;
    }
    if ext.memory {
        flags |= ExtensionFlags::SKMEMINFO;
    }
    if ext.tos {
        flags |= ExtensionFlags::TOS | ExtensionFlags::TCLASS;
    }
    flags
}

fn encode(message: SockDiagMessage, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, message.into());
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// A dump request for one inet protocol over one IP version; None for netids sock_diag's
/// inet requests do not cover. `bytecode` goes with TCP and UDP requests, whose kernel
/// handlers run it on every socket (the others ignore it); `ports` goes in the socket id.
pub(super) fn inet(
    netid: Netid,
    v6: bool,
    states: StateMask,
    ext: &Extensions,
    bytecode: Option<&[u8]>,
    ports: PortMatch,
    seq: u32,
) -> Option<Request> {
    let protocol = ip_protocol(netid)?;
    // Protocols past 255 are named by the attribute alone; a zero here makes a kernel too
    // old to know the attribute answer ENOENT rather than dump some other protocol.
    let protocol_field = u8::try_from(protocol).unwrap_or(0);
    let request = InetRequest {
        family: if v6 { AF_INET6 } else { AF_INET },
        protocol: protocol_field,
        extensions: inet_extensions(ext),
        states: StateFlags::from_bits_retain(states.0),
        socket_id: SocketId {
            source_port: ports.local.unwrap_or(0),
            destination_port: ports.remote.unwrap_or(0),
            ..if v6 {
                SocketId::new_v6()
            } else {
                SocketId::new_v4()
            }
        },
    };
    let mut bytes = encode(SockDiagMessage::InetRequest(request), seq);
    if protocol_field == 0 {
        append_attribute(&mut bytes, INET_DIAG_REQ_PROTOCOL, &protocol.to_ne_bytes());
    }
    if let Some(program) = bytecode.filter(|_| matches!(netid, Netid::Tcp | Netid::Udp)) {
        append_attribute(&mut bytes, INET_DIAG_REQ_BYTECODE, program);
    }
    Some(Request {
        target: Target::Inet { netid, v6 },
        bytes,
    })
}

/// Appends an attribute (`value`: a multiple of 4 bytes long, at most 65531) to an encoded
/// message and fixes up the message length.
fn append_attribute(message: &mut Vec<u8>, kind: u16, value: &[u8]) {
    message.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
    message.extend_from_slice(&kind.to_ne_bytes());
    message.extend_from_slice(value);
    let len = message.len() as u32;
    message[..4].copy_from_slice(&len.to_ne_bytes());
}

/// A SOCK_DESTROY request for one inet socket, named by its sock_diag id (addresses, ports,
/// interface, cookie) as the dump gave it; None for sockets sock_diag cannot name (raw
/// sockets read from /proc, netids it does not serve, MPTCP whose protocol needs an
/// attribute the destroy path does not read: the caller answers for those as ss would).
pub(super) fn destroy(record: &SocketRecord, seq: u32) -> Option<Request> {
    const SOCK_DESTROY: u16 = 21;
    const BODY_LEN: usize = 56;
    let protocol = u8::try_from(ip_protocol(record.netid)?).ok()?;
    let (
        Endpoint::Inet {
            addr: local,
            port: sport,
            scope,
        },
        Endpoint::Inet {
            addr: peer,
            port: dport,
            ..
        },
    ) = (&record.local, &record.peer)
    else {
        return None;
    };
    if record.from_proc {
        return None;
    }
    let (family, v6) = match local {
        IpAddr::V4(_) => (AF_INET, false),
        IpAddr::V6(_) => (AF_INET6, true),
    };
    let raw = |addr: &IpAddr| match addr {
        IpAddr::V4(v4) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&v4.octets());
            bytes
        }
        IpAddr::V6(v6) => v6.octets(),
    };
    let mut bytes = Vec::with_capacity(NLMSG_HDRLEN + BODY_LEN);
    bytes.extend_from_slice(&((NLMSG_HDRLEN + BODY_LEN) as u32).to_ne_bytes());
    bytes.extend_from_slice(&SOCK_DESTROY.to_ne_bytes());
    bytes.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    bytes.extend_from_slice(&[family, protocol, 0, 0]);
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // states: unused
    bytes.extend_from_slice(&sport.to_be_bytes());
    bytes.extend_from_slice(&dport.to_be_bytes());
    bytes.extend_from_slice(&raw(local));
    bytes.extend_from_slice(&raw(peer));
    bytes.extend_from_slice(&scope.to_ne_bytes());
    bytes.extend_from_slice(&(record.cookie.0 as u32).to_ne_bytes());
    bytes.extend_from_slice(&((record.cookie.0 >> 32) as u32).to_ne_bytes());
    Some(Request {
        target: Target::Inet {
            netid: record.netid,
            v6,
        },
        bytes,
    })
}

/// The older DCCP dump request (DCCPDIAG_GETSOCK with a `struct inet_diag_req`), which ss
/// 6.1 sends when the kernel refuses the SOCK_DIAG_BY_FAMILY one: for every IP version, in
/// `states`, with `ext`'s extensions.
pub(super) fn dccp_compat(states: StateMask, ext: &Extensions, seq: u32) -> Request {
    const DCCPDIAG_GETSOCK: u16 = 19;
    compat(
        DCCPDIAG_GETSOCK,
        Netid::Dccp,
        states,
        ext,
        PortMatch::default(),
        seq,
    )
}

/// One dump of the TCP sockets of both IP versions: the older request (TCPDIAG_GETSOCK),
/// which the kernel answers with a single walk of its socket tables where the
/// SOCK_DIAG_BY_FAMILY ones need a walk per version. Bytecode and ports as in [`inet`].
pub(super) fn tcp_both_versions(
    states: StateMask,
    ext: &Extensions,
    bytecode: Option<&[u8]>,
    ports: PortMatch,
    seq: u32,
) -> Request {
    const TCPDIAG_GETSOCK: u16 = 18;
    let mut request = compat(TCPDIAG_GETSOCK, Netid::Tcp, states, ext, ports, seq);
    if let Some(program) = bytecode {
        append_attribute(&mut request.bytes, INET_DIAG_REQ_BYTECODE, program);
    }
    request
}

/// A dump request with a `struct inet_diag_req`: the kernel ignores its family and lists
/// every IP version.
fn compat(
    kind: u16,
    netid: Netid,
    states: StateMask,
    ext: &Extensions,
    ports: PortMatch,
    seq: u32,
) -> Request {
    // family, src_len, dst_len, ext; the socket id (48 bytes); states; dbs.
    const BODY_LEN: usize = 60;
    let mut bytes = Vec::with_capacity(NLMSG_HDRLEN + BODY_LEN);
    bytes.extend_from_slice(&((NLMSG_HDRLEN + BODY_LEN) as u32).to_ne_bytes());
    bytes.extend_from_slice(&kind.to_ne_bytes());
    bytes.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    bytes.extend_from_slice(&[AF_INET, 0, 0, inet_extensions(ext).bits()]);
    bytes.extend_from_slice(&ports.local.unwrap_or(0).to_be_bytes());
    bytes.extend_from_slice(&ports.remote.unwrap_or(0).to_be_bytes());
    bytes.extend_from_slice(&[0; 44]);
    bytes.extend_from_slice(&states.0.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    Request {
        target: Target::Inet { netid, v6: false },
        bytes,
    }
}

/// A dump request for all unix sockets in `states`.
pub(super) fn unix(states: StateMask, ext: &Extensions, seq: u32) -> Request {
    let mut show = ShowFlags::NAME | ShowFlags::PEER | ShowFlags::RQLEN;
    show |= ShowFlags::from_bits_retain(UDIAG_SHOW_UID);
    if ext.memory {
        show |= ShowFlags::MEMINFO;
    }
    if ext.unix_details {
        show |= ShowFlags::VFS | ShowFlags::ICONS;
    }
    let request = UnixRequest {
        state_flags: UnixStateFlags::from_bits_retain(states.0),
        inode: 0,
        show_flags: show,
        cookie: [0xff; 8],
    };
    Request {
        target: Target::Unix,
        bytes: encode(SockDiagMessage::UnixRequest(request), seq),
    }
}

/// `struct packet_diag_req` and `struct netlink_diag_req` share one layout: family,
/// protocol, pad, inode, show flags, cookie.
fn simple_request(family: u8, protocol: u8, show: u32, seq: u32) -> Vec<u8> {
    const BODY_LEN: usize = 20;
    let mut bytes = Vec::with_capacity(NLMSG_HDRLEN + BODY_LEN);
    bytes.extend_from_slice(&((NLMSG_HDRLEN + BODY_LEN) as u32).to_ne_bytes());
    bytes.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    bytes.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    bytes.extend_from_slice(&[family, protocol, 0, 0]);
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // inode: all sockets
    bytes.extend_from_slice(&show.to_ne_bytes());
    bytes.extend_from_slice(&[0xff; 8]); // no cookie
    bytes
}

/// A dump request for all packet sockets, with what ss shows of them: interface, version
/// and flags (info), queue length (meminfo), rings, fanout and the socket filter (-b; the
/// kernel sends it to CAP_NET_ADMIN only), as ss asks.
pub(super) fn packet(seq: u32) -> Request {
    let show = PACKET_SHOW_INFO
        | PACKET_SHOW_RING_CFG
        | PACKET_SHOW_FANOUT
        | PACKET_SHOW_MEMINFO
        | PACKET_SHOW_FILTER;
    Request {
        target: Target::Packet,
        bytes: simple_request(AF_PACKET, 0, show, seq),
    }
}

const AF_VSOCK: u8 = 40;
const AF_TIPC: u8 = 30;
const AF_XDP: u8 = 44;

/// XDP_SHOW_INFO | XDP_SHOW_RING_CFG | XDP_SHOW_UMEM | XDP_SHOW_MEMINFO | XDP_SHOW_STATS.
const XDP_SHOW_ALL: u32 = 0x1f;

/// A sock_diag dump request: the header, then the family's request struct `body`.
fn family_request(body: &[u8], seq: u32) -> Vec<u8> {
    let len = NLMSG_HDRLEN + body.len();
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(&(len as u32).to_ne_bytes());
    bytes.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    bytes.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    bytes.extend_from_slice(body);
    bytes
}

/// `struct vsock_diag_req` (linux/vm_sockets_diag.h): family, protocol, pad, states,
/// inode, show, cookie.
pub(super) fn vsock(states: StateMask, seq: u32) -> Request {
    let mut body = vec![AF_VSOCK, 0, 0, 0];
    body.extend_from_slice(&states.0.to_ne_bytes());
    body.extend_from_slice(&[0; 16]);
    Request {
        target: Target::Vsock,
        bytes: family_request(&body, seq),
    }
}

/// `struct tipc_sock_diag_req` (linux/tipc_sockets_diag.h): family, protocol, pad, states.
pub(super) fn tipc(states: StateMask, seq: u32) -> Request {
    let mut body = vec![AF_TIPC, 0, 0, 0];
    body.extend_from_slice(&states.0.to_ne_bytes());
    Request {
        target: Target::Tipc,
        bytes: family_request(&body, seq),
    }
}

/// `struct xdp_diag_req` (linux/xdp_diag.h), packet_diag's layout, asking for everything.
pub(super) fn xdp(seq: u32) -> Request {
    Request {
        target: Target::Xdp,
        bytes: simple_request(AF_XDP, 0, XDP_SHOW_ALL, seq),
    }
}

/// A dump request for all netlink sockets, with groups and queue lengths.
pub(super) fn netlink(seq: u32) -> Request {
    Request {
        target: Target::Netlink,
        bytes: simple_request(
            AF_NETLINK,
            NDIAG_PROTO_ALL,
            NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO,
            seq,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::wire::{message, prefix, u32_at};

    fn body(request: &Request) -> Vec<u8> {
        let (message, used) = message(&request.bytes).unwrap();
        assert_eq!(used, request.bytes.len());
        assert_eq!(message.kind, SOCK_DIAG_BY_FAMILY);
        assert_eq!(message.seq, 9);
        message.payload.to_vec()
    }

    #[test]
    fn tcp_request_layout() {
        let tcp_v6 = |ext: Extensions| {
            let request = inet(
                Netid::Tcp,
                true,
                StateMask(1 << 10),
                &ext,
                None,
                PortMatch::default(),
                9,
            );
            body(&request.unwrap())
        };
        let body = tcp_v6(Extensions {
            tcp_info: true,
            ..Extensions::default()
        });
        assert_eq!(body.len(), 56); // struct inet_diag_req_v2
        assert_eq!(&body[..2], &[AF_INET6, IPPROTO_TCP]);
        // INFO (bit 1), VEGASINFO (bit 2), CONG (bit 3), SHUTDOWN (bit 7)
        assert_eq!(body[2], 1 << 1 | 1 << 2 | 1 << 3 | 1 << 7);
        assert_eq!(u32_at(prefix::<8>(&body, "").unwrap(), 4), 1 << 10);
        // The counters alone: INFO and SHUTDOWN only.
        let counters = tcp_v6(Extensions {
            tcp_counters: true,
            ..Extensions::default()
        });
        assert_eq!(counters[2], 1 << 1 | 1 << 7);
    }

    #[test]
    fn vsock_tipc_xdp_request_layouts() {
        let vsock = vsock(StateMask(0x12), 9);
        assert_eq!(vsock.target, Target::Vsock);
        let vsock = body(&vsock);
        assert_eq!(vsock.len(), 24); // struct vsock_diag_req
        assert_eq!(&vsock[..4], &[40, 0, 0, 0]);
        assert_eq!(u32_at(prefix::<8>(&vsock, "").unwrap(), 4), 0x12);
        let tipc = tipc(StateMask(0x8a), 9);
        assert_eq!(tipc.target, Target::Tipc);
        let tipc = body(&tipc);
        assert_eq!(tipc.len(), 8); // struct tipc_sock_diag_req
        assert_eq!(&tipc[..4], &[30, 0, 0, 0]);
        assert_eq!(u32_at(prefix::<8>(&tipc, "").unwrap(), 4), 0x8a);
        let xdp = body(&xdp(9));
        assert_eq!(xdp.len(), 20); // struct xdp_diag_req
        assert_eq!(&xdp[..4], &[44, 0, 0, 0]);
        assert_eq!(u32_at(prefix::<12>(&xdp, "").unwrap(), 8), XDP_SHOW_ALL);
    }

    #[test]
    fn mptcp_request_names_its_protocol_in_an_attribute() {
        let request = inet(
            Netid::Mptcp,
            false,
            StateMask::ALL,
            &Extensions::default(),
            Some(&[1, 4, 8, 0]),
            PortMatch::default(),
            9,
        );
        let body = body(&request.unwrap());
        assert_eq!(body.len(), 56 + 8);
        assert_eq!(body[1], 0);
        let attr = prefix::<8>(&body[56..], "").unwrap();
        assert_eq!(u32_at(attr, 0), 8 | u32::from(INET_DIAG_REQ_PROTOCOL) << 16);
        assert_eq!(u32_at(attr, 4), 262);
    }

    #[test]
    fn raw_is_not_a_sock_diag_request() {
        assert!(inet(
            Netid::Raw,
            false,
            StateMask::ALL,
            &Extensions::default(),
            None,
            PortMatch::default(),
            9
        )
        .is_none());
    }

    #[test]
    fn tcp_and_udp_requests_carry_the_bytecode_and_ports() {
        let program = [6, 4, 8, 0]; // AUTO
        let ports = PortMatch {
            local: Some(22),
            remote: Some(0x1234),
        };
        for netid in [Netid::Tcp, Netid::Udp] {
            let request = inet(
                netid,
                false,
                StateMask::ALL,
                &Extensions::default(),
                Some(&program),
                ports,
                9,
            );
            let body = body(&request.unwrap());
            assert_eq!(body.len(), 56 + 8);
            // idiag_sport and idiag_dport, in network order
            assert_eq!(&body[8..12], &[0, 22, 0x12, 0x34]);
            let attr = prefix::<8>(&body[56..], "").unwrap();
            assert_eq!(u32_at(attr, 0), 8 | u32::from(INET_DIAG_REQ_BYTECODE) << 16);
            assert_eq!(&attr[4..], &program);
        }
    }

    #[test]
    fn destroy_names_the_socket_by_its_diag_id() {
        let mut record = SocketRecord::new(
            Netid::Tcp,
            crate::model::SockState::Established,
            Endpoint::Inet {
                addr: "127.0.0.1".parse().unwrap(),
                port: 7000,
                scope: 3,
            },
            Endpoint::Inet {
                addr: "127.0.0.2".parse().unwrap(),
                port: 40000,
                scope: 0,
            },
        );
        record.cookie = crate::model::Cookie(0x1_0000_0002);
        let request = destroy(&record, 9).unwrap();
        let (message, _) = message(&request.bytes).unwrap();
        assert_eq!(message.kind, 21);
        let body = prefix::<56>(message.payload, "").unwrap();
        assert_eq!(&body[..2], &[AF_INET, IPPROTO_TCP]);
        assert_eq!(&body[8..12], &[0x1b, 0x58, 0x9c, 0x40]);
        assert_eq!(&body[12..16], &[127, 0, 0, 1]);
        assert_eq!(&body[28..32], &[127, 0, 0, 2]);
        assert_eq!(
            (u32_at(body, 44), u32_at(body, 48), u32_at(body, 52)),
            (3, 2, 1)
        );
        record.from_proc = true;
        assert!(destroy(&record, 9).is_none());
    }

    #[test]
    fn unix_packet_and_netlink_requests() {
        let unix = body(&unix(StateMask::ALL, &Extensions::default(), 9));
        assert_eq!(unix.len(), 24);
        let unix = prefix::<24>(&unix, "").unwrap();
        assert_eq!(unix[0], libc::AF_UNIX as u8);
        assert_eq!(u32_at(unix, 12), 0x1 | 0x4 | 0x10 | 0x40);

        let packet = body(&packet(9));
        assert_eq!(packet[0], AF_PACKET);
        assert_eq!(u32_at(prefix::<20>(&packet, "").unwrap(), 8), 0x3d);

        let netlink = body(&netlink(9));
        assert_eq!(&netlink[..2], &[AF_NETLINK, 0xff]);
        assert_eq!(u32_at(prefix::<20>(&netlink, "").unwrap(), 8), 0x3);
    }
}
