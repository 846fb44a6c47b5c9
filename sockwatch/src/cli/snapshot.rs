//! `sockwatch snapshot`: list the configured selection through the filter to a renderer.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    process::ExitCode,
    thread,
};

use sockwatch::{
    model::{Netid, SocketRecord},
    procs::OwnersScan,
    render::{
        json, netstat,
        ss::{SsWriter, SystemNames},
        summary, ShowOptions,
    },
    select::Selection,
    source::{self, sockstat::SockStats, Query},
};

use super::config::snapshot::{Format, SnapshotConfig, Source, Summary};

pub fn run(config: SnapshotConfig) -> Result<ExitCode, String> {
    let SnapshotConfig {
        show,
        filter,
        selection,
        query,
        summary: summary_mode,
        source,
        format,
    } = config;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if summary_mode != Summary::Off {
        let stats = SockStats::read().map_err(|e| e.to_string())?;
        write_or_quiet(summary::render_summary(&stats, &mut out).and_then(|_| out.flush()))?;
        if summary_mode == Summary::Only {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let dump_file = match source {
        Source::DumpFile(path) => {
            let file =
                File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            Some((path, file))
        }
        Source::WriteDump(path) => return write_diag_dump(&selection, &query, &path, &mut out),
        Source::Kernel => None,
    };
    // ss shows a dump's sockets whatever the selected states: only the filter applies.
    let from_dump = dump_file.is_some();
    let keep = |record: &SocketRecord| {
        (from_dump || selection.wants_state(record.state)) && filter.matches(record)
    };
    let mut names = SystemNames::new();
    thread::scope(|scope| {
        // ss -p's /proc scan needs nothing from the dump: both run at once.
        let mut owners = OwnersScan::start(show.processes, scope);
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

/// A closed output (`| head`) ends the listing quietly; other write errors are errors.
fn write_or_quiet(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}
