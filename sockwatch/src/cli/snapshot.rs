//! `sockwatch snapshot`: ss's command line to a selection, a filter and a renderer.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Read, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    process::ExitCode,
};

use sockwatch::{
    filter::{Family as FilterFamily, Filter, ParseContext},
    model::{Netid, SocketRecord},
    procs,
    render::{
        json, netstat,
        ss::{self, OtherPortNames, SsLayout, SystemNames},
        summary, ShowOptions,
    },
    select::{Family, SelectOptions, Selection},
    source::{self, sockstat::SockStats, Extensions, IpVersions, Query, StateMask},
};

use super::args::SnapshotArgs;

fn show_options(args: &SnapshotArgs) -> ShowOptions {
    ShowOptions {
        numeric: args.numeric,
        resolve: args.resolve,
        timers: args.timers,
        extended: args.extended,
        memory: args.memory,
        info: args.info,
        processes: args.processes,
        no_header: args.no_header,
        oneline: args.oneline,
    }
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
fn filter_family(args: &SnapshotArgs) -> Option<FilterFamily> {
    let named = args.family.last().and_then(|f| match f.as_str() {
        "inet" => Some(FilterFamily::Inet),
        "inet6" => Some(FilterFamily::Inet6),
        "unix" => Some(FilterFamily::Unix),
        "link" => Some(FilterFamily::Packet),
        "netlink" => Some(FilterFamily::Netlink),
        _ => None,
    });
    named.or(if args.ipv6 {
        Some(FilterFamily::Inet6)
    } else if args.ipv4 {
        Some(FilterFamily::Inet)
    } else if args.packet {
        Some(FilterFamily::Packet)
    } else if args.unix {
        Some(FilterFamily::Unix)
    } else {
        None
    })
}

fn read_filter_file(path: &Path) -> Result<String, String> {
    let mut text = String::new();
    let result = if path == Path::new("-") {
        io::stdin().read_to_string(&mut text)
    } else {
        File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    result
        .map(|_| text)
        .map_err(|e| format!("cannot read filter file {}: {e}", path.display()))
}

pub fn run(args: SnapshotArgs) -> Result<ExitCode, String> {
    if let Some(option) = args.unsupported_option() {
        return Err(format!("the ss option {option} is not supported"));
    }
    if let Some(name) = &args.netns {
        source::enter_netns(name).map_err(|e| e.to_string())?;
    }
    let show = show_options(&args);
    let filter_text = args
        .filter_file
        .as_deref()
        .map(read_filter_file)
        .transpose()?;
    let any_tables = args.tcp || args.udp || !args.query.is_empty();
    let lookup = sockwatch::filter::SystemLookup;
    let context = ParseContext {
        family: filter_family(&args),
        tcp_services: args.tcp || !any_tables,
        udp_services: args.udp || !any_tables,
        lookup: &lookup,
    };
    let filter =
        Filter::parse(&args.filter, filter_text.as_deref(), &context).map_err(|e| e.to_string())?;
    let selection = Selection::from_options(&select_options(&args, filter.states())?)
        .map_err(|e| e.to_string())?;

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.summary {
        let stats = SockStats::read().map_err(|e| e.to_string())?;
        write_or_quiet(summary::render_summary(&stats, &mut out).and_then(|_| out.flush()))?;
        let selected_anything = args.tcp
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
            || !args.query.is_empty();
        if !selected_anything && args.filter.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
    }

    let query = Query::new(
        selection.tables.iter().copied(),
        IpVersions {
            v4: selection.families.contains(&Family::Inet),
            v6: selection.families.contains(&Family::Inet6),
        },
        StateMask(selection.states),
        Extensions::for_display(&show, false),
    );
    let mut records: Vec<SocketRecord> = Vec::new();
    let keep =
        |record: &SocketRecord| selection.wants_state(record.state) && filter.matches(record);
    let dump_file = args
        .read
        .clone()
        .or_else(|| std::env::var_os("TCPDIAG_FILE").map(Into::into));
    if let Some(path) = dump_file {
        let file = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // ss shows a dump's sockets whatever the selected states: only the filter applies.
        source::snapshot_from_dump(file, |record| {
            if filter.matches(&record) {
                records.push(record)
            }
        })
        .map_err(|e| match e {
            // Name the file: it may come from a TCPDIAG_FILE the user forgot was set.
            source::SourceError::Dump(e) => format!("dump file {}: {e}", path.display()),
            e => e.to_string(),
        })?;
    } else if let Some(path) = &args.diag {
        if !selection.tables.contains(&Netid::Tcp) {
            return Err("tcpdiag dump requested and no tcp in filter".into());
        }
        let tcp_only = Query {
            netids: [Netid::Tcp].into(),
            ..query
        };
        if path == Path::new("-") {
            // As ss: `-D -` writes the dump to standard output.
            let written = source::snapshot_tee(&tcp_only, &mut out, |_| {});
            match written {
                Err(source::SourceError::DumpWrite(e)) => write_or_quiet(Err(e))?,
                other => other.map(|_| ()).map_err(|e| e.to_string())?,
            }
            write_or_quiet(out.flush())?;
            return Ok(ExitCode::SUCCESS);
        }
        let file =
            create_private(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut dump = BufWriter::new(file);
        source::snapshot_tee(&tcp_only, &mut dump, |_| {}).map_err(|e| e.to_string())?;
        dump.flush()
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        return Ok(ExitCode::SUCCESS);
    } else {
        source::snapshot(&query, |record| {
            if keep(&record) {
                records.push(record)
            }
        })
        .map_err(|e| e.to_string())?;
    }
    if show.processes {
        procs::attach_users(&mut records).map_err(|e| e.to_string())?;
    }

    let written = if args.json {
        json::write_json(&mut out, &records, &show)
    } else if args.netstat {
        let options = netstat::NetstatOptions {
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
        };
        netstat::write_netstat(&mut out, &records, &options, &netstat::SystemNames::new())
    } else {
        let layout = SsLayout {
            netid: selection.shows_netid(),
            state: selection.shows_state(),
            screen_width: ss::terminal_width(),
            other_port_names: other_port_names(&selection),
        };
        ss::render_ss(&records, &show, &layout, &mut SystemNames::new(), &mut out)
    };
    write_or_quiet(written.and_then(|_| out.flush()))?;
    Ok(ExitCode::SUCCESS)
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

/// Creates (or truncates) a dump file that only its owner can read: it lists every TCP
/// connection of the namespace. A file that exists keeps the mode its owner gave it.
fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// A closed output (`| head`) ends the listing quietly; other write errors are errors.
fn write_or_quiet(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}
