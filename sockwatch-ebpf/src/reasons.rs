//! Why connections end: the kernel's own word on resets, errors reported to the socket,
//! retransmits and connect() calls that fail before a SYN leaves. Each hook only notes what it
//! saw in a per-cookie record; the socket's DESTROY event carries the sum, so user space gets
//! no extra event per packet (RETRANSMIT and CONNECT_ERROR are rare by nature).
//!
//! Every program here is optional: user space attaches what the kernel has and says in one line
//! what it lacks.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_socket_cookie, bpf_ktime_get_ns, bpf_probe_read_user,
    },
    macros::{btf_tracepoint, map, tracepoint},
    maps::{HashMap, LruHashMap},
    programs::{BtfTracePointContext, TracePointContext},
};
use sockwatch_common::{counter, event_kind, reason_flag, KernelOffsets, SockEnd, SockEvent};

use crate::{
    alias_of, apply_owner, count, current_owner, fill_addresses, filter, offsets, read, read_into,
    send, sock_ident, socket_of_fd, with_scratch, CookieSource, Scratch, AF_INET, AF_INET6,
    IPPROTO_TCP, OWNERS, SYS_EXIT_RET, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_SENT,
};

const TCP_SYN_RECV: u8 = 3;
const TCP_TIME_WAIT: u8 = 6;
const TCP_NEW_SYN_RECV: u8 = 12;
const EINPROGRESS: i64 = 115;
const EALREADY: i64 = 114;
const EISCONN: i64 = 106;

/// What each live socket's end looks like so far, by cookie. Its entries come and go with
/// connections (DESTROY removes them), so they are allocated as they come: preallocated, a map
/// of this size costs ~10 ms and ~25 MB of kernel memory at every start. Only tracing (tp_btf)
/// programs use it, which may use run-time allocated maps on every kernel (classic tracepoint
/// programs may not before Linux 6.1). A note that finds the map full is counted lost.
#[map]
static ENDS: HashMap<u64, SockEnd> = HashMap::with_max_entries(262_144, BPF_F_NO_PREALLOC);

/// A connect() in flight: the socket's fd and the destination the caller asked for.
#[derive(Clone, Copy, Default)]
struct ConnectCall {
    fd: u64,
    family: u16,
    port: u16,
    _pad: u32,
    addr: [u8; 16],
}

#[map]
static CONNECTS: LruHashMap<u32, ConnectCall> = LruHashMap::with_max_entries(16_384, 0);

/// A connect() that failed before any SYN, by `struct sock` address: such a socket has no
/// cookie yet (no hook saw it), so its DESTROY is joined to the attempt by address. The value
/// is the CONNECT_ERROR event sent then (owner, destination, errno).
#[map]
static FAILED_CONNECTS: LruHashMap<u64, SockEvent> = LruHashMap::with_max_entries(16_384, 0);

/// Applies `note` to the cookie's record, creating it when missing.
#[inline(always)]
fn note(cookie: u64, note: impl FnOnce(&mut SockEnd)) {
    match ENDS.get_ptr_mut(cookie) {
        Some(end) => note(unsafe { &mut *end }),
        None => {
            let mut end = SockEnd::default();
            note(&mut end);
            if ENDS.insert(cookie, end, 0).is_err() {
                count(counter::LOST);
            }
        }
    }
}

/// A full TCP socket (not a request or time-wait mini socket, not a listener), or null.
#[inline(always)]
unsafe fn full_socket(sk: *const u8, off: &KernelOffsets) -> bool {
    if sk.is_null() {
        return false;
    }
    let protocol: u16 = read(sk, off.sk_protocol);
    let state: u8 = read(sk, off.skc_state);
    protocol == IPPROTO_TCP && !matches!(state, TCP_TIME_WAIT | TCP_NEW_SYN_RECV | TCP_LISTEN)
}

/// The connection's minimum RTT in microseconds, 0 when never measured.
#[inline(always)]
unsafe fn min_rtt(sk: *const u8, off: &KernelOffsets) -> u32 {
    // struct minmax { struct minmax_sample { u32 t; u32 v; } s[3]; }: s[0].v.
    let min_rtt: u32 = read(sk, off.tcp_rtt_min + 4);
    if min_rtt == u32::MAX {
        0
    } else {
        min_rtt
    }
}

/// The counters and RTTs as they are now.
#[inline(always)]
unsafe fn counters(sk: *const u8, off: &KernelOffsets) -> SockEnd {
    SockEnd {
        bytes_acked: read(sk, off.tcp_bytes_acked),
        bytes_received: read(sk, off.tcp_bytes_received),
        total_retrans: read(sk, off.tcp_total_retrans),
        srtt_us: read::<u32>(sk, off.tcp_srtt_us) >> 3,
        min_rtt_us: min_rtt(sk, off),
        ..SockEnd::default()
    }
}

/// A second program on the state-change hook, with a stack of its own: at the transition to
/// CLOSE it keeps the counters for DESTROY, since on an abortive close tcp_disconnect clears
/// them right after this transition. With the filter's `ends_only` it also notes the
/// transition to ESTABLISHED, which the DESTROY then reports.
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn keep_counters_at_close(ctx: BtfTracePointContext) -> i32 {
    keep_counters(&ctx, CookieSource::Helper)
}

/// The same for kernels whose tracing programs may not call `bpf_get_socket_cookie` (before
/// Linux 5.12): the socket is keyed as the state programs key it there. So are the other
/// `_field` programs below.
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn keep_counters_at_close_field(ctx: BtfTracePointContext) -> i32 {
    keep_counters(&ctx, CookieSource::Field)
}

#[inline(always)]
fn keep_counters(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    let new_state: u64 = ctx.arg(2);
    let Some(off) = offsets() else {
        return 0;
    };
    let sk: *const u8 = ctx.arg(0);
    // Without STATE events (ends only), the DESTROY tells whether the connection was opened.
    let established = new_state == u64::from(TCP_ESTABLISHED) && filter().ends_only != 0;
    if !(established || new_state == u64::from(TCP_CLOSE)) || !unsafe { full_socket(sk, off) } {
        return 0;
    }
    if established {
        let old_state: u64 = ctx.arg(1);
        let flags = if old_state == u64::from(TCP_SYN_RECV) {
            reason_flag::ESTABLISHED | reason_flag::ACCEPTED
        } else {
            reason_flag::ESTABLISHED
        };
        let key = socket_key(sk, source);
        note(key, |end| end.reason_flags |= flags);
        crate::top::note_birth(key);
        return 0;
    }
    let now = SockEnd {
        dport: unsafe { read(sk, off.skc_dport) },
        ..unsafe { counters(sk, off) }
    };
    note(socket_key(sk, source), |end| {
        *end = SockEnd {
            rst_reason: end.rst_reason,
            errno: end.errno,
            reason_flags: end.reason_flags,
            ..now
        }
    });
    0
}

/// The key of the socket's ENDS record: the one the destroy program of the same cookie source
/// looks it up by.
#[inline(always)]
fn socket_key(sk: *const u8, source: CookieSource) -> u64 {
    match source {
        CookieSource::Helper => unsafe { bpf_get_socket_cookie(sk as *mut _) },
        CookieSource::Field => alias_of(sk),
    }
}

/// At DESTROY: the counters (the larger of now and the transition to CLOSE) and everything the
/// reason hooks noted under the socket's `key`; forgets the socket.
#[inline(always)]
pub(crate) unsafe fn fill_end(event: &mut SockEvent, sk: *const u8, off: &KernelOffsets, key: u64) {
    read_into(&mut event.bytes_acked, sk, off.tcp_bytes_acked);
    read_into(&mut event.bytes_received, sk, off.tcp_bytes_received);
    read_into(&mut event.total_retrans, sk, off.tcp_total_retrans);
    event.srtt_us = read::<u32>(sk, off.tcp_srtt_us) >> 3;
    event.min_rtt_us = min_rtt(sk, off);
    if let Some(end) = ENDS.get(key) {
        event.bytes_acked = event.bytes_acked.max(end.bytes_acked);
        event.bytes_received = event.bytes_received.max(end.bytes_received);
        event.total_retrans = event.total_retrans.max(end.total_retrans);
        if event.srtt_us == 0 {
            event.srtt_us = end.srtt_us;
        }
        if event.min_rtt_us == 0 {
            event.min_rtt_us = end.min_rtt_us;
        }
        event.rst_reason = end.rst_reason;
        event.errno = end.errno;
        event.reason_flags = end.reason_flags;
        if event.dport == 0 && filter().ends_only != 0 {
            event.dport = u16::from_be(end.dport);
        }
        let _ = ENDS.remove(key);
    }
    let address = sk as u64;
    if let Some(failed) = FAILED_CONNECTS.get(address) {
        event.errno = failed.errno;
        event.reason_flags |= reason_flag::CONNECT_FAILED;
        event.first_seen_ns = failed.first_seen_ns;
        event.cgroup = failed.cgroup;
        event.pid = failed.pid;
        event.tid = failed.tid;
        event.uid = failed.uid;
        event.comm = failed.comm;
        event.family = failed.family;
        event.dport = failed.dport;
        event.daddr = failed.daddr;
        let _ = FAILED_CONNECTS.remove(address);
    }
}

#[btf_tracepoint(function = "tcp_send_reset")]
pub fn tcp_send_reset(ctx: BtfTracePointContext) -> i32 {
    let sk: *const u8 = ctx.arg(0);
    let Some(off) = offsets() else {
        return 0;
    };
    if !unsafe { full_socket(sk, off) } {
        return 0;
    }
    let cookie = unsafe { bpf_get_socket_cookie(sk as *mut _) };
    note_reset_sent(cookie, ctx.arg(2));
    0
}

/// The same for kernels whose tcp_send_reset has no reason argument (before Linux 6.10): the
/// verifier refuses the first program there, as it reads a third argument.
#[btf_tracepoint(function = "tcp_send_reset")]
pub fn tcp_send_reset_no_reason(ctx: BtfTracePointContext) -> i32 {
    reset_sent_without_reason(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "tcp_send_reset")]
pub fn tcp_send_reset_field(ctx: BtfTracePointContext) -> i32 {
    reset_sent_without_reason(&ctx, CookieSource::Field)
}

#[inline(always)]
fn reset_sent_without_reason(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    let sk: *const u8 = ctx.arg(0);
    let Some(off) = offsets() else {
        return 0;
    };
    if !unsafe { full_socket(sk, off) } {
        return 0;
    }
    note_reset_sent(socket_key(sk, source), 0);
    0
}

#[inline(always)]
fn note_reset_sent(key: u64, reason: u64) {
    note(key, |end| {
        // The first RST is the one that ended it.
        if end.reason_flags & reason_flag::RST_SENT == 0 {
            end.reason_flags |= reason_flag::RST_SENT;
            end.rst_reason = reason as u32;
        }
    });
}

#[btf_tracepoint(function = "tcp_receive_reset")]
pub fn tcp_receive_reset(ctx: BtfTracePointContext) -> i32 {
    reset_received(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "tcp_receive_reset")]
pub fn tcp_receive_reset_field(ctx: BtfTracePointContext) -> i32 {
    reset_received(&ctx, CookieSource::Field)
}

#[inline(always)]
fn reset_received(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    let Some(off) = offsets() else {
        return 0;
    };
    let sk: *const u8 = ctx.arg(0);
    if !unsafe { full_socket(sk, off) } {
        return 0;
    }
    let state: u8 = unsafe { read(sk, off.skc_state) };
    note(socket_key(sk, source), |end| {
        end.reason_flags |= reason_flag::RST_RECEIVED;
        if state == TCP_SYN_SENT {
            end.reason_flags |= reason_flag::RST_IN_SYN_SENT;
        }
    });
    0
}

#[btf_tracepoint(function = "inet_sk_error_report")]
pub fn inet_sk_error_report(ctx: BtfTracePointContext) -> i32 {
    let Some(off) = offsets() else {
        return 0;
    };
    let sk: *const u8 = ctx.arg(0);
    if !unsafe { full_socket(sk, off) } {
        return 0;
    }
    let errno: i32 = unsafe { read(sk, off.sk_err) };
    if errno <= 0 {
        return 0;
    }
    let cookie = unsafe { bpf_get_socket_cookie(sk as *mut _) };
    note(cookie, |end| end.errno = errno as u16);
    0
}

#[btf_tracepoint(function = "tcp_retransmit_skb")]
pub fn tcp_retransmit_skb(ctx: BtfTracePointContext) -> i32 {
    on_retransmit(&ctx, CookieSource::Helper)
}

#[btf_tracepoint(function = "tcp_retransmit_skb")]
pub fn tcp_retransmit_skb_field(ctx: BtfTracePointContext) -> i32 {
    on_retransmit(&ctx, CookieSource::Field)
}

#[inline(always)]
fn on_retransmit(ctx: &BtfTracePointContext, source: CookieSource) -> i32 {
    let Some(off) = offsets() else {
        return 0;
    };
    let sk: *const u8 = ctx.arg(0);
    if sk.is_null() {
        return 0;
    }
    let state: u8 = unsafe { read(sk, off.skc_state) };
    // Outside the closure, which the variants share (see on_set_state).
    let ident = unsafe { sock_ident(sk, off, source) };
    with_scratch(|Scratch { event, .. }| {
        event.ts_ns = unsafe { bpf_ktime_get_ns() };
        event.kind = event_kind::RETRANSMIT;
        event.old_state = state;
        event.new_state = state;
        if !unsafe { fill_addresses(event, sk, off) } {
            return;
        }
        ident.stamp(event);
        // __tcp_retransmit_skb adds this retransmit's segments to the total before the
        // tracepoint fires: the total already counts it.
        event.total_retrans = unsafe { read::<u32>(sk, off.tcp_total_retrans) };
        if let Some(owner) = unsafe { OWNERS.get(ident.key()) } {
            apply_owner(event, owner);
        }
        send(event);
    });
    0
}

/// Offsets in the syscalls:sys_enter_connect record: fd, then the user's sockaddr pointer.
const SYS_ENTER_FD: usize = 16;
const SYS_ENTER_ADDR: usize = 24;

#[tracepoint]
pub fn sys_enter_connect(ctx: TracePointContext) -> u32 {
    let fd: u64 = unsafe { ctx.read_at(SYS_ENTER_FD) }.unwrap_or(u64::MAX);
    let addr: u64 = unsafe { ctx.read_at(SYS_ENTER_ADDR) }.unwrap_or(0);
    if addr == 0 {
        return 0;
    }
    let user = addr as *const u8;
    let mut call = ConnectCall {
        fd,
        ..ConnectCall::default()
    };
    unsafe {
        call.family = bpf_probe_read_user(user as *const u16).unwrap_or(0);
        call.port = u16::from_be(bpf_probe_read_user(user.add(2) as *const u16).unwrap_or(0));
        match call.family {
            AF_INET => {
                let v4: [u8; 4] =
                    bpf_probe_read_user(user.add(4) as *const [u8; 4]).unwrap_or_default();
                call.addr[..4].copy_from_slice(&v4);
            }
            AF_INET6 => {
                call.addr = bpf_probe_read_user(user.add(8) as *const [u8; 16]).unwrap_or_default();
            }
            _ => return 0,
        }
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = CONNECTS.insert(tid, call, 0);
    0
}

#[tracepoint]
pub fn sys_exit_connect(ctx: TracePointContext) -> u32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(call) = (unsafe { CONNECTS.get(tid) }).copied() else {
        return 0;
    };
    let _ = CONNECTS.remove(tid);
    let ret: i64 = unsafe { ctx.read_at(SYS_EXIT_RET) }.unwrap_or(0);
    if ret >= 0 || ret == -EINPROGRESS || ret == -EALREADY || ret == -EISCONN {
        return 0;
    }
    let Some(off) = offsets() else {
        return 0;
    };
    let sk = unsafe { socket_of_fd(call.fd, off) };
    if sk.is_null() {
        return 0;
    }
    let state: u8 = unsafe { read(sk, off.skc_state) };
    let cookie: u64 = unsafe { read(sk, off.sk_cookie) };
    // A SYN left when the connect hook named an owner for this socket: the socket's own
    // story (RST, error report) tells why it failed. That hook keys the owner by the cookie,
    // or where cookies are read from the socket (before 5.12) by its stand-in key: a socket
    // whose cookie was never generated reads 0 here.
    let owned = |key: u64| key != 0 && unsafe { OWNERS.get(key) }.is_some();
    if state != TCP_CLOSE || owned(cookie) || owned(alias_of(sk)) {
        return 0;
    }
    with_scratch(|Scratch { event, owner }| {
        let now = unsafe { bpf_ktime_get_ns() };
        event.ts_ns = now;
        event.cookie = cookie;
        event.kind = event_kind::CONNECT_ERROR;
        event.old_state = TCP_CLOSE;
        event.new_state = TCP_CLOSE;
        event.errno = (-ret) as u16;
        event.reason_flags = reason_flag::CONNECT_FAILED;
        if !unsafe { fill_addresses(event, sk, off) } {
            return;
        }
        current_owner(now, owner);
        apply_owner(event, owner);
        // The destination the caller asked for.
        event.family = call.family;
        event.dport = call.port;
        event.daddr = call.addr;
        // By reference: a copy by value would put the event back on the stack.
        #[allow(clippy::needless_borrows_for_generic_args)]
        let _ = FAILED_CONNECTS.insert(sk as u64, &*event, 0);
        send(event);
    });
    0
}
