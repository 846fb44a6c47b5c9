//! Types shared by the eBPF programs and user space. Everything here is `#[repr(C)]` and plain
//! data: the kernel side writes it into maps and the ring buffer, user space reads it back.
#![no_std]

/// The address families a `family` field holds (`AF_INET`, `AF_INET6` of <sys/socket.h>).
pub mod family {
    pub const AF_INET: u16 = 2;
    pub const AF_INET6: u16 = 10;
}

/// What an [`SockEvent`] reports.
pub mod event_kind {
    /// A TCP state change (`sock:inet_sock_set_state`).
    pub const STATE: u8 = 1;
    /// The kernel destroyed the socket (`tcp:tcp_destroy_sock`); the close statistics are filled.
    pub const DESTROY: u8 = 2;
    /// accept() returned the socket to its owner, named in the event (no state change).
    pub const OWNER: u8 = 3;
    // The kinds below never come from the kernel: user space writes them into recordings
    // (`follow --write`) so that a replay rebuilds the same table.
    /// A socket that existed when the table was (re)built from sock_diag; `new_state` is its
    /// state.
    pub const SNAPSHOT: u8 = 4;
    /// The table is being rebuilt from sock_diag (start-up, or resync after a loss).
    pub const REBUILD: u8 = 5;
    /// The kernel lost events; `bytes_acked` holds how many.
    pub const LOST: u8 = 6;
    /// The kernel retransmitted a segment of the socket (`tcp:tcp_retransmit_skb`);
    /// `total_retrans` is the socket's count so far, the state is in `old_state`/`new_state`.
    pub const RETRANSMIT: u8 = 7;
    /// connect() failed before any SYN left (no route, no local address, ...): the event names
    /// the caller as owner, the destination it asked for as remote address, and `errno`.
    /// `cookie` is 0 when the socket never got one.
    pub const CONNECT_ERROR: u8 = 8;
    /// User space only: a listener's drop counter rose (see `follow/drops.rs`). The listener
    /// is the socket; `bytes_acked` holds how many, `reason_flags` a [`super::drop_reason`].
    pub const DROP: u8 = 9;
    /// User space only: from `ts_ns` on, ends are told completely (`reason_flags` 1: every hook
    /// that tells how connections end is attached, and a quiet end reads `normal`) or not (0:
    /// it reads `unknown`). A recording holds one at its start (`ts_ns` 0: since the load)
    /// and one where a quick start attached the rest.
    pub const REASONS: u8 = 10;
}

/// Why a listener dropped SYNs or handshake ACKs (in a DROP event's `reason_flags`).
pub mod drop_reason {
    /// The accept queue was full (TcpExt ListenOverflows rose).
    pub const LISTEN_OVERFLOW: u16 = 1;
    /// The SYN queue was full (TcpExt TCPReqQFullDrop rose).
    pub const SYN_QUEUE_OVERFLOW: u16 = 2;
    /// The listener's sk_drops rose with neither queue counter: another drop.
    pub const OTHER: u16 = 3;
}

/// Bits of [`SockEvent::reason_flags`]: what the kernel told about how a connection ended.
pub mod reason_flag {
    /// This socket sent a RST (`tcp:tcp_send_reset`); `rst_reason` names why.
    pub const RST_SENT: u16 = 1;
    /// The peer's RST reached this socket (`tcp:tcp_receive_reset`).
    pub const RST_RECEIVED: u16 = 2;
    /// ... and the socket was in SYN_SENT then: the RST answered our SYN.
    pub const RST_IN_SYN_SENT: u16 = 4;
    /// connect() failed before any SYN left (see `event_kind::CONNECT_ERROR`).
    pub const CONNECT_FAILED: u16 = 8;
    /// The connection reached ESTABLISHED. Noted only when [`super::KernelFilter::ends_only`]
    /// is set: the STATE event that would have told is not sent then.
    pub const ESTABLISHED: u16 = 16;
    /// ... from SYN_RECV: a listener's child, accepted (noted with `ESTABLISHED`).
    pub const ACCEPTED: u16 = 32;
}

/// One record on the ring buffer (and in recordings): 152 bytes, 8-aligned, no implicit
/// padding. Changing the layout changes the recording format.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEvent {
    /// `bpf_ktime_get_ns()` when the event fired (CLOCK_MONOTONIC, ns).
    pub ts_ns: u64,
    /// The socket cookie: the same number sock_diag reports, the key joining both sources.
    /// Where the programs cannot make the kernel generate a cookie (tracing programs before
    /// Linux 5.12), a socket that has none yet carries its stand-in `alias` here instead.
    pub cookie: u64,
    /// The socket's stand-in key ([`ALIAS_BIT`] set, derived from the socket's address mixed
    /// with a per-run secret), when the cookie comes from the socket's field rather than
    /// `bpf_get_socket_cookie`; 0 otherwise. An event carrying both a cookie and its alias lets
    /// user space move what it learnt under the alias to the cookie.
    pub alias: u64,
    /// When the programs first saw this socket (0: not seen before this event).
    pub first_seen_ns: u64,
    /// cgroup id of the owning task (0: owner unknown).
    pub cgroup: u64,
    /// tcp_sock.bytes_acked, filled on DESTROY and on STATE events into CLOSE. A reset
    /// (`tcp_disconnect`, e.g. SO_LINGER 0) zeroes the counters before the destroy, so the
    /// transition into CLOSE carries what the connection had; user space keeps the larger (and
    /// so does the kernel side for DESTROY when its reason hooks are attached).
    pub bytes_acked: u64,
    /// tcp_sock.bytes_received, filled as `bytes_acked`.
    pub bytes_received: u64,
    /// tcp_sock.total_retrans (data, SYN and, for accepted sockets, SYN-ACK retransmits),
    /// filled as `bytes_acked` and on RETRANSMIT.
    pub total_retrans: u32,
    /// Inode number of the socket's network namespace.
    pub netns: u32,
    /// Owner: process id (tgid), thread id, user id. 0 with `comm` empty when unknown.
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    /// AF_INET or AF_INET6.
    pub family: u16,
    /// Local port, host byte order.
    pub sport: u16,
    /// Remote port, host byte order.
    pub dport: u16,
    /// One of [`event_kind`].
    pub kind: u8,
    /// Kernel TCP state numbers (TCP_ESTABLISHED = 1 ... TCP_NEW_SYN_RECV = 12).
    pub old_state: u8,
    pub new_state: u8,
    pub _pad: [u8; 3],
    /// Local and remote address: 4 bytes used for AF_INET, 16 for AF_INET6, network order.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    /// Owner's command name, NUL padded.
    pub comm: [u8; 16],
    /// Smoothed and minimum round-trip time in microseconds (tcp_sock.srtt_us >> 3 and
    /// rtt_min), filled like `bytes_acked`; 0 when never measured.
    pub srtt_us: u32,
    pub min_rtt_us: u32,
    /// The kernel's reset reason (`enum sk_rst_reason`) when [`reason_flag::RST_SENT`] is set.
    pub rst_reason: u32,
    /// The last error the kernel reported to the socket (`sock:inet_sk_error_report`, e.g.
    /// ECONNREFUSED), or connect()'s error for CONNECT_ERROR; 0 when none. Filled on DESTROY.
    pub errno: u16,
    /// [`reason_flag`] bits, filled on DESTROY.
    pub reason_flags: u16,
}

/// What the kernel side learns about one socket's end before it is destroyed, by cookie.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEnd {
    /// Counters read at the transition to CLOSE (see [`SockEvent::bytes_acked`]).
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub total_retrans: u32,
    pub srtt_us: u32,
    pub min_rtt_us: u32,
    pub rst_reason: u32,
    pub errno: u16,
    pub reason_flags: u16,
    /// The remote port at the transition to CLOSE (network order): an abortive close clears
    /// it right after. Put back into the DESTROY when [`KernelFilter::ends_only`] is set (no
    /// earlier event told user space).
    pub dport: u16,
    pub _pad: u16,
}

/// What `top` groups the connections by that were born and destroyed between two of its
/// listings (no listing saw them): the kernel side adds each one's end to the [`EndedFlow`]
/// under this key instead of sending its DESTROY (see `sockwatch-ebpf/src/top.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EndedKey {
    /// The window between two listings the connections ended in (an even number).
    pub epoch: u32,
    /// Inode of the connections' network namespace.
    pub netns: u32,
    /// Owner's process id (0: unknown) and command name, as a DESTROY would carry them.
    pub pid: u32,
    /// As [`SockEvent::rst_reason`], `errno`, `reason_flags`.
    pub rst_reason: u32,
    pub errno: u16,
    pub reason_flags: u16,
    pub family: u16,
    /// The remote port; 0 for connections a listener accepted (the client's port tells
    /// nothing once grouped).
    pub dport: u16,
    pub daddr: [u8; 16],
    pub comm: [u8; 16],
}

/// The sums of the connections of one [`EndedKey`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndedFlow {
    pub connections: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub total_retrans: u64,
}

/// Version of the recording format (`follow --write`): raw [`SockEvent`] records. Bump it with
/// any change to `SockEvent`'s layout or to the meaning of a field; a replay refuses a recording
/// of another version.
pub const RECORDING_FORMAT_VERSION: u32 = 3;

/// `SockEvent`'s size and fields when [`RECORDING_FORMAT_VERSION`] was last bumped. A layout
/// change that forgets the bump stops the build here (a field added, removed or renamed breaks
/// the exhaustive pattern, a resized one the size): bump the version, then update both.
const RECORDED_EVENT_SIZE: usize = 152;
const _: () = assert!(
    core::mem::size_of::<SockEvent>() == RECORDED_EVENT_SIZE,
    "SockEvent's layout changed: bump RECORDING_FORMAT_VERSION and RECORDED_EVENT_SIZE"
);
const _: fn(SockEvent) = |event| {
    let SockEvent {
        ts_ns: _,
        cookie: _,
        alias: _,
        first_seen_ns: _,
        cgroup: _,
        bytes_acked: _,
        bytes_received: _,
        total_retrans: _,
        srtt_us: _,
        min_rtt_us: _,
        rst_reason: _,
        errno: _,
        reason_flags: _,
        netns: _,
        pid: _,
        tid: _,
        uid: _,
        family: _,
        sport: _,
        dport: _,
        kind: _,
        old_state: _,
        new_state: _,
        _pad: _,
        saddr: _,
        daddr: _,
        comm: _,
    } = event;
};

/// Set in every stand-in key: real cookies are counters that never reach it.
pub const ALIAS_BIT: u64 = 1 << 63;

/// Who owns a socket, remembered by the kernel side from a moment it ran in the owner's context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockOwner {
    pub first_seen_ns: u64,
    pub cgroup: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub _pad: u32,
    pub comm: [u8; 16],
}

/// Byte offsets of the kernel structure fields the programs read, taken from the running
/// kernel's BTF at load time (aya-ebpf has no CO-RE relocation). Offsets are from `struct sock`
/// unless named otherwise.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    pub skc_family: u32,
    pub skc_state: u32,
    /// `struct inet_sock` -> `inet_sport` (network order). Unlike `skc_num` it survives the
    /// unhash on close, so the final transitions still carry the local port.
    pub inet_sport: u32,
    pub skc_dport: u32,
    pub skc_rcv_saddr: u32,
    pub skc_daddr: u32,
    pub skc_v6_rcv_saddr: u32,
    pub skc_v6_daddr: u32,
    pub skc_net: u32,
    pub sk_protocol: u32,
    /// `struct net` -> `ns.inum`.
    pub net_ns_inum: u32,
    /// `struct tcp_sock` fields (a tcp_sock starts with its struct sock).
    pub tcp_bytes_acked: u32,
    pub tcp_bytes_received: u32,
    pub tcp_total_retrans: u32,
    /// `struct sock_common` -> `skc_cookie`: the cookie once something generated it (sock_diag,
    /// `bpf_get_socket_cookie`), else 0.
    pub sk_cookie: u32,
    /// The path from the current task to an fd's socket: task_struct.files, files_struct.fdt,
    /// fdtable.fd and max_fds, file.private_data, socket.sk.
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_private_data: u32,
    pub socket_sk: u32,
    /// `struct sock` -> `sk_err`; `struct tcp_sock` -> `srtt_us`, `rtt_min` (a struct minmax
    /// whose first sample's `v` is the current minimum).
    pub sk_err: u32,
    pub tcp_srtt_us: u32,
    pub tcp_rtt_min: u32,
    /// Set to 1 by user space once the other fields are filled.
    pub valid: u32,
}

/// Byte offsets the socket-files iterator reads (see [`SocketFile`]), from the running kernel's
/// BTF like [`KernelOffsets`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOffsets {
    /// `struct file` -> `f_inode`; `struct inode` -> `i_mode`, `i_ino`.
    pub file_inode: u32,
    pub inode_mode: u32,
    pub inode_ino: u32,
    /// `struct task_struct` -> `tgid`, `comm`.
    pub task_tgid: u32,
    pub task_comm: u32,
    /// Set to 1 by user space once the other fields are filled.
    pub valid: u32,
}

/// One open socket file the iterator over every task's files found: the socket's inode (the
/// key sock_diag gives) and the process holding it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketFile {
    pub inode: u64,
    pub pid: u32,
    pub fd: u32,
    pub comm: [u8; 16],
}

/// How many sockets the kernel side can hold admitted at once (see [`KernelFilter::admits`]).
/// Past it a socket's admission fails: counted in [`counter::ADMIT_FULL`] and as lost, which
/// makes user space rebuild its table.
pub const ADMITTED_CAPACITY: u32 = 65_536;

/// Kernel-side filter settings, set before load from the user's filter expression.
///
/// The family and the namespace never change in a socket's life and are checked on every
/// event. Ports and states do change (an RST clears the remote port before the destroy), so
/// they decide only a socket's *admission*: the first of its events that passes them (or its
/// row in a start-up or resync listing, admitted by user space) admits the socket, and from
/// then on every event of that socket and its destroy are sent.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelFilter {
    /// 0: any family; else AF_INET or AF_INET6 only.
    pub family: u16,
    /// 1 when the PORTS map lists the only ports of interest (local or remote).
    pub filter_ports: u8,
    /// 1: send connections' ends only (DESTROY, CONNECT_ERROR, RETRANSMIT), no STATE or OWNER
    /// events. The programs still record owners and ends, so a DESTROY carries its owner, its
    /// final counters, its reason and [`reason_flag::ESTABLISHED`]. For `top`, which lists the
    /// live sockets itself and needs only what came and went between two listings.
    pub ends_only: u8,
    /// Bit n set: keep events whose old or new state is n. 0 means all states.
    pub states: u32,
    /// Inode of the only network namespace of interest; 0 means every namespace.
    pub netns: u32,
    pub _pad2: u32,
}

impl KernelFilter {
    /// Whether ports or states narrow what is sent, so sockets must be admitted one by one.
    #[inline(always)]
    pub fn needs_admission(&self) -> bool {
        self.states != 0 || self.filter_ports != 0
    }

    /// Whether an event (or a listed socket, `old == new`) admits its socket: one of the two
    /// states is wanted, and one of the two ports is listed (`port_listed` asks the PORTS set).
    /// The one rule, shared by the eBPF programs and user space's listing.
    #[inline(always)]
    pub fn admits(
        &self,
        old_state: u8,
        new_state: u8,
        sport: u16,
        dport: u16,
        port_listed: impl Fn(u16) -> bool,
    ) -> bool {
        if self.states != 0 {
            let bits = (1u32 << (old_state & 31)) | (1u32 << (new_state & 31));
            if self.states & bits == 0 {
                return false;
            }
        }
        self.filter_ports == 0 || port_listed(sport) || port_listed(dport)
    }
}

/// Index of the counters in the `COUNTERS` per-CPU array.
pub mod counter {
    /// Events not sent because the ring buffer was full.
    pub const LOST: u32 = 0;
    /// Events dropped by the kernel-side filter (family, or a socket never admitted).
    pub const FILTERED: u32 = 1;
    /// Events of other network namespaces than the one followed.
    pub const OTHER_NETNS: u32 = 2;
    /// Admissions refused because the admitted set was full (also counted in LOST).
    pub const ADMIT_FULL: u32 = 3;
    /// Runs of the state-change hook the kernel skipped for recursion whose event the nested
    /// program sent. Skipped runs beyond these (the kernel counts each program's) were lost.
    pub const NESTED_STATE: u32 = 4;
    /// The same for the destroy hook.
    pub const NESTED_DESTROY: u32 = 5;
    pub const COUNT: u32 = 6;
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain-old-data structs, every bit pattern valid, no padding left implicit.
    unsafe impl aya::Pod for super::SockEvent {}
    unsafe impl aya::Pod for super::SockOwner {}
    unsafe impl aya::Pod for super::SockEnd {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::KernelFilter {}
    unsafe impl aya::Pod for super::EndedKey {}
    unsafe impl aya::Pod for super::EndedFlow {}
    unsafe impl aya::Pod for super::FileOffsets {}
    unsafe impl aya::Pod for super::SocketFile {}
}

#[cfg(test)]
mod tests {
    use super::KernelFilter;

    const ESTABLISHED: u8 = 1;
    const FIN_WAIT1: u8 = 4;
    const CLOSE: u8 = 7;

    #[test]
    fn admission_needs_a_wanted_state_and_a_listed_port() {
        let states = KernelFilter {
            states: 1 << ESTABLISHED,
            ..KernelFilter::default()
        };
        assert!(states.needs_admission());
        // Leaving the state still admits (its old state is wanted); later states do not.
        assert!(states.admits(ESTABLISHED, FIN_WAIT1, 1, 2, |_| false));
        assert!(!states.admits(FIN_WAIT1, CLOSE, 1, 2, |_| false));
        let ports = KernelFilter {
            filter_ports: 1,
            ..KernelFilter::default()
        };
        assert!(ports.admits(CLOSE, CLOSE, 40000, 443, |p| p == 443));
        // A reset cleared the remote port: no admission from this event alone.
        assert!(!ports.admits(CLOSE, CLOSE, 40000, 0, |p| p == 443));
        assert!(!KernelFilter::default().needs_admission());
    }
}
