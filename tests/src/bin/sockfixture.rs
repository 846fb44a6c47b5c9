//! sockfixture: makes a known set of sockets in the current network namespace for the
//! end-to-end tests, prints `ready` once the kernel has settled them, and keeps them open until
//! stdin closes (or the process is killed).
//!
//! usage: sockfixture [--groups tcp,udp,raw,packet,unix] [--dir DIR] [--veth]
//!
//! `--dir` holds the unix sockets with filesystem paths (default: the current directory);
//! `--veth` adds sockets on the veth pair the harness sets up (`swa` 10.200.0.1, `swb`
//! 10.200.0.2). Meant to run in a fresh namespace: the ports are fixed.

use std::{
    fmt, fs,
    io::{self, Read, Write},
    mem,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        linux::net::SocketAddrExt,
        unix::net::{self as unix, UnixDatagram, UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    process::ExitCode,
    thread,
    time::{Duration, Instant},
};

use sockwatch_tests::fixture::{SocketGroup, READY, VETH_FAR_ADDR, VETH_NEAR, VETH_NEAR_ADDR};

/// Longest wait for the kernel to finish the closing handshakes.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(3);
const SETTLE_POLL: Duration = Duration::from_millis(5);
/// Polls in a row without a change before the stalled transfer counts as stopped (covers the
/// kernel's tail loss probe, a few milliseconds after the last send).
const STILL_POLLS: u32 = 10;

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

fn usage_error(message: String) -> Error {
    Error {
        doing: "parsing arguments".to_string(),
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
    // Everything opened here stays alive (and visible to ss) until `held` is dropped.
    let mut held = Held::default();
    let mut expect = Expectations::default();
    for group in &config.groups {
        match group {
            SocketGroup::Tcp => {
                freeze_retransmissions()?;
                tcp_sockets(&config, &mut held, &mut expect)?
            }
            SocketGroup::Udp => udp_sockets(&config, &mut held)?,
            SocketGroup::Raw => raw_sockets(&mut held)?,
            SocketGroup::Packet => packet_sockets(&mut held)?,
            SocketGroup::Unix => unix_sockets(&config, &mut held)?,
        }
    }
    settle(&expect)?;

    let mut stdout = io::stdout();
    writeln!(stdout, "{READY}").doing(|| "writing the ready line".into())?;
    stdout.flush().doing(|| "writing the ready line".into())?;
    // Hold the sockets until the harness closes our stdin.
    let mut sink = Vec::new();
    io::stdin()
        .read_to_end(&mut sink)
        .doing(|| "waiting on stdin".into())?;
    drop(held);
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config> {
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
                    .ok_or_else(|| usage_error("--groups needs a value".into()))?;
                config.groups = list
                    .split(',')
                    .filter(|name| !name.is_empty())
                    .map(|name| {
                        SocketGroup::from_name(name)
                            .ok_or_else(|| usage_error(format!("unknown socket group {name:?}")))
                    })
                    .collect::<Result<_>>()?;
            }
            "--dir" => {
                config.dir = args
                    .next()
                    .ok_or_else(|| usage_error("--dir needs a value".into()))?
                    .into();
            }
            "--veth" => config.veth = true,
            other => return Err(usage_error(format!("unknown argument {other:?}"))),
        }
    }
    Ok(config)
}

/// Every socket the fixture keeps open.
#[derive(Default)]
struct Held {
    tcp_listeners: Vec<TcpListener>,
    tcp_streams: Vec<TcpStream>,
    udp: Vec<UdpSocket>,
    fds: Vec<OwnedFd>,
    unix_listeners: Vec<UnixListener>,
    unix_streams: Vec<UnixStream>,
    unix_datagrams: Vec<UnixDatagram>,
}

/// What the TCP table must show before the fixture reports ready.
#[derive(Default)]
struct Expectations {
    time_wait: usize,
    /// The stalled transfer's (sender, receiver), whose queues must stop moving.
    stalled: Option<(RawFd, RawFd)>,
}

fn loopback_v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn loopback_v6(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::LOCALHOST, port))
}

fn veth_addr(addr: &str, port: u16) -> Result<SocketAddr> {
    let ip: Ipv4Addr = addr
        .parse()
        .map_err(|_| usage_error(format!("bad veth address {addr:?}")))?;
    Ok(SocketAddr::from((ip, port)))
}

fn listen(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).doing(|| format!("listening on {addr}"))
}

/// Connects to `listener` and accepts the connection: (client end, server end).
fn connect_pair(listener: &TcpListener, to: SocketAddr) -> Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(to).doing(|| format!("connecting to {to}"))?;
    let (server, _) = listener.accept().doing(|| format!("accepting on {to}"))?;
    Ok((client, server))
}

fn write_all(stream: &mut impl Write, bytes: usize, what: &str) -> Result<()> {
    stream
        .write_all(&vec![b'x'; bytes])
        .doing(|| format!("writing {bytes} bytes to {what}"))
}

fn tcp_sockets(config: &Config, held: &mut Held, expect: &mut Expectations) -> Result<()> {
    // Listeners: wildcard v4 on ssh, dual-stack wildcard v6 on http, loopback on 8080 for both
    // families (service names show without -n).
    let ssh = listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 22)))?;
    let http = listen(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 80)))?;
    let alt_v4 = listen(loopback_v4(8080))?;
    let alt_v6 = listen(loopback_v6(8080))?;

    // Established v4 with keepalive (a keepalive timer for -o) and 1000 unread bytes at the
    // server (Recv-Q).
    let (mut client, server) = connect_pair(&ssh, loopback_v4(22))?;
    set_int(
        client.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_KEEPALIVE,
        1,
        "SO_KEEPALIVE",
    )?;
    write_all(&mut client, 1000, "the ssh connection")?;
    held.tcp_streams.extend([client, server]);

    // Established v6, 500 unread bytes at the client.
    let (client, mut server) = connect_pair(&alt_v6, loopback_v6(8080))?;
    write_all(&mut server, 500, "the v6 connection")?;
    held.tcp_streams.extend([client, server]);

    // v4 client to the dual-stack listener: the server end shows a v4-mapped address.
    let (client, server) = connect_pair(&http, loopback_v4(80))?;
    held.tcp_streams.extend([client, server]);

    // A stalled transfer: the receiver never reads, so data waits in its Recv-Q and, once its
    // window is shut, in the sender's Send-Q. The receiving listener's small buffer makes the
    // window small from the handshake on, so nothing is dropped and retransmitted; the raised
    // minimum RTO (see `freeze_retransmissions`) holds off the zero-window probes.
    let stall = listen(loopback_v4(9000))?;
    set_int(
        stall.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVBUF,
        4096,
        "SO_RCVBUF",
    )?;
    let (mut sender, receiver) = connect_pair(&stall, loopback_v4(9000))?;
    set_int(
        sender.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_SNDBUF,
        4096,
        "SO_SNDBUF",
    )?;
    sender
        .set_nonblocking(true)
        .doing(|| "making the sender non-blocking".into())?;
    fill(&mut sender)?;
    expect.stalled = Some((sender.as_raw_fd(), receiver.as_raw_fd()));
    held.tcp_streams.extend([sender, receiver]);
    held.tcp_listeners.push(stall);

    // TIME-WAIT on both families: the client closes first, the server follows.
    for (listener, to) in [(&alt_v4, loopback_v4(8080)), (&alt_v6, loopback_v6(8080))] {
        let (client, mut server) = connect_pair(listener, to)?;
        drop(client);
        let mut byte = [0u8; 1];
        server
            .read(&mut byte)
            .doing(|| "reading the peer's close".into())?;
        drop(server);
        expect.time_wait += 1;
    }

    // FIN-WAIT-2 / CLOSE-WAIT: the server shuts down its side, the client never closes.
    let (client, server) = connect_pair(&alt_v6, loopback_v6(8080))?;
    server
        .shutdown(std::net::Shutdown::Write)
        .doing(|| "shutting down the server's side".into())?;
    held.tcp_streams.extend([client, server]);

    if config.veth {
        // A listener bound to the near veth device, and a connection between the two veth
        // addresses (local traffic, so it runs over lo).
        let https = listen(veth_addr(VETH_NEAR_ADDR, 443)?)?;
        bind_to_device(https.as_raw_fd(), VETH_NEAR)?;
        let to = veth_addr(VETH_NEAR_ADDR, 22)?;
        let client = connect_from(veth_addr(VETH_FAR_ADDR, 0)?, to)?;
        let (server, _) = ssh.accept().doing(|| format!("accepting on {to}"))?;
        held.tcp_streams.extend([client, server]);
        held.tcp_listeners.push(https);
    }

    // Last, so that no accept above takes it: left in the ssh listener's accept queue (the
    // listener's Recv-Q shows 1).
    let pending = TcpStream::connect(loopback_v4(22)).doing(|| "connecting to :22".into())?;
    held.tcp_streams.push(pending);

    held.tcp_listeners.extend([ssh, http, alt_v4, alt_v6]);
    Ok(())
}

/// Writes until the kernel refuses more (the peer's window and our send buffer are full).
fn fill(sender: &mut TcpStream) -> Result<()> {
    let chunk = [b'y'; 4096];
    loop {
        match sender.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e).doing(|| "filling the stalled connection".into()),
        }
    }
}

/// Raises this namespace's minimum retransmission timeout to 100 s. Sockets created afterwards
/// wait that long before retransmitting or probing a zero window, so a stalled connection
/// keeps the same queues, counters and state for the whole test run.
fn freeze_retransmissions() -> Result<()> {
    const KNOB: &str = "/proc/sys/net/ipv4/tcp_rto_min_us";
    fs::write(KNOB, "100000000").doing(|| format!("writing {KNOB}"))
}

/// A TCP connection from a chosen local address (std's connect cannot bind first).
fn connect_from(from: SocketAddr, to: SocketAddr) -> Result<TcpStream> {
    let fd = new_socket(libc::AF_INET, libc::SOCK_STREAM, 0)?;
    sys_bind(&fd, from)?;
    sys_connect(&fd, to)?;
    Ok(TcpStream::from(fd))
}

fn udp_sockets(config: &Config, held: &mut Held) -> Result<()> {
    let bind = |addr: SocketAddr| UdpSocket::bind(addr).doing(|| format!("binding udp {addr}"));

    let mdns = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5353)))?;
    let snmp = bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 161)))?;
    let ntp = bind(loopback_v6(123))?;

    // Connected sockets (ss shows them ESTAB); one datagram stays unread at mdns (Recv-Q).
    let to_mdns = bind(loopback_v4(0))?;
    to_mdns
        .connect(loopback_v4(5353))
        .doing(|| "connecting udp to :5353".into())?;
    to_mdns.send(b"hello").doing(|| "sending to :5353".into())?;
    let to_ntp = bind(loopback_v6(0))?;
    to_ntp
        .connect(loopback_v6(123))
        .doing(|| "connecting udp to [::1]:123".into())?;

    // Bound to a device: ss prints the address as 127.0.0.1%lo.
    let syslog = bind(loopback_v4(514))?;
    bind_to_device(syslog.as_raw_fd(), "lo")?;
    held.udp.extend([mdns, snmp, ntp, to_mdns, to_ntp, syslog]);

    if config.veth {
        let tftp = bind(veth_addr(VETH_NEAR_ADDR, 69)?)?;
        bind_to_device(tftp.as_raw_fd(), VETH_NEAR)?;
        held.udp.push(tftp);
    }
    Ok(())
}

fn raw_sockets(held: &mut Held) -> Result<()> {
    held.fds.push(new_socket(
        libc::AF_INET,
        libc::SOCK_RAW,
        libc::IPPROTO_ICMP,
    )?);
    held.fds.push(new_socket(
        libc::AF_INET6,
        libc::SOCK_RAW,
        libc::IPPROTO_ICMPV6,
    )?);
    Ok(())
}

fn packet_sockets(held: &mut Held) -> Result<()> {
    let all = (libc::ETH_P_ALL as u16).to_be();
    let raw = new_socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(all))?;
    // SAFETY: a zeroed sockaddr_ll is valid; the fields set below make it a bind to lo.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = all;
    addr.sll_ifindex = interface_index("lo")?;
    // SAFETY: addr is a valid sockaddr_ll and the length matches it.
    let rc = unsafe {
        libc::bind(
            raw.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| "binding a packet socket to lo".into());
    }
    held.fds.push(raw);
    let ip = (libc::ETH_P_IP as u16).to_be();
    held.fds.push(new_socket(
        libc::AF_PACKET,
        libc::SOCK_DGRAM,
        i32::from(ip),
    )?);
    Ok(())
}

fn unix_sockets(config: &Config, held: &mut Held) -> Result<()> {
    let path = |name: &str| config.dir.join(name);

    // Stream listener on a path, one accepted connection with 100 unread bytes at the server.
    let stream_path = path("stream.sock");
    let listener = bind_unix_listener(&stream_path)?;
    let mut client = UnixStream::connect(&stream_path)
        .doing(|| format!("connecting to {}", stream_path.display()))?;
    let (server, _) = listener
        .accept()
        .doing(|| "accepting a unix stream".into())?;
    write_all(&mut client, 100, "the unix stream")?;
    held.unix_streams.extend([client, server]);
    held.unix_listeners.push(listener);

    // Stream listener on an abstract name, one connection.
    let abstract_addr = unix::SocketAddr::from_abstract_name(b"sockfixture.stream")
        .doing(|| "making an abstract address".into())?;
    let listener =
        UnixListener::bind_addr(&abstract_addr).doing(|| "binding @sockfixture.stream".into())?;
    let client = UnixStream::connect_addr(&abstract_addr)
        .doing(|| "connecting to @sockfixture.stream".into())?;
    let (server, _) = listener
        .accept()
        .doing(|| "accepting on @sockfixture.stream".into())?;
    held.unix_streams.extend([client, server]);
    held.unix_listeners.push(listener);

    // An unnamed connected pair.
    let (a, b) = UnixStream::pair().doing(|| "making a unix stream pair".into())?;
    held.unix_streams.extend([a, b]);

    // Seqpacket listener (std has no seqpacket type).
    let seqpacket = new_socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0)?;
    bind_unix_path(&seqpacket, &path("seqpacket.sock"))?;
    // SAFETY: plain syscall on a socket we own.
    if unsafe { libc::listen(seqpacket.as_raw_fd(), 8) } != 0 {
        return Err(io::Error::last_os_error()).doing(|| "listening on seqpacket.sock".into());
    }
    held.fds.push(seqpacket);

    // Datagrams: bound to a path (one unread datagram from a connected, unbound sender), bound
    // to an abstract name, and unbound.
    let dgram_path = path("dgram.sock");
    let _ = fs::remove_file(&dgram_path);
    let bound =
        UnixDatagram::bind(&dgram_path).doing(|| format!("binding {}", dgram_path.display()))?;
    let sender = UnixDatagram::unbound().doing(|| "making an unbound datagram socket".into())?;
    sender
        .connect(&dgram_path)
        .doing(|| format!("connecting to {}", dgram_path.display()))?;
    sender
        .send(b"hello")
        .doing(|| "sending a unix datagram".into())?;
    let abstract_addr = unix::SocketAddr::from_abstract_name(b"sockfixture.dgram")
        .doing(|| "making an abstract address".into())?;
    let named =
        UnixDatagram::bind_addr(&abstract_addr).doing(|| "binding @sockfixture.dgram".into())?;
    let unbound = UnixDatagram::unbound().doing(|| "making an unbound datagram socket".into())?;
    held.unix_datagrams.extend([bound, sender, named, unbound]);
    Ok(())
}

fn bind_unix_listener(path: &Path) -> Result<UnixListener> {
    let _ = fs::remove_file(path);
    UnixListener::bind(path).doing(|| format!("binding {}", path.display()))
}

fn bind_unix_path(fd: &OwnedFd, path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let _ = fs::remove_file(path);
    // SAFETY: a zeroed sockaddr_un is valid (empty path).
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(usage_error(format!(
            "socket path too long: {}",
            path.display()
        )));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: addr is a valid sockaddr_un and len covers the family and the terminated path.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("binding {}", path.display()));
    }
    Ok(())
}

fn new_socket(domain: i32, kind: i32, protocol: i32) -> Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked before being wrapped.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error())
            .doing(|| format!("socket(domain {domain}, type {kind}, protocol {protocol})"));
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(fd: RawFd, level: i32, name: i32, value: i32, what: &str) -> Result<()> {
    // SAFETY: value is a live i32 and the length says so.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("setting {what}"));
    }
    Ok(())
}

fn bind_to_device(fd: RawFd, device: &str) -> Result<()> {
    // SAFETY: the name pointer and length describe `device`'s bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            device.as_ptr().cast(),
            device.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("binding to device {device}"));
    }
    Ok(())
}

fn interface_index(name: &str) -> Result<i32> {
    let c_name =
        std::ffi::CString::new(name).map_err(|_| usage_error(format!("bad interface {name:?}")))?;
    // SAFETY: c_name is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("looking up interface {name}"));
    }
    i32::try_from(index).map_err(|_| usage_error(format!("interface index {index} out of range")))
}

fn sockaddr_in(addr: SocketAddr) -> Result<(libc::sockaddr_in, libc::socklen_t)> {
    let SocketAddr::V4(v4) = addr else {
        return Err(usage_error(format!("{addr} is not an IPv4 address")));
    };
    // SAFETY: a zeroed sockaddr_in is valid; the fields set below fill it in.
    let mut raw: libc::sockaddr_in = unsafe { mem::zeroed() };
    raw.sin_family = libc::AF_INET as libc::sa_family_t;
    raw.sin_port = v4.port().to_be();
    raw.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
    Ok((raw, mem::size_of::<libc::sockaddr_in>() as libc::socklen_t))
}

fn sys_connect(fd: &OwnedFd, addr: SocketAddr) -> Result<()> {
    let (raw, len) = sockaddr_in(addr)?;
    // SAFETY: raw is a valid sockaddr_in of length len.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&raw as *const libc::sockaddr_in).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("connecting to {addr}"));
    }
    Ok(())
}

fn sys_bind(fd: &OwnedFd, addr: SocketAddr) -> Result<()> {
    let (raw, len) = sockaddr_in(addr)?;
    // SAFETY: raw is a valid sockaddr_in of length len.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw as *const libc::sockaddr_in).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| format!("binding {addr}"));
    }
    Ok(())
}

/// Waits until the TCP table holds only stable states (no handshake or close in flight, the
/// expected TIME-WAIT sockets present) and the stalled transfer's queues have stopped moving,
/// so that two snapshots taken a moment apart see the same sockets.
fn settle(expect: &Expectations) -> Result<()> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut last_queues = None;
    let mut unchanged_polls = 0;
    loop {
        let states = tcp_states()?;
        let time_wait = states.iter().filter(|&&s| s == TCP_TIME_WAIT).count();
        let in_flight = states.iter().any(|s| TCP_TRANSIENT.contains(s));
        let queues = match expect.stalled {
            Some((sender, receiver)) => Some((
                queue_len(sender, libc::TIOCOUTQ)?,
                queue_len(receiver, libc::FIONREAD)?,
            )),
            None => None,
        };
        unchanged_polls = if queues == last_queues {
            unchanged_polls + 1
        } else {
            0
        };
        last_queues = queues;
        if time_wait >= expect.time_wait && !in_flight && unchanged_polls >= STILL_POLLS {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error {
                doing: "waiting for the sockets to settle".into(),
                cause: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("tcp states {states:?}, stalled queues {queues:?}"),
                ),
            });
        }
        thread::sleep(SETTLE_POLL);
    }
}

/// TCP states as /proc/net/tcp numbers them.
const TCP_TIME_WAIT: u8 = 0x06;
/// SYN-SENT, SYN-RECV, FIN-WAIT-1, LAST-ACK, CLOSING: states a loopback handshake leaves quickly.
const TCP_TRANSIENT: [u8; 5] = [0x02, 0x03, 0x04, 0x09, 0x0b];

/// The state of every TCP socket in this namespace, from /proc/net/tcp and tcp6.
fn tcp_states() -> Result<Vec<u8>> {
    let mut states = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = fs::read_to_string(table).doing(|| format!("reading {table}"))?;
        for line in text.lines().skip(1) {
            // Columns: sl local_address rem_address st ...
            if let Some(state) = line.split_whitespace().nth(3) {
                if let Ok(state) = u8::from_str_radix(state, 16) {
                    states.push(state);
                }
            }
        }
    }
    Ok(states)
}

/// Bytes in a socket's send queue (TIOCOUTQ) or receive queue (FIONREAD).
fn queue_len(fd: RawFd, request: libc::Ioctl) -> Result<i32> {
    let mut len: i32 = 0;
    // SAFETY: both requests write one int through the pointer.
    let rc = unsafe { libc::ioctl(fd, request, &mut len as *mut i32) };
    if rc != 0 {
        return Err(io::Error::last_os_error()).doing(|| "reading a socket queue length".into());
    }
    Ok(len)
}
