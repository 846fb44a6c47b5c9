#![no_std]
// The eBPF programs are the `sockwatch` binary target; this library target only lets
// sockwatch name this crate as a build dependency, so cargo rebuilds it on changes.
