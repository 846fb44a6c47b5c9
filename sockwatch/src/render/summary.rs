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

    /// `ss -s` in a network namespace with the sockets of the ss golden tests.
    const SS_OUTPUT: &str = "Total: 78
TCP:   26 (estab 13, closed 2, orphaned 0, timewait 1)

Transport Total     IP        IPv6
RAW\t  3         2         1        
UDP\t  4         2         2        
TCP\t  24        17        7        
INET\t  31        21        10       
FRAG\t  0         0         0        

";

    #[test]
    fn matches_ss() {
        let stats = SockStats {
            sockets: 78,
            tcp4_inuse: 17,
            tcp_orphans: 0,
            tcp_timewait: 1,
            tcp_alloc: 25,
            tcp_mem: 2,
            tcp6_inuse: 7,
            udp4: 2,
            udp6: 2,
            raw4: 2,
            raw6: 1,
            tcp_established: 13,
            ..SockStats::default()
        };
        let mut out = Vec::new();
        render_summary(&stats, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), SS_OUTPUT);
    }
}
