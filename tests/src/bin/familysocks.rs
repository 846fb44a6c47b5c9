//! Sockets of the families ss reads through their own diag modules, for the kernels matrix
//! (xtask/src/kernels/guest-init.sh). Two modes:
//!
//! - `familysocks hold`: makes, in this process, a vsock listener with a connection to it over
//!   the loopback transport (CID 1), the same with seqpacket sockets (Linux 5.14 on; ss 6.1
//!   names them `???`), a TIPC RDM socket bound to a service range, a TIPC stream
//!   listener and a connection to it by service name, and two AF_XDP sockets, one with a UMEM
//!   and rings bound to `lo` (copy mode), one bare. Prints `FAMILY: ok WHAT` or
//!   `FAMILY: failed WHAT: ERROR` for each, then `ready`, then holds them until killed.
//! - `familysocks capture`: sends ss's vsock, tipc and xdp sock_diag dump requests and prints
//!   every reply datagram as `FAMILY HEX` (the bytes the unit tests of sockwatch's decoders
//!   read; sockwatch/src/source/testdata/capture.sh collects them).

use std::io::{self, Write};

const AF_TIPC: u16 = 30;
const AF_VSOCK: u16 = 40;
const AF_XDP: u16 = 44;

fn check(what: &str, ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        let err = io::Error::last_os_error();
        Err(io::Error::new(err.kind(), format!("{what}: {err}")))
    } else {
        Ok(ret)
    }
}

fn socket(family: u16, kind: libc::c_int) -> io::Result<libc::c_int> {
    // SAFETY: plain syscall.
    check("socket", unsafe {
        libc::socket(libc::c_int::from(family), kind, 0)
    })
}

/// Binds or connects `fd` to the address in `bytes` (a sockaddr of its family).
fn bind(fd: libc::c_int, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: `bytes` holds a whole sockaddr of the given length.
    check("bind", unsafe {
        libc::bind(fd, bytes.as_ptr().cast(), bytes.len() as u32)
    })
    .map(drop)
}

fn connect(fd: libc::c_int, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: as bind.
    check("connect", unsafe {
        libc::connect(fd, bytes.as_ptr().cast(), bytes.len() as u32)
    })
    .map(drop)
}

fn listen(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall.
    check("listen", unsafe { libc::listen(fd, 8) }).map(drop)
}

fn accept(fd: libc::c_int) -> io::Result<libc::c_int> {
    // SAFETY: no address wanted back.
    check("accept", unsafe {
        libc::accept(fd, std::ptr::null_mut(), std::ptr::null_mut())
    })
}

fn setsockopt(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
) -> io::Result<()> {
    // SAFETY: `value` is the option's whole value.
    check("setsockopt", unsafe {
        libc::setsockopt(fd, level, name, value.as_ptr().cast(), value.len() as u32)
    })
    .map(drop)
}

/// `struct sockaddr_vm`: family, reserved, port, cid, zero.
fn sockaddr_vm(cid: u32, port: u32) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&AF_VSOCK.to_ne_bytes());
    bytes.extend_from_slice(&0u16.to_ne_bytes());
    bytes.extend_from_slice(&port.to_ne_bytes());
    bytes.extend_from_slice(&cid.to_ne_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes
}

/// `struct sockaddr_tipc`: family, addrtype, scope, then three u32s of the address union.
fn sockaddr_tipc(addrtype: u8, words: [u32; 3]) -> Vec<u8> {
    const TIPC_CLUSTER_SCOPE: u8 = 2;
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&AF_TIPC.to_ne_bytes());
    bytes.extend_from_slice(&[addrtype, TIPC_CLUSTER_SCOPE]);
    for word in words {
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    bytes
}

/// Makes sockets of one family; returns the descriptors to hold.
type Maker = fn() -> io::Result<Vec<libc::c_int>>;

/// A vsock listener of type `kind` on `port` and a connection to it over the loopback
/// transport: listener, client, accepted server.
fn vsock_connection(kind: libc::c_int, port: u32) -> io::Result<Vec<libc::c_int>> {
    const VMADDR_CID_ANY: u32 = u32::MAX;
    const VMADDR_CID_LOCAL: u32 = 1;
    let listener = socket(AF_VSOCK, kind)?;
    bind(listener, &sockaddr_vm(VMADDR_CID_ANY, port))?;
    listen(listener)?;
    let client = socket(AF_VSOCK, kind)?;
    connect(client, &sockaddr_vm(VMADDR_CID_LOCAL, port))?;
    let server = accept(listener)?;
    Ok(vec![listener, client, server])
}

fn vsock() -> io::Result<Vec<libc::c_int>> {
    vsock_connection(libc::SOCK_STREAM, 1234)
}

/// Seqpacket (Linux 5.14 on), which ss 6.1 lists with the Netid `???`.
fn vsock_seqpacket() -> io::Result<Vec<libc::c_int>> {
    vsock_connection(libc::SOCK_SEQPACKET, 1235)
}

fn tipc() -> io::Result<Vec<libc::c_int>> {
    const TIPC_SERVICE_RANGE: u8 = 1;
    const TIPC_SERVICE_ADDR: u8 = 2;
    let rdm = socket(AF_TIPC, libc::SOCK_RDM)?;
    bind(rdm, &sockaddr_tipc(TIPC_SERVICE_RANGE, [18888, 17, 17]))?;
    let listener = socket(AF_TIPC, libc::SOCK_STREAM)?;
    bind(listener, &sockaddr_tipc(TIPC_SERVICE_RANGE, [18889, 1, 1]))?;
    listen(listener)?;
    // A TIPC connection is made when the listener accepts it: connect without waiting,
    // accept, then wait for the client's end.
    let client = socket(AF_TIPC, libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
    let service = sockaddr_tipc(TIPC_SERVICE_ADDR, [18889, 1, 0]);
    // SAFETY: a whole sockaddr_tipc.
    if unsafe { libc::connect(client, service.as_ptr().cast(), service.len() as u32) } < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(io::Error::new(err.kind(), format!("connect: {err}")));
        }
    }
    let server = accept(listener)?;
    let mut ready = libc::pollfd {
        fd: client,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    if check("poll", unsafe { libc::poll(&mut ready, 1, 10_000) })? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connect: not accepted in 10 s",
        ));
    }
    Ok(vec![rdm, listener, client, server])
}

/// An AF_XDP socket with a UMEM, fill and completion rings and an RX ring, bound to `lo`'s
/// queue 0 in copy mode.
fn xdp_bound() -> io::Result<Vec<libc::c_int>> {
    const SOL_XDP: libc::c_int = 283;
    const XDP_RX_RING: libc::c_int = 2;
    const XDP_UMEM_REG: libc::c_int = 4;
    const XDP_UMEM_FILL_RING: libc::c_int = 5;
    const XDP_UMEM_COMPLETION_RING: libc::c_int = 6;
    const XDP_COPY: u16 = 1 << 1;
    const FRAMES: usize = 16;
    const FRAME: usize = 2048;
    let fd = socket(AF_XDP, libc::SOCK_RAW)?;
    // SAFETY: an anonymous private mapping; never unmapped (the process holds it to the end).
    let area = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            FRAMES * FRAME,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if area == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // struct xdp_umem_reg as 5.10 knows it: addr, len, chunk_size, headroom, flags.
    let mut umem = Vec::new();
    umem.extend_from_slice(&(area as u64).to_ne_bytes());
    umem.extend_from_slice(&((FRAMES * FRAME) as u64).to_ne_bytes());
    umem.extend_from_slice(&(FRAME as u32).to_ne_bytes());
    umem.extend_from_slice(&0u32.to_ne_bytes());
    umem.extend_from_slice(&0u32.to_ne_bytes());
    umem.extend_from_slice(&0u32.to_ne_bytes());
    setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &umem)?;
    let entries = 64i32.to_ne_bytes();
    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &entries)?;
    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &entries)?;
    setsockopt(fd, SOL_XDP, XDP_RX_RING, &entries)?;
    // SAFETY: a NUL-terminated name.
    let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    // struct sockaddr_xdp: family, flags, ifindex, queue_id, shared_umem_fd.
    let mut addr = Vec::new();
    addr.extend_from_slice(&AF_XDP.to_ne_bytes());
    addr.extend_from_slice(&XDP_COPY.to_ne_bytes());
    addr.extend_from_slice(&lo.to_ne_bytes());
    addr.extend_from_slice(&0u32.to_ne_bytes());
    addr.extend_from_slice(&0u32.to_ne_bytes());
    bind(fd, &addr)?;
    Ok(vec![fd])
}

fn xdp_bare() -> io::Result<Vec<libc::c_int>> {
    Ok(vec![socket(AF_XDP, libc::SOCK_RAW)?])
}

fn hold() -> ! {
    let makers: [(&str, &str, Maker); 5] = [
        (
            "vsock",
            "listener on *:1234 and a connection to 1:1234",
            vsock,
        ),
        (
            "vsock",
            "seqpacket listener on *:1235 and a connection to 1:1235",
            vsock_seqpacket,
        ),
        (
            "tipc",
            "rdm on {18888,17}, stream listener on {18889,1} and a connection",
            tipc,
        ),
        (
            "xdp",
            "socket with a UMEM and rings bound to lo queue 0",
            xdp_bound,
        ),
        ("xdp", "bare socket", xdp_bare),
    ];
    let mut held = Vec::new();
    let mut out = io::stdout().lock();
    for (family, what, make) in makers {
        match make() {
            Ok(fds) => {
                held.extend(fds);
                let _ = writeln!(out, "{family}: ok {what}");
            }
            Err(err) => {
                let _ = writeln!(out, "{family}: failed {what}: {err}");
            }
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    loop {
        // SAFETY: waits for a signal.
        unsafe { libc::pause() };
    }
}

/// One sock_diag dump request: nlmsghdr (SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP),
/// then `body`.
fn request(seq: u32, body: &[u8]) -> Vec<u8> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const FLAGS: u16 = 0x1 | 0x300;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    bytes.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    bytes.extend_from_slice(&FLAGS.to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(body);
    bytes
}

fn capture() -> io::Result<()> {
    const NETLINK_SOCK_DIAG: libc::c_int = 4;
    const ALL_STATES: u32 = u32::MAX;
    let words = |words: &[u32]| -> Vec<u8> { words.iter().flat_map(|w| w.to_ne_bytes()).collect() };
    // As ss 6.1 asks: vsock_diag_req (states, ino, show, cookie), tipc_sock_diag_req
    // (states), xdp_diag_req (ino, show: everything, cookie).
    let mut vsock = vec![AF_VSOCK as u8, 0, 0, 0];
    vsock.extend(words(&[ALL_STATES, 0, 0, u32::MAX, u32::MAX]));
    let mut tipc = vec![AF_TIPC as u8, 0, 0, 0];
    tipc.extend(words(&[ALL_STATES]));
    let mut xdp = vec![AF_XDP as u8, 0, 0, 0];
    xdp.extend(words(&[0, 0x1f, u32::MAX, u32::MAX]));
    let mut out = io::stdout().lock();
    for (seq, (family, body)) in [("vsock", vsock), ("tipc", tipc), ("xdp", xdp)]
        .into_iter()
        .enumerate()
    {
        // SAFETY: plain syscall.
        let fd = check("socket", unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_SOCK_DIAG,
            )
        })?;
        let message = request(seq as u32 + 1, &body);
        // SAFETY: sends the whole message to the kernel (the default destination).
        check("send", unsafe {
            libc::send(fd, message.as_ptr().cast(), message.len(), 0) as libc::c_int
        })?;
        let mut buf = vec![0u8; 32 << 10];
        loop {
            // SAFETY: receives into the whole buffer.
            let len = check("recv", unsafe {
                libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) as libc::c_int
            })? as usize;
            let datagram = &buf[..len];
            let hex: String = datagram.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "{family} {hex}")?;
            // The last message of a dump is NLMSG_DONE or NLMSG_ERROR (types 3, 2).
            let mut rest = datagram;
            let mut over = len == 0;
            while rest.len() >= 16 {
                let msg_len = u32::from_ne_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                over |= kind == 2 || kind == 3;
                rest = &rest[((msg_len + 3) & !3).clamp(16, rest.len())..];
            }
            if over {
                break;
            }
        }
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("hold") => hold(),
        Some("capture") => {
            if let Err(err) = capture() {
                eprintln!("familysocks: capture: {err}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: familysocks hold|capture");
            std::process::exit(2);
        }
    }
}
