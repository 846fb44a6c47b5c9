//! top's listing of the TCP sockets (sock_diag with tcp_info), with their owners from a /proc
//! scan that runs only when sockets of unknown owner last (they are in two listings running),
//! and at most every few seconds: under churn, new sockets appear in every listing, but most
//! are gone by the next.
//! (Connections that end between two listings get their owners from their DESTROY events.)
//! TIME-WAIT sockets, churn's bulk (tens of thousands), are only counted unless the filter
//! may show them: the namespace's count in /proc/net/sockstat replaces their listing.

use std::collections::{HashMap, HashSet};

use sockwatch_common::{EndedFlow, EndedKey};

use super::{frame::Process, listed::Listed};
use crate::{
    ebpf::{EndedSums, LoadError},
    int_hash::IntHash,
    model::{Netid, SockState},
    procs::SocketOwners,
    source::{
        snapshot, sockstat::SockStats, Extensions, IpVersions, Query, SourceError, StateMask,
    },
};

/// The shortest time between two /proc scans (ns): one costs a readlink per open fd.
const RESCAN_NS: u64 = 5_000_000_000;

/// One listing of the TCP sockets.
pub struct Listing {
    pub records: Vec<Listed>,
    /// How many TIME-WAIT sockets the namespace has, when they were counted, not listed.
    pub time_wait: Option<u64>,
    /// The kernel's sums of the connections that began and ended since the listing before
    /// (none sent as events).
    pub ended: Vec<(EndedKey, EndedFlow)>,
}

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the kernel's sums of short connections: {0}")]
    Sums(#[from] LoadError),
}

pub struct Sampler {
    /// The TCP dump; its states are set at each listing.
    query: Query,
    /// Owners by socket inode, from the last scan.
    owners: HashMap<u64, Process, IntHash>,
    /// Inodes of the sockets of the last listing.
    listed: HashSet<u64, IntHash>,
    /// Inodes a scan looked for and found in no process's files (a process /proc does not
    /// show, or none): not looked for again while they last, as each scan would miss them
    /// again (a scan reads every open file of every process).
    unowned: HashSet<u64, IntHash>,
    last_scan_ns: Option<u64>,
    /// The kernel's sums of short connections, with the events (else every end is an event).
    sums: Option<EndedSums>,
    /// A listing's vector given back, emptied, for the next listing.
    spare: Vec<Listed>,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            // The counters alone: the congestion control's name and numbers would cost the
            // kernel a lookup and the dump bytes for every socket, and top shows neither.
            query: Query::new(
                [Netid::Tcp],
                IpVersions::BOTH,
                StateMask::ALL,
                Extensions {
                    tcp_counters: true,
                    ..Extensions::default()
                },
            ),
            owners: HashMap::default(),
            listed: HashSet::default(),
            unowned: HashSet::default(),
            last_scan_ns: None,
            sums: None,
            spare: Vec::new(),
        }
    }
}

impl Sampler {
    /// A sampler that also takes the kernel's sums of short connections at each listing.
    pub fn with_sums(sums: EndedSums) -> Sampler {
        Sampler {
            sums: Some(sums),
            ..Sampler::default()
        }
    }

    /// Takes back a listing's records once they are used: the next listing fills the same
    /// vector.
    pub fn give_back(&mut self, mut records: Vec<Listed>) {
        records.clear();
        self.spare = records;
    }

    /// Lists the TCP sockets in `states` (bit n: kernel state n) now, owners attached where
    /// /proc named them. `filtered`: whether a filter decides what is shown. Then TIME-WAIT
    /// sockets are listed (the filter may show or count them) and the kernel sums nothing
    /// (its sums keep no local address to filter on); else TIME-WAIT sockets are counted from
    /// /proc/net/sockstat (listed when it cannot be read). `after_dump` runs once the kernel's
    /// dump is read, before the rest (the /proc scan): the caller may lower its priority
    /// there.
    pub fn list(
        &mut self,
        now_ns: u64,
        states: u32,
        filtered: bool,
        after_dump: impl FnOnce(),
    ) -> Result<Listing, ListError> {
        let time_wait = match filtered {
            true => None,
            false => SockStats::read()
                .ok()
                .map(|stats| u64::try_from(stats.tcp_timewait).unwrap_or(0)),
        };
        let counted = match time_wait {
            Some(_) => 1 << SockState::TimeWait.kernel(),
            None => 0,
        };
        self.query.states = StateMask(states & !counted);
        let query = &self.query;
        // The last listing's vector when it came back (see [`Sampler::give_back`]): a
        // listing of 10,000 sockets is megabytes, which a new vector would take fresh pages
        // for at every refresh. Else about as many as last time: no regrowth copies.
        let mut records = std::mem::take(&mut self.spare);
        records.reserve(self.listed.len() + self.listed.len() / 8);
        // Only the dump itself sees sockets: the kernel sums the connections that begin and
        // end outside it, so the window stays as short as the dump.
        if let Some(sums) = &mut self.sums {
            sums.begin_listing(!filtered)?;
        }
        // A filter may test any field of a record: the records are kept whole then.
        let listed = snapshot(query, |record| {
            records.extend(Listed::from_record(record, filtered));
        });
        let ended = match &mut self.sums {
            Some(sums) => sums.end_listing()?,
            None => Vec::new(),
        };
        after_dump();
        listed?;
        let first = self.last_scan_ns.is_none();
        let unknown = records.iter().any(|r| {
            r.inode != 0
                && !self.owners.contains_key(&r.inode)
                && !self.unowned.contains(&r.inode)
                && (first || self.listed.contains(&r.inode))
        });
        let due = self
            .last_scan_ns
            .is_none_or(|last| now_ns.saturating_sub(last) >= RESCAN_NS);
        if unknown && due {
            self.last_scan_ns = Some(now_ns);
            let wanted: HashSet<u64> = records.iter().map(|r| r.inode).collect();
            // A failed scan leaves owners unknown (shown as such), as ss -p does.
            if let Ok(owners) = SocketOwners::scan(Some(&wanted)) {
                self.owners = wanted
                    .iter()
                    .filter_map(|&inode| {
                        let (pid, comm) = owners.oldest_user(inode)?;
                        let process = Process {
                            pid,
                            comm: comm.into(),
                        };
                        Some((inode, process))
                    })
                    .collect();
                self.unowned = wanted
                    .iter()
                    .copied()
                    .filter(|&inode| inode != 0 && !self.owners.contains_key(&inode))
                    .collect();
            }
        }
        let mut live = HashSet::with_capacity_and_hasher(records.len(), IntHash::default());
        for record in &mut records {
            live.insert(record.inode);
            if let Some(process) = self.owners.get(&record.inode) {
                record.owner = Some(process.clone());
            }
        }
        self.owners.retain(|inode, _| live.contains(inode));
        self.unowned.retain(|inode| live.contains(inode));
        self.listed = live;
        Ok(Listing {
            records,
            time_wait,
            ended,
        })
    }
}
