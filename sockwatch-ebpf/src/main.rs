//! sockwatch's kernel side: report every TCP state change and socket destruction, keyed by
//! socket cookie, with the owning process where the kernel runs in its context. Policy (what to
//! show, how to join with sock_diag) lives in user space; this program only reads and sends.
#![no_std]
#![no_main]

mod files;
mod reasons;
mod top;

use aya_ebpf::{
    cty::c_void,
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_pid_tgid, bpf_get_current_task,
        bpf_get_current_uid_gid, bpf_get_socket_cookie, bpf_ktime_get_ns, generated,
    },
    macros::{btf_tracepoint, map, tracepoint},
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, TracePointContext},
};
use sockwatch_common::{
    counter, event_kind,
    family::{AF_INET, AF_INET6},
    KernelFilter, KernelOffsets, SockEvent, SockOwner, ADMITTED_CAPACITY, ALIAS_BIT,
};

const IPPROTO_TCP: u16 = 6;
const TCP_ESTABLISHED: u8 = 1;
const TCP_SYN_SENT: u8 = 2;
const TCP_CLOSE: u8 = 7;
const TCP_LISTEN: u8 = 10;

// bpf_ringbuf_submit / bpf_ringbuf_query flags (linux/bpf.h).
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
const BPF_RB_AVAIL_DATA: u64 = 0;
/// Queued bytes that make the reader be woken (about 500 events).
const WAKEUP_BYTES: u64 = 64 * 1024;

/// Field offsets of the running kernel (index 0), written by user space before the programs
/// load. A map rather than a patched constant: aya creates the maps while user space is still
/// reading the kernel's BTF for them.
#[map]
static KERNEL_OFFSETS: Array<KernelOffsets> = Array::with_max_entries(1, 0);

/// Kernel-side part of the user's filter, written by user space before load.
#[no_mangle]
static FILTER: KernelFilter = KernelFilter {
    family: 0,
    filter_ports: 0,
    ends_only: 0,
    states: 0,
    netns: 0,
    _pad2: 0,
};

/// Per-run secret mixed into stand-in keys, written by user space before load: the keys name
/// sockets without handing their kernel addresses to user space.
#[no_mangle]
static ALIAS_SALT: u64 = 0;

/// Ring buffer size is set by user space at load time; this is the default.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(8 * 1024 * 1024, 0);

#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// Ports of interest (local or remote, host order) when `FILTER.filter_ports` is 1.
#[map]
static PORTS: HashMap<u16, u8> = HashMap::with_max_entries(1024, 0);

/// Sockets admitted by the kernel-side filter, by cookie (value unused): their every event
/// and their destroy are sent whatever the filter says of their later states or cleared
/// fields. Used only when ports or states narrow the filter; the destroy removes the entry.
#[map]
static ADMITTED: HashMap<u64, u8> = HashMap::with_max_entries(ADMITTED_CAPACITY, 0);

/// Index 0 is 1 while user space lists sockets from sock_diag: every destroy is then sent,
/// since a socket listed but not yet admitted may end before user space admits it.
#[map]
static LISTING: Array<u32> = Array::with_max_entries(1, 0);

/// Owner of each socket seen in its owner's context, by [`SockIdent::key`]: the cookie, or the
/// stand-in key where the cookie may appear mid-life.
#[map]
pub(crate) static OWNERS: LruHashMap<u64, SockOwner> = LruHashMap::with_max_entries(262_144, 0);

/// Where a program builds its event and owner record: per CPU, off the stack. The verifier
/// tracks every stack byte, and the verifiers of 5.10 and 6.1 cannot merge two paths that left
/// different bytes there (a field written on one, zero on the other): each branch of an event
/// built on the stack doubled the states they explored, past their limit of a million
/// instructions. Map memory is not tracked byte by byte, so the paths merge.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Scratch {
    pub(crate) event: SockEvent,
    pub(crate) owner: SockOwner,
}

/// Nesting levels of programs on one CPU (a softirq interrupting a program in process
/// context may run another, or before Linux 6.2 the same one): one slot each.
const SCRATCH_LEVELS: u32 = 4;

#[map]
static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(SCRATCH_LEVELS, 0);

/// Per CPU, the nesting level of the programs now using SCRATCH.
#[map]
static SCRATCH_LEVEL: PerCpuArray<u32> = PerCpuArray::with_max_entries(1, 0);

/// Runs `build` with a zeroed scratch slot of its own. Interrupts nest: a run that interrupts
/// another ends before it resumes, so a level counter hands out slots like a stack.
#[inline(always)]
pub(crate) fn with_scratch(build: impl FnOnce(&mut Scratch)) {
    let Some(level) = SCRATCH_LEVEL.get_ptr_mut(0) else {
        return;
    };
    let mine = unsafe { *level };
    let Some(slot) = SCRATCH.get_ptr_mut(mine) else {
        // Deeper than any real nesting: the event is lost, and counted.
        count(counter::LOST);
        return;
    };
    unsafe {
        *level = mine + 1;
        core::ptr::write_bytes(slot, 0, 1);
        build(&mut *slot);
        *level = mine;
    }
}

/// The running kernel's field offsets; None until user space has written them.
#[inline(always)]
pub(crate) fn offsets() -> Option<&'static KernelOffsets> {
    KERNEL_OFFSETS.get(0).filter(|off| off.valid != 0)
}

#[inline(always)]
pub(crate) fn filter() -> KernelFilter {
    unsafe { core::ptr::read_volatile(&FILTER) }
}

/// How a program names a socket: its cookie, and its stand-in key.
pub(crate) struct SockIdent {
    /// The sock_diag cookie, or the alias while the socket has none.
    cookie: u64,
    /// Stable for the socket's life; 0 when the cookie comes from the helper (and so is
    /// stable itself).
    alias: u64,
}

/// Where the cookie comes from, chosen per program variant: the loader probes which variant
/// the kernel accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieSource {
    /// `bpf_get_socket_cookie`, which generates the cookie (tracing programs, Linux 5.12+).
    Helper,
    /// The socket's `skc_cookie` field: 0 until something (e.g. a sock_diag dump) generated it.
    Field,
}

#[inline(always)]
pub(crate) fn alias_of(sk: *const u8) -> u64 {
    let salt = unsafe { core::ptr::read_volatile(&ALIAS_SALT) };
    // The verifier forbids arithmetic on a typed socket pointer: copy it out as a number.
    let address: u64 = unsafe { read(&sk as *const *const u8 as *const u8, 0) };
    (address ^ salt) | ALIAS_BIT
}

#[inline(always)]
pub(crate) unsafe fn sock_ident(
    sk: *const u8,
    off: &KernelOffsets,
    source: CookieSource,
) -> SockIdent {
    if source == CookieSource::Helper {
        return SockIdent {
            cookie: bpf_get_socket_cookie(sk as *mut _),
            alias: 0,
        };
    }
    let alias = alias_of(sk);
    let cookie: u64 = read(sk, off.sk_cookie);
    SockIdent {
        cookie: if cookie != 0 { cookie } else { alias },
        alias,
    }
}

impl SockIdent {
    /// Writes the key fields of `event`.
    #[inline(always)]
    pub(crate) fn stamp(&self, event: &mut SockEvent) {
        event.cookie = self.cookie;
        event.alias = self.alias;
    }

    /// The key of per-socket kernel maps (OWNERS): stable for the socket's life.
    #[inline(always)]
    pub(crate) fn key(&self) -> u64 {
        if self.alias != 0 {
            self.alias
        } else {
            self.cookie
        }
    }
}

#[inline(always)]
pub(crate) fn count(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        unsafe { *slot += 1 };
    }
}

/// A `T` at `offset` from `base` in kernel memory; zero when it cannot be read (the helper
/// zeroes its destination then). No branch on the outcome: every branch here would double the
/// paths an old verifier explores.
#[inline(always)]
pub(crate) unsafe fn read<T: Copy>(base: *const u8, offset: u32) -> T {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    read_into(value.as_mut_ptr(), base, offset);
    value.assume_init()
}

/// Reads a `T` at `offset` from `base` straight into `to` (zero when unreadable).
#[inline(always)]
pub(crate) unsafe fn read_into<T>(to: *mut T, base: *const u8, offset: u32) {
    generated::bpf_probe_read_kernel(
        to as *mut c_void,
        core::mem::size_of::<T>() as u32,
        base.add(offset as usize) as *const c_void,
    );
}

/// Writes the calling task into `owner`.
#[inline(always)]
pub(crate) fn current_owner(now: u64, owner: &mut SockOwner) {
    let pid_tgid = bpf_get_current_pid_tgid();
    owner.first_seen_ns = now;
    owner.cgroup = unsafe { bpf_get_current_cgroup_id() };
    owner.pid = (pid_tgid >> 32) as u32;
    owner.tid = pid_tgid as u32;
    owner.uid = bpf_get_current_uid_gid() as u32;
    // Zeroed by the helper when it fails.
    unsafe {
        generated::bpf_get_current_comm(
            owner.comm.as_mut_ptr() as *mut c_void,
            owner.comm.len() as u32,
        )
    };
}

/// Fills the address part of `event` from the socket; false when it is not TCP over IP.
#[inline(always)]
pub(crate) unsafe fn fill_addresses(
    event: &mut SockEvent,
    sk: *const u8,
    off: &KernelOffsets,
) -> bool {
    let protocol: u16 = read(sk, off.sk_protocol);
    if protocol != IPPROTO_TCP {
        return false;
    }
    let family: u16 = read(sk, off.skc_family);
    event.family = family;
    event.sport = u16::from_be(read(sk, off.inet_sport));
    event.dport = u16::from_be(read(sk, off.skc_dport));
    match family {
        AF_INET => {
            read_into(
                event.saddr.as_mut_ptr() as *mut [u8; 4],
                sk,
                off.skc_rcv_saddr,
            );
            read_into(event.daddr.as_mut_ptr() as *mut [u8; 4], sk, off.skc_daddr);
        }
        AF_INET6 => {
            read_into(&mut event.saddr, sk, off.skc_v6_rcv_saddr);
            read_into(&mut event.daddr, sk, off.skc_v6_daddr);
        }
        _ => return false,
    }
    // A null namespace reads as 0 (the read of page zero fails and zeroes).
    let net: *const u8 = read(sk, off.skc_net);
    event.netns = read(net, off.net_ns_inum);
    true
}

/// Whether the socket of `event` is admitted (see [`KernelFilter`]): already, or by this
/// event. Its destroy ends the admission.
#[inline(always)]
fn admitted(event: &SockEvent, filter: &KernelFilter) -> bool {
    let cookie = event.cookie;
    let destroy = event.kind == event_kind::DESTROY;
    if ADMITTED.get_ptr(cookie).is_some() {
        if destroy {
            let _ = ADMITTED.remove(cookie);
        }
        return true;
    }
    if destroy && LISTING.get(0).is_some_and(|listing| *listing != 0) {
        return true;
    }
    let port_listed = |port: u16| PORTS.get_ptr(port).is_some();
    if !filter.admits(
        event.old_state,
        event.new_state,
        event.sport,
        event.dport,
        port_listed,
    ) {
        return false;
    }
    if !destroy && ADMITTED.insert(cookie, 1, 0).is_err() {
        // The socket's later events may be dropped: a loss, which makes user space resync.
        count(counter::ADMIT_FULL);
        count(counter::LOST);
    }
    true
}

/// The connection's byte and retransmit counters. Read on the way into CLOSE too: a reset
/// zeroes them before the destroy.
#[inline(always)]
unsafe fn read_counters(event: &mut SockEvent, sk: *const u8, off: &KernelOffsets) {
    event.bytes_acked = read(sk, off.tcp_bytes_acked);
    event.bytes_received = read(sk, off.tcp_bytes_received);
    event.total_retrans = read(sk, off.tcp_total_retrans);
}

#[inline(always)]
pub(crate) fn apply_owner(event: &mut SockEvent, owner: &SockOwner) {
    event.first_seen_ns = owner.first_seen_ns;
    event.cgroup = owner.cgroup;
    event.pid = owner.pid;
    event.tid = owner.tid;
    event.uid = owner.uid;
    event.comm = owner.comm;
}

/// The one way out to user space: every event passes the namespace and user filters here.
#[inline(always)]
pub(crate) fn send(event: &SockEvent) {
    let filter = filter();
    // A transition's own event: the DESTROY carries what ends-only readers need.
    let transition = event.kind == event_kind::STATE || event.kind == event_kind::OWNER;
    if filter.ends_only != 0 && transition {
        count(counter::FILTERED);
        return;
    }
    if filter.netns != 0 && filter.netns != event.netns {
        count(counter::OTHER_NETNS);
        return;
    }
    let family_wanted = filter.family == 0 || filter.family == event.family;
    if !family_wanted || (filter.needs_admission() && !admitted(event, &filter)) {
        count(counter::FILTERED);
        return;
    }
    match EVENTS.reserve::<SockEvent>(0) {
        Some(mut slot) => {
            slot.write(*event);
            // Waking the reader for every event costs more than the event: wake it only
            // once a batch has piled up; user space also drains on a short timer.
            let flags = if EVENTS.query(BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES {
                BPF_RB_FORCE_WAKEUP
            } else {
                BPF_RB_NO_WAKEUP
            };
            slot.submit(flags);
        }
        None => count(counter::LOST),
    }
}

/// Index of each tp_btf hook in `RUNNING`.
const HOOK_SET_STATE: u32 = 0;
const HOOK_DESTROY: u32 = 1;

/// Per CPU and hook, 1 while the hook's main program runs. The kernel skips a tracing
/// program that fires again on a CPU where it is already running (6.2+, counted in its
/// `recursion_misses`): a softirq that interrupts a run in process context (e.g. the backlog
/// processed by release_sock, with bottom halves enabled) and changes or destroys another
/// socket would lose that event, and a lost destroy leaves a dead socket in the table. Each
/// hook has a second, "nested" program that sends the event exactly when the main one is
/// mid-run on this CPU. Kernels that do run nested programs clear the flag in the nested
/// run of the main program, so the event is not sent twice.
#[map]
static RUNNING: PerCpuArray<u32> = PerCpuArray::with_max_entries(2, 0);

#[inline(always)]
fn set_running(hook: u32, value: u32) {
    if let Some(slot) = RUNNING.get_ptr_mut(hook) {
        unsafe { *slot = value };
    }
}

#[inline(always)]
fn main_program_running(hook: u32) -> bool {
    RUNNING.get(hook).is_some_and(|running| *running != 0)
}

#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn inet_sock_set_state(ctx: BtfTracePointContext) -> i32 {
    state_main(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn state_nested(ctx: BtfTracePointContext) -> i32 {
    state_nested_run(&ctx, CookieSource::Helper)
}

/// The same pair for kernels whose tracing programs may not call `bpf_get_socket_cookie`.
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn state_field(ctx: BtfTracePointContext) -> i32 {
    state_main(&ctx, CookieSource::Field)
}

#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn state_field_nested(ctx: BtfTracePointContext) -> i32 {
    state_nested_run(&ctx, CookieSource::Field)
}

#[btf_tracepoint(function = "tcp_destroy_sock")]
pub fn tcp_destroy_sock(ctx: BtfTracePointContext) -> i32 {
    destroy_main(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "tcp_destroy_sock")]
pub fn destroy_nested(ctx: BtfTracePointContext) -> i32 {
    destroy_nested_run(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "tcp_destroy_sock")]
pub fn destroy_field(ctx: BtfTracePointContext) -> i32 {
    destroy_main(&ctx, CookieSource::Field)
}

#[btf_tracepoint(function = "tcp_destroy_sock")]
pub fn destroy_field_nested(ctx: BtfTracePointContext) -> i32 {
    destroy_nested_run(&ctx, CookieSource::Field)
}

#[inline(always)]
fn state_main(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    set_running(HOOK_SET_STATE, 1);
    on_set_state(ctx, source);
    set_running(HOOK_SET_STATE, 0);
    0
}

#[inline(always)]
fn state_nested_run(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    if main_program_running(HOOK_SET_STATE) {
        count(counter::NESTED_STATE);
        on_set_state(ctx, source);
    }
    0
}

#[inline(always)]
fn destroy_main(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    set_running(HOOK_DESTROY, 1);
    on_destroy(ctx, source);
    set_running(HOOK_DESTROY, 0);
    0
}

#[inline(always)]
fn destroy_nested_run(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    if main_program_running(HOOK_DESTROY) {
        count(counter::NESTED_DESTROY);
        on_destroy(ctx, source);
    }
    0
}

#[inline(always)]
fn on_set_state(ctx: &BtfTracePointContext, source: CookieSource) {
    let Some(off) = offsets() else {
        return;
    };
    let sk: *const u8 = ctx.arg(0);
    let old_state: u64 = ctx.arg(1);
    let new_state: u64 = ctx.arg(2);
    // Here, not in the closure: the closure is one subprogram shared by the program variants,
    // and a cookie source known only at run time would leave the helper call in the variant
    // whose kernel refuses it.
    let ident = unsafe { sock_ident(sk, off, source) };
    with_scratch(|Scratch { event, owner }| {
        let now = unsafe { bpf_ktime_get_ns() };
        event.ts_ns = now;
        event.kind = event_kind::STATE;
        event.old_state = old_state as u8;
        event.new_state = new_state as u8;
        if !unsafe { fill_addresses(event, sk, off) } {
            return;
        }
        ident.stamp(event);
        if event.new_state == TCP_CLOSE {
            unsafe { read_counters(event, sk, off) };
        }

        // connect() and listen() make these two transitions in the caller's own context.
        let owner_context = event.old_state == TCP_CLOSE
            && (event.new_state == TCP_SYN_SENT || event.new_state == TCP_LISTEN);
        if owner_context {
            current_owner(now, owner);
            // By reference: the owner stays in the scratch slot, off the stack.
            #[allow(clippy::needless_borrows_for_generic_args)]
            let _ = OWNERS.insert(ident.key(), &*owner, 0);
            apply_owner(event, owner);
        } else if let Some(known) = unsafe { OWNERS.get(ident.key()) } {
            apply_owner(event, known);
        }
        send(event);
    });
}

#[inline(always)]
fn on_destroy(ctx: &BtfTracePointContext, source: CookieSource) {
    let Some(off) = offsets() else {
        return;
    };
    let sk: *const u8 = ctx.arg(0);
    // Outside the closure, as in on_set_state.
    let ident = unsafe { sock_ident(sk, off, source) };
    with_scratch(|Scratch { event, .. }| {
        event.ts_ns = unsafe { bpf_ktime_get_ns() };
        event.kind = event_kind::DESTROY;
        event.old_state = TCP_CLOSE;
        event.new_state = TCP_CLOSE;
        if !unsafe { fill_addresses(event, sk, off) } {
            return;
        }
        ident.stamp(event);
        unsafe { reasons::fill_end(event, sk, off, ident.key()) };
        if let Some(owner) = unsafe { OWNERS.get(ident.key()) } {
            apply_owner(event, owner);
            // The address may be reused by a new socket: its owner must not be inherited.
            let _ = OWNERS.remove(ident.key());
        }
        // top sums the connections no listing saw instead of reading their ends.
        if !top::summed(event, ident.key()) {
            send(event);
        }
    });
}

/// accept() and accept4() return the new socket's fd in the caller's context: the one
/// reliable moment to learn who owns an accepted connection. The fd leads to the socket through
/// the task's file table. One program serves both exits (their records match), verified once.
#[tracepoint]
pub fn sys_exit_accept(ctx: TracePointContext) -> u32 {
    on_accept_exit(&ctx);
    0
}

/// Offset of `long ret` in the syscalls:sys_exit_* record (after the common header and nr).
pub(crate) const SYS_EXIT_RET: usize = 16;

#[inline(always)]
#[allow(clippy::needless_borrows_for_generic_args)] // owners stay in the scratch slot
fn on_accept_exit(ctx: &TracePointContext) {
    let Some(off) = offsets() else {
        return;
    };
    let fd: i64 = unsafe { ctx.read_at(SYS_EXIT_RET) }.unwrap_or(-1);
    if fd < 0 {
        return;
    }
    let sk = unsafe { socket_of_fd(fd as u64, off) };
    if sk.is_null() {
        return;
    }
    with_scratch(|Scratch { event, owner }| {
        let now = unsafe { bpf_ktime_get_ns() };
        current_owner(now, owner);
        event.ts_ns = now;
        event.kind = event_kind::OWNER;
        if !unsafe { fill_addresses(event, sk, off) } {
            return;
        }
        // Classic tracepoints may not call bpf_get_socket_cookie on any kernel: read the field.
        let ident = unsafe { sock_ident(sk, off, CookieSource::Field) };
        ident.stamp(event);
        // The state-change programs key owners by cookie where they may call the helper, by
        // alias where they read the field: file the owner under both (the unused one ages out).
        if ident.cookie != ident.alias {
            let _ = OWNERS.insert(ident.cookie, &*owner, 0);
        }
        let _ = OWNERS.insert(ident.alias, &*owner, 0);
        apply_owner(event, owner);
        let state: u8 = unsafe { read(sk, off.skc_state) };
        event.old_state = state;
        event.new_state = state;
        send(event);
    });
}

/// The `struct sock` behind file descriptor `fd` of the current task, or null.
#[inline(always)]
pub(crate) unsafe fn socket_of_fd(fd: u64, off: &KernelOffsets) -> *const u8 {
    // A null pointer on the way reads as zero (the read faults): only the bound needs a check.
    let task = bpf_get_current_task() as *const u8;
    let files: *const u8 = read(task, off.task_files);
    let fdt: *const u8 = read(files, off.files_fdt);
    let max_fds: u32 = read(fdt, off.fdtable_max_fds);
    if fd >= u64::from(max_fds) {
        return core::ptr::null();
    }
    let fd_array: *const u8 = read(fdt, off.fdtable_fd);
    let file: *const u8 = read(fd_array, (fd * 8) as u32);
    let socket: *const u8 = read(file, off.file_private_data);
    read(socket, off.socket_sk)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";
