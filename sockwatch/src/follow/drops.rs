//! Listen-queue drops, per listener. No hook sees them on recent kernels: a SYN refused at a
//! full queue is counted by tcp_listendrop (the listener's sk_drops, nstat's ListenDrops) and
//! freed through consume_skb, which skb:kfree_skb does not see. So follow polls each
//! listener's drop counter (sock_diag's SK_MEMINFO_DROPS, `ss -m`'s `d<N>`) and reports a rise
//! as a DROP event: a count per listener, without client addresses. Which queue overflowed
//! comes from the namespace's counters over the same interval: TcpExt ListenOverflows (accept
//! queue full) or TCPReqQFullDrop (SYN queue full).

use std::{collections::HashMap, net::SocketAddr};

use sockwatch_common::{
    drop_reason, event_kind,
    family::{AF_INET, AF_INET6},
    SockEvent,
};

use crate::{
    model::{Netid, SockState},
    source::{self, snmp::ProtocolCounters, Extensions, IpVersions, Query, SourceError, StateMask},
};

/// The last drop counts seen, by listener cookie, and the namespace's queue counters.
#[derive(Debug, Default)]
pub struct DropWatch {
    drops: HashMap<u64, u32>,
    queue_counters: (i128, i128),
    /// What the last poll's queue counters rose by and no listener's rise claimed: a drop
    /// counted after the listing shows in its listener's counter only at the next poll.
    unclaimed: (i128, i128),
}

/// One listener as the poll sees it.
struct Listener {
    cookie: u64,
    local: SocketAddr,
    drops: u32,
}

fn listeners() -> Result<Vec<Listener>, SourceError> {
    let query = Query::new(
        [Netid::Tcp],
        IpVersions::BOTH,
        StateMask(1 << SockState::Listen.kernel()),
        Extensions {
            memory: true,
            ..Extensions::default()
        },
    );
    let mut found = Vec::new();
    source::snapshot(&query, |record| {
        if let (Some(local), Some(meminfo)) = (record.local.socket_addr(), record.meminfo) {
            found.push(Listener {
                cookie: record.cookie.0,
                local,
                drops: meminfo.drops,
            });
        }
    })?;
    Ok(found)
}

/// TcpExt ListenOverflows and TCPReqQFullDrop of this namespace (0 when unreadable).
fn queue_counters() -> (i128, i128) {
    // Both are TcpExt counters: /proc/net/netstat alone (this runs five times a second).
    let netstat = ProtocolCounters::read_netstat().unwrap_or_default();
    let value = |name: &str| {
        netstat
            .iter()
            .filter(|section| section.name == "TcpExt")
            .flat_map(|section| &section.counters)
            .find(|counter| counter.name == name)
            .map_or(0, |counter| counter.value)
    };
    (value("ListenOverflows"), value("TCPReqQFullDrop"))
}

impl DropWatch {
    /// Starts from the counts listeners have now: drops before follow started are not news.
    pub fn start() -> Result<DropWatch, SourceError> {
        let mut watch = DropWatch::default();
        watch.poll(0, 0)?;
        watch.unclaimed = (0, 0);
        Ok(watch)
    }

    /// DROP events for the listeners whose drop counter rose since the last poll.
    pub fn poll(&mut self, now_ns: u64, netns: u32) -> Result<Vec<SockEvent>, SourceError> {
        // Listed first: every drop a listing shows is then in the counters read after it.
        let listed = listeners()?;
        let queues = queue_counters();
        let fresh = (
            queues.0 - self.queue_counters.0,
            queues.1 - self.queue_counters.1,
        );
        self.queue_counters = queues;
        let mut available = (self.unclaimed.0 + fresh.0, self.unclaimed.1 + fresh.1);
        let mut events = Vec::new();
        let mut seen = HashMap::with_capacity(self.drops.len());
        for listener in listed {
            seen.insert(listener.cookie, listener.drops);
            // A listener first seen after the start was born since: all its drops are new.
            let before = self.drops.get(&listener.cookie).copied().unwrap_or(0);
            let risen = listener.drops.saturating_sub(before);
            if risen > 0 {
                let reason = claim(&mut available, risen);
                events.push(drop_event(&listener, risen, reason, now_ns, netns));
            }
        }
        self.drops = seen;
        // Only this poll's rise carries over: older counts belong to listeners long gone.
        self.unclaimed = (
            available.0.min(fresh.0).max(0),
            available.1.min(fresh.1).max(0),
        );
        Ok(events)
    }
}

/// Why a listener dropped `count`: a full accept queue when the namespace's overflow count
/// rose by more than other listeners claimed, else a full SYN queue likewise, else other.
/// Claims what it names.
fn claim(available: &mut (i128, i128), count: u32) -> u16 {
    let count = i128::from(count);
    if available.0 > 0 {
        available.0 -= count;
        drop_reason::LISTEN_OVERFLOW
    } else if available.1 > 0 {
        available.1 -= count;
        drop_reason::SYN_QUEUE_OVERFLOW
    } else {
        drop_reason::OTHER
    }
}

fn drop_event(listener: &Listener, count: u32, reason: u16, now_ns: u64, netns: u32) -> SockEvent {
    let listen = SockState::Listen.kernel();
    let mut event = SockEvent {
        ts_ns: now_ns,
        cookie: listener.cookie,
        kind: event_kind::DROP,
        old_state: listen,
        new_state: listen,
        sport: listener.local.port(),
        netns,
        bytes_acked: count.into(),
        reason_flags: reason,
        ..SockEvent::default()
    };
    match listener.local {
        SocketAddr::V4(v4) => {
            event.family = AF_INET;
            event.saddr[..4].copy_from_slice(&v4.ip().octets());
        }
        SocketAddr::V6(v6) => {
            event.family = AF_INET6;
            event.saddr = v6.ip().octets();
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rise_takes_the_reason_of_the_queue_counts_not_yet_claimed() {
        let mut available = (3, 2);
        assert_eq!(claim(&mut available, 2), drop_reason::LISTEN_OVERFLOW);
        assert_eq!(claim(&mut available, 2), drop_reason::LISTEN_OVERFLOW);
        assert_eq!(claim(&mut available, 1), drop_reason::SYN_QUEUE_OVERFLOW);
        assert_eq!(claim(&mut available, 5), drop_reason::SYN_QUEUE_OVERFLOW);
        assert_eq!(claim(&mut available, 1), drop_reason::OTHER);
    }
}
