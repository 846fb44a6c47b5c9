//! The facts about the system a filter needs while it is parsed: service ports, host
//! addresses, interface indexes, cgroup ids and the automatic port range. A trait, so tests
//! and replays of dump files from other machines can supply their own.

use std::{
    ffi::CString,
    fs,
    net::{IpAddr, ToSocketAddrs},
    os::unix::fs::MetadataExt,
    path::PathBuf,
};

use crate::services::{Services, Transport};

pub trait Lookup {
    /// The port a service name has for one transport (/etc/services).
    fn service_port(&self, name: &str, transport: Transport) -> Option<u16>;
    /// The addresses of a host name, IPv4 ones first (ss asks for AF_INET, then AF_INET6).
    fn host_addresses(&self, host: &str) -> Vec<IpAddr>;
    /// The index of a network interface in this network namespace.
    fn interface_index(&self, name: &str) -> Option<u32>;
    /// The id of a cgroup v2 directory, given as a path or relative to the cgroup2 mount.
    fn cgroup_id(&self, path: &str) -> Option<u64>;
    /// The range the kernel picks automatic local ports from (ss's `autobound` for inet).
    fn ephemeral_ports(&self) -> (u16, u16);
}

/// Lookups on the running system.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn service_port(&self, name: &str, transport: Transport) -> Option<u16> {
        Services::system().port_of(name, transport)
    }

    fn host_addresses(&self, host: &str) -> Vec<IpAddr> {
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

    fn interface_index(&self, name: &str) -> Option<u32> {
        let name = CString::new(name).ok()?;
        // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        (index != 0).then_some(index)
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        // On 64-bit kernels a cgroup's id is the inode number of its cgroupfs directory.
        if let Ok(metadata) = fs::metadata(path) {
            return Some(metadata.ino());
        }
        let relative = path.trim_start_matches('/');
        if relative.is_empty() {
            return None;
        }
        let metadata = fs::metadata(cgroup2_mount()?.join(relative)).ok()?;
        Some(metadata.ino())
    }

    fn ephemeral_ports(&self) -> (u16, u16) {
        // ss falls back to 1024-4999 when it cannot read the range.
        let range = crate::bounded::read_text("/proc/sys/net/ipv4/ip_local_port_range").ok();
        let mut numbers = range
            .iter()
            .flat_map(|text| text.split_whitespace())
            .map(str::parse::<u16>);
        match (numbers.next(), numbers.next()) {
            (Some(Ok(low)), Some(Ok(high))) => (low, high),
            _ => (1024, 4999),
        }
    }
}

/// Where the cgroup2 hierarchy is mounted, from /proc/self/mounts.
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = crate::bounded::read_text("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let (_, mount_point, fs_type) = (fields.next()?, fields.next()?, fields.next()?);
        (fs_type == "cgroup2").then(|| PathBuf::from(unescape_mount_field(mount_point)))
    })
}

/// Undoes the `\NNN` octal escapes /proc/self/mounts uses for blanks and backslashes.
fn unescape_mount_field(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 4).filter(|_| bytes[i] == b'\\');
        match escape
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok())
        {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields_unescape() {
        assert_eq!(
            unescape_mount_field(r"/mnt/with\040space"),
            "/mnt/with space"
        );
        assert_eq!(unescape_mount_field(r"/plain"), "/plain");
        assert_eq!(unescape_mount_field(r"/odd\04"), r"/odd\04");
    }

    #[test]
    fn loopback_and_localhost_resolve() {
        assert_eq!(SystemLookup.interface_index("lo"), Some(1));
        assert_eq!(SystemLookup.interface_index("no-such-if0"), None);
        assert_eq!(SystemLookup.interface_index("nul\0name"), None);
        let localhost = SystemLookup.host_addresses("localhost");
        assert_eq!(localhost.first(), Some(&IpAddr::from([127, 0, 0, 1])));
    }

    #[test]
    fn ephemeral_range_is_ordered() {
        let (low, high) = SystemLookup.ephemeral_ports();
        assert!(low <= high);
    }
}
