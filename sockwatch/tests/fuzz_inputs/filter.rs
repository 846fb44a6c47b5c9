//! The filter language (`Filter::parse`, as `parse_args` and `parse_text` call it): random
//! word sequences from ss's vocabulary and arbitrary text, as arguments and as a filter file.
//! A parsed filter must also match records of every kind and give a kernel hint without
//! panicking.

use std::net::IpAddr;

use proptest::prelude::*;
use sockwatch::{
    filter::{Filter, FilterError, Lookup, ParseContext, Position, SS_ALL},
    model::{Endpoint, Netid, SockState, SocketRecord, UnixName},
    system::services::Transport,
};

use crate::common::{assert_clear_error, config, within};

/// Fixed answers, so that no case waits for DNS or depends on the machine: services by name
/// (for TCP and UDP alike unless a transport is given), hosts by name.
struct FixedLookup;

const SERVICES: &[(&str, Option<Transport>, u16)] = &[
    ("ssh", None, 22),
    ("http", Some(Transport::Tcp), 80),
    ("split", Some(Transport::Tcp), 1000),
    ("split", Some(Transport::Udp), 2000),
];

const HOSTS: &[(&str, &[&str])] = &[
    ("localhost", &["127.0.0.1", "::1"]),
    ("web.test", &["10.1.1.1"]),
];

impl Lookup for FixedLookup {
    fn service_port(&self, name: &str, transport: Transport) -> Option<u16> {
        SERVICES
            .iter()
            .find(|&&(n, t, _)| n == name && t.is_none_or(|t| t == transport))
            .map(|&(_, _, port)| port)
    }

    fn host_addresses(&self, host: &str) -> Vec<IpAddr> {
        HOSTS
            .iter()
            .filter(|(name, _)| *name == host)
            .flat_map(|(_, addresses)| addresses.iter().map(|a| a.parse().expect("an address")))
            .collect()
    }

    fn interface_index(&self, name: &str) -> Option<u32> {
        (name == "lo").then_some(1)
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        (path == "/app").then_some(4242)
    }

    fn ephemeral_ports(&self) -> (u16, u16) {
        (32768, 60999)
    }
}

/// The words ss's filter grammar knows, and values of every kind it reads.
const VOCABULARY: &[&str] = &[
    "state",
    "exclude",
    "excl",
    "established",
    "syn-sent",
    "listening",
    "all",
    "connected",
    "bucket",
    "big",
    "time-wait",
    "closed",
    "src",
    "dst",
    "sport",
    "dport",
    "dev",
    "fwmark",
    "cgroup",
    "autobound",
    "and",
    "or",
    "not",
    "!",
    "&",
    "|",
    "&&",
    "||",
    "(",
    ")",
    "=",
    "==",
    "!=",
    "eq",
    "ne",
    "neq",
    "<",
    ">",
    "<=",
    ">=",
    "lt",
    "gt",
    "le",
    "ge",
    "leq",
    "geq",
    ":22",
    ":ssh",
    ":split",
    "22",
    "-1",
    "65536",
    "*",
    "*:*",
    ":*",
    "127.0.0.1",
    "127.0.0.1:22",
    "10.0.0.0/8",
    "10.8",
    "10.0.0.0/255.255.0.0",
    "[::1]",
    "[::1]:80",
    "::1/128",
    "[::1",
    "fe80::/10",
    "localhost",
    "web.test",
    "nosuch.invalid",
    "unix:/tmp/*",
    "/tmp/x.sock",
    "@abstract",
    "link:lo",
    "link:*",
    "netlink:rtnl",
    "netlink:0",
    "netlink:rtnl:0",
    "vsock:1",
    "inet:10.0.0.1",
    "inet6:[::1]",
    "lo",
    "0x10/0xff",
    "0x10/",
    "/app",
    "/",
    "\\(",
    "\\",
    "\"",
    "'",
    "#",
    "0",
    "",
];

fn vocabulary_word() -> impl Strategy<Value = String> {
    prop::sample::select(VOCABULARY).prop_map(str::to_string)
}

/// A word: mostly from the vocabulary, sometimes arbitrary text.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => vocabulary_word(),
        1 => "\\PC{0,12}",
        1 => any::<String>(),
    ]
}

/// Command-line arguments: words, some joined into one argument as a shell would pass
/// `'( dport = :22 )'`.
fn arguments() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::collection::vec(word(), 1..4).prop_map(|words| words.join(" ")),
        0..12,
    )
}

/// A filter file: words joined by blanks, tabs and line breaks.
fn file_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (word(), prop::sample::select(&[" ", "\t", "\n", "\r\n"][..])),
        0..24,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(w, sep)| [w, sep.to_string()])
            .collect()
    })
}

/// One record of each endpoint kind, for matching parsed filters against.
fn records() -> Vec<SocketRecord> {
    let inet = |addr: &str, port| Endpoint::Inet {
        addr: addr.parse().expect("test address"),
        port,
        scope: 0,
    };
    let mut bound = SocketRecord::new(
        Netid::Tcp,
        SockState::Established,
        inet("127.0.0.1", 22),
        inet("127.0.0.1", 40000),
    );
    bound.mark = Some(0x10);
    bound.cgroup_id = Some(4242);
    vec![
        bound,
        SocketRecord::new(Netid::Udp, SockState::Close, inet("::1", 53), inet("::", 0)),
        SocketRecord::new(
            Netid::UnixStream,
            SockState::Listen,
            Endpoint::Unix {
                name: Some(UnixName::Path("/tmp/x.sock".into())),
                inode: 7,
            },
            Endpoint::Unix {
                name: None,
                inode: 0,
            },
        ),
        SocketRecord::new(
            Netid::UnixDgram,
            SockState::Close,
            Endpoint::Unix {
                name: Some(UnixName::Abstract("abstract".into())),
                inode: 8,
            },
            Endpoint::Unix {
                name: None,
                inode: 0,
            },
        ),
        SocketRecord::new(
            Netid::PacketRaw,
            SockState::Close,
            Endpoint::Packet {
                protocol: 3,
                ifindex: 1,
            },
            Endpoint::Packet {
                protocol: 0,
                ifindex: 0,
            },
        ),
        SocketRecord::new(
            Netid::Netlink,
            SockState::Close,
            Endpoint::Netlink {
                protocol: 0,
                portid: -1,
            },
            Endpoint::Netlink {
                protocol: 0,
                portid: 0,
            },
        ),
    ]
}

/// Parses `args` and `file` with fixed lookups; exercises a parsed filter on every record.
fn parse_and_use(args: Vec<String>, file: Option<String>) -> Result<(), FilterError> {
    let context = ParseContext {
        family: None,
        tcp_services: true,
        udp_services: true,
        lookup: &FixedLookup,
    };
    let filter = Filter::parse(&args, file.as_deref(), &context)?;
    for record in records() {
        let _ = filter.matches(&record);
    }
    let _ = filter.kernel_hint(filter.state_mask(SS_ALL));
    Ok(())
}

/// Checks a rejection: one clear line, at a place that exists in the input.
fn check_rejection(error: &FilterError, args: &[String], file: Option<&str>) {
    assert_clear_error("filter", error);
    match error.at {
        Position::Column(column) => {
            let joined: usize = args.iter().map(|a| a.chars().count() + 1).sum();
            assert!(
                (1..=joined.max(1)).contains(&column),
                "column {column} outside arguments {args:?}: {error}"
            );
        }
        Position::Line { line, column } => {
            let text = file.expect("a line position needs a file");
            let line_text = text.split('\n').nth(line.wrapping_sub(1));
            let width = line_text.map(|l| l.chars().count());
            assert!(
                width.is_some_and(|w| (1..=w).contains(&column)),
                "line {line} column {column} outside the file {text:?}: {error}"
            );
        }
        Position::End => {}
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn arguments_parse_or_fail_clearly(args in arguments()) {
        let input = args.clone();
        let result = within("filter arguments", move || parse_and_use(input, None));
        if let Err(error) = result {
            check_rejection(&error, &args, None);
        }
    }

    #[test]
    fn filter_files_parse_or_fail_clearly(args in arguments(), text in file_text()) {
        let (input, file) = (args.clone(), text.clone());
        let result = within("filter file", move || parse_and_use(input, Some(file)));
        if let Err(error) = result {
            check_rejection(&error, &args, Some(&text));
        }
    }

    #[test]
    fn arbitrary_text_parses_or_fails_clearly(text in any::<String>()) {
        let file = text.clone();
        let result = within("filter text", move || parse_and_use(Vec::new(), Some(file)));
        if let Err(error) = result {
            check_rejection(&error, &[], Some(&text));
        }
    }
}

/// Deep nesting is refused with an error before it can exhaust the stack.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [99, 101, 1_000, 100_000] {
        for (open, close) in [("( ", " )"), ("not ", ""), ("! ( ", " )")] {
            let text = format!("{}sport = 1{}", open.repeat(depth), close.repeat(depth));
            let shown = format!("{open:?}x{depth}");
            let outcome = within("deep filter", move || {
                parse_and_use(vec![text], None).map_err(|e| e.to_string())
            });
            if let Err(message) = outcome {
                assert_clear_error(&shown, &message);
            } else {
                assert!(depth <= 100, "{shown} accepted");
            }
        }
    }
}

/// The long chains a generated filter could hold (thousands of ports) parse in bounded time.
#[test]
fn long_flat_filters_parse() {
    let ports: Vec<String> = (1..=20_000).map(|p| format!("sport = {p}")).collect();
    let text = ports.join(" or ");
    within("20000 alternatives", move || {
        parse_and_use(vec![text], None)
    })
    .expect("a long flat filter is valid");
}
