//! `sockwatch snapshot`: list the configured selection through the filter to a renderer.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    mem::ManuallyDrop,
    os::fd::FromRawFd,
    path::Path,
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
    thread,
};

use sockwatch::{
    escape::Escaped,
    filter::Filter,
    model::{Netid, SocketRecord},
    procs::OwnersScan,
    render::{
        json, netstat,
        ss::{SsWriter, SystemNames},
        summary, ShowOptions,
    },
    select::Selection,
    source::{self, sockstat::SockStats, DestroyEvents, Destroyed, DgramTable, Query, Wait},
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
        kill,
        events,
        threads,
    } = config;
    if events {
        return follow_destroyed(&show, &filter, &selection, &query, &format, kill);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, DirectStdout::new(stdout.lock()));
    if summary_mode != Summary::Off {
        let stats = SockStats::read().map_err(|e| e.to_string())?;
        write_or_quiet(summary::render_summary(&stats, &mut out).and_then(|_| out.flush()))?;
        if summary_mode == Summary::Only {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let dump_file = match source {
        Source::DumpFile(path) => {
            let file = File::open(&path)
                .map_err(|e| format!("cannot open {}: {e}", Escaped::path(&path)))?;
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
    // -K: sockets are closed from a sock_diag socket of their own while the dump runs; a
    // dump file's sockets are only shown.
    let mut killer = match kill && !from_dump {
        true => Some(source::Destroyer::open().map_err(|e| e.to_string())?),
        false => None,
    };
    let mut kill_failed = None;
    // Protocols whose SOCK_DESTROY the kernel refused (EPERM without CAP_NET_ADMIN): as ss,
    // the rest of their dump is dropped.
    let mut refused: Vec<Netid> = Vec::new();
    let mut names = SystemNames::new();
    let (dccp_refusal, closed_early) = thread::scope(|scope| {
        // ss -p's /proc scan needs nothing from the dump: both run at once.
        let mut owners = OwnersScan::start(show.processes, threads, scope);
        let mut output = Output::new(&format, &show, &mut names, &mut out);
        let accept = |mut record: SocketRecord| {
            // The whole filter has judged the socket before it is closed: nothing it does
            // not select is ever killed.
            if kill_failed.is_some() || refused.contains(&record.netid) || !keep(&record) {
                return;
            }
            if let Some(killer) = killer.as_mut() {
                match killer.destroy(&record) {
                    Ok(Destroyed::Closed | Destroyed::NotInet) => {}
                    // Not closable, or gone already: ss does not show it.
                    Ok(Destroyed::NotClosed) => return,
                    Err(err) => {
                        let Some(errno) = err.kernel_errno() else {
                            kill_failed = Some(err);
                            return;
                        };
                        // ss 6.1 says so, drops the rest of the protocol's dump and exits 0;
                        // for UDP it then lists /proc/net/udp{,6}, nothing closed.
                        eprintln!("SOCK_DESTROY answers: {}", c_strerror(errno));
                        refused.push(record.netid);
                        if record.netid == Netid::Udp {
                            let mut listed = Vec::new();
                            let read = source::read_proc_dgram(
                                DgramTable::Udp,
                                query.ip,
                                query.states,
                                &mut |record| listed.push(record),
                            );
                            match read {
                                Ok(()) => {
                                    for mut record in listed.into_iter().filter(|r| keep(r)) {
                                        owners.attach(&mut record);
                                        output.push(&record);
                                    }
                                }
                                Err(err) => kill_failed = Some(err),
                            }
                        }
                        return;
                    }
                }
            }
            owners.attach(&mut record);
            output.push(&record);
        };
        let refusal = match dump_file {
            Some((path, file)) => {
                source::snapshot_from_dump(file, accept)
                    .map_err(|e| match e {
                        // Name the file: it may come from a TCPDIAG_FILE the user forgot was set.
                        source::SourceError::Dump(e) => {
                            format!("dump file {}: {e}", Escaped::path(&path))
                        }
                        e => e.to_string(),
                    })
                    .map(|()| None)
            }
            None => source::snapshot(&query, accept)
                .map(|coverage| coverage.dccp_compat_refusal)
                .map_err(|e| e.to_string()),
        }?;
        owners.check().map_err(|e| e.to_string())?;
        let finished = output.finish();
        let closed = is_closed(&finished);
        write_or_quiet(finished)?;
        Ok::<_, String>((refusal, closed))
    })?;
    if let Some(err) = kill_failed {
        write_or_quiet(out.flush())?;
        return Err(err.to_string());
    }
    let flushed = out.flush();
    let closed = closed_early || is_closed(&flushed);
    write_or_quiet(flushed)?;
    // As ss, which goes on (exit status 0); nothing more once the reader went away.
    if let (Some(errno), false) = (dccp_refusal, closed) {
        eprintln!("RTNETLINK answers: {}", c_strerror(errno));
    }
    Ok(ExitCode::SUCCESS)
}

/// Standard output, written straight to its descriptor (sockwatch buffers its output
/// itself: Rust's own line buffering would split each 64 KiB write at its last newline,
/// two system calls instead of one), and widening a pipe it writes to once the listing is
/// over [`WIDEN_AFTER`]: a listing of 100,000 sockets is over 6 MB, and through a pipe's
/// default 64 KiB it waits for its reader at every write, hand-offs that lengthen the
/// listing (measured: 2 ms of 80 at 100,000 sockets). A smaller listing leaves the pipe
/// alone, so `| head` closes it under sockwatch's writes as before.
struct DirectStdout<'a> {
    /// Held so that nothing else writes to standard output meanwhile.
    _lock: io::StdoutLock<'a>,
    file: ManuallyDrop<File>,
    written: usize,
}

/// Output written before the pipe is widened, and what it is widened to: the most an
/// unprivileged process may ask for (/proc/sys/fs/pipe-max-size's default).
const WIDEN_AFTER: usize = 1 << 20;
const WIDE_PIPE_LEN: libc::c_int = 1 << 20;

impl<'a> DirectStdout<'a> {
    fn new(mut lock: io::StdoutLock<'a>) -> Self {
        // Nothing is buffered yet; flushed anyway, so that nothing could come out of order.
        let _ = lock.flush();
        // SAFETY: descriptor 1 outlives the process's use of it; ManuallyDrop never closes it.
        let file = ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDOUT_FILENO) });
        DirectStdout {
            _lock: lock,
            file,
            written: 0,
        }
    }

    /// Only grows a pipe; a refusal (the user's pipe quota) is fine.
    fn widen() {
        // SAFETY: fstat writes into the local passed by pointer; all zeroes is a valid stat.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat and fcntl take the descriptor and plain values only.
        unsafe {
            if libc::fstat(libc::STDOUT_FILENO, &mut stat) == 0
                && stat.st_mode & libc::S_IFMT == libc::S_IFIFO
                && libc::fcntl(libc::STDOUT_FILENO, libc::F_GETPIPE_SZ) < WIDE_PIPE_LEN
            {
                libc::fcntl(libc::STDOUT_FILENO, libc::F_SETPIPE_SZ, WIDE_PIPE_LEN);
            }
        }
    }
}

impl Write for DirectStdout<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match self.file.write(buf) {
            // As Rust's standard output: a closed descriptor swallows what is written.
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => buf.len(),
            other => other?,
        };
        let before = self.written;
        self.written += written;
        if before < WIDEN_AFTER && self.written >= WIDEN_AFTER {
            Self::widen();
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The C library's text for `errno` (what perror prints), which ss's messages carry.
fn c_strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.strip_suffix(&format!(" (os error {errno})")) {
        Some(detail) => detail.to_owned(),
        None => text,
    }
}

/// Set by SIGINT, SIGTERM or SIGHUP during -E.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Catches the signals that end -E, without SA_RESTART: a wait they interrupt returns.
fn catch_stop_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic; the struct is fully initialised.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Whether standard output is a pipe or socket whose reader has gone.
fn output_closed() -> bool {
    let mut poll = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready > 0 && poll.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// ss -E: every TCP or UDP socket the kernel destroys from now on that the filter selects,
/// printed as it goes (the header with the first), until a signal or a closed output.
fn follow_destroyed(
    show: &ShowOptions,
    filter: &Filter,
    selection: &Selection,
    query: &Query,
    format: &Format,
    kill: bool,
) -> Result<ExitCode, String> {
    let Format::Ss(layout) = format else {
        return Err("-E (--events) prints ss's table: --json and --netstat do not apply".into());
    };
    catch_stop_signals();
    let tables = &selection.tables;
    let subscribed = DestroyEvents::subscribe(
        tables.contains(&Netid::Tcp),
        tables.contains(&Netid::Udp),
        query.ip,
    )
    .map_err(|e| e.to_string())?;
    let Some(mut events) = subscribed else {
        return Err("-E (--events) follows TCP and UDP sockets only".into());
    };
    let mut killer = match kill {
        true => Some(source::Destroyer::open().map_err(|e| e.to_string())?),
        false => None,
    };
    let stdout = io::stdout();
    let mut names = SystemNames::new();
    let mut writer = SsWriter::new(show, layout, &mut names, BufWriter::new(stdout.lock()));
    let mut destroyed = Vec::new();
    while !STOP.load(Ordering::Relaxed) {
        if events
            .wait(&mut |record| destroyed.push(record))
            .map_err(|e| e.to_string())?
            == Wait::Idle
        {
            if output_closed() {
                break;
            }
            continue;
        }
        for record in destroyed.drain(..) {
            // As ss: the filter, not the states (a destroyed socket is CLOSE by now).
            if !filter.matches(&record) {
                continue;
            }
            if let Some(killer) = killer.as_mut() {
                match killer.destroy(&record) {
                    Ok(Destroyed::NotClosed) => continue,
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            let written = writer
                .write_record(&record)
                .and_then(|_| writer.render_now());
            match written {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
                other => other.map_err(|e| format!("writing output: {e}"))?,
            }
        }
    }
    if events.lost_overflows > 0 {
        eprintln!(
            "sockwatch: {} announcements of destroyed sockets were lost (the kernel's queue overflowed)",
            events.lost_overflows
        );
    }
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
        // ss says so and exits 0, writing nothing.
        eprintln!("sockwatch: tcpdiag dump requested and no tcp in filter.");
        return Ok(ExitCode::SUCCESS);
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
    let file = sockwatch::owner_only::create(path)
        .map_err(|e| format!("cannot create {}: {e}", Escaped::path(path)))?;
    let mut dump = BufWriter::new(file);
    source::snapshot_tee(&tcp_only, &mut dump, |_| {}).map_err(|e| e.to_string())?;
    dump.flush()
        .map_err(|e| format!("cannot write {}: {e}", Escaped::path(path)))?;
    Ok(ExitCode::SUCCESS)
}

/// Where kept records go: ss's table and the JSON document take them as they stream in,
/// so that no more than ss's own print batch is ever held; netstat output needs them all.
enum Output<'a, W: Write> {
    Ss {
        // Boxed: the table is large beside the other variants.
        writer: Box<SsWriter<'a, &'a mut W, SystemNames>>,
        /// The first write error; records after it are dropped.
        failed: Option<io::Error>,
    },
    Json {
        writer: json::JsonWriter<'a, &'a mut W>,
        /// The first write error; records after it are dropped.
        failed: Option<io::Error>,
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
                writer: json::JsonWriter::new(out, show),
                failed: None,
            },
            Format::Netstat(options) => Output::Netstat {
                records: Vec::new(),
                options,
                out,
            },
        }
    }

    /// Takes the record by reference: it is large, and the streaming formats only read it.
    fn push(&mut self, record: &SocketRecord) {
        match self {
            Output::Ss {
                writer,
                failed: failed @ None,
            } => *failed = writer.write_record(record).err(),
            Output::Json {
                writer,
                failed: failed @ None,
            } => *failed = writer.write_record(record).err(),
            Output::Ss { .. } | Output::Json { .. } => {}
            Output::Netstat { records, .. } => records.push(record.clone()),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Output::Ss {
                failed: Some(err), ..
            } => Err(err),
            Output::Ss { writer, .. } => writer.finish().map(drop),
            Output::Json {
                failed: Some(err), ..
            } => Err(err),
            Output::Json { writer, .. } => writer.finish().map(drop),
            Output::Netstat {
                records,
                options,
                out,
            } => netstat::write_netstat(out, &records, options, &netstat::SystemNames::new()),
        }
    }
}

/// Whether a write failed because the reader went away (`| head`).
fn is_closed(result: &io::Result<()>) -> bool {
    matches!(result, Err(e) if e.kind() == io::ErrorKind::BrokenPipe)
}

/// A closed output (`| head`) ends the listing quietly; other write errors are errors.
fn write_or_quiet(result: io::Result<()>) -> Result<(), String> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}
