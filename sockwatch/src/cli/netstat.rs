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
    procs,
    render::{
        netstat::{self as sockets, NetstatOptions, SystemNames},
        netstat_groups, netstat_iface,
        netstat_route::{self, RouteOptions},
        netstat_stats::{self, StatsFamily, StatsFilter},
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
            Mode::Interfaces { all, details } => interface_table(*all, *details, first, &mut out)?,
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
            netstat_iface::write_interface_details(&mut *out, &listed, &inet6)
        } else {
            netstat_iface::write_interface_table(&mut *out, &listed)
        }
    });
    delivered(written.and_then(|()| out.flush()))
}

fn socket_tables(
    plan: &SocketPlan,
    options: &NetstatOptions,
    names: &SystemNames,
    out: &mut impl Write,
) -> Result<bool, String> {
    let mut records = if plan.inet_table || plan.unix_table {
        let selection = plan.selection()?;
        source::selected_records(&selection, Extensions::default(), |_| true)
            .map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    if options.programs {
        procs::attach_users(&mut records).map_err(|e| e.to_string())?;
    }
    // netstat's order: internet sockets, then group memberships, then unix sockets.
    if !delivered(sockets::write_netstat(&mut *out, &records, options, names))? {
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
            netstat_groups::write_groups(&mut *out, &memberships, options.numeric_hosts, names);
        if !delivered(written)? {
            return Ok(false);
        }
    }
    let unix_only = NetstatOptions {
        inet: false,
        unix: plan.unix_table,
        ..options.clone()
    };
    let written = sockets::write_netstat(&mut *out, &records, &unix_only, names);
    delivered(written.and_then(|()| out.flush()))
}
