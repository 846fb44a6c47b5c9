//! Load generator: N TCP connections over loopback with data flowing both ways, from a
//! process (and threads) with a known name.
//!
//! `tcpstream [--connections N] [--seconds S] [--name NAME]`: listens on 127.0.0.1, an
//! ephemeral port, opens N connections to itself, and on each sends 16 KiB every 20 ms from
//! the client end and echoes 1 KiB of each back from the server end, until S seconds pass
//! (default 30) or standard input closes. Every thread takes NAME (PR_SET_NAME). Prints
//! `ready connections=N` once all are established. Loopback only, bounded in count and time.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};

fn set_name(name: &str) {
    let mut buf = [0u8; 16];
    let len = name.len().min(15);
    buf[..len].copy_from_slice(&name.as_bytes()[..len]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from buf.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr()) };
}

fn main() {
    let (mut connections, mut seconds, mut name) = (3u32, 30f64, "tcpstream".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--connections" => connections = value.parse().expect("--connections N"),
            "--seconds" => seconds = value.parse().expect("--seconds S"),
            "--name" => name = value,
            _ => panic!("unknown option {flag}"),
        }
    }
    assert!((1..=100).contains(&connections), "1 to 100 connections");
    set_name(&name);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let addr = listener.local_addr().expect("address");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    for _ in 0..connections {
        let client = TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let worker_name = name.clone();
        thread::spawn(move || {
            set_name(&worker_name);
            serve(server)
        });
        let worker_name = name.clone();
        thread::spawn(move || {
            set_name(&worker_name);
            send(client, deadline)
        });
    }
    println!("ready connections={connections}");
    let _ = std::io::stdout().flush();
    // Until stdin closes or the deadline passes.
    let stdin = thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    while Instant::now() < deadline && !stdin.is_finished() {
        thread::sleep(Duration::from_millis(50));
    }
}

fn send(mut stream: TcpStream, deadline: Instant) {
    let chunk = [0x55u8; 16 * 1024];
    let mut echo = [0u8; 1024];
    while Instant::now() < deadline {
        if stream.write_all(&chunk).is_err() || stream.read_exact(&mut echo).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn serve(mut stream: TcpStream) {
    let mut chunk = [0u8; 16 * 1024];
    while stream.read_exact(&mut chunk).is_ok() {
        if stream.write_all(&chunk[..1024]).is_err() {
            return;
        }
    }
}
