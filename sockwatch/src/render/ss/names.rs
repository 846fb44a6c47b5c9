//! The system lookups ss makes while printing: service and protocol names, interface names,
//! host names (-r), process names of netlink port ids, cgroup paths. Behind a trait so the
//! renderer can be tested against fixed answers; [`SystemNames`] asks the system and
//! remembers every answer, as ss does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::services::{Services, Transport};

/// Answers the renderer's name questions. None means "no name": the renderer prints the
/// number instead.
pub trait Names {
    /// /etc/services name of a port.
    fn service(&mut self, port: u16, transport: Transport) -> Option<&str>;
    /// The local port range (/proc/sys/net/ipv4/ip_local_port_range): ss never names these
    /// ports, whatever /etc/services says.
    fn ephemeral_ports(&mut self) -> (u16, u16);
    /// /etc/protocols name of an IP protocol number.
    fn ip_protocol(&mut self, protocol: u16) -> Option<&str>;
    fn interface(&mut self, ifindex: u32) -> Option<&str>;
    /// Reverse DNS (or /etc/hosts) name of an address.
    fn host(&mut self, addr: IpAddr) -> Option<&str>;
    /// The command name (comm) of a process.
    fn process(&mut self, pid: u32) -> Option<&str>;
    /// A cgroup's path below the cgroup2 mount ("/" for the root).
    fn cgroup(&mut self, id: u64) -> Option<&str>;
}

/// [`Names`] answered from the running system, each answer looked up once.
#[derive(Default)]
pub struct SystemNames {
    ephemeral: Option<(u16, u16)>,
    protocols: Option<HashMap<u16, String>>,
    interfaces: HashMap<u32, Option<String>>,
    hosts: HashMap<IpAddr, Option<String>>,
    processes: HashMap<u32, Option<String>>,
    cgroups: Option<HashMap<u64, String>>,
}

impl SystemNames {
    pub fn new() -> SystemNames {
        SystemNames::default()
    }
}

impl Names for SystemNames {
    fn service(&mut self, port: u16, transport: Transport) -> Option<&str> {
        Services::system().name_of(port, transport)
    }

    fn ephemeral_ports(&mut self) -> (u16, u16) {
        *self.ephemeral.get_or_insert_with(|| {
            crate::bounded::read_text("/proc/sys/net/ipv4/ip_local_port_range")
                .ok()
                .and_then(|text| parse_port_range(&text))
                // ss's fallback when the file cannot be read.
                .unwrap_or((1024, 4999))
        })
    }

    fn ip_protocol(&mut self, protocol: u16) -> Option<&str> {
        self.protocols
            .get_or_insert_with(|| {
                crate::bounded::read_text("/etc/protocols")
                    .map(|text| parse_protocols(&text))
                    .unwrap_or_default()
            })
            .get(&protocol)
            .map(String::as_str)
    }

    fn interface(&mut self, ifindex: u32) -> Option<&str> {
        self.interfaces
            .entry(ifindex)
            .or_insert_with(|| interface_name(ifindex))
            .as_deref()
    }

    fn host(&mut self, addr: IpAddr) -> Option<&str> {
        self.hosts
            .entry(addr)
            .or_insert_with(|| host_name(addr))
            .as_deref()
    }

    fn process(&mut self, pid: u32) -> Option<&str> {
        self.processes
            .entry(pid)
            .or_insert_with(|| {
                std::fs::read(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| comm_from_stat(&stat))
            })
            .as_deref()
    }

    fn cgroup(&mut self, id: u64) -> Option<&str> {
        self.cgroups
            .get_or_insert_with(|| {
                cgroup2_mount()
                    .map(|mount| cgroup_paths(&mount))
                    .unwrap_or_default()
            })
            .get(&id)
            .map(String::as_str)
    }
}

/// "32768\t60999" as in ip_local_port_range.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
        _ => None,
    }
}

/// protocols(5): `name number [aliases] [# comment]`; the first entry for a number names it.
pub fn parse_protocols(text: &str) -> HashMap<u16, String> {
    let mut protocols = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if let (Some(name), Some(Ok(number))) = (words.next(), words.next().map(str::parse)) {
            protocols.entry(number).or_insert_with(|| name.to_string());
        }
    }
    protocols
}

/// The comm field of /proc/PID/stat as ss reads it: from after "PID (" up to the first ')'.
pub fn comm_from_stat(stat: &[u8]) -> Option<String> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let rest = &stat[open + 1..];
    let close = rest.iter().position(|&b| b == b')').unwrap_or(rest.len());
    if close == 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&rest[..close]).into_owned())
}

fn interface_name(ifindex: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has the IF_NAMESIZE bytes if_indextoname writes at most.
    let found = unsafe { libc::if_indextoname(ifindex, name.as_mut_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: on success if_indextoname leaves a NUL-terminated string in `name`.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn host_name(addr: IpAddr) -> Option<String> {
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    let status = match addr {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sin is a valid sockaddr_in of the length given; host is writable
            // for the length given.
            unsafe {
                libc::getnameinfo(
                    std::ptr::from_ref(&sin).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    std::ptr::from_ref(&sin6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if status != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo leaves a NUL-terminated string in `host`.
    let host = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(host.to_string_lossy().into_owned())
}

/// Where the cgroup2 file system is mounted, from /proc/mounts.
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = crate::bounded::read_text("/proc/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        (fstype == "cgroup2").then(|| PathBuf::from(unescape_mount_path(dir)))
    })
}

/// /proc/mounts writes space, tab, newline and backslash in paths as octal escapes.
fn unescape_mount_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every cgroup below `mount` by id. A cgroup2 directory's inode number is the cgroup id.
fn cgroup_paths(mount: &Path) -> HashMap<u64, String> {
    use std::os::unix::fs::MetadataExt;

    let mut paths = HashMap::new();
    let Ok(root) = std::fs::metadata(mount) else {
        return paths;
    };
    let root_dev = root.dev();
    let mut pending = vec![(mount.to_path_buf(), root)];
    while let Some((dir, meta)) = pending.pop() {
        let relative = match dir.strip_prefix(mount) {
            Ok(rel) if rel.as_os_str().is_empty() => "/".to_string(),
            Ok(rel) => format!("/{}", rel.to_string_lossy()),
            Err(_) => continue,
        };
        paths.insert(meta.ino(), relative);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // symlink_metadata: do not follow links; stay on this file system like ss.
            if let Ok(child) = entry.path().symlink_metadata() {
                if child.is_dir() && child.dev() == root_dev {
                    pending.push((entry.path(), child));
                }
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("32768"), None);
        assert_eq!(parse_port_range("x y"), None);
    }

    #[test]
    fn protocols_file() {
        let protocols =
            parse_protocols("# c\nip\t0\tIP\nicmp\t1\tICMP\t# x\nicmp-again 1\nbad\nworse x\n");
        assert_eq!(protocols.get(&0).map(String::as_str), Some("ip"));
        assert_eq!(protocols.get(&1).map(String::as_str), Some("icmp"));
        assert_eq!(protocols.len(), 2);
    }

    #[test]
    fn comm_parsing() {
        assert_eq!(
            comm_from_stat(b"19584 (python3) S 1 2 3").as_deref(),
            Some("python3")
        );
        // ss stops at the first ')', even inside the name.
        assert_eq!(comm_from_stat(b"7 (a) b) S 1").as_deref(), Some("a"));
        assert_eq!(comm_from_stat(b"garbage"), None);
    }

    #[test]
    fn mount_path_escapes() {
        assert_eq!(unescape_mount_path("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_path("/a\\04"), "/a\\04");
    }
}
