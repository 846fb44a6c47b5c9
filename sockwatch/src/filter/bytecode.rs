//! The filter compiled to inet_diag bytecode (INET_DIAG_REQ_BYTECODE), so the kernel sends
//! only the inet sockets that can match, as ss's request does. The same tree user space
//! evaluates; user space still evaluates every socket the kernel sends, and decides.
//!
//! The program is a superset of what [`super::Filter::matches`] keeps: each condition is
//! compiled as the kernel's evaluation that `eval` already models for inet sockets (the
//! kernel judge, which ss's own result includes), and a condition the kernel cannot judge
//! here (`autobound`; marks without CAP_NET_ADMIN; cgroups before Linux 5.9; with `dev` in
//! the filter, whatever ss alone judges) becomes "true" where it counts positively and
//! "false" under an odd number of `not`s, so that no socket the filter keeps is dropped.
//!
//! Layout (linux/inet_diag.h): ops `{u8 code; u8 yes; u16 no}` and their operands; after an
//! op that holds the program goes on `yes` bytes further, otherwise `no` bytes further. A
//! program accepts a socket by running off its exact end and rejects it by jumping 4 bytes
//! past it. The kernel's audit (inet_diag_bc_audit) wants every jump a multiple of 4, no
//! shorter than its op, landing on an op boundary at most 4 bytes past the end.

use super::{
    ast::{AddrMatch, Expr, Family, HostCond, Side},
    eval::KernelCheck,
};

const BC_JMP: u8 = 1;
const BC_S_GE: u8 = 2;
const BC_S_LE: u8 = 3;
const BC_D_GE: u8 = 4;
const BC_D_LE: u8 = 5;
const BC_S_COND: u8 = 7;
const BC_D_COND: u8 = 8;
const BC_DEV_COND: u8 = 9;
const BC_MARK_COND: u8 = 10;
const BC_CGROUP_COND: u8 = 13;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// The longest program: its attribute's length is a u16 that also counts a 4-byte header.
const MAX_PROGRAM: usize = u16::MAX as usize - 4;

/// What this kernel and these privileges let a program test: probed by sending
/// [`BytecodeSupport::MARK_PROBE`] and [`BytecodeSupport::CGROUP_PROBE`] alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BytecodeSupport {
    /// MARK_COND: the kernel refuses it (EPERM) without CAP_NET_ADMIN.
    pub marks: bool,
    /// CGROUP_COND: from Linux 5.9; older kernels refuse it (EINVAL).
    pub cgroups: bool,
}

impl BytecodeSupport {
    /// A program of one MARK_COND (mark 0, mask 0).
    pub const MARK_PROBE: [u8; 12] = [BC_MARK_COND, 12, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    /// A program of one CGROUP_COND (cgroup id 0).
    pub const CGROUP_PROBE: [u8; 12] = [BC_CGROUP_COND, 12, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}

/// Where an op goes when its test fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dest {
    /// The fragment's failure: past the end of the whole program, once assembled.
    Fail,
    /// The fragment's end, i.e. its success.
    End,
    /// The op at this index of the fragment.
    At(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Op {
    code: u8,
    operand: Vec<u8>,
    on_fail: Dest,
}

impl Op {
    fn len(&self) -> usize {
        4 + self.operand.len()
    }
}

/// A compiled subexpression: constant, or ops that fall off their end on success.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Code {
    True,
    False,
    Ops(Vec<Op>),
}

/// The bytecode for `expr`, or None when the kernel cannot narrow anything down (the
/// program would accept every socket) or ss's evaluation does not include the kernel's.
pub(super) fn compile(
    expr: &Expr,
    kernel: KernelCheck,
    support: BytecodeSupport,
) -> Option<Vec<u8>> {
    let compiler = Compiler {
        kernel_semantics: kernel == KernelCheck::Applied,
        support,
    };
    match kernel {
        // Every inet socket is dropped anyway: a program that rejects all saves the dump.
        KernelCheck::Refused => assemble(&[jump(Dest::Fail)]),
        _ => match compiler.code(expr, true) {
            Code::True => None,
            Code::False => assemble(&[jump(Dest::Fail)]),
            Code::Ops(ops) => assemble(&ops),
        },
    }
}

fn jump(on_fail: Dest) -> Op {
    Op {
        code: BC_JMP,
        operand: Vec::new(),
        on_fail,
    }
}

struct Compiler {
    /// Whether the filter's result includes the kernel's evaluation (ss sent bytecode):
    /// every condition can then be compiled as the kernel judges it. Otherwise (ss sends
    /// none for filters with `dev`) only conditions both judge alike are compiled.
    kernel_semantics: bool,
    support: BytecodeSupport,
}

impl Compiler {
    /// `expr`'s code; `positive`: whether it counts positively in the whole filter (an even
    /// number of `not`s above it), which decides how a condition left to user space reads.
    fn code(&self, expr: &Expr, positive: bool) -> Code {
        let leaf = |op: Option<Op>| op.map_or(constant(positive), |op| Code::Ops(vec![op]));
        match expr {
            Expr::All(terms) => all(terms.iter().map(|t| self.code(t, positive))),
            Expr::Any(terms) => any(terms.iter().map(|t| self.code(t, positive))),
            Expr::Not(term) => not(self.code(term, !positive)),
            Expr::Host { side, cond } => match self.host(*side, cond) {
                Some(code) => code,
                None => constant(positive),
            },
            Expr::PortAtLeast { side, port, .. } => leaf(self.port_bound(*side, *port, true)),
            Expr::PortAtMost { side, port, .. } => leaf(self.port_bound(*side, *port, false)),
            Expr::Dev { index, .. } => leaf(Some(test(BC_DEV_COND, index.to_ne_bytes().into()))),
            Expr::Mark { value, mask, .. } => leaf(self.support.marks.then(|| {
                test(
                    BC_MARK_COND,
                    [value.to_ne_bytes(), mask.to_ne_bytes()].concat(),
                )
            })),
            Expr::Cgroup { id, .. } => leaf(
                self.support
                    .cgroups
                    .then(|| test(BC_CGROUP_COND, id.to_ne_bytes().into())),
            ),
            // Left to user space: the kernel's test reads SOCK_BINDPORT_LOCK, which no
            // record carries (accepted sockets lack it even on a fixed port), so user space
            // could not check the kernel's answer; ss's ephemeral-range test decides.
            Expr::Autobound { .. } => constant(positive),
        }
    }

    /// `sport`/`dport` `>=` (`at_least`) or `<=`: the kernel compares with the low 16 bits
    /// of ss's int, as `eval` models; without kernel semantics only ports that fit agree.
    fn port_bound(&self, side: Side, port: i32, at_least: bool) -> Option<Op> {
        let port = match u16::try_from(port) {
            Ok(port) => port,
            Err(_) if self.kernel_semantics => port as u16,
            Err(_) => return None,
        };
        let code = match (side, at_least) {
            (Side::Local, true) => BC_S_GE,
            (Side::Local, false) => BC_S_LE,
            (Side::Remote, true) => BC_D_GE,
            (Side::Remote, false) => BC_D_LE,
        };
        // The bound sits in the `no` field of a second op.
        let mut operand = vec![0, 0];
        operand.extend_from_slice(&port.to_ne_bytes());
        Some(test(code, operand))
    }

    /// `src`/`dst`/`sport =`/`dport =`: a hostcond with the first address, as ss sends it.
    /// None when left to user space.
    fn host(&self, side: Side, cond: &HostCond) -> Option<Code> {
        let code = match side {
            Side::Local => BC_S_COND,
            Side::Remote => BC_D_COND,
        };
        let port = cond.port.unwrap_or(-1);
        let (family, bytes, len) = match &cond.addr {
            // Without kernel semantics, ss compares ports alone alike; a family is the kernel's.
            AddrMatch::Any { family: None } => (AF_UNSPEC, [0; 16], 0),
            AddrMatch::Any {
                family: Some(family),
            } if self.kernel_semantics => (inet_family(*family)?, [0; 16], 0),
            AddrMatch::Prefixes(prefixes) if self.kernel_semantics => match prefixes.first() {
                Some(first) => (inet_family(first.family)?, first.bytes, first.len),
                None => return Some(Code::False),
            },
            _ => return None,
        };
        let addr_len = match family {
            AF_INET => 4,
            AF_INET6 => 16,
            _ => 0,
        };
        if usize::from(len) > 8 * addr_len {
            return None;
        }
        if port == -1 && family == AF_UNSPEC {
            return Some(Code::True);
        }
        let mut operand = vec![family, len, 0, 0];
        operand.extend_from_slice(&port.to_ne_bytes());
        operand.extend_from_slice(&bytes[..addr_len]);
        Some(Code::Ops(vec![test(code, operand)]))
    }
}

fn inet_family(family: Family) -> Option<u8> {
    match family {
        Family::Inet => Some(AF_INET),
        Family::Inet6 => Some(AF_INET6),
        _ => None,
    }
}

fn constant(value: bool) -> Code {
    if value {
        Code::True
    } else {
        Code::False
    }
}

/// A test op that goes on when it holds and fails the fragment otherwise.
fn test(code: u8, operand: Vec<u8>) -> Op {
    Op {
        code,
        operand,
        on_fail: Dest::Fail,
    }
}

/// `ops` placed at index `at` of a larger fragment, with its failure and end sent to
/// `fail` and `end` there.
fn placed(ops: Vec<Op>, at: usize, fail: Dest, end: Dest) -> impl Iterator<Item = Op> {
    ops.into_iter().map(move |mut op| {
        op.on_fail = match op.on_fail {
            Dest::Fail => fail,
            Dest::End => end,
            Dest::At(i) => Dest::At(at + i),
        };
        op
    })
}

fn all(codes: impl Iterator<Item = Code>) -> Code {
    let mut parts = Vec::new();
    for code in codes {
        match code {
            Code::False => return Code::False,
            Code::True => {}
            Code::Ops(ops) => parts.push(ops),
        }
    }
    let count = parts.len();
    let mut ops: Vec<Op> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        let at = ops.len();
        // A part's success is the next part's start: the op right after it.
        let end = if i + 1 == count {
            Dest::End
        } else {
            Dest::At(at + part.len())
        };
        ops.extend(placed(part, at, Dest::Fail, end));
    }
    if ops.is_empty() {
        Code::True
    } else {
        Code::Ops(ops)
    }
}

fn any(codes: impl Iterator<Item = Code>) -> Code {
    let mut parts = Vec::new();
    for code in codes {
        match code {
            Code::True => return Code::True,
            Code::False => {}
            Code::Ops(ops) => parts.push(ops),
        }
    }
    let count = parts.len();
    let mut ops: Vec<Op> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        let at = ops.len();
        if i + 1 == count {
            ops.extend(placed(part, at, Dest::Fail, Dest::End));
        } else {
            // Failing tries the next part, after the jump that ends this one's success.
            let next = at + part.len() + 1;
            ops.extend(placed(part, at, Dest::At(next), Dest::End));
            ops.push(jump(Dest::End));
        }
    }
    if ops.is_empty() {
        Code::False
    } else {
        Code::Ops(ops)
    }
}

fn not(code: Code) -> Code {
    match code {
        Code::True => Code::False,
        Code::False => Code::True,
        Code::Ops(part) => {
            // The part's success reaches a jump to failure; its failure is our end.
            let jump_at = part.len();
            let mut ops: Vec<Op> = placed(part, 0, Dest::End, Dest::At(jump_at)).collect();
            ops.push(jump(Dest::Fail));
            Code::Ops(ops)
        }
    }
}

/// The program's bytes; None when too long for the attribute.
fn assemble(ops: &[Op]) -> Option<Vec<u8>> {
    let mut starts = Vec::with_capacity(ops.len());
    let mut len = 0;
    for op in ops {
        starts.push(len);
        len += op.len();
    }
    if len > MAX_PROGRAM {
        return None;
    }
    let mut bytes = Vec::with_capacity(len);
    for (op, &at) in ops.iter().zip(&starts) {
        let target = match op.on_fail {
            Dest::Fail => len + 4,
            Dest::End => len,
            Dest::At(i) => starts[i],
        };
        bytes.push(op.code);
        bytes.push(op.len() as u8);
        bytes.extend_from_slice(&((target - at) as u16).to_ne_bytes());
        bytes.extend_from_slice(&op.operand);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    const ALL: BytecodeSupport = BytecodeSupport {
        marks: true,
        cgroups: true,
    };

    fn program(filter: &str) -> Option<Vec<u8>> {
        Filter::parse_args(&[filter])
            .unwrap()
            .inet_diag_bytecode(ALL)
    }

    /// The ops as (code, yes, no) triples, walking `yes`.
    fn ops(bytes: &[u8]) -> Vec<(u8, u8, u16)> {
        let mut at = 0;
        let mut ops = Vec::new();
        while at < bytes.len() {
            let no = u16::from_ne_bytes([bytes[at + 2], bytes[at + 3]]);
            ops.push((bytes[at], bytes[at + 1], no));
            at += usize::from(bytes[at + 1]);
        }
        ops
    }

    /// The kernel's run (inet_diag_bc_run) over a socket with these ports, every other test
    /// taken from `holds` by op code: whether it accepts.
    fn run(bytes: &[u8], holds: &dyn Fn(u8, &[u8]) -> bool) -> bool {
        let mut at = 0usize;
        while at < bytes.len() {
            let (code, yes) = (bytes[at], usize::from(bytes[at + 1]));
            let no = usize::from(u16::from_ne_bytes([bytes[at + 2], bytes[at + 3]]));
            let step = if code != BC_JMP && holds(code, &bytes[at + 4..at + yes]) {
                yes
            } else {
                no
            };
            at += step;
        }
        at == bytes.len()
    }

    /// The kernel's audit (inet_diag_bc_audit) of jumps: every `yes` and `no` a multiple of
    /// 4, no shorter than its op, landing on an op boundary at most 4 past the end.
    fn audited(bytes: &[u8]) -> bool {
        let boundaries: Vec<usize> = {
            let mut at = 0;
            let mut all = Vec::new();
            while at < bytes.len() {
                all.push(at);
                at += usize::from(bytes[at + 1]).max(4);
            }
            all
        };
        let len = bytes.len();
        boundaries.iter().all(|&at| {
            let yes = usize::from(bytes[at + 1]);
            let no = usize::from(u16::from_ne_bytes([bytes[at + 2], bytes[at + 3]]));
            [yes, no].iter().all(|&jump| {
                jump >= yes
                    && jump % 4 == 0
                    && at + jump <= len + 4
                    && (at + jump >= len || boundaries.contains(&(at + jump)))
            })
        })
    }

    #[test]
    fn a_port_equality_is_one_hostcond() {
        let bytes = program("sport = :22").unwrap();
        assert_eq!(ops(&bytes), [(BC_S_COND, 12, 16)]);
        // family unspecified, prefix 0, port 22, no address
        assert_eq!(&bytes[4..8], &[AF_UNSPEC, 0, 0, 0]);
        assert_eq!(&bytes[8..12], &22i32.to_ne_bytes());
    }

    #[test]
    fn comparisons_carry_the_port_in_a_second_op() {
        let bytes = program("dport > :1024").unwrap();
        // not (dport <= 1024): the test, then the jump to failure.
        assert_eq!(ops(&bytes), [(BC_D_LE, 8, 12), (BC_JMP, 4, 8)]);
        assert_eq!(u16::from_ne_bytes([bytes[6], bytes[7]]), 1024);
    }

    #[test]
    fn addresses_and_prefixes() {
        let bytes = program("src 10.0.0.0/8:80").unwrap();
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[4..6], &[AF_INET, 8]);
        assert_eq!(&bytes[8..12], &80i32.to_ne_bytes());
        assert_eq!(&bytes[12..16], &[10, 0, 0, 0]);
        let bytes = program("dst [::1]").unwrap();
        assert_eq!(bytes.len(), 28);
        assert_eq!(&bytes[4..6], &[AF_INET6, 128]);
        assert_eq!(&bytes[8..12], &(-1i32).to_ne_bytes());
    }

    #[test]
    fn nothing_to_narrow_sends_no_program() {
        let none = BytecodeSupport::default();
        assert!(program("sport = :*").is_none());
        let marked = Filter::parse_args(&["fwmark 5"]).unwrap();
        assert!(marked.inet_diag_bytecode(none).is_none());
        assert!(marked.inet_diag_bytecode(ALL).is_some());
        // Left to user space under a not: "false" there, so the whole and is "true".
        let filter = Filter::parse_args(&["not fwmark 5 or sport = :22"]).unwrap();
        assert!(filter.inet_diag_bytecode(none).is_none());
        // And with a test the kernel can make, only that test remains.
        let filter = Filter::parse_args(&["not fwmark 5 and sport = :22"]).unwrap();
        assert_eq!(
            ops(&filter.inet_diag_bytecode(none).unwrap()),
            [(BC_S_COND, 12, 16)]
        );
    }

    #[test]
    fn unix_addresses_reject_every_inet_socket_as_the_kernel_does() {
        let bytes = program("src unix:/tmp/*").unwrap();
        assert_eq!(ops(&bytes), [(BC_JMP, 4, 8)]);
    }

    #[test]
    fn without_kernel_semantics_only_common_tests_are_compiled() {
        // ss sends no bytecode with dev: the address (judged by ss alone) stays in user space.
        let bytes = program("dev lo and src 10.0.0.1 and dport >= :70000").unwrap();
        assert_eq!(ops(&bytes), [(BC_DEV_COND, 8, 12)]);
    }

    /// A filter's text and the formula its program must compute from its tests' outcomes.
    type Formula = fn(&[bool]) -> bool;

    #[test]
    // Each formula is written as its filter reads, double negations included.
    #[allow(clippy::nonminimal_bool)]
    fn boolean_structure_matches_the_tree() {
        // Each op stands for a test whose outcome `holds` reads from a bit of `outcomes`,
        // by order of appearance; the program must agree with the formula for all of them.
        let cases: [(&str, Formula); 7] = [
            ("sport = :1 and dport = :2", |v| v[0] && v[1]),
            ("sport = :1 or dport = :2", |v| v[0] || v[1]),
            ("not sport = :1", |v| !v[0]),
            ("sport = :1 or dport = :2 or sport = :3", |v| {
                v[0] || v[1] || v[2]
            }),
            (
                "( sport = :1 or dport = :2 ) and not ( sport = :3 and dport = :4 )",
                |v| (v[0] || v[1]) && !(v[2] && v[3]),
            ),
            ("not ( not sport = :1 or dport = :2 ) or dport = :3", |v| {
                !(!v[0] || v[1]) || v[2]
            }),
            (
                "sport = :1 and ( dport = :2 or not ( sport = :3 or dport = :4 ) )",
                |v| v[0] && (v[1] || !(v[2] || v[3])),
            ),
        ];
        for (filter, formula) in cases {
            let bytes = program(filter).unwrap();
            assert!(audited(&bytes), "{filter}: {:?}", ops(&bytes));
            let tests = filter.matches(':').count();
            for outcomes in 0u32..1 << tests {
                let values: Vec<bool> = (0..tests).map(|i| outcomes & 1 << i != 0).collect();
                // Each hostcond's port says which test it is (1-based).
                let holds = |_code: u8, operand: &[u8]| {
                    let port = i32::from_ne_bytes(operand[4..8].try_into().unwrap());
                    values[port as usize - 1]
                };
                assert_eq!(
                    run(&bytes, &holds),
                    formula(&values),
                    "{filter} with {values:?}: {:?}",
                    ops(&bytes)
                );
            }
        }
    }
}
