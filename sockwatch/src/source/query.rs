//! What a snapshot fetches: which kinds of sockets, in which states, with which extras.

use std::collections::BTreeSet;

use crate::model::{Netid, SockState};

/// A set of socket states as the kernel filters them: bit n stands for kernel state n.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateMask(pub u32);

impl StateMask {
    /// Every state, including any a newer kernel may add.
    pub const ALL: StateMask = StateMask(u32::MAX);

    pub fn contains(self, state: SockState) -> bool {
        self.contains_kernel(state.kernel())
    }

    /// Whether the kernel state numbered `n` is in the set (numbers past 31 never are).
    pub fn contains_kernel(self, n: u8) -> bool {
        1u32.checked_shl(u32::from(n))
            .is_some_and(|bit| self.0 & bit != 0)
    }
}

impl FromIterator<SockState> for StateMask {
    fn from_iter<I: IntoIterator<Item = SockState>>(states: I) -> Self {
        StateMask(
            states
                .into_iter()
                .fold(0, |mask, state| mask | 1 << state.kernel()),
        )
    }
}

/// Which IP versions inet sockets are fetched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpVersions {
    pub v4: bool,
    pub v6: bool,
}

impl IpVersions {
    pub const BOTH: IpVersions = IpVersions { v4: true, v6: true };
}

/// Optional facts the kernel only sends when asked. What it sends unasked (shutdown state,
/// mark for CAP_NET_ADMIN, cgroup id, v6only, unix names, peers and queue lengths, packet
/// and netlink basics) is always decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// TCP internals: struct tcp_info and the congestion control name (ss -i).
    pub tcp_info: bool,
    /// struct tcp_info alone, without the congestion control's name and numbers: each TCP
    /// socket's byte and retransmit counters and RTT, for less of the kernel's work a socket.
    pub tcp_counters: bool,
    /// Socket memory: SK_MEMINFO counters for inet and unix sockets (ss -m).
    pub memory: bool,
    /// TOS of IPv4 and traffic class of IPv6 sockets (ss --tos).
    pub tos: bool,
    /// Unix sockets' bound-file inode and device and pending connections (ss -e).
    pub unix_details: bool,
}

/// A description of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub netids: BTreeSet<Netid>,
    pub ip: IpVersions,
    pub states: StateMask,
    pub extensions: Extensions,
    /// inet_diag bytecode sent with the TCP and UDP requests, so the kernel sends only the
    /// sockets it accepts ([`crate::filter::Filter::inet_diag_bytecode`]).
    pub bytecode: Option<Vec<u8>>,
    /// Ports every wanted inet socket has, named in the requests' socket id.
    pub ports: PortMatch,
}

/// The local and remote port a dump request can name (idiag_sport, idiag_dport): the
/// kernel passes over inet sockets with other ports before taking a reference or running
/// the bytecode, which at 100k sockets is most of a filtered dump's time. TCP, DCCP and UDP
/// dumps honour them; other protocols list every socket, as without them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortMatch {
    pub local: Option<u16>,
    pub remote: Option<u16>,
}

impl Query {
    pub fn new(
        netids: impl IntoIterator<Item = Netid>,
        ip: IpVersions,
        states: StateMask,
        extensions: Extensions,
    ) -> Self {
        Query {
            netids: netids.into_iter().collect(),
            ip,
            states,
            extensions,
            bytecode: None,
            ports: PortMatch::default(),
        }
    }

    pub fn wants(&self, netid: Netid) -> bool {
        self.netids.contains(&netid)
    }

    /// Whether a socket of `netid` from a dump that covers several socket types belongs in
    /// the snapshot. Unix sockets are kept by type; packet sockets all are once either packet
    /// table is asked for, as ss's packet_diag reader never looks at the type; vsock sockets
    /// of other types than stream and datagram are kept whenever vsock is dumped, as ss's
    /// reader skips only the stream or datagram table not asked for.
    pub fn keeps(&self, netid: Netid) -> bool {
        if netid.is_packet() {
            self.wants(Netid::PacketRaw) || self.wants(Netid::PacketDgram)
        } else if netid == Netid::VsockOther {
            self.wants(Netid::VsockStream) || self.wants(Netid::VsockDgram)
        } else {
            self.wants(netid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_masks_use_kernel_numbers() {
        let mask: StateMask = [SockState::Established, SockState::Listen]
            .into_iter()
            .collect();
        assert_eq!(mask, StateMask(1 << 1 | 1 << 10));
        assert!(mask.contains(SockState::Listen));
        assert!(!mask.contains(SockState::Close));
        assert!(!StateMask::ALL.contains_kernel(40));
    }

    #[test]
    fn either_packet_table_keeps_every_packet_socket() {
        let ext = Extensions::default();
        let query = Query::new(
            [Netid::PacketDgram, Netid::UnixStream],
            IpVersions::BOTH,
            StateMask::ALL,
            ext,
        );
        assert!(query.keeps(Netid::PacketRaw) && query.keeps(Netid::PacketDgram));
        assert!(query.keeps(Netid::UnixStream) && !query.keeps(Netid::UnixDgram));
        assert!(!query.wants(Netid::PacketRaw));
    }

    #[test]
    fn either_vsock_table_keeps_vsock_sockets_of_other_types() {
        let query = |netids: &[Netid]| {
            let all = IpVersions::BOTH;
            Query::new(
                netids.iter().copied(),
                all,
                StateMask::ALL,
                Extensions::default(),
            )
        };
        for netid in [Netid::VsockStream, Netid::VsockDgram] {
            assert!(query(&[netid]).keeps(Netid::VsockOther), "{netid:?}");
        }
        assert!(!query(&[Netid::VsockStream]).keeps(Netid::VsockDgram));
        assert!(!query(&[Netid::Tipc]).keeps(Netid::VsockOther));
    }
}
