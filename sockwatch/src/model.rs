//! The domain types every stage shares: what a socket is, independent of where it was read
//! (sock_diag, /proc, a dump file, the eBPF event stream) and of how it is shown.

use std::net::{IpAddr, SocketAddr};

/// The socket cookie: the kernel's 64-bit socket id, reported by sock_diag and by
/// `bpf_get_socket_cookie()`; the key that joins snapshots with events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cookie(pub u64);

/// The IP version of an inet socket (ss's -4 and -6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpVersion {
    V4,
    V6,
}

/// A socket address family as ss selects and filters by it (`-f`, `inet6:` prefixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Inet,
    Inet6,
    Unix,
    Packet,
    Netlink,
    /// AF_VSOCK, AF_TIPC and AF_XDP: listed where the kernel has their diag modules
    /// (vsock_diag, tipc_diag, xsk_diag), none where it lacks them, as ss.
    Vsock,
    Tipc,
    Xdp,
}

impl Family {
    /// The family of a socket, told by its local endpoint.
    pub fn of(endpoint: &Endpoint) -> Family {
        match endpoint {
            Endpoint::Inet {
                addr: IpAddr::V4(_),
                ..
            } => Family::Inet,
            Endpoint::Inet {
                addr: IpAddr::V6(_),
                ..
            } => Family::Inet6,
            Endpoint::Unix { .. } => Family::Unix,
            Endpoint::Packet { .. } => Family::Packet,
            Endpoint::Netlink { .. } => Family::Netlink,
            Endpoint::Vsock { .. } => Family::Vsock,
            Endpoint::Tipc(_) => Family::Tipc,
            Endpoint::Xdp { .. } => Family::Xdp,
        }
    }
}

/// ss's "Netid" column: socket family and type together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Netid {
    Tcp,
    Udp,
    Raw,
    Mptcp,
    Sctp,
    Dccp,
    UnixStream,
    UnixDgram,
    UnixSeqpacket,
    PacketRaw,
    PacketDgram,
    Netlink,
    VsockStream,
    VsockDgram,
    /// A vsock socket of any other type (seqpacket, Linux 5.14 on): ss 6.1 has no name for
    /// it and prints `???`, and lists it whenever it lists vsock sockets at all.
    VsockOther,
    Tipc,
    Xdp,
}

impl Netid {
    /// The name ss prints in its Netid column.
    pub fn ss_name(self) -> &'static str {
        match self {
            Netid::Tcp => "tcp",
            Netid::Udp => "udp",
            Netid::Raw => "raw",
            Netid::Mptcp => "mptcp",
            Netid::Sctp => "sctp",
            Netid::Dccp => "dccp",
            Netid::UnixStream => "u_str",
            Netid::UnixDgram => "u_dgr",
            Netid::UnixSeqpacket => "u_seq",
            Netid::PacketRaw => "p_raw",
            Netid::PacketDgram => "p_dgr",
            Netid::Netlink => "nl",
            Netid::VsockStream => "v_str",
            Netid::VsockDgram => "v_dgr",
            Netid::VsockOther => "???",
            Netid::Tipc => "tipc",
            Netid::Xdp => "xdp",
        }
    }

    pub fn is_inet(self) -> bool {
        matches!(
            self,
            Netid::Tcp | Netid::Udp | Netid::Raw | Netid::Mptcp | Netid::Sctp | Netid::Dccp
        )
    }

    pub fn is_unix(self) -> bool {
        matches!(
            self,
            Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket
        )
    }

    pub fn is_packet(self) -> bool {
        matches!(self, Netid::PacketRaw | Netid::PacketDgram)
    }
}

/// Socket state, numbered as the kernel's TCP states (which unix, udp and the others reuse in
/// sock_diag replies: UDP "UNCONN" is TCP_CLOSE, a bound unix socket LISTEN, and so on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SockState {
    Unknown = 0,
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
    BoundInactive = 13,
}

impl SockState {
    pub const ALL: [SockState; 13] = [
        SockState::Established,
        SockState::SynSent,
        SockState::SynRecv,
        SockState::FinWait1,
        SockState::FinWait2,
        SockState::TimeWait,
        SockState::Close,
        SockState::CloseWait,
        SockState::LastAck,
        SockState::Listen,
        SockState::Closing,
        SockState::NewSynRecv,
        SockState::BoundInactive,
    ];

    pub fn from_kernel(n: u8) -> SockState {
        SockState::ALL
            .get(usize::from(n).wrapping_sub(1))
            .copied()
            .unwrap_or(SockState::Unknown)
    }

    /// The kernel's number for this state (bit position in sock_diag state masks).
    pub fn kernel(self) -> u8 {
        self as u8
    }

    /// The name ss prints in its State column.
    pub fn ss_name(self) -> &'static str {
        match self {
            SockState::Unknown => "UNKNOWN",
            SockState::Established => "ESTAB",
            SockState::SynSent => "SYN-SENT",
            SockState::SynRecv => "SYN-RECV",
            SockState::FinWait1 => "FIN-WAIT-1",
            SockState::FinWait2 => "FIN-WAIT-2",
            SockState::TimeWait => "TIME-WAIT",
            SockState::Close => "UNCONN",
            SockState::CloseWait => "CLOSE-WAIT",
            SockState::LastAck => "LAST-ACK",
            SockState::Listen => "LISTEN",
            SockState::Closing => "CLOSING",
            SockState::NewSynRecv => "NEW-SYN-RECV",
            SockState::BoundInactive => "BOUND-INACTIVE",
        }
    }

    /// The kernel's own spelling (tcpstates and the event log use it).
    pub fn kernel_name(self) -> &'static str {
        match self {
            SockState::Unknown => "UNKNOWN",
            SockState::Established => "ESTABLISHED",
            SockState::SynSent => "SYN_SENT",
            SockState::SynRecv => "SYN_RECV",
            SockState::FinWait1 => "FIN_WAIT1",
            SockState::FinWait2 => "FIN_WAIT2",
            SockState::TimeWait => "TIME_WAIT",
            SockState::Close => "CLOSE",
            SockState::CloseWait => "CLOSE_WAIT",
            SockState::LastAck => "LAST_ACK",
            SockState::Listen => "LISTEN",
            SockState::Closing => "CLOSING",
            SockState::NewSynRecv => "NEW_SYN_RECV",
            SockState::BoundInactive => "BOUND_INACTIVE",
        }
    }
}

/// One end of a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// An IP address and port; `scope` is the interface index the socket is bound to
    /// (ss prints it as `%dev` after the address), 0 when none.
    Inet { addr: IpAddr, port: u16, scope: u32 },
    /// A unix socket: its name (None when unnamed), and the socket's inode (ss's "port").
    Unix { name: Option<UnixName>, inode: u64 },
    /// A packet socket: ethernet protocol (host order) and interface index (0: any).
    Packet { protocol: u16, ifindex: u32 },
    /// A netlink socket: netlink protocol number and port id (ss prints these two).
    Netlink { protocol: u8, portid: i64 },
    /// A vsock address: context id and port, `u32::MAX` (VMADDR_CID_ANY, VMADDR_PORT_ANY)
    /// for any.
    Vsock { cid: u32, port: u32 },
    /// A TIPC socket id (node address and port reference); None for the peer of a socket
    /// that is not connected.
    Tipc(Option<TipcPort>),
    /// An AF_XDP socket's interface index (0: not bound) and queue; its peer is always
    /// `Xdp { ifindex: 0, queue: 0 }`.
    Xdp { ifindex: u32, queue: u32 },
}

impl Endpoint {
    /// The inet endpoint of `addr`, bound to no interface.
    pub fn inet(addr: SocketAddr) -> Endpoint {
        Endpoint::Inet {
            addr: addr.ip(),
            port: addr.port(),
            scope: 0,
        }
    }

    /// The address and port of an inet endpoint; None for other families.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Inet { addr, port, .. } => Some(SocketAddr::new(*addr, *port)),
            _ => None,
        }
    }
}

/// A TIPC socket id: `node:ref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TipcPort {
    pub node: u32,
    pub port: u32,
}

/// A unix socket address, as the kernel's bytes: a process may bind any bytes but NUL (and
/// any bytes at all in an abstract name), so views escape them or carry them as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixName {
    /// A filesystem path.
    Path(Vec<u8>),
    /// An abstract name, without the leading NUL (ss prints it with a leading `@`).
    Abstract(Vec<u8>),
}

/// A TCP timer, from inet_diag_msg.idiag_timer/expires/retrans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    /// Milliseconds until it fires.
    pub expires_ms: u32,
    /// Retransmits or probes so far.
    pub retrans: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// idiag_timer 1: retransmit ("on" in ss).
    On,
    /// 2: keepalive.
    Keepalive,
    /// 3: TIME_WAIT.
    Timewait,
    /// 4: zero window probe ("persist").
    Persist,
    /// 5: unknown ("unknown" in ss).
    Unknown,
}

/// Socket memory, from INET_DIAG_SKMEMINFO / UNIX_DIAG_MEMINFO (the SK_MEMINFO_* array).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkMemInfo {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: u32,
    pub drops: u32,
}

/// The kernel's `struct tcp_info` (linux/tcp.h), as much of it as the kernel sent.
/// `len` is the byte length received: fields past it were not sent and read as 0, and ss
/// prints a field only when the kernel sent it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub len: usize,
    pub state: u8,
    pub ca_state: u8,
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub options: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub delivery_rate_app_limited: bool,
    pub fastopen_client_fail: u8,
    pub rto: u32,
    pub ato: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub fackets: u32,
    pub last_data_sent: u32,
    pub last_ack_sent: u32,
    pub last_data_recv: u32,
    pub last_ack_recv: u32,
    pub pmtu: u32,
    pub rcv_ssthresh: u32,
    pub rtt: u32,
    pub rttvar: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub advmss: u32,
    pub reordering: u32,
    pub rcv_rtt: u32,
    pub rcv_space: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub notsent_bytes: u32,
    pub min_rtt: u32,
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    pub delivery_rate: u64,
    pub busy_time: u64,
    pub rwnd_limited: u64,
    pub sndbuf_limited: u64,
    pub delivered: u32,
    pub delivered_ce: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub rcv_ooopack: u32,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
    pub rehash: u32,
    pub total_rto: u16,
    pub total_rto_recoveries: u16,
    pub total_rto_time: u32,
}

/// Extra TCP facts sock_diag reports beside tcp_info.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpExtra {
    pub info: Option<TcpInfo>,
    /// Congestion control algorithm name (INET_DIAG_CONG).
    pub congestion: Option<String>,
    /// The congestion control module's own numbers (INET_DIAG_VEGASINFO, _DCTCPINFO or
    /// _BBRINFO: the kernel sends the one its algorithm has).
    pub cc_info: Option<CongestionInfo>,
}

/// `union tcp_cc_info` (linux/inet_diag.h): what the congestion control algorithm reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CongestionInfo {
    Vegas {
        enabled: u32,
        rttcnt: u32,
        /// Microseconds.
        rtt: u32,
        minrtt: u32,
    },
    Dctcp {
        enabled: u16,
        ce_state: u16,
        alpha: u32,
        ab_ecn: u32,
        ab_tot: u32,
    },
    Bbr {
        /// Bottleneck bandwidth estimate, bytes per second.
        bw: u64,
        /// Microseconds.
        min_rtt: u32,
        /// Gains in units of 1/256.
        pacing_gain: u32,
        cwnd_gain: u32,
    },
}

/// A unix socket's bound file (UNIX_DIAG_VFS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnixVfs {
    pub ino: u32,
    /// The kernel's device number of the file system (its internal MAJOR<<20|MINOR encoding).
    pub dev: u32,
}

/// What sock_diag reports only for netlink sockets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetlinkInfo {
    /// First word of the multicast group bitmap (NETLINK_DIAG_GROUPS).
    pub groups: u32,
    /// ndiag_state is NETLINK_CONNECTED; the peer endpoint then holds ndiag_dst_portid.
    pub connected: bool,
    pub dst_group: u32,
}

/// What sock_diag reports only for packet sockets (PACKET_DIAG_INFO, _RX_RING, _TX_RING,
/// _FANOUT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// TPACKET_V1 = 0, V2 = 1, V3 = 2.
    pub version: u32,
    pub copy_thresh: u32,
    /// PDI_* bits: running 1, auxdata 2, origdev 4, vnethdr 8, loss 16.
    pub flags: u32,
    pub rx_ring: Option<PacketRing>,
    pub tx_ring: Option<PacketRing>,
    /// Fanout group id in the low 16 bits, type in the high 16.
    pub fanout: Option<u32>,
}

/// The options set in an INET_DIAG_SOCKOPT value ([`SocketRecord::inet_sockopt`]), in the
/// struct's order, named as ss prints them.
pub fn inet_sockopt_names(bits: u16) -> impl Iterator<Item = &'static str> {
    const NAMES: [&str; 11] = [
        "recverr",
        "is_icsk",
        "freebind",
        "hdrincl",
        "mc_loop",
        "transparent",
        "mc_all",
        "nodefrag",
        "bind_addr_no_port",
        "recverr_rfc4884",
        "defer_connect",
    ];
    NAMES
        .into_iter()
        .enumerate()
        .filter(move |(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, name)| name)
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// For tests: "load the EtherType, is it IPv4?" (`ldh [12]; jeq #0x800`), a packet socket's
/// usual first two instructions.
#[cfg(test)]
pub const IPV4_CHECK: [SockFilter; 2] = [
    SockFilter {
        code: 0x28,
        jt: 0,
        jf: 0,
        k: 12,
    },
    SockFilter {
        code: 0x15,
        jt: 0,
        jf: 1,
        k: 0x800,
    },
];

/// What tipc_diag reports of a TIPC socket beyond its ends (ss --tipcinfo).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TipcInfo {
    /// SOCK_STREAM, SOCK_DGRAM, SOCK_RDM or SOCK_SEQPACKET: ss names the Netid by it.
    pub sock_type: u32,
    pub link_congested: bool,
    pub conn_congested: bool,
    pub drops: u32,
    /// The socket has published a service name.
    pub published: bool,
    /// A connection made to a service name: its type and instance.
    pub via: Option<(u32, u32)>,
}

/// What xsk_diag reports of an AF_XDP socket beyond its ends (ss -e): ring sizes in
/// entries, its UMEM and its counters, each when the socket has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpInfo {
    pub rx_ring: Option<u32>,
    pub tx_ring: Option<u32>,
    pub umem: Option<XdpUmem>,
    pub fill_ring: Option<u32>,
    pub completion_ring: Option<u32>,
    pub stats: Option<XdpStats>,
}

/// `struct xdp_diag_umem`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpUmem {
    pub size: u64,
    pub id: u32,
    pub num_pages: u32,
    pub chunk_size: u32,
    pub headroom: u32,
    pub ifindex: u32,
    pub queue_id: u32,
    /// XDP_DU_F_ZEROCOPY is bit 0.
    pub flags: u32,
    pub refs: u32,
}

/// `struct xdp_diag_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStats {
    pub rx_dropped: u64,
    pub rx_invalid: u64,
    pub rx_full: u64,
    pub fill_ring_empty: u64,
    pub tx_invalid: u64,
    pub tx_ring_empty: u64,
}

/// `struct packet_diag_ring`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketRing {
    pub block_size: u32,
    pub block_nr: u32,
    pub frame_size: u32,
    pub frame_nr: u32,
    pub retire_tmo: u32,
    pub sizeof_priv: u32,
    pub features: u32,
}

/// The process holding a socket open: one entry a (process, fd) pair, as ss's users:(...);
/// with threads (ss -T) one entry a (process, thread, fd).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketUser {
    /// The kernel's bytes, unchanged: a process may name itself anything but NUL, so text
    /// views escape them on a terminal (ss prints them raw) and JSON adds `comm_hex`.
    pub comm: Vec<u8>,
    pub pid: u32,
    /// The thread, when threads were asked for.
    pub tid: Option<u32>,
    pub fd: u32,
}

#[cfg(test)]
impl SocketUser {
    /// A process (no thread named) holding the socket at `fd`, for tests.
    pub(crate) fn process(comm: &str, pid: u32, fd: u32) -> SocketUser {
        SocketUser {
            comm: comm.as_bytes().to_vec(),
            pid,
            tid: None,
            fd,
        }
    }
}

/// One socket, as every source produces it and every renderer consumes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketRecord {
    pub netid: Netid,
    pub state: SockState,
    pub recv_q: u32,
    pub send_q: u32,
    pub local: Endpoint,
    pub peer: Endpoint,
    pub inode: u64,
    pub uid: u32,
    pub cookie: Cookie,
    pub timer: Option<Timer>,
    pub meminfo: Option<SkMemInfo>,
    pub tcp: Option<TcpExtra>,
    /// SHUT_RD / SHUT_WR bits (1, 2).
    pub shutdown: Option<u8>,
    pub mark: Option<u32>,
    pub cgroup_id: Option<u64>,
    pub tos: Option<u8>,
    pub tclass: Option<u8>,
    /// The net_cls class id (INET_DIAG_CLASS_ID, sent with the traffic class).
    pub class_id: Option<u32>,
    pub v6only: Option<bool>,
    /// Netlink and packet sockets: the socket's "sk" address ss prints with -e.
    pub sk_addr: Option<u64>,
    /// Unix sockets bound to a path: the file (ss -e prints `ino:N dev:MAJ/MIN`).
    pub unix_vfs: Option<UnixVfs>,
    /// Unix listeners: inodes of connections waiting to be accepted (UNIX_DIAG_ICONS).
    pub unix_pending: Vec<u32>,
    pub netlink: Option<NetlinkInfo>,
    pub packet: Option<PacketInfo>,
    pub tipc: Option<TipcInfo>,
    pub xdp: Option<XdpInfo>,
    /// Inet sockets: `struct inet_diag_sockopt` (INET_DIAG_SOCKOPT) as one number, its first
    /// byte in the low bits: recverr 0, is_icsk 1, freebind 2, hdrincl 3, mc_loop 4,
    /// transparent 5, mc_all 6, nodefrag 7, bind_address_no_port 8, recverr_rfc4884 9,
    /// defer_connect 10.
    pub inet_sockopt: Option<u16>,
    /// Packet sockets: the classic BPF filter attached (PACKET_DIAG_FILTER). The kernel
    /// sends none for a socket without one, and an empty one to users without
    /// CAP_NET_ADMIN, which ss prints as `bpf filter (0):`.
    pub packet_filter: Option<Vec<SockFilter>>,
    /// Owning processes, filled by process attribution (-p) only.
    pub users: Vec<SocketUser>,
    /// Read from a /proc/net table instead of sock_diag (raw sockets on kernels without
    /// RAW_DIAG): only the table's columns are known, and ss prints none of the -e, -o, -m
    /// or -i details for such sockets.
    pub from_proc: bool,
}

impl SocketRecord {
    /// A record with only what every source knows; the rest is filled by the source.
    pub fn new(netid: Netid, state: SockState, local: Endpoint, peer: Endpoint) -> Self {
        SocketRecord {
            netid,
            state,
            recv_q: 0,
            send_q: 0,
            local,
            peer,
            inode: 0,
            uid: 0,
            cookie: Cookie(0),
            timer: None,
            meminfo: None,
            tcp: None,
            shutdown: None,
            mark: None,
            cgroup_id: None,
            tos: None,
            tclass: None,
            class_id: None,
            v6only: None,
            sk_addr: None,
            unix_vfs: None,
            unix_pending: Vec::new(),
            netlink: None,
            packet: None,
            tipc: None,
            xdp: None,
            inet_sockopt: None,
            packet_filter: None,
            users: Vec::new(),
            from_proc: false,
        }
    }

    /// The IP version of an inet socket, None for the others.
    pub fn ip_version(&self) -> Option<IpVersion> {
        match self.local {
            Endpoint::Inet {
                addr: IpAddr::V4(_),
                ..
            } => Some(IpVersion::V4),
            Endpoint::Inet {
                addr: IpAddr::V6(_),
                ..
            } => Some(IpVersion::V6),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_numbers_round_trip() {
        for state in SockState::ALL {
            assert_eq!(SockState::from_kernel(state.kernel()), state);
        }
        assert_eq!(SockState::from_kernel(0), SockState::Unknown);
        assert_eq!(SockState::from_kernel(200), SockState::Unknown);
    }
}
