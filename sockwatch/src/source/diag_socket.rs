//! The NETLINK_SOCK_DIAG socket: send one dump request and receive its reply datagrams up
//! to NLMSG_DONE; and reading the messages of a reply datagram.

use std::io;

use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket};

use super::error::{DecodeError, SourceError, Target};
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
}

/// Where a dump stands after the messages of one datagram.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Progress {
    More,
    Done,
}

impl DiagSocket {
    /// Opens a socket in the calling thread's network namespace (it stays there whichever
    /// thread uses it later).
    pub fn open() -> Result<Self, SourceError> {
        let socket = Socket::new(NETLINK_SOCK_DIAG).map_err(SourceError::Open)?;
        // A larger queue is an optimisation only: the default works, so a refusal is fine.
        let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
        // Not connected: sends go to the kernel anyway, and an unconnected socket lists
        // as ss's own does (peer `*`).
        Ok(DiagSocket {
            socket,
            buffer: Vec::new(),
        })
    }

    /// Sends `request` and hands each reply datagram to `deliver`, which reads it (with
    /// [`process`], typically) and says whether the dump is complete.
    pub fn fetch(
        &mut self,
        request: &Request,
        mut deliver: impl FnMut(&[u8]) -> Result<Progress, SourceError>,
    ) -> Result<(), SourceError> {
        self.send(request)?;
        loop {
            receive(&self.socket, request.target, &mut self.buffer)?;
            if deliver(&self.buffer)? == Progress::Done {
                return Ok(());
            }
        }
    }

    /// The reply datagrams of a request already sent (see [`Self::send`]), each received
    /// straight into a buffer from `buffer` and handed over whole, so that another thread
    /// can decode it without a copy; `deliver` says when the dump is complete.
    pub fn replies(
        &mut self,
        target: Target,
        mut buffer: impl FnMut() -> Vec<u8>,
        mut deliver: impl FnMut(Vec<u8>) -> Result<Progress, SourceError>,
    ) -> Result<(), SourceError> {
        loop {
            let datagram = self.next_reply(target, buffer())?;
            if deliver(datagram)? == Progress::Done {
                return Ok(());
            }
        }
    }

    /// The next reply datagram, received into `datagram` (emptied first).
    pub fn next_reply(
        &mut self,
        target: Target,
        mut datagram: Vec<u8>,
    ) -> Result<Vec<u8>, SourceError> {
        receive(&self.socket, target, &mut datagram)?;
        Ok(datagram)
    }

    pub fn send(&self, request: &Request) -> Result<(), SourceError> {
        self.socket
            .send(&request.bytes, 0)
            .map(drop)
            .map_err(|source| SourceError::Io {
                target: request.target,
                op: "send",
                source,
            })
    }

    /// Runs a dump without decoding it: its reply datagrams back to back, to [`process`]
    /// later as if they had just arrived.
    pub fn collect(&mut self, request: &Request) -> Result<Vec<u8>, SourceError> {
        let seq = request_seq(request)?;
        let mut replies = Vec::new();
        self.fetch(request, |datagram| {
            replies.extend_from_slice(datagram);
            process(datagram, seq, request.target, &mut |_| Ok(()))
        })?;
        Ok(replies)
    }
}

impl DiagSocket {
    /// Sends a request that asks for an acknowledgement (NLM_F_ACK) and waits for it: Ok
    /// for a zero error code, [`SourceError::Kernel`] with the kernel's errno otherwise.
    pub fn acknowledged(&mut self, request: &Request) -> Result<(), SourceError> {
        let seq = request_seq(request)?;
        let target = request.target;
        self.fetch(request, |datagram| {
            for message in wire::messages(datagram) {
                let message =
                    message.map_err(|reason| SourceError::Malformed { target, reason })?;
                if message.seq == seq && message.kind == NLMSG_ERROR {
                    return match message.kernel_errno() {
                        Some(errno) => Err(SourceError::Kernel { target, errno }),
                        None => Ok(Progress::Done),
                    };
                }
            }
            Ok(Progress::More)
        })
    }
}

/// Receives the next datagram into `datagram` (emptied first), straight into its spare
/// capacity: no zeroing, and its length is the datagram's.
fn receive(socket: &Socket, target: Target, datagram: &mut Vec<u8>) -> Result<(), SourceError> {
    let failed = |source| SourceError::Io {
        target,
        op: "recv",
        source,
    };
    datagram.clear();
    datagram.reserve(RECV_BUFFER_LEN);
    loop {
        match socket.recv(datagram, 0) {
            Ok(0) => return Err(failed(io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        }
    }
}

/// The sequence number a request's replies carry.
pub(super) fn request_seq(request: &Request) -> Result<u32, SourceError> {
    wire::message(&request.bytes)
        .map(|(header, _)| header.seq)
        .map_err(|reason| SourceError::Malformed {
            target: request.target,
            reason,
        })
}

/// Hands the payloads of the messages in `datagram` that answer request `seq` to `decode`,
/// up to the NLMSG_DONE that ends the dump. A refusal from the kernel is
/// [`SourceError::Kernel`].
pub(super) fn process(
    datagram: &[u8],
    seq: u32,
    target: Target,
    decode: &mut impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<Progress, SourceError> {
    let malformed = |reason| SourceError::Malformed { target, reason };
    for message in wire::messages(datagram) {
        let message = message.map_err(malformed)?;
        if message.seq != seq {
            continue; // a stray reply to some earlier request
        }
        match message.kind {
            NLMSG_DONE | NLMSG_ERROR => match message.kernel_errno() {
                Some(errno) => return Err(SourceError::Kernel { target, errno }),
                None if message.kind == NLMSG_DONE => return Ok(Progress::Done),
                None => {} // an acknowledgement
            },
            NLMSG_NOOP => {}
            _ => decode(message.payload).map_err(malformed)?,
        }
    }
    Ok(Progress::More)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Netid;
    use crate::source::wire::build::message;

    const TARGET: Target = Target::Inet {
        netid: Netid::Tcp,
        v6: false,
    };

    fn payloads(datagram: &[u8]) -> (Vec<Vec<u8>>, Result<Progress, SourceError>) {
        let mut seen = Vec::new();
        let result = process(datagram, 5, TARGET, &mut |p| {
            seen.push(p.to_vec());
            Ok(())
        });
        (seen, result)
    }

    #[test]
    fn decodes_up_to_done_skipping_strays_and_noops() {
        let datagram = [
            message(20, 5, &[1]),
            message(20, 4, &[9]), // another request's
            message(NLMSG_NOOP, 5, &[]),
            message(20, 5, &[2]),
            message(NLMSG_DONE, 5, &0i32.to_ne_bytes()),
            message(20, 5, &[3]), // after the end
        ]
        .concat();
        let (seen, result) = payloads(&datagram);
        assert_eq!(result.unwrap(), Progress::Done);
        assert_eq!(seen, [vec![1], vec![2]]);
        assert_eq!(payloads(&message(20, 5, &[1])).1.unwrap(), Progress::More);
    }

    #[test]
    fn kernel_refusals_are_typed() {
        let mut error = (-libc::ENOENT).to_ne_bytes().to_vec();
        error.extend_from_slice(&[0; 16]);
        let err = payloads(&message(NLMSG_ERROR, 5, &error)).1.unwrap_err();
        assert_eq!(err.kernel_errno(), Some(libc::ENOENT));
        assert_eq!(
            err.to_string(),
            "sock_diag tcp (AF_INET): the kernel refused the request: \
             No such file or directory (os error 2)"
        );
        // A dump ended by a negative NLMSG_DONE failed too.
        let done = message(NLMSG_DONE, 5, &(-libc::EPERM).to_ne_bytes());
        assert_eq!(
            payloads(&done).1.unwrap_err().kernel_errno(),
            Some(libc::EPERM)
        );
        // An acknowledgement is no error.
        assert_eq!(
            payloads(&message(NLMSG_ERROR, 5, &[0; 20])).1.unwrap(),
            Progress::More
        );
    }

    #[test]
    fn bad_lengths_are_malformed() {
        let mut bad = message(20, 5, &[1]);
        bad[0] = 99;
        assert!(matches!(
            payloads(&bad).1,
            Err(SourceError::Malformed {
                reason: DecodeError::MessageLength { .. },
                ..
            })
        ));
    }
}
