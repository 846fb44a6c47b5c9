//! Property test of the filter's inet_diag bytecode against the running kernel: for random
//! sets of real TCP and UDP sockets in a private network namespace (marks, bound devices,
//! explicit and automatic ports, v4, v6 and v4-mapped addresses, TIME-WAIT and FIN-WAIT
//! pairs) and random filters, the sockets kept when the kernel runs the program equal those
//! kept when user space alone filters an unfiltered dump, and the kernel accepts every
//! program (a refusal fails the snapshot).

use std::collections::BTreeMap;

use super::live_tests::SocketHolder;
use super::*;
use crate::filter::{BytecodeSupport, Filter};
use crate::model::{Netid, SocketRecord};

/// How many socket sets, and filters tried on each.
const SETS: u64 = 10;
const FILTERS_PER_SET: usize = 80;

/// The socket set for `seed`: python's own generator picks, from ports 2000-2011 (below the
/// automatic range, so explicit ports never look automatic) or automatic ones.
fn sockets(seed: u64) -> String {
    format!(
        r#"
import socket, random, sys
random.seed({seed})
keep = []
V4 = ["127.0.0.1", "127.0.0.2", "0.0.0.0"]
V6 = ["::1", "::", "::ffff:127.0.0.1"]
PORTS = list(range(2000, 2012))
def sock(family, kind):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if random.random() < 0.3:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, random.choice([5, 6, 12]))
    if random.random() < 0.2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    return s
def bind(s, family):
    addr = random.choice(V4 if family == socket.AF_INET else V6)
    s.bind((addr, random.choice(PORTS) if random.random() < 0.7 else 0))
FAMILIES = [socket.AF_INET, socket.AF_INET6]
listeners = []
for _ in range(random.randint(2, 8)):
    family = random.choice(FAMILIES)
    s = sock(family, socket.SOCK_STREAM)
    try:
        bind(s, family); s.listen(16)
    except OSError:
        continue
    s.settimeout(0.5)
    keep.append(s); listeners.append((family, s))
for _ in range(random.randint(0, 14)):
    family, l = random.choice(listeners)
    host, port = l.getsockname()[:2]
    host = {{"0.0.0.0": "127.0.0.1", "::": "::1"}}.get(host, host)
    c = sock(family, socket.SOCK_STREAM)
    try:
        if random.random() < 0.3:
            bind(c, family)
        c.connect((host, port))
        a, _ = l.accept()
    except OSError:
        continue
    keep += [c, a]
    if random.random() < 0.3:
        c.close(); keep.remove(c)
        if random.random() < 0.5:
            a.close(); keep.remove(a)
for _ in range(random.randint(0, 8)):
    family = random.choice(FAMILIES)
    u = sock(family, socket.SOCK_DGRAM)
    try:
        bind(u, family)
        if random.random() < 0.5:
            u.connect(("127.0.0.1" if family == socket.AF_INET else "::1", random.choice(PORTS)))
    except OSError:
        continue
    keep.append(u)
print("ready", flush=True)
sys.stdin.read()
"#
    )
}

/// xorshift64*: deterministic, so a failure names a case that can be run again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn port(&mut self) -> String {
        match self.below(8) {
            0 => ["0", "65535", "70000", "32768"][self.below(4)].to_string(),
            _ => (1999 + self.below(14)).to_string(),
        }
    }

    fn term(&mut self) -> String {
        const ADDRESSES: [&str; 14] = [
            "127.0.0.1",
            "127.0.0.2",
            "127.0.0.0/8",
            "127.0.0.2/31",
            "0.0.0.0/0",
            "0.0.0.0",
            "*",
            "[::1]",
            "[::]",
            "::/0",
            "[::ffff:127.0.0.1]",
            "::ffff:127.0.0.0/104",
            "inet6:::/0",
            "inet:0.0.0.0/0",
        ];
        match self.below(11) {
            0..=3 => {
                let side = self.pick(&["sport", "dport"]);
                let op = self.pick(&["=", "!=", "<", ">", "<=", ">=", "eq", "ge", "lt"]);
                format!("{side} {op} :{}", self.port())
            }
            4..=6 => {
                let side = self.pick(&["src", "dst"]);
                let addr = self.pick(&ADDRESSES);
                match self.below(3) {
                    0 if !addr.contains('/') && addr.starts_with(['1', '[', '*']) => {
                        format!("{side} {addr}:{}", self.port())
                    }
                    _ => format!("{side} {addr}"),
                }
            }
            7 => "autobound".into(),
            8 => self.pick(&["dev lo", "dev 1", "dev 7"]).into(),
            9 => self
                .pick(&["fwmark 5", "fwmark 4/0xc", "fwmark 0", "fwmark 0x6/0x6"])
                .into(),
            _ => "cgroup /".into(),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.term();
        }
        match self.below(6) {
            0 | 1 => self.term(),
            2 => format!("not ( {} )", self.expr(depth - 1)),
            3 => format!("( {} and {} )", self.expr(depth - 1), self.expr(depth - 1)),
            4 => format!("( {} or {} )", self.expr(depth - 1), self.expr(depth - 1)),
            _ => format!("{} {}", self.expr(depth - 1), self.expr(depth - 1)),
        }
    }
}

/// The records `query` lists that `filter` keeps (by cookie), and how many were sent.
fn kept(query: &Query, filter: &Filter) -> (BTreeMap<u64, String>, usize) {
    let mut sent = 0;
    let mut kept = BTreeMap::new();
    snapshot(query, |record: SocketRecord| {
        sent += 1;
        if filter.matches(&record) {
            let shown = format!(
                "{:?} {:?} {:?} -> {:?} shutdown {:?} mark {:?}",
                record.netid, record.state, record.local, record.peer, record.shutdown, record.mark
            );
            kept.insert(record.cookie.0, shown);
        }
    })
    .unwrap_or_else(|e| panic!("{query:?}: {e}"));
    (kept, sent)
}

#[test]
fn kernel_filtering_keeps_what_user_space_keeps() {
    let base = Query::new(
        [Netid::Tcp, Netid::Udp],
        IpVersions::BOTH,
        StateMask::ALL,
        Extensions::default(),
    );
    let mut narrowed = 0;
    let mut compiled = 0;
    for seed in 1..=SETS {
        let Some(holder) = SocketHolder::start(&sockets(seed)) else {
            return;
        };
        holder.within(|| {
            let support = BytecodeSupport {
                marks: kernel_accepts_bytecode(&BytecodeSupport::MARK_PROBE).unwrap(),
                cgroups: kernel_accepts_bytecode(&BytecodeSupport::CGROUP_PROBE).unwrap(),
            };
            // As root on this kernel, every test is there to be checked.
            assert!(support.marks && support.cgroups, "{support:?}");
            let (_, total) = kept(&base, &Filter::parse_args::<&str>(&[]).unwrap());
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            for _ in 0..FILTERS_PER_SET {
                let text = rng.expr(3);
                let filter = Filter::parse_args(&[&text])
                    .unwrap_or_else(|e| panic!("set {seed}: {text}: {e}"));
                let (by_user_space, _) = kept(&base, &filter);
                let program = filter.inet_diag_bytecode(support);
                let query = Query {
                    bytecode: program.clone(),
                    ..base.clone()
                };
                let (by_kernel, sent) = kept(&query, &filter);
                let differ: Vec<&String> = by_user_space
                    .iter()
                    .filter(|(cookie, _)| !by_kernel.contains_key(cookie))
                    .chain(
                        by_kernel
                            .iter()
                            .filter(|(c, _)| !by_user_space.contains_key(c)),
                    )
                    .map(|(_, shown)| shown)
                    .collect();
                assert!(
                    differ.is_empty(),
                    "set {seed}, filter {text:?}, program {program:?}: the kernel sent {sent} \
                     of {total}; kept by one side only: {differ:#?}"
                );
                compiled += usize::from(program.is_some());
                narrowed += usize::from(sent < total);
            }
        });
    }
    eprintln!(
        "{} filters on {SETS} socket sets: {compiled} compiled, {narrowed} narrowed in the kernel",
        SETS as usize * FILTERS_PER_SET
    );
    assert!(
        narrowed > FILTERS_PER_SET,
        "the kernel narrowed too few dumps"
    );
}
