//! `sockwatch netstat`: netstat(8)'s command line (net-tools 2.10) over sockwatch's sources:
//! sockets through the same selection and sock_diag snapshot as `snapshot`, counters,
//! interfaces, routes and multicast groups from their /proc files and ioctls.

use std::{
    io::{self, BufWriter, Write},
    process::ExitCode,
    thread,
    time::Duration,
};

use clap::{ArgAction, Args};
use sockwatch::{
    model::Netid,
    procs,
    render::{
        netstat::{self as sockets, Listing, NetstatOptions, SystemNames},
        netstat_groups, netstat_iface,
        netstat_route::{self, RouteColumns, RouteOptions},
        netstat_stats::{self, StatsFamily, StatsFilter},
    },
    select::{Family, SelectOptions, Selection},
    source::{self, groups, interfaces, routes, snmp::ProtocolCounters, Extensions},
};

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
    /// With -s: the counters as one JSON object (section to counter to value).
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
    #[arg(short = 'A', long = "protocol", value_name = "FAMILIES")]
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

/// An address family netstat can be narrowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddressFamily {
    Inet,
    Inet6,
    Unix,
}

impl AddressFamily {
    /// netstat's family names (`-A` and its aliases); the ones sockwatch has no data for
    /// are an error of their own.
    fn parse(name: &str) -> Result<AddressFamily, String> {
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

    fn name(self) -> &'static str {
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
    fn unsupported_option(&self) -> Option<(&'static str, &'static str)> {
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
    fn families(&self) -> Result<Vec<AddressFamily>, String> {
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

    fn numeric_hosts(&self) -> bool {
        self.numeric || self.numeric_hosts
    }
}

/// What the socket listing shows, from netstat's rules for combining protocols and families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SocketPlan {
    tcp: bool,
    udp: bool,
    raw: bool,
    ipv4: bool,
    ipv6: bool,
    /// The "Active Internet connections" table.
    inet_table: bool,
    unix_table: bool,
    groups: bool,
}

impl SocketPlan {
    fn new(args: &NetstatArgs, families: &[AddressFamily]) -> SocketPlan {
        let mut inet = families.contains(&AddressFamily::Inet);
        let mut inet6 = families.contains(&AddressFamily::Inet6);
        let unix = families.contains(&AddressFamily::Unix);
        let (mut tcp, mut udp, mut raw) = (args.tcp, args.udp, args.raw);
        let any_protocol = tcp || udp || raw;
        // A family alone means all of its protocols; a protocol (or -g) alone, both families.
        if (inet || inet6) && !any_protocol {
            (tcp, udp, raw) = (true, true, true);
        }
        if (tcp || udp || raw || args.groups) && !(inet || inet6) {
            (inet, inet6) = (true, true);
        }
        let narrowed = tcp || udp || raw || unix || args.groups;
        SocketPlan {
            tcp: tcp || !narrowed,
            udp: udp || !narrowed,
            raw: raw || !narrowed,
            ipv4: inet || !narrowed,
            ipv6: inet6 || !narrowed,
            inet_table: tcp || udp || raw || !narrowed,
            unix_table: unix || !narrowed,
            groups: args.groups,
        }
    }

    /// The sockets to fetch: every state (netstat's -a/-l choice is the renderer's).
    fn selection(&self) -> Result<Selection, String> {
        let mut tables = Vec::new();
        let mut families = Vec::new();
        if self.inet_table {
            for (wanted, netid) in [
                (self.tcp, Netid::Tcp),
                (self.udp, Netid::Udp),
                (self.raw, Netid::Raw),
            ] {
                if wanted {
                    tables.push(netid);
                }
            }
            for (wanted, family) in [(self.ipv4, Family::Inet), (self.ipv6, Family::Inet6)] {
                if wanted {
                    families.push(family);
                }
            }
        }
        if self.unix_table {
            tables.extend([Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket]);
            families.push(Family::Unix);
        }
        Selection::from_options(&SelectOptions {
            tables,
            families,
            all: true,
            ..SelectOptions::default()
        })
        .map_err(|e| e.to_string())
    }
}

pub fn run(args: NetstatArgs) -> Result<ExitCode, String> {
    if let Some((option, why)) = args.unsupported_option() {
        return Err(format!("the netstat option {option} is not supported{why}"));
    }
    let families = args.families()?;
    let modes = [args.route, args.interfaces, args.statistics];
    if modes.into_iter().filter(|&given| given).count() > 1 {
        return Err("only one of -r, -i and -s can be given".into());
    }
    if args.json && !args.statistics {
        return Err("--json goes with -s (--statistics)".into());
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let names = SystemNames::new();
    if args.statistics {
        return statistics(&args, &families, &mut out).map(|()| ExitCode::SUCCESS);
    }
    let mut first = true;
    loop {
        let written = if args.route {
            route_tables(&args, &families, &names, &mut out)?
        } else if args.interfaces {
            interface_table(&args, first, &mut out)?
        } else {
            socket_tables(&args, &families, &names, &mut out)?
        };
        if !written || !args.continuous {
            return Ok(ExitCode::SUCCESS);
        }
        first = false;
        thread::sleep(Duration::from_secs(1));
    }
}

/// The output so far reached its reader: true, or false when the reader has gone (`| head`),
/// which ends the listing quietly. Other write errors are errors.
fn delivered(result: io::Result<()>) -> Result<bool, String> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(format!("writing output: {e}")),
    }
}

fn statistics(
    args: &NetstatArgs,
    families: &[AddressFamily],
    out: &mut impl Write,
) -> Result<(), String> {
    let family = match families {
        [] | [AddressFamily::Inet] => StatsFamily::Inet,
        [AddressFamily::Inet6] => StatsFamily::Inet6,
        _ => {
            let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
            return Err(format!(
                "no statistics for address family {} (give one of inet, inet6)",
                names.join(",")
            ));
        }
    };
    let any_protocol = args.tcp || args.udp || args.raw;
    let filter = if any_protocol {
        StatsFilter {
            raw: args.raw,
            tcp: args.tcp,
            udp: args.udp,
            sctp: false,
        }
    } else {
        StatsFilter::ALL
    };
    let counters = ProtocolCounters::read().map_err(|e| e.to_string())?;
    if family == StatsFamily::Inet6 && counters.snmp6.is_none() {
        return Err("cannot read /proc/net/snmp6: IPv6 is disabled".into());
    }
    let written = if args.json {
        netstat_stats::write_stats_json(&mut *out, &counters, family, filter)
    } else {
        netstat_stats::write_stats(&mut *out, &counters, family, filter)
    };
    delivered(written.and_then(|()| out.flush())).map(drop)
}

fn route_tables(
    args: &NetstatArgs,
    families: &[AddressFamily],
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
    let options = RouteOptions {
        numeric: args.numeric_hosts(),
        // netstat swaps the meaning of none and one -e for routes.
        columns: match args.extend {
            0 => RouteColumns::Mss,
            1 => RouteColumns::Metric,
            _ => RouteColumns::All,
        },
    };
    let families = if families.is_empty() {
        &[AddressFamily::Inet][..]
    } else {
        families
    };
    for family in families {
        let written = match family {
            AddressFamily::Inet => {
                let table = routes::ipv4_routes().map_err(|e| e.to_string())?;
                netstat_route::write_ipv4_routes(&mut *out, &table, options, names)
            }
            AddressFamily::Inet6 => {
                let table = routes::ipv6_routes().map_err(|e| e.to_string())?;
                netstat_route::write_ipv6_routes(&mut *out, &table, options.numeric, names)
            }
            AddressFamily::Unix => return Err("no routing table for address family unix".into()),
        };
        if !delivered(written)? {
            return Ok(false);
        }
    }
    delivered(out.flush())
}

fn interface_table(args: &NetstatArgs, first: bool, out: &mut impl Write) -> Result<bool, String> {
    let list = interfaces::interfaces().map_err(|e| e.to_string())?;
    let listed: Vec<&interfaces::Interface> = list
        .iter()
        .filter(|interface| netstat_iface::is_listed(interface, args.all))
        .collect();
    let inet6 = if args.extend > 0 {
        interfaces::inet6_addresses().map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    // The title comes once, however often -c repeats the table.
    let title = if first { netstat_iface::TITLE } else { "" };
    let written = out.write_all(title.as_bytes()).and_then(|()| {
        if args.extend == 0 {
            netstat_iface::write_interface_table(&mut *out, &listed)
        } else {
            netstat_iface::write_interface_details(&mut *out, &listed, &inet6)
        }
    });
    delivered(written.and_then(|()| out.flush()))
}

fn socket_tables(
    args: &NetstatArgs,
    families: &[AddressFamily],
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
    let plan = SocketPlan::new(args, families);
    let mut records = if plan.inet_table || plan.unix_table {
        let selection = plan.selection()?;
        source::selected_records(&selection, Extensions::default(), |_| true)
            .map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    if args.programs {
        procs::attach_users(&mut records).map_err(|e| e.to_string())?;
    }
    let options = NetstatOptions {
        listing: if args.all {
            Listing::All
        } else if args.listening {
            Listing::OnlyServers
        } else {
            Listing::WithoutServers
        },
        inet: plan.inet_table,
        unix: false,
        numeric_hosts: args.numeric_hosts(),
        numeric_ports: args.numeric || args.numeric_ports,
        numeric_users: args.numeric || args.numeric_users,
        wide: args.wide,
        extend: args.extend > 0,
        programs: args.programs,
        timers: args.timers,
    };
    // netstat's order: internet sockets, then group memberships, then unix sockets.
    if !delivered(sockets::write_netstat(&mut *out, &records, &options, names))? {
        return Ok(false);
    }
    if plan.groups {
        let mut memberships = Vec::new();
        if plan.ipv4 {
            memberships.extend(groups::ipv4_memberships().map_err(|e| e.to_string())?);
        }
        if plan.ipv6 {
            memberships.extend(groups::ipv6_memberships().map_err(|e| e.to_string())?);
        }
        let written =
            netstat_groups::write_groups(&mut *out, &memberships, args.numeric_hosts(), names);
        if !delivered(written)? {
            return Ok(false);
        }
    }
    let unix_only = NetstatOptions {
        inet: false,
        unix: plan.unix_table,
        ..options
    };
    let written = sockets::write_netstat(&mut *out, &records, &unix_only, names);
    delivered(written.and_then(|()| out.flush()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: NetstatArgs,
    }

    fn parse(words: &[&str]) -> NetstatArgs {
        let argv = std::iter::once("netstat").chain(words.iter().copied());
        Cli::try_parse_from(argv).expect("valid options").args
    }

    fn plan(words: &[&str]) -> SocketPlan {
        let args = parse(words);
        let families = args.families().expect("valid families");
        SocketPlan::new(&args, &families)
    }

    #[test]
    fn default_lists_everything() {
        let p = plan(&[]);
        assert!(p.tcp && p.udp && p.raw && p.ipv4 && p.ipv6);
        assert!(p.inet_table && p.unix_table && !p.groups);
    }

    #[test]
    fn protocols_and_families_combine_as_in_netstat() {
        let p = plan(&["-t"]);
        assert!(p.tcp && !p.udp && p.ipv4 && p.ipv6 && p.inet_table && !p.unix_table);
        let p = plan(&["-6"]);
        assert!(p.tcp && p.udp && p.raw && !p.ipv4 && p.ipv6 && !p.unix_table);
        let p = plan(&["-x"]);
        assert!(!p.inet_table && p.unix_table);
        let p = plan(&["-A", "inet,unix"]);
        assert!(p.inet_table && p.ipv4 && !p.ipv6 && p.unix_table);
        let p = plan(&["-g"]);
        assert!(p.groups && p.ipv4 && p.ipv6 && !p.inet_table && !p.unix_table);
        let p = plan(&["-g", "-4", "-u"]);
        assert!(p.groups && p.ipv4 && !p.ipv6 && p.udp && !p.tcp && p.inet_table);
    }

    #[test]
    fn selection_fetches_all_states_of_the_planned_tables() {
        let selection = plan(&["-tu", "-4"]).selection().expect("valid");
        assert_eq!(
            selection.tables.iter().copied().collect::<Vec<_>>(),
            [Netid::Tcp, Netid::Udp]
        );
        assert_eq!(
            selection.families.iter().copied().collect::<Vec<_>>(),
            [Family::Inet]
        );
        assert_eq!(selection.states, sockwatch::select::SS_ALL);
    }

    #[test]
    fn family_names() {
        let args = parse(&["-A", "ip6,tcpip", "-x"]);
        assert_eq!(
            args.families(),
            Ok(vec![
                AddressFamily::Inet6,
                AddressFamily::Inet,
                AddressFamily::Unix
            ])
        );
        assert_eq!(
            parse(&["-A", "tcp"]).families(),
            Err("unknown address family `tcp'".into())
        );
        assert!(parse(&["-A", "ipx"])
            .families()
            .is_err_and(|e| e.contains("not supported")));
    }

    #[test]
    fn repeated_flags_and_counts() {
        let args = parse(&["-ee", "-tt", "--numeric-hosts"]);
        assert_eq!(args.extend, 2);
        assert!(args.tcp && args.numeric_hosts() && !args.numeric_ports);
        assert!(parse(&["-M"]).unsupported_option().is_some());
        assert!(parse(&["-rC"]).unsupported_option().is_some());
        assert!(parse(&["-rF"]).unsupported_option().is_none());
    }
}
