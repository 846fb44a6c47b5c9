//! snapshot's configuration: ss's options resolved once into what to fetch (selection,
//! query), what to keep (the filter), where records come from and how they are shown.

use std::{
    fs::File,
    io,
    path::{Path, PathBuf},
};

use sockwatch::{
    bounded,
    escape::Escaped,
    filter::{BytecodeSupport, Filter, ParseContext, Side, SystemLookup},
    model::Netid,
    render::{
        netstat,
        ss::{self, OtherPortNames, SsLayout},
        ShowOptions,
    },
    select::{Family, SelectOptions, Selection},
    source::{self, Extensions, IpVersions, PortMatch, Query, StateMask},
};

use crate::cli::args::SnapshotArgs;

/// Everything `sockwatch snapshot` needs to run.
pub struct SnapshotConfig {
    pub show: ShowOptions,
    pub filter: Filter,
    pub selection: Selection,
    /// What the kernel is asked for.
    pub query: Query,
    pub summary: Summary,
    pub source: Source,
    pub format: Format,
    /// -K: close every inet socket the filter selects (SOCK_DESTROY), showing those closed.
    pub kill: bool,
    /// -E: follow destroyed sockets instead of listing.
    pub events: bool,
    /// -T: the processes column lists threads.
    pub threads: bool,
}

/// ss -s: the socket counts, alone or before the listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    Off,
    /// -s with no table, family or filter: the counts only.
    Only,
    /// -s with a selection: the counts, then the listing.
    BeforeListing,
}

/// Where the sockets come from, or where they go raw.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    Kernel,
    /// --read FILE or TCPDIAG_FILE: a dump written by -D or `ss -D`.
    DumpFile(PathBuf),
    /// -D FILE: write the kernel's TCP answer to FILE (`-`: standard output), show nothing.
    WriteDump(PathBuf),
}

pub enum Format {
    Ss(SsLayout),
    Json,
    Netstat(netstat::NetstatOptions),
}

impl SnapshotConfig {
    pub fn new(args: &SnapshotArgs) -> Result<SnapshotConfig, String> {
        if (args.context || args.contexts) && !selinux_enabled() {
            // ss's own words, and its exit status 1.
            return Err("SELinux is not enabled.".into());
        }
        if let Some(option) = args.unsupported_option() {
            return Err(format!("the ss option {option} is not supported"));
        }
        // First: names in the filter (`dev eth0`) are looked up inside the namespace.
        if let Some(name) = &args.netns {
            source::enter_netns(name).map_err(|e| e.to_string())?;
        }
        let show = show_options(args);
        let filter_text = args
            .filter_file
            .as_deref()
            .map(read_filter_file)
            .transpose()?;
        let any_tables = args.tcp || args.udp || !args.query.is_empty();
        let lookup = SystemLookup;
        let context = ParseContext {
            family: filter_family(args),
            tcp_services: args.tcp || !any_tables,
            udp_services: args.udp || !any_tables,
            lookup: &lookup,
        };
        let filter = Filter::parse(&args.filter, filter_text.as_deref(), &context)
            .map_err(|e| e.to_string())?;
        let selection = Selection::from_options(&select_options(args, filter.states())?)
            .map_err(|e| e.to_string())?;
        // An IP version no socket of which can match is not dumped at all.
        let possible = filter.kernel_hint(selection.states);
        let mut query = Query::new(
            selection.tables.iter().copied(),
            IpVersions {
                v4: selection.families.contains(&Family::Inet) && possible.ipv4,
                v6: selection.families.contains(&Family::Inet6) && possible.ipv6,
            },
            StateMask(selection.states),
            extensions(args),
        );
        let summary = if !args.summary {
            Summary::Off
        } else if selects_anything(args) || !args.filter.is_empty() {
            Summary::BeforeListing
        } else {
            Summary::Only
        };
        let dump_file = args
            .read
            .clone()
            .or_else(|| std::env::var_os("TCPDIAG_FILE").map(Into::into));
        let source = match (dump_file, &args.diag) {
            (Some(path), _) => Source::DumpFile(path),
            (None, Some(path)) => Source::WriteDump(path.clone()),
            (None, None) => Source::Kernel,
        };
        if !matches!(source, Source::DumpFile(_)) {
            query.bytecode = kernel_program(&filter)?;
            query.ports = PortMatch {
                local: filter.exact_port(Side::Local),
                remote: filter.exact_port(Side::Remote),
            };
        }
        let format = if args.json {
            Format::Json
        } else if args.netstat {
            Format::Netstat(netstat_options(args, &selection))
        } else {
            Format::Ss(SsLayout {
                netid: selection.shows_netid(),
                state: selection.shows_state(),
                screen_width: ss::terminal_width(),
                other_port_names: other_port_names(&selection),
            })
        };
        Ok(SnapshotConfig {
            show,
            filter,
            selection,
            query,
            summary,
            source,
            format,
            kill: args.kill,
            events: args.events,
            threads: args.threads,
        })
    }
}

fn show_options(args: &SnapshotArgs) -> ShowOptions {
    ShowOptions {
        numeric: args.numeric,
        resolve: args.resolve,
        // ss -b turns on -o too.
        timers: args.timers || args.bpf,
        extended: args.extended,
        memory: args.memory,
        info: args.info,
        // ss -T implies -p.
        processes: args.processes || args.threads,
        no_header: args.no_header,
        oneline: args.oneline,
        tos: args.tos,
        cgroup: args.cgroup,
        inet_sockopt: args.inet_sockopt,
        bpf: args.bpf,
        tipcinfo: args.tipcinfo,
        escape: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    }
}

/// Whether SELinux is on, as libselinux's is_selinux_enabled() sees it: selinuxfs mounted.
fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// What ss asks the kernel for, given what it shows.
fn extensions(args: &SnapshotArgs) -> Extensions {
    Extensions {
        tcp_info: args.info,
        tcp_counters: false,
        memory: args.memory,
        tos: args.tos,
        unix_details: args.extended,
    }
}

/// Whether any table or family option was given (ss -s alone prints only the counts).
fn selects_anything(args: &SnapshotArgs) -> bool {
    args.tcp
        || args.udp
        || args.dccp
        || args.raw
        || args.unix
        || args.sctp
        || args.mptcp
        || args.ipv4
        || args.ipv6
        || args.packet
        || !args.family.is_empty()
        || !args.query.is_empty()
}

fn select_options(args: &SnapshotArgs, states: Option<u32>) -> Result<SelectOptions, String> {
    let tables = [
        (args.tcp, Netid::Tcp),
        (args.udp, Netid::Udp),
        (args.dccp, Netid::Dccp),
        (args.raw, Netid::Raw),
        (args.sctp, Netid::Sctp),
        (args.mptcp, Netid::Mptcp),
    ]
    .into_iter()
    .filter_map(|(given, netid)| given.then_some(netid))
    .collect();
    // -x and -0 select families in ss (with the family's default states), not tables.
    let mut families: Vec<Family> = [
        (args.ipv4, Family::Inet),
        (args.ipv6, Family::Inet6),
        (args.unix, Family::Unix),
        (args.packet, Family::Packet),
        (args.vsock, Family::Vsock),
        (args.tipc, Family::Tipc),
        (args.xdp, Family::Xdp),
    ]
    .into_iter()
    .filter_map(|(given, family)| given.then_some(family))
    .collect();
    for name in &args.family {
        families.push(Family::parse(name).map_err(|e| e.to_string())?);
    }
    Ok(SelectOptions {
        tables,
        families,
        queries: args.query.clone(),
        all: args.all,
        listening: args.listening,
        states,
    })
}

/// The family addresses in the filter are read in (ss's "preferred family").
/// (A bad `-f` name is reported by the selection; here it just names no family.)
fn filter_family(args: &SnapshotArgs) -> Option<Family> {
    let named = args.family.last().and_then(|f| Family::parse(f).ok());
    named.or(if args.ipv6 {
        Some(Family::Inet6)
    } else if args.ipv4 {
        Some(Family::Inet)
    } else if args.packet {
        Some(Family::Packet)
    } else if args.unix {
        Some(Family::Unix)
    } else {
        None
    })
}

/// The longest filter file read: far more than any expression a person writes, and a
/// bound on what `-F /dev/zero` or an endless pipe can make sockwatch hold.
const FILTER_FILE_LIMIT: u64 = 64 << 10;

fn read_filter_file(path: &Path) -> Result<String, String> {
    let result = if path == Path::new("-") {
        bounded::read_text_from(io::stdin().lock(), FILTER_FILE_LIMIT)
    } else {
        File::open(path).and_then(|f| bounded::read_text_from(f, FILTER_FILE_LIMIT))
    };
    result.map_err(|e| format!("cannot read filter file {}: {e}", Escaped::path(path)))
}

/// The filter as inet_diag bytecode, so the kernel sends only sockets that may match, with
/// the tests this kernel accepts from this process (probed only when the filter has them).
fn kernel_program(filter: &Filter) -> Result<Option<Vec<u8>>, String> {
    let (marks, cgroups) = filter.tests_marks_or_cgroups();
    let accepts = |wanted: bool, probe: &[u8]| {
        if !wanted {
            return Ok(false);
        }
        source::kernel_accepts_bytecode(probe).map_err(|e| e.to_string())
    };
    let support = BytecodeSupport {
        marks: accepts(marks, &BytecodeSupport::MARK_PROBE)?,
        cgroups: accepts(cgroups, &BytecodeSupport::CGROUP_PROBE)?,
    };
    Ok(filter.inet_diag_bytecode(support))
}

fn netstat_options(args: &SnapshotArgs, selection: &Selection) -> netstat::NetstatOptions {
    netstat::NetstatOptions {
        listing: if args.all {
            netstat::Listing::All
        } else if args.listening {
            netstat::Listing::OnlyServers
        } else {
            netstat::Listing::WithoutServers
        },
        inet: selection.tables.iter().any(|t| t.is_inet()),
        unix: selection.tables.iter().any(|t| t.is_unix()),
        numeric_hosts: args.numeric,
        numeric_ports: args.numeric,
        numeric_users: args.numeric,
        wide: true,
        extend: args.extended,
        programs: args.processes,
        timers: args.timers,
        escape: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    }
}

/// ss names mptcp, sctp and dccp ports after the last of tcp, udp, raw it listed.
fn other_port_names(selection: &Selection) -> OtherPortNames {
    if selection.tables.contains(&Netid::Tcp) {
        OtherPortNames::Tcp
    } else if selection.tables.contains(&Netid::Udp) {
        OtherPortNames::Udp
    } else if selection.tables.contains(&Netid::Raw) {
        OtherPortNames::Protocols
    } else {
        OtherPortNames::AnyTransport
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::testing::parse_snapshot as parse;

    #[test]
    fn extensions_follow_what_is_shown() {
        let ext = extensions(&parse(&["-ie"]));
        assert!(ext.tcp_info && ext.unix_details && !ext.memory && !ext.tos);
        assert_eq!(extensions(&parse(&[])), Extensions::default());
    }
}
