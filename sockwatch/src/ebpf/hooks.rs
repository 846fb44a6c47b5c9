//! The kernel hooks follow's programs use, each with the programs that can serve it, best first.
//!
//! What a kernel supports is learnt by asking it: the loader tries each candidate (load, then
//! attach) until the kernel accepts one, never guessing from the version. A hook with no
//! candidate left either stops follow (`required`) or degrades its one feature, which follow
//! names in one line at start. A new hook is one entry here plus its programs.

use sockwatch_common::counter;

/// Where a program attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// A BTF-typed tracepoint (tp_btf/NAME): typed arguments, needs kernel BTF.
    TpBtf(&'static str),
    /// Classic tracepoints (CATEGORY/NAME, one program on each NAME): needs tracefs. Records
    /// of one layout (accept's and accept4's exits) share a program, verified once.
    TracePoint(&'static str, &'static [&'static str]),
}

impl Attach {
    /// The hook as the kernel's documentation names it, e.g. `tp_btf/inet_sock_set_state`.
    pub fn name(&self) -> String {
        match self {
            Attach::TpBtf(name) => format!("tp_btf/{name}"),
            Attach::TracePoint(category, names) => format!("{category}/{}", names.join(",")),
        }
    }
}

/// One program of the object and where it attaches.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The program's function name in sockwatch-ebpf.
    pub name: &'static str,
    pub attach: Attach,
}

/// One way of serving a hook: programs that must all load and attach.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub programs: &'static [Program],
    /// What taking this candidate instead of the first costs, said in one line at start.
    pub compromise: Option<&'static str>,
}

#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// The feature the hook serves, as users know it ("owners of accepted sockets").
    pub feature: &'static str,
    /// Whether follow cannot run without it.
    pub required: bool,
    pub candidates: &'static [Candidate],
}

const fn tp_btf(name: &'static str, function: &'static str) -> Program {
    Program {
        name,
        attach: Attach::TpBtf(function),
    }
}

/// Said when the state-change programs read cookies from the socket (tracing programs may call
/// bpf_get_socket_cookie only from Linux 5.12).
const FIELD_COOKIE: &str = "socket cookies are read from the socket (this kernel's tracing \
    programs may not call bpf_get_socket_cookie): a socket opened while follow runs carries a \
    stand-in key until something lists it through sock_diag";

/// Said when tcp_send_reset has no reason argument (before Linux 6.10).
const NO_RESET_REASON: &str = "reset reasons (the detail of reset-sent): unavailable on this \
    kernel (tcp_send_reset has no reason field)";

/// Each tp_btf hook has a second, "nested" program that sends the event when the kernel skips
/// the first for recursion (see `RUNNING` in sockwatch-ebpf); both load or neither.
pub const HOOKS: &[Hook] = &[
    Hook {
        feature: "TCP state changes",
        required: true,
        candidates: &[
            Candidate {
                programs: &[
                    tp_btf("inet_sock_set_state", "inet_sock_set_state"),
                    tp_btf("state_nested", "inet_sock_set_state"),
                ],
                compromise: None,
            },
            Candidate {
                programs: &[
                    tp_btf("state_field", "inet_sock_set_state"),
                    tp_btf("state_field_nested", "inet_sock_set_state"),
                ],
                compromise: Some(FIELD_COOKIE),
            },
        ],
    },
    Hook {
        feature: "socket destruction",
        required: true,
        candidates: &[
            Candidate {
                programs: &[
                    tp_btf("tcp_destroy_sock", "tcp_destroy_sock"),
                    tp_btf("destroy_nested", "tcp_destroy_sock"),
                ],
                compromise: None,
            },
            Candidate {
                programs: &[
                    tp_btf("destroy_field", "tcp_destroy_sock"),
                    tp_btf("destroy_field_nested", "tcp_destroy_sock"),
                ],
                // Said once, for the state changes.
                compromise: None,
            },
        ],
    },
    Hook {
        feature: "owners of accepted sockets",
        required: false,
        candidates: &[Candidate {
            programs: &[Program {
                name: "sys_exit_accept",
                attach: Attach::TracePoint("syscalls", &["sys_exit_accept4", "sys_exit_accept"]),
            }],
            compromise: None,
        }],
    },
    // Why connections end: each optional, one feature each (docs/follow-reasons.md).
    Hook {
        feature: RESETS_SENT,
        required: false,
        candidates: &[
            Candidate {
                programs: &[tp_btf("tcp_send_reset", "tcp_send_reset")],
                compromise: None,
            },
            Candidate {
                programs: &[tp_btf("tcp_send_reset_no_reason", "tcp_send_reset")],
                compromise: Some(NO_RESET_REASON),
            },
            // The `_field` candidates: for kernels whose tracing programs may not call
            // bpf_get_socket_cookie, keyed as the state programs key sockets there (said once,
            // for the state changes).
            Candidate {
                programs: &[tp_btf("tcp_send_reset_field", "tcp_send_reset")],
                compromise: Some(NO_RESET_REASON),
            },
        ],
    },
    Hook {
        feature: RESETS_RECEIVED,
        required: false,
        candidates: &[
            Candidate {
                programs: &[tp_btf("tcp_receive_reset", "tcp_receive_reset")],
                compromise: None,
            },
            Candidate {
                programs: &[tp_btf("tcp_receive_reset_field", "tcp_receive_reset")],
                compromise: None,
            },
        ],
    },
    Hook {
        feature: SOCKET_ERRORS,
        required: false,
        candidates: &[Candidate {
            programs: &[tp_btf("inet_sk_error_report", "inet_sk_error_report")],
            compromise: None,
        }],
    },
    Hook {
        feature: RETRANSMIT_EVENTS,
        required: false,
        candidates: &[
            Candidate {
                programs: &[tp_btf("tcp_retransmit_skb", "tcp_retransmit_skb")],
                compromise: None,
            },
            Candidate {
                programs: &[tp_btf("tcp_retransmit_skb_field", "tcp_retransmit_skb")],
                compromise: None,
            },
        ],
    },
    Hook {
        feature: COUNTERS_AT_CLOSE,
        required: false,
        candidates: &[
            Candidate {
                programs: &[tp_btf("keep_counters_at_close", "inet_sock_set_state")],
                compromise: None,
            },
            Candidate {
                programs: &[tp_btf(
                    "keep_counters_at_close_field",
                    "inet_sock_set_state",
                )],
                compromise: None,
            },
        ],
    },
    Hook {
        feature: CONNECT_ERRORS,
        required: false,
        candidates: &[Candidate {
            programs: &[
                Program {
                    name: "sys_enter_connect",
                    attach: Attach::TracePoint("syscalls", &["sys_enter_connect"]),
                },
                Program {
                    name: "sys_exit_connect",
                    attach: Attach::TracePoint("syscalls", &["sys_exit_connect"]),
                },
            ],
            compromise: None,
        }],
    },
];

/// What the nested twins of the state-change and destroy hooks serve, named when the kernel
/// takes a main program but not its twin.
pub const NESTED_RUNS: &str = "events of runs the kernel skips for recursion (nested twins)";

/// Whether `program` is a nested twin (see [`SkippedRuns::Covered`]).
pub fn is_twin(program: &Program) -> bool {
    skipped_runs(program.name) == SkippedRuns::Covered
}

/// Whether `hook` tells why connections end (see [`REASON_FEATURES`]).
pub fn tells_reasons(hook: &Hook) -> bool {
    REASON_FEATURES.contains(&hook.feature)
}

/// The features of the hooks that tell why connections end: without any of these a quiet end
/// reads `unknown`, not `normal` (see docs/follow-reasons.md).
pub const ENDS_FEATURES: [&str; 4] = [RESETS_SENT, RESETS_RECEIVED, SOCKET_ERRORS, CONNECT_ERRORS];
/// Every feature of the reason hooks (what `SOCKWATCH_SKIP_HOOKS=reasons` turns off).
pub const REASON_FEATURES: [&str; 6] = [
    RESETS_SENT,
    RESETS_RECEIVED,
    SOCKET_ERRORS,
    RETRANSMIT_EVENTS,
    COUNTERS_AT_CLOSE,
    CONNECT_ERRORS,
];
const RETRANSMIT_EVENTS: &str = "retransmit events (the per-connection count stays)";
const COUNTERS_AT_CLOSE: &str =
    "bytes and retransmits of connections closed by reset, from the kernel side";
const RESETS_SENT: &str = "resets this host sent (reason reset-sent)";
const RESETS_RECEIVED: &str = "resets received (reasons reset-received, refused)";
const SOCKET_ERRORS: &str =
    "errors reported to sockets (errno; reasons timeout, unreachable, killed)";
const CONNECT_ERRORS: &str = "connect() failing before a SYN (reason unreachable, with owner)";

/// What becomes of the runs of a program that the kernel skips: a tracing program that fires
/// again on a CPU where it is already running (a softirq interrupting it) is not run, and the
/// kernel counts that run in the program's `recursion_misses`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkippedRuns {
    /// A main program with a nested twin: the twin sends the skipped runs it sees (counted in
    /// the hook's COUNTERS slot); the rest, run in the instants the main program is active
    /// but has not yet set (or has already cleared) its flag, or while the twin is itself
    /// skipped, are lost.
    CaughtByTwin(TwinnedHook),
    /// A nested twin: it is skipped only while it runs for another event, after its main
    /// program finished; the main program then takes the event, or counts it as skipped.
    Covered,
    /// Each skipped run is a lost event (an owner, a reason, a retransmit, counters).
    Lost,
}

/// The hooks whose main programs have a nested twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwinnedHook {
    State,
    Destroy,
}

impl TwinnedHook {
    /// The COUNTERS slot of the runs the twin caught.
    pub fn caught_counter(self) -> u32 {
        match self {
            TwinnedHook::State => counter::NESTED_STATE,
            TwinnedHook::Destroy => counter::NESTED_DESTROY,
        }
    }
}

/// How the skipped runs of `program` are accounted for.
pub fn skipped_runs(program: &str) -> SkippedRuns {
    match program {
        "inet_sock_set_state" | "state_field" => SkippedRuns::CaughtByTwin(TwinnedHook::State),
        "tcp_destroy_sock" | "destroy_field" => SkippedRuns::CaughtByTwin(TwinnedHook::Destroy),
        "state_nested" | "state_field_nested" | "destroy_nested" | "destroy_field_nested" => {
            SkippedRuns::Covered
        }
        _ => SkippedRuns::Lost,
    }
}

/// Every tp_btf tracepoint the hooks may attach to (aya needs their BTF type ids).
pub fn tp_btf_tracepoints() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = HOOKS
        .iter()
        .flat_map(|hook| hook.candidates)
        .flat_map(|candidate| candidate.programs)
        .filter_map(|program| match program.attach {
            Attach::TpBtf(name) => Some(name),
            Attach::TracePoint(..) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_has_a_candidate_and_distinct_programs() {
        let mut programs = Vec::new();
        for hook in HOOKS {
            assert!(!hook.candidates.is_empty(), "{}", hook.feature);
            assert!(
                hook.candidates[0].compromise.is_none(),
                "the best candidate of {} costs nothing",
                hook.feature
            );
            for candidate in hook.candidates {
                programs.extend(candidate.programs.iter().map(|p| p.name));
            }
        }
        let count = programs.len();
        programs.sort_unstable();
        programs.dedup();
        assert_eq!(programs.len(), count, "a program serves one candidate");
        assert_eq!(
            tp_btf_tracepoints(),
            vec![
                "inet_sk_error_report",
                "inet_sock_set_state",
                "tcp_destroy_sock",
                "tcp_receive_reset",
                "tcp_retransmit_skb",
                "tcp_send_reset",
            ]
        );
    }

    #[test]
    fn skipped_runs_name_programs_that_exist() {
        let programs: Vec<&str> = HOOKS
            .iter()
            .flat_map(|hook| hook.candidates)
            .flat_map(|candidate| candidate.programs)
            .map(|program| program.name)
            .collect();
        let twinned = [
            "inet_sock_set_state",
            "state_field",
            "tcp_destroy_sock",
            "destroy_field",
            "state_nested",
            "state_field_nested",
            "destroy_nested",
            "destroy_field_nested",
        ];
        for name in twinned {
            assert!(programs.contains(&name), "{name} is no program of HOOKS");
            assert_ne!(skipped_runs(name), SkippedRuns::Lost, "{name}");
        }
        // Everything else loses its skipped runs, the reason programs included.
        let untwinned = programs.iter().filter(|name| !twinned.contains(name));
        for name in untwinned {
            assert_eq!(skipped_runs(name), SkippedRuns::Lost, "{name}");
        }
    }
}
