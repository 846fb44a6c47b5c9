//! Whether this kernel accepts an inet_diag bytecode program from this process: the
//! program goes with an empty TCP request (no states: nothing is dumped), and the kernel's
//! audit refuses what it lacks (EINVAL) or what needs CAP_NET_ADMIN (EPERM).

use super::diag_socket::DiagSocket;
use super::error::SourceError;
use super::query::{Extensions, PortMatch, StateMask};
use super::request;
use crate::model::Netid;

/// Whether the kernel accepts `program` (one that holds `kernel-probe` tests, typically).
pub fn kernel_accepts_bytecode(program: &[u8]) -> Result<bool, SourceError> {
    let mut socket = DiagSocket::open()?;
    let nothing = StateMask(0);
    let ext = Extensions::default();
    let ports = PortMatch::default();
    let Some(probe) = request::inet(Netid::Tcp, false, nothing, &ext, Some(program), ports, 1)
    else {
        return Ok(false);
    };
    match socket.collect(&probe) {
        Ok(_) => Ok(true),
        Err(SourceError::Kernel { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}
