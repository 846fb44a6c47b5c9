//! Where netstat's names come from: [`SystemNames`] asks the system (through
//! [`crate::system`]), tests supply fixed ones.

use std::{
    cell::RefCell,
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
};

use crate::{
    procs,
    system::{
        hosts,
        protocols::Protocols,
        services::{Services, Transport},
        users,
    },
};

/// The three internet protocols netstat lists, in its order; also the "proto" its name
/// lookups use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InetProto {
    Tcp,
    Udp,
    Raw,
}

/// netstat's name lookups.
/// Every lookup returns None when there is no name; the caller then prints the number.
pub trait Names {
    /// Host name of an address (reverse lookup).
    fn host(&self, addr: IpAddr) -> Option<String>;
    /// Network name (networks(5)) of an IPv4 address whose last byte is 0.
    fn network(&self, addr: Ipv4Addr) -> Option<String>;
    /// Service name of a tcp or udp port; for raw sockets the "port" is the IP protocol.
    fn service(&self, port: u16, proto: InetProto) -> Option<String>;
    fn user(&self, uid: u32) -> Option<String>;
    /// The program name netstat shows beside a pid (see [`procs::program_name`]).
    fn program(&self, pid: u32) -> Option<String>;
}

/// Names from the system, each looked up once: hosts and networks through the C library
/// (so /etc/hosts, DNS and the rest of nsswitch.conf apply, as for netstat), services from
/// /etc/services, IP protocols from /etc/protocols, users from the passwd database, programs
/// from /proc.
#[derive(Default)]
pub struct SystemNames {
    hosts: RefCell<HashMap<IpAddr, Option<String>>>,
    users: RefCell<HashMap<u32, Option<String>>>,
    programs: RefCell<HashMap<u32, Option<String>>>,
}

impl SystemNames {
    pub fn new() -> SystemNames {
        SystemNames::default()
    }
}

impl Names for SystemNames {
    fn host(&self, addr: IpAddr) -> Option<String> {
        self.hosts
            .borrow_mut()
            .entry(addr)
            .or_insert_with(|| hosts::name_of(addr))
            .clone()
    }

    fn network(&self, addr: Ipv4Addr) -> Option<String> {
        hosts::network_name(addr)
    }

    fn service(&self, port: u16, proto: InetProto) -> Option<String> {
        let transport = match proto {
            InetProto::Tcp => Transport::Tcp,
            InetProto::Udp => Transport::Udp,
            InetProto::Raw => return Protocols::system().last_name(port).map(str::to_string),
        };
        Services::system()
            .name_of(port, transport)
            .map(str::to_string)
    }

    fn user(&self, uid: u32) -> Option<String> {
        self.users
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| users::user_name(uid))
            .clone()
    }

    fn program(&self, pid: u32) -> Option<String> {
        self.programs
            .borrow_mut()
            .entry(pid)
            .or_insert_with(|| procs::program_name(pid))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_find_root() {
        let names = SystemNames::new();
        assert_eq!(names.user(0).as_deref(), Some("root"));
        assert!(names.program(std::process::id()).is_some());
    }
}
