//! The kernel's socket counters behind `ss -s`: /proc/net/sockstat and sockstat6 (sockets in
//! use per protocol) and the CurrEstab counter of /proc/net/snmp.

use std::{
    convert::Infallible,
    path::{Path, PathBuf},
};

use super::proc_file::{self, ProcFileError};

type LineError = proc_file::LineError<Infallible>;

/// The counters ss's summary prints. Counters a file lacks stay 0, as in ss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockStats {
    /// `sockets: used`: every socket of the network namespace.
    pub sockets: i64,
    /// IPv4 TCP sockets in the hash tables (`TCP: inuse`).
    pub tcp4_inuse: i64,
    pub tcp_orphans: i64,
    pub tcp_timewait: i64,
    /// Allocated TCP sockets, both families (`TCP: alloc`).
    pub tcp_alloc: i64,
    /// Pages of TCP buffer memory (`TCP: mem`).
    pub tcp_mem: i64,
    pub tcp6_inuse: i64,
    pub udp4: i64,
    pub udp6: i64,
    pub raw4: i64,
    pub raw6: i64,
    pub frag4: i64,
    pub frag4_memory: i64,
    pub frag6: i64,
    pub frag6_memory: i64,
    /// TCP connections in ESTABLISHED or CLOSE-WAIT (`Tcp: CurrEstab` of /proc/net/snmp).
    pub tcp_established: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SockstatError {
    /// The files are read whole; no line of them is an error (see [`SockStats::add_sockstat`]).
    #[error(transparent)]
    File(#[from] ProcFileError<Infallible>),
    #[error(
        "{}: no {key} counter on its {section} lines",
        crate::escape::Escaped::path(path)
    )]
    MissingCounter {
        path: PathBuf,
        section: &'static str,
        key: &'static str,
    },
}

impl SockStats {
    /// Reads the current network namespace's counters from /proc/net.
    pub fn read() -> Result<SockStats, SockstatError> {
        SockStats::read_from(Path::new("/proc/net"))
    }

    /// Reads `sockstat`, `sockstat6` and `snmp` from `dir`. sockstat6 is optional: it is
    /// missing when IPv6 is disabled.
    pub fn read_from(dir: &Path) -> Result<SockStats, SockstatError> {
        // Bytes that are not UTF-8 are one more kind of malformed value, skipped like the
        // others (as ss does), not a reason to print no summary at all.
        let mut stats = SockStats::default();
        proc_file::read(&dir.join("sockstat"), |text| {
            stats.add_sockstat(text);
            Ok::<_, LineError>(())
        })?;
        proc_file::read_if_present(&dir.join("sockstat6"), |text| {
            stats.add_sockstat(text);
            Ok::<_, LineError>(())
        })?;
        let established = proc_file::read(&dir.join("snmp"), |text| {
            Ok::<_, LineError>(snmp_counter(text, "Tcp:", "CurrEstab"))
        })?;
        stats.tcp_established = established.ok_or_else(|| SockstatError::MissingCounter {
            path: dir.join("snmp"),
            section: "Tcp:",
            key: "CurrEstab",
        })?;
        Ok(stats)
    }

    /// Takes the counters of a sockstat or sockstat6 file: lines of a protocol tag and
    /// `name value` pairs. Unknown tags and malformed values are skipped.
    pub fn add_sockstat(&mut self, text: &str) {
        for line in text.lines() {
            let Some((tag, rest)) = line.split_once(' ') else {
                continue;
            };
            // Each line's values in the order ss takes them; the names are not checked.
            let targets: &mut [&mut i64] = match tag {
                "sockets:" => &mut [&mut self.sockets],
                "TCP:" => &mut [
                    &mut self.tcp4_inuse,
                    &mut self.tcp_orphans,
                    &mut self.tcp_timewait,
                    &mut self.tcp_alloc,
                    &mut self.tcp_mem,
                ],
                "TCP6:" => &mut [&mut self.tcp6_inuse],
                "UDP:" => &mut [&mut self.udp4],
                "UDP6:" => &mut [&mut self.udp6],
                "RAW:" => &mut [&mut self.raw4],
                "RAW6:" => &mut [&mut self.raw6],
                "FRAG:" => &mut [&mut self.frag4, &mut self.frag4_memory],
                "FRAG6:" => &mut [&mut self.frag6, &mut self.frag6_memory],
                _ => continue,
            };
            let mut words = rest.split_whitespace();
            for target in targets.iter_mut() {
                // Skip the name; stop at the first value that is not a number, as sscanf.
                let value = words
                    .next()
                    .and_then(|_| words.next())
                    .and_then(c_int_prefix);
                match value {
                    Some(value) => **target = value,
                    None => break,
                }
            }
        }
    }
}

/// The value of `key` in /proc/net/snmp's `section` (a header line of names followed by a
/// line of values, both starting with `section`).
pub fn snmp_counter(snmp: &str, section: &str, key: &str) -> Option<i64> {
    let mut lines = snmp.lines();
    while let Some(header) = lines.next() {
        let Some(names) = header.strip_prefix(section) else {
            continue;
        };
        let values = lines.next()?.strip_prefix(section)?;
        let index = names.split_whitespace().position(|name| name == key)?;
        return values.split_whitespace().nth(index).and_then(c_int_prefix);
    }
    None
}

/// The number at the start of `word` as scanf's %d reads it: optional sign, then digits.
fn c_int_prefix(word: &str) -> Option<i64> {
    let digits_from = usize::from(word.starts_with(['-', '+']));
    let digits = word[digits_from..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    word[..digits_from + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOCKSTAT: &str = "\
sockets: used 78
TCP: inuse 17 orphan 0 tw 1 alloc 25 mem 2
UDP: inuse 2 mem 1
UDPLITE: inuse 0
RAW: inuse 2
FRAG: inuse 3 memory 4096
";
    const SOCKSTAT6: &str = "\
TCP6: inuse 7
UDP6: inuse 2
UDPLITE6: inuse 0
RAW6: inuse 1
FRAG6: inuse 0 memory 0
";
    const SNMP: &str = "\
Ip: Forwarding DefaultTTL
Ip: 2 64
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs
Tcp: 1 200 120000 -1 18 2 0 6 13 2939
Udp: InDatagrams
Udp: 5
";

    #[test]
    fn parses_proc_files() {
        let mut stats = SockStats::default();
        stats.add_sockstat(SOCKSTAT);
        stats.add_sockstat(SOCKSTAT6);
        assert_eq!(stats.sockets, 78);
        assert_eq!(
            (
                stats.tcp4_inuse,
                stats.tcp_orphans,
                stats.tcp_timewait,
                stats.tcp_alloc,
                stats.tcp_mem
            ),
            (17, 0, 1, 25, 2)
        );
        assert_eq!(
            (stats.udp4, stats.udp6, stats.raw4, stats.raw6),
            (2, 2, 2, 1)
        );
        assert_eq!(
            (stats.frag4, stats.frag4_memory, stats.tcp6_inuse),
            (3, 4096, 7)
        );
        assert_eq!(snmp_counter(SNMP, "Tcp:", "CurrEstab"), Some(13));
        assert_eq!(snmp_counter(SNMP, "Tcp:", "MaxConn"), Some(-1));
        assert_eq!(snmp_counter(SNMP, "Tcp:", "Nope"), None);
        assert_eq!(snmp_counter(SNMP, "Sctp:", "CurrEstab"), None);
    }

    #[test]
    fn odd_content_is_skipped() {
        let mut stats = SockStats::default();
        stats.add_sockstat(
            "sockets:\nTCP: inuse 4 orphan x tw 9\nRAW: inuse\nUDP inuse 3\n\n\u{fffd}",
        );
        assert_eq!(stats.tcp4_inuse, 4);
        // sscanf stops at the first bad value.
        assert_eq!(stats.tcp_timewait, 0);
        assert_eq!(
            stats,
            SockStats {
                tcp4_inuse: 4,
                ..SockStats::default()
            }
        );
        assert_eq!(c_int_prefix("12abc"), Some(12));
        assert_eq!(c_int_prefix("-"), None);
        assert_eq!(c_int_prefix("99999999999999999999999"), None);
    }

    #[test]
    fn reads_a_directory() {
        let dir = std::env::temp_dir().join(format!("sockstat-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sockstat"), SOCKSTAT).unwrap();
        std::fs::write(dir.join("snmp"), SNMP).unwrap();
        let stats = SockStats::read_from(&dir).unwrap();
        assert_eq!(
            (stats.sockets, stats.tcp6_inuse, stats.tcp_established),
            (78, 0, 13)
        );
        let mut odd = b"sockets: used 5\n\xff\xfe\n".to_vec();
        odd.extend_from_slice(SOCKSTAT.as_bytes());
        std::fs::write(dir.join("sockstat"), &odd).unwrap();
        assert_eq!(SockStats::read_from(&dir).unwrap().tcp_alloc, 25);
        std::fs::write(dir.join("snmp"), "Tcp: A\nTcp: 1\n").unwrap();
        assert!(matches!(
            SockStats::read_from(&dir),
            Err(SockstatError::MissingCounter { .. })
        ));
        std::fs::remove_file(dir.join("sockstat")).unwrap();
        assert!(matches!(
            SockStats::read_from(&dir),
            Err(SockstatError::File(ProcFileError::Read { .. }))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
