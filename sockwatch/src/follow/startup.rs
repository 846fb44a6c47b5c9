//! Building the live table from sock_diag: at start-up (after the programs are attached, so
//! nothing that happens meanwhile is missed) and again after the kernel lost events.
//!
//! The sockets come back as [`SockEvent`]s of kind SNAPSHOT behind one REBUILD marker, so that
//! the live table, the recording and a replay all take the same path.

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
};

use sockwatch_common::{event_kind, SockEvent};

use crate::{
    model::{Endpoint, Netid, SockState, SocketRecord},
    procs::SocketOwners,
    source::{self, Extensions, IpVersions, Query, SourceError, StateMask},
};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Every full TCP socket of this network namespace, as SNAPSHOT events after a REBUILD marker,
/// stamped with `now_ns` (CLOCK_MONOTONIC). Owners come from /proc when it can be read;
/// a socket whose owner cannot be found is still listed.
pub fn table_events(now_ns: u64, netns: u32) -> Result<Vec<SockEvent>, SourceError> {
    let mini_sockets = [
        SockState::TimeWait,
        SockState::SynRecv,
        SockState::NewSynRecv,
    ]
    .iter()
    .fold(0, |mask, s| mask | 1 << s.kernel());
    let query = Query::new(
        [Netid::Tcp],
        IpVersions::BOTH,
        StateMask(!mini_sockets),
        Extensions::default(),
    );
    // Records become events as they stream in: a SocketRecord is several times an event's
    // size, and 100,000 of them need not be held at once.
    let mut events = vec![SockEvent {
        ts_ns: now_ns,
        kind: event_kind::REBUILD,
        netns,
        ..SockEvent::default()
    }];
    let mut inodes = Vec::new();
    source::snapshot(&query, |record| {
        if let Some(event) = snapshot_event(&record, now_ns, netns) {
            events.push(event);
            inodes.push(record.inode);
        }
    })?;
    // Attribution is best effort: a socket without a known owner is still in the table.
    let wanted: HashSet<u64> = inodes.iter().copied().collect();
    let owners = SocketOwners::scan(Some(&wanted)).unwrap_or_default();
    for (event, inode) in events[1..].iter_mut().zip(inodes) {
        // ss lists a shared socket's users newest pid first; the oldest is the likely owner.
        if let Some(user) = owners.users_of(inode).iter().min_by_key(|u| u.pid) {
            event.pid = user.pid;
            event.tid = user.pid;
            let name = user.comm.as_bytes();
            let len = name.len().min(event.comm.len() - 1);
            event.comm[..len].copy_from_slice(&name[..len]);
        }
    }
    Ok(events)
}

fn inet(endpoint: &Endpoint) -> Option<SocketAddr> {
    match endpoint {
        Endpoint::Inet { addr, port, .. } => Some(SocketAddr::new(*addr, *port)),
        _ => None,
    }
}

fn snapshot_event(record: &SocketRecord, now_ns: u64, netns: u32) -> Option<SockEvent> {
    // TIME-WAIT and request mini-sockets change state without events (they expire or become
    // a full socket with its own cookie): a table of them would only go stale.
    if matches!(
        record.state,
        SockState::Unknown | SockState::TimeWait | SockState::SynRecv | SockState::NewSynRecv
    ) {
        return None;
    }
    let (local, peer) = (inet(&record.local)?, inet(&record.peer)?);
    let mut event = SockEvent {
        ts_ns: now_ns,
        cookie: record.cookie.0,
        kind: event_kind::SNAPSHOT,
        // Request sockets are reported as SYN-RECV by sock_diag; keep the kernel's number.
        old_state: record.state.kernel(),
        new_state: record.state.kernel(),
        sport: local.port(),
        dport: peer.port(),
        netns,
        uid: record.uid,
        cgroup: record.cgroup_id.unwrap_or(0),
        ..SockEvent::default()
    };
    let put = |addr: IpAddr, out: &mut [u8; 16]| match addr {
        IpAddr::V4(v4) => {
            out[..4].copy_from_slice(&v4.octets());
            AF_INET
        }
        IpAddr::V6(v6) => {
            *out = v6.octets();
            AF_INET6
        }
    };
    event.family = put(local.ip(), &mut event.saddr);
    put(peer.ip(), &mut event.daddr);
    Some(event)
}
