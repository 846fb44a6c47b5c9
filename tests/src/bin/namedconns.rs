//! Load generator for label-cardinality tests: N processes, each with its own name, each
//! making one TCP connection over loopback.
//!
//! `namedconns N PREFIX`: listens on 127.0.0.1 (ephemeral port), forks N children one after
//! another; child i names itself PREFIX<i> (prctl PR_SET_NAME), connects, sends one byte and
//! exits. The parent accepts, reads the byte and reaps the child. Prints `connections=N`.

use std::{
    ffi::CString,
    io::{Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
};

fn child(name: &str, port: u16) -> i32 {
    let Ok(name) = CString::new(name) else {
        return 2;
    };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes (longer is cut).
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    match TcpStream::connect((Ipv4Addr::LOCALHOST, port)).and_then(|mut s| s.write_all(b"x")) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(count), Some(prefix)) =
        (args.get(1).and_then(|n| n.parse::<u32>().ok()), args.get(2))
    else {
        eprintln!("usage: namedconns N PREFIX");
        std::process::exit(2);
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen on loopback");
    let port = listener.local_addr().expect("bound").port();
    for i in 0..count {
        // SAFETY: the child only names itself, connects and calls _exit.
        match unsafe { libc::fork() } {
            0 => {
                let code = child(&format!("{prefix}{i}"), port);
                // SAFETY: ends the child without running the parent's exit handlers.
                unsafe { libc::_exit(code) }
            }
            pid if pid < 0 => {
                eprintln!(
                    "namedconns: fork failed: {}",
                    std::io::Error::last_os_error()
                );
                std::process::exit(1);
            }
            pid => {
                let (mut stream, _) = listener.accept().expect("accept");
                let mut byte = [0u8; 1];
                let _ = stream.read(&mut byte);
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
                    eprintln!("namedconns: child {i} failed");
                    std::process::exit(1);
                }
            }
        }
    }
    println!("connections={count}");
}
