//! Condition values, read as ss reads them: addresses and ports (parse_hostcond), interfaces
//! (parse_devcond), marks (parse_markmask) and cgroups (parse_cgroupcond).

use std::{
    ffi::CString,
    net::{IpAddr, Ipv6Addr},
};

use crate::system::services::Transport;

use super::{
    ast::{AddrMatch, Family, HostCond, Prefix},
    cnum,
    error::ErrorKind,
    names, ParseContext,
};

/// A `src`/`dst`/`sport`/`dport` value (`port_only` after sport/dport), and the family it
/// names, explicitly (`unix:`, `inet6:`, ...) or through the context: ss then shows only
/// sockets of that family.
pub(super) fn host_cond(
    text: &str,
    port_only: bool,
    ctx: &ParseContext,
) -> Result<(HostCond, Option<Family>), ErrorKind> {
    let (named, rest) = family_prefix(text)?;
    let family = named.or(ctx.family);
    let (port, addr) = match family {
        Some(Family::Unix) => {
            let glob = CString::new(rest).map_err(|_| ErrorKind::NulInPattern(rest.into()))?;
            (None, AddrMatch::UnixGlob(glob))
        }
        Some(Family::Packet) => packet_cond(rest, port_only, ctx)?,
        Some(Family::Netlink) => netlink_cond(rest, port_only)?,
        Some(Family::Inet | Family::Inet6) | None => inet_cond(rest, port_only, family, ctx)?,
        // No socket of these families is ever listed (see select.rs): their addresses
        // are read as ss reads what it has no parser of its own for.
        Some(Family::Vsock | Family::Tipc | Family::Xdp) => inet_cond(rest, port_only, None, ctx)?,
    };
    let cond = HostCond {
        text: text.to_string(),
        port_only,
        port,
        addr,
    };
    Ok((cond, family))
}

fn family_prefix(text: &str) -> Result<(Option<Family>, &str), ErrorKind> {
    const PREFIXES: [(&str, Family); 5] = [
        ("unix:", Family::Unix),
        ("link:", Family::Packet),
        ("netlink:", Family::Netlink),
        ("inet:", Family::Inet),
        ("inet6:", Family::Inet6),
    ];
    if text.starts_with("vsock:") {
        return Err(ErrorKind::VsockUnsupported);
    }
    Ok(PREFIXES
        .iter()
        .find_map(|(prefix, family)| Some((Some(*family), text.strip_prefix(prefix)?)))
        .unwrap_or((None, text)))
}

/// ss's port number: -1 means any.
fn any_if_minus_one(port: i32) -> Option<i32> {
    (port != -1).then_some(port)
}

/// Splits `link:`/`netlink:` text into protocol and port at the first colon; after
/// sport/dport the whole text is the port.
fn split_protocol_port(text: &str, port_only: bool) -> (&str, Option<&str>) {
    if port_only {
        return (text, Some(text.strip_prefix(':').unwrap_or(text)));
    }
    match text.split_once(':') {
        Some((protocol, port)) => (protocol, Some(port)),
        None => (text, None),
    }
}

/// A port part that names something: not absent, empty or `*`.
fn given(port: Option<&str>) -> Option<&str> {
    port.filter(|port| !port.is_empty() && *port != "*")
}

/// `link:PROTOCOL:INTERFACE`: the protocol is the address, the interface index the port.
fn packet_cond(
    text: &str,
    port_only: bool,
    ctx: &ParseContext,
) -> Result<(Option<i32>, AddrMatch), ErrorKind> {
    let (protocol, port) = split_protocol_port(text, port_only);
    let port = match given(port) {
        Some(port) => cnum::int(port)
            .or_else(|| interface_index(port, ctx).and_then(|index| i32::try_from(index).ok()))
            .map(any_if_minus_one)
            .ok_or_else(|| ErrorKind::BadInterface(port.into()))?,
        None => None,
    };
    let addr = match given(Some(protocol)).filter(|_| !port_only) {
        Some(name) => {
            let number = names::link_protocol(name)
                .ok_or_else(|| ErrorKind::BadLinkProtocol(name.into()))?;
            word_prefix(Family::Packet, u32::from(number))
        }
        None => AddrMatch::Any {
            family: Some(Family::Packet),
        },
    };
    Ok((port, addr))
}

/// `netlink:PROTOCOL:PORTID`.
fn netlink_cond(text: &str, port_only: bool) -> Result<(Option<i32>, AddrMatch), ErrorKind> {
    let (protocol, port) = split_protocol_port(text, port_only);
    let port = match given(port) {
        Some("kernel") => Some(0),
        Some(port) => cnum::int(port)
            .map(any_if_minus_one)
            .ok_or_else(|| ErrorKind::BadNetlinkPort(port.into()))?,
        None => None,
    };
    let addr = match given(Some(protocol)).filter(|_| !port_only) {
        Some(name) => {
            let number = names::netlink_protocol(name)
                .ok_or_else(|| ErrorKind::BadNetlinkProtocol(name.into()))?;
            word_prefix(Family::Netlink, u32::from(number))
        }
        None => AddrMatch::Any {
            family: Some(Family::Netlink),
        },
    };
    Ok((port, addr))
}

/// A protocol number as ss stores it for comparison: a host-order word at the address start.
fn word_prefix(family: Family, word: u32) -> AddrMatch {
    let mut bytes = [0; 16];
    bytes[..4].copy_from_slice(&word.to_ne_bytes());
    AddrMatch::Prefixes(vec![Prefix {
        family,
        bytes,
        len: 32,
    }])
}

/// `ADDRESS[/LEN][:PORT]`, `[ADDRESS]:PORT`, `*:PORT`, `:PORT`, a host name, or after
/// sport/dport a port alone.
fn inet_cond(
    text: &str,
    port_only: bool,
    family: Option<Family>,
    ctx: &ParseContext,
) -> Result<(Option<i32>, AddrMatch), ErrorKind> {
    let (addr, port) = if let Some(inner) = text.strip_prefix('[') {
        inner
            .split_once(']')
            .ok_or_else(|| ErrorKind::UnclosedBracket(text.into()))?
    } else if let Some(after) = text.strip_prefix('*') {
        (text, after)
    } else {
        // The port follows the last colon, but not a colon of an IPv6 address before "/LEN";
        // so "::1" splits into ":" and "1", as ss splits it (and then rejects ":").
        let from = text.find('/').unwrap_or(0);
        match text[from..].rfind(':') {
            Some(colon) => text.split_at(from + colon),
            None => (text, ""),
        }
    };
    // After sport/dport ss takes all of the text as the port (inside brackets, if any).
    let port = match (port_only, text.starts_with('[')) {
        (true, true) => addr,
        (true, false) => text,
        (false, _) => port,
    };
    let port_text = port.strip_prefix(':').unwrap_or(port);
    let port = if port_text.is_empty() || port_text.starts_with('*') {
        None
    } else {
        any_if_minus_one(port_number(port_text, ctx)?)
    };
    let addr = if port_only || addr.is_empty() || addr.starts_with('*') {
        AddrMatch::Any { family: None }
    } else {
        inet_address(addr, family, ctx)?
    };
    Ok((port, addr))
}

/// A port number, or a service name looked up for the transports being shown (udp first,
/// as ss; it is an error when tcp and udp disagree).
fn port_number(text: &str, ctx: &ParseContext) -> Result<i32, ErrorKind> {
    if let Some(number) = cnum::int(text) {
        return Ok(number);
    }
    let lookup = |shown: bool, transport| {
        shown
            .then(|| ctx.lookup.service_port(text, transport))
            .flatten()
    };
    let udp = lookup(ctx.udp_services, Transport::Udp);
    let tcp = lookup(ctx.tcp_services, Transport::Tcp);
    match (udp, tcp) {
        (Some(udp), Some(tcp)) if udp != tcp => Err(ErrorKind::AmbiguousService {
            name: text.into(),
            tcp,
            udp,
        }),
        (Some(port), _) | (None, Some(port)) => Ok(i32::from(port)),
        (None, None) => Err(ErrorKind::BadPort(text.into())),
    }
}

/// An address or prefix, else a host name's addresses (each a full-length prefix).
fn inet_address(
    text: &str,
    family: Option<Family>,
    ctx: &ParseContext,
) -> Result<AddrMatch, ErrorKind> {
    if let Some(prefix) = inet_prefix(text, family) {
        return Ok(prefix);
    }
    let prefixes: Vec<Prefix> = ctx
        .lookup
        .host_addresses(text)
        .into_iter()
        .map(host_prefix)
        .filter(|prefix| family.is_none_or(|family| family == prefix.family))
        .collect();
    if prefixes.is_empty() {
        return Err(ErrorKind::BadAddress(text.into()));
    }
    Ok(AddrMatch::Prefixes(prefixes))
}

fn host_prefix(address: IpAddr) -> Prefix {
    let mut bytes = [0; 16];
    match address {
        IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            Prefix {
                family: Family::Inet,
                bytes,
                len: 32,
            }
        }
        IpAddr::V6(v6) => Prefix {
            family: Family::Inet6,
            bytes: v6.octets(),
            len: 128,
        },
    }
}

/// An address as iproute2's get_addr_1 reads it for `family` (None: either).
enum Address {
    /// `default`, `all` or `any`: no address.
    Unspecified,
    V4([u8; 4]),
    V6([u8; 16]),
}

fn address(text: &str, family: Option<Family>) -> Option<Address> {
    if matches!(text, "default" | "all" | "any") {
        return Some(Address::Unspecified);
    }
    if text.contains(':') {
        let v6: Ipv6Addr = text.parse().ok().filter(|_| family != Some(Family::Inet))?;
        return Some(Address::V6(v6.octets()));
    }
    if family == Some(Family::Inet6) {
        return None;
    }
    legacy_ipv4(text).map(Address::V4)
}

/// iproute2's IPv4 syntax: one to four base-0 numbers, missing ones zero, so "10.8" is
/// 10.8.0.0 (not 10.0.0.8 as inet_aton has it) and "10.0.0/24" is 10.0.0.0/24.
fn legacy_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut octets = [0; 4];
    let mut rest = text;
    for (index, octet) in octets.iter_mut().enumerate() {
        let (number, after) = cnum::unsigned_prefix(rest)?;
        *octet = u8::try_from(number).ok()?;
        if after.is_empty() {
            return Some(octets);
        }
        rest = after.strip_prefix('.').filter(|_| index < 3)?;
    }
    None
}

/// iproute2's get_prefix_1: `ADDRESS[/LEN]`, LEN a number or a dotted netmask. A
/// zero-length prefix tests no address, but keeps its family for the kernel's check;
/// `default`, `all` and `any` take no LEN and keep the family asked for.
fn inet_prefix(text: &str, family: Option<Family>) -> Option<AddrMatch> {
    let (base, len) = match text.split_once('/') {
        Some((base, len)) => (base, Some(len)),
        None => (text, None),
    };
    let (family, bytes) = match address(base, family)? {
        Address::Unspecified => return len.is_none().then_some(AddrMatch::Any { family }),
        Address::V4(octets) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&octets);
            (Family::Inet, bytes)
        }
        Address::V6(bytes) => (Family::Inet6, bytes),
    };
    let max = if family == Family::Inet { 32 } else { 128 };
    let len = match len {
        Some(len) => netmask_len(len).filter(|&len| len <= max)?,
        None => max,
    };
    Some(match u8::try_from(len).ok()? {
        0 => AddrMatch::Any {
            family: Some(family),
        },
        len => AddrMatch::Prefixes(vec![Prefix { family, bytes, len }]),
    })
}

/// A prefix length written as a number or as a dotted netmask (255.255.0.0 is 16).
fn netmask_len(text: &str) -> Option<u64> {
    if let Some(len) = cnum::unsigned(text, u64::from(u32::MAX)) {
        return Some(len);
    }
    let mask = match address(text, Some(Family::Inet))? {
        Address::V4(octets) => u32::from_be_bytes(octets),
        Address::Unspecified => 0,
        Address::V6(_) => return None,
    };
    let host = !mask;
    (host & host.wrapping_add(1) == 0).then(|| u64::from(mask.leading_ones()))
}

/// An interface by name, or written `ifN` (iproute2's ll_name_to_index).
fn interface_index(name: &str, ctx: &ParseContext) -> Option<u32> {
    ctx.lookup
        .interface_index(name)
        .or_else(|| name.strip_prefix("if").and_then(cnum::scanf_u32))
        .filter(|&index| index != 0)
}

/// A `dev` value: an interface name or index.
pub(super) fn device(text: &str, ctx: &ParseContext) -> Result<u32, ErrorKind> {
    interface_index(text, ctx)
        .or_else(|| cnum::unsigned(text, u64::from(u32::MAX)).and_then(|n| u32::try_from(n).ok()))
        .ok_or_else(|| ErrorKind::BadInterface(text.into()))
}

/// A `fwmark` value: `MARK` or `MARK/MASK`, numbers as sscanf's `%i` reads them (trailing
/// text ignored, as ss ignores it).
pub(super) fn mark(text: &str) -> Result<(u32, u32), ErrorKind> {
    let bad = || ErrorKind::BadMark(text.into());
    let (mark, rest) = cnum::scanf_i32_bits(text).ok_or_else(bad)?;
    if !text.contains('/') {
        return Ok((mark, u32::MAX));
    }
    let mask_text = rest.strip_prefix('/').ok_or_else(bad)?;
    let (mask, _) = cnum::scanf_i32_bits(mask_text).ok_or_else(bad)?;
    Ok((mark, mask))
}

/// A `cgroup` value: a cgroup v2 path, resolved to its id.
pub(super) fn cgroup(text: &str, ctx: &ParseContext) -> Result<u64, ErrorKind> {
    ctx.lookup
        .cgroup_id(text)
        .filter(|&id| id != 0)
        .ok_or_else(|| ErrorKind::BadCgroup(text.into()))
}
