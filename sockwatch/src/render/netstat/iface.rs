//! `netstat -i`: the kernel interface table in net-tools 2.10's layouts: one line per
//! interface (Iface MTU RX-OK ... Flg), or with -e its ifconfig-style blocks.

use std::{
    borrow::Cow,
    io::{self, Write},
};

use crate::{
    escape::escape,
    source::interfaces::{DeviceStats, Inet6Address, Interface},
};

/// IFF_* flags, as SIOCGIFFLAGS reports them.
mod iff {
    pub const UP: u16 = 0x1;
    pub const BROADCAST: u16 = 0x2;
    pub const DEBUG: u16 = 0x4;
    pub const LOOPBACK: u16 = 0x8;
    pub const POINTOPOINT: u16 = 0x10;
    pub const NOTRAILERS: u16 = 0x20;
    pub const RUNNING: u16 = 0x40;
    pub const NOARP: u16 = 0x80;
    pub const PROMISC: u16 = 0x100;
    pub const ALLMULTI: u16 = 0x200;
    pub const MASTER: u16 = 0x400;
    pub const SLAVE: u16 = 0x800;
    pub const MULTICAST: u16 = 0x1000;
    pub const PORTSEL: u16 = 0x2000;
    pub const AUTOMEDIA: u16 = 0x4000;
    pub const DYNAMIC: u16 = 0x8000;
}

/// The title netstat prints once, before the first listing (also with -c).
pub const TITLE: &str = "Kernel Interface table\n";

/// Whether netstat lists an interface: up ones, or all with -a.
pub fn is_listed(interface: &Interface, all: bool) -> bool {
    all || interface.flags & iff::UP != 0
}

/// An interface's name as written: escaped for a terminal (a name may hold any byte but NUL,
/// '/', ':' and white space), as it is otherwise.
fn name_text(interface: &Interface, escaped: bool) -> Cow<'_, str> {
    if escaped {
        escape(interface.name.as_bytes())
    } else {
        Cow::Borrowed(&interface.name)
    }
}

/// The one-line-per-interface table with its column heads (without [`TITLE`]); `escaped` when
/// the output is a terminal.
pub fn write_interface_table<W: Write>(
    mut out: W,
    interfaces: &[&Interface],
    escaped: bool,
) -> io::Result<()> {
    writeln!(
        out,
        "Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg"
    )?;
    for interface in interfaces {
        // Names fit in 15 bytes; an escaped one may be longer and is not cut.
        if escaped {
            write!(out, "{:<15} ", name_text(interface, true))?;
        } else {
            write!(out, "{:<15.15} ", interface.name)?;
        }
        write!(out, "{:>5} ", interface.mtu)?;
        match &interface.stats {
            Some(s) => write!(
                out,
                "{:>8} {:>6} {:>6} {:<6} {:>8} {:>6} {:>6} {:>6} ",
                s.rx_packets,
                s.rx_errors,
                s.rx_dropped,
                s.rx_fifo_errors,
                s.tx_packets,
                s.tx_errors,
                s.tx_dropped,
                s.tx_fifo_errors
            )?,
            None => write!(out, "{:<56}", "     - no statistics available -")?,
        }
        writeln!(out, "{}", flag_letters(interface.flags))?;
    }
    Ok(())
}

/// The -e layout: one ifconfig-style block per interface, IPv6 addresses taken from
/// `inet6` by device name; `escaped` when the output is a terminal.
pub fn write_interface_details<W: Write>(
    mut out: W,
    interfaces: &[&Interface],
    inet6: &[Inet6Address],
    escaped: bool,
) -> io::Result<()> {
    for interface in interfaces {
        write_details(&mut out, interface, inet6, escaped)?;
    }
    Ok(())
}

fn flag_letters(flags: u16) -> String {
    if flags == 0 {
        return "[NO FLAGS]".to_string();
    }
    [
        (iff::ALLMULTI, 'A'),
        (iff::BROADCAST, 'B'),
        (iff::DEBUG, 'D'),
        (iff::LOOPBACK, 'L'),
        (iff::MULTICAST, 'M'),
        (iff::DYNAMIC, 'd'),
        (iff::PROMISC, 'P'),
        (iff::NOTRAILERS, 'N'),
        (iff::NOARP, 'O'),
        (iff::POINTOPOINT, 'P'),
        (iff::SLAVE, 's'),
        (iff::MASTER, 'm'),
        (iff::RUNNING, 'R'),
        (iff::UP, 'U'),
    ]
    .into_iter()
    .filter(|&(bit, _)| flags & bit != 0)
    .map(|(_, letter)| letter)
    .collect()
}

/// `flags=N<UP,BROADCAST,...>`: the number as the C short netstat keeps.
fn flag_words(flags: u16) -> String {
    let words: Vec<&str> = [
        (iff::UP, "UP"),
        (iff::BROADCAST, "BROADCAST"),
        (iff::DEBUG, "DEBUG"),
        (iff::LOOPBACK, "LOOPBACK"),
        (iff::POINTOPOINT, "POINTOPOINT"),
        (iff::NOTRAILERS, "NOTRAILERS"),
        (iff::RUNNING, "RUNNING"),
        (iff::NOARP, "NOARP"),
        (iff::PROMISC, "PROMISC"),
        (iff::ALLMULTI, "ALLMULTI"),
        (iff::SLAVE, "SLAVE"),
        (iff::MASTER, "MASTER"),
        (iff::MULTICAST, "MULTICAST"),
        (iff::DYNAMIC, "DYNAMIC"),
    ]
    .into_iter()
    .filter(|&(bit, _)| flags & bit != 0)
    .map(|(_, word)| word)
    .collect();
    // With no flag at all netstat's text loses its closing '>' as well.
    let list = if flags == 0 {
        String::new()
    } else {
        format!("{}>", words.join(","))
    };
    format!("flags={}<{list}", flags as i16)
}

/// A hardware type netstat knows: its short name, its title, and whether (and how) it prints
/// the address.
struct HardwareType {
    name: &'static str,
    title: &'static str,
    address: AddressStyle,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AddressStyle {
    None,
    /// Six bytes, `aa:bb:cc:dd:ee:ff`.
    Ethernet,
    /// Printed as an empty string (IPIP tunnels).
    Empty,
    /// Sixteen bytes, `00-11-...`.
    Unspec,
}

/// The types of net-tools' table that Linux devices use today (ARPHRD_* numbers); any other
/// type prints as netstat's `unspec` fallback.
fn hardware_type(arphrd: u16) -> HardwareType {
    let (name, title, address) = match arphrd {
        1 => ("ether", "Ethernet", AddressStyle::Ethernet),
        768 => ("tunnel", "IPIP Tunnel", AddressStyle::Empty),
        772 => ("loop", "Local Loopback", AddressStyle::None),
        776 => ("sit", "IPv6-in-IPv4", AddressStyle::None),
        _ => ("unspec", "UNSPEC", AddressStyle::Unspec),
    };
    HardwareType {
        name,
        title,
        address,
    }
}

/// IPV6_ADDR_* scope bits of /proc/net/if_inet6.
const SCOPE_COMPAT_V4: u32 = 0x80;
const SCOPE_LOOPBACK: u32 = 0x10;
const SCOPE_LINK: u32 = 0x20;
const SCOPE_SITE: u32 = 0x40;

/// The media names of netstat's table for IFF_PORTSEL devices, by ifmap port.
const PORT_NAMES: [&str; 7] = [
    "unknown",
    "10base2",
    "10baseT",
    "AUI",
    "100baseT",
    "100baseTX",
    "100baseFX",
];

fn write_details(
    out: &mut impl Write,
    interface: &Interface,
    inet6: &[Inet6Address],
    escaped: bool,
) -> io::Result<()> {
    writeln!(
        out,
        "{}: {}  mtu {}",
        name_text(interface, escaped),
        flag_words(interface.flags),
        interface.mtu
    )?;
    if let Some(ipv4) = &interface.ipv4 {
        write!(
            out,
            "        inet {}  netmask {}",
            ipv4.address, ipv4.netmask
        )?;
        if interface.flags & iff::BROADCAST != 0 {
            write!(out, "  broadcast {}", ipv4.broadcast)?;
        }
        if interface.flags & iff::POINTOPOINT != 0 {
            write!(out, "  destination {}", ipv4.destination)?;
        }
        writeln!(out)?;
    }
    for address in inet6.iter().filter(|a| a.device == interface.name) {
        let text = super::addr::strip_v4_mapped_prefix(
            super::addr::ipv6_text(address.address),
            address.address,
        );
        writeln!(
            out,
            "        inet6 {text}  prefixlen {}  scopeid 0x{:x}{}",
            address.prefix_len,
            address.scope,
            scope_words(address.scope)
        )?;
    }
    let hardware = hardware_type(interface.hw_type);
    let address = match hardware.address {
        AddressStyle::None => None,
        AddressStyle::Empty => Some(String::new()),
        AddressStyle::Ethernet => Some(
            interface.hw_address[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        // netstat prints the 8 bytes it keeps, then 8 more of zeroed room.
        AddressStyle::Unspec => Some(
            interface.hw_address[..8]
                .iter()
                .chain(&[0; 8])
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join("-"),
        ),
    };
    match address {
        Some(address) => write!(out, "        {} {address}", hardware.name)?,
        None => write!(out, "        {}", hardware.name)?,
    }
    if let Some(length) = interface.tx_queue_len {
        write!(out, "  txqueuelen {length}")?;
    }
    writeln!(out, "  ({})", hardware.title)?;
    if interface.flags & iff::PORTSEL != 0 {
        let port = PORT_NAMES
            .get(usize::from(interface.map.port))
            .unwrap_or(&PORT_NAMES[0]);
        write!(out, "        media {port}")?;
        if interface.flags & iff::AUTOMEDIA != 0 {
            write!(out, "autoselect")?;
        }
        writeln!(out)?;
    }
    if let Some(stats) = &interface.stats {
        write_counters(out, stats)?;
    }
    let map = &interface.map;
    if map.irq != 0 || map.mem_start != 0 || map.dma != 0 || map.base_addr >= 0x100 {
        write!(out, "        device ")?;
        if map.irq != 0 {
            write!(out, "interrupt {}  ", map.irq)?;
        }
        if map.base_addr >= 0x100 {
            write!(out, "base 0x{:x}  ", map.base_addr)?;
        }
        if map.mem_start != 0 {
            write!(out, "memory 0x{:x}-{:x}  ", map.mem_start, map.mem_end)?;
        }
        if map.dma != 0 {
            write!(out, "  dma 0x{:x}", map.dma)?;
        }
        writeln!(out)?;
    }
    writeln!(out)
}

/// `<global>`, `<link>`, `<host>`, `<compat,...>` after an IPv6 scope id.
fn scope_words(scope: u32) -> String {
    let mut words = Vec::new();
    let mut rest = scope;
    if rest & SCOPE_COMPAT_V4 != 0 {
        words.push("compat");
        rest -= SCOPE_COMPAT_V4;
    }
    if rest == 0 {
        words.push("global");
    }
    for (bit, word) in [
        (SCOPE_LINK, "link"),
        (SCOPE_SITE, "site"),
        (SCOPE_LOOPBACK, "host"),
    ] {
        if rest & bit != 0 {
            words.push(word);
        }
    }
    if words.is_empty() {
        String::new()
    } else {
        format!("<{}>", words.join(","))
    }
}

fn write_counters(out: &mut impl Write, s: &DeviceStats) -> io::Result<()> {
    writeln!(
        out,
        "        RX packets {}  bytes {} ({})",
        s.rx_packets,
        s.rx_bytes,
        human_bytes(s.rx_bytes)
    )?;
    writeln!(
        out,
        "        RX errors {}  dropped {}  overruns {}  frame {}",
        s.rx_errors, s.rx_dropped, s.rx_fifo_errors, s.rx_frame_errors
    )?;
    writeln!(
        out,
        "        TX packets {}  bytes {} ({})",
        s.tx_packets,
        s.tx_bytes,
        human_bytes(s.tx_bytes)
    )?;
    writeln!(
        out,
        "        TX errors {}  dropped {} overruns {}  carrier {}  collisions {}",
        s.tx_errors, s.tx_dropped, s.tx_fifo_errors, s.tx_carrier_errors, s.collisions
    )
}

/// A byte count in netstat's binary units, one decimal, truncated: `266.0 B`, `1.5 KiB`.
/// The unit is the largest one the count exceeds.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "PiB"),
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    let tenths = if bytes > 1 << 60 {
        return format_tenths(bytes / ((1 << 60) / 10), "EiB");
    } else {
        bytes.wrapping_mul(10)
    };
    match UNITS.iter().find(|&&(size, _)| bytes > size) {
        Some(&(size, unit)) => format_tenths(tenths / size, unit),
        None => format_tenths(tenths, "B"),
    }
}

fn format_tenths(tenths: u64, unit: &str) -> String {
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::interfaces::{parse_if_inet6, DeviceMap, Ipv4Config};
    use std::net::Ipv4Addr;

    fn veth(name: &str, stats: Option<DeviceStats>) -> Interface {
        Interface {
            name: name.to_string(),
            stats,
            flags: iff::UP | iff::BROADCAST | iff::RUNNING | iff::MULTICAST,
            mtu: 1500,
            hw_type: 1,
            hw_address: [0xa2, 0xf4, 0x85, 0x12, 0xff, 0xbd, 0, 0, 0, 0, 0, 0, 0, 0],
            tx_queue_len: Some(1000),
            ipv4: Some(Ipv4Config {
                address: Ipv4Addr::new(10, 200, 0, 1),
                netmask: Ipv4Addr::new(255, 255, 255, 0),
                broadcast: Ipv4Addr::UNSPECIFIED,
                destination: Ipv4Addr::UNSPECIFIED,
            }),
            map: DeviceMap::default(),
        }
    }

    fn stats() -> DeviceStats {
        DeviceStats {
            rx_bytes: 266,
            rx_packets: 3,
            tx_bytes: 1_500_000,
            tx_packets: 1234567,
            rx_fifo_errors: 2,
            ..DeviceStats::default()
        }
    }

    /// `netstat -i` as net-tools 2.10 printed it in a namespace with a veth end and a label.
    #[test]
    fn table_rows() {
        let swa = veth("swa", Some(stats()));
        let label = veth("swa:1", None);
        let mut out = Vec::new();
        write_interface_table(&mut out, &[&swa, &label], false).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "\
Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg
swa              1500        3      0      0 2       1234567      0      0      0 BMRU
swa:1            1500      - no statistics available -                        BMRU
"
        );
    }

    /// A name with control bytes: raw in a pipe (as net-tools), escaped on a terminal.
    #[test]
    fn names_are_escaped_for_a_terminal_only() {
        let hostile = veth("e\x1b[31m\x07", None);
        let mut raw = Vec::new();
        write_interface_table(&mut raw, &[&hostile], false).expect("written");
        assert!(raw.windows(7).any(|w| w == b"e\x1b[31m\x07"));
        let mut tty = Vec::new();
        write_interface_table(&mut tty, &[&hostile], true).expect("written");
        let text = String::from_utf8(tty).expect("utf-8");
        assert!(text.contains("\ne\\x1b[31m\\x07    1500"), "{text:?}");
        let mut tty = Vec::new();
        write_interface_details(&mut tty, &[&hostile], &[], true).expect("written");
        let text = String::from_utf8(tty).expect("utf-8");
        assert!(text.starts_with("e\\x1b[31m\\x07: flags="), "{text:?}");
    }

    #[test]
    fn details_block() {
        let swa = veth("swa", Some(stats()));
        let inet6 = parse_if_inet6("fe80000000000000a0f485fffe12ffbd 03 40 20 80      swa\n")
            .expect("valid");
        let mut out = Vec::new();
        write_interface_details(&mut out, &[&swa], &inet6, false).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "\
swa: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500
        inet 10.200.0.1  netmask 255.255.255.0  broadcast 0.0.0.0
        inet6 fe80::a0f4:85ff:fe12:ffbd  prefixlen 64  scopeid 0x20<link>
        ether a2:f4:85:12:ff:bd  txqueuelen 1000  (Ethernet)
        RX packets 3  bytes 266 (266.0 B)
        RX errors 0  dropped 0  overruns 2  frame 0
        TX packets 1234567  bytes 1500000 (1.4 MiB)
        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0

"
        );
    }

    #[test]
    fn flags_and_units() {
        assert_eq!(flag_letters(0), "[NO FLAGS]");
        assert_eq!(flag_letters(iff::LOOPBACK | iff::RUNNING | iff::UP), "LRU");
        assert_eq!(flag_words(0), "flags=0<");
        assert_eq!(
            flag_words(iff::UP | iff::LOOPBACK | iff::RUNNING),
            "flags=73<UP,LOOPBACK,RUNNING>"
        );
        assert_eq!(
            flag_words(iff::DYNAMIC | iff::UP),
            "flags=-32767<UP,DYNAMIC>"
        );
        assert_eq!(human_bytes(0), "0.0 B");
        assert_eq!(human_bytes(1024), "1024.0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
        assert_eq!(scope_words(0), "<global>");
        assert_eq!(scope_words(0x10), "<host>");
        assert_eq!(scope_words(0x80), "<compat,global>");
        assert_eq!(scope_words(0x100), "");
    }
}
