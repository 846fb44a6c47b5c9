//! Raw sockets from /proc/net/raw and /proc/net/raw6, for kernels without RAW_DIAG (as ss
//! falls back to them), and UDP sockets from /proc/net/udp{,6}, where ss -K falls back to
//! them after a refused SOCK_DESTROY. Both files have one layout (ss's dgram_show_line).
//!
//! As in ss: a raw socket's local "port" is the IP protocol it was opened for, and the
//! socket's kernel address (the `pointer` column, zero unless privileged) is `sk_addr`.
//! Records are marked `from_proc`: ss shows no details for sockets read this way.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use super::error::SourceError;
use super::query::{IpVersions, StateMask};
use crate::model::{Endpoint, Netid, SockState, SocketRecord};

/// The files of the calling thread's network namespace (/proc/net follows the main
/// thread's, which differs after [`super::enter_netns`] on another thread).
const PROC_NET: &str = "/proc/thread-self/net";

/// The /proc/net tables of datagram layout sockwatch reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DgramTable {
    Raw,
    Udp,
}

impl DgramTable {
    fn netid(self) -> Netid {
        match self {
            DgramTable::Raw => Netid::Raw,
            DgramTable::Udp => Netid::Udp,
        }
    }

    /// The IPv4 and IPv6 files.
    fn files(self) -> [&'static str; 2] {
        match self {
            DgramTable::Raw => ["raw", "raw6"],
            DgramTable::Udp => ["udp", "udp6"],
        }
    }
}

/// Reads `table`'s sockets of the IP versions asked for, in states in `states`.
pub fn read_proc_dgram(
    table: DgramTable,
    ip: IpVersions,
    states: StateMask,
    sink: &mut impl FnMut(SocketRecord),
) -> Result<(), SourceError> {
    let [file4, file6] = table.files();
    for (wanted, v6, file) in [(ip.v4, false, file4), (ip.v6, true, file6)] {
        if !wanted {
            continue;
        }
        let path = Path::new(PROC_NET).join(file);
        let reader = match File::open(&path) {
            Ok(file) => BufReader::new(file),
            // A kernel without IPv6 has no raw6.
            Err(e) if v6 && e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(SourceError::ProcRead { path, source }),
        };
        parse(reader, table.netid(), v6, &path, states, sink)?;
    }
    Ok(())
}

/// Parses one /proc/net/raw{,6} or udp{,6} file (`netid` says which): a header line, then
/// one socket a line.
pub(super) fn parse(
    reader: impl BufRead,
    netid: Netid,
    v6: bool,
    path: &Path,
    states: StateMask,
    sink: &mut impl FnMut(SocketRecord),
) -> Result<(), SourceError> {
    let mut reader = reader;
    let mut line = String::new();
    for index in 0.. {
        let read = crate::bounded::read_line(&mut reader, &mut line).map_err(|source| {
            SourceError::ProcRead {
                path: path.to_path_buf(),
                source,
            }
        })?;
        if read.is_none() {
            break;
        }
        if index == 0 || line.trim().is_empty() {
            continue;
        }
        let record = parse_line(&line, netid, v6).map_err(|reason| SourceError::ProcParse {
            path: PathBuf::from(path),
            line: index + 1,
            reason,
        })?;
        if states.contains(record.state) {
            sink(record);
        }
    }
    Ok(())
}

/// `sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops`
fn parse_line(line: &str, netid: Netid, v6: bool) -> Result<SocketRecord, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 10 {
        return Err(format!(
            "expected at least 10 fields, found {}",
            fields.len()
        ));
    }
    let (local_addr, local_port) =
        endpoint(fields[1], v6).ok_or_else(|| format!("bad local address {:?}", fields[1]))?;
    let (peer_addr, peer_port) =
        endpoint(fields[2], v6).ok_or_else(|| format!("bad remote address {:?}", fields[2]))?;
    let state =
        u8::from_str_radix(fields[3], 16).map_err(|_| format!("bad state {:?}", fields[3]))?;
    let (send_q, recv_q) = fields[4]
        .split_once(':')
        .and_then(|(tx, rx)| Some((hex_u32(tx)?, hex_u32(rx)?)))
        .ok_or_else(|| format!("bad queue lengths {:?}", fields[4]))?;
    let uid = fields[7]
        .parse()
        .map_err(|_| format!("bad uid {:?}", fields[7]))?;
    let inode = fields[9]
        .parse()
        .map_err(|_| format!("bad inode {:?}", fields[9]))?;
    let sk_addr = match fields.get(11) {
        Some(pointer) => Some(
            u64::from_str_radix(pointer, 16)
                .map_err(|_| format!("bad socket pointer {pointer:?}"))?,
        ),
        None => None,
    };

    let mut record = SocketRecord::new(
        netid,
        SockState::from_kernel(state),
        Endpoint::Inet {
            addr: local_addr,
            port: local_port,
            scope: 0,
        },
        Endpoint::Inet {
            addr: peer_addr,
            port: peer_port,
            scope: 0,
        },
    );
    record.send_q = send_q;
    record.recv_q = recv_q;
    record.uid = uid;
    record.inode = inode;
    record.sk_addr = sk_addr;
    record.from_proc = true;
    Ok(record)
}

fn hex_u32(text: &str) -> Option<u32> {
    u32::from_str_radix(text, 16).ok()
}

/// `ADDR:PORT` in hex. The kernel prints each 32-bit word of the address as a host-order
/// number, so its bytes in host order are the address in network order.
fn endpoint(text: &str, v6: bool) -> Option<(IpAddr, u16)> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words = if v6 { 4 } else { 1 };
    if addr.len() != words * 8 || !addr.is_ascii() {
        return None;
    }
    let mut octets = [0u8; 16];
    for (i, chunk) in octets.chunks_exact_mut(4).take(words).enumerate() {
        let word = hex_u32(&addr[i * 8..i * 8 + 8])?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    let addr = if v6 {
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    };
    Some((addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
    1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 48282 2 0000000000000000 0
   17: 0100007F:0011 0200007F:0000 01 00000010:00000020 00:00000000 00000000  1000        0 48283 2 ffff8880053a1c00 0
";

    const RAW6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   58: 00000000000000000000000001000000:003A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 50001 2 0000000000000000 0
";

    fn parse_all(
        text: &str,
        v6: bool,
        states: StateMask,
    ) -> Result<Vec<SocketRecord>, SourceError> {
        let mut records = Vec::new();
        parse(
            text.as_bytes(),
            Netid::Raw,
            v6,
            Path::new("/proc/net/raw"),
            states,
            &mut |r| records.push(r),
        )?;
        Ok(records)
    }

    #[test]
    fn parses_ipv4_lines() {
        let records = parse_all(RAW, false, StateMask::ALL).unwrap();
        assert_eq!(records.len(), 2);
        let icmp = &records[0];
        assert_eq!((icmp.netid, icmp.state), (Netid::Raw, SockState::Close));
        assert_eq!(
            icmp.local,
            Endpoint::Inet {
                addr: "0.0.0.0".parse().unwrap(),
                port: 1,
                scope: 0
            }
        );
        assert_eq!(icmp.inode, 48282);
        assert!(icmp.from_proc);
        let udp = &records[1];
        assert_eq!(udp.state, SockState::Established);
        assert_eq!(
            udp.local,
            Endpoint::Inet {
                addr: "127.0.0.1".parse().unwrap(),
                port: 17,
                scope: 0
            }
        );
        assert_eq!(
            udp.peer,
            Endpoint::Inet {
                addr: "127.0.0.2".parse().unwrap(),
                port: 0,
                scope: 0
            }
        );
        assert_eq!((udp.send_q, udp.recv_q, udp.uid), (0x10, 0x20, 1000));
        assert_eq!(udp.sk_addr, Some(0xffff_8880_053a_1c00));
    }

    #[test]
    fn parses_ipv6_lines() {
        let records = parse_all(RAW6, true, StateMask::ALL).unwrap();
        assert_eq!(
            records[0].local,
            Endpoint::Inet {
                addr: "::1".parse().unwrap(),
                port: 58,
                scope: 0
            }
        );
    }

    #[test]
    fn filters_by_state() {
        let listening_only = StateMask(1 << SockState::Established.kernel());
        let records = parse_all(RAW, false, listening_only).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].state, SockState::Established);
    }

    #[test]
    fn tolerates_blank_lines_and_a_missing_tail() {
        let text = "header\n\n   1: 00000000:00FF 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 5\n";
        let records = parse_all(text, false, StateMask::ALL).unwrap();
        assert_eq!(records[0].sk_addr, None);
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let cases = [
            (
                "h\n   1: 00000000:0001\n",
                "expected at least 10 fields, found 2",
            ),
            (
                "h\n 1: 0000000G:0001 00000000:0000 07 0:0 0:0 0 0 0 5\n",
                "bad local address",
            ),
            (
                "h\n 1: 00000000:0001 00000000:0000 ZZ 0:0 0:0 0 0 0 5\n",
                "bad state",
            ),
            (
                "h\n 1: 00000000:0001 00000000:0000 07 00 0:0 0 0 0 5\n",
                "bad queue lengths",
            ),
            (
                "h\n 1: 00000000:0001 00000000:0000 07 0:0 0:0 0 -1 0 5\n",
                "bad uid",
            ),
            (
                "h\n 1: 00000000:0001 0000000:0000 07 0:0 0:0 0 0 0 5\n",
                "bad remote address",
            ),
            (
                "h\n 1: 00000000:0001 00000000:0000 07 0:0 0:0 0 0 0 5 2 xyz\n",
                "bad socket pointer",
            ),
            (
                "h\n 1: 000000é0:0001 00000000:0000 07 0:0 0:0 0 0 0 5\n",
                "bad local address",
            ),
        ];
        for (text, reason) in cases {
            let err = parse_all(text, false, StateMask::ALL).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("/proc/net/raw:2: "), "{message}");
            assert!(message.contains(reason), "{message} lacks {reason}");
        }
    }

    #[test]
    fn reads_this_machine() {
        // Whatever sockets exist, the real files must parse cleanly.
        for table in [DgramTable::Raw, DgramTable::Udp] {
            read_proc_dgram(table, IpVersions::BOTH, StateMask::ALL, &mut |_| {}).unwrap();
        }
    }
}
