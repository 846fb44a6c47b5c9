//! Network interfaces as netstat -i sees them, in the current network namespace: the devices
//! and counters of /proc/net/dev, the labels of IPv4 addresses (SIOCGIFCONF lists `eth0:1`
//! beside `eth0`), each one's settings from the SIOCGIF* ioctls netstat asks, and the IPv6
//! addresses of /proc/net/if_inet6.

use std::{
    cmp::Ordering,
    io,
    net::{Ipv4Addr, Ipv6Addr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::Path,
};

use super::proc_file::{self, LineError, ProcFileError};

/// A device's counters: the sixteen columns of /proc/net/dev.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub rx_fifo_errors: u64,
    pub rx_frame_errors: u64,
    pub rx_compressed: u64,
    pub rx_multicast: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
    pub tx_fifo_errors: u64,
    pub collisions: u64,
    pub tx_carrier_errors: u64,
    pub tx_compressed: u64,
}

/// An IPv4 address and what goes with it; a part the kernel would not give is 0.0.0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Config {
    pub address: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub broadcast: Ipv4Addr,
    /// The far end of a point-to-point link.
    pub destination: Ipv4Addr,
}

/// The device's hardware resources (SIOCGIFMAP); zero for virtual devices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceMap {
    pub mem_start: u64,
    pub mem_end: u64,
    pub base_addr: u16,
    pub irq: u8,
    pub dma: u8,
    pub port: u8,
}

/// One entry of netstat's interface list: a device, or an IPv4 address label of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// From /proc/net/dev; None for address labels, which have no counters of their own.
    pub stats: Option<DeviceStats>,
    /// IFF_* flags as SIOCGIFFLAGS reports them (16 bits, with RUNNING derived by the kernel).
    pub flags: u16,
    pub mtu: i32,
    /// ARPHRD_* type of the hardware address.
    pub hw_type: u16,
    /// The hardware address as SIOCGIFHWADDR returns it (sa_data; unused bytes zero).
    pub hw_address: [u8; 14],
    pub tx_queue_len: Option<i32>,
    pub ipv4: Option<Ipv4Config>,
    pub map: DeviceMap,
}

/// A line of /proc/net/if_inet6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inet6Address {
    pub address: Ipv6Addr,
    pub prefix_len: u32,
    /// IPV6_ADDR_* scope bits (0 global, 0x10 host, 0x20 link, 0x40 site, 0x80 compat).
    pub scope: u32,
    pub device: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InterfaceError {
    #[error(transparent)]
    File(#[from] ProcFileError<LineProblem>),
    #[error("cannot open a socket for interface ioctls: {0}")]
    Socket(#[source] io::Error),
    #[error("{request} on {name}: {source}")]
    Ioctl {
        name: String,
        request: &'static str,
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a line of /proc/net/dev or /proc/net/if_inet6.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("no `name:` before the counters")]
    NoName,
    #[error("{found} counters where 16 were expected")]
    CounterCount { found: usize },
    #[error("{0:?} is not a number")]
    BadNumber(String),
    #[error("expected `address index prefix scope flags device`")]
    Inet6Fields,
    #[error("{0:?} is not 32 hex digits")]
    BadAddress(String),
}

const PROC_NET_DEV: &str = "/proc/net/dev";
const PROC_NET_IF_INET6: &str = "/proc/net/if_inet6";

/// Every device and IPv4 address label, in netstat's order ([`natural_order`]), with its
/// settings. An interface that disappears while it is being asked about is left out.
pub fn interfaces() -> Result<Vec<Interface>, InterfaceError> {
    let devices = proc_file::read(Path::new(PROC_NET_DEV), parse_proc_net_dev)?;
    let socket = IoctlSocket::open().map_err(InterfaceError::Socket)?;
    let labels = socket
        .ipv4_labels()
        .map_err(|source| InterfaceError::Ioctl {
            name: "*".into(),
            request: "SIOCGIFCONF",
            source,
        })?;

    let mut names: Vec<(String, Option<DeviceStats>)> = devices
        .into_iter()
        .map(|(name, stats)| (name, Some(stats)))
        .collect();
    names.extend(labels.into_iter().map(|name| (name, None)));
    // Stable: a device listed twice keeps its /proc/net/dev entry (with counters) first.
    names.sort_by(|(a, _), (b, _)| natural_order(a, b));
    names.dedup_by(|(later, _), (earlier, _)| natural_order(earlier, later) == Ordering::Equal);

    let mut list = Vec::with_capacity(names.len());
    for (name, stats) in names {
        match socket.interface(&name, stats) {
            Ok(interface) => list.push(interface),
            Err(source) if source.raw_os_error() == Some(libc::ENODEV) => {}
            Err(source) => {
                return Err(InterfaceError::Ioctl {
                    name,
                    request: "SIOCGIFFLAGS",
                    source,
                })
            }
        }
    }
    Ok(list)
}

/// The IPv6 addresses of every device; empty when IPv6 is disabled.
pub fn inet6_addresses() -> Result<Vec<Inet6Address>, InterfaceError> {
    let addresses = proc_file::read_if_present(Path::new(PROC_NET_IF_INET6), parse_if_inet6)?;
    Ok(addresses.unwrap_or_default())
}

/// /proc/net/dev: two header lines, then `name: 16 counters` per device.
pub fn parse_proc_net_dev(
    text: &str,
) -> Result<Vec<(String, DeviceStats)>, LineError<LineProblem>> {
    let mut devices = Vec::new();
    for (index, line) in text.lines().enumerate().skip(2) {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        // Device names cannot contain ':', so the first one ends the name.
        let (name, counters) = line.split_once(':').ok_or((number, LineProblem::NoName))?;
        let name = name.trim();
        if name.is_empty() {
            return Err((number, LineProblem::NoName));
        }
        let values = counters
            .split_whitespace()
            .map(|word| {
                word.parse::<u64>()
                    .map_err(|_| (number, LineProblem::BadNumber(word.to_string())))
            })
            .collect::<Result<Vec<u64>, _>>()?;
        let Ok(
            [rx_bytes, rx_packets, rx_errors, rx_dropped, rx_fifo_errors, rx_frame_errors, rx_compressed, rx_multicast, tx_bytes, tx_packets, tx_errors, tx_dropped, tx_fifo_errors, collisions, tx_carrier_errors, tx_compressed],
        ) = <[u64; 16]>::try_from(values.as_slice())
        else {
            return Err((
                number,
                LineProblem::CounterCount {
                    found: values.len(),
                },
            ));
        };
        let stats = DeviceStats {
            rx_bytes,
            rx_packets,
            rx_errors,
            rx_dropped,
            rx_fifo_errors,
            rx_frame_errors,
            rx_compressed,
            rx_multicast,
            tx_bytes,
            tx_packets,
            tx_errors,
            tx_dropped,
            tx_fifo_errors,
            collisions,
            tx_carrier_errors,
            tx_compressed,
        };
        devices.push((name.to_string(), stats));
    }
    Ok(devices)
}

/// /proc/net/if_inet6: `address(32 hex) index prefix_len scope flags device`, numbers in hex.
pub fn parse_if_inet6(text: &str) -> Result<Vec<Inet6Address>, LineError<LineProblem>> {
    let mut addresses = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let [address, _index, prefix_len, scope, _flags, device] = words[..] else {
            return Err((number, LineProblem::Inet6Fields));
        };
        let hex = |word: &str| {
            u32::from_str_radix(word, 16)
                .map_err(|_| (number, LineProblem::BadNumber(word.to_string())))
        };
        addresses.push(Inet6Address {
            address: parse_hex_ipv6(address)
                .ok_or_else(|| (number, LineProblem::BadAddress(address.to_string())))?,
            prefix_len: hex(prefix_len)?,
            scope: hex(scope)?,
            device: device.to_string(),
        });
    }
    Ok(addresses)
}

/// An IPv6 address written as 32 hex digits in network byte order (as /proc writes them).
pub fn parse_hex_ipv6(text: &str) -> Option<Ipv6Addr> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let value = u128::from_str_radix(text, 16).ok()?;
    Some(Ipv6Addr::from(value))
}

/// netstat's interface order (net-tools' nstrcmp): names compare by their stem, then by the
/// number the stem ends in (eth2 before eth10), then by `:N` alias number (eth0 before eth0:1
/// before eth0:2); names it cannot tell apart this way compare as plain strings.
pub fn natural_order(a: &str, b: &str) -> Ordering {
    let (a_base, a_alias) = cut_alias(a);
    let (b_base, b_alias) = cut_alias(b);
    let a_stem = a_base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let b_stem = b_base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let common = a_stem.min(b_stem);
    a_base.as_bytes()[..common]
        .cmp(&b_base.as_bytes()[..common])
        .then(a_stem.cmp(&b_stem))
        .then_with(|| leading_number(&a_base[a_stem..]).cmp(&leading_number(&b_base[b_stem..])))
        .then_with(|| a_base.cmp(b_base))
        .then_with(|| {
            let number = |alias: Option<&str>| alias.map_or(-1, |a| leading_number(a) as i128);
            number(a_alias).cmp(&number(b_alias))
        })
        .then_with(|| match (a_alias, b_alias) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => Ordering::Equal,
        })
}

/// `name:digits` split into the name and the digits; other names have no alias.
fn cut_alias(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((base, alias)) if !alias.is_empty() && alias.bytes().all(|b| b.is_ascii_digit()) => {
            (base, Some(alias))
        }
        _ => (name, None),
    }
}

/// The value of a run of decimal digits (atoi), saturating instead of overflowing.
fn leading_number(digits: &str) -> u64 {
    digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

/// An AF_INET datagram socket, the handle the SIOCGIF* requests go through.
struct IoctlSocket(OwnedFd);

impl IoctlSocket {
    fn open() -> io::Result<IoctlSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a new descriptor that nothing else owns.
        Ok(IoctlSocket(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Every name SIOCGIFCONF reports: devices and labels that have an IPv4 address.
    fn ipv4_labels(&self) -> io::Result<Vec<String>> {
        // Asked with no buffer, the kernel says how many bytes the list needs.
        let mut conf = libc::ifconf {
            ifc_len: 0,
            ifc_ifcu: libc::__c_anonymous_ifc_ifcu {
                ifcu_buf: std::ptr::null_mut(),
            },
        };
        self.ioctl(libc::SIOCGIFCONF, std::ptr::from_mut(&mut conf).cast())?;
        let entry = std::mem::size_of::<libc::ifreq>();
        // Room for a few addresses added between the two calls.
        let capacity = usize::try_from(conf.ifc_len).unwrap_or(0) / entry + 4;
        // SAFETY: ifreq is plain data; all zero is a valid value.
        let mut requests: Vec<libc::ifreq> = vec![unsafe { std::mem::zeroed() }; capacity];
        conf.ifc_len = i32::try_from(capacity * entry).unwrap_or(i32::MAX);
        conf.ifc_ifcu.ifcu_req = requests.as_mut_ptr();
        self.ioctl(libc::SIOCGIFCONF, std::ptr::from_mut(&mut conf).cast())?;
        let filled = usize::try_from(conf.ifc_len).unwrap_or(0) / entry;
        Ok(requests[..filled.min(capacity)]
            .iter()
            .map(|request| c_name(&request.ifr_name))
            .collect())
    }

    /// The settings of one interface. Fails only when its flags cannot be read (ENODEV when
    /// it is gone); any other setting the kernel refuses is left empty, as netstat does.
    fn interface(&self, name: &str, stats: Option<DeviceStats>) -> io::Result<Interface> {
        // SAFETY (each union read below): the kernel filled the member its request names.
        let flags = self.request(name, libc::SIOCGIFFLAGS)?;
        let flags = unsafe { flags.ifr_ifru.ifru_flags } as u16;
        let mtu = self
            .request(name, libc::SIOCGIFMTU)
            .map_or(0, |r| unsafe { r.ifr_ifru.ifru_mtu });
        let (hw_type, hw_address) = match self.request(name, libc::SIOCGIFHWADDR) {
            Ok(r) => {
                let address = unsafe { r.ifr_ifru.ifru_hwaddr };
                (address.sa_family, address.sa_data.map(|b| b as u8))
            }
            Err(_) => (0, [0; 14]),
        };
        // ifr_qlen shares the union's int with ifr_metric.
        let tx_queue_len = self
            .request(name, libc::SIOCGIFTXQLEN)
            .ok()
            .map(|r| unsafe { r.ifr_ifru.ifru_metric });
        let map = self
            .request(name, libc::SIOCGIFMAP)
            .map(|r| {
                let map = unsafe { r.ifr_ifru.ifru_map };
                DeviceMap {
                    mem_start: map.mem_start,
                    mem_end: map.mem_end,
                    base_addr: map.base_addr,
                    irq: map.irq,
                    dma: map.dma,
                    port: map.port,
                }
            })
            .unwrap_or_default();
        let ipv4_of = |request| {
            self.request(name, request)
                .map(|r| sockaddr_ipv4(unsafe { &r.ifr_ifru.ifru_addr }))
                .unwrap_or(Ipv4Addr::UNSPECIFIED)
        };
        let ipv4 = self
            .request(name, libc::SIOCGIFADDR)
            .ok()
            .map(|r| Ipv4Config {
                address: sockaddr_ipv4(unsafe { &r.ifr_ifru.ifru_addr }),
                destination: ipv4_of(libc::SIOCGIFDSTADDR),
                broadcast: ipv4_of(libc::SIOCGIFBRDADDR),
                netmask: ipv4_of(libc::SIOCGIFNETMASK),
            });
        Ok(Interface {
            name: name.to_string(),
            stats,
            flags,
            mtu,
            hw_type,
            hw_address,
            tx_queue_len,
            ipv4,
            map,
        })
    }

    /// One SIOCGIF* request about `name`.
    fn request(&self, name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
        // SAFETY: ifreq is plain data; all zero is a valid value.
        let mut ifreq: libc::ifreq = unsafe { std::mem::zeroed() };
        let bytes = name.as_bytes();
        if bytes.len() >= ifreq.ifr_name.len() || bytes.contains(&0) {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        for (slot, &byte) in ifreq.ifr_name.iter_mut().zip(bytes) {
            *slot = byte as libc::c_char;
        }
        self.ioctl(request, std::ptr::from_mut(&mut ifreq).cast())?;
        Ok(ifreq)
    }

    fn ioctl(&self, request: libc::c_ulong, argument: *mut libc::c_void) -> io::Result<()> {
        // SAFETY: every caller passes a request whose argument is the struct `argument`
        // points to (ifreq or ifconf), live and writable for the call.
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), request, argument) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The IPv4 address in a sockaddr that holds a sockaddr_in (port in bytes 0-1, then the
/// address).
fn sockaddr_ipv4(address: &libc::sockaddr) -> Ipv4Addr {
    let d = address.sa_data.map(|b| b as u8);
    Ipv4Addr::new(d[2], d[3], d[4], d[5])
}

/// An interface name from a NUL-padded ifr_name.
fn c_name(raw: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_NET_DEV_TEXT: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
   swb:     516       6    1    2    3     4          5         6      517       7    8    9   10    11      12         13
";

    #[test]
    fn proc_net_dev_counters() {
        let devices = parse_proc_net_dev(PROC_NET_DEV_TEXT).expect("valid");
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].0, "lo");
        let (name, stats) = &devices[1];
        assert_eq!(name, "swb");
        assert_eq!(
            (
                stats.rx_bytes,
                stats.rx_packets,
                stats.rx_fifo_errors,
                stats.rx_multicast
            ),
            (516, 6, 3, 6)
        );
        assert_eq!(
            (
                stats.tx_packets,
                stats.tx_fifo_errors,
                stats.collisions,
                stats.tx_compressed
            ),
            (7, 10, 11, 13)
        );
    }

    #[test]
    fn odd_proc_net_dev_lines_are_typed_errors() {
        let header = "h1\nh2\n";
        assert_eq!(
            parse_proc_net_dev(&format!("{header}  eth0 1 2 3\n")),
            Err((3, LineProblem::NoName))
        );
        assert_eq!(
            parse_proc_net_dev(&format!("{header}eth0: 1 2 3\n")),
            Err((3, LineProblem::CounterCount { found: 3 }))
        );
        assert_eq!(
            parse_proc_net_dev(&format!("{header}eth0: 1 -2\n")),
            Err((3, LineProblem::BadNumber("-2".into())))
        );
        assert_eq!(
            parse_proc_net_dev(&format!("{header}  : 1\n")),
            Err((3, LineProblem::NoName))
        );
        assert_eq!(parse_proc_net_dev("only a header\n"), Ok(vec![]));
    }

    #[test]
    fn if_inet6_lines() {
        let text = "\
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000a0f485fffe12ffbd 03 40 20 80      swa
";
        let addresses = parse_if_inet6(text).expect("valid");
        assert_eq!(addresses[0].address, Ipv6Addr::LOCALHOST);
        assert_eq!((addresses[0].prefix_len, addresses[0].scope), (128, 0x10));
        assert_eq!(addresses[1].device, "swa");
        assert_eq!(
            addresses[1].address.to_string(),
            "fe80::a0f4:85ff:fe12:ffbd"
        );
        assert_eq!(
            parse_if_inet6("0001 01 80 10 80 lo\n"),
            Err((1, LineProblem::BadAddress("0001".into())))
        );
        assert_eq!(
            parse_if_inet6("00000000000000000000000000000001 01 80\n"),
            Err((1, LineProblem::Inet6Fields))
        );
        assert_eq!(
            parse_if_inet6("00000000000000000000000000000001 01 zz 10 80 lo\n"),
            Err((1, LineProblem::BadNumber("zz".into())))
        );
    }

    #[test]
    fn natural_order_as_netstat_sorts() {
        let mut names = vec![
            "eth10", "swb", "eth2", "lo", "eth2:10", "eth2:1", "swa:1", "swa", "eth", "eth01",
        ];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            ["eth", "eth01", "eth2", "eth2:1", "eth2:10", "eth10", "lo", "swa", "swa:1", "swb"]
        );
        assert_eq!(natural_order("eth0:1", "eth0:1"), Ordering::Equal);
        assert_eq!(natural_order("a", "a:"), Ordering::Less);
        assert_eq!(natural_order("a1b12", "a1b2"), Ordering::Greater);
        // Digits past u64 saturate instead of overflowing.
        assert_eq!(
            natural_order("e99999999999999999999999", "e1"),
            Ordering::Greater
        );
    }

    #[test]
    fn live_interfaces_include_lo() {
        // Every network namespace has lo; its flags say loopback.
        let list = interfaces().expect("interfaces readable");
        let lo = list.iter().find(|i| i.name == "lo").expect("lo listed");
        assert_ne!(lo.flags & libc::IFF_LOOPBACK as u16, 0);
        assert!(lo.stats.is_some());
    }
}
