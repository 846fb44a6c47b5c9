//! `netstat -r`: the kernel routing tables in net-tools 2.10's layouts, and the address naming
//! rules its route and group listings share.

use std::{
    io::{self, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use super::{
    addr::{ipv6_text, strip_v4_mapped_prefix},
    Names,
};
use crate::source::routes::{flags as rtf, Ipv4Route, Ipv6Route};

/// The IPv4 table's columns: netstat shows MSS/Window/irtt by default, Metric/Ref/Use with
/// -e, both with -ee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteColumns {
    Mss,
    Metric,
    All,
}

/// How to name addresses: -n (or --numeric-hosts) prints them as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteOptions {
    pub numeric: bool,
    pub columns: RouteColumns,
}

/// Each address column is cut to this many bytes.
const ADDRESS_WIDTH: usize = 15;

/// `Kernel IP routing table`: the routes that are up.
pub fn write_ipv4_routes<W: Write>(
    mut out: W,
    routes: &[Ipv4Route],
    options: RouteOptions,
    names: &dyn Names,
) -> io::Result<()> {
    writeln!(out, "Kernel IP routing table")?;
    let head = "Destination     Gateway         Genmask         ";
    match options.columns {
        RouteColumns::Metric => writeln!(out, "{head}Flags Metric Ref    Use Iface")?,
        RouteColumns::Mss => writeln!(out, "{head}Flags   MSS Window  irtt Iface")?,
        RouteColumns::All => writeln!(
            out,
            "{head}Flags Metric Ref    Use Iface    MSS   Window irtt"
        )?,
    }
    for route in routes.iter().filter(|r| r.flags & rtf::UP != 0) {
        let destination = ipv4_name(
            names,
            route.destination,
            Ipv4Naming {
                numeric: options.numeric,
                default_word: true,
                host: route.flags & rtf::HOST != 0,
                host_bits: u32::from(route.destination) & !u32::from(route.mask),
                mask_is_zero: route.mask.is_unspecified(),
            },
        );
        let gateway = ipv4_name(
            names,
            route.gateway,
            Ipv4Naming {
                numeric: options.numeric,
                default_word: false,
                host: true,
                host_bits: 0,
                mask_is_zero: false,
            },
        );
        let destination = cut(&destination);
        let gateway = cut(&gateway);
        let mask = route.mask.to_string();
        let flags = ipv4_flags(route.flags);
        // netstat prints these numbers as C ints.
        let (metric, refcnt, used) = (
            route.metric as i32,
            route.refcnt as i32,
            route.use_count as i32,
        );
        let (mss, window, irtt) = (route.mtu as i32, route.window as i32, route.irtt as i32);
        let reject = route.flags & rtf::REJECT != 0;
        match (options.columns, reject) {
            (RouteColumns::Metric, true) => writeln!(
                out,
                "{destination:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {used:>7} -"
            )?,
            (RouteColumns::Metric, false) => writeln!(
                out,
                "{destination:<15} {gateway:<15} {mask:<15} {flags:<5} {metric:<6} {refcnt:<2} {used:>7} {}",
                route.iface
            )?,
            (RouteColumns::Mss, true) => writeln!(
                out,
                "{destination:<15} -               {mask:<15} {flags:<5}     - -          - -"
            )?,
            (RouteColumns::Mss, false) => writeln!(
                out,
                "{destination:<15} {gateway:<15} {mask:<15} {flags:<5} {mss:>5} {window:<5} {irtt:>6} {}",
                route.iface
            )?,
            (RouteColumns::All, true) => writeln!(
                out,
                "{destination:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {used:>7} -        -     -      -"
            )?,
            (RouteColumns::All, false) => writeln!(
                out,
                "{destination:<15} {gateway:<15} {mask:<15} {flags:<5} {metric:<6} {refcnt:<3} {used:>6} {:<6.6}   {mss:<5} {window:<6} {irtt}",
                route.iface
            )?,
        }
    }
    Ok(())
}

/// `Kernel IPv6 routing table`: every route but cached clones.
pub fn write_ipv6_routes<W: Write>(
    mut out: W,
    routes: &[Ipv6Route],
    numeric: bool,
    names: &dyn Names,
) -> io::Result<()> {
    writeln!(out, "Kernel IPv6 routing table")?;
    writeln!(
        out,
        "Destination                    Next Hop                   Flag Met Ref  Use If"
    )?;
    for route in routes.iter().filter(|r| r.flags & rtf::CACHE == 0) {
        let destination = format!(
            "{}/{}",
            ipv6_name(names, route.destination, numeric),
            route.prefix_len
        );
        let next_hop = ipv6_name(names, route.next_hop, numeric);
        writeln!(
            out,
            "{destination:<30} {next_hop:<26} {:<4} {:<3} {:<1} {:>6} {}",
            ipv6_flags(route.flags),
            route.metric as i32,
            route.refcnt as i32,
            route.use_count as i32,
            route.iface
        )?;
    }
    Ok(())
}

/// What decides an IPv4 address's name in netstat (its INET_rresolve).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv4Naming {
    /// -n: the dotted quad.
    pub numeric: bool,
    /// 0.0.0.0/0 is `default` rather than `*`.
    pub default_word: bool,
    /// Look the address up as a host even without host bits.
    pub host: bool,
    /// The address's bits outside the netmask: any set makes it a host, else a network.
    pub host_bits: u32,
    /// The netmask is 0 (only 0.0.0.0 with it gets a word instead of digits).
    pub mask_is_zero: bool,
}

/// An IPv4 address named as netstat names it: numeric; `default`/`*` for 0.0.0.0/0 and
/// `0.0.0.0` with any other mask; else the host (or, without host bits, network) name; the
/// dotted quad when there is none.
pub(crate) fn ipv4_name(names: &dyn Names, addr: Ipv4Addr, how: Ipv4Naming) -> String {
    if how.numeric {
        return addr.to_string();
    }
    if addr.is_unspecified() {
        return match (how.mask_is_zero, how.default_word) {
            (true, true) => "default".to_string(),
            (true, false) => "*".to_string(),
            (false, _) => addr.to_string(),
        };
    }
    let name = if how.host || how.host_bits != 0 {
        names.host(IpAddr::V4(addr))
    } else {
        names.network(addr)
    };
    name.unwrap_or_else(|| addr.to_string())
}

/// An IPv6 address named as netstat names it: numeric text with -n, `[::]` for the
/// unspecified address, else the host name or the numeric text; an IPv4-mapped address as
/// its IPv4 part.
pub(crate) fn ipv6_name(names: &dyn Names, addr: Ipv6Addr, numeric: bool) -> String {
    let text = if numeric {
        ipv6_text(addr)
    } else if addr.is_unspecified() {
        return "[::]".to_string();
    } else {
        names
            .host(IpAddr::V6(addr))
            .unwrap_or_else(|| ipv6_text(addr))
    };
    strip_v4_mapped_prefix(text, addr)
}

fn cut(text: &str) -> &str {
    let mut end = text.len().min(ADDRESS_WIDTH);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The Flags column of the IPv4 table; a reject route's flags restart at `!`.
fn ipv4_flags(flags: u32) -> String {
    let mut text = String::new();
    for (bit, letter) in [(rtf::UP, 'U'), (rtf::GATEWAY, 'G')] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    if flags & rtf::REJECT != 0 {
        text = "!".to_string();
    }
    for (bit, letter) in [
        (rtf::HOST, 'H'),
        (rtf::REINSTATE, 'R'),
        (rtf::DYNAMIC, 'D'),
        (rtf::MODIFIED, 'M'),
        (rtf::DEFAULT, 'd'),
        (rtf::ALLONLINK, 'a'),
        (rtf::ADDRCONF, 'c'),
        (rtf::NONEXTHOP, 'o'),
        (rtf::EXPIRES, 'e'),
        (rtf::CACHE, 'c'),
        (rtf::FLOW, 'f'),
        (rtf::POLICY, 'p'),
        (rtf::LOCAL, 'l'),
        (rtf::MTU, 'u'),
        (rtf::WINDOW, 'w'),
        (rtf::IRTT, 'i'),
        (rtf::NOTCACHED, 'n'),
    ] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    text
}

fn ipv6_flags(flags: u32) -> String {
    [
        (rtf::UP, 'U'),
        (rtf::REJECT, '!'),
        (rtf::GATEWAY, 'G'),
        (rtf::HOST, 'H'),
        (rtf::DEFAULT, 'D'),
        (rtf::ADDRCONF, 'A'),
        (rtf::CACHE, 'C'),
        (rtf::ALLONLINK, 'a'),
        (rtf::EXPIRES, 'e'),
        (rtf::MODIFIED, 'm'),
        (rtf::NONEXTHOP, 'n'),
        (rtf::FLOW, 'f'),
    ]
    .into_iter()
    .filter(|&(bit, _)| flags & bit != 0)
    .map(|(_, letter)| letter)
    .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::netstat::InetProto;
    use crate::source::routes::{parse_ipv4_routes, parse_ipv6_routes};

    /// Names of a small made-up network: hosts 10.200.0.2 (`peer`) and fe80::1 (`router6`),
    /// network 10.200.0.0 (`testnet`).
    pub(crate) struct TestNames;

    impl Names for TestNames {
        fn host(&self, addr: IpAddr) -> Option<String> {
            match addr.to_string().as_str() {
                "10.200.0.2" => Some("peer".into()),
                "fe80::1" => Some("router6".into()),
                "224.0.0.1" => Some("all-systems.mcast.net".into()),
                _ => None,
            }
        }
        fn network(&self, addr: Ipv4Addr) -> Option<String> {
            (addr == Ipv4Addr::new(10, 200, 0, 0)).then(|| "testnet".into())
        }
        fn service(&self, _: u16, _: InetProto) -> Option<String> {
            None
        }
        fn user(&self, _: u32) -> Option<String> {
            None
        }
        fn program(&self, _: u32) -> Option<String> {
            None
        }
    }

    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
swa\t0000C80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
swa\t00000000\t0200C80A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
swa\t0500000A\t00000000\t0005\t0\t3\t0\tFFFFFFFF\t1400\t0\t0\n\
lo\t0000000B\t00000000\t0201\t0\t0\t0\t000000FF\t0\t0\t0\n\
swb\t0000000C\t00000000\t0000\t0\t0\t0\t000000FF\t0\t0\t0\n";

    fn ipv4(columns: RouteColumns, numeric: bool) -> String {
        let routes = parse_ipv4_routes(ROUTES).expect("valid routes");
        let mut out = Vec::new();
        let options = RouteOptions { numeric, columns };
        write_ipv4_routes(&mut out, &routes, options, &TestNames).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    /// Layouts as net-tools 2.10 prints them (the default, -e and -ee; named and -n), checked
    /// against the real netstat reading these files with these names: the
    /// route that is not up is left out, the reject route has dashes, names are looked up as
    /// networks unless host bits or the H flag say host.
    #[test]
    fn ipv4_layouts() {
        assert_eq!(
            ipv4(RouteColumns::Mss, false),
            "\
Kernel IP routing table
Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface
testnet         0.0.0.0         255.255.255.0   U         0 0          0 swa
default         peer            0.0.0.0         UG        0 0          0 swa
10.0.0.5        0.0.0.0         255.255.255.255 UH     1400 0          0 swa
11.0.0.0        -               255.0.0.0       !         - -          - -
"
        );
        assert_eq!(
            ipv4(RouteColumns::Metric, true),
            "\
Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
10.200.0.0      0.0.0.0         255.255.255.0   U     0      0        0 swa
0.0.0.0         10.200.0.2      0.0.0.0         UG    100    0        0 swa
10.0.0.5        0.0.0.0         255.255.255.255 UH    0      0        3 swa
11.0.0.0        -               255.0.0.0       !     0      -        0 -
"
        );
        assert_eq!(
            ipv4(RouteColumns::All, true),
            "\
Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt
10.200.0.0      0.0.0.0         255.255.255.0   U     0      0        0 swa      0     0      0
0.0.0.0         10.200.0.2      0.0.0.0         UG    100    0        0 swa      0     0      0
10.0.0.5        0.0.0.0         255.255.255.255 UH    0      0        3 swa      1400  0      0
11.0.0.0        -               255.0.0.0       !     0      -        0 -        -     -      -
"
        );
    }

    #[test]
    fn ipv6_layout() {
        let text = "\
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001      swb
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000002 00000005 00450003      swa
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
20010db8000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 01000001       lo
";
        let routes = parse_ipv6_routes(text).expect("valid routes");
        let render = |numeric| {
            let mut out = Vec::new();
            write_ipv6_routes(&mut out, &routes, numeric, &TestNames).expect("written");
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            render(false),
            "\
Kernel IPv6 routing table
Destination                    Next Hop                   Flag Met Ref  Use If
fe80::/64                      [::]                       U    256 1      0 swb
[::]/0                         router6                    UGDAe 1024 2      5 swa
[::]/0                         [::]                       !n   -1  1      0 lo
"
        );
        assert!(render(true).contains(
            "\n::/0                           fe80::1                    UGDAe 1024 2      5 swa\n"
        ));
    }

    #[test]
    fn ipv4_naming_rules() {
        let named = |addr: Ipv4Addr, how| ipv4_name(&TestNames, addr, how);
        let how = Ipv4Naming {
            numeric: false,
            default_word: false,
            host: false,
            host_bits: 0,
            mask_is_zero: true,
        };
        assert_eq!(named(Ipv4Addr::UNSPECIFIED, how), "*");
        assert_eq!(
            named(
                Ipv4Addr::UNSPECIFIED,
                Ipv4Naming {
                    mask_is_zero: false,
                    ..how
                }
            ),
            "0.0.0.0"
        );
        assert_eq!(named(Ipv4Addr::new(10, 200, 0, 0), how), "testnet");
        assert_eq!(
            named(
                Ipv4Addr::new(10, 200, 0, 0),
                Ipv4Naming { host: true, ..how }
            ),
            "10.200.0.0"
        );
        assert_eq!(
            named(
                Ipv4Addr::new(10, 200, 0, 2),
                Ipv4Naming {
                    host_bits: 2,
                    ..how
                }
            ),
            "peer"
        );
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        assert_eq!(cut("a-very-long-host-name"), "a-very-long-hos");
        assert_eq!(cut("short"), "short");
        assert_eq!(ipv4_flags(rtf::UP | rtf::REJECT | rtf::HOST), "!H");
        assert_eq!(ipv6_flags(rtf::UP | rtf::NONEXTHOP), "Un");
    }
}
