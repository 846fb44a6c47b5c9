//! sockfixture: makes a known set of sockets in the current network namespace for the
//! end-to-end tests, prints `ready` once the kernel has settled them, and keeps them open until
//! stdin closes (or the process is killed).
//!
//! usage: sockfixture [--groups tcp,udp,raw,packet,unix] [--dir DIR] [--veth]
//!
//! `--dir` holds the unix sockets with filesystem paths (default: the current directory);
//! `--veth` adds sockets on the veth pair the harness sets up. The sockets are listed in
//! `sockwatch_tests::fixture`. Meant for a fresh namespace: the ports are fixed, and the tcp
//! group changes the namespace's minimum RTO.

use std::{
    fmt, fs,
    io::{self, Read, Write},
    mem,
    net::{
        Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket,
    },
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        linux::net::SocketAddrExt,
        unix::{
            ffi::OsStrExt,
            net::{self as unix, UnixDatagram, UnixListener, UnixStream},
        },
    },
    path::{Path, PathBuf},
    process::ExitCode,
    thread,
    time::{Duration, Instant},
};

use sockwatch_tests::fixture::{SocketGroup, READY, VETH_FAR_ADDR, VETH_NEAR, VETH_NEAR_ADDR};

/// Longest wait for the kernel to finish the closing handshakes and the stalled transfer;
/// generous, as a loaded machine (parallel builds, benchmarks) slows every one of them.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
const SETTLE_POLL: Duration = Duration::from_millis(5);
/// Polls in a row without a change before the stalled transfer counts as stopped.
const STILL_POLLS: u32 = 10;

/// The namespace's minimum retransmission timeout while the fixture runs, in microseconds
/// (net.ipv4.tcp_rto_min_us; the default is 200 ms).
const FROZEN_RTO_MIN_US: &str = "100000000";

/// TCP states as /proc/net/tcp numbers them.
const TCP_TIME_WAIT: u8 = 0x06;
/// SYN-SENT, SYN-RECV, FIN-WAIT-1, LAST-ACK, CLOSING: states a loopback handshake leaves quickly.
const TCP_TRANSIENT: [u8; 5] = [0x02, 0x03, 0x04, 0x09, 0x0b];

struct Config {
    groups: Vec<SocketGroup>,
    dir: PathBuf,
    veth: bool,
}

/// What went wrong, and while doing what.
struct Error {
    doing: String,
    cause: io::Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.doing, self.cause)
    }
}

type Result<T> = std::result::Result<T, Error>;

trait Context<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|cause| Error {
            doing: what(),
            cause,
        })
    }
}

fn invalid(doing: &str, message: String) -> Error {
    Error {
        doing: doing.to_string(),
        cause: io::Error::new(io::ErrorKind::InvalidInput, message),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sockfixture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let config = parse_args(std::env::args().skip(1))?;
    let mut held = Held::default();
    let mut settled = Settled::default();
    for group in &config.groups {
        match group {
            SocketGroup::Tcp => tcp_sockets(&config, &mut held, &mut settled)?,
            SocketGroup::Udp => udp_sockets(&config, &mut held)?,
            SocketGroup::Raw => raw_sockets(&mut held)?,
            SocketGroup::Packet => packet_sockets(&mut held)?,
            SocketGroup::Unix => unix_sockets(&config, &mut held)?,
        }
    }
    settle(&settled)?;
    // Threads of their own names share every socket: what ss -T lists per thread.
    for name in ["fixture-idle-a", "fixture-idle-b"] {
        thread::Builder::new()
            .name(name.into())
            .spawn(|| loop {
                thread::park();
            })
            .doing(|| format!("starting thread {name}"))?;
    }

    let mut stdout = io::stdout();
    writeln!(stdout, "{READY}")
        .and_then(|()| stdout.flush())
        .doing(|| "writing the ready line".into())?;
    // Hold the sockets until the harness closes our stdin.
    io::stdin()
        .read_to_end(&mut Vec::new())
        .doing(|| "waiting on stdin".into())?;
    drop(held);
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config> {
    let usage = |message: String| invalid("parsing arguments", message);
    let mut config = Config {
        groups: SocketGroup::ALL.to_vec(),
        dir: PathBuf::from("."),
        veth: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--groups" => {
                let list = args
                    .next()
                    .ok_or_else(|| usage("--groups needs a value".into()))?;
                config.groups = list
                    .split(',')
                    .filter(|name| !name.is_empty())
                    .map(|name| {
                        SocketGroup::from_name(name)
                            .ok_or_else(|| usage(format!("unknown socket group {name:?}")))
                    })
                    .collect::<Result<_>>()?;
            }
            "--dir" => {
                let dir = args
                    .next()
                    .ok_or_else(|| usage("--dir needs a value".into()))?;
                config.dir = dir.into();
            }
            "--veth" => config.veth = true,
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(config)
}

/// Every socket the fixture keeps open, as plain descriptors: nothing uses them after setup.
#[derive(Default)]
struct Held(Vec<OwnedFd>);

impl Held {
    fn keep<const N: usize>(&mut self, sockets: [impl Into<OwnedFd>; N]) {
        self.0.extend(sockets.map(Into::into));
    }
}

/// What must be true of the TCP sockets before the fixture reports ready.
#[derive(Default)]
struct Settled {
    /// TIME-WAIT sockets the closes leave behind.
    time_wait: usize,
    /// The stalled transfer's (sender, receiver), whose queues must stop moving.
    stalled: Option<(RawFd, RawFd)>,
}

fn v4(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

fn loopback_v4(port: u16) -> SocketAddr {
    v4(Ipv4Addr::LOCALHOST, port)
}

fn loopback_v6(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::LOCALHOST, port))
}

fn listen(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).doing(|| format!("listening on {addr}"))
}

/// Connects to `listener` at `to` and accepts: (client end, server end).
fn connect_pair(listener: &TcpListener, to: SocketAddr) -> Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(to).doing(|| format!("connecting to {to}"))?;
    let (server, _) = listener.accept().doing(|| format!("accepting on {to}"))?;
    Ok((client, server))
}

fn write_bytes(stream: &mut impl Write, bytes: usize, what: &str) -> Result<()> {
    stream
        .write_all(&vec![b'x'; bytes])
        .doing(|| format!("writing {bytes} bytes to {what}"))
}

fn tcp_sockets(config: &Config, held: &mut Held, settled: &mut Settled) -> Result<()> {
    fs::write("/proc/sys/net/ipv4/tcp_rto_min_us", FROZEN_RTO_MIN_US)
        .doing(|| "raising net.ipv4.tcp_rto_min_us".into())?;

    let ssh = listen(v4(Ipv4Addr::UNSPECIFIED, 22))?;
    let http = listen(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 80)))?;
    let http_alt_v4 = listen(loopback_v4(8080))?;
    let http_alt_v6 = listen(loopback_v6(8080))?;

    // Keepalive on (a keepalive timer for -o), 1000 unread bytes at the server.
    let (mut client, server) = connect_pair(&ssh, loopback_v4(22))?;
    set_int(&client, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    write_bytes(&mut client, 1000, "the ssh connection")?;
    held.keep([client, server]);

    // 500 unread bytes at the client.
    let (client, mut server) = connect_pair(&http_alt_v6, loopback_v6(8080))?;
    write_bytes(&mut server, 500, "the v6 connection")?;
    held.keep([client, server]);

    // A v4 client of the dual-stack listener: the server end shows a v4-mapped address.
    held.keep(<[TcpStream; 2]>::from(connect_pair(
        &http,
        loopback_v4(80),
    )?));

    // A stalled transfer: the receiver never reads, so data waits in its Recv-Q and, once its
    // window is shut, in the sender's Send-Q. The listener's small buffer makes the window
    // small from the handshake on, so nothing is dropped and retransmitted; the raised minimum
    // RTO holds off the zero-window probes for 100 s.
    let stall = listen(loopback_v4(9000))?;
    set_int(&stall, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096)?;
    let (mut sender, receiver) = connect_pair(&stall, loopback_v4(9000))?;
    set_int(&sender, libc::SOL_SOCKET, libc::SO_SNDBUF, 4096)?;
    fill(&mut sender)?;
    settled.stalled = Some((sender.as_raw_fd(), receiver.as_raw_fd()));
    held.keep([sender, receiver]);
    held.keep([stall]);

    // TIME-WAIT on both families: the client closes first, the server follows.
    for (listener, to) in [
        (&http_alt_v4, loopback_v4(8080)),
        (&http_alt_v6, loopback_v6(8080)),
    ] {
        let (client, mut server) = connect_pair(listener, to)?;
        drop(client);
        server
            .read(&mut [0u8; 1])
            .doing(|| "reading the client's close".into())?;
        drop(server);
        settled.time_wait += 1;
    }

    // FIN-WAIT-2 / CLOSE-WAIT: the server shuts down its side, the client never closes.
    let (client, server) = connect_pair(&http_alt_v6, loopback_v6(8080))?;
    server
        .shutdown(Shutdown::Write)
        .doing(|| "shutting down the server's side".into())?;
    held.keep([client, server]);

    if config.veth {
        let https = listen(v4(VETH_NEAR_ADDR, 443))?;
        bind_to_device(&https, VETH_NEAR)?;
        // Between the two veth addresses: local traffic, so it runs over lo.
        let client = connect_from(v4(VETH_FAR_ADDR, 0), v4(VETH_NEAR_ADDR, 22))?;
        let (server, _) = ssh
            .accept()
            .doing(|| "accepting the veth connection".into())?;
        held.keep([client, server]);
        held.keep([https]);
    }

    // Last, so that no accept above takes it: left in the ssh listener's accept queue (the
    // listener's Recv-Q shows 1).
    let pending = TcpStream::connect(loopback_v4(22)).doing(|| "connecting to :22".into())?;
    held.keep([pending]);
    held.keep([ssh, http, http_alt_v4, http_alt_v6]);
    Ok(())
}

/// Writes until the kernel refuses more: the peer's window and our send buffer are full.
fn fill(sender: &mut TcpStream) -> Result<()> {
    sender
        .set_nonblocking(true)
        .doing(|| "making the sender non-blocking".into())?;
    let chunk = [b'y'; 4096];
    loop {
        match sender.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e).doing(|| "filling the stalled connection".into()),
        }
    }
}

/// A TCP connection from a chosen local address (std cannot bind before connecting).
fn connect_from(from: SocketAddr, to: SocketAddr) -> Result<TcpStream> {
    let (from_v4, to_v4) = match (from, to) {
        (SocketAddr::V4(from), SocketAddr::V4(to)) => (from, to),
        _ => return Err(invalid("connecting", format!("{from} -> {to} is not IPv4"))),
    };
    let socket = new_socket(libc::AF_INET, libc::SOCK_STREAM, 0)?;
    let from_raw = sockaddr_in(from_v4);
    // SAFETY: from_raw is a live sockaddr_in and the length is its size.
    os_result(unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&from_raw as *const libc::sockaddr_in).cast(),
            SOCKADDR_IN_LEN,
        )
    })
    .doing(|| format!("binding {from}"))?;
    let to_raw = sockaddr_in(to_v4);
    // SAFETY: as above.
    os_result(unsafe {
        libc::connect(
            socket.as_raw_fd(),
            (&to_raw as *const libc::sockaddr_in).cast(),
            SOCKADDR_IN_LEN,
        )
    })
    .doing(|| format!("connecting {from} to {to}"))?;
    Ok(TcpStream::from(socket))
}

fn udp_sockets(config: &Config, held: &mut Held) -> Result<()> {
    let bind = |addr: SocketAddr| UdpSocket::bind(addr).doing(|| format!("binding udp {addr}"));

    let mdns = bind(v4(Ipv4Addr::UNSPECIFIED, 5353))?;
    let snmp = bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 161)))?;
    let ntp = bind(loopback_v6(123))?;

    // Connected sockets (ss shows them ESTAB); one datagram stays unread at mdns (Recv-Q).
    let to_mdns = bind(loopback_v4(0))?;
    to_mdns
        .connect(loopback_v4(5353))
        .and_then(|()| to_mdns.send(b"hello"))
        .doing(|| "sending to :5353".into())?;
    let to_ntp = bind(loopback_v6(0))?;
    to_ntp
        .connect(loopback_v6(123))
        .doing(|| "connecting udp to [::1]:123".into())?;

    // Bound to a device: ss prints the address as 127.0.0.1%lo. Inet options for
    // --inet-sockopt: recverr, freebind, transparent, bind_addr_no_port, mc_all off.
    let syslog = bind(loopback_v4(514))?;
    bind_to_device(&syslog, "lo")?;
    for option in [
        libc::IP_RECVERR,
        libc::IP_FREEBIND,
        libc::IP_TRANSPARENT,
        libc::IP_BIND_ADDRESS_NO_PORT,
    ] {
        set_int(&syslog, libc::SOL_IP, option, 1)?;
    }
    set_int(&syslog, libc::SOL_IP, libc::IP_MULTICAST_ALL, 0)?;
    held.keep([mdns, snmp, ntp, to_mdns, to_ntp, syslog]);

    if config.veth {
        let tftp = bind(v4(VETH_NEAR_ADDR, 69))?;
        bind_to_device(&tftp, VETH_NEAR)?;
        held.keep([tftp]);
    }
    Ok(())
}

fn raw_sockets(held: &mut Held) -> Result<()> {
    held.keep([
        new_socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)?,
        new_socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6)?,
    ]);
    Ok(())
}

fn packet_sockets(held: &mut Held) -> Result<()> {
    // Packet sockets take the protocol in network byte order.
    let all = (libc::ETH_P_ALL as u16).to_be();
    let ipv4 = (libc::ETH_P_IP as u16).to_be();
    let on_lo = new_socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(all))?;
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = all;
    addr.sll_ifindex = interface_index("lo")?;
    // SAFETY: addr is a live sockaddr_ll and the length is its size.
    os_result(unsafe {
        libc::bind(
            on_lo.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .doing(|| "binding a packet socket to lo".into())?;
    let unbound = new_socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(ipv4))?;
    // A classic BPF filter for ss -b that keeps every packet whole: `ld #len; ret a`.
    let mut filter = [
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_LEN) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_A) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: program points at `filter`, alive across the call; the length is its size.
    os_result(unsafe {
        libc::setsockopt(
            unbound.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&program as *const libc::sock_fprog).cast(),
            mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    })
    .doing(|| "attaching a BPF filter to a packet socket".into())?;
    held.keep([on_lo, unbound]);
    Ok(())
}

fn unix_sockets(config: &Config, held: &mut Held) -> Result<()> {
    let path = |name: &str| {
        let path = config.dir.join(name);
        // A leftover from an earlier run would make bind fail.
        let _ = fs::remove_file(&path);
        path
    };

    // Stream listener on a path, one connection with 100 unread bytes at the server.
    let stream_path = path("stream.sock");
    let listener =
        UnixListener::bind(&stream_path).doing(|| format!("binding {}", stream_path.display()))?;
    let mut client = UnixStream::connect(&stream_path)
        .doing(|| format!("connecting to {}", stream_path.display()))?;
    let (server, _) = listener
        .accept()
        .doing(|| "accepting a unix stream".into())?;
    write_bytes(&mut client, 100, "the unix stream")?;
    held.keep([client, server]);
    held.keep([listener]);

    // Stream listener on an abstract name, one connection.
    let name = abstract_name("sockfixture.stream")?;
    let listener = UnixListener::bind_addr(&name).doing(|| "binding @sockfixture.stream".into())?;
    let client =
        UnixStream::connect_addr(&name).doing(|| "connecting to @sockfixture.stream".into())?;
    let (server, _) = listener
        .accept()
        .doing(|| "accepting on @sockfixture.stream".into())?;
    held.keep([client, server]);
    held.keep([listener]);

    held.keep(<[UnixStream; 2]>::from(
        UnixStream::pair().doing(|| "making a unix stream pair".into())?,
    ));

    // Seqpacket listener (std has no seqpacket type).
    let seqpacket = new_socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0)?;
    let seqpacket_path = path("seqpacket.sock");
    bind_unix(&seqpacket, &seqpacket_path)?;
    // SAFETY: plain syscall on a socket we own.
    os_result(unsafe { libc::listen(seqpacket.as_raw_fd(), 8) })
        .doing(|| format!("listening on {}", seqpacket_path.display()))?;
    held.keep([seqpacket]);

    // Datagrams: bound to a path (one unread datagram from a connected, unbound sender), bound
    // to an abstract name, and unbound.
    let dgram_path = path("dgram.sock");
    let bound =
        UnixDatagram::bind(&dgram_path).doing(|| format!("binding {}", dgram_path.display()))?;
    let sender = UnixDatagram::unbound().doing(|| "making an unbound datagram socket".into())?;
    sender
        .connect(&dgram_path)
        .and_then(|()| sender.send(b"hello"))
        .doing(|| format!("sending to {}", dgram_path.display()))?;
    let name = abstract_name("sockfixture.dgram")?;
    let named = UnixDatagram::bind_addr(&name).doing(|| "binding @sockfixture.dgram".into())?;
    let unbound = UnixDatagram::unbound().doing(|| "making an unbound datagram socket".into())?;
    held.keep([bound, sender, named, unbound]);
    Ok(())
}

fn abstract_name(name: &str) -> Result<unix::SocketAddr> {
    unix::SocketAddr::from_abstract_name(name.as_bytes()).doing(|| format!("naming @{name}"))
}

/// Binds a unix socket std cannot make (seqpacket) to a filesystem path.
fn bind_unix(socket: &OwnedFd, path: &Path) -> Result<()> {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid (empty) address.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(invalid(
            "binding",
            format!("socket path too long: {}", path.display()),
        ));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: addr is a live sockaddr_un; len covers the family and the NUL-terminated path.
    os_result(unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    })
    .doing(|| format!("binding {}", path.display()))
}

/// -1 from a libc call as the errno it set.
fn os_result(rc: libc::c_int) -> io::Result<()> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn new_socket(domain: i32, kind: i32, protocol: i32) -> Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked before it is wrapped.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) };
    os_result(fd).doing(|| format!("socket(domain {domain}, type {kind}, protocol {protocol})"))?;
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(socket: &impl AsRawFd, level: i32, name: i32, value: i32) -> Result<()> {
    // SAFETY: value is a live i32 and the length is its size.
    os_result(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .doing(|| format!("setsockopt(level {level}, option {name}, {value})"))
}

fn bind_to_device(socket: &impl AsRawFd, device: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `device`'s bytes.
    os_result(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            device.as_ptr().cast(),
            device.len() as libc::socklen_t,
        )
    })
    .doing(|| format!("binding to device {device}"))
}

fn interface_index(name: &str) -> Result<i32> {
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| invalid("looking up an interface", format!("bad name {name:?}")))?;
    // SAFETY: c_name is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("looking up interface {name}"));
    }
    i32::try_from(index).map_err(|_| {
        invalid(
            "looking up an interface",
            format!("index {index} of {name} out of range"),
        )
    })
}

const SOCKADDR_IN_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

fn sockaddr_in(addr: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all zeroes is a valid value.
    let mut raw: libc::sockaddr_in = unsafe { mem::zeroed() };
    raw.sin_family = libc::AF_INET as libc::sa_family_t;
    raw.sin_port = addr.port().to_be();
    raw.sin_addr.s_addr = u32::from(*addr.ip()).to_be();
    raw
}

/// Waits until the TCP table holds only stable states (no handshake or close in flight, the
/// TIME-WAIT sockets present) and the stalled transfer's queues have stopped moving, so that
/// two snapshots taken a moment apart see the same sockets.
fn settle(settled: &Settled) -> Result<()> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut last_queues = None;
    let mut still_polls = 0;
    loop {
        let states = tcp_states()?;
        let time_wait = states.iter().filter(|&&s| s == TCP_TIME_WAIT).count();
        let in_flight = states.iter().any(|s| TCP_TRANSIENT.contains(s));
        let queues = match settled.stalled {
            Some((sender, receiver)) => Some((
                queue_len(sender, libc::TIOCOUTQ)?,
                queue_len(receiver, libc::FIONREAD)?,
            )),
            None => None,
        };
        still_polls = if queues == last_queues {
            still_polls + 1
        } else {
            0
        };
        last_queues = queues;
        if time_wait >= settled.time_wait && !in_flight && still_polls >= STILL_POLLS {
            return Ok(());
        }
        if Instant::now() > deadline {
            let state = format!(
                "tcp states {states:?}, stalled queues {queues:?} (still for {still_polls} polls)"
            );
            return Err(io::Error::new(io::ErrorKind::TimedOut, state))
                .doing(|| "waiting for the sockets to settle".into());
        }
        thread::sleep(SETTLE_POLL);
    }
}

/// The state of every TCP socket in this namespace, from /proc/net/tcp and tcp6.
fn tcp_states() -> Result<Vec<u8>> {
    let mut states = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = fs::read_to_string(table).doing(|| format!("reading {table}"))?;
        // Columns: sl local_address rem_address st ...
        states.extend(
            text.lines()
                .skip(1)
                .filter_map(|line| line.split_whitespace().nth(3))
                .filter_map(|state| u8::from_str_radix(state, 16).ok()),
        );
    }
    Ok(states)
}

/// Bytes in a socket's send queue (TIOCOUTQ) or receive queue (FIONREAD).
fn queue_len(fd: RawFd, request: libc::Ioctl) -> Result<i32> {
    let mut len: i32 = 0;
    // SAFETY: both requests write one int through the pointer.
    os_result(unsafe { libc::ioctl(fd, request, &mut len as *mut i32) })
        .doing(|| "reading a socket queue length".into())?;
    Ok(len)
}
