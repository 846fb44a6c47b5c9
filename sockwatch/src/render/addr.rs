//! Addresses and ports as ss writes them, shared by ss's table and follow's text views.

use std::net::{IpAddr, SocketAddr};

use super::ss::fmt::{push_ipv4, push_ipv6, push_u64};
use crate::system::services::{Services, Transport};

/// An IP address as ss writes it numerically: IPv4 dotted (the wildcard as `0.0.0.0`), the
/// IPv6 wildcard as `*` unless the socket is IPv6-only, other IPv6 addresses in brackets.
pub fn push_ip(buf: &mut Vec<u8>, addr: IpAddr, v6only: bool) {
    match addr {
        IpAddr::V4(v4) => push_ipv4(buf, v4),
        IpAddr::V6(v6) if v6.is_unspecified() && !v6only => buf.push(b'*'),
        IpAddr::V6(v6) => {
            buf.push(b'[');
            push_ipv6(buf, v6);
            buf.push(b']');
        }
    }
}

/// `address:port` of a TCP socket as ss writes it: [`push_ip`], then the port as `*` when 0,
/// its tcp service name unless `numeric`, else its number.
pub fn push_tcp_endpoint(buf: &mut Vec<u8>, addr: SocketAddr, numeric: bool) {
    push_ip(buf, addr.ip(), false);
    buf.push(b':');
    let port = addr.port();
    if port == 0 {
        buf.push(b'*');
        return;
    }
    match (!numeric)
        .then(|| Services::system().name_of(port, Transport::Tcp))
        .flatten()
    {
        Some(name) => buf.extend_from_slice(name.as_bytes()),
        None => push_u64(buf, port.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(addr: &str) -> String {
        let mut buf = Vec::new();
        push_tcp_endpoint(&mut buf, addr.parse().expect("socket address"), true);
        String::from_utf8(buf).expect("ASCII")
    }

    #[test]
    fn as_ss_writes_them() {
        assert_eq!(endpoint("127.0.0.1:80"), "127.0.0.1:80");
        assert_eq!(endpoint("0.0.0.0:0"), "0.0.0.0:*");
        assert_eq!(endpoint("[::]:22"), "*:22");
        assert_eq!(endpoint("[::1]:7001"), "[::1]:7001");
        let mut buf = Vec::new();
        push_ip(&mut buf, "::".parse().expect("address"), true);
        assert_eq!(buf, b"[::]");
    }
}
