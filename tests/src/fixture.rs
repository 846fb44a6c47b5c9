//! The socket fixture: the `sockfixture` program (src/bin/sockfixture.rs) run inside a test
//! namespace, and what both sides agree on (socket groups, the veth layout, the protocol).
//!
//! Protocol: the fixture builds its sockets, waits until the kernel has settled them, prints
//! `ready` on stdout, then holds everything open until its stdin closes.

use std::{
    fmt,
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Stdio},
};

use crate::netns::NetNs;

/// The line the fixture prints once every socket is in place.
pub const READY: &str = "ready";

/// Interfaces of the veth pair `NetNs::with_veth` makes; both ends live in the test namespace.
pub const VETH_NEAR: &str = "swa";
pub const VETH_FAR: &str = "swb";
/// Addresses on those interfaces (each namespace has its own stack, so every namespace can use
/// the same ones).
pub const VETH_NEAR_ADDR: &str = "10.200.0.1";
pub const VETH_FAR_ADDR: &str = "10.200.0.2";
pub const VETH_PREFIX_LEN: u8 = 24;

/// A family of sockets the fixture can create; the command line selects any subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketGroup {
    /// Listeners (v4, v6, dual-stack, well-known ports), established pairs, TIME-WAIT,
    /// FIN-WAIT-2/CLOSE-WAIT, a full accept queue, data queued in Recv-Q and Send-Q.
    Tcp,
    /// Bound and connected UDP over v4 and v6, one bound to a device, one with a queued datagram.
    Udp,
    /// Raw ICMP and ICMPv6 sockets.
    Raw,
    /// AF_PACKET sockets, one bound to lo.
    Packet,
    /// Unix stream, seqpacket and datagram sockets: filesystem paths, abstract names, unbound.
    Unix,
}

impl SocketGroup {
    pub const ALL: [SocketGroup; 5] = [
        SocketGroup::Tcp,
        SocketGroup::Udp,
        SocketGroup::Raw,
        SocketGroup::Packet,
        SocketGroup::Unix,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SocketGroup::Tcp => "tcp",
            SocketGroup::Udp => "udp",
            SocketGroup::Raw => "raw",
            SocketGroup::Packet => "packet",
            SocketGroup::Unix => "unix",
        }
    }

    pub fn from_name(name: &str) -> Option<SocketGroup> {
        SocketGroup::ALL.into_iter().find(|g| g.name() == name)
    }
}

impl fmt::Display for SocketGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A running fixture process; dropping it kills it. Should the test process die first, the
/// fixture sees its stdin close and exits by itself.
pub struct Fixture {
    child: Child,
}

impl Fixture {
    /// Starts `exe` inside `ns` and waits for its `ready` line. Unix sockets with paths go
    /// into `dir`; `veth` asks for sockets on the namespace's veth pair too. Panics with the
    /// fixture's stderr if it does not come up.
    pub fn start(
        ns: &NetNs,
        exe: &Path,
        groups: &[SocketGroup],
        dir: &Path,
        veth: bool,
    ) -> Fixture {
        let group_list: Vec<&str> = groups.iter().map(|g| g.name()).collect();
        let mut command = ns.command(exe);
        command
            .arg("--groups")
            .arg(group_list.join(","))
            .arg("--dir")
            .arg(dir);
        if veth {
            command.arg("--veth");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start fixture {}: {e}", exe.display()));
        let mut first_line = String::new();
        if let Some(stdout) = child.stdout.take() {
            // A read error leaves the line empty, which the check below reports.
            let _ = BufReader::new(stdout).read_line(&mut first_line);
        }
        if first_line.trim_end() != READY {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            let _ = child.wait();
            panic!(
                "fixture in namespace {} did not get ready (first line {first_line:?}); stderr:\n{stderr}",
                ns.name()
            );
        }
        Fixture { child }
    }

    /// The fixture's process id (as `ss -p` shows it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
