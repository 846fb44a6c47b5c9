//! The four address columns: "Local Address:" and its "Port", "Peer Address:" and its
//! "Port", as ss writes them for each socket family.

use std::net::IpAddr;

use super::fmt;
use super::names::Names;
use super::table::{Col, Table};
use super::{OtherPortNames, Printer};
use crate::escape::{push_escaped, push_text};
use crate::model::{Endpoint, Netid, SocketRecord, TipcPort, UnixName};
use crate::system::services::Transport;

/// Where a port's name comes from.
#[derive(Clone, Copy)]
enum PortNames {
    Services(Transport),
    AnyTransport,
    Protocols,
}

/// `cid:port` in the column `addr` and the one after it; `*` for any (`u32::MAX`).
fn vsock_addr(table: &mut Table, addr: Col, cid: u32, port: u32) {
    let any_or = |buf: &mut Vec<u8>, n: u32| match n {
        u32::MAX => buf.push(b'*'),
        n => fmt::push_u64(buf, u64::from(n)),
    };
    let buf = table.field(addr);
    any_or(buf, cid);
    buf.push(b':');
    any_or(table.field(addr.next()), port);
}

/// `node:ref` in the column `addr` and the one after it; `-` alone for no peer.
fn tipc_addr(table: &mut Table, addr: Col, port: Option<TipcPort>) {
    match port {
        Some(TipcPort { node, port }) => {
            let buf = table.field(addr);
            fmt::push_u64(buf, u64::from(node));
            buf.push(b':');
            fmt::push_u64(table.field(addr.next()), u64::from(port));
        }
        None => {
            table.field(addr).push(b'-');
            table.field(addr.next());
        }
    }
}

impl<N: Names + ?Sized> Printer<'_, N> {
    pub(super) fn endpoints(&mut self, table: &mut Table, record: &SocketRecord) {
        match &record.local {
            Endpoint::Inet { addr, port, scope } => {
                let buf = table.field(Col::Addr);
                self.inet_addr(buf, *addr, record.v6only.unwrap_or(false));
                if *scope != 0 {
                    buf.push(b'%');
                    self.interface(buf, *scope);
                }
                buf.push(b':');
                self.port(table.field(Col::Serv), *port, record.netid);
            }
            Endpoint::Unix { name, inode } => {
                let buf = table.field(Col::Addr);
                match name {
                    Some(UnixName::Path(path)) => {
                        push_text(buf, path, self.opts.escape);
                    }
                    // ss shows every NUL of an abstract name, the leading one included, as '@'.
                    Some(UnixName::Abstract(name)) => {
                        buf.push(b'@');
                        let start = buf.len();
                        buf.extend(name.iter().map(|&b| if b == 0 { b'@' } else { b }));
                        if self.opts.escape {
                            let raw = buf.split_off(start);
                            push_escaped(buf, &raw);
                        }
                    }
                    None => buf.push(b'*'),
                }
                buf.push(b' ');
                fmt::push_i64(table.field(Col::Serv), i64::from(*inode as i32));
            }
            Endpoint::Packet { protocol, ifindex } => {
                let buf = table.field(Col::Addr);
                self.link_protocol(buf, *protocol);
                buf.push(b':');
                let buf = table.field(Col::Serv);
                if *ifindex == 0 {
                    buf.push(b'*');
                } else {
                    self.interface(buf, *ifindex);
                }
            }
            Endpoint::Netlink { protocol, portid } => {
                let buf = table.field(Col::Addr);
                self.netlink_protocol(buf, *protocol);
                buf.push(b':');
                self.netlink_port(table.field(Col::Serv), *portid);
            }
            Endpoint::Vsock { cid, port } => vsock_addr(table, Col::Addr, *cid, *port),
            Endpoint::Tipc(port) => tipc_addr(table, Col::Addr, *port),
            Endpoint::Xdp { ifindex: 0, .. } => {
                table.field(Col::Addr).push(b'*');
                table.field(Col::Serv);
            }
            Endpoint::Xdp { ifindex, queue } => {
                let buf = table.field(Col::Addr);
                self.interface(buf, *ifindex);
                buf.push(b':');
                let buf = table.field(Col::Serv);
                buf.push(b'q');
                fmt::push_i64(buf, i64::from(*queue as i32));
            }
        }

        match &record.peer {
            Endpoint::Inet { addr, port, .. } => {
                let buf = table.field(Col::RAddr);
                self.inet_addr(buf, *addr, record.v6only.unwrap_or(false));
                buf.push(b':');
                self.port(table.field(Col::RServ), *port, record.netid);
            }
            // ss learns nothing of a unix peer but its inode.
            Endpoint::Unix { inode, .. } => {
                table.field(Col::RAddr).extend_from_slice(b"* ");
                fmt::push_i64(table.field(Col::RServ), i64::from(*inode as i32));
            }
            Endpoint::Netlink { portid, .. }
                if record.netlink.is_some_and(|netlink| netlink.connected) =>
            {
                let dst_group = record.netlink.map_or(0, |netlink| netlink.dst_group);
                let buf = table.field(Col::RAddr);
                fmt::push_i64(buf, i64::from(dst_group as i32));
                buf.push(b':');
                fmt::push_i64(table.field(Col::RServ), i64::from(*portid as i32));
            }
            Endpoint::Vsock { cid, port } => vsock_addr(table, Col::RAddr, *cid, *port),
            Endpoint::Tipc(port) => tipc_addr(table, Col::RAddr, *port),
            Endpoint::Packet { .. } | Endpoint::Netlink { .. } | Endpoint::Xdp { .. } => {
                table.field(Col::RAddr).push(b'*');
                table.field(Col::RServ);
            }
        }
    }

    /// An IP address; the IPv6 wildcard of a dual-stack socket is `*`, other IPv6
    /// addresses are bracketed unless -r found a name for them.
    fn inet_addr(&mut self, buf: &mut Vec<u8>, addr: IpAddr, v6only: bool) {
        let dual_stack_wildcard = matches!(addr, IpAddr::V6(v6) if v6.is_unspecified() && !v6only);
        let start = buf.len();
        if dual_stack_wildcard || !self.push_host_name(buf, addr) {
            fmt::push_ip(buf, addr, v6only);
        } else if addr.is_ipv6() && buf[start..].contains(&b':') {
            buf.insert(start, b'[');
            buf.push(b']');
        }
    }

    fn push_host_name(&mut self, buf: &mut Vec<u8>, addr: IpAddr) -> bool {
        if !self.opts.resolve {
            return false;
        }
        // ss resolves an IPv4-mapped address as the IPv4 address it carries.
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match self.names.host(addr) {
            Some(name) => {
                push_text(buf, name.as_bytes(), self.opts.escape);
                true
            }
            None => false,
        }
    }

    fn port(&mut self, buf: &mut Vec<u8>, port: u16, netid: Netid) {
        if port == 0 {
            buf.push(b'*');
            return;
        }
        if self.opts.numeric {
            fmt::push_u64(buf, u64::from(port));
            return;
        }
        let names = match netid {
            Netid::Tcp => PortNames::Services(Transport::Tcp),
            Netid::Udp => PortNames::Services(Transport::Udp),
            Netid::Raw => PortNames::Protocols,
            _ => match self.layout.other_port_names {
                OtherPortNames::Tcp => PortNames::Services(Transport::Tcp),
                OtherPortNames::Udp => PortNames::Services(Transport::Udp),
                OtherPortNames::Protocols => PortNames::Protocols,
                OtherPortNames::AnyTransport => PortNames::AnyTransport,
            },
        };
        if let PortNames::Protocols = names {
            match self.names.ip_protocol(port) {
                Some(name) => buf.extend_from_slice(name.as_bytes()),
                None => {
                    buf.extend_from_slice(b"ipproto-");
                    fmt::push_u64(buf, u64::from(port));
                }
            }
            return;
        }
        let (low, high) = self.names.ephemeral_ports();
        if !(low..=high).contains(&port) {
            let name = match names {
                PortNames::Services(transport) => self.names.service(port, transport),
                _ => {
                    let transports = [
                        Transport::Tcp,
                        Transport::Udp,
                        Transport::Sctp,
                        Transport::Dccp,
                    ];
                    let found = transports
                        .into_iter()
                        .find(|t| self.names.service(port, *t).is_some());
                    match found {
                        Some(transport) => self.names.service(port, transport),
                        None => None,
                    }
                }
            };
            if let Some(name) = name {
                buf.extend_from_slice(name.as_bytes());
                return;
            }
        }
        fmt::push_u64(buf, u64::from(port));
    }

    fn interface(&mut self, buf: &mut Vec<u8>, ifindex: u32) {
        match self.names.interface(ifindex) {
            Some(name) => push_text(buf, name.as_bytes(), self.opts.escape),
            None => {
                buf.extend_from_slice(b"if");
                fmt::push_u64(buf, u64::from(ifindex));
            }
        }
    }

    /// A packet socket's protocol: `*` for all, else iproute2's name, `[number]` with -n or
    /// when it has none.
    fn link_protocol(&mut self, buf: &mut Vec<u8>, protocol: u16) {
        const ETH_P_ALL: u16 = 3;
        if protocol == ETH_P_ALL {
            buf.push(b'*');
            return;
        }
        let name = if self.opts.numeric {
            None
        } else {
            LINK_PROTOCOLS
                .iter()
                .find(|(id, _)| *id == protocol)
                .map(|(_, name)| *name)
        };
        match name {
            Some(name) => buf.extend_from_slice(name.as_bytes()),
            None => {
                buf.push(b'[');
                fmt::push_u64(buf, u64::from(protocol));
                buf.push(b']');
            }
        }
    }

    fn netlink_protocol(&mut self, buf: &mut Vec<u8>, protocol: u8) {
        let name = if self.opts.numeric {
            None
        } else {
            NETLINK_PROTOCOLS
                .get(usize::from(protocol))
                .copied()
                .flatten()
        };
        match name {
            Some(name) => buf.extend_from_slice(name.as_bytes()),
            None => fmt::push_u64(buf, u64::from(protocol)),
        }
    }

    /// A netlink port id: `kernel` for 0, `comm/pid` when a process has that pid, `*` for
    /// an unbound socket (-1).
    fn netlink_port(&mut self, buf: &mut Vec<u8>, portid: i64) {
        // The kernel's port id is a u32 that ss reads as an int.
        let pid = portid as u32 as i32;
        if pid == -1 {
            buf.push(b'*');
            return;
        }
        if !self.opts.numeric {
            if pid == 0 {
                buf.extend_from_slice(b"kernel");
                return;
            }
            if pid > 0 {
                if let Some(comm) = self.names.process(pid as u32) {
                    buf.extend_from_slice(comm.as_bytes());
                    buf.push(b'/');
                }
            }
        }
        fmt::push_i64(buf, i64::from(pid));
    }
}

/// iproute2's link-layer protocol names (lib/ll_proto.c), by ETH_P_* number; the first
/// entry for a number wins.
const LINK_PROTOCOLS: &[(u16, &str)] = &[
    (0x0060, "loop"),
    (0x0200, "pup"),
    (0x0201, "pupat"),
    (0x0800, "ip"),
    (0x0805, "x25"),
    (0x0806, "arp"),
    (0x08ff, "bpq"),
    (0x0a00, "ieeepup"),
    (0x0a01, "ieeepupat"),
    (0x6000, "dec"),
    (0x6001, "dna_dl"),
    (0x6002, "dna_rc"),
    (0x6003, "dna_rt"),
    (0x6004, "lat"),
    (0x6005, "diag"),
    (0x6006, "cust"),
    (0x6007, "sca"),
    (0x8035, "rarp"),
    (0x809b, "atalk"),
    (0x80f3, "aarp"),
    (0x8137, "ipx"),
    (0x86dd, "ipv6"),
    (0x8863, "ppp_disc"),
    (0x8864, "ppp_ses"),
    (0x884c, "atmmpoa"),
    (0x8884, "atmfate"),
    (0x0001, "802_3"),
    (0x0002, "ax25"),
    (0x0003, "all"),
    (0x0004, "802_2"),
    (0x0005, "snap"),
    (0x0006, "ddcmp"),
    (0x0007, "wan_ppp"),
    (0x0008, "ppp_mp"),
    (0x0009, "localtalk"),
    (0x000c, "can"),
    (0x0010, "ppptalk"),
    (0x0011, "tr_802_2"),
    (0x0015, "mobitex"),
    (0x0016, "control"),
    (0x0017, "irda"),
    (0x0018, "econet"),
    (0x88ca, "tipc"),
    (0x8892, "profinet"),
    (0x88a2, "aoe"),
    (0x88a4, "ethercat"),
    (0x8100, "802.1Q"),
    (0x88a8, "802.1ad"),
    (0x8847, "mpls_uc"),
    (0x8848, "mpls_mc"),
    (0x6558, "teb"),
    (0x88cc, "LLDP"),
];

/// iproute2's netlink protocol names (lib/rt_names.c), by NETLINK_* number.
const NETLINK_PROTOCOLS: [Option<&str>; 22] = [
    Some("rtnl"),
    Some("unused"),
    Some("usersock"),
    Some("fw"),
    Some("tcpdiag"),
    Some("nflog"),
    Some("xfrm"),
    Some("selinux"),
    Some("iscsi"),
    Some("audit"),
    Some("fiblookup"),
    Some("connector"),
    Some("nft"),
    Some("ip6fw"),
    Some("dec-rt"),
    Some("uevent"),
    Some("genl"),
    None,
    Some("scsi-trans"),
    Some("ecryptfs"),
    Some("rdma"),
    Some("crypto"),
];
