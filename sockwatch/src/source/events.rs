//! ss -E: the sockets the kernel destroys, as it announces them on sock_diag's multicast
//! groups (one a protocol and IP version), not by polling.

use std::{io, os::fd::AsRawFd};

use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};

use super::error::{DecodeError, SourceError, Target};
use super::inet;
use super::query::IpVersions;
use super::wire::{self, align4, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP};
use crate::model::{Netid, SocketRecord};

/// linux/sock_diag.h: SKNLGRP_INET_TCP_DESTROY, _INET_UDP_, _INET6_TCP_, _INET6_UDP_.
const SKNLGRP_INET_TCP_DESTROY: u32 = 1;
const SKNLGRP_INET_UDP_DESTROY: u32 = 2;
const SKNLGRP_INET6_TCP_DESTROY: u32 = 3;
const SKNLGRP_INET6_UDP_DESTROY: u32 = 4;
/// The attribute that names a destroyed socket's protocol.
const INET_DIAG_PROTOCOL: u16 = 10;
/// Inet sockets' attributes start after struct inet_diag_msg.
const INET_DIAG_MSG_LEN: usize = 72;
/// Room for one datagram: each carries one socket's message.
const RECV_BUFFER_LEN: usize = 64 << 10;

/// A subscription to the destroy announcements of TCP and/or UDP sockets.
pub struct DestroyEvents {
    socket: Socket,
    buffer: Vec<u8>,
    /// Announcements the kernel dropped because the socket's queue was full (ENOBUFS).
    pub lost_overflows: u64,
}

/// How long one wait lasts at most, so the caller notices signals and a closed output in
/// good time even when nothing is destroyed.
const WAIT_LIMIT: libc::timeval = libc::timeval {
    tv_sec: 0,
    tv_usec: 250_000,
};

/// What one wait for announcements gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    /// Sockets were handed to the sink (or the datagram held none).
    Delivered,
    /// Nothing came: the wait timed out or a signal interrupted it.
    Idle,
}

impl DestroyEvents {
    /// Subscribes, in the calling thread's network namespace; None when the selection has
    /// neither TCP nor UDP over a selected IP version (ss has no groups for other sockets).
    pub fn subscribe(
        tcp: bool,
        udp: bool,
        ip: IpVersions,
    ) -> Result<Option<DestroyEvents>, SourceError> {
        let groups = [
            (tcp && ip.v4, SKNLGRP_INET_TCP_DESTROY),
            (udp && ip.v4, SKNLGRP_INET_UDP_DESTROY),
            (tcp && ip.v6, SKNLGRP_INET6_TCP_DESTROY),
            (udp && ip.v6, SKNLGRP_INET6_UDP_DESTROY),
        ]
        .into_iter()
        .filter(|(wanted, _)| *wanted)
        .fold(0, |mask, (_, group)| mask | 1 << (group - 1));
        if groups == 0 {
            return Ok(None);
        }
        let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(SourceError::Open)?;
        socket
            .bind(&SocketAddr::new(0, groups))
            .map_err(|source| SourceError::Io {
                target: Target::Inet {
                    netid: Netid::Tcp,
                    v6: false,
                },
                op: "subscribe",
                source,
            })?;
        // SAFETY: SO_RCVTIMEO takes a timeval, passed with its size.
        let status = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&WAIT_LIMIT as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if status != 0 {
            return Err(SourceError::Open(io::Error::last_os_error()));
        }
        Ok(Some(DestroyEvents {
            socket,
            buffer: vec![0; RECV_BUFFER_LEN],
            lost_overflows: 0,
        }))
    }

    /// Waits for the next announcement datagram and hands its sockets to `sink`.
    pub fn wait(&mut self, sink: &mut impl FnMut(SocketRecord)) -> Result<Wait, SourceError> {
        let target = Target::Inet {
            netid: Netid::Tcp,
            v6: false,
        };
        let len = match self.socket.recv(&mut &mut self.buffer[..], 0) {
            Ok(len) => len.min(self.buffer.len()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Wait::Idle)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                self.lost_overflows += 1;
                return Ok(Wait::Delivered);
            }
            Err(source) => {
                return Err(SourceError::Io {
                    target,
                    op: "recv",
                    source,
                })
            }
        };
        for message in wire::messages(&self.buffer[..len]) {
            let message = message.map_err(|reason| SourceError::Malformed { target, reason })?;
            if matches!(message.kind, NLMSG_DONE | NLMSG_ERROR | NLMSG_NOOP) {
                continue;
            }
            let netid = protocol(message.payload)?;
            let target = Target::Inet { netid, v6: false };
            let record = inet::decode(message.payload, netid)
                .map_err(|reason| SourceError::Malformed { target, reason })?;
            sink(record);
        }
        Ok(Wait::Delivered)
    }
}

/// The destroyed socket's protocol, from its INET_DIAG_PROTOCOL attribute.
fn protocol(payload: &[u8]) -> Result<Netid, SourceError> {
    let target = Target::Inet {
        netid: Netid::Tcp,
        v6: false,
    };
    let malformed = |reason| SourceError::Malformed { target, reason };
    let attributes = payload.get(align4(INET_DIAG_MSG_LEN)..).ok_or_else(|| {
        malformed(DecodeError::Short {
            what: "inet_diag_msg",
            len: payload.len(),
            need: INET_DIAG_MSG_LEN,
        })
    })?;
    for attribute in wire::attributes(attributes) {
        let (kind, data) = attribute.map_err(malformed)?;
        if kind == INET_DIAG_PROTOCOL {
            return Ok(match data.first() {
                Some(&p) if i32::from(p) == libc::IPPROTO_UDP => Netid::Udp,
                _ => Netid::Tcp,
            });
        }
    }
    Ok(Netid::Tcp)
}
