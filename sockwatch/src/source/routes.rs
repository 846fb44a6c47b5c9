//! The kernel's main routing tables as netstat -r reads them: /proc/net/route (IPv4, a header
//! line naming tab-separated columns) and /proc/net/ipv6_route (IPv6, fixed columns in hex).

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    path::Path,
};

use super::{
    interfaces::parse_hex_ipv6,
    proc_file::{self, ProcFileError},
};

/// A line of /proc/net/route. Addresses are as the kernel stores them; numbers keep the
/// kernel's value (netstat prints them as C ints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Route {
    pub iface: String,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub mask: Ipv4Addr,
    /// RTF_* flags.
    pub flags: u32,
    pub refcnt: i64,
    pub use_count: i64,
    pub metric: i64,
    /// The MTU column (netstat's MSS).
    pub mtu: i64,
    pub window: i64,
    pub irtt: i64,
}

/// A line of /proc/net/ipv6_route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Route {
    pub destination: Ipv6Addr,
    pub prefix_len: u32,
    pub source: Ipv6Addr,
    pub source_prefix_len: u32,
    pub next_hop: Ipv6Addr,
    pub metric: u32,
    pub refcnt: u32,
    pub use_count: u32,
    /// RTF_* flags.
    pub flags: u32,
    pub iface: String,
}

/// RTF_* route flags netstat decodes (linux/route.h, linux/ipv6_route.h).
pub mod flags {
    pub const UP: u32 = 0x0001;
    pub const GATEWAY: u32 = 0x0002;
    pub const HOST: u32 = 0x0004;
    pub const REINSTATE: u32 = 0x0008;
    pub const DYNAMIC: u32 = 0x0010;
    pub const MODIFIED: u32 = 0x0020;
    pub const MTU: u32 = 0x0040;
    pub const WINDOW: u32 = 0x0080;
    pub const IRTT: u32 = 0x0100;
    pub const REJECT: u32 = 0x0200;
    /// A Linux 2.0 flag netstat still decodes.
    pub const NOTCACHED: u32 = 0x0400;
    pub const DEFAULT: u32 = 0x0001_0000;
    pub const ALLONLINK: u32 = 0x0002_0000;
    pub const ADDRCONF: u32 = 0x0004_0000;
    pub const NONEXTHOP: u32 = 0x0020_0000;
    pub const EXPIRES: u32 = 0x0040_0000;
    pub const CACHE: u32 = 0x0100_0000;
    pub const FLOW: u32 = 0x0200_0000;
    pub const POLICY: u32 = 0x0400_0000;
    pub const LOCAL: u32 = 0x8000_0000;
}

/// A route file that could not be read or parsed.
pub type RouteError = ProcFileError<RouteLineProblem>;

/// What is wrong with a line of a route file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteLineProblem {
    #[error("the header has no {0} column")]
    MissingColumn(&'static str),
    #[error("{found} fields where {expected} were expected")]
    FieldCount { found: usize, expected: usize },
    #[error("{0:?} is not a number")]
    BadNumber(String),
    #[error("{0:?} is not an address in hex")]
    BadAddress(String),
}

type LineError = proc_file::LineError<RouteLineProblem>;

/// The IPv4 main table of the current network namespace.
pub fn ipv4_routes() -> Result<Vec<Ipv4Route>, RouteError> {
    proc_file::read(Path::new("/proc/net/route"), parse_ipv4_routes)
}

/// The IPv6 routes of the current network namespace.
pub fn ipv6_routes() -> Result<Vec<Ipv6Route>, RouteError> {
    proc_file::read(Path::new("/proc/net/ipv6_route"), parse_ipv6_routes)
}

/// /proc/net/route: columns found by their header names (Iface Destination Gateway Flags
/// RefCnt Use Metric Mask MTU Window IRTT).
pub fn parse_ipv4_routes(text: &str) -> Result<Vec<Ipv4Route>, LineError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    let column = |name: &'static str| {
        names
            .iter()
            .position(|&n| n == name)
            .ok_or((1, RouteLineProblem::MissingColumn(name)))
    };
    let columns = [
        column("Iface")?,
        column("Destination")?,
        column("Gateway")?,
        column("Flags")?,
        column("RefCnt")?,
        column("Use")?,
        column("Metric")?,
        column("Mask")?,
        column("MTU")?,
        column("Window")?,
        column("IRTT")?,
    ];
    let mut routes = Vec::new();
    for (number, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < names.len() {
            let problem = RouteLineProblem::FieldCount {
                found: fields.len(),
                expected: names.len(),
            };
            return Err((number, problem));
        }
        let [iface, destination, gateway, flags, refcnt, use_count, metric, mask, mtu, window, irtt] =
            columns.map(|c| fields[c]);
        let address = |word: &str| {
            u32::from_str_radix(word, 16)
                // The kernel prints the address's bytes as one native-endian number.
                .map(|raw| Ipv4Addr::from(raw.to_ne_bytes()))
                .map_err(|_| (number, RouteLineProblem::BadAddress(word.to_string())))
        };
        let decimal = |word: &str| {
            word.parse::<i64>()
                .map_err(|_| (number, RouteLineProblem::BadNumber(word.to_string())))
        };
        routes.push(Ipv4Route {
            iface: iface.to_string(),
            destination: address(destination)?,
            gateway: address(gateway)?,
            mask: address(mask)?,
            flags: u32::from_str_radix(flags, 16)
                .map_err(|_| (number, RouteLineProblem::BadNumber(flags.to_string())))?,
            refcnt: decimal(refcnt)?,
            use_count: decimal(use_count)?,
            metric: decimal(metric)?,
            mtu: decimal(mtu)?,
            window: decimal(window)?,
            irtt: decimal(irtt)?,
        });
    }
    Ok(routes)
}

/// /proc/net/ipv6_route: destination, its prefix length, source, its prefix length, next hop,
/// metric, refcnt, use, flags (all hex), device.
pub fn parse_ipv6_routes(text: &str) -> Result<Vec<Ipv6Route>, LineError> {
    let mut routes = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [destination, prefix_len, source, source_prefix_len, next_hop, metric, refcnt, use_count, flags, iface] =
            fields[..]
        else {
            let problem = RouteLineProblem::FieldCount {
                found: fields.len(),
                expected: 10,
            };
            return Err((number, problem));
        };
        let address = |word: &str| {
            parse_hex_ipv6(word)
                .ok_or_else(|| (number, RouteLineProblem::BadAddress(word.to_string())))
        };
        let hex = |word: &str| {
            u32::from_str_radix(word, 16)
                .map_err(|_| (number, RouteLineProblem::BadNumber(word.to_string())))
        };
        routes.push(Ipv6Route {
            destination: address(destination)?,
            prefix_len: hex(prefix_len)?,
            source: address(source)?,
            source_prefix_len: hex(source_prefix_len)?,
            next_hop: address(next_hop)?,
            metric: hex(metric)?,
            refcnt: hex(refcnt)?,
            use_count: hex(use_count)?,
            flags: hex(flags)?,
            iface: iface.to_string(),
        });
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_routes_by_header_names() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n\
swa\t0000C80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                                \n\
swb\t00000000\t0200C80A\t0003\t0\t5\t100\t00000000\t1400\t0\t0\n";
        let routes = parse_ipv4_routes(text).expect("valid");
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].destination, Ipv4Addr::new(10, 200, 0, 0));
        assert_eq!(routes[0].mask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(routes[1].gateway, Ipv4Addr::new(10, 200, 0, 2));
        assert_eq!(
            (routes[1].flags, routes[1].metric, routes[1].mtu),
            (3, 100, 1400)
        );
        assert_eq!(parse_ipv4_routes(""), Ok(vec![]));
    }

    #[test]
    fn odd_ipv4_route_lines_are_typed_errors() {
        let header =
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n";
        assert_eq!(
            parse_ipv4_routes("Iface\tDestination\n"),
            Err((1, RouteLineProblem::MissingColumn("Gateway")))
        );
        assert_eq!(
            parse_ipv4_routes(&format!("{header}eth0 0 0\n")),
            Err((
                2,
                RouteLineProblem::FieldCount {
                    found: 3,
                    expected: 11
                }
            ))
        );
        assert_eq!(
            parse_ipv4_routes(&format!("{header}eth0 XYZ 0 1 0 0 0 0 0 0 0\n")),
            Err((2, RouteLineProblem::BadAddress("XYZ".into())))
        );
        assert_eq!(
            parse_ipv4_routes(&format!("{header}eth0 0 0 1 0 x 0 0 0 0 0\n")),
            Err((2, RouteLineProblem::BadNumber("x".into())))
        );
    }

    #[test]
    fn ipv6_routes() {
        let text = "\
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001      swb
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";
        let routes = parse_ipv6_routes(text).expect("valid");
        assert_eq!(routes[0].destination.to_string(), "fe80::");
        assert_eq!((routes[0].prefix_len, routes[0].metric), (64, 256));
        assert_eq!(routes[1].metric, u32::MAX);
        assert_eq!(routes[1].flags, flags::REJECT | flags::NONEXTHOP);
        assert_eq!(routes[1].iface, "lo");
        assert_eq!(
            parse_ipv6_routes("fe80 40\n"),
            Err((
                1,
                RouteLineProblem::FieldCount {
                    found: 2,
                    expected: 10
                }
            ))
        );
        let bad = text
            .lines()
            .next()
            .unwrap_or_default()
            .replace(" 40 ", " 4g ");
        assert_eq!(
            parse_ipv6_routes(&bad),
            Err((1, RouteLineProblem::BadNumber("4g".into())))
        );
    }
}
