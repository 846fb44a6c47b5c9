//! The last column: what ss prints after the peer port, per socket family: processes (-p),
//! timer (-o), details (-e), memory (-m) and TCP internals (-i), the latter two on an
//! indented continuation line unless -O.

use super::fmt;
use super::names::Names;
use super::Printer;
use crate::escape::push_text;
use crate::model::{
    inet_sockopt_names, IpVersion, Netid, PacketInfo, PacketRing, SkMemInfo, SockFilter, SockState,
    SocketRecord, TimerKind, TipcInfo, XdpInfo,
};

impl<N: Names + ?Sized> Printer<'_, N> {
    pub(super) fn ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        match record.netid {
            Netid::UnixStream | Netid::UnixDgram | Netid::UnixSeqpacket => {
                self.unix_ext(buf, record)
            }
            Netid::PacketRaw | Netid::PacketDgram => self.packet_ext(buf, record),
            Netid::Netlink => self.netlink_ext(buf, record),
            Netid::Tcp | Netid::Udp | Netid::Raw | Netid::Mptcp | Netid::Sctp | Netid::Dccp => {
                self.inet_ext(buf, record)
            }
            // ss prints only the processes of a vsock socket.
            Netid::VsockStream | Netid::VsockDgram | Netid::VsockOther => self.users(buf, record),
            Netid::Tipc => self.tipc_ext(buf, record),
            Netid::Xdp => self.xdp_ext(buf, record),
        }
    }

    /// ss's order for TIPC: details before processes, then --tipcinfo.
    fn tipc_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        if self.opts.extended {
            self.details(buf, record);
        }
        self.users(buf, record);
        if let Some(tipc) = record.tipc.filter(|_| self.opts.tipcinfo) {
            tipc_info_text(buf, &tipc, self.opts.oneline);
        }
    }

    fn xdp_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        self.users(buf, record);
        if self.opts.extended {
            self.details(buf, record);
            if let Some(xdp) = &record.xdp {
                xdp_details(buf, xdp, self.opts.oneline);
            }
        }
        if self.opts.memory {
            if let Some(mem) = &record.meminfo {
                skmem_text(buf, mem);
            }
        }
    }

    fn inet_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        self.users(buf, record);
        // ss's /proc reader prints the table columns and processes, nothing more.
        if record.from_proc {
            return;
        }
        // -e implies -o in ss.
        if self.opts.timers || self.opts.extended {
            if let Some(timer) = record.timer {
                timer_text(buf, timer.kind, timer.expires_ms, timer.retrans);
            }
        }
        if self.opts.extended {
            self.details(buf, record);
            let is_v6 = record.ip_version() == Some(IpVersion::V6);
            if let (Some(v6only), true) = (record.v6only, is_v6) {
                buf.extend_from_slice(b" v6only:");
                buf.push(if v6only { b'1' } else { b'0' });
            }
            if let Some(mask) = record.shutdown {
                shutdown_text(buf, mask);
            }
        }
        if self.opts.tos {
            let values = [
                (&b" tos:"[..], record.tos.map(u64::from)),
                (b" tclass:", record.tclass.map(u64::from)),
                (b" class_id:", record.class_id.map(u64::from)),
            ];
            for (label, value) in values {
                if let Some(value) = value {
                    buf.extend_from_slice(label);
                    alternate_hex(buf, value);
                }
            }
        }
        if let Some(id) = record.cgroup_id.filter(|_| self.opts.cgroup) {
            self.cgroup_text(buf, id);
        }
        if let Some(bits) = record.inet_sockopt.filter(|_| self.opts.inet_sockopt) {
            inet_sockopt_text(buf, bits, self.opts.oneline);
        }
        if self.opts.memory || (self.opts.info && record.netid != Netid::Udp) {
            if !self.opts.oneline {
                buf.extend_from_slice(b"\n\t");
            }
            // ss asks the kernel for memory only with -m and for TCP internals only with -i,
            // and prints whatever came back.
            if let Some(mem) = record.meminfo.as_ref().filter(|_| self.opts.memory) {
                skmem_text(buf, mem);
            }
            if let Some(tcp) = record.tcp.as_ref().filter(|_| self.opts.info) {
                if let Some(info) = &tcp.info {
                    self.tcp_info(buf, record.state, info, tcp);
                }
            }
        }
    }

    fn unix_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        self.users(buf, record);
        if self.opts.memory {
            if let Some(mem) = &record.meminfo {
                skmem_text(buf, mem);
            }
        }
        if self.opts.extended {
            if let Some(mask) = record.shutdown {
                shutdown_text(buf, mask);
            }
            if let Some(vfs) = record.unix_vfs {
                buf.extend_from_slice(b" ino:");
                fmt::push_u64(buf, u64::from(vfs.ino));
                buf.extend_from_slice(b" dev:");
                // glibc's major()/minor() applied to the kernel's dev_t encoding, as ss does.
                let dev = vfs.dev;
                fmt::push_u64(buf, u64::from((dev >> 8) & 0xfff));
                buf.push(b'/');
                fmt::push_u64(buf, u64::from((dev & 0xff) | ((dev >> 12) & 0xfff00)));
            }
            // The kernel reports pending connections for listeners only, even when none.
            if record.state == SockState::Listen {
                buf.extend_from_slice(b" peers:");
                for inode in &record.unix_pending {
                    buf.push(b' ');
                    fmt::push_u64(buf, u64::from(*inode));
                }
            }
        }
    }

    fn packet_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        self.users(buf, record);
        if self.opts.extended {
            self.details(buf, record);
            if let Some(packet) = &record.packet {
                packet_details(buf, packet, self.opts.oneline);
            }
        }
        if let Some(filter) = record.packet_filter.as_ref().filter(|_| self.opts.bpf) {
            bpf_filter_text(buf, filter, self.opts.oneline);
        }
        if self.opts.memory {
            if let Some(mem) = &record.meminfo {
                skmem_text(buf, mem);
            }
        }
    }

    fn netlink_ext(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        // ss attributes no processes to netlink sockets.
        if self.opts.extended {
            // Read from sock_diag, ss has neither the socket's address nor its callback.
            buf.extend_from_slice(b" sk=");
            fmt::push_hex(buf, record.sk_addr.unwrap_or(0));
            buf.extend_from_slice(b" cb=0 groups=0x");
            let groups = record.netlink.map_or(0, |netlink| netlink.groups);
            let start = buf.len();
            fmt::push_hex(buf, u64::from(groups));
            // %08x
            let digits = buf.len() - start;
            if digits < 8 {
                buf.splice(start..start, std::iter::repeat_n(b'0', 8 - digits));
            }
        }
        if self.opts.memory {
            buf.push(b'\t');
            if let Some(mem) = &record.meminfo {
                skmem_text(buf, mem);
            }
        }
    }

    /// ` users:(("comm",pid=N,fd=M),...)` with -p; `pid=N,tid=T,fd=M` with -T.
    fn users(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        // ss matches processes by inode; a socket without one has none.
        if !self.opts.processes || record.users.is_empty() || record.inode == 0 {
            return;
        }
        buf.extend_from_slice(b" users:(");
        for (i, user) in record.users.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"(\"");
            push_text(buf, &user.comm, self.opts.escape);
            buf.extend_from_slice(b"\",pid=");
            fmt::push_i64(buf, i64::from(user.pid as i32));
            if let Some(tid) = user.tid {
                buf.extend_from_slice(b",tid=");
                fmt::push_i64(buf, i64::from(tid as i32));
            }
            buf.extend_from_slice(b",fd=");
            fmt::push_i64(buf, i64::from(user.fd as i32));
            buf.push(b')');
        }
        buf.push(b')');
    }

    /// ss's sock_details_print: uid, inode, cookie, mark, cgroup.
    fn details(&mut self, buf: &mut Vec<u8>, record: &SocketRecord) {
        if record.uid != 0 {
            buf.extend_from_slice(b" uid:");
            fmt::push_u64(buf, u64::from(record.uid));
        }
        buf.extend_from_slice(b" ino:");
        // ss holds inodes in an unsigned int.
        fmt::push_u64(buf, u64::from(record.inode as u32));
        buf.extend_from_slice(b" sk:");
        fmt::push_hex(buf, record.cookie.0);
        if let Some(mark) = record.mark.filter(|mark| *mark != 0) {
            buf.extend_from_slice(b" fwmark:0x");
            fmt::push_hex(buf, u64::from(mark));
        }
        if let Some(id) = record.cgroup_id.filter(|id| *id != 0) {
            self.cgroup_text(buf, id);
        }
    }

    /// ` cgroup:PATH`, or `unreachable:ID` (hex) for an id not under the cgroup2 mount.
    fn cgroup_text(&mut self, buf: &mut Vec<u8>, id: u64) {
        buf.extend_from_slice(b" cgroup:");
        match self.names.cgroup(id) {
            Some(path) => push_text(buf, path.as_bytes(), self.opts.escape),
            None => {
                buf.extend_from_slice(b"unreachable:");
                fmt::push_hex(buf, id);
            }
        }
    }
}

/// C's `%#x`: `0x` and hex digits, but a bare `0` for zero.
fn alternate_hex(buf: &mut Vec<u8>, value: u64) {
    if value != 0 {
        buf.extend_from_slice(b"0x");
    }
    fmt::push_hex(buf, value);
}

/// ` timer:(name,time left,retransmits)`.
fn timer_text(buf: &mut Vec<u8>, kind: TimerKind, expires_ms: u32, retrans: u8) {
    let name: &[u8] = match kind {
        TimerKind::On => b"on",
        TimerKind::Keepalive => b"keepalive",
        TimerKind::Timewait => b"timewait",
        TimerKind::Persist => b"persist",
        TimerKind::Unknown => b"unknown",
    };
    buf.extend_from_slice(b" timer:(");
    buf.extend_from_slice(name);
    buf.push(b',');
    fmt::push_ms_timer(buf, expires_ms);
    buf.push(b',');
    fmt::push_u64(buf, u64::from(retrans));
    buf.push(b')');
}

/// ` <->`: an arrow head for each direction still open (SHUT_RD 1, SHUT_WR 2).
fn shutdown_text(buf: &mut Vec<u8>, mask: u8) {
    buf.push(b' ');
    buf.push(if mask & 1 != 0 { b'-' } else { b'<' });
    buf.push(b'-');
    buf.push(if mask & 2 != 0 { b'-' } else { b'>' });
}

pub(super) fn skmem_text(buf: &mut Vec<u8>, mem: &SkMemInfo) {
    labelled_numbers(
        buf,
        &[
            (b" skmem:(r", mem.rmem_alloc.into()),
            (b",rb", mem.rcvbuf.into()),
            (b",t", mem.wmem_alloc.into()),
            (b",tb", mem.sndbuf.into()),
            (b",f", mem.fwd_alloc.into()),
            (b",w", mem.wmem_queued.into()),
            (b",o", mem.optmem.into()),
            (b",bl", mem.backlog.into()),
            (b",d", mem.drops.into()),
        ],
    );
    buf.push(b')');
}

/// Each label followed by its number.
fn labelled_numbers(buf: &mut Vec<u8>, fields: &[(&[u8], u64)]) {
    for &(label, value) in fields {
        buf.extend_from_slice(label);
        fmt::push_u64(buf, value);
    }
}

/// --tipcinfo: the socket's type, congestion, drops, whether it published a name, and the
/// service it connected to; ss's spacing, trailing blanks included.
fn tipc_info_text(buf: &mut Vec<u8>, tipc: &TipcInfo, oneline: bool) {
    buf.extend_from_slice(if oneline { b" type:" } else { b"\n type:" });
    let sock_type: &[u8] = match tipc.sock_type as i32 {
        libc::SOCK_STREAM => b"STREAM",
        libc::SOCK_DGRAM => b"DGRAM",
        libc::SOCK_RDM => b"RDM",
        libc::SOCK_SEQPACKET => b"SEQPACKET",
        _ => b"UNKNOWN",
    };
    buf.extend_from_slice(sock_type);
    buf.extend_from_slice(b" cong:");
    buf.extend_from_slice(match (tipc.link_congested, tipc.conn_congested) {
        (true, _) => b"link",
        (false, true) => b"conn",
        (false, false) => b"none",
    });
    buf.extend_from_slice(b"  drop:");
    fmt::push_i64(buf, i64::from(tipc.drops as i32));
    buf.push(b' ');
    if tipc.published {
        buf.extend_from_slice(b" publ");
    }
    if let Some((service, instance)) = tipc.via {
        buf.extend_from_slice(b" via {");
        fmt::push_u64(buf, u64::from(service));
        buf.push(b',');
        fmt::push_u64(buf, u64::from(instance));
        buf.extend_from_slice(b"} ");
    }
}

/// The AF_XDP lines of -e: rings, UMEM (with its fill and completion rings), counters.
fn xdp_details(buf: &mut Vec<u8>, xdp: &XdpInfo, oneline: bool) {
    let separator: &[u8] = if oneline { b" " } else { b"\n\t" };
    let ring = |buf: &mut Vec<u8>, name: &[u8], entries: Option<u32>| {
        if let Some(entries) = entries {
            buf.extend_from_slice(separator);
            buf.extend_from_slice(name);
            buf.extend_from_slice(b"(entries:");
            fmt::push_u64(buf, u64::from(entries));
            buf.push(b')');
        }
    };
    ring(buf, b"rx", xdp.rx_ring);
    ring(buf, b"tx", xdp.tx_ring);
    if let Some(umem) = &xdp.umem {
        // ss 6.1 spells the one-line label `tumem`.
        buf.extend_from_slice(if oneline { b" tumem(" } else { b"\n\tumem(" });
        labelled_numbers(
            buf,
            &[
                (b"id:", umem.id.into()),
                (b",size:", umem.size),
                (b",num_pages:", umem.num_pages.into()),
                (b",chunk_size:", umem.chunk_size.into()),
                (b",headroom:", umem.headroom.into()),
                (b",ifindex:", umem.ifindex.into()),
                (b",qid:", umem.queue_id.into()),
                (b",zc:", (umem.flags & 1).into()),
                (b",refs:", umem.refs.into()),
            ],
        );
        buf.push(b')');
        ring(buf, b"fr", xdp.fill_ring);
        ring(buf, b"cr", xdp.completion_ring);
    }
    if let Some(stats) = &xdp.stats {
        buf.extend_from_slice(separator);
        labelled_numbers(
            buf,
            &[
                (b"stats(rx dropped:", stats.rx_dropped),
                (b",rx invalid:", stats.rx_invalid),
                (b",rx queue full:", stats.rx_full),
                (b",rx fill ring empty:", stats.fill_ring_empty),
                (b",tx invalid:", stats.tx_invalid),
                (b",tx ring empty:", stats.tx_ring_empty),
            ],
        );
        buf.push(b')');
    }
}

/// The packet socket lines of -e: version, copy threshold, flags, rings, fanout.
fn packet_details(buf: &mut Vec<u8>, packet: &PacketInfo, oneline: bool) {
    let separator: &[u8] = if oneline { b" " } else { b"\n\t" };
    buf.extend_from_slice(separator);
    buf.extend_from_slice(b"ver:");
    fmt::push_i64(buf, i64::from(packet.version as i32));
    buf.extend_from_slice(b" cpy_thresh:");
    fmt::push_i64(buf, i64::from(packet.copy_thresh as i32));
    buf.extend_from_slice(b" flags( ");
    const FLAGS: [(u32, &[u8]); 5] = [
        (0x1, b"running"),
        (0x2, b" auxdata"),
        (0x4, b" origdev"),
        (0x8, b" vnethdr"),
        (0x10, b" loss"),
    ];
    for (bit, name) in FLAGS {
        if packet.flags & bit != 0 {
            buf.extend_from_slice(name);
        }
    }
    if packet.flags == 0 {
        buf.push(b'0');
    }
    buf.extend_from_slice(b" )");
    for (name, ring) in [
        (&b"ring_rx("[..], packet.rx_ring),
        (b"ring_tx(", packet.tx_ring),
    ] {
        if let Some(ring) = ring {
            buf.extend_from_slice(separator);
            buf.extend_from_slice(name);
            ring_text(buf, &ring);
            buf.push(b')');
        }
    }
    if let Some(fanout) = packet.fanout {
        buf.extend_from_slice(separator);
        buf.extend_from_slice(b"fanout(id:");
        fmt::push_u64(buf, u64::from(fanout & 0xffff));
        buf.extend_from_slice(b",type:");
        let kind = fanout >> 16;
        let name: Option<&[u8]> = match kind {
            0 => Some(b"hash"),
            1 => Some(b"lb"),
            2 => Some(b"cpu"),
            3 => Some(b"roll"),
            4 => Some(b"random"),
            5 => Some(b"qm"),
            _ => None,
        };
        match name {
            Some(name) => buf.extend_from_slice(name),
            None => {
                buf.extend_from_slice(b"0x");
                fmt::push_hex(buf, u64::from(kind));
            }
        }
        buf.push(b')');
    }
}

fn ring_text(buf: &mut Vec<u8>, ring: &PacketRing) {
    let fields: [(&[u8], u32); 5] = [
        (b"blk_size:", ring.block_size),
        (b",blk_nr:", ring.block_nr),
        (b",frm_size:", ring.frame_size),
        (b",frm_nr:", ring.frame_nr),
        (b",tmo:", ring.retire_tmo),
    ];
    for (label, value) in fields {
        buf.extend_from_slice(label);
        fmt::push_i64(buf, i64::from(value as i32));
    }
    buf.extend_from_slice(b",features:0x");
    fmt::push_hex(buf, u64::from(ring.features));
}

/// ss's `inet-sockopt: ( name name)`: the options set, in the struct's order, each after a
/// space; on a continuation line unless -O.
fn inet_sockopt_text(buf: &mut Vec<u8>, bits: u16, oneline: bool) {
    buf.extend_from_slice(if oneline { b" " } else { b"\n\t" });
    buf.extend_from_slice(b"inet-sockopt: (");
    for name in inet_sockopt_names(bits) {
        buf.push(b' ');
        buf.extend_from_slice(name.as_bytes());
    }
    buf.push(b')');
}

/// ss -b's `bpf filter (N):  0xCC JT JF K, ...` (code as `0x%02x`).
fn bpf_filter_text(buf: &mut Vec<u8>, filter: &[SockFilter], oneline: bool) {
    buf.extend_from_slice(if oneline { b" " } else { b"\n\t" });
    buf.extend_from_slice(b"bpf filter (");
    fmt::push_u64(buf, filter.len() as u64);
    buf.extend_from_slice(b"): ");
    for insn in filter {
        buf.extend_from_slice(b" 0x");
        let start = buf.len();
        fmt::push_hex(buf, u64::from(insn.code));
        if buf.len() - start < 2 {
            buf.insert(start, b'0');
        }
        for value in [u32::from(insn.jt), u32::from(insn.jf), insn.k] {
            buf.push(b' ');
            fmt::push_u64(buf, u64::from(value));
        }
        buf.push(b',');
    }
}
