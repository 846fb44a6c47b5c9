//! What to say when the kernel refuses a program: one line naming the cause, and the verifier's
//! full log in a file (or on stderr with --verbose). Logs can hold kernel addresses; they never
//! reach a terminal unless asked for.

use std::{fmt, io::Write, path::PathBuf};

use aya::programs::ProgramError;

use super::{
    error_chain,
    hooks::{Attach, Program},
};

/// The kernel's answer to one candidate program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub program: &'static str,
    /// Where it was to attach, e.g. `tp_btf/inet_sock_set_state`.
    pub hook: String,
    /// One line, without kernel addresses.
    pub cause: String,
    /// The verifier's log, when the kernel wrote one.
    pub log: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.hook, self.program, self.cause)
    }
}

/// One line for a refused load or attach, and the verifier's log when there is one.
pub fn explain(err: &ProgramError, attach: Attach) -> (String, Option<String>) {
    match err {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            let log = format!("{verifier_log:?}");
            let cause = match last_verdict(&log) {
                Some(verdict) => format!("the verifier refused it: {verdict}"),
                None => format!("the kernel refused it: {io_error}"),
            };
            (
                scrub_addresses(&cause),
                Some(log).filter(|l| !l.trim().is_empty()),
            )
        }
        ProgramError::Btf(aya::BtfError::UnknownBtfTypeName { .. }) => {
            let name = match attach {
                Attach::TpBtf(name) => name.to_string(),
                Attach::TracePoint(_, names) => names.join(", "),
            };
            (format!("this kernel has no tracepoint {name}"), None)
        }
        other => (scrub_addresses(&error_chain(other)), None),
    }
}

/// The line of a verifier log that says why it stopped: the last one that is not statistics.
fn last_verdict(log: &str) -> Option<&str> {
    const STATISTICS: [&str; 4] = [
        "processed ",
        "verification time",
        "stack depth",
        "-- END PROG LOAD LOG --",
    ];
    log.lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty() && !STATISTICS.iter().any(|s| line.starts_with(s)))
}

/// Replaces what looks like a kernel address (16 hex digits from 0xffff...) with `<addr>`.
fn scrub_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("ffff") {
        let start = if rest[..at].ends_with("0x") {
            at - 2
        } else {
            at
        };
        let digits = rest[at..].bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits >= 12 {
            out.push_str(&rest[..start]);
            out.push_str("<addr>");
        } else {
            out.push_str(&rest[..at + digits]);
        }
        rest = &rest[at + digits..];
    }
    out.push_str(rest);
    out
}

/// Writes every refusal's log to a new file under the temporary directory; its path, or None
/// when no refusal had a log (or the file could not be written).
pub fn save(refusals: &[Refusal]) -> Option<PathBuf> {
    if refusals.iter().all(|r| r.log.is_none()) {
        return None;
    }
    let path = std::env::temp_dir().join(format!("sockwatch-verifier-{}.log", std::process::id()));
    // create_new: never follow a link or overwrite a file someone placed there.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    for refusal in refusals {
        let log = refusal.log.as_deref().unwrap_or("(no verifier log)");
        writeln!(file, "== {refusal}\n{log}").ok()?;
    }
    Some(path)
}

/// Prints every refusal and its log to stderr (--verbose).
pub fn print(refusals: &[Refusal]) {
    for refusal in refusals {
        eprintln!("sockwatch: {refusal}");
        if let Some(log) = &refusal.log {
            eprintln!("{log}");
        }
    }
}

/// Prints what the verifier spent on each of `programs`, just loaded (--verbose): how
/// close a program is to the limit of old verifiers (a million processed instructions).
pub fn print_accepted<'a>(ebpf: &aya::Ebpf, programs: impl Iterator<Item = &'a Program>) {
    for program in programs {
        let count = ebpf
            .program(program.name)
            .and_then(|p| p.info().ok())
            .and_then(|info| info.verified_instruction_count());
        let spent = match count {
            Some(n) => format!("the verifier processed {n} instructions"),
            // bpf_prog_info has the count from Linux 5.16.
            None => "this kernel does not report the verifier's count".to_string(),
        };
        eprintln!(
            "sockwatch: {} ({}): loaded; {spent}",
            program.attach.name(),
            program.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_verdict_of_a_5_10_log() {
        let log = "func#0 @0\n0: R1=ctx(id=0,off=0,imm=0) R10=fp0\n\
            41: (85) call bpf_get_socket_cookie#46\nunknown func bpf_get_socket_cookie#46\n\
            processed 41 insns (limit 1000000) max_states_per_insn 0 total_states 2\n";
        assert_eq!(
            last_verdict(log),
            Some("unknown func bpf_get_socket_cookie#46")
        );
        assert_eq!(last_verdict("\n\n"), None);
    }

    #[test]
    fn hides_kernel_addresses() {
        assert_eq!(
            scrub_addresses("R1=ptr 0xffff888003a1c000 and ffffffff81000000 ok"),
            "R1=ptr <addr> and <addr> ok"
        );
        assert_eq!(scrub_addresses("mask ffff, 0xffff1"), "mask ffff, 0xffff1");
    }
}
