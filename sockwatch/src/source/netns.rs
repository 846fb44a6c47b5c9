//! Entering a network namespace (ss -N NAME).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::{NetnsProblem, SourceError};

/// Where `ip netns add` puts named namespaces.
const NETNS_DIR: &str = "/var/run/netns";

/// Moves the calling thread into the network namespace `ip netns` calls `name`. Only this
/// thread moves: sockets it opens afterwards, sock_diag dumps and the raw socket files are
/// then the namespace's; other threads stay where they were.
pub fn enter_netns(name: &str) -> Result<(), SourceError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(SourceError::Netns {
            name: crate::escape::escape(name.as_bytes()).into_owned(),
            reason: NetnsProblem::BadName,
        });
    }
    enter(
        &Path::new(NETNS_DIR).join(name),
        &crate::escape::escape(name.as_bytes()),
    )
}

/// Moves the calling thread into the network namespace the file at `path` stands for
/// (a bind mount under /var/run/netns, or /proc/PID/ns/net).
pub fn enter_netns_path(path: &Path) -> Result<(), SourceError> {
    enter(path, &crate::escape::Escaped::path(path).to_string())
}

/// Enters the namespace at `path`; `name` is how errors call it, escaped.
fn enter(path: &Path, name: &str) -> Result<(), SourceError> {
    let failed = |reason| SourceError::Netns {
        name: name.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|source| {
        failed(NetnsProblem::Open {
            path: PathBuf::from(path),
            source,
        })
    })?;
    // SAFETY: setns only reads the descriptor, which `file` keeps open for the call.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(failed(NetnsProblem::Setns(io::Error::last_os_error())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_names_that_are_not_plain() {
        for name in ["", ".", "..", "a/b", "../etc"] {
            let err = enter_netns(name).unwrap_err();
            assert!(matches!(
                err,
                SourceError::Netns {
                    reason: NetnsProblem::BadName,
                    ..
                }
            ));
        }
    }

    #[test]
    fn a_missing_namespace_is_a_clear_error() {
        let err = enter_netns("sockwatch-no-such-namespace").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(
                "network namespace \"sockwatch-no-such-namespace\": \
                 cannot open /var/run/netns/sockwatch-no-such-namespace: "
            ),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_is_no_namespace_is_refused() {
        let err = enter_netns_path(Path::new("/proc/self/status")).unwrap_err();
        assert!(matches!(
            err,
            SourceError::Netns {
                reason: NetnsProblem::Setns(_),
                ..
            }
        ));
    }
}
