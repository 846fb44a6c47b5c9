//! The NETLINK_SOCK_DIAG socket: send one dump request, then stream its reply messages to
//! a decoder as they arrive, until NLMSG_DONE.

use std::io::{self, Write};

use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket};

use super::error::{DecodeError, SourceError};
use super::request::Request;
use super::wire::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP};

/// Room for one datagram. The kernel fills dump datagrams up to 32 KiB (it caps its buffer
/// at that however large ours is); the slack covers single messages that are larger.
const RECV_BUFFER_LEN: usize = 1 << 20;

/// The socket's receive queue, asked for so that a dump never waits on queue space. The
/// kernel caps it at net.core.rmem_max.
const SOCKET_RCVBUF: usize = 4 << 20;

pub(super) struct DiagSocket {
    socket: Socket,
    buffer: Vec<u8>,
    next_seq: u32,
}

impl DiagSocket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, SourceError> {
        let socket = Socket::new(NETLINK_SOCK_DIAG).map_err(SourceError::Open)?;
        // A larger queue is an optimisation only: the default works, so a refusal is fine.
        let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
        // Not connected: sends go to the kernel anyway, and an unconnected socket lists
        // as ss's own does (peer `*`).
        Ok(DiagSocket {
            socket,
            buffer: vec![0; RECV_BUFFER_LEN],
            next_seq: 1,
        })
    }

    /// A fresh sequence number for the next request.
    pub fn next_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }

    /// Sends `request` and hands each reply payload to `decode`, in order. Every datagram
    /// received is first copied whole to `tee` when given (ss -D's dump format). A refusal
    /// from the kernel is [`SourceError::Kernel`].
    pub fn dump(
        &mut self,
        request: &Request,
        mut tee: Option<&mut dyn Write>,
        mut decode: impl FnMut(&[u8]) -> Result<(), DecodeError>,
    ) -> Result<(), SourceError> {
        let target = request.target;
        let malformed = |reason| SourceError::Malformed { target, reason };
        let io_error = |op, source| SourceError::Io { target, op, source };
        let (header, _) = wire::message(&request.bytes).map_err(malformed)?;
        let seq = header.seq;
        self.socket
            .send(&request.bytes, 0)
            .map_err(|e| io_error("send", e))?;

        loop {
            let len = match self.socket.recv(&mut &mut self.buffer[..], 0) {
                Ok(0) => return Err(io_error("recv", io::ErrorKind::UnexpectedEof.into())),
                Ok(len) => len.min(self.buffer.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error("recv", e)),
            };
            let datagram = &self.buffer[..len];
            if let Some(tee) = tee.as_mut() {
                tee.write_all(datagram).map_err(SourceError::DumpWrite)?;
            }
            for message in wire::messages(datagram) {
                let message = message.map_err(malformed)?;
                if message.seq != seq {
                    continue; // a stray reply to some earlier request
                }
                match message.kind {
                    NLMSG_DONE | NLMSG_ERROR => match message.kernel_errno() {
                        Some(errno) => return Err(SourceError::Kernel { target, errno }),
                        None if message.kind == NLMSG_DONE => return Ok(()),
                        None => {} // an acknowledgement
                    },
                    NLMSG_NOOP => {}
                    _ => decode(message.payload).map_err(malformed)?,
                }
            }
        }
    }
}
