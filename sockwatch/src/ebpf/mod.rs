//! Loading sockwatch's eBPF programs and reading what they send.
//!
//! The programs (crate `sockwatch-ebpf`) are compiled into this binary. Loading them means:
//! check privileges, read the kernel's BTF once (field offsets for the programs, tracepoint ids
//! for aya), set the kernel-side filter, then attach each hook of [`hooks::HOOKS`] through the
//! first candidate program the kernel accepts, and read the ring buffer.

pub mod btf;
mod caps;
mod ended;
mod files;
pub mod hooks;
mod ring;
mod tracefs;
mod verifier;

use std::{collections::HashMap, path::PathBuf};

use aya::{
    maps::{Array, HashMap as BpfHashMap, Map, MapData, MapError, PerCpuArray},
    programs::{BtfTracePoint, Program, TracePoint},
    Btf as AyaBtf, Ebpf, EbpfLoader, Endianness, VerifierLogLevel,
};
use hooks::{Attach, Candidate, Hook, HOOKS};
use sockwatch_common::{counter, FileOffsets, KernelFilter, KernelOffsets, SockEvent};

use crate::event::ResetReasons;
use thiserror::Error;
use tokio::io::{unix::AsyncFd, Interest};

pub use caps::missing_capabilities;
pub use ended::EndedSums;
pub use files::socket_owners;

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
    #[error("{}", required_hook_message(feature, refusals, log))]
    RequiredHook {
        feature: &'static str,
        refusals: Vec<verifier::Refusal>,
        /// Where the verifier's logs were written, when the kernel gave any.
        log: Option<PathBuf>,
    },
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
    /// Entries of the kernel's owner map (OWNERS) when not the programs' own 262,144.
    pub owners_capacity: Option<u32>,
    /// Print the verifier's log of every program the kernel refused (else it goes to a file
    /// when follow cannot run).
    pub verbose: bool,
    /// Open two runs of the kernel's iterator over open socket files (see
    /// [`Tracer::take_socket_files`]).
    pub socket_files: bool,
    /// Attach at once only what keeps the table right (state changes, destruction, owners of
    /// accepted sockets): the nested twins and the reason hooks wait for
    /// [`Tracer::attach_rest`], and their verification no longer delays the first events.
    pub quick_start: bool,
}

/// A feature this kernel cannot serve: follow runs without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Degraded {
    pub feature: &'static str,
    /// Why, in one line (the kernel's refusal of the last candidate).
    pub reason: String,
}

impl std::fmt::Display for Degraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: unavailable on this kernel ({})",
            self.feature, self.reason
        )
    }
}

/// The loaded and attached programs. Dropping it detaches everything.
pub struct Tracer {
    /// Owns the programs and their links: dropping it detaches everything.
    ebpf: Ebpf,
    events: AsyncFd<ring::EventRing>,
    counters: PerCpuArray<MapData, u64>,
    /// Features this kernel cannot serve.
    pub degraded: Vec<Degraded>,
    /// What the candidates the kernel made follow take cost (one line each).
    pub compromises: Vec<&'static str>,
    admission: Admission,
    /// Descriptors (owned by `ebpf`) of the programs whose skipped runs may lose events, and
    /// how those runs are accounted for.
    program_fds: Vec<(std::os::fd::RawFd, hooks::SkippedRuns)>,
    /// The last reading of the skipped runs and when it was made: counters are asked for
    /// after every batch, the counts change rarely and cost file reads.
    skipped: std::cell::Cell<Option<(std::time::Instant, SkippedRunCounts)>>,
    /// The most skipped runs found lost so far: the count reported never goes down.
    lost_skips: std::cell::Cell<u64>,
    /// Whether every hook that tells how connections end is attached, and the kernel's reset
    /// reasons.
    pub reasons: ReasonHooks,
    /// Runs of the iterator over open socket files, each to read once (empty when not asked
    /// for or this kernel has no such iterator).
    socket_files: Vec<std::fs::File>,
    /// What [`Tracer::attach_rest`] attaches, until it has.
    rest: Option<Rest>,
}

/// The hooks a quick start leaves for later (see [`TracerConfig::quick_start`]).
struct Rest {
    /// The twins of the hooks attached (as hooks of their own), then the reason hooks.
    hooks: Vec<Hook>,
    btf: AyaBtf,
    verbose: bool,
}

/// OWNERS entries enough for a view that sees every event. The map only puts owners into
/// events that run outside the owner's context, and such a view's table already holds every
/// owner it was sent (connect, listen and accept carry theirs): recent sockets are what it
/// needs. An LRU map is preallocated in full, and 262,144 entries cost ~10 ms of CPU and
/// ~27 MB of kernel memory at each start. A view that sees only ends keeps the full size:
/// there the DESTROY is the only event to carry the owner.
pub const OWNERS_FOR_EVERY_EVENT: u32 = 65_536;

/// What follow needs to name why connections end.
#[derive(Clone, Debug, Default)]
pub struct ReasonHooks {
    /// Whether every hook a connection's end needs (resets sent and received, errors reported
    /// to sockets, failed connects) is attached: without them a quiet end is `unknown`.
    pub ends_complete: bool,
    /// The kernel's `enum sk_rst_reason`, from its BTF (empty when it has none).
    pub reset_reasons: ResetReasons,
}

/// The running kernel's reset reasons (for a replay: the recording's kernel is likely this
/// one); empty when its BTF is unreadable.
pub fn running_kernel_reset_reasons() -> ResetReasons {
    let names = btf::Btf::from_sys_fs(&[(btf::Kind::Enum, RESET_REASONS)])
        .ok()
        .and_then(|btf| btf.enum_values(RESET_REASONS).ok().flatten());
    ResetReasons::new(names.unwrap_or_default())
}

/// The kernel's enum of reset reasons (Linux 6.10 and later).
const RESET_REASONS: &str = "sk_rst_reason";

/// Environment variable naming reason hooks not to attach (comma separated program names, or
/// `reasons` for all). For the end-to-end tests and the bench only: each reason's test proves
/// its hook is what tells it, the bench measures what the hooks cost.
pub const SKIP_HOOKS_ENV: &str = "SOCKWATCH_SKIP_HOOKS";

/// Whether the tests asked for this reason hook to be left out.
fn skipped(hook: &Hook) -> bool {
    if !hooks::REASON_FEATURES.contains(&hook.feature) {
        return false;
    }
    std::env::var(SKIP_HOOKS_ENV).is_ok_and(|list| {
        list.split(',').map(str::trim).any(|name| {
            name == "reasons"
                || hook
                    .candidates
                    .iter()
                    .flat_map(|c| c.programs)
                    .any(|p| p.name == name)
        })
    })
}

/// The structs whose fields the programs read (see [`kernel_offsets`]).
const OFFSET_STRUCTS: [&str; 9] = [
    "sock",
    "inet_sock",
    "net",
    "tcp_sock",
    "task_struct",
    "files_struct",
    "fdtable",
    "file",
    "socket",
];

/// Byte offsets of the kernel fields the programs read, from the running kernel's BTF.
pub fn kernel_offsets(btf: &btf::Btf) -> Result<KernelOffsets, btf::BtfError> {
    // Every struct below in one scan of the kernel's ~100,000 types (none when they were
    // looked up as the BTF was indexed).
    btf.find_all(&OFFSET_STRUCTS.map(|name| (btf::Kind::Struct, name)))?;
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

impl Drop for Tracer {
    /// Each detach waits out the kernel's RCU grace periods (unregistering a classic
    /// tracepoint synchronizes twice), so a dozen programs detached one after another take
    /// seconds on a busy machine. Detached side by side the waits overlap, and a signal still
    /// ends follow within a second.
    fn drop(&mut self) {
        std::thread::scope(|scope| {
            for (_, program) in self.ebpf.programs_mut() {
                scope.spawn(move || detach(program));
            }
        });
    }
}

/// Detaches and unloads one program; what cannot be undone now the kernel undoes when the
/// process's descriptors close.
fn detach(program: &mut Program) {
    let _ = match program {
        Program::BtfTracePoint(program) => program.unload(),
        Program::TracePoint(program) => program.unload(),
        _ => Ok(()),
    };
}

/// What follow's programs need of the running kernel's types, from one read of its BTF and
/// one walk of its types; the file is unmapped (or freed) once they are found.
struct KernelTypes {
    offsets: KernelOffsets,
    file_offsets: FileOffsets,
    /// The tracepoint and iterator ids aya needs, in a blob of their own (see
    /// `btf::Btf::attach_types`), parsed by aya: one record per kernel type up to the last
    /// id wanted.
    trace_btf: AyaBtf,
    reset_reasons: ResetReasons,
}

impl KernelTypes {
    fn read() -> Result<KernelTypes, LoadError> {
        let tracepoints = hooks::tp_btf_tracepoints();
        let typedefs: Vec<String> = tracepoints.iter().map(|t| btf::trace_type(t)).collect();
        let iterator = btf::iter_func(files::ITERATOR);
        let wanted: Vec<(btf::Kind, &str)> = OFFSET_STRUCTS
            .iter()
            .map(|name| (btf::Kind::Struct, *name))
            .chain(files::STRUCTS.map(|name| (btf::Kind::Struct, name)))
            .chain(typedefs.iter().map(|t| (btf::Kind::Typedef, t.as_str())))
            .chain([
                (btf::Kind::Func, iterator.as_str()),
                (btf::Kind::Enum, RESET_REASONS),
            ])
            .collect();
        let (offsets, file_offsets, blob, resets) = {
            let kernel = btf::Btf::from_sys_fs(&wanted)?;
            (
                kernel_offsets(&kernel)?,
                files::offsets(&kernel),
                kernel.attach_types(&tracepoints, &[files::ITERATOR])?,
                kernel.enum_values(RESET_REASONS)?.unwrap_or_default(),
            )
        };
        let trace_btf = AyaBtf::parse(&blob, Endianness::default())
            .map_err(|e| LoadError::Load(format!("tracepoint ids: {}", error_chain(&e))))?;
        Ok(KernelTypes {
            offsets,
            file_offsets,
            trace_btf,
            reset_reasons: ResetReasons::new(resets),
        })
    }
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
        raise_memlock_limit();
        // aya creates the maps (the bulk of its load) while the kernel's BTF is read on a
        // thread of its own: the programs take their offsets from maps, written before any
        // program loads. Beside both, aya's probes of the kernel's features (a few dozen small
        // bpf() calls, made once per process) and the building of its loader.
        let kernel = std::thread::spawn(KernelTypes::read);
        let features = std::thread::spawn(|| {
            aya::features();
        });
        let loader = loader_without_kernel_btf();
        let salt = alias_salt();

        let mut loader = join_loader(loader);
        // No CO-RE relocations in the object: aya needs no kernel BTF to load it.
        // A refused candidate is loaded again with a log, up to five times as the buffer
        // grows: a per-instruction log makes each of those a slow verification (minutes for
        // the larger programs on an emulated CPU). The verdict and statistics say why in one
        // line; --verbose asks for the whole trace.
        let log_level = if config.verbose {
            VerifierLogLevel::DEBUG | VerifierLogLevel::STATS
        } else {
            VerifierLogLevel::STATS
        };
        loader
            .btf(None)
            .verifier_log_level(log_level)
            .override_global("FILTER", &config.filter, true)
            .override_global("ALIAS_SALT", &salt, true);
        if config.ring_bytes != 0 {
            loader.map_max_entries("EVENTS", config.ring_bytes);
        }
        if let Some(capacity) = config.owners_capacity {
            loader.map_max_entries("OWNERS", capacity);
        }
        if config.filter.ends_only == 0 {
            // Only top (ends only) sums short connections in the kernel.
            loader.map_max_entries("BIRTHS", 1);
            loader.map_max_entries("ENDED", 1);
        }
        if !config.filter.needs_admission() {
            // Every socket is sent: the admitted set stays empty.
            loader.map_max_entries("ADMITTED", 1);
        }
        features
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut ebpf = loader
            .load(PROGRAMS)
            .map_err(|e| LoadError::Load(error_chain(&e)))?;
        let KernelTypes {
            offsets,
            file_offsets,
            trace_btf,
            reset_reasons,
        } = kernel
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        set_only(&mut ebpf, "KERNEL_OFFSETS", offsets)?;
        set_only(&mut ebpf, "FILE_OFFSETS", file_offsets)?;

        if config.filter.filter_ports != 0 {
            let mut ports: BpfHashMap<_, u16, u8> = borrow_map(&mut ebpf, "PORTS")?;
            for port in &config.ports {
                ports
                    .insert(port, 1, 0)
                    .map_err(|e| map_error("PORTS", e))?;
            }
        }

        let mut degraded = Vec::new();
        let mut now = Vec::new();
        let mut later = Vec::new();
        for hook in HOOKS {
            if skipped(hook) {
                degraded.push(Degraded {
                    feature: hook.feature,
                    reason: format!("skipped by {SKIP_HOOKS_ENV}"),
                });
            } else if config.quick_start && hooks::tells_reasons(hook) {
                later.push(*hook);
            } else {
                now.push(*hook);
            }
        }
        let wave = if config.quick_start {
            Wave::First
        } else {
            Wave::All
        };
        let attached = attach_wave(&mut ebpf, &now, &trace_btf, wave, config.verbose)?;
        degraded.extend(attached.degraded);
        let compromises = attached.compromises;
        // Each twin waits as a hook of its own, with its main program's candidate.
        let twins = attached
            .serving
            .iter()
            .filter(|(_, candidate)| candidate.programs.iter().any(hooks::is_twin))
            .map(|(_, candidate)| Hook {
                feature: hooks::NESTED_RUNS,
                required: false,
                candidates: std::slice::from_ref(*candidate),
            });
        let later: Vec<Hook> = match wave {
            Wave::First => twins.chain(later).collect(),
            _ => Vec::new(),
        };

        // Two runs: one read at once, one kept for a socket that opens before the listing.
        // Without them the owners come from /proc.
        let socket_files = match config.socket_files {
            true => files::open(&mut ebpf, &trace_btf, 2).unwrap_or_else(|reason| {
                if config.verbose {
                    eprintln!("sockwatch: socket owners come from /proc: {reason}");
                }
                Vec::new()
            }),
            false => Vec::new(),
        };

        // A quick start tells why connections end once the rest is attached.
        let ends_complete = !config.quick_start && ends_complete(&degraded);

        let events = match ebpf.take_map("EVENTS") {
            Some(Map::RingBuf(map)) => map,
            Some(_) => {
                return Err(LoadError::Map {
                    map: "EVENTS",
                    reason: "not a ring buffer".into(),
                })
            }
            None => return Err(LoadError::MissingMap("EVENTS")),
        };
        let ring_failed = |e: &dyn std::fmt::Display| LoadError::Map {
            map: "EVENTS",
            reason: e.to_string(),
        };
        let events = ring::EventRing::new(events).map_err(|e| ring_failed(&e))?;
        // SAFETY: the ring owns its map fd, which stays open until the AsyncFd drops it.
        let events = unsafe { AsyncFd::register_with_interest(events, Interest::READABLE) }
            .map_err(|e| ring_failed(&e))?;
        let counters = take_map(&mut ebpf, "COUNTERS")?;
        let admission = Admission::take(&mut ebpf)?;
        if config.filter.ends_only != 0 {
            // top: the kernel sums short connections from the start (see EndedSums).
            ended::start_sums(&mut ebpf)?;
        }
        // Programs the kernel did not take have no descriptor.
        let program_fds = program_fds(&ebpf);
        let rest = config.quick_start.then_some(Rest {
            hooks: later,
            btf: trace_btf,
            verbose: config.verbose,
        });
        Ok(Tracer {
            ebpf,
            events,
            counters,
            degraded,
            compromises,
            admission,
            program_fds,
            skipped: std::cell::Cell::new(None),
            lost_skips: std::cell::Cell::new(0),
            reasons: ReasonHooks {
                ends_complete,
                reset_reasons,
            },
            socket_files,
            rest,
        })
    }

    /// Loads and attaches what a quick start left (see [`TracerConfig::quick_start`]): the
    /// nested twins, then the reason hooks; what the kernel refuses joins
    /// [`Tracer::degraded`]. Returns the notices (see [`Tracer::notices`]) they add. Does
    /// nothing once done, or when everything was attached at load.
    pub fn attach_rest(&mut self) -> Vec<String> {
        let Some(rest) = self.rest.take() else {
            return Vec::new();
        };
        let wave = attach_wave(
            &mut self.ebpf,
            &rest.hooks,
            &rest.btf,
            Wave::Rest,
            rest.verbose,
        );
        let (degraded, compromises) = match wave {
            Ok(attached) => (attached.degraded, attached.compromises),
            // Only a required hook fails a wave, and none of these is: said all the same.
            Err(error) => {
                let failed = Degraded {
                    feature: "the hooks attached after the start",
                    reason: error.to_string(),
                };
                (vec![failed], Vec::new())
            }
        };
        let notices = notices(&degraded, &compromises);
        self.degraded.extend(degraded);
        self.compromises.extend(compromises);
        self.reasons.ends_complete = ends_complete(&self.degraded);
        self.program_fds = program_fds(&self.ebpf);
        self.skipped.set(None);
        notices
    }

    /// One line for each feature this kernel cannot serve and each compromise the loader
    /// made.
    pub fn notices(&self) -> Vec<String> {
        notices(&self.degraded, &self.compromises)
    }

    /// Whether [`Tracer::attach_rest`] has hooks left to attach.
    pub fn attaching_later(&self) -> bool {
        self.rest.is_some()
    }

    /// The runs of the iterator over open socket files (see [`socket_owners`]), once.
    pub fn take_socket_files(&mut self) -> Vec<std::fs::File> {
        std::mem::take(&mut self.socket_files)
    }

    /// Unloads the iterator's program once its runs are read: only the start needs it.
    pub fn unload_socket_files(&mut self) {
        self.socket_files.clear();
        files::unload(&mut self.ebpf);
    }

    /// The kernel's sums of the connections no listing saw, for top (see [`EndedSums`]);
    /// an error once taken.
    pub fn take_ended_sums(&mut self) -> Result<EndedSums, LoadError> {
        EndedSums::take(&mut self.ebpf)
    }

    /// Why `feature` is unavailable, when it is.
    pub fn degraded(&self, feature: &str) -> Option<&Degraded> {
        self.degraded.iter().find(|d| d.feature == feature)
    }

    /// Waits until events are ready, then appends every queued event to `out`.
    pub async fn read_batch(&mut self, out: &mut Vec<SockEvent>) -> std::io::Result<()> {
        let mut guard = self.events.readable_mut().await?;
        guard
            .get_inner_mut()
            .drain(|record| push_event(out, record))?;
        guard.clear_ready();
        Ok(())
    }

    /// Appends whatever is queued now, without waiting.
    pub fn drain(&mut self, out: &mut Vec<SockEvent>) -> std::io::Result<()> {
        self.events
            .get_mut()
            .drain(|record| push_event(out, record))
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
        // The kernel counts a skipped run before the nested twin sends it: the skips are
        // read first, so a caught run never looks lost.
        let skipped = self.skipped_runs();
        let caught_state = sum(hooks::TwinnedHook::State.caught_counter())?;
        let caught_destroy = sum(hooks::TwinnedHook::Destroy.caught_counter())?;
        let lost_skips = skipped
            .lost(caught_state, caught_destroy)
            .max(self.lost_skips.get());
        self.lost_skips.set(lost_skips);
        Ok(KernelCounters {
            lost: sum(counter::LOST)?.saturating_add(lost_skips),
            filtered: sum(counter::FILTERED)?,
            admit_full: sum(counter::ADMIT_FULL)?,
            nested: caught_state.saturating_add(caught_destroy),
        })
    }

    /// Runs of the programs the kernel skipped, from each program's `recursion_misses`
    /// (fdinfo), read at most every 200 ms.
    fn skipped_runs(&self) -> SkippedRunCounts {
        const READ_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
        let now = std::time::Instant::now();
        if let Some((read_at, counts)) = self.skipped.get() {
            if now.duration_since(read_at) < READ_EVERY {
                return counts;
            }
        }
        let mut counts = SkippedRunCounts::default();
        for (fd, accounting) in &self.program_fds {
            let misses = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|line| line.strip_prefix("recursion_misses:"))
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })
                .unwrap_or(0);
            counts.add(*accounting, misses);
        }
        self.skipped.set(Some((now, counts)));
        counts
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
        Ok(Admission {
            admitted: take_map(ebpf, "ADMITTED")?,
            listing: take_map(ebpf, "LISTING")?,
        })
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

/// Skipped program runs by how they are accounted for (see [`hooks::SkippedRuns`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SkippedRunCounts {
    /// Runs of programs without a twin: each one a lost event.
    untwinned: u64,
    /// Runs of the state-change and destroy hooks' main programs.
    state: u64,
    destroy: u64,
}

impl SkippedRunCounts {
    fn add(&mut self, accounting: hooks::SkippedRuns, misses: u64) {
        let slot = match accounting {
            hooks::SkippedRuns::CaughtByTwin(hooks::TwinnedHook::State) => &mut self.state,
            hooks::SkippedRuns::CaughtByTwin(hooks::TwinnedHook::Destroy) => &mut self.destroy,
            hooks::SkippedRuns::Lost => &mut self.untwinned,
            hooks::SkippedRuns::Covered => return,
        };
        *slot = slot.saturating_add(misses);
    }

    /// The skipped runs whose events nothing sent, given what the nested twins caught.
    fn lost(&self, caught_state: u64, caught_destroy: u64) -> u64 {
        self.untwinned
            .saturating_add(self.state.saturating_sub(caught_state))
            .saturating_add(self.destroy.saturating_sub(caught_destroy))
    }
}

/// Appends the event in `record`, one the kernel wrote (shorter records are not events).
fn push_event(out: &mut Vec<SockEvent>, record: &[u8]) {
    if record.len() >= std::mem::size_of::<SockEvent>() {
        // SAFETY: the kernel wrote a SockEvent (repr(C), any bit pattern valid); the ring
        // gives no alignment guarantee, hence the unaligned read.
        out.push(unsafe { std::ptr::read_unaligned(record.as_ptr().cast::<SockEvent>()) });
    }
}

/// Descriptors of the loaded programs whose skipped runs may lose events, and how those runs
/// are accounted for (twins' own skipped runs lose nothing).
fn program_fds(ebpf: &Ebpf) -> Vec<(std::os::fd::RawFd, hooks::SkippedRuns)> {
    ebpf.programs()
        .filter_map(|(name, program)| {
            let skipped = hooks::skipped_runs(name);
            let fd = program.fd().ok()?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(fd));
            (skipped != hooks::SkippedRuns::Covered).then_some((fd, skipped))
        })
        .collect()
}

fn notices(degraded: &[Degraded], compromises: &[&'static str]) -> Vec<String> {
    degraded
        .iter()
        .map(ToString::to_string)
        .chain(compromises.iter().map(|c| c.to_string()))
        .collect()
}

/// Whether every hook a connection's end needs is attached, given what was not.
fn ends_complete(degraded: &[Degraded]) -> bool {
    !degraded
        .iter()
        .any(|d| hooks::ENDS_FEATURES.contains(&d.feature))
}

/// Which programs of the hooks' candidates a round of loading takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wave {
    /// Every program.
    All,
    /// All but the nested twins (a quick start).
    First,
    /// The twins of the hooks the first wave attached, and the reason hooks.
    Rest,
}

impl Wave {
    fn includes(self, hook: &Hook, program: &hooks::Program) -> bool {
        match self {
            Wave::All => true,
            Wave::First => !hooks::is_twin(program),
            Wave::Rest => hooks::is_twin(program) || hooks::tells_reasons(hook),
        }
    }
}

/// What a wave of hooks came to.
#[derive(Default)]
struct Attached {
    /// The features of the hooks no candidate could serve.
    degraded: Vec<Degraded>,
    /// What the candidates taken cost (one line each).
    compromises: Vec<&'static str>,
    /// Each hook attached, with the candidate that serves it.
    serving: Vec<(Hook, &'static Candidate)>,
}

/// Attaches `hooks` (the programs of `wave`); a required hook no candidate serves is an error.
fn attach_wave(
    ebpf: &mut Ebpf,
    hooks: &[Hook],
    btf: &AyaBtf,
    wave: Wave,
    verbose: bool,
) -> Result<Attached, LoadError> {
    let mut attached = Attached::default();
    for (hook, (outcome, refusals)) in hooks.iter().zip(attach_hooks(ebpf, hooks, btf, wave)) {
        if verbose {
            verifier::print(&refusals);
            if let Some(candidate) = outcome {
                let loaded = candidate.programs.iter().filter(|p| wave.includes(hook, p));
                verifier::print_accepted(ebpf, loaded);
            }
        }
        match outcome {
            Some(candidate) => {
                attached.compromises.extend(candidate.compromise);
                attached.serving.push((*hook, candidate));
            }
            None if hook.required => {
                let log = verifier::save(&refusals);
                return Err(LoadError::RequiredHook {
                    feature: hook.feature,
                    refusals,
                    log,
                });
            }
            None => attached.degraded.push(Degraded {
                feature: hook.feature,
                reason: refusals
                    .last()
                    .map(|r| r.cause.clone())
                    .unwrap_or_else(|| "no program for it".into()),
            }),
        }
    }
    Ok(attached)
}

/// Which candidate of a hook serves it (None: none), and the kernel's refusals of those tried
/// before it.
type HookOutcome = (Option<&'static Candidate>, Vec<verifier::Refusal>);

/// Attaches each of `hooks` through the first candidate the kernel accepts (loads and
/// attaches), in the candidates' order.
///
/// Verifying a program is one bpf() call that keeps its thread busy for tens of
/// milliseconds, the bulk of follow's start: the hooks' programs are loaded side by side,
/// each hook trying its candidates in order until one loads. They are attached afterwards one
/// hook after another in the table's order (programs on one tracepoint run in the order they
/// were attached); a candidate whose attach fails gives way to the next as before.
fn attach_hooks(ebpf: &mut Ebpf, hooks: &[Hook], btf: &AyaBtf, wave: Wave) -> Vec<HookOutcome> {
    // Classic tracepoints attach through tracefs: mounted once, before any of their programs
    // is loaded, so that a kernel that cannot give it holds none of them.
    let tracepoints = hooks
        .iter()
        .flat_map(|hook| hook.candidates)
        .flat_map(|c| c.programs)
        .any(|p| matches!(p.attach, Attach::TracePoint(..)));
    let mounted = if tracepoints {
        tracefs::ensure_mounted()
    } else {
        Ok(())
    };
    let mounted = &mounted;
    let mut all: HashMap<&str, &mut Program> = ebpf.programs_mut().collect();
    // Each hook's own programs (the table gives every program to one candidate only).
    let mut per_hook: Vec<HashMap<&str, &mut Program>> = hooks
        .iter()
        .map(|hook| {
            hook.candidates
                .iter()
                .flat_map(|c| c.programs)
                .filter_map(|p| all.remove_entry(p.name))
                .collect()
        })
        .collect();
    let loaded: Vec<(usize, Vec<verifier::Refusal>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = hooks
            .iter()
            .zip(per_hook.iter_mut())
            .map(|(hook, programs)| {
                scope.spawn(move || first_loading(hook, programs, btf, mounted, wave))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    hooks
        .iter()
        .zip(per_hook.iter_mut())
        .zip(loaded)
        .map(|((hook, programs), (first, mut refusals))| {
            for (index, candidate) in hook.candidates.iter().enumerate().skip(first) {
                // The first candidate that loaded is loaded; the later ones are not yet.
                let step = if index == first {
                    Step::Attach
                } else {
                    Step::LoadAndAttach
                };
                let taken = Taken { hook, wave };
                match try_candidate(programs, candidate, taken, btf, mounted, step) {
                    Ok(()) => return (Some(candidate), refusals),
                    Err(refusal) => refusals.push(refusal),
                }
            }
            (None, refusals)
        })
        .collect()
}

/// Loads `hook`'s candidates in order until one loads whole: its index (the number of
/// candidates when none does) and the refusals of those before it.
fn first_loading(
    hook: &Hook,
    programs: &mut HashMap<&str, &mut Program>,
    btf: &AyaBtf,
    mounted: &Result<(), String>,
    wave: Wave,
) -> (usize, Vec<verifier::Refusal>) {
    let mut refusals = Vec::new();
    let taken = Taken { hook, wave };
    for (index, candidate) in hook.candidates.iter().enumerate() {
        match try_candidate(programs, candidate, taken, btf, mounted, Step::Load) {
            Ok(()) => return (index, refusals),
            Err(refusal) => refusals.push(refusal),
        }
    }
    (hook.candidates.len(), refusals)
}

/// What [`try_candidate`] does with each program of a candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Load,
    Attach,
    LoadAndAttach,
}

/// Which programs of a hook's candidates this round takes.
#[derive(Clone, Copy)]
struct Taken<'a> {
    hook: &'a Hook,
    wave: Wave,
}

impl Taken<'_> {
    fn includes(&self, program: &hooks::Program) -> bool {
        self.wave.includes(self.hook, program)
    }
}

/// `mounted`: whether tracefs is mounted, else why not (a classic tracepoint's program is then
/// refused before it is loaded). A candidate's programs (a hook's main program and its nested
/// twin) are verified side by side, each on a thread of its own: they take about as long each.
fn try_candidate(
    programs: &mut HashMap<&str, &mut Program>,
    candidate: &Candidate,
    taken: Taken,
    btf: &AyaBtf,
    mounted: &Result<(), String>,
    step: Step,
) -> Result<(), verifier::Refusal> {
    if let Some(missing) = candidate
        .programs
        .iter()
        .filter(|p| taken.includes(p))
        .find(|p| !programs.contains_key(p.name))
    {
        return Err(refusal(
            missing,
            "not in sockwatch's eBPF object".into(),
            None,
        ));
    }
    let mut found: Vec<(&hooks::Program, &mut Program)> = programs
        .iter_mut()
        .filter_map(|(name, program)| {
            let described = candidate
                .programs
                .iter()
                .find(|p| p.name == *name && taken.includes(p))?;
            Some((described, &mut **program))
        })
        .collect();
    // In the table's order: programs on one tracepoint run in the order they were attached.
    found.sort_by_key(|(described, _)| {
        candidate
            .programs
            .iter()
            .position(|p| p.name == described.name)
    });
    if step == Step::Load && found.len() > 1 {
        return std::thread::scope(|scope| {
            let threads: Vec<_> = found
                .into_iter()
                .map(|(described, program)| {
                    scope.spawn(move || step_program(described, program, btf, mounted, step))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Vec<_>>()
                .into_iter()
                .collect()
        });
    }
    found
        .into_iter()
        .try_for_each(|(described, program)| step_program(described, program, btf, mounted, step))
}

fn refusal(program: &hooks::Program, cause: String, log: Option<String>) -> verifier::Refusal {
    verifier::Refusal {
        program: program.name,
        hook: program.attach.name(),
        cause,
        log,
    }
}

/// Loads and/or attaches one program, as `step` says.
fn step_program(
    described: &hooks::Program,
    found: &mut Program,
    btf: &AyaBtf,
    mounted: &Result<(), String>,
    step: Step,
) -> Result<(), verifier::Refusal> {
    let load = step != Step::Attach;
    let attach = step != Step::Load;
    let done = match described.attach {
        Attach::TpBtf(function) => <&mut BtfTracePoint>::try_from(found).and_then(|p| {
            if load {
                p.load(function, btf)?;
            }
            if attach {
                p.attach()?;
            }
            Ok(())
        }),
        Attach::TracePoint(category, names) => {
            mounted.clone().map_err(|e| refusal(described, e, None))?;
            <&mut TracePoint>::try_from(found).and_then(|p| {
                if load {
                    p.load()?;
                }
                if attach {
                    for name in names {
                        p.attach(category, name)?;
                    }
                }
                Ok(())
            })
        }
    };
    done.map_err(|e| {
        let (cause, log) = verifier::explain(&e, described.attach);
        refusal(described, cause, log)
    })
}

/// One line for a required hook no candidate could serve.
fn required_hook_message(
    feature: &str,
    refusals: &[verifier::Refusal],
    log: &Option<PathBuf>,
) -> String {
    let mut line = format!("this kernel cannot serve follow's {feature}: ");
    let each: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    line.push_str(&each.join("; "));
    if let Some(path) = log {
        line.push_str(&format!(
            " (verifier log: {})",
            crate::escape::Escaped::path(path)
        ));
    }
    line
}

/// 5.10 and earlier charge BPF maps to RLIMIT_MEMLOCK (often 8 MiB or less, short of the ring
/// buffer and owner table): lift it as far as allowed. Later kernels count maps in the memory
/// cgroup instead and ignore this limit.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit/getrlimit with valid pointers to rlimit structs.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) == 0 {
            return;
        }
        let mut current = unlimited;
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut current) == 0 {
            current.rlim_cur = current.rlim_max;
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &current);
        }
    }
}

/// A secret for this run, mixed into the programs' stand-in keys (see sockwatch-common).
fn alias_salt() -> u64 {
    let mut salt = [0u8; 8];
    // SAFETY: getrandom into a buffer of the given length.
    let got = unsafe { libc::getrandom(salt.as_mut_ptr().cast(), salt.len(), 0) };
    if got != salt.len() as isize {
        // Without randomness the keys are still distinct, only less opaque.
        return u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    u64::from_ne_bytes(salt)
}

/// An `EbpfLoader` that has not parsed the kernel's BTF. aya's `EbpfLoader::new()` always
/// parses /sys/kernel/btf/vmlinux in full (~13 MB and ~12 ms, more than the rest of follow's
/// start), though sockwatch hands it what it needs. So build it on a short-lived thread with
/// its own filesystem view (unshare(CLONE_FS)) rooted at /sys/kernel/btf, where that path does
/// not resolve: the parse fails at once and nothing else in the process sees the change.
/// Without CAP_SYS_CHROOT this is the plain loader. The thread is returned, to be joined with
/// [`join_loader`] when the loader is needed.
fn loader_without_kernel_btf() -> std::thread::JoinHandle<EbpfLoader<'static>> {
    let on_own_root = || {
        let root = c"/sys/kernel/btf";
        // SAFETY: unshare and chroot with a valid NUL-terminated path; chroot is tried only
        // once CLONE_FS is unshared, so it changes this thread's view alone. Failing either
        // leaves the plain loader.
        unsafe {
            if libc::unshare(libc::CLONE_FS) == 0 {
                libc::chroot(root.as_ptr());
            }
        }
        EbpfLoader::new()
    };
    std::thread::spawn(on_own_root)
}

fn join_loader(thread: std::thread::JoinHandle<EbpfLoader<'static>>) -> EbpfLoader<'static> {
    thread.join().unwrap_or_else(|_| EbpfLoader::new())
}

/// Takes map `name` out of `ebpf` as the map type `T`.
fn take_map<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, LoadError>
where
    T: TryFrom<Map, Error = MapError>,
{
    let map = ebpf.take_map(name).ok_or(LoadError::MissingMap(name))?;
    T::try_from(map).map_err(|e| map_error(name, e))
}

/// Borrows map `name` of `ebpf` as the map type `T`.
fn borrow_map<'a, T>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<T, LoadError>
where
    T: TryFrom<&'a mut Map, Error = MapError>,
{
    let map = ebpf.map_mut(name).ok_or(LoadError::MissingMap(name))?;
    T::try_from(map).map_err(|e| map_error(name, e))
}

/// Writes `value` as the one entry of the array map `name`.
fn set_only<T: aya::Pod>(ebpf: &mut Ebpf, name: &'static str, value: T) -> Result<(), LoadError> {
    let mut map: Array<_, T> = borrow_map(ebpf, name)?;
    map.set(0, value, 0).map_err(|e| map_error(name, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_runs_are_lost_unless_a_twin_caught_them() {
        let mut counts = SkippedRunCounts::default();
        counts.add(hooks::SkippedRuns::Lost, 2);
        counts.add(
            hooks::SkippedRuns::CaughtByTwin(hooks::TwinnedHook::State),
            10,
        );
        counts.add(
            hooks::SkippedRuns::CaughtByTwin(hooks::TwinnedHook::Destroy),
            3,
        );
        counts.add(hooks::SkippedRuns::Covered, 50);
        assert_eq!(counts.lost(10, 3), 2);
        assert_eq!(counts.lost(7, 3), 5);
        // A twin caught more than was counted skipped when the counts were read apart.
        assert_eq!(counts.lost(12, 0), 5);
    }
}
