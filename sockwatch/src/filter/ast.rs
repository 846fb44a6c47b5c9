//! The parsed filter expression: ss's ssfilter tree, with every value already resolved.

use std::{ffi::CString, fmt};

pub use crate::model::Family;

use super::lexer::Keyword;

/// Which end of a socket a condition tests: `src`/`sport` the local one, `dst`/`dport` the
/// remote one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

/// A filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Every one holds (`and`, `&&`, `&` or two conditions side by side).
    All(Vec<Expr>),
    /// Any one holds (`or`, `||`, `|`).
    Any(Vec<Expr>),
    Not(Box<Expr>),
    /// `src`/`dst`, and `sport`/`dport` with `=` (`!=` is its negation).
    Host {
        side: Side,
        cond: HostCond,
    },
    /// `sport`/`dport` `>=`; `<` is its negation.
    PortAtLeast {
        side: Side,
        port: i32,
        text: String,
    },
    /// `sport`/`dport` `<=`; `>` is its negation.
    PortAtMost {
        side: Side,
        port: i32,
        text: String,
    },
    /// `dev`: the interface the socket is bound to.
    Dev {
        index: u32,
        text: String,
    },
    /// `fwmark VALUE[/MASK]`: holds when `mark & mask == value`.
    Mark {
        value: u32,
        mask: u32,
        text: String,
    },
    /// `cgroup PATH`, resolved to the cgroup's id.
    Cgroup {
        id: u64,
        text: String,
    },
    /// `autobound`: the local address was picked by the kernel. `ephemeral` is the automatic
    /// port range, inclusive, read when the filter was parsed.
    Autobound {
        ephemeral: (u16, u16),
    },
}

/// An address condition (ss's "hostcond"): an optional port and an address test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCond {
    /// The value as written, for display.
    pub text: String,
    /// Written after `sport`/`dport` (the value is then a port only) rather than `src`/`dst`.
    pub port_only: bool,
    /// The port (ss's "port": an inode for unix sockets, an interface index for packet
    /// sockets, a port id for netlink ones); None for any.
    pub port: Option<i32>,
    pub addr: AddrMatch,
}

/// The address part of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrMatch {
    /// No address test. `family` (None: unspecified) still limits inet sockets in the kernel's
    /// evaluation: `0/0` is IPv4-only there, `*` is not.
    Any { family: Option<Family> },
    /// Any of these prefixes; several when a host name has several addresses.
    Prefixes(Vec<Prefix>),
    /// A shell glob over unix socket names (fnmatch, case-insensitive).
    UnixGlob(CString),
}

/// An address prefix as ss compares it: the first `len` bits of `bytes` (an IPv4 address or
/// a `link:`/`netlink:` protocol number in the first four bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    pub family: Family,
    pub bytes: [u8; 16],
    pub len: u8,
}

impl Expr {
    fn is_compound(&self) -> bool {
        matches!(self, Expr::All(_) | Expr::Any(_))
    }
}

/// A value written so that ss's lexer reads it back as one word.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if matches!(c, ' ' | '\t' | '\\') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn keyword(side: Side, port: bool) -> &'static str {
    let keyword = match (side, port) {
        (Side::Local, false) => Keyword::Src,
        (Side::Remote, false) => Keyword::Dst,
        (Side::Local, true) => Keyword::Sport,
        (Side::Remote, true) => Keyword::Dport,
    };
    keyword.name()
}

/// Canonical ss filter text: it parses back to the same expression (but for empty values,
/// which only a lone backslash can write).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, terms: &[Expr], op: &str| {
            for (i, term) in terms.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                // ss's and/or have equal precedence and group to the left.
                if i > 0 && term.is_compound() {
                    write!(f, "( {term} )")?;
                } else {
                    write!(f, "{term}")?;
                }
            }
            Ok(())
        };
        match self {
            Expr::All(terms) => join(f, terms, "and"),
            Expr::Any(terms) => join(f, terms, "or"),
            Expr::Not(term) if term.is_compound() => write!(f, "not ( {term} )"),
            Expr::Not(term) => write!(f, "not {term}"),
            Expr::Host { side, cond } if cond.port_only => {
                write!(f, "{} = {}", keyword(*side, true), Escaped(&cond.text))
            }
            Expr::Host { side, cond } => {
                write!(f, "{} {}", keyword(*side, false), Escaped(&cond.text))
            }
            Expr::PortAtLeast { side, text, .. } => {
                write!(f, "{} >= {}", keyword(*side, true), Escaped(text))
            }
            Expr::PortAtMost { side, text, .. } => {
                write!(f, "{} <= {}", keyword(*side, true), Escaped(text))
            }
            Expr::Dev { text, .. } => write!(f, "dev {}", Escaped(text)),
            Expr::Mark { text, .. } => write!(f, "fwmark {}", Escaped(text)),
            Expr::Cgroup { text, .. } => write!(f, "cgroup {}", Escaped(text)),
            Expr::Autobound { .. } => f.write_str("autobound"),
        }
    }
}
