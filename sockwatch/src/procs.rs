//! Process attribution (ss -p): which processes hold each socket open.
//!
//! Every open socket appears as a `/proc/PID/fd/N` symlink whose target reads `socket:[INODE]`,
//! so one pass over those links maps inodes to (process, fd) owners. The pass runs in two
//! phases so that every core has work even when a single process holds most of the sockets:
//! first each process's fd numbers are listed, then the links are read in chunks that worker
//! threads claim one at a time. Processes and fds that vanish mid-scan, and ones we may not
//! read, are skipped quietly: on a live system that is normal, and ss does the same.
//! With threads (ss -T) each task's fd table (`/proc/PID/task/TID/fd`) is read instead, and
//! every thread is an owner of its own.

use std::{
    collections::{HashMap, HashSet},
    ffi::CStr,
    fs::{self, File},
    io::{self, Write},
    os::{fd::AsRawFd, unix::ffi::OsStrExt},
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    thread,
};

use crate::{
    int_hash::IntHash,
    model::{SocketRecord, SocketUser},
};

/// Why process attribution could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ProcsError {
    #[error("cannot read {}: {source}", crate::escape::Escaped::path(path))]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{} is not a proc filesystem (is /proc mounted?)",
        crate::escape::Escaped::path(path)
    )]
    NotProcfs { path: PathBuf },
}

/// Links read by one worker between claims: big enough that claiming is rare, small enough
/// that one process's fd table splits between the workers.
const CHUNK_FDS: usize = 1024;

/// The owners of sockets, by socket inode. Kept compact (a socket's owners are made into
/// [`SocketUser`]s only when asked for): a busy system has hundreds of thousands.
#[derive(Debug, Default)]
pub struct SocketOwners {
    /// Sockets one (process, fd) pair holds, the common case.
    single: HashMap<u64, Owner, IntHash>,
    /// Sockets several pairs hold: all of them, in ss's order.
    shared: HashMap<u64, Vec<Owner>, IntHash>,
    comms: HashMap<(u32, Option<u32>), Vec<u8>, IntHash>,
    /// Some process's fd table could not be read (another user's, without root).
    unreadable_processes: bool,
}

/// One (process, fd) pair holding a socket open; with threads, one (process, thread, fd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Owner {
    pid: u32,
    tid: Option<u32>,
    fd: u32,
}

impl SocketOwners {
    /// Scans /proc, which must be a procfs mount. With `wanted`, only those inodes are kept.
    pub fn scan(wanted: Option<&HashSet<u64>>) -> Result<SocketOwners, ProcsError> {
        SocketOwners::scan_tasks(wanted, false)
    }

    /// As [`SocketOwners::scan`]; with `threads`, owners are threads (ss -T).
    pub fn scan_tasks(
        wanted: Option<&HashSet<u64>>,
        threads: bool,
    ) -> Result<SocketOwners, ProcsError> {
        let root = Path::new("/proc");
        check_procfs(root)?;
        SocketOwners::scan_at(root, wanted, threads)
    }

    /// Scans a proc tree at `root` without checking what filesystem it is (for ss's
    /// PROC_ROOT, and for tests).
    pub fn scan_at(
        root: &Path,
        wanted: Option<&HashSet<u64>>,
        threads: bool,
    ) -> Result<SocketOwners, ProcsError> {
        let pids = list_pids(root)?;
        let unreadable = AtomicBool::new(false);
        let fd_tables = run_parallel(&pids, |&pid, out| {
            let tids = match threads {
                true => list_tids(root, pid).into_iter().map(Some).collect(),
                false => vec![None],
            };
            for tid in tids {
                match list_fds(&task_dir(root, pid, tid)) {
                    Ok(fds) => out.push(FdTable { pid, tid, fds }),
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                        unreadable.store(true, Ordering::Relaxed);
                    }
                    Err(_) => {}
                }
            }
        });
        let chunks: Vec<FdChunk> = fd_tables
            .iter()
            .flat_map(|table| {
                table.fds.chunks(CHUNK_FDS).map(|fds| FdChunk {
                    pid: table.pid,
                    tid: table.tid,
                    fds,
                })
            })
            .collect();
        let hits = run_parallel(&chunks, |chunk, out| {
            read_socket_links(root, chunk, wanted, out)
        });
        drop(chunks);
        drop(fd_tables);
        Ok(SocketOwners {
            unreadable_processes: unreadable.into_inner(),
            ..SocketOwners::from_hits(root, hits)
        })
    }

    /// The (process, fd) pairs holding the socket open, in ss's order: by pid, then by thread
    /// (with threads), then by fd, all descending. (ss prepends to a hash chain while walking
    /// /proc, each task directory and each fd directory in ascending order, so it prints them
    /// reversed.)
    pub fn users_of(&self, inode: u64) -> Vec<SocketUser> {
        let owners = match self.single.get(&inode) {
            Some(owner) => std::slice::from_ref(owner),
            None => self.shared.get(&inode).map_or(&[][..], Vec::as_slice),
        };
        owners
            .iter()
            .map(|owner| SocketUser {
                comm: (self.comms.get(&(owner.pid, owner.tid)).cloned()).unwrap_or_default(),
                pid: owner.pid,
                tid: owner.tid,
                fd: owner.fd,
            })
            .collect()
    }

    /// The oldest holder of the socket (the lowest pid, which ss lists last): its pid and
    /// command name, not copied.
    pub fn oldest_user(&self, inode: u64) -> Option<(u32, &[u8])> {
        let owner = match self.single.get(&inode) {
            Some(owner) => owner,
            None => self.shared.get(&inode)?.last()?,
        };
        let comm = self.comms.get(&(owner.pid, owner.tid));
        Some((owner.pid, comm.map_or(&[][..], Vec::as_slice)))
    }

    /// Whether every socket found is held by process `pid` alone (true when none was found).
    fn held_only_by(&self, pid: u32) -> bool {
        self.single
            .values()
            .chain(self.shared.values().flatten())
            .all(|owner| owner.pid == pid)
    }

    /// Whether the socket with `inode` has an owner.
    pub fn holds(&self, inode: u64) -> bool {
        self.single.contains_key(&inode) || self.shared.contains_key(&inode)
    }

    /// How many sockets have owners.
    pub fn len(&self) -> usize {
        self.single.len() + self.shared.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn from_hits(root: &Path, hits: Vec<SocketLink>) -> SocketOwners {
        SocketOwners::collect(hits, |hit| read_comm(&task_dir(root, hit.pid, hit.tid)))
    }

    /// The owners of the sockets `holders` hold open (processes, not threads), as the kernel
    /// listed them (see `ebpf::socket_owners`).
    pub fn from_holders(holders: impl ExactSizeIterator<Item = SocketHolder>) -> SocketOwners {
        let mut comms: HashMap<u32, Vec<u8>, IntHash> = HashMap::default();
        let hits: Vec<SocketLink> = holders
            .map(|holder| {
                comms.entry(holder.pid).or_insert_with(|| {
                    let name = holder.comm.split(|&b| b == 0).next().unwrap_or_default();
                    ss_comm(name).to_vec()
                });
                SocketLink {
                    inode: holder.inode,
                    pid: holder.pid,
                    tid: None,
                    fd: holder.fd,
                }
            })
            .collect();
        SocketOwners::collect(hits, |hit| comms.get(&hit.pid).cloned().unwrap_or_default())
    }

    fn collect(
        hits: Vec<SocketLink>,
        mut comm: impl FnMut(&SocketLink) -> Vec<u8>,
    ) -> SocketOwners {
        let mut owners = SocketOwners {
            single: HashMap::with_capacity_and_hasher(hits.len(), IntHash::default()),
            ..SocketOwners::default()
        };
        for hit in hits {
            let owner = Owner {
                pid: hit.pid,
                tid: hit.tid,
                fd: hit.fd,
            };
            owners
                .comms
                .entry((hit.pid, hit.tid))
                .or_insert_with(|| comm(&hit));
            if let Some(shared) = owners.shared.get_mut(&hit.inode) {
                shared.push(owner);
            } else if let Some(first) = owners.single.remove(&hit.inode) {
                owners.shared.insert(hit.inode, vec![first, owner]);
            } else {
                owners.single.insert(hit.inode, owner);
            }
        }
        for shared in owners.shared.values_mut() {
            shared.sort_unstable_by(|a, b| b.cmp(a));
        }
        owners
    }
}

/// The owners a listing shows (ss -p, netstat -p), from a /proc scan started on a scoped
/// thread before the records come and waited for when the first record that can have owners
/// arrives: the scan and the sock_diag dump run at once.
pub struct OwnersScan<'scope> {
    scan: Option<thread::ScopedJoinHandle<'scope, Result<SocketOwners, ProcsError>>>,
    scanned: Option<Result<SocketOwners, ProcsError>>,
}

impl<'scope> OwnersScan<'scope> {
    /// Starts the scan if `wanted`; otherwise records are left without owners.
    /// With `threads`, the owners are threads (ss -T).
    pub fn start<'env>(
        wanted: bool,
        threads: bool,
        scope: &'scope thread::Scope<'scope, 'env>,
    ) -> Self {
        OwnersScan {
            scan: wanted.then(|| scope.spawn(move || SocketOwners::scan_tasks(None, threads))),
            scanned: None,
        }
    }

    /// Fills in `record.users` (waiting for the scan the first time).
    pub fn attach(&mut self, record: &mut SocketRecord) {
        // Sockets without an inode (TIME-WAIT, request sockets) are in no fd table.
        if record.inode == 0 {
            return;
        }
        if let Some(scan) = self.scan.take() {
            let scanned = scan
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            self.scanned = Some(scanned);
        }
        if let Some(Ok(owners)) = &self.scanned {
            record.users = owners.users_of(record.inode);
        }
    }

    /// What the scan could not see (waiting for it if no record needed it). A failed scan
    /// is an error once a record needed it.
    pub fn check(self) -> Result<Unseen, ProcsError> {
        let needed = self.scanned.is_some();
        let scanned = match (self.scanned, self.scan) {
            (Some(scanned), _) => scanned,
            (None, Some(scan)) => scan
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            (None, None) => return Ok(Unseen::Nothing),
        };
        match scanned {
            Ok(owners) if !owners.unreadable_processes => Ok(Unseen::Nothing),
            // This process's own sockets (its sock_diag socket) are no one else's answer.
            Ok(owners) if owners.held_only_by(std::process::id()) => Ok(Unseen::Everything),
            Ok(_) => Ok(Unseen::SomeProcesses),
            Err(err) if needed => Err(err),
            Err(_) => Ok(Unseen::Nothing),
        }
    }
}

/// What a scan of /proc could not see (net-tools' netstat -p says so on stderr).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unseen {
    Nothing,
    /// Some processes' fd tables were unreadable; others named their sockets.
    SomeProcesses,
    /// Some fd tables were unreadable and no socket's owner could be found.
    Everything,
}

/// The program name netstat -p shows beside the pid: argv[0] from /proc/PID/cmdline (netstat
/// reads at most 511 bytes), without its directory when it is an absolute path. Empty for
/// kernel threads and zombies; None when the process has gone.
pub fn program_name(pid: u32) -> Option<String> {
    let cmdline =
        crate::bounded::read_bytes(Path::new("/proc").join(pid.to_string()).join("cmdline"))
            .ok()?;
    Some(program_name_from_cmdline(&cmdline))
}

fn program_name_from_cmdline(cmdline: &[u8]) -> String {
    let head = &cmdline[..cmdline.len().min(511)];
    let argv0 = head.split(|&b| b == 0).next().unwrap_or_default();
    let name = match argv0.first() {
        Some(b'/') => argv0.rsplit(|&b| b == b'/').next().unwrap_or_default(),
        _ => argv0,
    };
    String::from_utf8_lossy(name).into_owned()
}

/// One process's (or with threads, one thread's) open fd numbers, in the order /proc lists
/// them (ascending).
struct FdTable {
    pid: u32,
    tid: Option<u32>,
    fds: Vec<u32>,
}

/// A run of one fd table's fds whose links one worker reads.
struct FdChunk<'a> {
    pid: u32,
    tid: Option<u32>,
    fds: &'a [u32],
}

/// A process holding a socket open, as the kernel's iterator over open files tells it.
pub struct SocketHolder {
    pub inode: u64,
    pub pid: u32,
    pub fd: u32,
    /// The task's name as the kernel keeps it, NUL-padded.
    pub comm: [u8; 16],
}

/// One fd naming a socket.
struct SocketLink {
    inode: u64,
    pid: u32,
    tid: Option<u32>,
    fd: u32,
}

fn check_procfs(root: &Path) -> Result<(), ProcsError> {
    let read_error = |source| ProcsError::Read {
        path: root.to_path_buf(),
        source,
    };
    let path = std::ffi::CString::new(root.as_os_str().as_bytes())
        .map_err(|_| read_error(io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: statfs writes only into the zeroed struct we pass; path is NUL-terminated.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(read_error(io::Error::last_os_error()));
    }
    if stat.f_type != libc::PROC_SUPER_MAGIC {
        return Err(ProcsError::NotProcfs {
            path: root.to_path_buf(),
        });
    }
    Ok(())
}

fn list_pids(root: &Path) -> Result<Vec<u32>, ProcsError> {
    let read_error = |source| ProcsError::Read {
        path: root.to_path_buf(),
        source,
    };
    let mut pids = Vec::new();
    for entry in fs::read_dir(root).map_err(read_error)? {
        if let Some(pid) = parse_number(entry.map_err(read_error)?.file_name().as_bytes()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The process's threads, ascending as /proc lists them; none when it vanished.
fn list_tids(root: &Path, pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir(root.join(pid.to_string()).join("task")) else {
        return Vec::new();
    };
    entries
        .map_while(Result::ok)
        .filter_map(|entry| parse_number(entry.file_name().as_bytes()))
        .collect()
}

/// The open fds of the task at `dir`; an error when it vanished or its fds are not ours to
/// read.
fn list_fds(dir: &Path) -> io::Result<Vec<u32>> {
    let entries = fs::read_dir(dir.join("fd"))?;
    Ok(entries
        .map_while(Result::ok)
        .filter_map(|entry| parse_number(entry.file_name().as_bytes()))
        .collect())
}

fn read_socket_links(
    root: &Path,
    chunk: &FdChunk,
    wanted: Option<&HashSet<u64>>,
    out: &mut Vec<SocketLink>,
) {
    // Reading links relative to the open directory spares a path walk through /proc per fd.
    let Ok(dir) = File::open(task_dir(root, chunk.pid, chunk.tid).join("fd")) else {
        return;
    };
    for &fd in chunk.fds {
        let Some(inode) = socket_inode(&dir, fd) else {
            continue;
        };
        if wanted.is_none_or(|wanted| wanted.contains(&inode)) {
            out.push(SocketLink {
                inode,
                pid: chunk.pid,
                tid: chunk.tid,
                fd,
            });
        }
    }
}

/// The socket inode fd `fd` of the directory `dir` links to; None for other files and for
/// fds closed since they were listed.
fn socket_inode(dir: &File, fd: u32) -> Option<u64> {
    // "4294967295" and its NUL fit.
    let mut name = [0u8; 11];
    write!(&mut name[..], "{fd}\0").ok()?;
    let name = CStr::from_bytes_until_nul(&name).ok()?;
    // "socket:[18446744073709551615]" fits; longer targets are other files anyway.
    let mut target = [0u8; 64];
    // SAFETY: name is NUL-terminated; readlinkat writes at most target.len() bytes.
    let len = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    };
    parse_socket_link(target.get(..usize::try_from(len).ok()?)?)
}

/// The inode in a link target of the form `socket:[INODE]`.
fn parse_socket_link(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The task's name as ss prints it: ss reads it from its stat file with `%*d (%[^)])`, so it
/// ends at the first ')'. The comm file holds the same unescaped name, cheaper to read.
/// Empty when the task has gone.
fn read_comm(dir: &Path) -> Vec<u8> {
    let Ok(raw) = crate::bounded::read_bytes(dir.join("comm")) else {
        return Vec::new();
    };
    ss_comm(raw.strip_suffix(b"\n").unwrap_or(&raw)).to_vec()
}

/// A process name as ss shows it: up to the first `)` (ss reads it from /proc/PID/stat).
fn ss_comm(name: &[u8]) -> &[u8] {
    name.split(|&b| b == b')').next().unwrap_or_default()
}

/// `/proc/PID`, or with a thread `/proc/PID/task/TID`.
fn task_dir(root: &Path, pid: u32, tid: Option<u32>) -> PathBuf {
    let process = root.join(pid.to_string());
    match tid {
        Some(tid) => process.join("task").join(tid.to_string()),
        None => process,
    }
}

/// A decimal directory entry name (a pid or an fd); None for the others.
fn parse_number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// Runs `work` on every item on all cores, each worker claiming the next unclaimed item, and
/// returns everything the workers pushed (in no particular order).
fn run_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T, &mut Vec<R>) + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut out = Vec::new();
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            work(item, &mut out);
        }
        out
    };
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let helpers = cores.min(items.len()).saturating_sub(1);
    thread::scope(|scope| {
        // A helper that cannot be started is no loss: this thread claims its share too.
        let handles: Vec<_> = (0..helpers)
            .filter_map(|_| thread::Builder::new().spawn_scoped(scope, worker).ok())
            .collect();
        let mut results = worker();
        for handle in handles {
            match handle.join() {
                Ok(more) => results.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A scratch directory removed when dropped.
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> ScratchDir {
            let path =
                std::env::temp_dir().join(format!("sockwatch-procs-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create scratch dir");
            ScratchDir(path)
        }

        /// Adds a fake process with a comm and fds linking to the given targets.
        fn process(&self, pid: u32, comm: &str, fds: &[(u32, &str)]) {
            let dir = self.0.join(pid.to_string());
            fs::create_dir_all(dir.join("fd")).expect("create fd dir");
            fs::write(dir.join("comm"), format!("{comm}\n")).expect("write comm");
            for (fd, target) in fds {
                symlink(target, dir.join("fd").join(fd.to_string())).expect("symlink");
            }
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn parses_socket_links_only() {
        assert_eq!(parse_socket_link(b"socket:[12345]"), Some(12345));
        assert_eq!(parse_socket_link(b"socket:[]"), None);
        assert_eq!(parse_socket_link(b"socket:[12"), None);
        assert_eq!(parse_socket_link(b"pipe:[12345]"), None);
        assert_eq!(parse_socket_link(b"/dev/null"), None);
        assert_eq!(parse_number(b"123"), Some(123));
        assert_eq!(parse_number(b"self"), None);
        assert_eq!(parse_number(b"+1"), None);
        assert_eq!(parse_number(b""), None);
    }

    #[test]
    fn program_name_is_argv0_as_netstat_shows_it() {
        assert_eq!(
            program_name_from_cmdline(b"/usr/bin/python3\0-c\0x"),
            "python3"
        );
        assert_eq!(program_name_from_cmdline(b"python3\0/a/b"), "python3");
        assert_eq!(
            program_name_from_cmdline(b"sshd: root@pts/0\0\0"),
            "sshd: root@pts/0"
        );
        assert_eq!(program_name_from_cmdline(b""), "");
        assert_eq!(program_name_from_cmdline(b"/usr/sbin/"), "");
        let long = [b'a'; 600];
        assert_eq!(program_name_from_cmdline(&long).len(), 511);
        assert!(program_name(std::process::id()).is_some());
    }

    /// The kernel iterator's holders make the same owners a /proc scan finds: a shared
    /// socket's in ss's order, names cut as ss cuts them.
    #[test]
    fn holders_from_the_kernel_make_owners_as_the_scan_does() {
        let holder = |inode, pid, fd, name: &[u8]| {
            let mut comm = [0; 16];
            comm[..name.len()].copy_from_slice(name);
            SocketHolder {
                inode,
                pid,
                fd,
                comm,
            }
        };
        let owners = SocketOwners::from_holders(
            vec![
                holder(7, 10, 3, b"server"),
                holder(7, 12, 4, b"worker"),
                holder(8, 10, 5, b"server"),
                holder(9, 13, 0, b"odd)name"),
            ]
            .into_iter(),
        );
        assert_eq!(owners.len(), 3);
        let shared: Vec<(u32, u32, Vec<u8>)> = owners
            .users_of(7)
            .into_iter()
            .map(|u| (u.pid, u.fd, u.comm))
            .collect();
        assert_eq!(
            shared,
            vec![(12, 4, b"worker".to_vec()), (10, 3, b"server".to_vec())]
        );
        assert_eq!(owners.users_of(9)[0].comm, b"odd");
        assert!(owners.holds(8) && !owners.holds(1));
    }

    #[test]
    fn shared_socket_lists_owners_as_ss_does() {
        let root = ScratchDir::new("order");
        root.process(
            100,
            "nginx",
            &[
                (3, "socket:[42]"),
                (4, "/dev/null"),
                (10, "socket:[42]"),
                (5, "socket:[7]"),
            ],
        );
        root.process(2000, "worker)x", &[(3, "socket:[42]"), (9, "pipe:[1]")]);
        root.process(30, "idle", &[(0, "/dev/tty")]);
        fs::create_dir_all(root.0.join("31")).expect("process without fd dir");
        fs::create_dir_all(root.0.join("self")).expect("non-pid entry");

        let owners = SocketOwners::scan_at(&root.0, None, false).expect("scan");
        assert_eq!(
            owners.users_of(42),
            [
                SocketUser::process("worker", 2000, 3),
                SocketUser::process("nginx", 100, 10),
                SocketUser::process("nginx", 100, 3),
            ]
        );
        assert_eq!(owners.users_of(7), [SocketUser::process("nginx", 100, 5)]);
        assert_eq!(owners.users_of(1), []);
        // The oldest holder is the one ss lists last, its name not copied.
        assert_eq!(owners.oldest_user(42), Some((100, &b"nginx"[..])));
        assert_eq!(owners.oldest_user(7), Some((100, &b"nginx"[..])));
        assert_eq!(owners.oldest_user(1), None);

        let wanted = HashSet::from([7]);
        let owners = SocketOwners::scan_at(&root.0, Some(&wanted), false).expect("scan");
        assert_eq!(owners.users_of(42), []);
        assert_eq!(owners.users_of(7), [SocketUser::process("nginx", 100, 5)]);
    }

    #[test]
    fn threads_are_owners_of_their_own_as_ss_t_shows() {
        let root = ScratchDir::new("threads");
        root.process(100, "main", &[(3, "socket:[42]")]);
        for (tid, comm) in [(100, "main"), (105, "worker"), (101, "io")] {
            let task = root.0.join("100/task").join(tid.to_string());
            fs::create_dir_all(task.join("fd")).expect("create task fd dir");
            fs::write(task.join("comm"), format!("{comm}\n")).expect("write comm");
            symlink("socket:[42]", task.join("fd/3")).expect("symlink");
        }
        let thread = |comm: &str, tid| SocketUser {
            tid: Some(tid),
            ..SocketUser::process(comm, 100, 3)
        };
        let owners = SocketOwners::scan_at(&root.0, None, true).expect("scan");
        assert_eq!(
            owners.users_of(42),
            [
                thread("worker", 105),
                thread("io", 101),
                thread("main", 100)
            ]
        );
        let owners = SocketOwners::scan_at(&root.0, None, false).expect("scan");
        assert_eq!(owners.users_of(42), [SocketUser::process("main", 100, 3)]);
    }

    #[test]
    fn many_fds_split_into_chunks_keep_order() {
        let root = ScratchDir::new("chunks");
        let count = u32::try_from(CHUNK_FDS * 2 + 10).expect("small");
        let targets: Vec<(u32, String)> = (0..count)
            .map(|fd| (fd, format!("socket:[{}]", 1 + fd % 2)))
            .collect();
        let fds: Vec<(u32, &str)> = targets.iter().map(|(fd, t)| (*fd, t.as_str())).collect();
        root.process(5, "big", &fds);

        let owners = SocketOwners::scan_at(&root.0, None, false).expect("scan");
        let odd = owners.users_of(2);
        assert_eq!(odd.len(), usize::try_from(count / 2).expect("small"));
        assert!(odd.windows(2).all(|pair| pair[0].fd > pair[1].fd));
        assert_eq!(odd.first(), Some(&SocketUser::process("big", 5, count - 1)));
    }

    #[test]
    fn missing_root_is_an_error() {
        let err = SocketOwners::scan_at(Path::new("/nonexistent-proc"), None, false).unwrap_err();
        assert!(matches!(err, ProcsError::Read { .. }), "{err}");
    }

    #[test]
    fn plain_directory_is_not_procfs() {
        let root = ScratchDir::new("notproc");
        let err = check_procfs(&root.0).unwrap_err();
        assert!(matches!(err, ProcsError::NotProcfs { .. }), "{err}");
        check_procfs(Path::new("/proc")).expect("/proc is procfs");
    }

    #[test]
    fn comm_keeps_the_kernels_bytes() {
        let root = ScratchDir::new("rawcomm");
        root.process(7, "placeholder", &[(3, "socket:[99]")]);
        fs::write(root.0.join("7/comm"), b"x\xff\x1b]0;\n\n").expect("write comm");
        let owners = SocketOwners::scan_at(&root.0, None, false).expect("scan");
        assert_eq!(owners.users_of(99)[0].comm, b"x\xff\x1b]0;\n");
    }

    #[test]
    fn finds_our_own_socket_in_real_proc() {
        use std::os::{fd::AsRawFd, unix::fs::MetadataExt, unix::net::UnixDatagram};

        let (socket, _peer) = UnixDatagram::pair().expect("socketpair");
        let fd = u32::try_from(socket.as_raw_fd()).expect("fd");
        let inode = fs::metadata(format!("/proc/self/fd/{fd}"))
            .expect("stat socket")
            .ino();
        let owners = SocketOwners::scan(Some(&HashSet::from([inode]))).expect("scan /proc");

        let comm = read_comm(&Path::new("/proc").join(std::process::id().to_string()));
        assert_eq!(
            owners.users_of(inode),
            [SocketUser {
                comm,
                pid: std::process::id(),
                tid: None,
                fd
            }]
        );
        assert_eq!(owners.len(), 1);
    }
}
