//! Addresses as netstat prints them (glibc's inet_ntop, net-tools' quirks).

use std::net::{Ipv4Addr, Ipv6Addr};

/// IPv6 text as glibc's inet_ntop writes it: like Rust's, except that IPv4-compatible
/// addresses (::a.b.c.d) keep their dotted tail.
pub fn ipv6_text(addr: Ipv6Addr) -> String {
    let s = addr.segments();
    if s[..6] == [0; 6] && s[6] != 0 {
        let [.., a, b, c, d] = addr.octets();
        return format!("::{}", Ipv4Addr::new(a, b, c, d));
    }
    addr.to_string()
}

/// netstat shows an IPv4-mapped address as the IPv4 address alone: it drops everything up to
/// the last ':' before the first '.' of the text (which leaves host names alone).
pub fn strip_v4_mapped_prefix(text: String, addr: Ipv6Addr) -> String {
    if addr.to_ipv4_mapped().is_none() {
        return text;
    }
    let Some(dot) = text.find('.') else {
        return text;
    };
    match text[..dot].rfind(':') {
        Some(colon) => text[colon + 1..].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_netstat_writes_them() {
        assert_eq!(ipv6_text("::1.2.3.4".parse().expect("v6")), "::1.2.3.4");
        assert_eq!(ipv6_text("::1".parse().expect("v6")), "::1");
        assert_eq!(
            ipv6_text("fe80::1:0:0:1".parse().expect("v6")),
            "fe80::1:0:0:1"
        );
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().expect("v6");
        assert_eq!(
            strip_v4_mapped_prefix(ipv6_text(mapped), mapped),
            "10.0.0.1"
        );
        assert_eq!(
            strip_v4_mapped_prefix("host.example".to_string(), mapped),
            "host.example"
        );
        assert_eq!(
            strip_v4_mapped_prefix("::1".to_string(), Ipv6Addr::LOCALHOST),
            "::1"
        );
    }
}
