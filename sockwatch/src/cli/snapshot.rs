//! `sockwatch snapshot`: ss's command line to a selection, a filter and a renderer.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    process::ExitCode,
    thread::{self, ScopedJoinHandle},
};

use sockwatch::{
    bounded,
    filter::{BytecodeSupport, Filter, ParseContext},
    model::{Netid, SocketRecord},
    procs::{ProcsError, SocketOwners},
    render::{
        json, netstat,
        ss::{self, OtherPortNames, SsLayout, SsWriter, SystemNames},
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
    result.map_err(|e| format!("cannot read filter file {}: {e}", path.display()))
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

    // An IP version no socket of which can match is not dumped at all.
    let possible = filter.kernel_hint(selection.states);
    let mut query = Query::new(
        selection.tables.iter().copied(),
        IpVersions {
            v4: selection.families.contains(&Family::Inet) && possible.ipv4,
            v6: selection.families.contains(&Family::Inet6) && possible.ipv6,
        },
        StateMask(selection.states),
        Extensions::for_display(&show, false),
    );
    let dump_file = args
        .read
        .clone()
        .or_else(|| std::env::var_os("TCPDIAG_FILE").map(Into::into));
    if dump_file.is_none() {
        query.bytecode = kernel_program(&filter)?;
    }
    let dump_file = match (dump_file, &args.diag) {
        (Some(path), _) => {
            let file =
                File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            Some((path, file))
        }
        (None, Some(path)) => return write_diag_dump(&selection, &query, path, &mut out),
        (None, None) => None,
    };
    // ss shows a dump's sockets whatever the selected states: only the filter applies.
    let from_dump = dump_file.is_some();
    let keep = |record: &SocketRecord| {
        (from_dump || selection.wants_state(record.state)) && filter.matches(record)
    };
    let format = if args.json {
        Format::Json
    } else if args.netstat {
        Format::Netstat(netstat_options(&args, &selection))
    } else {
        Format::Ss(SsLayout {
            netid: selection.shows_netid(),
            state: selection.shows_state(),
            screen_width: ss::terminal_width(),
            other_port_names: other_port_names(&selection),
        })
    };
    let mut names = SystemNames::new();
    thread::scope(|scope| {
        // ss -p's /proc scan needs nothing from the dump: both run at once.
        let mut owners = Owners::start(show.processes, scope);
        let mut output = Output::new(&format, &show, &mut names, &mut out);
        let mut accept = |mut record: SocketRecord| {
            if keep(&record) {
                owners.attach(&mut record);
                output.push(record);
            }
        };
        match dump_file {
            Some((path, file)) => {
                source::snapshot_from_dump(file, &mut accept).map_err(|e| match e {
                    // Name the file: it may come from a TCPDIAG_FILE the user forgot was set.
                    source::SourceError::Dump(e) => format!("dump file {}: {e}", path.display()),
                    e => e.to_string(),
                })
            }
            None => source::snapshot(&query, &mut accept)
                .map(drop)
                .map_err(|e| e.to_string()),
        }?;
        owners.check().map_err(|e| e.to_string())?;
        write_or_quiet(output.finish())
    })?;
    write_or_quiet(out.flush())?;
    Ok(ExitCode::SUCCESS)
}

/// ss -D: the TCP part of the snapshot, as the kernel sent it, to a file readable by its
/// owner only (it lists every connection), or to standard output for `-D -`, as ss does.
fn write_diag_dump(
    selection: &Selection,
    query: &Query,
    path: &Path,
    out: &mut impl Write,
) -> Result<ExitCode, String> {
    if !selection.tables.contains(&Netid::Tcp) {
        return Err("tcpdiag dump requested and no tcp in filter".into());
    }
    let tcp_only = Query {
        netids: [Netid::Tcp].into(),
        ..query.clone()
    };
    if path == Path::new("-") {
        match source::snapshot_tee(&tcp_only, out, |_| {}) {
            Err(source::SourceError::DumpWrite(e)) => write_or_quiet(Err(e))?,
            other => other.map(drop).map_err(|e| e.to_string())?,
        }
        write_or_quiet(out.flush())?;
        return Ok(ExitCode::SUCCESS);
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut dump = BufWriter::new(file);
    source::snapshot_tee(&tcp_only, &mut dump, |_| {}).map_err(|e| e.to_string())?;
    dump.flush()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(ExitCode::SUCCESS)
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
    }
}

enum Format {
    Ss(SsLayout),
    Json,
    Netstat(netstat::NetstatOptions),
}

/// Where kept records go: ss's table takes them as they stream in, so that no more than
/// ss's own print batch is ever held; JSON and netstat output need them all first.
enum Output<'a, W: Write> {
    Ss {
        // Boxed: the table is large beside the other variants.
        writer: Box<SsWriter<'a, &'a mut W, SystemNames>>,
        /// The first write error; records after it are dropped.
        failed: Option<io::Error>,
    },
    Json {
        records: Vec<SocketRecord>,
        show: &'a ShowOptions,
        out: &'a mut W,
    },
    Netstat {
        records: Vec<SocketRecord>,
        options: &'a netstat::NetstatOptions,
        out: &'a mut W,
    },
}

impl<'a, W: Write> Output<'a, W> {
    fn new(
        format: &'a Format,
        show: &'a ShowOptions,
        names: &'a mut SystemNames,
        out: &'a mut W,
    ) -> Self {
        match format {
            Format::Ss(layout) => Output::Ss {
                writer: Box::new(SsWriter::new(show, layout, names, out)),
                failed: None,
            },
            Format::Json => Output::Json {
                records: Vec::new(),
                show,
                out,
            },
            Format::Netstat(options) => Output::Netstat {
                records: Vec::new(),
                options,
                out,
            },
        }
    }

    fn push(&mut self, record: SocketRecord) {
        match self {
            Output::Ss {
                writer,
                failed: failed @ None,
            } => *failed = writer.write_record(&record).err(),
            Output::Ss { .. } => {}
            Output::Json { records, .. } | Output::Netstat { records, .. } => records.push(record),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Output::Ss {
                failed: Some(err), ..
            } => Err(err),
            Output::Ss { writer, .. } => writer.finish().map(drop),
            Output::Json { records, show, out } => json::write_json(out, &records, show),
            Output::Netstat {
                records,
                options,
                out,
            } => netstat::write_netstat(out, &records, options, &netstat::SystemNames::new()),
        }
    }
}

/// The owners ss -p shows, from a /proc scan started before the dump and waited for when
/// the first record that can have owners comes.
struct Owners<'scope> {
    scan: Option<ScopedJoinHandle<'scope, Result<SocketOwners, ProcsError>>>,
    scanned: Option<Result<SocketOwners, ProcsError>>,
}

impl<'scope> Owners<'scope> {
    fn start<'env>(wanted: bool, scope: &'scope thread::Scope<'scope, 'env>) -> Self {
        Owners {
            scan: wanted.then(|| scope.spawn(|| SocketOwners::scan(None))),
            scanned: None,
        }
    }

    fn attach(&mut self, record: &mut SocketRecord) {
        // Sockets without an inode (TIME-WAIT, request sockets) are in no fd table.
        if record.inode == 0 {
            return;
        }
        if let Some(scan) = self.scan.take() {
            let scanned = scan
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            self.scanned = Some(scanned);
        }
        if let Some(Ok(owners)) = &self.scanned {
            record.users = owners.users_of(record.inode);
        }
    }

    /// A failed scan is an error once a record needed it.
    fn check(self) -> Result<(), ProcsError> {
        match self.scanned {
            Some(Err(err)) => Err(err),
            _ => Ok(()),
        }
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

/// A closed output (`| head`) ends the listing quietly; other write errors are errors.
fn write_or_quiet(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}
