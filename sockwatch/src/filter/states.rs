//! The leading `state NAME` / `exclude NAME` clauses and ss's state names and groups.
//! Masks have bit n set for kernel state n (`SockState::kernel()`).

use crate::model::SockState;

use super::error::{ErrorKind, FilterError, Position};

const fn bit(state: SockState) -> u32 {
    1 << state as u8
}

/// ss's "all": kernel states 0 (unknown) to 11 (closing), as iproute2 6.1 knows them.
pub const SS_ALL: u32 = (1 << 12) - 1;

/// ss's default for connection tables without `-a`/`-l`: every state but listen, close
/// (UNCONN), time-wait and syn-recv.
pub const SS_CONN: u32 = SS_ALL
    & !(bit(SockState::Listen)
        | bit(SockState::Close)
        | bit(SockState::TimeWait)
        | bit(SockState::SynRecv));

/// The mask a state name or group stands for (case-insensitive, as ss).
fn state_mask(name: &str) -> Option<u32> {
    let single = |state| Some(bit(state));
    match name.to_ascii_lowercase().as_str() {
        "unknown" => single(SockState::Unknown),
        "established" => single(SockState::Established),
        "syn-sent" => single(SockState::SynSent),
        "syn-recv" | "syn-rcv" => single(SockState::SynRecv),
        "fin-wait-1" => single(SockState::FinWait1),
        "fin-wait-2" => single(SockState::FinWait2),
        "time-wait" => single(SockState::TimeWait),
        "unconnected" | "close" | "closed" => single(SockState::Close),
        "close-wait" => single(SockState::CloseWait),
        "last-ack" => single(SockState::LastAck),
        "listening" => single(SockState::Listen),
        "closing" => single(SockState::Closing),
        "all" => Some(SS_ALL),
        "connected" => Some(SS_ALL & !(bit(SockState::Close) | bit(SockState::Listen))),
        "synchronized" => Some(
            SS_ALL & !(bit(SockState::Close) | bit(SockState::Listen) | bit(SockState::SynSent)),
        ),
        "bucket" => Some(bit(SockState::SynRecv) | bit(SockState::TimeWait)),
        "big" => Some(SS_ALL & !(bit(SockState::SynRecv) | bit(SockState::TimeWait))),
        _ => None,
    }
}

/// Reads the state clauses at the start of `args` (each `(column, argument)`): the mask they
/// select (None when there are none) and how many arguments they used. As in ss, the first
/// `state` starts from no states and the first `exclude` from all, whatever -a or -l chose.
pub(super) fn parse_clauses(args: &[(usize, &str)]) -> Result<(Option<u32>, usize), FilterError> {
    let mut mask = None;
    let mut used = 0;
    while let Some(&(_, keyword)) = args.get(used) {
        let include = match keyword {
            "state" => true,
            "exclude" | "excl" => false,
            _ => break,
        };
        let &(column, name) = args.get(used + 1).ok_or_else(|| {
            ErrorKind::MissingStateName {
                keyword: keyword.to_string(),
            }
            .at(Position::End)
        })?;
        let named = state_mask(name).ok_or_else(|| {
            ErrorKind::UnknownState(name.to_string()).at(Position::Column(column))
        })?;
        mask = Some(if include {
            mask.unwrap_or(0) | named
        } else {
            mask.unwrap_or(SS_ALL) & !named
        });
        used += 2;
    }
    Ok((mask, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::lexer::with_columns;

    fn clauses(args: &[&str]) -> Result<(Option<u32>, usize), FilterError> {
        parse_clauses(&with_columns(args))
    }

    #[test]
    fn every_state_name() {
        let names = [
            ("unknown", 0),
            ("established", 1),
            ("syn-sent", 2),
            ("syn-recv", 3),
            ("syn-rcv", 3),
            ("fin-wait-1", 4),
            ("fin-wait-2", 5),
            ("time-wait", 6),
            ("unconnected", 7),
            ("close", 7),
            ("closed", 7),
            ("close-wait", 8),
            ("last-ack", 9),
            ("listening", 10),
            ("closing", 11),
        ];
        for (name, state) in names {
            assert_eq!(state_mask(name), Some(1 << state), "{name}");
        }
        assert_eq!(state_mask("LISTENING"), Some(1 << 10));
        assert_eq!(
            state_mask("listen"),
            None,
            "ss 6.1 only knows \"listening\""
        );
    }

    #[test]
    fn state_groups() {
        assert_eq!(state_mask("all"), Some(0xfff));
        assert_eq!(state_mask("connected"), Some(0xfff & !(1 << 7 | 1 << 10)));
        assert_eq!(
            state_mask("synchronized"),
            Some(0xfff & !(1 << 7 | 1 << 10 | 1 << 2))
        );
        assert_eq!(state_mask("bucket"), Some(1 << 3 | 1 << 6));
        assert_eq!(state_mask("big"), Some(0xfff & !(1 << 3 | 1 << 6)));
        assert_eq!(SS_CONN, 0xfff & !(1 << 10 | 1 << 7 | 1 << 6 | 1 << 3));
    }

    #[test]
    fn clauses_combine_as_in_ss() {
        assert_eq!(clauses(&["dport", "= 22"]).unwrap(), (None, 0));
        assert_eq!(
            clauses(&["state", "established", "state", "syn-sent", "x"]).unwrap(),
            (Some(1 << 1 | 1 << 2), 4)
        );
        assert_eq!(
            clauses(&["exclude", "listening", "excl", "closed"]).unwrap(),
            (Some(SS_ALL & !(1 << 10 | 1 << 7)), 4)
        );
        assert_eq!(
            clauses(&["exclude", "all", "state", "established"]).unwrap(),
            (Some(1 << 1), 4)
        );
        assert_eq!(
            clauses(&["state", "connected", "exclude", "syn-sent"])
                .unwrap()
                .0,
            { Some(0xfff & !(1 << 7 | 1 << 10 | 1 << 2)) }
        );
    }

    #[test]
    fn clause_errors() {
        assert_eq!(
            clauses(&["state"]).unwrap_err().to_string(),
            "filter: expected a state name after \"state\" at end of input"
        );
        assert_eq!(
            clauses(&["state", "established", "exclude", "listen"])
                .unwrap_err()
                .to_string(),
            "filter: unknown state \"listen\" at column 27"
        );
    }
}
