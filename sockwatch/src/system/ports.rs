//! The range the kernel picks automatic local ports from.

/// /proc/sys/net/ipv4/ip_local_port_range, or 1024-4999 (ss's fallback) when it cannot be
/// read.
pub fn ephemeral_ports() -> (u16, u16) {
    crate::bounded::read_text("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_port_range(&text))
        .unwrap_or((1024, 4999))
}

/// "32768\t60999" as in ip_local_port_range.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("32768"), None);
        assert_eq!(parse_port_range("x y"), None);
        let (low, high) = ephemeral_ports();
        assert!(low <= high);
    }
}
