//! The system lookups ss makes while printing: service and protocol names, interface names,
//! host names (-r), process names of netlink port ids, cgroup paths. Behind a trait so the
//! renderer can be tested against fixed answers; [`SystemNames`] asks the system and
//! remembers every answer, as ss does.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::system::{
    cgroups, hosts, interfaces, ports,
    protocols::Protocols,
    services::{Services, Transport},
};

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
        *self.ephemeral.get_or_insert_with(ports::ephemeral_ports)
    }

    fn ip_protocol(&mut self, protocol: u16) -> Option<&str> {
        Protocols::system().first_name(protocol)
    }

    fn interface(&mut self, ifindex: u32) -> Option<&str> {
        self.interfaces
            .entry(ifindex)
            .or_insert_with(|| interfaces::name_of(ifindex))
            .as_deref()
    }

    fn host(&mut self, addr: IpAddr) -> Option<&str> {
        self.hosts
            .entry(addr)
            .or_insert_with(|| hosts::name_of(addr))
            .as_deref()
    }

    fn process(&mut self, pid: u32) -> Option<&str> {
        self.processes
            .entry(pid)
            .or_insert_with(|| {
                crate::bounded::read_bytes(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| comm_from_stat(&stat))
            })
            .as_deref()
    }

    fn cgroup(&mut self, id: u64) -> Option<&str> {
        self.cgroups
            .get_or_insert_with(cgroups::paths_by_id)
            .get(&id)
            .map(String::as_str)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
