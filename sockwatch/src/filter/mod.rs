//! ss(8)'s filter language, as iproute2 6.1 reads and applies it:
//!
//! ```text
//! sockwatch snapshot state established exclude syn-sent '( dport = :ssh or sport = :ssh )'
//! ```
//!
//! Leading `state NAME` / `exclude NAME` arguments select socket states; the rest is an
//! expression of `src`/`dst` (addresses, prefixes, host names, `*`, ports, `unix:` globs,
//! `link:` and `netlink:` addresses), `sport`/`dport` with comparisons, `dev`, `fwmark`,
//! `cgroup` and `autobound`, joined by `and`/`or`/`not` and parentheses. Quirks of ss are
//! kept on purpose, so the same filter shows the same sockets: `and` and `or` have equal
//! precedence, `::1` must be written `[::1]`, `sport`/`dport` on unix sockets compare inodes,
//! an IPv4 prefix also matches v4-mapped IPv6 addresses, and so on (see `eval`).
//!
//! Parsing needs a few facts about the system (service ports, host and interface names,
//! cgroup ids), asked through [`Lookup`]; matching is pure.

mod ast;
mod bytecode;
mod cnum;
mod error;
mod eval;
mod hint;
mod lexer;
mod lookup;
mod names;
mod parser;
mod states;
mod value;

use crate::model::SocketRecord;

pub use ast::{AddrMatch, Expr, Family, HostCond, Prefix, Side};
pub use bytecode::BytecodeSupport;
pub use error::{ErrorKind, FilterError, Position};
pub use hint::KernelHint;
pub use lookup::{Lookup, SystemLookup};
pub use states::{SS_ALL, SS_CONN};

use eval::KernelCheck;

/// What the rest of the command line tells the filter parser (ss reads the same from its
/// options before it parses the filter).
#[derive(Clone, Copy)]
pub struct ParseContext<'a> {
    /// The family `-4`, `-6`, `-x`, `-0` or `-f` asked for: how an address without a
    /// `family:` prefix is read (after `-x`, `src /tmp/*` is a unix glob).
    pub family: Option<Family>,
    /// Whether tcp tables are shown: service names are then looked up as tcp services.
    pub tcp_services: bool,
    /// Whether udp tables are shown: service names are then looked up as udp services.
    pub udp_services: bool,
    pub lookup: &'a dyn Lookup,
}

impl Default for ParseContext<'static> {
    /// No family asked for, all tables shown, lookups on this system.
    fn default() -> Self {
        ParseContext {
            family: None,
            tcp_services: true,
            udp_services: true,
            lookup: &SystemLookup,
        }
    }
}

/// A parsed ss filter: the state clauses and the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    states: Option<u32>,
    expr: Option<Expr>,
    family: Option<Family>,
    kernel: KernelCheck,
}

impl Filter {
    /// Parses command-line arguments (after the options), with the default context.
    pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Filter, FilterError> {
        Filter::parse(args, None, &ParseContext::default())
    }

    /// Parses the text of a filter file (`-F FILE`), with the default context.
    pub fn parse_text(text: &str) -> Result<Filter, FilterError> {
        Filter::parse::<&str>(&[], Some(text), &ParseContext::default())
    }

    /// Parses command-line arguments and then, as ss does, the words of a filter file.
    /// State clauses are read only at the start of the arguments.
    pub fn parse<S: AsRef<str>>(
        args: &[S],
        file: Option<&str>,
        ctx: &ParseContext,
    ) -> Result<Filter, FilterError> {
        let args = lexer::with_columns(args);
        let (states, used) = states::parse_clauses(&args)?;
        let mut words = lexer::words_of_args(&args[used..]);
        if let Some(text) = file {
            words.extend(lexer::words_of_file(text));
        }
        let parsed = parser::parse(&words, ctx)?;
        let kernel = parsed
            .expr
            .as_ref()
            .map_or(KernelCheck::Applied, KernelCheck::of);
        Ok(Filter {
            states,
            expr: parsed.expr,
            family: parsed.family,
            kernel,
        })
    }

    /// The states the `state`/`exclude` clauses selected (bit n: kernel state n), or None
    /// when there were none. ss ignores a mask of 0 (`exclude all`) as if none was given.
    pub fn states(&self) -> Option<u32> {
        self.states
    }

    /// ss's state selection: the clauses' mask if there were clauses, else what the options
    /// chose (`-a`: [`SS_ALL`]; `-l`: listen and close; neither: 0). Where this is 0, ss
    /// falls back to the shown tables' defaults ([`SS_CONN`] for tcp without options).
    pub fn state_mask(&self, from_options: u32) -> u32 {
        self.states.unwrap_or(from_options)
    }

    /// The expression, None when the filter has none.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// The family the filter's addresses named last (`unix:...`, `inet6:...`, or any
    /// address when the context has a family): ss then shows sockets of that family only.
    /// [`Filter::matches`] applies it too; sources can use it to skip other tables.
    pub fn family(&self) -> Option<Family> {
        self.family
    }

    /// Whether ss would show this socket, states aside (the sources request those).
    pub fn matches(&self, rec: &SocketRecord) -> bool {
        if self
            .family
            .is_some_and(|family| family != Family::of(&rec.local))
        {
            return false;
        }
        self.expr
            .as_ref()
            .is_none_or(|expr| eval::matches(expr, self.kernel, rec))
    }

    /// inet_diag bytecode (INET_DIAG_REQ_BYTECODE) for the tests the kernel can make, so a
    /// dump sends only inet sockets that may match; None when it would narrow nothing.
    /// Every socket it lets through still goes through [`Filter::matches`].
    pub fn inet_diag_bytecode(&self, support: BytecodeSupport) -> Option<Vec<u8>> {
        bytecode::compile(self.expr.as_ref()?, self.kernel, support)
    }

    /// Whether the expression tests marks or cgroups: the tests whose support
    /// [`BytecodeSupport`] says must be probed first.
    pub fn tests_marks_or_cgroups(&self) -> (bool, bool) {
        let Some(expr) = &self.expr else {
            return (false, false);
        };
        (
            eval::any_leaf(expr, &|leaf| matches!(leaf, Expr::Mark { .. })),
            eval::any_leaf(expr, &|leaf| matches!(leaf, Expr::Cgroup { .. })),
        )
    }

    /// The local or remote port (`side`) every inet socket the filter matches has, when it
    /// implies one: a sock_diag dump request can name it, and the kernel then passes over
    /// other sockets before anything else (the bytecode included). Not 0.
    pub fn exact_port(&self, side: Side) -> Option<u16> {
        hint::exact_port(self.expr.as_ref()?, side)
    }

    /// What a matching inet socket must look like, for filtering in the kernel.
    /// `shown_states` is the final state mask (see [`Filter::state_mask`]).
    pub fn kernel_hint(&self, shown_states: u32) -> KernelHint {
        hint::kernel_hint(self.expr.as_ref(), self.kernel, self.family, shown_states)
    }
}

#[cfg(test)]
mod tests;
