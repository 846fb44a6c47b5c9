//! What every property here shares: its case count, the time limit per case, and what a clear
//! error is.

use std::{
    fmt::Display,
    panic,
    sync::mpsc::{self, RecvTimeoutError},
    thread,
    time::Duration,
};

use proptest::test_runner::Config;

/// Longest one case may take before it counts as hung. Cases need microseconds to
/// milliseconds; the margin absorbs a debug build on a loaded two-core machine.
pub const CASE_LIMIT: Duration = Duration::from_secs(2);

/// Longest an error message may be: one line a person reads, not a dump of the input.
const MESSAGE_LIMIT: usize = 512;

/// proptest's configuration with `cases` cases, unless PROPTEST_CASES sets the count (long runs).
pub fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// Runs `f` on a thread of its own and returns its answer. Panics if it takes longer than
/// [`CASE_LIMIT`] (the stuck thread is abandoned), and passes on a panic of `f` as it was.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (answer, answered) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = answer.send(f());
    });
    match answered.recv_timeout(CASE_LIMIT) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: no answer within {CASE_LIMIT:?}"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => panic!("{what}: the worker ended without an answer"),
        },
    }
}

/// Panics unless `error` displays as one clear line: not empty, no line breaks or other
/// control characters, not longer than [`MESSAGE_LIMIT`].
pub fn assert_clear_error(what: &str, error: &dyn Display) {
    let text = error.to_string();
    assert!(!text.trim().is_empty(), "{what}: empty error message");
    assert!(
        !text.chars().any(char::is_control),
        "{what}: error message with a line break or control character: {text:?}"
    );
    assert!(
        text.chars().count() <= MESSAGE_LIMIT,
        "{what}: error message of {} characters: {text:?}",
        text.chars().count()
    );
}
