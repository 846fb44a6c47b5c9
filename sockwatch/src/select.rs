//! Which socket tables, families and states a snapshot shows, from ss's selection options
//! (-t -u -d -w -x -S -M -0 -4 -6 -f -A -a -l and the leading `state`/`exclude` words), with
//! ss's defaults and merging rules.

use std::collections::BTreeSet;

use thiserror::Error;

pub use crate::filter::{SS_ALL, SS_CONN};
pub use crate::model::Family;
use crate::model::{Netid, SockState};

const fn bit(state: SockState) -> u32 {
    1 << state as u32
}

const FAMILIES: [Family; 8] = [
    Family::Inet,
    Family::Inet6,
    Family::Unix,
    Family::Packet,
    Family::Netlink,
    Family::Vsock,
    Family::Tipc,
    Family::Xdp,
];

/// ss's TIPC_SS_CONN: the states a tipc socket is listed in by default.
const TIPC_CONN: u32 = bit(SockState::Established) | bit(SockState::Listen) | bit(SockState::Close);

impl Family {
    /// ss's `-f` names, in its `--help` order: what `-f` accepts and what the shell
    /// completions offer.
    pub const NAMES: [(&'static str, Family); 8] = [
        ("inet", Family::Inet),
        ("inet6", Family::Inet6),
        ("link", Family::Packet),
        ("unix", Family::Unix),
        ("netlink", Family::Netlink),
        ("vsock", Family::Vsock),
        ("tipc", Family::Tipc),
        ("xdp", Family::Xdp),
    ];

    /// A `-f` name.
    pub fn parse(name: &str) -> Result<Family, SelectError> {
        Family::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(_, family)| family)
            .ok_or_else(|| SelectError::Family(name.into()))
    }

    fn tables(self) -> &'static [Netid] {
        const INET: &[Netid] = &[
            Netid::Udp,
            Netid::Dccp,
            Netid::Tcp,
            Netid::Mptcp,
            Netid::Sctp,
            Netid::Raw,
        ];
        match self {
            Family::Inet | Family::Inet6 => INET,
            Family::Unix => &[Netid::UnixStream, Netid::UnixDgram, Netid::UnixSeqpacket],
            Family::Packet => &[Netid::PacketRaw, Netid::PacketDgram],
            Family::Netlink => &[Netid::Netlink],
            Family::Vsock => &[Netid::VsockStream, Netid::VsockDgram],
            Family::Tipc => &[Netid::Tipc],
            Family::Xdp => &[Netid::Xdp],
        }
    }

    fn default_states(self) -> u32 {
        match self {
            Family::Packet | Family::Netlink | Family::Xdp => bit(SockState::Close),
            Family::Tipc => TIPC_CONN,
            _ => SS_CONN,
        }
    }
}

fn table_families(netid: Netid) -> &'static [Family] {
    if netid.is_inet() {
        &[Family::Inet, Family::Inet6]
    } else if netid.is_unix() {
        &[Family::Unix]
    } else if netid.is_packet() {
        &[Family::Packet]
    } else {
        match netid {
            Netid::VsockStream | Netid::VsockDgram | Netid::VsockOther => &[Family::Vsock],
            Netid::Tipc => &[Family::Tipc],
            Netid::Xdp => &[Family::Xdp],
            _ => &[Family::Netlink],
        }
    }
}

fn table_default_states(netid: Netid) -> u32 {
    match netid {
        Netid::Udp | Netid::Raw => bit(SockState::Established),
        Netid::UnixDgram | Netid::PacketRaw | Netid::PacketDgram | Netid::Netlink | Netid::Xdp => {
            bit(SockState::Close)
        }
        Netid::Tipc => TIPC_CONN,
        _ => SS_CONN,
    }
}

/// The `-A` names ss accepts (aliases after their long name) and the tables each stands
/// for: what `-A` parses and what the shell completions offer.
pub const QUERY_NAMES: [(&str, &[Netid]); 28] = {
    use Netid::*;
    [
        (
            "all",
            &[
                Udp,
                Dccp,
                Tcp,
                Mptcp,
                Raw,
                UnixStream,
                UnixDgram,
                UnixSeqpacket,
                PacketRaw,
                PacketDgram,
                Netlink,
                Sctp,
                VsockStream,
                VsockDgram,
                Xdp,
            ],
        ),
        ("inet", &[Udp, Dccp, Tcp, Mptcp, Sctp, Raw]),
        ("udp", &[Udp]),
        ("dccp", &[Dccp]),
        ("tcp", &[Tcp]),
        ("mptcp", &[Mptcp]),
        ("sctp", &[Sctp]),
        ("raw", &[Raw]),
        ("unix", &[UnixStream, UnixDgram, UnixSeqpacket]),
        ("unix_stream", &[UnixStream]),
        ("u_str", &[UnixStream]),
        ("unix_dgram", &[UnixDgram]),
        ("u_dgr", &[UnixDgram]),
        ("unix_seqpacket", &[UnixSeqpacket]),
        ("u_seq", &[UnixSeqpacket]),
        ("packet", &[PacketRaw, PacketDgram]),
        ("packet_raw", &[PacketRaw]),
        ("p_raw", &[PacketRaw]),
        ("packet_dgram", &[PacketDgram]),
        ("p_dgr", &[PacketDgram]),
        ("netlink", &[Netlink]),
        ("tipc", &[Tipc]),
        ("vsock", &[VsockStream, VsockDgram]),
        ("vsock_stream", &[VsockStream]),
        ("v_str", &[VsockStream]),
        ("vsock_dgram", &[VsockDgram]),
        ("v_dgr", &[VsockDgram]),
        ("xdp", &[Xdp]),
    ]
};

/// The tables an `-A` name stands for.
fn query_tables(name: &str) -> Result<&'static [Netid], SelectError> {
    QUERY_NAMES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, tables)| tables)
        .ok_or_else(|| SelectError::Query(name.into()))
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("\"{0}\" is invalid family")]
    Family(String),
    #[error("\"{0}\" is illegal socket table id")]
    Query(String),
}

/// ss's selection options, as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectOptions {
    /// Tables named by -t -u -d -w -x -S -M, in order.
    pub tables: Vec<Netid>,
    /// Families named by -4 -6 -0 -f.
    pub families: Vec<Family>,
    /// -A arguments, each a comma-separated list (a leading `!` removes).
    pub queries: Vec<String>,
    /// -a
    pub all: bool,
    /// -l
    pub listening: bool,
    /// States from the leading `state`/`exclude` words, when any were given.
    pub states: Option<u32>,
}

/// What to fetch and show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub tables: BTreeSet<Netid>,
    pub families: BTreeSet<Family>,
    /// Bit n: kernel state n.
    pub states: u32,
}

impl Selection {
    /// Applies ss's rules: explicit tables and families add their default states unless -a,
    /// -l or state words set them; no table or family at all means every table in the
    /// connected states; tables pull in their families and families their tables.
    pub fn from_options(options: &SelectOptions) -> Result<Selection, SelectError> {
        let mut tables = BTreeSet::new();
        let mut families = BTreeSet::new();
        let mut states = 0u32;
        let mut explicit = false;
        let mut state_filter = if options.all {
            SS_ALL
        } else if options.listening {
            bit(SockState::Listen) | bit(SockState::Close)
        } else {
            0
        };
        for &table in &options.tables {
            states |= table_default_states(table);
            tables.insert(table);
            explicit = true;
        }
        for &family in &options.families {
            states |= family.default_states();
            families.insert(family);
            explicit = true;
        }
        if !options.queries.is_empty() {
            // The first -A replaces the tables chosen so far.
            tables.clear();
            if state_filter == 0 {
                state_filter = SS_CONN;
            }
            explicit = true;
            for list in &options.queries {
                for name in list.split(',') {
                    let (enable, name) = match name.strip_prefix('!') {
                        Some(rest) => (false, rest),
                        None => (true, name),
                    };
                    for &table in query_tables(name)? {
                        if enable {
                            states |= table_default_states(table);
                            tables.insert(table);
                        } else {
                            tables.remove(&table);
                        }
                    }
                }
            }
        }
        if let Some(words) = options.states {
            state_filter = words;
        }
        if !explicit {
            if state_filter == 0 {
                state_filter = SS_CONN;
            }
            for &table in query_tables("all")? {
                states |= table_default_states(table);
                tables.insert(table);
            }
        }
        if state_filter != 0 {
            states = state_filter;
        }
        // Tables pull in their families, families their tables (ss's filter_merge_defaults).
        for &table in &tables.clone() {
            let own = table_families(table);
            if !own.iter().any(|f| families.contains(f)) {
                families.extend(own.iter().copied());
            }
        }
        for family in FAMILIES {
            if families.contains(&family) && !family.tables().iter().any(|t| tables.contains(t)) {
                tables.extend(family.tables().iter().copied());
            }
        }
        Ok(Selection {
            tables,
            families,
            states,
        })
    }

    /// Whether ss would print the Netid column: more than one table selected.
    pub fn shows_netid(&self) -> bool {
        self.tables.len() > 1
    }

    /// Whether ss would print the State column: more than one state selected.
    pub fn shows_state(&self) -> bool {
        self.states.count_ones() > 1
    }

    pub fn wants_state(&self, state: SockState) -> bool {
        self.states & (1 << state as u32) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(options: SelectOptions) -> Selection {
        Selection::from_options(&options).expect("valid options")
    }

    #[test]
    fn tcp_alone_is_connected_tcp_over_both_ip_families() {
        let s = select(SelectOptions {
            tables: vec![Netid::Tcp],
            ..Default::default()
        });
        assert_eq!(s.tables, BTreeSet::from([Netid::Tcp]));
        assert_eq!(s.families, BTreeSet::from([Family::Inet, Family::Inet6]));
        assert_eq!(s.states, SS_CONN);
        assert!(!s.shows_netid());
        assert!(s.shows_state());
    }

    #[test]
    fn udp_default_is_established_only() {
        let s = select(SelectOptions {
            tables: vec![Netid::Udp],
            ..Default::default()
        });
        assert_eq!(s.states, bit(SockState::Established));
        assert!(!s.shows_state());
    }

    #[test]
    fn no_option_selects_every_table() {
        let s = select(SelectOptions::default());
        assert!(s.tables.contains(&Netid::Netlink));
        assert!(s.tables.contains(&Netid::UnixDgram));
        assert_eq!(s.states, SS_CONN);
    }

    #[test]
    fn listening_and_all() {
        let l = select(SelectOptions {
            tables: vec![Netid::Tcp],
            listening: true,
            ..Default::default()
        });
        assert_eq!(l.states, bit(SockState::Listen) | bit(SockState::Close));
        let a = select(SelectOptions {
            tables: vec![Netid::Tcp],
            all: true,
            ..Default::default()
        });
        assert_eq!(a.states, SS_ALL);
    }

    #[test]
    fn family_pulls_in_its_tables() {
        let s = select(SelectOptions {
            families: vec![Family::Inet],
            ..Default::default()
        });
        assert!(s.tables.contains(&Netid::Tcp) && s.tables.contains(&Netid::Udp));
        assert_eq!(s.families, BTreeSet::from([Family::Inet]));
        let s = select(SelectOptions {
            tables: vec![Netid::Tcp],
            families: vec![Family::Inet6],
            ..Default::default()
        });
        assert_eq!(s.families, BTreeSet::from([Family::Inet6]));
        assert_eq!(s.tables, BTreeSet::from([Netid::Tcp]));
    }

    #[test]
    fn query_lists_with_negation() {
        let s = select(SelectOptions {
            queries: vec!["inet,!udp".into()],
            ..Default::default()
        });
        assert!(s.tables.contains(&Netid::Tcp));
        assert!(!s.tables.contains(&Netid::Udp));
        assert_eq!(
            Selection::from_options(&SelectOptions {
                queries: vec!["bogus".into()],
                ..Default::default()
            }),
            Err(SelectError::Query("bogus".into()))
        );
        assert_eq!(
            Family::parse("nope"),
            Err(SelectError::Family("nope".into()))
        );
    }

    #[test]
    fn vsock_tipc_xdp_as_ss_selects_them() {
        let vsock = select(SelectOptions {
            families: vec![Family::Vsock],
            ..Default::default()
        });
        assert_eq!(
            vsock.tables,
            BTreeSet::from([Netid::VsockStream, Netid::VsockDgram])
        );
        assert!(vsock.shows_netid() && vsock.shows_state());
        let xdp = select(SelectOptions {
            families: vec![Family::Xdp],
            ..Default::default()
        });
        assert!(!xdp.shows_netid() && !xdp.shows_state());
        let tipc = select(SelectOptions {
            families: vec![Family::Tipc],
            ..Default::default()
        });
        assert_eq!(tipc.states, TIPC_CONN);
        // -A starts from the connected states whatever the table's own defaults.
        let queried = select(SelectOptions {
            queries: vec!["xdp".into()],
            ..Default::default()
        });
        assert_eq!(queried.tables, BTreeSet::from([Netid::Xdp]));
        assert!(queried.shows_state());
        // ss's "all" has vsock and xdp but not tipc.
        let all = select(SelectOptions::default());
        assert!(all.tables.contains(&Netid::Xdp) && !all.tables.contains(&Netid::Tipc));
        assert_eq!(Family::parse("vsock"), Ok(Family::Vsock));
    }

    #[test]
    fn state_words_win() {
        let s = select(SelectOptions {
            tables: vec![Netid::Tcp],
            all: true,
            states: Some(bit(SockState::TimeWait)),
            ..Default::default()
        });
        assert_eq!(s.states, bit(SockState::TimeWait));
        assert!(!s.shows_state());
    }
}
