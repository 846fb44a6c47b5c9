//! What a filter implies about the inet sockets it can match, for filtering early in the
//! kernel (the eBPF follow program). Conservative: a hint may let through sockets the filter
//! then rejects, never the other way round.

use std::collections::BTreeSet;

use crate::model::SockState;

use super::{
    ast::{AddrMatch, Expr, Family, HostCond, Side},
    eval::{Judge, KernelCheck},
};

/// A coarse pre-filter for inet sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelHint {
    /// Whether IPv4 sockets can match.
    pub ipv4: bool,
    /// Whether IPv6 sockets (v4-mapped ones included) can match.
    pub ipv6: bool,
    /// Ports of which every matching socket has one as its local or its remote port; None
    /// when the filter implies no such set of at most [`KernelHint::MAX_PORTS`] ports.
    /// Empty when no inet socket can match.
    pub ports: Option<Vec<u16>>,
    /// States a matching socket can be in (bit n: kernel state n); a socket shown as
    /// SYN-RECV may be a request socket in NEW_SYN_RECV, so that bit comes with it.
    pub states: u32,
}

impl KernelHint {
    pub const MAX_PORTS: usize = 8;
}

pub(super) fn kernel_hint(
    expr: Option<&Expr>,
    kernel: KernelCheck,
    shown_family: Option<Family>,
    states: u32,
) -> KernelHint {
    let family_possible = |family: Family| {
        shown_family.is_none_or(|shown| shown == family)
            && expr.is_none_or(|expr| {
                can_hold(expr, family, Judge::Ss)
                    && match kernel {
                        KernelCheck::Applied => can_hold(expr, family, Judge::Kernel),
                        KernelCheck::Skipped => true,
                        KernelCheck::Refused => false,
                    }
            })
    };
    let (ipv4, ipv6) = (
        family_possible(Family::Inet),
        family_possible(Family::Inet6),
    );
    let ports = if !ipv4 && !ipv6 {
        Some(Vec::new())
    } else {
        match expr.map_or(Ports::Unknown, required_ports) {
            Ports::OneOf(ports) if ports.len() <= KernelHint::MAX_PORTS => {
                Some(ports.into_iter().collect())
            }
            _ => None,
        }
    };
    let syn_recv = 1 << SockState::SynRecv.kernel();
    let new_syn_recv = if states & syn_recv != 0 {
        1 << SockState::NewSynRecv.kernel()
    } else {
        0
    };
    KernelHint {
        ipv4,
        ipv6,
        ports,
        states: states | new_syn_recv,
    }
}

/// What an expression can evaluate to over the sockets of one IP version.
#[derive(Clone, Copy)]
struct Outcomes {
    can_be_true: bool,
    can_be_false: bool,
}

const UNKNOWN: Outcomes = Outcomes {
    can_be_true: true,
    can_be_false: true,
};
const NEVER: Outcomes = Outcomes {
    can_be_true: false,
    can_be_false: true,
};
const ALWAYS: Outcomes = Outcomes {
    can_be_true: true,
    can_be_false: false,
};

/// Whether `expr` can hold for some socket of `family` (IPv4 or IPv6) in `judge`'s eyes.
fn can_hold(expr: &Expr, family: Family, judge: Judge) -> bool {
    outcomes(expr, family, judge).can_be_true
}

fn outcomes(expr: &Expr, family: Family, judge: Judge) -> Outcomes {
    let all = |terms: &[Expr]| {
        terms
            .iter()
            .map(|term| outcomes(term, family, judge))
            .fold(ALWAYS, |a, b| Outcomes {
                can_be_true: a.can_be_true && b.can_be_true,
                can_be_false: a.can_be_false || b.can_be_false,
            })
    };
    match expr {
        Expr::All(terms) => all(terms),
        Expr::Any(terms) => {
            terms
                .iter()
                .map(|term| outcomes(term, family, judge))
                .fold(NEVER, |a, b| Outcomes {
                    can_be_true: a.can_be_true || b.can_be_true,
                    can_be_false: a.can_be_false && b.can_be_false,
                })
        }
        Expr::Not(term) => {
            let inner = outcomes(term, family, judge);
            Outcomes {
                can_be_true: inner.can_be_false,
                can_be_false: inner.can_be_true,
            }
        }
        Expr::Host { cond, .. } => host_outcomes(cond, family, judge),
        _ => UNKNOWN,
    }
}

fn host_outcomes(cond: &HostCond, socket_family: Family, judge: Judge) -> Outcomes {
    let unconditional = cond.port.is_none() && matches!(cond.addr, AddrMatch::Any { .. });
    let family = match &cond.addr {
        // ss never matches a unix name against an inet socket.
        AddrMatch::UnixGlob(_) => return NEVER,
        // ss's own test ignores families; only the kernel's looks at them.
        _ if judge == Judge::Ss => return if unconditional { ALWAYS } else { UNKNOWN },
        AddrMatch::Any { family } => *family,
        AddrMatch::Prefixes(prefixes) => prefixes.first().map(|first| first.family),
    };
    match family {
        // v4-mapped IPv6 addresses
        Some(Family::Inet) if socket_family == Family::Inet6 => UNKNOWN,
        Some(family) if family != socket_family => NEVER,
        _ if unconditional => ALWAYS,
        _ => UNKNOWN,
    }
}

/// Ports a matching socket must have one of, as local or remote port.
enum Ports {
    Unknown,
    OneOf(BTreeSet<u16>),
}

fn required_ports(expr: &Expr) -> Ports {
    match expr {
        Expr::Host { cond, .. } => match (&cond.addr, cond.port) {
            (AddrMatch::UnixGlob(_), _) => Ports::OneOf(BTreeSet::new()),
            // A port outside 0..=65535 matches no inet socket.
            (_, Some(port)) => Ports::OneOf(u16::try_from(port).into_iter().collect()),
            (_, None) => Ports::Unknown,
        },
        // Every term must hold: any one term's ports will do; take the fewest.
        Expr::All(terms) => terms
            .iter()
            .map(required_ports)
            .fold(Ports::Unknown, |a, b| match (a, b) {
                (Ports::OneOf(a), Ports::OneOf(b)) => {
                    Ports::OneOf(if a.len() <= b.len() { a } else { b })
                }
                (Ports::OneOf(ports), Ports::Unknown) | (Ports::Unknown, Ports::OneOf(ports)) => {
                    Ports::OneOf(ports)
                }
                (Ports::Unknown, Ports::Unknown) => Ports::Unknown,
            }),
        Expr::Any(terms) => {
            terms
                .iter()
                .map(required_ports)
                .fold(Ports::OneOf(BTreeSet::new()), |a, b| match (a, b) {
                    (Ports::OneOf(mut a), Ports::OneOf(b)) => {
                        a.extend(b);
                        Ports::OneOf(a)
                    }
                    _ => Ports::Unknown,
                })
        }
        Expr::Not(term) => match term.as_ref() {
            Expr::Not(inner) => required_ports(inner),
            _ => Ports::Unknown,
        },
        _ => Ports::Unknown,
    }
}

/// The one port every matching inet socket has on `side`, if the filter implies one: what
/// a sock_diag request's socket id (idiag_sport, idiag_dport) can carry, which the kernel
/// checks on each socket before taking a reference or running the bytecode.
pub(super) fn exact_port(expr: &Expr, side: Side) -> Option<u16> {
    match expr {
        Expr::Host { side: of, cond } if *of == side => match (&cond.addr, cond.port) {
            (AddrMatch::UnixGlob(_), _) => None,
            // Port 0 in a request means "any port".
            (_, Some(port)) => u16::try_from(port).ok().filter(|&port| port != 0),
            (_, None) => None,
        },
        Expr::All(terms) => terms.iter().find_map(|term| exact_port(term, side)),
        Expr::Any(terms) => {
            let mut ports = terms.iter().map(|term| exact_port(term, side));
            let first = ports.next()??;
            ports.all(|port| port == Some(first)).then_some(first)
        }
        Expr::Not(term) => match term.as_ref() {
            Expr::Not(inner) => exact_port(inner, side),
            _ => None,
        },
        _ => None,
    }
}
