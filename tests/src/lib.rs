//! End-to-end harness: sockwatch against the real ss(8), on the same sockets, inside network
//! namespaces the tests make themselves.
//!
//! A test starts a [`Testbed`] (namespace + socket fixture), then calls [`compare_with_ss`]:
//! `ss ARGS` and `sockwatch snapshot ARGS` run in the namespace and must print the same, once
//! the volatile tokens listed in [`normalize`] are masked. Without root the tests print
//! `SKIPPED:` (or fail under `CI=true`), see [`privilege`].

pub mod compare;
pub mod diff;
pub mod fixture;
pub mod flags;
pub mod follow_run;
pub mod json;
pub mod netns;
pub mod normalize;
pub mod privilege;
pub mod process;
pub mod sockopt;
pub mod testbed;

pub use compare::{
    assert_all_passed, check_rejected_like_ss, check_same, check_same_with_stderr, check_with_ss,
    compare_with_ss, sockwatch_bin, Run,
};
pub use fixture::SocketGroup;
pub use netns::{NetNs, VethLink};
pub use normalize::Masks;
pub use testbed::Testbed;
