//! One TCP socket of top's listing: what a frame uses of a sock_diag record, about a tenth of
//! its size. A listing of 10,000 sockets is then a megabyte rather than ten, which every
//! refresh would fill, move, read and free.

use std::net::SocketAddr;

use super::frame::Process;
use crate::model::{Cookie, Endpoint, Netid, SockState, SocketRecord};

/// A connection's tcp_info counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bytes received (tcpi_bytes_received).
    pub rx: u64,
    /// Bytes sent and acknowledged (tcpi_bytes_acked).
    pub tx: u64,
    pub retrans: u32,
}

impl Counters {
    /// What happened between `before` and `self` (counters only grow within a connection).
    pub fn since(self, before: Counters) -> Counters {
        Counters {
            rx: self.rx.saturating_sub(before.rx),
            tx: self.tx.saturating_sub(before.tx),
            retrans: self.retrans.saturating_sub(before.retrans),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub cookie: Cookie,
    pub state: SockState,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub inode: u64,
    /// None when the kernel sent no tcp_info (request sockets, TIME-WAIT).
    pub counters: Option<Counters>,
    /// Smoothed RTT in µs (with the counters).
    pub rtt_us: Option<u32>,
    /// The process /proc named for the socket.
    pub owner: Option<Process>,
    /// The whole record, kept only while a filter decides what is shown: it may test any
    /// of the record's fields.
    pub record: Option<Box<SocketRecord>>,
}

impl Listed {
    /// The socket of `record` (None unless both ends are inet ones, as TCP's are); `keep`:
    /// whether to keep the whole record, for a filter.
    pub fn from_record(record: SocketRecord, keep: bool) -> Option<Listed> {
        let info = record.tcp.as_ref().and_then(|tcp| tcp.info.as_ref());
        Some(Listed {
            cookie: record.cookie,
            state: record.state,
            local: record.local.socket_addr()?,
            peer: record.peer.socket_addr()?,
            inode: record.inode,
            counters: info.map(|info| Counters {
                rx: info.bytes_received,
                tx: info.bytes_acked,
                retrans: info.total_retrans,
            }),
            rtt_us: info.map(|info| info.rtt),
            owner: record.users.first().map(|user| Process {
                pid: user.pid,
                comm: user.comm[..].into(),
            }),
            record: keep.then(|| Box::new(record)),
        })
    }

    /// The record a filter tests: the kept one, else one of what the listing kept (ends,
    /// state, cookie, inode).
    pub fn record(&self) -> std::borrow::Cow<'_, SocketRecord> {
        match &self.record {
            Some(record) => std::borrow::Cow::Borrowed(record),
            None => {
                let mut record = SocketRecord::new(
                    Netid::Tcp,
                    self.state,
                    Endpoint::inet(self.local),
                    Endpoint::inet(self.peer),
                );
                record.cookie = self.cookie;
                record.inode = self.inode;
                std::borrow::Cow::Owned(record)
            }
        }
    }
}
