//! Protocol names ss accepts in `link:` and `netlink:` addresses (iproute2's ll_proto and
//! nl_proto tables).

use super::cnum;

/// Ethernet protocol names, matched case-insensitively, and their numbers (linux/if_ether.h).
const LINK_PROTOCOLS: &[(&str, u16)] = &[
    ("loop", 0x0060),
    ("pup", 0x0200),
    ("pupat", 0x0201),
    ("ip", 0x0800),
    ("x25", 0x0805),
    ("arp", 0x0806),
    ("bpq", 0x08ff),
    ("ieeepup", 0x0a00),
    ("ieeepupat", 0x0a01),
    ("dec", 0x6000),
    ("dna_dl", 0x6001),
    ("dna_rc", 0x6002),
    ("dna_rt", 0x6003),
    ("lat", 0x6004),
    ("diag", 0x6005),
    ("cust", 0x6006),
    ("sca", 0x6007),
    ("rarp", 0x8035),
    ("atalk", 0x809b),
    ("aarp", 0x80f3),
    ("ipx", 0x8137),
    ("ipv6", 0x86dd),
    ("ppp_disc", 0x8863),
    ("ppp_ses", 0x8864),
    ("atmmpoa", 0x884c),
    ("atmfate", 0x8884),
    ("802_3", 0x0001),
    ("ax25", 0x0002),
    ("all", 0x0003),
    ("802_2", 0x0004),
    ("snap", 0x0005),
    ("ddcmp", 0x0006),
    ("wan_ppp", 0x0007),
    ("ppp_mp", 0x0008),
    ("localtalk", 0x0009),
    ("can", 0x000c),
    ("ppptalk", 0x0010),
    ("tr_802_2", 0x0011),
    ("mobitex", 0x0015),
    ("control", 0x0016),
    ("irda", 0x0017),
    ("econet", 0x0018),
    ("tipc", 0x88ca),
    ("profinet", 0x8892),
    ("aoe", 0x88a2),
    ("ethercat", 0x88a4),
    ("802.1Q", 0x8100),
    ("802.1ad", 0x88a8),
    ("mpls_uc", 0x8847),
    ("mpls_mc", 0x8848),
    ("teb", 0x6558),
    ("LLDP", 0x88cc),
    ("ipv4", 0x0800),
];

/// Netlink protocol names, matched exactly, and their numbers (linux/netlink.h).
const NETLINK_PROTOCOLS: &[(&str, u8)] = &[
    ("rtnl", 0),
    ("unused", 1),
    ("usersock", 2),
    ("fw", 3),
    ("tcpdiag", 4),
    ("nflog", 5),
    ("xfrm", 6),
    ("selinux", 7),
    ("iscsi", 8),
    ("audit", 9),
    ("fiblookup", 10),
    ("connector", 11),
    ("nft", 12),
    ("ip6fw", 13),
    ("dec-rt", 14),
    ("uevent", 15),
    ("genl", 16),
    ("scsi-trans", 18),
    ("ecryptfs", 19),
    ("rdma", 20),
    ("crypto", 21),
];

/// An ethernet protocol by name or number (host byte order).
pub(super) fn link_protocol(name: &str) -> Option<u16> {
    LINK_PROTOCOLS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|&(_, number)| number)
        .or_else(|| cnum::unsigned(name, u64::from(u16::MAX)).and_then(|n| u16::try_from(n).ok()))
}

/// A netlink protocol by name or number.
pub(super) fn netlink_protocol(name: &str) -> Option<u8> {
    NETLINK_PROTOCOLS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, number)| number)
        .or_else(|| cnum::unsigned(name, u64::from(u8::MAX)).and_then(|n| u8::try_from(n).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_protocols_by_name_and_number() {
        assert_eq!(link_protocol("ip"), Some(0x0800));
        assert_eq!(link_protocol("IPv6"), Some(0x86dd));
        assert_eq!(link_protocol("all"), Some(3));
        assert_eq!(link_protocol("802.1q"), Some(0x8100));
        assert_eq!(link_protocol("0x88cc"), Some(0x88cc));
        assert_eq!(link_protocol("2048"), Some(0x0800));
        assert_eq!(link_protocol("70000"), None);
        assert_eq!(link_protocol("ethernet"), None);
    }

    #[test]
    fn netlink_protocols_by_name_and_number() {
        assert_eq!(netlink_protocol("rtnl"), Some(0));
        assert_eq!(netlink_protocol("uevent"), Some(15));
        assert_eq!(netlink_protocol("RTNL"), None, "names are case-sensitive");
        assert_eq!(netlink_protocol("16"), Some(16));
        assert_eq!(netlink_protocol("256"), None);
    }
}
