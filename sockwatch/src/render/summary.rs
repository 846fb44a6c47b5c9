//! `ss -s`: the socket counters summary, in ss's exact text.

use std::io::{self, Write};

use crate::source::sockstat::SockStats;

pub fn render_summary(stats: &SockStats, out: &mut impl Write) -> io::Result<()> {
    let s = stats;
    writeln!(out, "Total: {}", s.sockets)?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        s.tcp_alloc + s.tcp_timewait,
        s.tcp_established,
        s.tcp_alloc - (s.tcp4_inuse + s.tcp6_inuse - s.tcp_timewait),
        s.tcp_orphans,
        s.tcp_timewait
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    let rows = [
        ("RAW", s.raw4, s.raw6),
        ("UDP", s.udp4, s.udp6),
        ("TCP", s.tcp4_inuse, s.tcp6_inuse),
        (
            "INET",
            s.raw4 + s.udp4 + s.tcp4_inuse,
            s.raw6 + s.udp6 + s.tcp6_inuse,
        ),
        ("FRAG", s.frag4, s.frag6),
    ];
    for (name, v4, v6) in rows {
        writeln!(out, "{name}\t  {:<9} {v4:<9} {v6:<9}", v4 + v6)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // /proc/net/sockstat, sockstat6 and snmp (Ip, Icmp lines dropped) in a network namespace,
    // and what `ss -s` printed from them right then.
    const SOCKSTAT: &str = "sockets: used 12\nTCP: inuse 9 orphan 0 tw 1 alloc 31 mem 119\n\
        UDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n";
    const SOCKSTAT6: &str =
        "TCP6: inuse 1\nUDP6: inuse 1\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n";
    const SNMP: &str = "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens \
        AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
        Tcp: 1 200 120000 -1 4 4 0 0 6 16 16 0 0 0 0\n\
        Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors \
        IgnoredMulti MemErrors\nUdp: 0 0 0 0 0 0 0 0 0\n";
    const SS_OUTPUT: &str = "Total: 12
TCP:   32 (estab 6, closed 22, orphaned 0, timewait 1)

Transport Total     IP        IPv6
RAW\t  1         1         0        
UDP\t  1         0         1        
TCP\t  10        9         1        
INET\t  12        10        2        
FRAG\t  0         0         0        

";

    #[test]
    fn matches_ss() {
        let dir = std::env::temp_dir().join(format!("summary-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("sockstat", SOCKSTAT),
            ("sockstat6", SOCKSTAT6),
            ("snmp", SNMP),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let stats = SockStats::read_from(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let mut out = Vec::new();
        render_summary(&stats.unwrap(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), SS_OUTPUT);
    }
}
