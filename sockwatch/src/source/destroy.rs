//! ss -K: closing inet sockets through SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY, and
//! CAP_NET_ADMIN in the socket's network namespace).

use super::diag_socket::DiagSocket;
use super::error::SourceError;
use super::request;
use crate::model::{Netid, SocketRecord};

/// What became of a socket asked to close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destroyed {
    /// The kernel closed it.
    Closed,
    /// The kernel cannot close sockets of its kind (EOPNOTSUPP; MPTCP, see
    /// [`Destroyer::destroy`]) or it was gone already (ENOENT); ss then does not show it.
    NotClosed,
    /// sock_diag cannot name it (raw sockets read from /proc): it is shown as it is, as ss
    /// shows the sockets it does not ask the kernel to close.
    NotInet,
}

/// A sock_diag socket of its own for destroy requests, beside the one dumping.
pub struct Destroyer {
    socket: DiagSocket,
    seq: u32,
}

impl Destroyer {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> Result<Destroyer, SourceError> {
        Ok(Destroyer {
            socket: DiagSocket::open()?,
            seq: 0,
        })
    }

    /// Asks the kernel to close `record`'s socket; other refusals (EPERM without
    /// CAP_NET_ADMIN, EOPNOTSUPP's cousins) are errors.
    pub fn destroy(&mut self, record: &SocketRecord) -> Result<Destroyed, SourceError> {
        // ss 6.1 names an MPTCP socket with its protocol cut to a byte (TCP's): no TCP
        // socket has the MPTCP socket's cookie, so the kernel answers ENOENT and ss shows
        // none. Nothing the kernel can close that way either.
        if record.netid == Netid::Mptcp {
            return Ok(Destroyed::NotClosed);
        }
        self.seq = self.seq.wrapping_add(1);
        let Some(request) = request::destroy(record, self.seq) else {
            return Ok(Destroyed::NotInet);
        };
        match self.socket.acknowledged(&request) {
            Ok(()) => Ok(Destroyed::Closed),
            Err(SourceError::Kernel { errno, .. })
                if errno == libc::EOPNOTSUPP || errno == libc::ENOENT =>
            {
                Ok(Destroyed::NotClosed)
            }
            Err(err) => Err(err),
        }
    }
}
