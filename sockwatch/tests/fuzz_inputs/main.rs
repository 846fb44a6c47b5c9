//! Property tests ("fuzzing") of everything sockwatch parses from outside: filter expressions,
//! dump files, eBPF events, kernel BTF and /proc/net/sockstat. For any input, each parser must
//! answer within a time limit, never panic, and reject bad input with a clear one-line error.
//!
//! A run of `cargo test` tries a few hundred cases per property (a few seconds in all); set
//! PROPTEST_CASES for long runs (RELIABILITY.md). proptest saves failing cases under
//! tests/proptest-regressions/ and replays them first on every later run: check them in.

mod common;

mod btf;
mod dump;
mod event;
mod filter;
mod sockstat;
