//! Does a socket match? ss's run_ssfilter(), with the socket seen as ss's struct sockstat
//! sees it for each family, and for inet sockets also the kernel's evaluation of the bytecode
//! ss sends with its request: ss shows an inet socket only when both pass.
//!
//! What ss's sockstat holds for the filter, per family:
//! - inet: ports, addresses, bound interface, mark, cgroup id;
//! - unix: "ports" are the socket's and the peer's inode; the local address holds the name
//!   (a pointer, so no IP prefix ever matches a named socket), the remote address is empty,
//!   so `dst` globs see "" and `dst 0.0.0.0` matches every unix socket;
//! - packet: the local "port" and interface are the bound interface index, the local
//!   address holds the protocol number (so `src 3.0.0.0` matches ETH_P_ALL sockets);
//! - netlink: the local "port" is the port id, the remote one -1, the local address holds the
//!   protocol number.

use std::{
    ffi::{CStr, CString},
    net::IpAddr,
};

use crate::model::{Endpoint, SocketRecord, UnixName};

use super::ast::{AddrMatch, Expr, Family, HostCond, Prefix, Side};

/// Whether ss's request carries bytecode the kernel evaluates for inet sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KernelCheck {
    /// The kernel evaluates the expression too.
    Applied,
    /// ss compiles no bytecode for a filter with `dev` in it.
    Skipped,
    /// The expression has a unix, link or netlink address: the kernel refuses the bytecode
    /// and ss shows no inet sockets.
    Refused,
}

impl KernelCheck {
    pub fn of(expr: &Expr) -> KernelCheck {
        if any_leaf(expr, &|leaf| matches!(leaf, Expr::Dev { .. })) {
            KernelCheck::Skipped
        } else if any_leaf(expr, &|leaf| match leaf {
            Expr::Host { cond, .. } => !kernel_accepts(cond),
            _ => false,
        }) {
            KernelCheck::Refused
        } else {
            KernelCheck::Applied
        }
    }
}

pub(super) fn any_leaf(expr: &Expr, test: &dyn Fn(&Expr) -> bool) -> bool {
    match expr {
        Expr::All(terms) | Expr::Any(terms) => terms.iter().any(|term| any_leaf(term, test)),
        Expr::Not(term) => any_leaf(term, test),
        leaf => test(leaf),
    }
}

/// The kernel takes address conditions of no family, IPv4 or IPv6 only.
fn kernel_accepts(cond: &HostCond) -> bool {
    let inet =
        |family: Option<Family>| matches!(family, None | Some(Family::Inet) | Some(Family::Inet6));
    match &cond.addr {
        AddrMatch::Any { family } => inet(*family),
        AddrMatch::Prefixes(prefixes) => prefixes.iter().all(|prefix| inet(Some(prefix.family))),
        AddrMatch::UnixGlob(_) => false,
    }
}

/// Whose evaluation: ss's own, or the kernel's of ss's bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Judge {
    Ss,
    Kernel,
}

/// Whether `expr` selects `rec`, as ss decides.
pub(super) fn matches(expr: &Expr, kernel: KernelCheck, rec: &SocketRecord) -> bool {
    let subject = Subject::of(rec);
    // ss prints every TIPC socket the kernel sends, whatever the expression.
    if subject.family == Family::Tipc {
        return true;
    }
    let by_ss = subject.eval(expr, Judge::Ss);
    if !subject.is_inet() {
        return by_ss;
    }
    match kernel {
        KernelCheck::Applied => by_ss && subject.eval(expr, Judge::Kernel),
        KernelCheck::Skipped => by_ss,
        KernelCheck::Refused => false,
    }
}

/// One socket as ss's filter sees it.
struct Subject<'r> {
    rec: &'r SocketRecord,
    family: Family,
    lport: i64,
    rport: i64,
    iface: u32,
}

impl<'r> Subject<'r> {
    fn of(rec: &'r SocketRecord) -> Subject<'r> {
        let family = Family::of(&rec.local);
        // ss keeps these in a C int: inodes and port ids above 2^31 wrap negative there.
        let as_c_int = |n: u64| i64::from(n as u32 as i32);
        let (lport, rport, iface) = match (&rec.local, &rec.peer) {
            (Endpoint::Inet { port, scope, .. }, peer) => {
                let rport = match peer {
                    Endpoint::Inet { port, .. } => *port,
                    _ => 0,
                };
                (i64::from(*port), i64::from(rport), *scope)
            }
            (Endpoint::Unix { inode, .. }, peer) => {
                let peer_inode = match peer {
                    Endpoint::Unix { inode, .. } => *inode,
                    _ => 0,
                };
                (as_c_int(*inode), as_c_int(peer_inode), 0)
            }
            (Endpoint::Packet { ifindex, .. }, _) => (as_c_int(u64::from(*ifindex)), 0, *ifindex),
            (Endpoint::Netlink { portid, .. }, _) => (as_c_int(*portid as u64), -1, 0),
            (Endpoint::Vsock { port, .. }, peer) => {
                let peer_port = match peer {
                    Endpoint::Vsock { port, .. } => *port,
                    _ => 0,
                };
                (
                    as_c_int(u64::from(*port)),
                    as_c_int(u64::from(peer_port)),
                    0,
                )
            }
            (Endpoint::Xdp { ifindex, queue }, _) => (as_c_int(u64::from(*queue)), 0, *ifindex),
            (Endpoint::Tipc(_), _) => (0, 0, 0),
        };
        Subject {
            rec,
            family,
            lport,
            rport,
            iface,
        }
    }

    fn is_inet(&self) -> bool {
        matches!(self.family, Family::Inet | Family::Inet6)
    }

    fn port(&self, side: Side) -> i64 {
        match side {
            Side::Local => self.lport,
            Side::Remote => self.rport,
        }
    }

    /// The address bytes ss compares prefixes with; None for a named unix socket, whose
    /// address slot holds a pointer to the name.
    fn address(&self, side: Side) -> Option<[u8; 16]> {
        let mut bytes = [0; 16];
        let endpoint = match side {
            Side::Local => &self.rec.local,
            Side::Remote => &self.rec.peer,
        };
        match (self.family, endpoint) {
            (Family::Inet | Family::Inet6, Endpoint::Inet { addr, .. }) => match addr {
                IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => bytes = v6.octets(),
            },
            (Family::Unix, Endpoint::Unix { name: Some(_), .. }) if side == Side::Local => {
                return None
            }
            (Family::Packet, Endpoint::Packet { protocol, .. }) if side == Side::Local => {
                bytes[..4].copy_from_slice(&u32::from(*protocol).to_ne_bytes());
            }
            (Family::Netlink, Endpoint::Netlink { protocol, .. }) if side == Side::Local => {
                bytes[..4].copy_from_slice(&u32::from(*protocol).to_ne_bytes());
            }
            (Family::Vsock, Endpoint::Vsock { cid, .. }) => {
                bytes[..4].copy_from_slice(&cid.to_ne_bytes());
            }
            _ => {}
        }
        Some(bytes)
    }

    /// The local unix name as ss spells it (`@` for abstract, NULs as `@`); None if unnamed.
    fn unix_name(&self) -> Option<String> {
        match &self.rec.local {
            Endpoint::Unix {
                name: Some(UnixName::Path(path)),
                ..
            } => Some(String::from_utf8_lossy(path).into_owned()),
            Endpoint::Unix {
                name: Some(UnixName::Abstract(name)),
                ..
            } => Some(format!(
                "@{}",
                String::from_utf8_lossy(name).replace('\0', "@")
            )),
            _ => None,
        }
    }

    fn eval(&self, expr: &Expr, judge: Judge) -> bool {
        match expr {
            Expr::All(terms) => terms.iter().all(|term| self.eval(term, judge)),
            Expr::Any(terms) => terms.iter().any(|term| self.eval(term, judge)),
            Expr::Not(term) => !self.eval(term, judge),
            Expr::Host { side, cond } => match judge {
                Judge::Ss => self.host_by_ss(cond, *side),
                Judge::Kernel => self.host_by_kernel(cond, *side),
            },
            Expr::PortAtLeast { side, port, .. } => self.port(*side) >= bound(*port, judge),
            Expr::PortAtMost { side, port, .. } => self.port(*side) <= bound(*port, judge),
            Expr::Dev { index, .. } => self.iface == *index,
            Expr::Mark { value, mask, .. } => self.inet_only(self.rec.mark) & mask == *value,
            Expr::Cgroup { id, .. } => self.inet_only(self.rec.cgroup_id) == *id,
            // The kernel's test is "port not bound explicitly" (no SOCK_BINDPORT_LOCK),
            // which holds for every TIME-WAIT and request socket: it reads the lock from
            // full sockets only, the ones it sends a shutdown state for. For full sockets
            // records do not carry the lock, and ss's own test (below) stands in for it.
            Expr::Autobound { ephemeral } => {
                let kernel_sees_no_lock = judge == Judge::Kernel
                    && self.is_inet()
                    && !self.rec.from_proc
                    && self.rec.shutdown.is_none();
                kernel_sees_no_lock || self.autobound(*ephemeral)
            }
        }
    }

    /// Marks and cgroup ids: ss reads them for inet sockets only, 0 otherwise.
    fn inet_only<T: Default>(&self, value: Option<T>) -> T {
        value.filter(|_| self.is_inet()).unwrap_or_default()
    }

    fn host_by_ss(&self, cond: &HostCond, side: Side) -> bool {
        if let AddrMatch::UnixGlob(glob) = &cond.addr {
            // ss reads the name from the address slot: the local name, or "" for the remote
            // end and unnamed sockets. Other families have no name to match.
            let name = match side {
                Side::Local => self.unix_name().unwrap_or_default(),
                Side::Remote => String::new(),
            };
            return self.family == Family::Unix && glob_matches(glob, &name);
        }
        if cond
            .port
            .is_some_and(|port| i64::from(port) != self.port(side))
        {
            return false;
        }
        match &cond.addr {
            AddrMatch::Any { .. } => true,
            AddrMatch::Prefixes(prefixes) => self.address(side).is_some_and(|address| {
                prefixes
                    .iter()
                    .any(|prefix| ss_prefix_matches(&address, self.family, prefix))
            }),
            AddrMatch::UnixGlob(_) => false,
        }
    }

    fn host_by_kernel(&self, cond: &HostCond, side: Side) -> bool {
        if cond
            .port
            .is_some_and(|port| i64::from(port) != self.port(side))
        {
            return false;
        }
        // ss's bytecode repeats the first address for every address of a host name.
        let (family, bytes, len) = match &cond.addr {
            AddrMatch::Any { family } => (*family, [0; 16], 0),
            AddrMatch::Prefixes(prefixes) => match prefixes.first() {
                Some(first) => (Some(first.family), first.bytes, first.len),
                None => return false,
            },
            AddrMatch::UnixGlob(_) => return false,
        };
        let Some(address) = self.address(side) else {
            return false;
        };
        match family {
            None => true,
            Some(family) if family != self.family => {
                family == Family::Inet
                    && self.family == Family::Inet6
                    && is_v4_mapped(&address)
                    && bits_match(&address[12..], &bytes[..4], len)
            }
            Some(_) => bits_match(&address, &bytes, len),
        }
    }

    fn autobound(&self, (low, high): (u16, u16)) -> bool {
        match &self.rec.local {
            // Unnamed, or named by autobind: "@" and five hex digits.
            Endpoint::Unix { .. } => self.unix_name().is_none_or(|name| {
                name.len() == 6
                    && name.starts_with('@')
                    && name[1..]
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            }),
            Endpoint::Packet { protocol, .. } => self.lport == 0 && *protocol == 0,
            Endpoint::Netlink { .. } => self.lport < 0,
            Endpoint::Vsock { .. } => self.lport > 1023,
            Endpoint::Inet { .. } | Endpoint::Tipc(_) | Endpoint::Xdp { .. } => {
                (i64::from(low)..=i64::from(high)).contains(&self.lport)
            }
        }
    }
}

/// A `>=`/`<=` bound: the kernel reads ss's int port through a 16-bit field.
fn bound(port: i32, judge: Judge) -> i64 {
    match judge {
        Judge::Ss => i64::from(port),
        Judge::Kernel => i64::from(port as u16),
    }
}

/// ss's prefix test: the raw bytes, whatever the families, and an IPv4 prefix also against
/// the IPv4 part of a v4-mapped IPv6 address.
fn ss_prefix_matches(address: &[u8; 16], family: Family, prefix: &Prefix) -> bool {
    bits_match(address, &prefix.bytes, prefix.len)
        || (prefix.family == Family::Inet
            && family == Family::Inet6
            && is_v4_mapped(address)
            && bits_match(&address[12..], &prefix.bytes[..4], prefix.len))
}

fn is_v4_mapped(address: &[u8; 16]) -> bool {
    address[..10] == [0; 10] && address[10..12] == [0xff, 0xff]
}

/// Whether the first `len` bits of `a` and `b` are equal (false if either is shorter).
fn bits_match(a: &[u8], b: &[u8], len: u8) -> bool {
    let (whole, rest) = (usize::from(len / 8), len % 8);
    let needed = whole + usize::from(rest > 0);
    if a.len() < needed || b.len() < needed {
        return false;
    }
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) & (0xff << (8 - rest)) == 0)
}

/// fnmatch(3) with FNM_CASEFOLD, as ss matches unix names.
fn glob_matches(pattern: &CStr, name: &str) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), libc::FNM_CASEFOLD) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_prefixes() {
        assert!(bits_match(&[10, 1, 2, 3], &[10, 0, 0, 0], 8));
        assert!(!bits_match(&[10, 1, 2, 3], &[10, 0, 0, 0], 16));
        assert!(bits_match(&[0b1010_1111], &[0b1010_0000], 4));
        assert!(!bits_match(&[0b1010_1111], &[0b1010_0000], 5));
        assert!(bits_match(&[1], &[2], 0));
        assert!(!bits_match(&[1], &[1], 16), "too short");
    }

    #[test]
    fn globs_fold_case_and_cross_slashes() {
        let glob = |pattern: &str| CString::new(pattern).unwrap();
        assert!(glob_matches(&glob("/tmp/*"), "/tmp/.X11-unix/X0"));
        assert!(glob_matches(&glob("/TMP/x?"), "/tmp/x1"));
        assert!(glob_matches(&glob("@[0-9a-f]*"), "@e7016"));
        assert!(glob_matches(&glob("*"), ""));
        assert!(!glob_matches(&glob("/run/*"), ""));
        assert!(glob_matches(&glob(r"/a\*"), "/a*"));
        assert!(!glob_matches(&glob(r"/a\*"), "/ab"));
    }
}
