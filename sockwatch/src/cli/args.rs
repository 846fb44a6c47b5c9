//! Command-line definitions: every flag, its help, and validation that needs no syscall.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use sockwatch::select::{Family, QUERY_NAMES};

/// What sockets exist, what they are doing, who owns them, and what just happened to them.
///
/// `sockwatch snapshot` lists sockets as ss(8) does, with its options, columns, states and
/// filter language, read from the kernel's sock_diag interface. `sockwatch netstat` prints
/// the same records, protocol counters, interfaces, routes and multicast groups as net-tools'
/// netstat(8). `sockwatch follow` streams TCP state changes from eBPF programs on the
/// kernel's state-change and socket-destroy hooks, joined to a sock_diag snapshot by socket
/// cookie, and counts anything lost. `sockwatch top` shows live connections and the
/// processes behind them, sorted, filtered and grouped with keys, short-lived ones counted.
///
/// Exit status: 0 on success (a closed output pipe included), 1 on errors, each reported in
/// one line on standard error.
#[derive(Debug, Parser)]
#[command(name = "sockwatch", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List sockets like ss(8): same options, columns, states and filter language.
    #[command(version, disable_help_flag = true)]
    Snapshot(SnapshotArgs),
    /// Stream TCP state transitions live from eBPF (needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN).
    Follow(FollowArgs),
    /// List sockets, protocol counters, interfaces, routes or multicast groups like netstat(8).
    Netstat(NetstatArgs),
    /// A live, sortable view of TCP connections and the processes behind them, short-lived
    /// connections counted (interactive like top(1); -b for batch frames).
    Top(TopArgs),
    /// Run as an agent: Prometheus metrics on /metrics, follow's JSON events on /events.
    Serve(ServeArgs),
    /// Print the completion script for SHELL to standard output.
    #[command(after_help = "\
Load it for this shell with `source <(sockwatch completions bash)`; `cargo xtask install`
puts all three where bash-completion, zsh and fish look for them.")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page sockwatch(8) (roff) to standard output: `sockwatch man | man -l -`.
    Man,
}

/// The shells `sockwatch completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// ss's options. Filter words follow the options, as with ss:
/// `sockwatch snapshot -tn state established '( dport = :ssh or sport = :ssh )'`.
#[derive(Debug, Args)]
#[command(after_help = "\
FILTER := [ state STATE-FILTER ] [ EXPRESSION ], as ss(8): state names (established, syn-sent,
syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing)
and groups (all, connected, synchronized, bucket, big); terms sport, dport, src, dst (with =,
!=, <, >, <=, >= and eq, neq, lt, gt, le, ge), dev, fwmark, cgroup, inode, autobound; joined with
and/or/not, &&/||/!, parentheses.

The filter is also compiled to inet_diag bytecode, so the kernel sends only TCP and UDP sockets
that may match; user space applies the whole filter to what it sends. Filter files are read up
to 64 KiB, dump file messages up to the kernel's 32 KiB.

vsock, tipc and xdp sockets are asked for as ss asks; where the kernel has no diag module
for them (as this one, usually) there are none to list, as with ss. Where it has one, their
sockets are not decoded yet: one line and exit status 1, never dropped.

Exit status: 0 on success (and when -E ends on a signal or a closed output), 1 on errors (bad
option or filter, unreadable dump file).")]
pub struct SnapshotArgs {
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Don't resolve service names.
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Resolve host names.
    #[arg(short = 'r', long)]
    pub resolve: bool,
    /// Display all sockets (listening and non-listening).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Display listening sockets only.
    #[arg(short = 'l', long)]
    pub listening: bool,
    /// Show timer information.
    #[arg(short = 'o', long = "options")]
    pub timers: bool,
    /// Show detailed socket information.
    #[arg(short = 'e', long)]
    pub extended: bool,
    /// Show socket memory usage.
    #[arg(short = 'm', long)]
    pub memory: bool,
    /// Show processes using the socket.
    #[arg(short = 'p', long)]
    pub processes: bool,
    /// Show internal TCP information.
    #[arg(short = 'i', long)]
    pub info: bool,
    /// Show the socket usage summary.
    #[arg(short = 's', long)]
    pub summary: bool,
    /// Display only IP version 4 sockets.
    #[arg(short = '4', long)]
    pub ipv4: bool,
    /// Display only IP version 6 sockets.
    #[arg(short = '6', long)]
    pub ipv6: bool,
    /// Display PACKET sockets.
    #[arg(short = '0', long)]
    pub packet: bool,
    /// Display TCP sockets.
    #[arg(short = 't', long)]
    pub tcp: bool,
    /// Display UDP sockets.
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Display DCCP sockets.
    #[arg(short = 'd', long)]
    pub dccp: bool,
    /// Display RAW sockets.
    #[arg(short = 'w', long)]
    pub raw: bool,
    /// Display Unix domain sockets.
    #[arg(short = 'x', long)]
    pub unix: bool,
    /// Display SCTP sockets.
    #[arg(short = 'S', long)]
    pub sctp: bool,
    /// Display MPTCP sockets.
    #[arg(short = 'M', long)]
    pub mptcp: bool,
    /// Display vsock sockets.
    #[arg(long)]
    pub vsock: bool,
    /// Display TIPC sockets.
    #[arg(long)]
    pub tipc: bool,
    /// Display XDP sockets.
    #[arg(long)]
    pub xdp: bool,
    /// Show TIPC socket information (with --tipc).
    #[arg(long)]
    pub tipcinfo: bool,
    /// Display sockets of type FAMILY: inet, inet6, link, unix, netlink, vsock, tipc, xdp.
    #[arg(
        short = 'f',
        long,
        value_name = "FAMILY",
        value_parser = Offered(|| Family::NAMES.iter().map(|(name, _)| *name).collect()),
        hide_possible_values = true
    )]
    pub family: Vec<String>,
    /// Socket tables to show: all, inet, tcp, udp, raw, unix, packet, netlink, mptcp, sctp,
    /// dccp, unix_stream, unix_dgram, unix_seqpacket, packet_raw, packet_dgram, vsock,
    /// vsock_stream, vsock_dgram, tipc, xdp; `!` negates.
    #[arg(
        short = 'A',
        long = "query",
        visible_alias = "socket",
        value_name = "QUERY",
        value_parser = Offered(|| QUERY_NAMES.iter().map(|(name, _)| *name).collect()),
        hide_possible_values = true
    )]
    pub query: Vec<String>,
    /// Dump raw information about TCP sockets to FILE (ss's dump format; `-` for standard
    /// output). FILE ends up readable by its owner only (mode 0600), also when it existed.
    #[arg(short = 'D', long = "diag", value_name = "FILE")]
    pub diag: Option<std::path::PathBuf>,
    /// Read the filter from FILE (`-` for standard input).
    #[arg(short = 'F', long = "filter", value_name = "FILE")]
    pub filter_file: Option<std::path::PathBuf>,
    /// Suppress the header line.
    #[arg(short = 'H', long = "no-header")]
    pub no_header: bool,
    /// Socket's data printed on a single line.
    #[arg(short = 'O', long)]
    pub oneline: bool,
    /// Switch to the named network namespace (as `ip netns`).
    #[arg(short = 'N', long = "net", value_name = "NSNAME")]
    pub netns: Option<String>,
    /// One JSON document instead of text (schema_version 1, see docs/json-schema.md).
    #[arg(long)]
    pub json: bool,
    /// Read sockets from a dump file (written by -D or `ss -D`) instead of the kernel; the
    /// TCPDIAG_FILE environment variable does the same, as with ss.
    #[arg(long, value_name = "FILE")]
    pub read: Option<std::path::PathBuf>,
    /// Print the sockets in netstat's columns.
    #[arg(long)]
    pub netstat: bool,
    /// Show TOS, traffic class and class id of inet sockets.
    #[arg(long)]
    pub tos: bool,
    /// Show the cgroup of inet sockets.
    #[arg(long)]
    pub cgroup: bool,
    /// Forcibly close the inet sockets the filter selects (SOCK_DESTROY: needs root and a
    /// kernel with CONFIG_INET_DIAG_DESTROY) and show those closed; other sockets are shown.
    /// Refused (no CAP_NET_ADMIN): as ss, "SOCK_DESTROY answers: ..." once a protocol, the
    /// rest of that protocol unlisted (UDP listed from /proc instead), exit status 0.
    #[arg(short = 'K', long = "kill")]
    pub kill: bool,
    /// Continually display TCP and UDP sockets as they are destroyed (from sock_diag's
    /// destroy announcements), until a signal or a closed output.
    #[arg(short = 'E', long = "events")]
    pub events: bool,
    /// Display task SELinux security contexts (as ss: without SELinux, says so and exits 1;
    /// with SELinux enabled sockwatch does not show contexts yet).
    #[arg(short = 'Z', long = "context")]
    pub context: bool,
    /// Display task and socket SELinux security contexts (as -Z).
    #[arg(short = 'z', long = "contexts")]
    pub contexts: bool,
    /// Show the classic BPF filters attached to packet sockets (the kernel shows them to
    /// CAP_NET_ADMIN only); turns on -o too, as in ss.
    #[arg(short = 'b', long = "bpf")]
    pub bpf: bool,
    /// Show inet socket options: recverr, is_icsk, freebind, hdrincl, mc_loop, transparent,
    /// mc_all, nodefrag, bind_addr_no_port, recverr_rfc4884, defer_connect.
    #[arg(long = "inet-sockopt")]
    pub inet_sockopt: bool,
    /// Show the threads using the socket: `tid=` beside each pid (implies -p).
    #[arg(short = 'T', long = "threads")]
    pub threads: bool,
    /// The filter: [ state STATE-FILTER ] [ EXPRESSION ].
    #[arg(value_name = "FILTER", allow_hyphen_values = false)]
    pub filter: Vec<String>,
}

impl SnapshotArgs {
    /// The ss option that sockwatch rejects, if one was given.
    pub fn unsupported_option(&self) -> Option<&'static str> {
        [
            (self.context, "-Z (--context) with SELinux enabled"),
            (self.contexts, "-z (--contexts) with SELinux enabled"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
The family, port and state parts of FILTER are applied in the kernel, so filtered-out
traffic costs no ring-buffer space; the whole expression is applied again in user space.
A socket is admitted by its first event (or its start-up row) that matches the port and state
parts (listeners pass any state part: they name the owners of the connections they accept);
from then on all its events and its end reach the table, whatever its later states
(or a reset that clears its ports), so the table never keeps a dead socket. The filter
decides what is shown: a log line for each matching event; with --lifetime (and --table
--failed), every connection that matched at some point (`--lifetime state established`: each connection that got
established, at its end). At most 65,536 sockets are admitted at once; beyond that the
events are counted as lost and the table is rebuilt.
Sockets that exist at start are listed from sock_diag first and joined to later events by
socket cookie. The hooks that tell why connections end attach right after the first events
are shown; standard error says `attached` once they are, and an end before then reads
`unknown`. `LOST n events` lines report events the kernel could not queue; the table is then
rebuilt from sock_diag.

SIGINT, SIGTERM and SIGHUP end every view within a second, even when blocked on a FIFO or a
reader that stopped reading; output not written by then is counted in the summary. A recording
cut inside a record replays every whole record, then names the offset of the damage.

Exit status: 0 when stopped by --count, --duration, a signal or a closed output (EPIPE); 1 on
errors, including any other write error on standard output or on --write's file, and a damaged
or foreign recording. A summary (events, lost, sockets seen) goes to standard error at the end.")]
pub struct FollowArgs {
    /// One line a finished connection (pid, comm, addresses, bytes each way, duration); a
    /// connection closed by a reset shows what it had before the kernel cleared it.
    #[arg(long, conflicts_with = "table")]
    pub lifetime: bool,
    /// A refreshing ss-style table of the live sockets instead of an event log.
    #[arg(long)]
    pub table: bool,
    /// Redraw interval of --table, in seconds (0.05 to 86400).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_interval)]
    pub interval: std::time::Duration,
    /// JSON lines instead of text: a `start` line, then one object per event, loss or
    /// table refresh (docs/json-schema.md).
    #[arg(long)]
    pub json: bool,
    /// Only connections that did not end `normal` (reset, refused, timeout, unreachable,
    /// killed, unknown): the lines that end them, and listener drops. With --table, the
    /// table shows the connections that failed in the last 60 s instead of the live sockets
    /// (which have not ended): newest first, as --lifetime lines, up to 10,000.
    #[arg(long)]
    pub failed: bool,
    /// Also show a line for each TCP retransmit (the per-connection count is always kept).
    #[arg(long)]
    pub retransmits: bool,
    /// Show each owner's container: a CONTAINER column (the id's first 12 characters), or
    /// the JSON keys cgroup_path, container_id, pod_uid and netns_name (event log and
    /// --lifetime).
    #[arg(long, conflicts_with = "table")]
    pub container: bool,
    /// Don't resolve service names.
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Only IPv4 sockets.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Only IPv6 sockets.
    #[arg(short = '6', long)]
    pub ipv6: bool,
    /// Stop after N lines (refreshes with --table); at least 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after SECS seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,
    /// Watch every network namespace, not only sockwatch's own (the table starts from, and
    /// after a loss is rebuilt from, every namespace a process or /run/netns holds).
    #[arg(long)]
    pub all_netns: bool,
    /// Ring buffer size in KiB (a power of two, at least 4).
    #[arg(long, value_name = "KIB", value_parser = parse_ring_kib)]
    pub ring_kib: Option<u32>,
    /// Record the event stream to FILE (mode 0600, also over an existing file), for --read.
    #[arg(long, value_name = "FILE", conflicts_with = "read")]
    pub write: Option<std::path::PathBuf>,
    /// Replay a recording made with --write through any view (no privileges needed).
    #[arg(long, value_name = "FILE")]
    pub read: Option<std::path::PathBuf>,
    /// Print the kernel verifier's log of every program the kernel refused (otherwise it goes
    /// to a file, named in the error, when follow cannot run).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// ss's filter: [ state STATE-FILTER ] [ EXPRESSION ], e.g. `dport = :443 or sport = :80`.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// top's options. Rates come from tcp_info counters of successive sock_diag listings; with
/// the privileges follow needs (root, or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN), its eBPF
/// programs add the connections that opened and closed between two refreshes (summed in the
/// kernel per process, remote end and end reason). Without them
/// top shows what sock_diag alone can, and its header says so.
#[derive(Debug, Args)]
#[command(after_help = "\
KEYS: < and > move the sort column, i inverts it, / types an ss filter (Enter applies, Esc
cancels; an error shows in the status line), c p r show connections, processes or remote
ends, space pauses, ? shows help, q or Ctrl-C quits.

When standard output is not a terminal, top prints batch text frames as with -b.")]
pub struct TopArgs {
    /// Batch mode: print frames as text (or JSON with --json) to standard output.
    #[arg(short = 'b', long)]
    pub batch: bool,
    /// Stop after N frames.
    #[arg(short = 'n', long = "frames", value_name = "N")]
    pub frames: Option<u64>,
    /// Refresh every SECS seconds (fractions allowed, 0.05 to 86400).
    #[arg(short = 'd', long = "delay", value_name = "SECS", default_value = "1", value_parser = parse_interval)]
    pub delay: std::time::Duration,
    /// With -b: one JSON document a frame, one a line (docs/json-schema.md).
    #[arg(long, requires = "batch")]
    pub json: bool,
    /// What the rows are at start: connections, processes or remotes.
    #[arg(short = 'g', long = "group", value_enum, default_value = "connections")]
    pub group: TopGroup,
    /// ss's filter: [ state STATE-FILTER ] [ EXPRESSION ], e.g. `dport = :443`.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// What top's rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TopGroup {
    Connections,
    Processes,
    Remotes,
}

/// netstat's options. Without -r, -i, -g or -s it lists sockets: connected ones by default,
/// listening ones with -l, both with -a; internet (tcp, udp, raw) and unix sockets unless
/// -t -u -w -x or an address family narrow it.
#[derive(Debug, Args)]
#[command(
    version,
    args_override_self = true,
    after_help = "\
FAMILIES (-A, comma-separated): inet (ip, tcpip), inet6 (ip6), unix.

Exit status: 0 on success, 1 on errors (bad option, unsupported part of netstat, unreadable
kernel data). With -c the listing repeats every second until interrupted."
)]
pub struct NetstatArgs {
    /// Display the kernel routing table (IPv4; IPv6 with -6 or -A inet6).
    #[arg(short = 'r', long = "route")]
    pub route: bool,
    /// Display the interface table (with -e in ifconfig's format).
    #[arg(short = 'i', long = "interfaces")]
    pub interfaces: bool,
    /// Display multicast group memberships.
    #[arg(short = 'g', long = "groups")]
    pub groups: bool,
    /// Display protocol statistics (with -t, -u, -w: only those protocols).
    #[arg(short = 's', long = "statistics")]
    pub statistics: bool,
    /// With -s: the counters as one JSON object (schema_version, then section to counter to
    /// value; docs/json-schema.md).
    #[arg(long)]
    pub json: bool,
    /// Don't truncate IP addresses.
    #[arg(short = 'W', long = "wide")]
    pub wide: bool,
    /// Don't resolve names (hosts, ports, users).
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,
    /// Don't resolve host names.
    #[arg(long = "numeric-hosts")]
    pub numeric_hosts: bool,
    /// Don't resolve port names.
    #[arg(long = "numeric-ports")]
    pub numeric_ports: bool,
    /// Don't resolve user names.
    #[arg(long = "numeric-users")]
    pub numeric_users: bool,
    /// Display other/more information (twice for more).
    #[arg(short = 'e', long = "extend", action = ArgAction::Count)]
    pub extend: u8,
    /// Display PID/Program name for sockets.
    #[arg(short = 'p', long = "programs")]
    pub programs: bool,
    /// Display timers.
    #[arg(short = 'o', long = "timers")]
    pub timers: bool,
    /// Reprint the listing every second.
    #[arg(short = 'c', long = "continuous")]
    pub continuous: bool,
    /// Display listening server sockets.
    #[arg(short = 'l', long = "listening")]
    pub listening: bool,
    /// Display all sockets (default: connected).
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Display the Forwarding Information Base (the default, and the only table).
    #[arg(short = 'F', long = "fib")]
    pub fib: bool,
    /// TCP sockets.
    #[arg(short = 't', long = "tcp")]
    pub tcp: bool,
    /// UDP sockets.
    #[arg(short = 'u', long = "udp")]
    pub udp: bool,
    /// Raw sockets.
    #[arg(short = 'w', long = "raw")]
    pub raw: bool,
    /// Unix domain sockets (the unix address family).
    #[arg(short = 'x', long = "unix")]
    pub unix: bool,
    /// IPv4 only (the inet address family).
    #[arg(short = '4', long = "inet", visible_aliases = ["ip", "tcpip"])]
    pub ipv4: bool,
    /// IPv6 only (the inet6 address family).
    #[arg(short = '6', long = "inet6")]
    pub ipv6: bool,
    /// Address families, comma-separated: inet, inet6, unix.
    #[arg(
        short = 'A',
        long = "protocol",
        value_name = "FAMILIES",
        value_parser = Offered(|| AddressFamily::ALL.map(AddressFamily::name).to_vec()),
        hide_possible_values = true
    )]
    pub protocol: Vec<String>,
    /// netstat options sockwatch does not support: rejected with a message.
    #[arg(short = 'M', long = "masquerade", hide = true)]
    pub masquerade: bool,
    #[arg(short = 'C', long = "cache", hide = true)]
    pub cache: bool,
    #[arg(short = 'Z', long = "context", hide = true)]
    pub context: bool,
    #[arg(short = 'S', long = "sctp", hide = true)]
    pub sctp: bool,
    #[arg(short = 'U', long = "udplite", hide = true)]
    pub udplite: bool,
    #[arg(long, hide = true)]
    pub ax25: bool,
    #[arg(long, hide = true)]
    pub x25: bool,
    #[arg(long, hide = true)]
    pub ipx: bool,
    #[arg(long, hide = true)]
    pub appletalk: bool,
    #[arg(long, hide = true)]
    pub ddp: bool,
    #[arg(long, hide = true)]
    pub netrom: bool,
    #[arg(long, hide = true)]
    pub rose: bool,
    #[arg(long, hide = true)]
    pub bluetooth: bool,
}

/// A text option whose usual words the shell completions offer (instead of file names).
/// Any word is accepted here: the command judges it and answers a bad one as ss or netstat
/// does, in their words.
#[derive(Clone)]
struct Offered(fn() -> Vec<&'static str>);

impl clap::builder::TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(command, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            (self.0)()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// An address family netstat can be narrowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressFamily {
    Inet,
    Inet6,
    Unix,
}

impl AddressFamily {
    const ALL: [AddressFamily; 3] = [
        AddressFamily::Inet,
        AddressFamily::Inet6,
        AddressFamily::Unix,
    ];

    /// netstat's family names (`-A` and its aliases); the ones sockwatch has no data for
    /// are an error of their own.
    pub fn parse(name: &str) -> Result<AddressFamily, String> {
        match name {
            "inet" | "ip" | "tcpip" => Ok(AddressFamily::Inet),
            "inet6" | "ip6" => Ok(AddressFamily::Inet6),
            "unix" => Ok(AddressFamily::Unix),
            "ax25" | "x25" | "ipx" | "appletalk" | "ddp" | "netrom" | "rose" | "econet" | "ash"
            | "bluetooth" => Err(format!(
                "the {name} address family is not supported by sockwatch netstat"
            )),
            _ => Err(format!("unknown address family `{name}'")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AddressFamily::Inet => "inet",
            AddressFamily::Inet6 => "inet6",
            AddressFamily::Unix => "unix",
        }
    }
}

impl NetstatArgs {
    /// The first netstat option sockwatch rejects, if any was given, with why when there is
    /// more to say than "not supported".
    pub fn unsupported_option(&self) -> Option<(&'static str, &'static str)> {
        [
            (
                self.masquerade,
                "-M (--masquerade)",
                ": the kernel has had no masquerade table since 2.4",
            ),
            (
                self.cache,
                "-C (--cache)",
                ": the kernel has had no IPv4 routing cache since 3.6",
            ),
            (self.context, "-Z (--context)", ""),
            (self.sctp, "-S (--sctp)", ""),
            (self.udplite, "-U (--udplite)", ""),
            (self.ax25, "--ax25", ""),
            (self.x25, "--x25", ""),
            (self.ipx, "--ipx", ""),
            (self.appletalk, "--appletalk", ""),
            (self.ddp, "--ddp", ""),
            (self.netrom, "--netrom", ""),
            (self.rose, "--rose", ""),
            (self.bluetooth, "--bluetooth", ""),
        ]
        .into_iter()
        .find_map(|(given, option, why)| given.then_some((option, why)))
    }

    /// The address families named, in command-line order within each kind of option (as
    /// netstat joins them; -r prints one table per name, in this order).
    pub fn families(&self) -> Result<Vec<AddressFamily>, String> {
        let mut families = Vec::new();
        for list in &self.protocol {
            for name in list.split(',').filter(|name| !name.is_empty()) {
                families.push(AddressFamily::parse(name)?);
            }
        }
        for (given, family) in [
            (self.ipv4, AddressFamily::Inet),
            (self.ipv6, AddressFamily::Inet6),
            (self.unix, AddressFamily::Unix),
        ] {
            if given {
                families.push(family);
            }
        }
        Ok(families)
    }

    pub fn numeric_hosts(&self) -> bool {
        self.numeric || self.numeric_hosts
    }

    /// The address families named, once the options are known to go together (in this
    /// order: an unsupported option, a bad family, two modes, --json without -s).
    pub fn checked_families(&self) -> Result<Vec<AddressFamily>, String> {
        if let Some((option, why)) = self.unsupported_option() {
            return Err(format!("the netstat option {option} is not supported{why}"));
        }
        let families = self.families()?;
        let modes = [self.route, self.interfaces, self.statistics];
        if modes.into_iter().filter(|&given| given).count() > 1 {
            return Err("only one of -r, -i and -s can be given".into());
        }
        if self.json && !self.statistics {
            return Err("--json goes with -s (--statistics)".into());
        }
        Ok(families)
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Endpoints (GET and HEAD only; none changes anything):

/metrics: Prometheus text, or OpenMetrics when the scraper asks for it: connections opened,
closed and failed by direction, end reason (as follow names it), process, container, pod and
netns; sockets by state; retransmits; listener drops; events lost; connection duration and
connect latency histograms; sockwatch's own CPU and memory.

/events: follow --json's event log (a start line first; no retransmit lines), for a log
shipper to tail. Served on loopback; beyond loopback only with --events. A reader that falls
behind loses lines (counted, and a `lost` line tells it), never slowing event processing.

/healthz: `ok` while serve runs (no token needed).

Needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (CAP_SYS_PTRACE to name the owners of sockets
that exist at start, CAP_DAC_READ_SEARCH for the syscall hooks when not root); see deploy/
for a systemd unit and a Kubernetes DaemonSet.

Exit status: 0 when stopped by a signal; 1 on errors.")]
pub struct ServeArgs {
    /// Address and port to serve HTTP on (loopback unless told otherwise).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9464")]
    pub listen: std::net::SocketAddr,
    /// Serve /events even when --listen is not a loopback address.
    #[arg(long)]
    pub events: bool,
    /// Require `Authorization: Bearer TOKEN` on /metrics and /events, TOKEN being the first
    /// line of FILE.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// Distinct values kept for each of the process, container and netns labels; later values
    /// are counted under `other`.
    #[arg(long, value_name = "N", default_value = "200", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_label_values: u32,
    /// Only IPv4 sockets.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Only IPv6 sockets.
    #[arg(short = '6', long)]
    pub ipv6: bool,
    /// Watch every network namespace, not only sockwatch's own.
    #[arg(long)]
    pub all_netns: bool,
    /// Ring buffer size in KiB (a power of two, at least 4).
    #[arg(long, value_name = "KIB", value_parser = parse_ring_kib)]
    pub ring_kib: Option<u32>,
    /// ss's filter: [ state STATE-FILTER ] [ EXPRESSION ]; what it leaves out is not counted.
    /// It admits connections, not events: one that matched once is counted to its end.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("'{text}' is not a valid duration"))
}

/// Redraws faster than this only flood the terminal.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
const MAX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(86_400);

fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = parse_seconds(text)?;
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
        return Err(format!(
            "the interval must be from 0.05 to 86400 seconds, not {text}"
        ));
    }
    Ok(interval)
}

fn parse_ring_kib(text: &str) -> Result<u32, String> {
    let kib: u32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of KiB"))?;
    if kib < 4 || !kib.is_power_of_two() || kib > 1 << 20 {
        return Err(format!(
            "ring size must be a power of two from 4 to 1048576 KiB, not {kib}"
        ));
    }
    Ok(kib)
}

/// Parsing helpers for the tests of this step and the next.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Cli, Command, NetstatArgs, SnapshotArgs};
    use clap::Parser;

    fn parse(words: &[&str]) -> Command {
        let argv = std::iter::once("sockwatch").chain(words.iter().copied());
        Cli::try_parse_from(argv).expect("valid options").command
    }

    /// `sockwatch netstat WORDS`.
    pub fn parse_netstat(words: &[&str]) -> NetstatArgs {
        let argv: Vec<&str> = std::iter::once("netstat")
            .chain(words.iter().copied())
            .collect();
        match parse(&argv) {
            Command::Netstat(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    /// `sockwatch snapshot WORDS`.
    pub fn parse_snapshot(words: &[&str]) -> SnapshotArgs {
        let argv: Vec<&str> = std::iter::once("snapshot")
            .chain(words.iter().copied())
            .collect();
        match parse(&argv) {
            Command::Snapshot(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::parse_netstat;
    use super::*;

    #[test]
    fn seconds_and_ring_sizes() {
        assert_eq!(
            parse_seconds("1.5"),
            Ok(std::time::Duration::from_millis(1500))
        );
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("1e300").is_err());
        for refused in ["0", "1e-10", "1e-9", "0.049", "86401", "inf", "NaN", "-0"] {
            assert!(parse_interval(refused).is_err(), "{refused}");
        }
        assert_eq!(
            parse_interval("0.05"),
            Ok(std::time::Duration::from_millis(50))
        );
        assert_eq!(parse_ring_kib("64"), Ok(64));
        assert!(parse_ring_kib("3").is_err());
        assert!(parse_ring_kib("100").is_err());
    }

    #[test]
    fn netstat_family_names() {
        let args = parse_netstat(&["-A", "ip6,tcpip", "-x"]);
        assert_eq!(
            args.families(),
            Ok(vec![
                AddressFamily::Inet6,
                AddressFamily::Inet,
                AddressFamily::Unix
            ])
        );
        assert_eq!(
            parse_netstat(&["-A", "tcp"]).families(),
            Err("unknown address family `tcp'".into())
        );
        assert!(parse_netstat(&["-A", "ipx"])
            .families()
            .is_err_and(|e| e.contains("not supported")));
    }

    #[test]
    fn netstat_options_that_do_not_go_together() {
        assert_eq!(
            parse_netstat(&["-r", "-s"]).checked_families(),
            Err("only one of -r, -i and -s can be given".into())
        );
        assert_eq!(
            parse_netstat(&["--json"]).checked_families(),
            Err("--json goes with -s (--statistics)".into())
        );
        assert!(parse_netstat(&["-s", "--json", "-A", "inet6"])
            .checked_families()
            .is_ok());
    }

    #[test]
    fn netstat_repeated_flags_and_counts() {
        let args = parse_netstat(&["-ee", "-tt", "--numeric-hosts"]);
        assert_eq!(args.extend, 2);
        assert!(args.tcp && args.numeric_hosts() && !args.numeric_ports);
        assert!(parse_netstat(&["-M"]).unsupported_option().is_some());
        assert!(parse_netstat(&["-rC"]).unsupported_option().is_some());
        assert!(parse_netstat(&["-rF"]).unsupported_option().is_none());
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
