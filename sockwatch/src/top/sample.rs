//! top's listing of the TCP sockets (sock_diag with tcp_info), with their owners from a /proc
//! scan that runs only when sockets with unknown owners appear, and at most every few seconds.
//! (Connections that end between two listings get their owners from their DESTROY events.)

use std::collections::{HashMap, HashSet};

use crate::{
    model::{Netid, SocketRecord, SocketUser},
    procs::SocketOwners,
    source::{snapshot, Extensions, IpVersions, Query, SourceError, StateMask},
};

/// The shortest time between two /proc scans (ns): one costs a readlink per open fd.
const RESCAN_NS: u64 = 5_000_000_000;

pub struct Sampler {
    query: Query,
    /// Owners by socket inode, from the last scan.
    owners: HashMap<u64, SocketUser>,
    last_scan_ns: Option<u64>,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            query: Query::new(
                [Netid::Tcp],
                IpVersions::BOTH,
                StateMask::ALL,
                Extensions {
                    tcp_info: true,
                    ..Extensions::default()
                },
            ),
            owners: HashMap::new(),
            last_scan_ns: None,
        }
    }
}

impl Sampler {
    /// Lists the TCP sockets now, owners attached where /proc named them.
    pub fn list(&mut self, now_ns: u64) -> Result<Vec<SocketRecord>, SourceError> {
        let mut records = Vec::new();
        snapshot(&self.query, |record| records.push(record))?;
        let unknown = records
            .iter()
            .any(|r| r.inode != 0 && !self.owners.contains_key(&r.inode));
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
                    .filter_map(|&inode| Some((inode, owners.users_of(inode).pop()?)))
                    .collect();
            }
        }
        let mut live = HashSet::with_capacity(records.len());
        for record in &mut records {
            live.insert(record.inode);
            if let Some(user) = self.owners.get(&record.inode) {
                record.users = vec![user.clone()];
            }
        }
        self.owners.retain(|inode, _| live.contains(inode));
        Ok(records)
    }
}
