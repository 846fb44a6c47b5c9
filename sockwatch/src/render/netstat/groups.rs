//! `netstat -g`: multicast group memberships in net-tools 2.10's table.

use std::{
    io::{self, Write},
    net::IpAddr,
};

use super::route::{ipv4_name, ipv6_name, Ipv4Naming};
use super::Names;
use crate::source::groups::Membership;

/// netstat names group addresses as it names socket addresses: its netmask there is the
/// constant 0xffffff00 applied to the address as stored in memory, so on a little-endian
/// machine the first byte decides host (not zero) or network (zero) lookup.
const SOCKET_NETMASK: u32 = 0xffff_ff00;

/// The title, the column heads, then one row per membership in the given order.
pub fn write_groups<W: Write>(
    mut out: W,
    memberships: &[Membership],
    numeric: bool,
    names: &dyn Names,
) -> io::Result<()> {
    writeln!(out, "IPv6/IPv4 Group Memberships")?;
    writeln!(out, "Interface       RefCnt Group")?;
    writeln!(out, "--------------- ------ ---------------------")?;
    for membership in memberships {
        let group = match membership.group {
            IpAddr::V4(addr) => ipv4_name(
                names,
                addr,
                Ipv4Naming {
                    numeric,
                    default_word: false,
                    host: false,
                    host_bits: u32::from_ne_bytes(addr.octets()) & !SOCKET_NETMASK,
                    mask_is_zero: false,
                },
            ),
            IpAddr::V6(addr) => ipv6_name(names, addr, numeric),
        };
        writeln!(
            out,
            "{:<15} {:<6} {group}",
            membership.device, membership.users
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::netstat::route::tests::TestNames;
    use crate::source::groups::{parse_igmp, parse_igmp6};

    #[test]
    fn groups_named_and_numeric() {
        let mut memberships = parse_igmp(
            "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
             1\tlo        :     1      V3\n\
             \t\t\t\t010000E0     1 0:00000000\t\t0\n",
        )
        .expect("valid igmp");
        memberships.extend(
            parse_igmp6("3    swa             ff020000000000000000000000000001    12 0000000C 0\n")
                .expect("valid igmp6"),
        );
        let render = |numeric| {
            let mut out = Vec::new();
            write_groups(&mut out, &memberships, numeric, &TestNames).expect("written");
            String::from_utf8(out).expect("utf-8")
        };
        let head = "IPv6/IPv4 Group Memberships\nInterface       RefCnt Group\n--------------- ------ ---------------------\n";
        assert_eq!(
            render(false),
            format!("{head}lo              1      all-systems.mcast.net\nswa             12     ff02::1\n")
        );
        assert_eq!(
            render(true),
            format!("{head}lo              1      224.0.0.1\nswa             12     ff02::1\n")
        );
    }
}
