//! `sockwatch netstat`: netstat(8)'s command line (net-tools 2.10) over sockwatch's sources:
//! sockets through the same selection and sock_diag snapshot as `snapshot`, counters,
//! interfaces, routes and multicast groups from their /proc files and ioctls.

use std::{
    io::{self, BufWriter, Write},
    process::ExitCode,
    thread,
    time::Duration,
};

use sockwatch::{
    procs::{OwnersScan, Unseen},
    render::netstat::{
        groups as netstat_groups, iface as netstat_iface,
        route::{self as netstat_route, RouteOptions},
        stats::{self as netstat_stats, StatsFamily, StatsFilter},
        NetstatOptions, SocketTables, SystemNames, INET_ORDER,
    },
    source::{self, groups, interfaces, routes, snmp::ProtocolCounters, Extensions},
};

use super::{
    args::AddressFamily,
    config::netstat::{Mode, NetstatConfig, SocketPlan},
};

pub fn run(config: NetstatConfig) -> Result<ExitCode, String> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let names = SystemNames::new();
    let mut first = true;
    loop {
        let written = match &config.mode {
            // The counters once, whatever -c says (as netstat -s does).
            Mode::Statistics {
                family,
                filter,
                json,
            } => return statistics(*family, *filter, *json, &mut out).map(|()| ExitCode::SUCCESS),
            Mode::Routes { families, options } => {
                route_tables(families, *options, &names, &mut out)?
            }
            Mode::Interfaces {
                all,
                details,
                escape,
            } => interface_table(*all, *details, *escape, first, &mut out)?,
            Mode::Sockets { plan, options } => socket_tables(plan, options, &names, &mut out)?,
        };
        if !written || !config.continuous {
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
    family: StatsFamily,
    filter: StatsFilter,
    json: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let counters = ProtocolCounters::read().map_err(|e| e.to_string())?;
    if family == StatsFamily::Inet6 && counters.snmp6.is_none() {
        return Err("cannot read /proc/net/snmp6: IPv6 is disabled".into());
    }
    let written = if json {
        netstat_stats::write_stats_json(&mut *out, &counters, family, filter)
    } else {
        netstat_stats::write_stats(&mut *out, &counters, family, filter)
    };
    delivered(written.and_then(|()| out.flush())).map(drop)
}

fn route_tables(
    families: &[AddressFamily],
    options: RouteOptions,
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
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

fn interface_table(
    all: bool,
    details: bool,
    escape: bool,
    first: bool,
    out: &mut impl Write,
) -> Result<bool, String> {
    let list = interfaces::interfaces().map_err(|e| e.to_string())?;
    let listed: Vec<&interfaces::Interface> = list
        .iter()
        .filter(|interface| netstat_iface::is_listed(interface, all))
        .collect();
    let inet6 = if details {
        interfaces::inet6_addresses().map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    // The title comes once, however often -c repeats the table.
    let title = if first { netstat_iface::TITLE } else { "" };
    let written = out.write_all(title.as_bytes()).and_then(|()| {
        if details {
            netstat_iface::write_interface_details(&mut *out, &listed, &inet6, escape)
        } else {
            netstat_iface::write_interface_table(&mut *out, &listed, escape)
        }
    });
    delivered(written.and_then(|()| out.flush()))
}

/// The socket tables as netstat prints them: the internet table streams (each protocol is
/// fetched in netstat's order and every record written as it comes, so memory does not grow
/// with the number of sockets); the unix table needs all unix sockets at once.
fn socket_tables(
    plan: &SocketPlan,
    options: &NetstatOptions,
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
    let tables = SocketTables::new(options, names);
    thread::scope(|scope| {
        // -p's /proc scan runs while the first dump does.
        let mut owners = OwnersScan::start(options.programs, scope);
        if plan.inet_table {
            if !delivered(tables.write_inet_header(&mut *out))? {
                return Ok(false);
            }
            for netid in INET_ORDER {
                let Some(selection) = plan.inet_selection(netid)? else {
                    continue;
                };
                let mut failed = None;
                let query = source::query_for(&selection, Extensions::default());
                source::snapshot(&query, |mut record| {
                    if failed.is_none() && selection.wants_state(record.state) {
                        owners.attach(&mut record);
                        failed = tables.write_inet_record(&mut *out, &record).err();
                    }
                })
                .map_err(|e| e.to_string())?;
                if let Some(err) = failed {
                    return delivered(Err(err));
                }
            }
        }
        // netstat's order: internet sockets, then group memberships, then unix sockets.
        if plan.groups && !group_table(plan, options.numeric_hosts, names, out)? {
            return Ok(false);
        }
        if let Some(selection) = plan.unix_selection()? {
            let mut records = source::selected_records(&selection, Extensions::default(), |_| true)
                .map_err(|e| e.to_string())?;
            for record in &mut records {
                owners.attach(record);
            }
            if !delivered(tables.write_unix(&mut *out, &records))? {
                return Ok(false);
            }
        }
        // net-tools' own words on stderr, so a script that expects them finds them.
        match owners.check().map_err(|e| e.to_string())? {
            Unseen::Nothing => {}
            Unseen::SomeProcesses => eprintln!(
                "(Not all processes could be identified, non-owned process info\n \
                 will not be shown, you would have to be root to see it all.)"
            ),
            Unseen::Everything => eprintln!(
                "(No info could be read for \"-p\": geteuid()={} but you should be root.)",
                // SAFETY: geteuid cannot fail.
                unsafe { libc::geteuid() }
            ),
        }
        delivered(out.flush())
    })
}

/// -g's table of multicast group memberships.
fn group_table(
    plan: &SocketPlan,
    numeric_hosts: bool,
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
    let mut memberships = Vec::new();
    if plan.ipv4 {
        memberships.extend(groups::ipv4_memberships().map_err(|e| e.to_string())?);
    }
    if plan.ipv6 {
        memberships.extend(groups::ipv6_memberships().map_err(|e| e.to_string())?);
    }
    delivered(netstat_groups::write_groups(
        &mut *out,
        &memberships,
        numeric_hosts,
        names,
    ))
}
