//! Building the live table from sock_diag: at start-up (after the programs are attached, so
//! nothing that happens meanwhile is missed) and again after the kernel lost events.
//!
//! The sockets come back as [`SockEvent`]s of kind SNAPSHOT behind one REBUILD marker, so that
//! the live table, the recording and a replay all take the same path.
//!
//! sock_diag answers for the network namespace of the socket that asks. With `--all-netns`
//! every namespace in use is listed from a helper thread that enters it (setns), so that a
//! rebuild never drops another namespace's sockets.

use std::{
    collections::{HashMap, HashSet},
    fs::File,
    net::IpAddr,
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    path::{Path, PathBuf},
};

use sockwatch_common::{
    event_kind,
    family::{AF_INET, AF_INET6},
    SockEvent,
};

use super::FollowError;
use crate::{
    ebpf,
    model::{Cookie, Netid, SockState, SocketRecord, TimerKind},
    procs::SocketOwners,
    source::{self, Extensions, IpVersions, Query, StateMask},
};

/// Which network namespaces a listing covers.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    /// The namespace sockwatch runs in (its inode).
    pub own: u32,
    /// Every namespace in use, not only `own`.
    pub all: bool,
}

/// Every socket's owners, looked for while the sockets are listed: from a run of the kernel's
/// iterator over open files (see `ebpf::socket_owners`), else from a scan of /proc (a readlink
/// for every descriptor of every process, tens of milliseconds with many sockets open).
pub struct EarlyOwners {
    found: std::thread::JoinHandle<Option<SocketOwners>>,
    /// A second run of the iterator, for a socket opened after the first read.
    again: Option<File>,
}

impl EarlyOwners {
    /// Begins reading the first of the iterator's `runs`, or a scan of /proc when there are
    /// none.
    pub fn begin(runs: Vec<File>) -> EarlyOwners {
        let mut runs = runs.into_iter();
        let (first, again) = (runs.next(), runs.next());
        let found = std::thread::spawn(move || match first {
            Some(run) => ebpf::socket_owners(run).ok(),
            None => SocketOwners::scan(None).ok(),
        });
        EarlyOwners { found, again }
    }
}

/// Every full TCP socket of the namespaces in `scope`, as SNAPSHOT events after a REBUILD
/// marker, stamped with `now_ns` (CLOCK_MONOTONIC). Owners come from `early` when it found
/// them all, else from a second look (see [`owners_of`]); a socket whose owner cannot be
/// found is still listed.
pub fn table_events(
    now_ns: u64,
    scope: Scope,
    early: Option<EarlyOwners>,
) -> Result<Vec<SockEvent>, FollowError> {
    // Records become events as they stream in: a SocketRecord is several times an event's
    // size, and 100,000 of them need not be held at once.
    let mut events = vec![SockEvent {
        ts_ns: now_ns,
        kind: event_kind::REBUILD,
        netns: scope.own,
        ..SockEvent::default()
    }];
    let mut inodes = Vec::new();
    for_each_listed(scope, |record, netns| {
        if let Some(event) = snapshot_event(record, now_ns, netns) {
            events.push(event);
            inodes.push(record.inode);
        }
    })?;
    let owners = owners_of(&inodes, early);
    for (event, inode) in events[1..].iter_mut().zip(inodes) {
        // Of a shared socket's users, the oldest is the likely owner.
        if let Some((pid, name)) = owners.oldest_user(inode) {
            event.pid = pid;
            event.tid = pid;
            let len = name.len().min(event.comm.len() - 1);
            event.comm[..len].copy_from_slice(&name[..len]);
        }
    }
    Ok(events)
}

/// The cookies of every full TCP socket of the namespaces in `scope` (for the audit: no
/// owners, no events).
pub fn listed_cookies(scope: Scope) -> Result<HashSet<Cookie>, FollowError> {
    let mut cookies = HashSet::new();
    for_each_listed(scope, |record, _| {
        cookies.insert(record.cookie);
    })?;
    Ok(cookies)
}

/// Calls `each` with every full TCP socket (see [`is_full_socket`]) of the namespaces in
/// `scope`, and the namespace it is in.
fn for_each_listed(
    scope: Scope,
    mut each: impl FnMut(&SocketRecord, u32) + Send,
) -> Result<(), FollowError> {
    // Mini sockets have no state hooks to follow them. Bound-only sockets are left to their
    // first state change, as one bound after the start is: asking for them makes the kernel
    // walk its whole bind table as well (every connected socket again), about a fifth of a
    // listing's time with many sockets open.
    let unfollowed = [
        SockState::TimeWait,
        SockState::SynRecv,
        SockState::NewSynRecv,
        SockState::BoundInactive,
    ]
    .iter()
    .fold(0, |mask, s| mask | 1 << s.kernel());
    let query = Query::new(
        [Netid::Tcp],
        IpVersions::BOTH,
        StateMask(!unfollowed),
        Extensions::default(),
    );
    let mut list = |netns: u32| {
        source::snapshot(&query, |record| {
            if is_full_socket(&record) {
                each(&record, netns);
            }
        })
    };
    list(scope.own)?;
    if scope.all {
        let mut listed = HashSet::from([scope.own]);
        for path in other_namespaces(scope.own).into_values() {
            in_namespace(&path, |netns| {
                // The path may name another namespace by now (a task's id reused): list
                // each namespace once, under the inode actually entered.
                if listed.insert(netns) {
                    list(netns)?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// The owners of the sockets `inodes`. Attribution is best effort: a socket without a known
/// owner is still in the table.
fn owners_of(inodes: &[u64], early: Option<EarlyOwners>) -> SocketOwners {
    let (found, again) = match early {
        Some(early) => (early.found.join().ok().flatten(), early.again),
        None => (None, None),
    };
    // A socket opened after the early read of its process is not in it: then the owners are
    // read again, from the iterator's second run or /proc. Orphans (inode 0) have no owner
    // to find.
    let complete = |owners: &SocketOwners| {
        inodes
            .iter()
            .all(|&inode| inode == 0 || owners.holds(inode))
    };
    match found {
        Some(owners) if complete(&owners) => owners,
        _ => match again.map(ebpf::socket_owners) {
            Some(Ok(owners)) => owners,
            _ => {
                let wanted: HashSet<u64> = inodes.iter().copied().collect();
                SocketOwners::scan(Some(&wanted)).unwrap_or_default()
            }
        },
    }
}

/// The network namespaces other processes use, by inode, each with a path that enters it:
/// every task's /proc/PID/task/TID/ns/net and the names under /run/netns (`ip netns`).
fn other_namespaces(own: u32) -> HashMap<u32, PathBuf> {
    let mut found = HashMap::new();
    let mut add = |path: PathBuf| {
        // A task may have exited since the listing of /proc: skip what is gone.
        if let Ok(meta) = std::fs::metadata(&path) {
            let inode = meta.ino() as u32;
            if inode != own {
                found.entry(inode).or_insert(path);
            }
        }
    };
    let entries = |dir: &Path| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .collect::<Vec<_>>()
    };
    for named in entries(Path::new("/run/netns")) {
        add(named);
    }
    for process in entries(Path::new("/proc")) {
        let is_pid = process
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if is_pid {
            for task in entries(&process.join("task")) {
                add(task.join("ns/net"));
            }
        }
    }
    found
}

/// Runs `list` on a helper thread inside the network namespace at `path` (setns changes only
/// the calling thread, and a socket belongs to the namespace it was made in), handing it the
/// namespace's inode. Namespaces come and go while they are listed: one gone in the meantime
/// is skipped, and so is a path that is not (or no longer) a network namespace, such as a
/// /run/netns entry that `ip netns add` has created but not yet bind-mounted, or that
/// `ip netns delete` has unmounted but not yet removed.
fn in_namespace(
    path: &Path,
    list: impl FnOnce(u32) -> Result<(), source::SourceError> + Send,
) -> Result<(), FollowError> {
    let Ok(file) = File::open(path) else {
        return Ok(());
    };
    // The open descriptor holds the namespace: its inode stays the one listed.
    let Ok(meta) = file.metadata() else {
        return Ok(());
    };
    std::thread::scope(|threads| {
        threads
            .spawn(|| {
                // SAFETY: setns(2) on a descriptor we own, for this helper thread only.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    let error = std::io::Error::last_os_error();
                    if error.raw_os_error() == Some(libc::EINVAL) {
                        return Ok(());
                    }
                    return Err(FollowError::EnterNetns {
                        path: path.to_path_buf(),
                        error,
                    });
                }
                list(meta.ino() as u32).map_err(FollowError::Snapshot)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether `record` is a full socket, one whose later changes and end the programs see.
/// TIME-WAIT and request mini-sockets change state without events (they expire or become a
/// full socket with its own cookie): a table of them would only go stale. A TIME-WAIT
/// mini-socket is listed in its substate, which is FIN-WAIT-2 while the peer has not closed
/// (an orphan's FIN-WAIT-2 after `tcp_fin_timeout`'s hand-over): only its TIME-WAIT timer
/// (idiag_timer 3, which no full socket reports) tells it from a full FIN-WAIT-2 socket.
fn is_full_socket(record: &SocketRecord) -> bool {
    let mini_state = matches!(
        record.state,
        SockState::Unknown | SockState::TimeWait | SockState::SynRecv | SockState::NewSynRecv
    );
    let time_wait_timer = record
        .timer
        .is_some_and(|timer| timer.kind == TimerKind::Timewait);
    !mini_state && !time_wait_timer
}

fn snapshot_event(record: &SocketRecord, now_ns: u64, netns: u32) -> Option<SockEvent> {
    let (local, peer) = (record.local.socket_addr()?, record.peer.socket_addr()?);
    let mut event = SockEvent {
        ts_ns: now_ns,
        cookie: record.cookie.0,
        kind: event_kind::SNAPSHOT,
        // Request sockets are reported as SYN-RECV by sock_diag; keep the kernel's number.
        old_state: record.state.kernel(),
        new_state: record.state.kernel(),
        sport: local.port(),
        dport: peer.port(),
        netns,
        uid: record.uid,
        cgroup: record.cgroup_id.unwrap_or(0),
        ..SockEvent::default()
    };
    let put = |addr: IpAddr, out: &mut [u8; 16]| match addr {
        IpAddr::V4(v4) => {
            out[..4].copy_from_slice(&v4.octets());
            AF_INET
        }
        IpAddr::V6(v6) => {
            *out = v6.octets();
            AF_INET6
        }
    };
    event.family = put(local.ip(), &mut event.saddr);
    put(peer.ip(), &mut event.daddr);
    Some(event)
}
