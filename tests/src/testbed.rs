//! A test's whole setup: the privilege gate, a fresh namespace with the veth pair, a directory
//! for unix socket files, and the socket fixture running inside the namespace.

use std::path::Path;

use crate::{
    fixture::{Fixture, SocketDir, SocketGroup},
    netns::NetNs,
    privilege::can_run_namespace_tests,
};

/// Everything one test compares against; torn down in reverse order on drop (the fixture
/// first, then its socket files, then the namespace).
pub struct Testbed {
    /// Held for its lifetime only: the sockets live as long as the process.
    _fixture: Fixture,
    socket_dir: SocketDir,
    ns: NetNs,
}

impl Testbed {
    /// Sets up a namespace running the fixture (`env!("CARGO_BIN_EXE_sockfixture")` from an
    /// integration test) with the given socket groups. None when the test is skipped for
    /// lack of privileges (see `privilege`); panics if the setup fails.
    pub fn start(fixture_exe: &str, groups: &[SocketGroup]) -> Option<Testbed> {
        if !can_run_namespace_tests() {
            return None;
        }
        let ns = NetNs::with_veth();
        let socket_dir = SocketDir::create(ns.name());
        let fixture = Fixture::start(&ns, Path::new(fixture_exe), groups, &socket_dir.path, true);
        Some(Testbed {
            _fixture: fixture,
            socket_dir,
            ns,
        })
    }

    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// The directory holding the fixture's unix socket files (for filters like `src DIR/*`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir.path
    }
}
