//! Load generator: short TCP connections over loopback, as fast as they go.
//!
//! `tcpchurn [--connections N] [--threads T] [--seconds S] [--port P] [--reset-every K]
//! [--comm-hex HEX]`: listens on 127.0.0.1:P (an ephemeral port when 0), then T client threads
//! each connect, send one byte, read the echoed byte and close, until N connections in all or S
//! seconds. Accepting threads echo each byte back. With K > 0 every K-th connection is closed by
//! a reset (SO_LINGER 0) instead of a FIN. `--comm-hex` names every thread with those bytes
//! (prctl PR_SET_NAME; a hostile process's name for the escaping tests). With `--connections
//! 0` it only listens, for S seconds (a named socket for the listing tests). Prints
//! `connections=N seconds=S rate=R` at the end. Loopback only, bounded in count and time.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

struct Options {
    connections: u64,
    threads: u64,
    seconds: f64,
    port: u16,
    reset_every: u64,
    /// The task name every thread takes, when given.
    comm: Option<Vec<u8>>,
}

/// Names the calling thread (at most 15 bytes are kept by the kernel).
fn set_comm(name: &[u8]) {
    let mut buf = [0u8; 16];
    let len = name.len().min(15);
    buf[..len].copy_from_slice(&name[..len]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from buf.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr()) };
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        connections: 1000,
        threads: 1,
        seconds: 60.0,
        port: 0,
        comm: None,
        reset_every: 0,
    };
    sockwatch_tests::flags::parse(std::env::args().skip(1), |flag, value| {
        match flag {
            "--connections" => options.connections = value.parse()?,
            "--threads" => options.threads = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--port" => options.port = value.parse()?,
            "--comm-hex" => options.comm = Some(value.hex()?),
            "--reset-every" => options.reset_every = value.parse()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if options.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    Ok(options)
}

fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut byte = [0u8; 1];
        if stream.read_exact(&mut byte).is_ok() {
            let _ = stream.write_all(&byte);
        }
        // Wait for the client's close, so the client closes first, as clients usually do.
        let _ = stream.read(&mut byte);
    }
}

fn one_connection(addr: SocketAddr, reset: bool) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"x")?;
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte)?;
    if reset {
        // close() then sends RST and skips TIME-WAIT.
        sockwatch_tests::sockopt::linger_zero(&stream)?;
    }
    Ok(())
}

fn main() {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tcpchurn: {e}");
            std::process::exit(2);
        }
    };
    // Threads take their creator's name: every socket is this name's.
    if let Some(comm) = &options.comm {
        set_comm(comm);
    }
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tcpchurn: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    // As many accepting threads as clients, so the server never is the bottleneck.
    for _ in 0..options.threads {
        match listener.try_clone() {
            Ok(l) => {
                thread::spawn(move || serve(l));
            }
            Err(e) => {
                eprintln!("tcpchurn: cannot share the listener: {e}");
                std::process::exit(1);
            }
        }
    }

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(options.seconds);
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..options.threads)
        .map(|_| {
            let (issued, done, failed) = (issued.clone(), done.clone(), failed.clone());
            let (limit, reset_every) = (options.connections, options.reset_every);
            thread::spawn(move || loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    return;
                }
                let reset = reset_every > 0 && n % reset_every == 0;
                match one_connection(addr, reset) {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("tcpchurn: connection failed: {e}");
                        failed.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    if options.connections == 0 {
        thread::sleep(deadline.saturating_duration_since(Instant::now()));
    }
    let seconds = started.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    println!(
        "connections={done} seconds={seconds:.3} rate={:.0}",
        done as f64 / seconds
    );
    if failed.load(Ordering::Relaxed) {
        std::process::exit(1);
    }
}
