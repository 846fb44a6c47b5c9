//! Checks of the harness itself against the real ss, independent of sockwatch: the masks
//! cover everything that moves between two ss runs, and a real difference is reported.

use std::{thread, time::Duration};

use sockwatch_tests::{assert_all_passed, check_same, Masks, Run, SocketGroup, Testbed};

/// Every option set that needs a mask, plus a few that must need none.
const OPTION_SETS: &[&[&str]] = &[
    &["-tano"],
    &["-tani"],
    &["-tanO", "-i"],
    &["-tanoeimp"],
    &["-anoe"],
    &["-a"],
    &["-a", "-A", "netlink"],
    &["-s"],
    &["-tanm"],
    &["-xaem"],
    &["-0ae"],
    &["-uanem"],
];

/// Long enough for second-granularity timers and millisecond clocks to move.
const PAUSE: Duration = Duration::from_millis(1100);

#[test]
fn masks_cover_what_changes_between_ss_runs() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &SocketGroup::ALL) else {
        return;
    };
    let before: Vec<Run> = OPTION_SETS
        .iter()
        .map(|args| Run::ss(bed.ns(), args))
        .collect();
    thread::sleep(PAUSE);
    let failures: Vec<String> = OPTION_SETS
        .iter()
        .zip(&before)
        .filter_map(|(args, earlier)| {
            let later = Run::ss(bed.ns(), args);
            check_same(earlier, &later, Masks::for_args(args)).err()
        })
        .collect();
    assert_all_passed("option sets", OPTION_SETS.len(), &failures);
}

#[test]
fn a_real_difference_is_reported() {
    let Some(bed) = Testbed::start(env!("CARGO_BIN_EXE_sockfixture"), &[SocketGroup::Tcp]) else {
        return;
    };
    let all = Run::ss(bed.ns(), &["-tan"]);
    let listening = Run::ss(bed.ns(), &["-tln"]);
    let report = check_same(&all, &listening, Masks::default())
        .expect_err("-tan and -tln list different sockets");
    assert!(
        report.contains("\n-ESTAB"),
        "no removed ESTAB line in:\n{report}"
    );
    assert!(
        report.contains("---- ss -tln (exit 0), stdout:"),
        "no full output in:\n{report}"
    );
}
