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
//! - `uring`: the client's connect() and the server's accept() go through io_uring (no
//!   connect or accept syscall), then 100 bytes each way and a normal close.
//! - `overflow N`: a listener with backlog 0 that never accepts; N clients connect at once
//!   (with syncookies off and tcp_syn_retries 1 the ones not queued time out in ~3 s).

use sockwatch_tests::sockopt;
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
            let (client, server) = pair(addr);
            normal_close(client, server);
        }
        "abort" => {
            let (mut client, mut server) = pair(addr);
            exchange(&mut client, &mut server, 5000);
            exchange(&mut server, &mut client, 2000);
            sockopt::linger_zero(&client).unwrap_or_else(|e| fail(format!("SO_LINGER: {e}")));
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
        "uring" => uring_pair(addr),
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

/// A minimal io_uring: one ring of 4 entries, driven by raw syscalls (no liburing here).
struct Ring {
    fd: i32,
    sq: *mut u8,
    cq: *mut u8,
    sqes: *mut u8,
    params: [u32; 30],
}

const IORING_OP_ACCEPT: u8 = 13;
const IORING_OP_CONNECT: u8 = 16;
const IORING_ENTER_GETEVENTS: u32 = 1;
const SQE_BYTES: usize = 64;

impl Ring {
    fn new() -> Ring {
        // struct io_uring_params: 10 u32, then io_sqring_offsets and io_cqring_offsets (10 u32 each).
        let mut params = [0u32; 30];
        // SAFETY: io_uring_setup fills the params struct it is given.
        let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_mut_ptr()) } as i32;
        if fd < 0 {
            fail(format!(
                "io_uring_setup: {}",
                std::io::Error::last_os_error()
            ));
        }
        let map = |len: usize, offset: i64| {
            // SAFETY: mapping the ring's own regions at the offsets the kernel defines.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_POPULATE,
                    fd,
                    offset,
                )
            };
            if ptr == libc::MAP_FAILED {
                fail(format!("mmap: {}", std::io::Error::last_os_error()));
            }
            ptr.cast::<u8>()
        };
        let (sq_entries, cq_entries) = (params[0] as usize, params[1] as usize);
        let (sq_array, cqes) = (params[16] as usize, params[25] as usize);
        Ring {
            fd,
            sq: map(sq_array + sq_entries * 4, 0),
            cq: map(cqes + cq_entries * 16, 0x800_0000),
            sqes: map(sq_entries * SQE_BYTES, 0x1000_0000),
            params,
        }
    }

    fn word(base: *mut u8, offset: u32) -> &'static std::sync::atomic::AtomicU32 {
        // SAFETY: the kernel's ring words are aligned u32 inside the mapped region.
        unsafe {
            &*base
                .add(offset as usize)
                .cast::<std::sync::atomic::AtomicU32>()
        }
    }

    /// Queues one operation: opcode, fd, addr, off (addrlen for connect), user data.
    fn push(&mut self, opcode: u8, fd: i32, addr: u64, off: u64, user_data: u64) {
        use std::sync::atomic::Ordering;
        let tail = Ring::word(self.sq, self.params[11]);
        let mask = Ring::word(self.sq, self.params[12]).load(Ordering::Relaxed);
        let index = tail.load(Ordering::Relaxed) & mask;
        let mut sqe = [0u8; SQE_BYTES];
        sqe[0] = opcode;
        sqe[4..8].copy_from_slice(&fd.to_ne_bytes());
        sqe[8..16].copy_from_slice(&off.to_ne_bytes());
        sqe[16..24].copy_from_slice(&addr.to_ne_bytes());
        sqe[32..40].copy_from_slice(&user_data.to_ne_bytes());
        // SAFETY: slot `index` of the mapped SQE array, and of the SQ index array.
        unsafe {
            std::ptr::copy_nonoverlapping(
                sqe.as_ptr(),
                self.sqes.add(index as usize * SQE_BYTES),
                SQE_BYTES,
            );
            *self
                .sq
                .add(self.params[16] as usize + index as usize * 4)
                .cast::<u32>() = index;
        }
        tail.fetch_add(1, Ordering::Release);
    }

    /// Submits what is queued and waits for `count` completions: (user data, result) each.
    fn submit_and_wait(&mut self, submit: u32, count: u32) -> Vec<(u64, i32)> {
        use std::sync::atomic::Ordering;
        // SAFETY: io_uring_enter on our ring, no signal mask.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                self.fd,
                submit,
                count,
                IORING_ENTER_GETEVENTS,
                std::ptr::null::<u8>(),
                0,
            )
        };
        if rc < 0 {
            fail(format!(
                "io_uring_enter: {}",
                std::io::Error::last_os_error()
            ));
        }
        let head = Ring::word(self.cq, self.params[20]);
        let tail = Ring::word(self.cq, self.params[21]);
        let mask = Ring::word(self.cq, self.params[22]).load(Ordering::Relaxed);
        let mut done = Vec::new();
        while head.load(Ordering::Relaxed) != tail.load(Ordering::Acquire) {
            let at = (head.load(Ordering::Relaxed) & mask) as usize;
            // SAFETY: a completion entry (u64 user data, i32 result, u32 flags) of the ring.
            let (user_data, res) = unsafe {
                let cqe = self.cq.add(self.params[25] as usize + at * 16);
                (*cqe.cast::<u64>(), *cqe.add(8).cast::<i32>())
            };
            done.push((user_data, res));
            head.fetch_add(1, Ordering::Release);
        }
        done
    }
}

/// A connection whose connect and accept both went through io_uring.
fn uring_pair(addr: IpAddr) {
    use std::os::fd::FromRawFd;
    let listener = TcpListener::bind((addr, 0)).unwrap_or_else(|e| fail(format!("bind: {e}")));
    let target = listener
        .local_addr()
        .unwrap_or_else(|e| fail(e.to_string()));
    let (family, storage, len) = sockaddr(target);
    // SAFETY: a new TCP socket; its fd is owned by the TcpStream made from it below.
    let client_fd = unsafe { libc::socket(family, libc::SOCK_STREAM, 0) };
    if client_fd < 0 {
        fail(format!("socket: {}", std::io::Error::last_os_error()));
    }
    let mut ring = Ring::new();
    ring.push(IORING_OP_ACCEPT, listener.as_raw_fd(), 0, 0, 1);
    ring.push(
        IORING_OP_CONNECT,
        client_fd,
        std::ptr::addr_of!(storage) as u64,
        len as u64,
        2,
    );
    let mut done = ring.submit_and_wait(2, 2);
    while done.len() < 2 {
        done.extend(ring.submit_and_wait(0, 1));
    }
    let result = |tag: u64| done.iter().find(|(t, _)| *t == tag).map_or(-1, |(_, r)| *r);
    let (server_fd, connected) = (result(1), result(2));
    if server_fd < 0 || connected != 0 {
        fail(format!("io_uring accept {server_fd}, connect {connected}"));
    }
    // SAFETY: both fds are open sockets this function owns from here on.
    let (client, server) = unsafe {
        (
            TcpStream::from_raw_fd(client_fd),
            TcpStream::from_raw_fd(server_fd),
        )
    };
    let local = |s: &TcpStream| s.local_addr().map_or("?".into(), |a| a.to_string());
    println!("client={} server={}", local(&client), local(&server));
    normal_close(client, server);
    // SAFETY: the ring's fd, closed once.
    unsafe { libc::close(ring.fd) };
}

/// 100 bytes each way, then the FIN exchange: the client shuts down first, the server
/// closes once it has read all, the client reads to the end.
fn normal_close(mut client: TcpStream, mut server: TcpStream) {
    exchange(&mut client, &mut server, 100);
    exchange(&mut server, &mut client, 100);
    client.shutdown(Shutdown::Write).ok();
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).ok();
    drop(server);
    client.read_to_end(&mut rest).ok();
}

/// `addr` as a sockaddr_in or sockaddr_in6 in a sockaddr_storage, with its family and length.
fn sockaddr(addr: SocketAddr) -> (i32, libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: a sockaddr_in fits in a sockaddr_storage.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(storage).cast(), sin) };
            (
                libc::AF_INET,
                storage,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: a sockaddr_in6 fits in a sockaddr_storage.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(storage).cast(), sin6) };
            (
                libc::AF_INET6,
                storage,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}
