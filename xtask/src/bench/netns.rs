//! The bench's network namespaces: every load runs in one, so ss, netstat and sockwatch see only
//! the bench's sockets. Deleted when dropped; ones left by a killed bench are deleted next run.

use std::{
    fs::File,
    io,
    os::{fd::AsRawFd, unix::process::CommandExt},
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::bootstrap::{capture, run};

/// Bench namespaces are named `swbench-<pid>-<purpose>`.
const PREFIX: &str = "swbench-";

pub struct BenchNs {
    name: String,
    /// /run/netns/<name>, held open for setns(2).
    handle: File,
}

impl BenchNs {
    /// A namespace with lo up and the whole port range ephemeral, so 100,000 loopback
    /// connections and a fast connect/close loop do not run out of source ports.
    pub fn create(purpose: &str) -> Result<BenchNs, String> {
        delete_stale();
        let name = format!("{PREFIX}{}-{purpose}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let handle = match File::open(Path::new("/run/netns").join(&name)) {
            Ok(handle) => handle,
            Err(e) => {
                let _ = Command::new("ip").args(["netns", "del", &name]).status();
                return Err(format!("cannot open namespace {name}: {e}"));
            }
        };
        let ns = BenchNs { name, handle };
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]))?;
        run(ns
            .command("sysctl")
            .args(["-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"]))?;
        Ok(ns)
    }

    /// A command that runs `program` inside the namespace. It enters the namespace itself
    /// between fork and exec: no `ip netns exec` in between, so the measured process is the
    /// program and nothing else.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        let fd = self.handle.as_raw_fd();
        // SAFETY: setns is async-signal-safe; the closure touches nothing but the descriptor,
        // which stays open in the child until exec.
        unsafe {
            command.pre_exec(move || enter(fd));
        }
        command
    }

    /// Deletes the namespace, then waits (at most a few seconds) until the kernel has torn
    /// it down: that happens in a kernel worker after the delete, and freeing the hundreds of
    /// thousands of sockets a connect/close loop leaves (TIME-WAIT, ~200 ms here) would
    /// otherwise take CPU from whatever runs next. Done when the system's count of TIME-WAIT
    /// sockets stops falling.
    pub fn delete_and_settle(self) {
        drop(self);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = time_wait_sockets();
        while Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
            let now = time_wait_sockets();
            if now >= last {
                return;
            }
            last = now;
        }
    }

    /// A ticket another thread uses to move itself (only) into the namespace.
    pub fn entry(&self) -> Result<Entry, String> {
        let handle = self
            .handle
            .try_clone()
            .map_err(|e| format!("cannot share namespace {}: {e}", self.name))?;
        Ok(Entry {
            name: self.name.clone(),
            handle,
        })
    }
}

pub struct Entry {
    name: String,
    handle: File,
}

impl Entry {
    /// Moves the calling thread into the namespace; the process's other threads stay.
    pub fn enter(self) -> Result<(), String> {
        enter(self.handle.as_raw_fd()).map_err(|e| format!("cannot enter {}: {e}", self.name))
    }
}

impl Drop for BenchNs {
    fn drop(&mut self) {
        if let Err(e) = run(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("bench: warning: {e}");
        }
    }
}

fn enter(fd: i32) -> io::Result<()> {
    // SAFETY: setns takes a descriptor and a flag; no memory is passed.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// TIME-WAIT sockets allocated in the whole system (every namespace): the active objects of
/// the `tw_sock_TCP` and `tw_sock_TCPv6` slabs; 0 when /proc/slabinfo cannot be read.
fn time_wait_sockets() -> u64 {
    let text = std::fs::read_to_string("/proc/slabinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            name.starts_with("tw_sock_TCP")
                .then(|| words.next()?.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

/// Deletes bench namespaces whose bench process is gone.
fn delete_stale() {
    let Ok(list) = capture("ip", &["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        if stale_owner(name).is_some() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// The pid in a bench namespace name, when that process no longer exists.
fn stale_owner(name: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(PREFIX)?.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    (!Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_owner_reads_only_bench_names() {
        assert_eq!(stale_owner("sw-1-2"), None);
        assert_eq!(stale_owner("swbench-x-snapshot"), None);
        assert_eq!(
            stale_owner(&format!("swbench-{}-churn", std::process::id())),
            None
        );
        assert_eq!(stale_owner("swbench-4294967295-churn"), Some(4294967295));
    }
}
