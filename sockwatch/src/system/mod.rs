//! Lookups in the running system's databases, in one place for every renderer and the
//! filter parser: service names (/etc/services), IP protocol names (/etc/protocols), host
//! and network names (the C library's resolver, so nsswitch.conf applies), user names
//! (passwd), interface names and indexes, the local port range and the cgroup2 mount.
//!
//! Each function asks the system once per call; callers that print many records keep their
//! own caches (ss and netstat remember every answer, and so do their renderers here).

pub mod cgroups;
pub mod hosts;
pub mod interfaces;
pub mod ports;
pub mod protocols;
pub mod services;
pub mod users;
