//! Host and network names through the C library's resolver, so /etc/hosts, DNS, networks(5)
//! and the rest of nsswitch.conf apply, as they do for ss and netstat.

use std::{
    ffi::CStr,
    net::{IpAddr, Ipv4Addr, ToSocketAddrs},
};

/// The addresses of a host name, IPv4 ones first (ss asks for AF_INET, then AF_INET6),
/// each once.
pub fn addresses_of(host: &str) -> Vec<IpAddr> {
    let Ok(found) = (host, 0).to_socket_addrs() else {
        return Vec::new();
    };
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in found.map(|socket| socket.ip()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    addresses.sort_by_key(IpAddr::is_ipv6);
    addresses
}

/// The host name for an address, None when the resolver has none.
pub fn name_of(addr: IpAddr) -> Option<String> {
    // SAFETY: all-zero sockaddr_in / sockaddr_in6 are valid values; we fill in what matters.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        IpAddr::V6(v6) => {
            // SAFETY: as above.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = v6.octets();
            // SAFETY: as above.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: storage holds a sockaddr of `len` bytes; host is a writable buffer of its size;
    // no service is asked for.
    let rc = unsafe {
        libc::getnameinfo(
            std::ptr::from_ref(&storage).cast(),
            len as libc::socklen_t,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so host holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// The networks(5) name netstat's getnetbyaddr finds for an address.
pub fn network_name(addr: Ipv4Addr) -> Option<String> {
    // SAFETY: netent is plain data; zero is a valid value before the call fills it.
    let mut entry: libc::netent = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::netent = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut h_errno = 0;
    // SAFETY: every pointer is to a live, writable value of the right type and size.
    let rc = unsafe {
        libc::getnetbyaddr_r(
            u32::from(addr),
            libc::AF_INET,
            &mut entry,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
            &mut h_errno,
        )
    };
    if rc != 0 || result.is_null() || entry.n_name.is_null() {
        return None;
    }
    // SAFETY: on success n_name points to a NUL-terminated string inside buf.
    let name = unsafe { CStr::from_ptr(entry.n_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_both_ways() {
        let localhost = addresses_of("localhost");
        assert_eq!(localhost.first(), Some(&IpAddr::from([127, 0, 0, 1])));
        assert!(name_of(IpAddr::from([127, 0, 0, 1])).is_some());
    }
}
