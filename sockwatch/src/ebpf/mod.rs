//! Loading sockwatch's eBPF programs and reading what they send.
//!
//! The programs (crate `sockwatch-ebpf`) are compiled into this binary. Loading them means:
//! check privileges, take field offsets from the kernel's BTF, set the kernel-side filter,
//! attach to the TCP state-change and socket-destroy hooks (and, where the kernel allows it, the
//! LSM hook that names the owner of accepted sockets), then read the ring buffer.

pub mod btf;
mod caps;
mod tracefs;

use aya::{
    maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf},
    programs::{BtfTracePoint, TracePoint},
    Btf as AyaBtf, Ebpf, EbpfLoader,
};
use sockwatch_common::{counter, KernelFilter, KernelOffsets, SockEvent};

use crate::event::ResetReasons;
use thiserror::Error;
use tokio::io::{unix::AsyncFd, Interest};

pub use caps::missing_capabilities;

static PROGRAMS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sockwatch"));

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("this sockwatch was built without its eBPF programs (AYA_BUILD_SKIP): rebuild with `cargo xtask build`")]
    NotBuilt,
    #[error("follow needs root or the capabilities {0}")]
    Privileges(String),
    #[error(transparent)]
    Btf(#[from] btf::BtfError),
    #[error("loading the eBPF programs failed: {0}")]
    Load(String),
    #[error("cannot attach the tracepoints that name accepted sockets' owners: {0}")]
    Tracefs(String),
    #[error("this kernel has no {hook} hook for BPF ({reason})")]
    MissingHook { hook: String, reason: String },
    #[error("the eBPF map {0} is missing from the programs")]
    MissingMap(&'static str),
    #[error("reading eBPF map {map}: {reason}")]
    Map { map: &'static str, reason: String },
}

/// What the kernel side should send.
#[derive(Clone, Debug, Default)]
pub struct TracerConfig {
    /// Ring buffer size in bytes (a power of two, at least one page).
    pub ring_bytes: u32,
    pub filter: KernelFilter,
    /// Ports of interest when `filter.filter_ports` is set.
    pub ports: Vec<u16>,
}

/// The loaded and attached programs. Dropping it detaches everything.
pub struct Tracer {
    /// Owns the programs and their links: dropping it detaches everything.
    _ebpf: Ebpf,
    events: AsyncFd<RingBuf<MapData>>,
    counters: PerCpuArray<MapData, u64>,
    admission: Admission,
    /// Descriptors (owned by `_ebpf`) of the programs whose skipped runs lose events.
    program_fds: Vec<std::os::fd::RawFd>,
    /// Why the kernel refused the LSM hook, when it did: accepted sockets then have no owner
    /// until a close in the owner's context names it.
    pub accept_owner_unavailable: Option<String>,
    /// Which hooks that tell why connections end are attached, and the kernel's reset reasons.
    pub reasons: ReasonHooks,
}

/// The hooks that tell why connections end (each optional: a kernel without one loses only
/// what that hook tells).
#[derive(Clone, Debug, Default)]
pub struct ReasonHooks {
    /// One line for each hook that could not be attached: the hook, the kernel's answer, and
    /// what follow cannot tell without it.
    pub missing: Vec<String>,
    /// Whether every hook a connection's end needs (resets sent and received, errors reported
    /// to sockets) is attached: without them a quiet end is `unknown`, not `normal`.
    pub ends_complete: bool,
    /// The kernel's `enum sk_rst_reason`, from its BTF (empty when it has none).
    pub reset_reasons: ResetReasons,
}

/// The running kernel's reset reasons (for a replay: the recording's kernel is likely this
/// one); empty when its BTF is unreadable.
pub fn running_kernel_reset_reasons() -> ResetReasons {
    let names = btf::Btf::from_sys_fs()
        .ok()
        .and_then(|btf| btf.enum_values("sk_rst_reason").ok().flatten());
    ResetReasons::new(names.unwrap_or_default())
}

/// The reason hooks (tp_btf): program name, hook, whether it tells how connections end, and
/// what is lost without it.
const REASON_HOOKS: &[(&str, &str, bool, &str)] = &[
    (
        "tcp_send_reset",
        "tcp_send_reset",
        true,
        "resets this host sent show as reason unknown",
    ),
    (
        "tcp_receive_reset",
        "tcp_receive_reset",
        true,
        "resets received and refusals show as reason unknown",
    ),
    (
        "inet_sk_error_report",
        "inet_sk_error_report",
        true,
        "errno, timeouts, unreachable and killed show as reason unknown",
    ),
    (
        "tcp_retransmit_skb",
        "tcp_retransmit_skb",
        false,
        "no retransmit events (the per-connection count stays)",
    ),
    (
        "keep_counters_at_close",
        "inet_sock_set_state",
        false,
        "bytes and retransmits of abortive closes read 0",
    ),
];

/// Environment variable naming reason hooks not to attach (comma separated program names, or
/// `reasons` for all). For the end-to-end tests and the bench only: each reason's test proves
/// its hook is what tells it, the bench measures what the hooks cost.
pub const SKIP_HOOKS_ENV: &str = "SOCKWATCH_SKIP_HOOKS";

fn skipped(name: &str) -> bool {
    std::env::var(SKIP_HOOKS_ENV).is_ok_and(|list| {
        list.split(',')
            .any(|n| n.trim() == name || n.trim() == "reasons")
    })
}

/// Byte offsets of the kernel fields the programs read, from the running kernel's BTF.
pub fn kernel_offsets(btf: &btf::Btf) -> Result<KernelOffsets, btf::BtfError> {
    let sock = |field: &str| btf.field_offset("sock", field);
    let common = |field: &str| btf.field_offset("sock", &format!("__sk_common.{field}"));
    Ok(KernelOffsets {
        skc_family: common("skc_family")?,
        skc_state: common("skc_state")?,
        inet_sport: btf.field_offset("inet_sock", "inet_sport")?,
        skc_dport: common("skc_dport")?,
        skc_rcv_saddr: common("skc_rcv_saddr")?,
        skc_daddr: common("skc_daddr")?,
        skc_v6_rcv_saddr: common("skc_v6_rcv_saddr")?,
        skc_v6_daddr: common("skc_v6_daddr")?,
        skc_net: common("skc_net")?,
        sk_protocol: sock("sk_protocol")?,
        net_ns_inum: btf.field_offset("net", "ns.inum")?,
        tcp_bytes_acked: btf.field_offset("tcp_sock", "bytes_acked")?,
        tcp_bytes_received: btf.field_offset("tcp_sock", "bytes_received")?,
        tcp_total_retrans: btf.field_offset("tcp_sock", "total_retrans")?,
        sk_cookie: common("skc_cookie")?,
        task_files: btf.field_offset("task_struct", "files")?,
        files_fdt: btf.field_offset("files_struct", "fdt")?,
        fdtable_fd: btf.field_offset("fdtable", "fd")?,
        fdtable_max_fds: btf.field_offset("fdtable", "max_fds")?,
        file_private_data: btf.field_offset("file", "private_data")?,
        socket_sk: btf.field_offset("socket", "sk")?,
        sk_err: sock("sk_err")?,
        tcp_srtt_us: btf.field_offset("tcp_sock", "srtt_us")?,
        tcp_rtt_min: btf.field_offset("tcp_sock", "rtt_min")?,
        valid: 1,
    })
}

impl Tracer {
    pub fn load(config: &TracerConfig) -> Result<Tracer, LoadError> {
        if PROGRAMS.is_empty() {
            return Err(LoadError::NotBuilt);
        }
        let missing = missing_capabilities();
        if !missing.is_empty() {
            return Err(LoadError::Privileges(missing.join(", ")));
        }
        let btf = btf::Btf::from_sys_fs()?;
        let offsets = kernel_offsets(&btf)?;
        let kernel_btf = AyaBtf::from_sys_fs().map_err(|e| btf::BtfError::Unreadable {
            path: "/sys/kernel/btf/vmlinux".into(),
            reason: e.to_string(),
        })?;

        let mut loader = EbpfLoader::new();
        loader
            .btf(Some(&kernel_btf))
            .override_global("OFFSETS", &offsets, true)
            .override_global("FILTER", &config.filter, true);
        if config.ring_bytes != 0 {
            loader.map_max_entries("EVENTS", config.ring_bytes);
        }
        if !config.filter.needs_admission() {
            // Every socket is sent: the admitted set stays empty.
            loader.map_max_entries("ADMITTED", 1);
        }
        let mut ebpf = loader
            .load(PROGRAMS)
            .map_err(|e| LoadError::Load(error_chain(&e)))?;

        if config.filter.filter_ports != 0 {
            let mut ports: BpfHashMap<_, u16, u8> = BpfHashMap::try_from(
                ebpf.map_mut("PORTS")
                    .ok_or(LoadError::MissingMap("PORTS"))?,
            )
            .map_err(|e| map_error("PORTS", e))?;
            for port in &config.ports {
                ports
                    .insert(port, 1, 0)
                    .map_err(|e| map_error("PORTS", e))?;
            }
        }

        for (name, hook) in TP_BTF_PROGRAMS {
            attach_tp_btf(&mut ebpf, name, hook, &kernel_btf)?;
        }
        let accept_owner_unavailable = attach_accept_hooks(&mut ebpf).err().map(|e| e.to_string());
        let reasons = attach_reason_hooks(&mut ebpf, &kernel_btf, &btf);

        let events = RingBuf::try_from(
            ebpf.take_map("EVENTS")
                .ok_or(LoadError::MissingMap("EVENTS"))?,
        )
        .map_err(|e| map_error("EVENTS", e))?;
        // SAFETY: the RingBuf owns its map fd, which stays open until the AsyncFd drops it.
        let events = unsafe { AsyncFd::register_with_interest(events, Interest::READABLE) }
            .map_err(|e| LoadError::Map {
                map: "EVENTS",
                reason: e.to_string(),
            })?;
        let counters = PerCpuArray::try_from(
            ebpf.take_map("COUNTERS")
                .ok_or(LoadError::MissingMap("COUNTERS"))?,
        )
        .map_err(|e| map_error("COUNTERS", e))?;
        let admission = Admission::take(&mut ebpf)?;
        // A skipped run of a tp_btf program is covered by its nested twin; the accept hooks
        // have none.
        let program_fds = ebpf
            .programs()
            .filter(|(name, _)| !TP_BTF_PROGRAMS.iter().any(|(program, _)| program == name))
            .filter_map(|(_, program)| program.fd().ok())
            .map(|fd| std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(fd)))
            .collect();
        Ok(Tracer {
            _ebpf: ebpf,
            events,
            counters,
            admission,
            program_fds,
            accept_owner_unavailable,
            reasons,
        })
    }

    /// Waits until events are ready, then appends every queued event to `out`.
    pub async fn read_batch(&mut self, out: &mut Vec<SockEvent>) -> std::io::Result<()> {
        let mut guard = self.events.readable_mut().await?;
        let ring = guard.get_inner_mut();
        while let Some(item) = ring.next() {
            if item.len() >= std::mem::size_of::<SockEvent>() {
                // SAFETY: the kernel wrote a SockEvent (repr(C), any bit pattern valid); the
                // ring gives no alignment guarantee, hence the unaligned read.
                out.push(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<SockEvent>()) });
            }
        }
        guard.clear_ready();
        Ok(())
    }

    /// Appends whatever is queued now, without waiting.
    pub fn drain(&mut self, out: &mut Vec<SockEvent>) {
        let ring = self.events.get_mut();
        while let Some(item) = ring.next() {
            if item.len() >= std::mem::size_of::<SockEvent>() {
                // SAFETY: as in read_batch.
                out.push(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<SockEvent>()) });
            }
        }
    }

    /// Kernel counters summed over CPUs.
    pub fn counters(&self) -> Result<KernelCounters, LoadError> {
        let sum = |index: u32| -> Result<u64, LoadError> {
            let values = self
                .counters
                .get(&index, 0)
                .map_err(|e| map_error("COUNTERS", e))?;
            Ok(values.iter().sum())
        };
        Ok(KernelCounters {
            lost: sum(counter::LOST)?.saturating_add(self.missed_runs()),
            filtered: sum(counter::FILTERED)?,
            admit_full: sum(counter::ADMIT_FULL)?,
            nested: sum(counter::NESTED)?,
        })
    }

    /// Runs of the programs the kernel skipped: a tracing program that fires again on a CPU
    /// where it is already running (e.g. a softirq interrupting it) is not run, and its event
    /// is lost. The kernel counts these per program (`recursion_misses` in fdinfo); the
    /// tp_btf hooks' nested programs send what their main programs skip.
    fn missed_runs(&self) -> u64 {
        self.program_fds
            .iter()
            .filter_map(|fd| std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok())
            .filter_map(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("recursion_misses:"))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .fold(0, u64::saturating_add)
    }

    /// From now until [`Tracer::end_listing`] every destroy is sent: a socket listed from
    /// sock_diag but not yet admitted may end in between.
    pub fn begin_listing(&mut self) -> Result<(), LoadError> {
        self.admission.set_listing(1)
    }

    /// Admits the listed sockets (cookies) that the kernel-side filter wants, then ends the
    /// listing window. Returns how many could not be admitted (the set is full).
    pub fn end_listing(&mut self, cookies: impl Iterator<Item = u64>) -> Result<u64, LoadError> {
        let mut refused = 0;
        for cookie in cookies {
            if self.admission.admitted.insert(cookie, 1, 0).is_err() {
                refused += 1;
            }
        }
        self.admission.set_listing(0)?;
        Ok(refused)
    }

    /// Ends the admission of a socket whose destroy came while it was being admitted from a
    /// listing (the kernel removes the others itself).
    pub fn forget(&mut self, cookie: u64) {
        // Absent is the usual answer: the kernel removed it on the destroy.
        let _ = self.admission.admitted.remove(&cookie);
    }
}

/// The maps through which user space admits listed sockets (see `KernelFilter`).
struct Admission {
    admitted: BpfHashMap<MapData, u64, u8>,
    listing: Array<MapData, u32>,
}

impl Admission {
    fn take(ebpf: &mut Ebpf) -> Result<Admission, LoadError> {
        let admitted = BpfHashMap::try_from(
            ebpf.take_map("ADMITTED")
                .ok_or(LoadError::MissingMap("ADMITTED"))?,
        )
        .map_err(|e| map_error("ADMITTED", e))?;
        let listing = Array::try_from(
            ebpf.take_map("LISTING")
                .ok_or(LoadError::MissingMap("LISTING"))?,
        )
        .map_err(|e| map_error("LISTING", e))?;
        Ok(Admission { admitted, listing })
    }

    fn set_listing(&mut self, value: u32) -> Result<(), LoadError> {
        self.listing
            .set(0, value, 0)
            .map_err(|e| map_error("LISTING", e))
    }
}

/// Counters the kernel side keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Events lost: the ring buffer was full, a program run was skipped, or a socket could
    /// not be admitted.
    pub lost: u64,
    pub filtered: u64,
    /// Admissions refused because the admitted set was full (within `lost`).
    pub admit_full: u64,
    /// Events the nested programs sent for runs the kernel skipped (not lost).
    pub nested: u64,
}

/// A MissingHook error for `hook` from any error.
fn missing_hook(hook: String) -> impl Fn(&dyn std::error::Error) -> LoadError {
    move |err| LoadError::MissingHook {
        hook: hook.clone(),
        reason: error_chain(err),
    }
}

/// The program named `name` in the object, as the program type `P`.
fn program<'a, P>(ebpf: &'a mut Ebpf, name: &str, hook: &str) -> Result<&'a mut P, LoadError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let program = ebpf
        .program_mut(name)
        .ok_or_else(|| LoadError::MissingHook {
            hook: hook.to_string(),
            reason: format!("program {name} not in the object"),
        })?;
    program
        .try_into()
        .map_err(|e| missing_hook(hook.to_string())(&e))
}

/// The tp_btf programs and their hooks. Each hook has a second program that sends the event
/// when the kernel skips the first for recursion (see `RUNNING` in sockwatch-ebpf).
const TP_BTF_PROGRAMS: [(&str, &str); 4] = [
    ("inet_sock_set_state", "inet_sock_set_state"),
    ("state_nested", "inet_sock_set_state"),
    ("tcp_destroy_sock", "tcp_destroy_sock"),
    ("destroy_nested", "tcp_destroy_sock"),
];

fn attach_tp_btf(
    ebpf: &mut Ebpf,
    name: &str,
    function: &str,
    btf: &AyaBtf,
) -> Result<(), LoadError> {
    let hook = format!("tp_btf/{function}");
    let missing = missing_hook(hook.clone());
    let program: &mut BtfTracePoint = program(ebpf, name, &hook)?;
    program.load(function, btf).map_err(|e| missing(&e))?;
    program.attach().map_err(|e| missing(&e))?;
    Ok(())
}

/// The syscall exit tracepoints that name the owner of accepted sockets. Classic tracepoints
/// need tracefs: mount it when the system has not.
fn attach_accept_hooks(ebpf: &mut Ebpf) -> Result<(), LoadError> {
    attach_syscall_hooks(ebpf, &["sys_exit_accept4", "sys_exit_accept"])
}

/// Attaches syscalls/NAME tracepoints (their programs carry the same names).
fn attach_syscall_hooks(ebpf: &mut Ebpf, names: &[&str]) -> Result<(), LoadError> {
    tracefs::ensure_mounted().map_err(LoadError::Tracefs)?;
    for &name in names {
        let hook = format!("syscalls/{name}");
        let missing = missing_hook(hook.clone());
        let program: &mut TracePoint = program(ebpf, name, &hook)?;
        program.load().map_err(|e| missing(&e))?;
        program.attach("syscalls", name).map_err(|e| missing(&e))?;
    }
    Ok(())
}

/// Attaches what the kernel has of the reason hooks; each one missing is one line.
fn attach_reason_hooks(ebpf: &mut Ebpf, kernel_btf: &AyaBtf, btf: &btf::Btf) -> ReasonHooks {
    let mut hooks = ReasonHooks {
        ends_complete: true,
        reset_reasons: ResetReasons::new(
            btf.enum_values("sk_rst_reason")
                .ok()
                .flatten()
                .unwrap_or_default(),
        ),
        ..ReasonHooks::default()
    };
    for &(name, hook, tells_ends, without) in REASON_HOOKS {
        let attached = if skipped(name) {
            Err(format!("skipped by {SKIP_HOOKS_ENV}"))
        } else {
            attach_tp_btf(ebpf, name, hook, kernel_btf).map_err(|e| e.to_string())
        };
        if let Err(why) = attached {
            hooks
                .missing
                .push(format!("no {name} program on {hook} ({why}): {without}"));
            hooks.ends_complete &= !tells_ends;
        }
    }
    let connect = if skipped("sys_exit_connect") {
        Err(format!("skipped by {SKIP_HOOKS_ENV}"))
    } else {
        attach_syscall_hooks(ebpf, &["sys_enter_connect", "sys_exit_connect"])
            .map_err(|e| e.to_string())
    };
    if let Err(why) = connect {
        hooks.ends_complete = false;
        hooks.missing.push(format!(
            "no connect() syscall hooks ({why}): connect() failing before a SYN shows as reason unknown, without owner or destination"
        ));
    }
    hooks
}

fn map_error(map: &'static str, err: impl std::error::Error) -> LoadError {
    LoadError::Map {
        map,
        reason: error_chain(&err),
    }
}

/// An error and its sources on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
