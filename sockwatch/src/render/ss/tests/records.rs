//! The records the golden tests render, read from what `capture.sh` (beside this file)
//! captured: regenerate every capture with it, then run these tests.
//!
//! TCP: `captures/tcp.dump` is `ss -D` of sockfixture's TCP sockets, decoded here with the
//! dump reader, so every field sock_diag reported is in the records; owners are the ones
//! `ss -tanp` printed for that dump. The other families cannot be dumped by ss: their records
//! are read back from the most detailed numeric capture of each family (ss prints only what
//! its options ask for, so the captures with fewer columns render the same records). Every
//! token ss printed is understood here, or the test stops naming it.

use super::*;

/// TCP sockets, everything sock_diag reports with -m -i, owners as `ss -p` found them.
pub fn tcp() -> Vec<SocketRecord> {
    let mut records = Vec::new();
    crate::source::snapshot_from_dump(&include_bytes!("captures/tcp.dump")[..], |record| {
        records.push(record)
    })
    .expect("captures/tcp.dump decodes");
    with_owners(records, include_str!("golden/tcp_tanp.txt"))
}

/// The TCP listeners, listed live (`ss -ltn`) before the dump.
pub fn listeners() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/ltn.txt"), Some(Netid::Tcp))
}

/// UDP sockets from `ss -uanoemi`, owners from `ss -uanp`.
pub fn udp() -> Vec<SocketRecord> {
    let records = parse_capture(include_str!("golden/uanoemi.txt"), Some(Netid::Udp));
    with_owners(records, include_str!("golden/uanp.txt"))
}

/// Raw sockets from `ss -wan`.
pub fn raw() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/wan.txt"), Some(Netid::Raw))
}

/// Unix sockets from `ss -xanoemip`.
pub fn unix() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/xanoemip.txt"), None)
}

/// Packet sockets from `ss -0anemO`, owners from `ss -0anp`.
pub fn packet() -> Vec<SocketRecord> {
    let records = parse_capture(include_str!("golden/0anemO.txt"), None);
    with_owners(records, include_str!("golden/0anp.txt"))
}

/// Netlink sockets from `ss -f netlink -an`.
pub fn netlink_an() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/nl_an.txt"), Some(Netid::Netlink))
}

/// Netlink sockets from `ss -f netlink -anem`.
pub fn netlink_anem() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/nl_anem.txt"), Some(Netid::Netlink))
}

/// The sockets of `ss -f netlink -an`, ss's own as in `ss -f netlink -a`.
pub fn netlink_a() -> Vec<SocketRecord> {
    with_ss_socket_of(netlink_an(), include_str!("golden/nl_a.txt"))
}

/// The sockets of `ss -f netlink -an`, ss's own as in `ss -f netlink -anp` (which names no
/// owners: ss 6.1 prints no users for netlink sockets).
pub fn netlink_anp() -> Vec<SocketRecord> {
    with_ss_socket_of(netlink_an(), include_str!("golden/nl_anp.txt"))
}

/// Every family from `ss -an`.
pub fn all_an() -> Vec<SocketRecord> {
    parse_capture(include_str!("golden/all_an.txt"), None)
}

/// The sockets of `ss -an`, ss's own as in `ss -a`.
pub fn all_a() -> Vec<SocketRecord> {
    with_ss_socket_of(all_an(), include_str!("golden/all_a.txt"))
}

/// The sockets of `ss -an`, ss's own as in `ss -an` on a 90-column terminal.
pub fn all_an_tty90() -> Vec<SocketRecord> {
    with_ss_socket_of(all_an(), include_str!("golden/all_an_tty90.txt"))
}

/// The capture machine's /etc/services, which ss named the ports from.
pub const SERVICES: &str = include_str!("captures/services");

/// The cgroup the captures ran in: cgroup2's root, whose id is 1.
pub const ROOT_CGROUP: u64 = 1;

/// The processes ss named netlink sockets after (`proto:comm/pid`) in the captures.
pub fn processes() -> Vec<(u32, String)> {
    let captures = [
        include_str!("golden/nl_a.txt"),
        include_str!("golden/all_a.txt"),
        include_str!("golden/all_an_tty90.txt"),
    ];
    let mut found: Vec<(u32, String)> = captures
        .iter()
        .flat_map(|capture| capture.split_whitespace())
        .filter_map(|token| {
            let (_, owner) = token.split_once(':')?;
            let (comm, pid) = owner.rsplit_once('/')?;
            Some((pid.parse().ok()?, comm.to_string()))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Owners as an ss -p capture of the same listing printed them, line by line.
fn with_owners(mut records: Vec<SocketRecord>, capture: &str) -> Vec<SocketRecord> {
    let lines: Vec<&str> = capture.lines().skip(1).collect();
    assert_eq!(records.len(), lines.len(), "one line of ss -p a socket");
    for (record, line) in records.iter_mut().zip(lines) {
        record.users = owners_of(line);
    }
    records
}

/// The `users:((...))` column of an ss line.
fn owners_of(line: &str) -> Vec<SocketUser> {
    let Some((_, users)) = line.split_once("users:((") else {
        return Vec::new();
    };
    let users = &users[..users.find("))").expect("users:(( closes")];
    users
        .split("),(")
        .map(|entry| {
            // "comm",pid=N,fd=N
            let (comm, ids) = entry[1..].split_once("\",").expect("a quoted comm");
            let id = |key: &str| -> u32 {
                let field = ids.split(',').find_map(|f| f.strip_prefix(key));
                field.expect("pid= and fd=").parse().expect("a number")
            };
            SocketUser::process(comm, id("pid="), id("fd="))
        })
        .collect()
}

/// Captures of one listing differ only in ss's own sock_diag socket (netlink protocol 4):
/// each capture was a new ss process, whose pid is that socket's port id, and the kernel
/// listed it before or after its own tcpdiag socket. `capture` (with names or numbers) says
/// which pid, and where.
fn with_ss_socket_of(mut records: Vec<SocketRecord>, capture: &str) -> Vec<SocketRecord> {
    // `tcpdiag:kernel` or `4:0` for the kernel's, `tcpdiag:ss/PID` or `4:PID` for ss's.
    let tcpdiag_owners: Vec<&str> = capture
        .lines()
        .filter_map(|line| {
            let token = line
                .split_whitespace()
                .find(|t| t.starts_with("tcpdiag:") || t.starts_with("4:"))?;
            token.split_once(':').map(|(_, owner)| owner)
        })
        .collect();
    let ss_line = tcpdiag_owners
        .iter()
        .position(|owner| !matches!(*owner, "kernel" | "0"))
        .expect("ss's own socket in the capture");
    let owner = tcpdiag_owners[ss_line];
    let ss_pid = owner
        .rsplit_once('/')
        .map_or(owner, |(_, pid)| pid)
        .parse()
        .expect("ss's pid");
    let tcpdiag = |ours: bool| move |record: &SocketRecord| matches!(record.local, Endpoint::Netlink { protocol: 4, portid } if (portid != 0) == ours);
    let ss = records
        .iter()
        .position(tcpdiag(true))
        .expect("ss's own socket");
    let kernel = records
        .iter()
        .position(tcpdiag(false))
        .expect("the kernel's");
    if let Endpoint::Netlink { portid, .. } = &mut records[ss].local {
        *portid = ss_pid;
    }
    if (ss < kernel) != (ss_line == 0) {
        records.swap(ss, kernel);
    }
    records
}

/// The sockets of a numeric ss capture, from every column and detail it printed. `netid`
/// is the family of a capture without a Netid column.
fn parse_capture(capture: &str, netid: Option<Netid>) -> Vec<SocketRecord> {
    let mut records: Vec<SocketRecord> = Vec::new();
    for line in capture.lines().skip(1) {
        let mut tokens = line.split_whitespace().peekable();
        if line.starts_with('\t') {
            // The details ss puts on a line of their own.
            let record = records.last_mut().expect("a socket line first");
            parse_details(record, &mut tokens, line);
            continue;
        }
        let netid = netid.unwrap_or_else(|| {
            let name = tokens.next().expect("a Netid column");
            NETIDS
                .into_iter()
                .find(|n| n.ss_name() == name)
                .unwrap_or_else(|| panic!("unknown netid {name:?}"))
        });
        let state = tokens.next().expect("a State column");
        let state = SockState::ALL
            .into_iter()
            .find(|s| s.ss_name() == state)
            .unwrap_or_else(|| panic!("unknown state {state:?}"));
        let mut number = || -> u64 {
            let token = tokens.next().expect("a number");
            token
                .parse()
                .unwrap_or_else(|_| panic!("{token:?} is no number"))
        };
        let (recv_q, send_q) = (number() as u32, number() as u32);
        let mut word = || tokens.next().expect("an address column");
        let mut record = if netid.is_unix() {
            let name = match word() {
                "*" => None,
                name => Some(match name.strip_prefix('@') {
                    // ss prints an abstract name's NUL bytes as '@'.
                    Some(abstract_name) => {
                        UnixName::Abstract(abstract_name.replace('@', "\0").into())
                    }
                    None => UnixName::Path(name.into()),
                }),
            };
            let inode = word().parse().expect("an inode");
            assert_eq!(word(), "*", "a unix peer has no name");
            let peer = word().parse().expect("the peer's inode");
            super::unix(netid, state, name, inode, peer)
        } else if netid.is_packet() {
            let (protocol, interface) = word().rsplit_once(':').expect("protocol:interface");
            let protocol = match protocol {
                "*" => ETH_P_ALL,
                number => number.trim_matches(['[', ']']).parse().expect("a protocol"),
            };
            assert_eq!(word(), "*", "a packet socket has no peer");
            super::packet(netid, protocol, interface_index(interface))
        } else if netid == Netid::Netlink {
            let (protocol, portid) = word().split_once(':').expect("protocol:portid");
            assert_eq!(word(), "*", "the kernel's end");
            netlink(
                protocol.parse().expect("a protocol"),
                portid.parse().expect("a port id"),
            )
        } else {
            let (local, peer) = (word(), word());
            let mut record = SocketRecord::new(netid, state, inet_of(local), inet_of(peer));
            // ss prints `*` for a dual-stack wildcard, `[::]` for an IPv6-only one.
            if [local, peer].iter().any(|a| a.starts_with("*:")) {
                record.v6only = Some(false);
            }
            if [local, peer].iter().any(|a| a.starts_with("[::]:")) {
                record.v6only = Some(true);
            }
            record
        };
        record.recv_q = recv_q;
        record.send_q = send_q;
        parse_details(&mut record, &mut tokens, line);
        records.push(record);
    }
    records
}

const NETIDS: [Netid; 9] = [
    Netid::Tcp,
    Netid::Udp,
    Netid::Raw,
    Netid::UnixStream,
    Netid::UnixDgram,
    Netid::UnixSeqpacket,
    Netid::PacketRaw,
    Netid::PacketDgram,
    Netid::Netlink,
];

/// ETH_P_ALL, which ss prints as `*`.
const ETH_P_ALL: u16 = 3;

fn interface_index(name: &str) -> u32 {
    match name {
        "*" => 0,
        "lo" => 1,
        other => panic!("no index known for interface {other:?}"),
    }
}

/// An inet endpoint as ss prints it numerically: `addr:port`, `[v6]:port`, `addr%ifname:port`,
/// `*` for the IPv6 wildcard and for port 0.
fn inet_of(text: &str) -> Endpoint {
    let (addr, port) = text.rsplit_once(':').expect("addr:port");
    let (addr, scope) = match addr.split_once('%') {
        Some((addr, interface)) => (addr, interface_index(interface)),
        None => (addr, 0),
    };
    let addr: IpAddr = match addr {
        "*" => IpAddr::from([0u16; 8]),
        addr => addr.trim_matches(['[', ']']).parse().expect("an address"),
    };
    let port = match port {
        "*" => 0,
        port => port.parse().expect("a port"),
    };
    Endpoint::Inet { addr, port, scope }
}

/// The details after the address columns (-e, -m, -p, -o; packet and netlink extras).
fn parse_details<'a>(
    record: &mut SocketRecord,
    tokens: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    line: &str,
) {
    while let Some(token) = tokens.next() {
        let (key, value) = token.split_once([':', '=']).unwrap_or((token, ""));
        match key {
            "users" => record.users = owners_of(line),
            "ino" if record.netid.is_unix() => {
                let ino = value.parse().expect("an inode");
                record
                    .unix_vfs
                    .get_or_insert(UnixVfs { ino: 0, dev: 0 })
                    .ino = ino;
            }
            "ino" => record.inode = value.parse().expect("an inode"),
            "dev" => {
                // ss prints glibc's major()/minor() of the kernel's dev_t encoding.
                let (major, minor) = value.split_once('/').expect("major/minor");
                let (major, minor): (u64, u64) = (major.parse().unwrap(), minor.parse().unwrap());
                let dev = ((major & 0xfff) << 8)
                    | ((major & !0xfff) << 32)
                    | (minor & 0xff)
                    | ((minor & !0xff) << 12);
                record
                    .unix_vfs
                    .get_or_insert(UnixVfs { ino: 0, dev: 0 })
                    .dev = dev as u32;
            }
            "sk" if record.netid == Netid::Netlink => {
                assert_eq!(value, "0", "ss knows no netlink socket's address");
            }
            "cb" => assert_eq!(value, "0", "ss knows no netlink callback"),
            "sk" => record.cookie = Cookie(u64::from_str_radix(value, 16).expect("a cookie")),
            "cgroup" => {
                assert_eq!(value, "/", "the captures ran in the root cgroup");
                record.cgroup_id = Some(ROOT_CGROUP);
            }
            "uid" => record.uid = value.parse().expect("a uid"),
            "v6only" => record.v6only = Some(value == "1"),
            "<->" | "-->" | "<--" | "---" => {
                let bytes = token.as_bytes();
                record.shutdown =
                    Some(u8::from(bytes[0] == b'-') | u8::from(bytes[2] == b'-') << 1);
            }
            "skmem" => {
                // (rN,rbN,tN,tbN,fN,wN,oN,blN,dN)
                let fields: Vec<u32> = value
                    .trim_matches(['(', ')'])
                    .split(',')
                    .map(|field| {
                        let digits = field.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                        digits.parse().expect("a memory figure")
                    })
                    .collect();
                record.meminfo = Some(mem(fields.try_into().expect("nine skmem fields")));
            }
            "peers" => {
                while let Some(peer) = tokens.peek().and_then(|t| t.parse().ok()) {
                    record.unix_pending.push(peer);
                    tokens.next();
                }
            }
            "ver" => {
                let packet = record.packet.get_or_insert_with(PacketInfo::default);
                packet.version = value.parse().expect("a version");
            }
            "cpy_thresh" => {
                let packet = record.packet.get_or_insert_with(PacketInfo::default);
                packet.copy_thresh = value.parse().expect("a threshold");
            }
            "flags(" => {
                const FLAGS: [(&str, u32); 5] = [
                    ("running", 0x1),
                    ("auxdata", 0x2),
                    ("origdev", 0x4),
                    ("vnethdr", 0x8),
                    ("loss", 0x10),
                ];
                let packet = record.packet.get_or_insert_with(PacketInfo::default);
                for flag in tokens.by_ref().take_while(|t| *t != ")") {
                    let bit = FLAGS.iter().find(|(name, _)| *name == flag);
                    packet.flags |= bit.map_or_else(|| flag.parse().expect("a flag"), |b| b.1);
                }
            }
            "groups" => {
                let groups = value.strip_prefix("0x").expect("hex groups");
                let groups = u32::from_str_radix(groups, 16).expect("hex groups");
                record
                    .netlink
                    .get_or_insert_with(NetlinkInfo::default)
                    .groups = groups;
            }
            _ => panic!("no reading of {token:?} in {line:?}"),
        }
    }
}
