//! Ends TCP connections in one chosen way, both sides in this process, for follow's reason
//! tests. `tcpend SCENARIO ADDR [PORT]`, ADDR an IPv4 or IPv6 address of the namespace (or, for
//! `unreachable`, one with no route). Prints `client=LOCAL server=LOCAL` (the two ends' local
//! addresses, when there are two) and exits 0 when the scenario went as planned.
//!
//! - `normal`: connect, 100 bytes each way, both close (FIN exchange).
//! - `abort`: the client sends 5000 bytes, the server answers 2000, the client closes with
//!   SO_LINGER 0 (RST); the server then reads the reset and closes.
//! - `refused`: connect to PORT where nothing listens.
//! - `unreachable`: connect to ADDR:PORT, which has no route: fails before any SYN.
//! - `hold`: connect and wait until the connection is killed from outside (`ss -K`), then close
//!   both ends.
//! - `sink PORT`: accept one connection on ADDR:PORT, read it to its end, close.
//! - `send PORT`: connect to ADDR:PORT, send 1 MiB over about a second, close (FIN), and
//!   wait for the peer's close.
//! - `overflow N`: a listener with backlog 0 that never accepts; N clients connect at once
//!   (with syncookies off and tcp_syn_retries 1 the ones not queued time out in ~3 s).

use std::{
    io::{ErrorKind, Read, Write},
    net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    time::Duration,
};

fn fail(message: String) -> ! {
    eprintln!("tcpend: {message}");
    std::process::exit(1)
}

fn linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid fd and a linger struct of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        fail(format!("SO_LINGER: {}", std::io::Error::last_os_error()));
    }
}

fn pair(addr: IpAddr) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind((addr, 0)).unwrap_or_else(|e| fail(format!("bind: {e}")));
    let target = listener
        .local_addr()
        .unwrap_or_else(|e| fail(e.to_string()));
    let client = TcpStream::connect(target).unwrap_or_else(|e| fail(format!("connect: {e}")));
    let (server, _) = listener
        .accept()
        .unwrap_or_else(|e| fail(format!("accept: {e}")));
    let local = |s: &TcpStream| s.local_addr().map_or("?".into(), |a| a.to_string());
    println!("client={} server={}", local(&client), local(&server));
    (client, server)
}

fn exchange(from: &mut TcpStream, to: &mut TcpStream, bytes: usize) {
    from.write_all(&vec![b'x'; bytes])
        .unwrap_or_else(|e| fail(format!("write: {e}")));
    let mut got = vec![0; bytes];
    to.read_exact(&mut got)
        .unwrap_or_else(|e| fail(format!("read: {e}")));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scenario, addr, rest @ ..] = args.as_slice() else {
        fail("usage: tcpend SCENARIO ADDR [PORT|N]".into())
    };
    let addr: IpAddr = addr
        .parse()
        .unwrap_or_else(|_| fail(format!("bad address {addr}")));
    let number = |default: u16| -> u16 {
        rest.first()
            .map_or(Some(default), |n| n.parse().ok())
            .unwrap_or_else(|| fail("bad number".into()))
    };
    match scenario.as_str() {
        "normal" => {
            let (mut client, mut server) = pair(addr);
            exchange(&mut client, &mut server, 100);
            exchange(&mut server, &mut client, 100);
            client.shutdown(Shutdown::Write).ok();
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).ok();
            drop(server);
            client.read_to_end(&mut rest).ok();
        }
        "abort" => {
            let (mut client, mut server) = pair(addr);
            exchange(&mut client, &mut server, 5000);
            exchange(&mut server, &mut client, 2000);
            linger_zero(&client);
            drop(client);
            let mut buf = [0u8; 16];
            match server.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                other => fail(format!("server read after the reset: {other:?}")),
            }
        }
        "refused" => match TcpStream::connect((addr, number(9))) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => println!("refused"),
            other => fail(format!("expected a refusal: {other:?}")),
        },
        "unreachable" => match TcpStream::connect((addr, number(80))) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENETUNREACH | libc::EHOSTUNREACH)
                ) =>
            {
                println!("unreachable")
            }
            other => fail(format!("expected no route: {other:?}")),
        },
        "hold" => {
            let (mut client, server) = pair(addr);
            client.set_read_timeout(Some(Duration::from_secs(20))).ok();
            let mut buf = [0u8; 16];
            match client.read(&mut buf) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => println!("killed"),
                other => fail(format!("expected ECONNABORTED: {other:?}")),
            }
            drop(server);
        }
        "sink" => {
            let listener =
                TcpListener::bind((addr, number(0))).unwrap_or_else(|e| fail(format!("bind: {e}")));
            println!("listening");
            let (mut server, _) = listener
                .accept()
                .unwrap_or_else(|e| fail(format!("accept: {e}")));
            let mut all = Vec::new();
            server
                .read_to_end(&mut all)
                .unwrap_or_else(|e| fail(format!("read: {e}")));
            println!("received={}", all.len());
        }
        "send" => {
            let mut client = TcpStream::connect((addr, number(0)))
                .unwrap_or_else(|e| fail(format!("connect: {e}")));
            let local = client.local_addr().map_or("?".into(), |a| a.to_string());
            println!("client={local}");
            for _ in 0..16 {
                client
                    .write_all(&[b'x'; 64 * 1024])
                    .unwrap_or_else(|e| fail(format!("write: {e}")));
                std::thread::sleep(Duration::from_millis(60));
            }
            client.shutdown(Shutdown::Write).ok();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).ok();
        }
        "overflow" => {
            let clients = number(4);
            let listener = TcpListener::bind((addr, 0)).unwrap_or_else(|e| fail(e.to_string()));
            // SAFETY: listen(2) on a socket this function owns; backlog 0 to fill it at once.
            let rc = unsafe { libc::listen(listener.as_raw_fd(), 0) };
            if rc != 0 {
                fail(format!("listen: {}", std::io::Error::last_os_error()));
            }
            let target: SocketAddr = listener
                .local_addr()
                .unwrap_or_else(|e| fail(e.to_string()));
            println!("listener={target}");
            let threads: Vec<_> = (0..clients)
                .map(|_| {
                    std::thread::spawn(move || {
                        TcpStream::connect_timeout(&target, Duration::from_secs(20))
                            .map(|mut s| {
                                s.set_read_timeout(Some(Duration::from_secs(1))).ok();
                                let mut buf = [0u8; 1];
                                let _ = s.read(&mut buf);
                            })
                            .map_err(|e| e.kind())
                    })
                })
                .collect();
            let mut timed_out = 0;
            for thread in threads {
                if let Ok(Err(ErrorKind::TimedOut)) = thread.join() {
                    timed_out += 1;
                }
            }
            println!("timed_out={timed_out}");
            drop(listener);
        }
        other => fail(format!("unknown scenario {other}")),
    }
}
