//! The facts about the system a filter needs while it is parsed: service ports, host
//! addresses, interface indexes, cgroup ids and the automatic port range. A trait, so tests
//! and replays of dump files from other machines can supply their own.

use std::net::IpAddr;

use crate::system::{
    cgroups, hosts, interfaces, ports,
    services::{Services, Transport},
};

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
        hosts::addresses_of(host)
    }

    fn interface_index(&self, name: &str) -> Option<u32> {
        interfaces::index_of(name)
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        cgroups::id_of(path)
    }

    fn ephemeral_ports(&self) -> (u16, u16) {
        ports::ephemeral_ports()
    }
}
