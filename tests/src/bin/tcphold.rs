//! Load generator: N established TCP connections over loopback, held open.
//!
//! `tcphold --connections N [--per-process P] [--seconds S]`: starts ceil(N/P) worker processes
//! (P at most 9000: each connection costs two descriptors, both ends live in the worker, and
//! one process may hold fewer than 20000). Worker i listens on 127.0.0.(i+1), an ephemeral
//! port, and connects to itself until it holds its share, so no destination runs out of
//! ephemeral ports. When every worker is ready it prints `ready connections=N processes=W`.
//!
//! It holds the connections until its standard input closes, S seconds pass (default 600) or a
//! signal ends it; its connections are then reset (SO_LINGER 0), leaving no TIME_WAIT behind.
//! Workers read their own standard input, a pipe from this process, and exit when
//! it closes; they also die with it (PR_SET_PDEATHSIG), so nothing outlives the holder.
//! Loopback only, bounded in count and time.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    process::{Child, ChildStdout, Command, Stdio},
    thread,
    time::Duration,
};

/// Two descriptors per connection, under the 20000 hard limit with room for the rest.
const MAX_PER_PROCESS: u64 = 9000;
/// Worker i listens on 127.0.0.(i+1): at most 254 workers.
const MAX_WORKERS: u64 = 254;

struct Options {
    connections: u64,
    per_process: u64,
    seconds: f64,
    /// Set in worker processes: their index.
    worker: Option<u64>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        connections: 1000,
        per_process: MAX_PER_PROCESS,
        seconds: 600.0,
        worker: None,
    };
    sockwatch_tests::flags::parse(std::env::args().skip(1), |flag, value| {
        match flag {
            "--connections" => options.connections = value.parse()?,
            "--per-process" => options.per_process = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--worker" => options.worker = Some(value.parse()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if !(1..=MAX_PER_PROCESS).contains(&options.per_process) {
        return Err(format!("--per-process must be 1 to {MAX_PER_PROCESS}"));
    }
    if options.connections.div_ceil(options.per_process) > MAX_WORKERS {
        return Err(format!(
            "at most {} connections",
            MAX_WORKERS * options.per_process
        ));
    }
    if !(options.seconds > 0.0 && options.seconds.is_finite()) {
        return Err("--seconds must be positive".into());
    }
    Ok(options)
}

fn main() {
    let result = parse_options().and_then(|options| match options.worker {
        Some(index) => worker(index, &options),
        None => holder(&options),
    });
    if let Err(e) = result {
        eprintln!("tcphold: {e}");
        std::process::exit(1);
    }
}

/// Exits the process after `seconds`, whatever it is doing.
fn exit_after(seconds: f64) {
    thread::spawn(move || {
        thread::sleep(Duration::from_secs_f64(seconds));
        std::process::exit(0);
    });
}

/// Blocks until standard input is closed (or sends anything: the holder never writes).
fn wait_for_stdin_close() {
    let mut byte = [0u8; 1];
    let _ = std::io::stdin().read(&mut byte);
}

/// The parent: starts the workers, reports when all hold their connections, then waits.
fn holder(options: &Options) -> Result<(), String> {
    exit_after(options.seconds);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let processes = options.connections.div_ceil(options.per_process);
    let mut workers = Workers(Vec::new());
    for index in 0..processes {
        let share = (options.connections - index * options.per_process).min(options.per_process);
        let mut child = Command::new(&exe)
            .args(["--worker", &index.to_string()])
            .args(["--connections", &share.to_string()])
            .args(["--per-process", &options.per_process.to_string()])
            .args(["--seconds", &options.seconds.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start worker {index}: {e}"))?;
        let stdout = child.stdout.take();
        workers.0.push((child, stdout));
    }
    // Workers connect in parallel; collect their ready lines in turn.
    for (index, (_, stdout)) in workers.0.iter_mut().enumerate() {
        let mut line = String::new();
        if let Some(out) = stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            return Err(format!(
                "worker {index} failed before holding its connections"
            ));
        }
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "ready connections={} processes={processes}",
        options.connections
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| format!("cannot report readiness: {e}"))?;
    wait_for_stdin_close();
    Ok(())
}

/// Worker processes, killed and reaped when dropped (also on the error paths).
struct Workers(Vec<(Child, Option<ChildStdout>)>);

impl Drop for Workers {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A worker: holds `options.connections` connections to its own listener.
fn worker(index: u64, options: &Options) -> Result<(), String> {
    // Die with the holder even if it is killed without closing our standard input.
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number; no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    exit_after(options.seconds);
    raise_descriptor_limit()?;
    let octet = u8::try_from(index + 1).map_err(|_| format!("worker index {index} too large"))?;
    let address = Ipv4Addr::new(127, 0, 0, octet);
    let listener =
        TcpListener::bind((address, 0)).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let target = listener
        .local_addr()
        .map_err(|e| format!("listener has no address: {e}"))?;
    let mut held = Vec::with_capacity(2 * options.connections as usize);
    for n in 0..options.connections {
        let client = TcpStream::connect(target)
            .map_err(|e| format!("connection {n} to {target} failed: {e}"))?;
        let (server, _) = listener
            .accept()
            .map_err(|e| format!("accept {n} on {target} failed: {e}"))?;
        for stream in [&client, &server] {
            abort_on_close(stream)?;
        }
        held.push(client);
        held.push(server);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot report readiness: {e}"))?;
    wait_for_stdin_close();
    Ok(())
}

/// SO_LINGER 0: closing resets the connection instead of leaving it in TIME_WAIT, so a holder
/// that exits leaves nothing behind in the namespace.
fn abort_on_close(stream: &TcpStream) -> Result<(), String> {
    sockwatch_tests::sockopt::linger_zero(stream).map_err(|e| format!("cannot set SO_LINGER: {e}"))
}

/// Raises the soft descriptor limit to the hard one.
fn raise_descriptor_limit() -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the one struct passed by pointer.
    let ok = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "cannot raise the descriptor limit: {}",
            std::io::Error::last_os_error()
        ))
    }
}
