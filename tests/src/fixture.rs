//! The socket fixture: the `sockfixture` program (src/bin/sockfixture.rs) run inside a test
//! namespace, and what both sides agree on (socket groups, the veth layout, the protocol).
//!
//! Protocol: the fixture builds its sockets, waits until the kernel has settled them, prints
//! `ready` on stdout, then holds everything open until its stdin closes.
//!
//! The sockets, by group (ports fixed: each namespace has its own stack):
//!
//! - tcp: listeners on 0.0.0.0:22 (ssh), [::]:80 (http, dual-stack), 127.0.0.1:8080 and
//!   [::1]:8080 (http-alt), 127.0.0.1:9000 (no service name), 10.200.0.1%swa:443; established
//!   pairs 127.0.0.1 -> :22 (keepalive on, 1000 unread bytes at the server), [::1] -> :8080
//!   (500 unread bytes at the client), 127.0.0.1 -> [::]:80 (v4-mapped server end),
//!   10.200.0.2 -> 10.200.0.1:22; a stalled transfer to :9000 (Recv-Q and Send-Q full, zero
//!   window, persist timer); TIME-WAIT over v4 and v6; a FIN-WAIT-2 / CLOSE-WAIT pair on
//!   [::1]:8080; one connection left in the accept queue of :22. The namespace's minimum RTO
//!   is raised to 100 s so that nothing retransmits while the tests run.
//! - udp: 0.0.0.0:5353 (one unread datagram), [::]:161, [::1]:123, 127.0.0.1%lo:514,
//!   10.200.0.1%swa:69; connected 127.0.0.1 -> :5353 and [::1] -> :123.
//! - raw: ICMP and ICMPv6.
//! - packet: SOCK_RAW for all protocols bound to lo; SOCK_DGRAM for IPv4, unbound.
//! - unix: stream listener DIR/stream.sock with one connection (100 unread bytes at the
//!   server); stream listener @sockfixture.stream with one connection; an unnamed stream pair;
//!   seqpacket listener DIR/seqpacket.sock; datagram sockets bound to DIR/dgram.sock (one
//!   unread datagram from a connected unbound sender) and @sockfixture.dgram, and one unbound.
//!
//! The veth sockets (swa, 10.200.0.x) exist only with `--veth`.

use std::{
    fs,
    io::{BufRead, BufReader, Read},
    net::Ipv4Addr,
    path::{Path, PathBuf},
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
pub const VETH_NEAR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
pub const VETH_FAR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);
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

/// A running fixture process; dropping it kills it. Should the test process die first, the
/// fixture sees its stdin close and exits by itself.
pub struct Fixture {
    child: Child,
    /// The directory of its unix socket files, when the fixture made it (removed after the
    /// fixture is gone).
    own_dir: Option<SocketDir>,
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
        Fixture {
            child,
            own_dir: None,
        }
    }

    /// Starts `exe` inside `ns` (no veth sockets), its unix socket files in a directory of
    /// its own under the system temp dir.
    pub fn start_with_own_dir(ns: &NetNs, exe: &Path, groups: &[SocketGroup]) -> Fixture {
        let dir = SocketDir::create(&format!("{}-fixture", ns.name()));
        let mut fixture = Fixture::start(ns, exe, groups, &dir.path, false);
        fixture.own_dir = Some(dir);
        fixture
    }
}

/// A directory under the system temp dir, removed with its contents on drop.
pub struct SocketDir {
    pub path: PathBuf,
}

impl SocketDir {
    pub fn create(name: &str) -> SocketDir {
        let path = std::env::temp_dir().join(name);
        // A leftover from a killed run with the same name would only hold stale sockets.
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        SocketDir { path }
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
