//! Network namespaces made for one test each, removed when dropped.

use std::{
    ffi::OsStr,
    process::{Command, Output},
    sync::{
        atomic::{AtomicU32, Ordering},
        Once,
    },
};

use crate::{
    fixture::{VETH_FAR, VETH_FAR_ADDR, VETH_NEAR, VETH_NEAR_ADDR, VETH_PREFIX_LEN},
    privilege::can_run_namespace_tests,
};

/// Every namespace the harness makes is called `sw-<pid>-<n>`.
const NAME_PREFIX: &str = "sw-";

static NEXT_ID: AtomicU32 = AtomicU32::new(0);
static REAP_STALE: Once = Once::new();

/// A named network namespace (`ip netns add`) with lo up, deleted on drop. Its name is unique
/// across the processes and threads running tests at the same time.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// A namespace with only lo, up, for a test that can run here; None (after the test is
    /// reported skipped, or failed under CI=true) when it cannot: see
    /// [`can_run_namespace_tests`].
    pub fn for_test() -> Option<NetNs> {
        can_run_namespace_tests().then(NetNs::create)
    }

    /// A namespace with only lo, up.
    pub fn create() -> NetNs {
        REAP_STALE.call_once(reap_stale_namespaces);
        let name = format!(
            "{NAME_PREFIX}{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        // From here on, Drop removes the namespace even if a later step panics.
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A namespace with lo and a veth pair, both ends inside it: `swa` 10.200.0.1/24 and
    /// `swb` 10.200.0.2/24, both up.
    pub fn with_veth() -> NetNs {
        let ns = NetNs::create();
        ns.ip(&[
            "link", "add", VETH_NEAR, "type", "veth", "peer", "name", VETH_FAR,
        ]);
        for (dev, addr) in [(VETH_NEAR, VETH_NEAR_ADDR), (VETH_FAR, VETH_FAR_ADDR)] {
            ns.ip(&[
                "addr",
                "add",
                &format!("{addr}/{VETH_PREFIX_LEN}"),
                "dev",
                dev,
            ]);
            ns.ip(&["link", "set", dev, "up"]);
        }
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs `program args` inside the namespace and returns what it printed and its status.
    /// Panics only if the program cannot be started at all.
    pub fn run<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = program.as_ref();
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program:?} in namespace {}: {e}", self.name))
    }

    /// Runs `ip -n <ns> args`, panicking with ip's message on failure.
    fn ip(&self, args: &[&str]) {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full);
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let output = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        match output {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "warning: ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("warning: ip netns del {}: {e}", self.name),
        }
    }
}

/// Two namespaces joined by a veth pair: `near` holds `swnear` 10.201.0.1/24, `far` holds
/// `swfar` 10.201.0.2/24, both up. Each end is made inside its namespace, so its name is
/// unique there. Each side knows the other's link address for good (a permanent neighbour
/// entry): a carrier lost would otherwise flush the entry, and the packets sent meanwhile
/// would wait for ARP in the host rather than be lost in the link, so that TCP holds its
/// retransmits back.
pub struct VethLink {
    pub near: NetNs,
    pub far: NetNs,
}

impl VethLink {
    pub const NEAR_ADDR: &'static str = "10.201.0.1";
    pub const FAR_ADDR: &'static str = "10.201.0.2";
    const NEAR_DEV: &'static str = "swnear";
    const FAR_DEV: &'static str = "swfar";
    const NEAR_MAC: &'static str = "02:00:0a:c9:00:01";
    const FAR_MAC: &'static str = "02:00:0a:c9:00:02";

    pub fn new() -> VethLink {
        let link = VethLink {
            near: NetNs::create(),
            far: NetNs::create(),
        };
        link.near.ip(&[
            "link",
            "add",
            Self::NEAR_DEV,
            "address",
            Self::NEAR_MAC,
            "type",
            "veth",
            "peer",
            "name",
            Self::FAR_DEV,
            "address",
            Self::FAR_MAC,
            "netns",
            link.far.name(),
        ]);
        for (ns, dev, addr, peer_addr, peer_mac) in [
            (
                &link.near,
                Self::NEAR_DEV,
                Self::NEAR_ADDR,
                Self::FAR_ADDR,
                Self::FAR_MAC,
            ),
            (
                &link.far,
                Self::FAR_DEV,
                Self::FAR_ADDR,
                Self::NEAR_ADDR,
                Self::NEAR_MAC,
            ),
        ] {
            ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", dev]);
            ns.ip(&[
                "neigh",
                "add",
                peer_addr,
                "lladdr",
                peer_mac,
                "dev",
                dev,
                "nud",
                "permanent",
            ]);
            ns.ip(&["link", "set", dev, "up"]);
        }
        link
    }

    /// Sets the far end down or up. Down, whatever the near side sends is dropped in the
    /// veth pair (the near side's own route stays usable), so data in flight goes
    /// unacknowledged and is retransmitted.
    pub fn set_far_end(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        self.far.ip(&["link", "set", Self::FAR_DEV, state]);
    }
}

impl Default for VethLink {
    fn default() -> VethLink {
        VethLink::new()
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip {}: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// Deletes namespaces left behind by test processes that were killed before their Drop ran
/// (`sw-<pid>-<n>` whose pid no longer exists).
fn reap_stale_namespaces() {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        // Lines look like "sw-123-4" or "sw-123-4 (id: 7)".
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if stale_owner(name).is_some() {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// The pid in a harness namespace name, if that process is gone.
fn stale_owner(name: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(NAME_PREFIX)?.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    (!alive).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_owner_reads_only_harness_names() {
        assert_eq!(stale_owner("blue"), None);
        assert_eq!(stale_owner("sw-notapid-1"), None);
        // Our own process is alive, so its namespaces are never stale.
        assert_eq!(stale_owner(&format!("sw-{}-3", std::process::id())), None);
        // Pids are below 2^22 on Linux; this one cannot exist.
        assert_eq!(stale_owner("sw-4294967295-0"), Some(4294967295));
    }
}
