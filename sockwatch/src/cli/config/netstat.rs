//! netstat's configuration: the parsed options resolved into one mode (sockets, routes,
//! interfaces or statistics) with everything it needs, before anything is read.

use sockwatch::{
    model::Netid,
    render::netstat::{
        route::{RouteColumns, RouteOptions},
        stats::{StatsFamily, StatsFilter},
        Listing, NetstatOptions,
    },
    select::{Family, SelectOptions, Selection},
};

use crate::cli::args::{AddressFamily, NetstatArgs};

/// Everything `sockwatch netstat` needs to run.
#[derive(Debug)]
pub struct NetstatConfig {
    pub mode: Mode,
    /// -c: repeat the listing every second.
    pub continuous: bool,
}

/// What netstat prints.
#[derive(Debug)]
pub enum Mode {
    /// The socket tables (and -g's group memberships between them).
    Sockets {
        plan: SocketPlan,
        /// The options of the internet table; the unix table takes the same.
        options: NetstatOptions,
    },
    /// -r: one routing table per family, in command-line order.
    Routes {
        families: Vec<AddressFamily>,
        options: RouteOptions,
    },
    /// -i.
    Interfaces {
        /// -a: interfaces that are down too.
        all: bool,
        /// -e: ifconfig's format.
        details: bool,
        /// Output is a terminal: names are escaped (raw in a pipe, as net-tools prints them).
        escape: bool,
    },
    /// -s.
    Statistics {
        family: StatsFamily,
        filter: StatsFilter,
        json: bool,
    },
}

impl NetstatConfig {
    pub fn new(args: &NetstatArgs) -> Result<NetstatConfig, String> {
        let families = args.checked_families()?;
        let mode = if args.statistics {
            statistics(args, &families)?
        } else if args.route {
            Mode::Routes {
                families: if families.is_empty() {
                    vec![AddressFamily::Inet]
                } else {
                    families
                },
                options: RouteOptions {
                    numeric: args.numeric_hosts(),
                    // netstat swaps the meaning of none and one -e for routes.
                    columns: match args.extend {
                        0 => RouteColumns::Mss,
                        1 => RouteColumns::Metric,
                        _ => RouteColumns::All,
                    },
                },
            }
        } else if args.interfaces {
            Mode::Interfaces {
                all: args.all,
                details: args.extend > 0,
                escape: std::io::IsTerminal::is_terminal(&std::io::stdout()),
            }
        } else {
            let plan = SocketPlan::new(args, &families);
            Mode::Sockets {
                plan,
                options: NetstatOptions {
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
                    escape: std::io::IsTerminal::is_terminal(&std::io::stdout()),
                },
            }
        };
        Ok(NetstatConfig {
            mode,
            continuous: args.continuous,
        })
    }
}

fn statistics(args: &NetstatArgs, families: &[AddressFamily]) -> Result<Mode, String> {
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
    Ok(Mode::Statistics {
        family,
        filter,
        json: args.json,
    })
}

/// What the socket listing shows, from netstat's rules for combining protocols and families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketPlan {
    pub tcp: bool,
    pub udp: bool,
    pub raw: bool,
    pub ipv4: bool,
    pub ipv6: bool,
    /// The "Active Internet connections" table.
    pub inet_table: bool,
    pub unix_table: bool,
    pub groups: bool,
}

impl SocketPlan {
    pub fn new(args: &NetstatArgs, families: &[AddressFamily]) -> SocketPlan {
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

    /// The sockets of one internet protocol to fetch for the internet table, in every state
    /// (netstat's -a/-l choice is the renderer's); None when the plan leaves it out.
    pub fn inet_selection(&self, netid: Netid) -> Result<Option<Selection>, String> {
        let wanted = match netid {
            Netid::Tcp => self.tcp,
            Netid::Udp => self.udp,
            Netid::Raw => self.raw,
            _ => false,
        };
        if !self.inet_table || !wanted {
            return Ok(None);
        }
        let families = [(self.ipv4, Family::Inet), (self.ipv6, Family::Inet6)]
            .into_iter()
            .filter_map(|(wanted, family)| wanted.then_some(family))
            .collect();
        every_state(vec![netid], families).map(Some)
    }

    /// The unix sockets to fetch for the unix table, in every state; None when the plan
    /// leaves the table out.
    pub fn unix_selection(&self) -> Result<Option<Selection>, String> {
        if !self.unix_table {
            return Ok(None);
        }
        let tables = vec![Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket];
        every_state(tables, vec![Family::Unix]).map(Some)
    }
}

fn every_state(tables: Vec<Netid>, families: Vec<Family>) -> Result<Selection, String> {
    Selection::from_options(&SelectOptions {
        tables,
        families,
        all: true,
        ..SelectOptions::default()
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::testing::parse_netstat as parse;

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
    fn selections_fetch_all_states_of_the_planned_tables() {
        let p = plan(&["-tu", "-4"]);
        let tcp = p
            .inet_selection(Netid::Tcp)
            .expect("valid")
            .expect("tcp planned");
        assert_eq!(tcp.tables.iter().copied().collect::<Vec<_>>(), [Netid::Tcp]);
        assert_eq!(
            tcp.families.iter().copied().collect::<Vec<_>>(),
            [Family::Inet]
        );
        assert_eq!(tcp.states, sockwatch::select::SS_ALL);
        assert!(p.inet_selection(Netid::Udp).expect("valid").is_some());
        assert!(p.inet_selection(Netid::Raw).expect("valid").is_none());
        assert!(p.unix_selection().expect("valid").is_none());
        let unix = plan(&["-x"])
            .unix_selection()
            .expect("valid")
            .expect("unix planned");
        assert_eq!(
            unix.families.iter().copied().collect::<Vec<_>>(),
            [Family::Unix]
        );
    }
}
