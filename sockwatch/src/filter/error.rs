//! Filter errors: what was wrong and where, in one line.

use std::fmt;

use thiserror::Error;

/// Where in the filter an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// 1-based character column in the command-line arguments joined with single spaces.
    Column(usize),
    /// 1-based line and character column in a filter file (`-F FILE`).
    Line { line: usize, column: usize },
    /// After the last word.
    End,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Column(column) => write!(f, "column {column}"),
            Position::Line { line, column } => write!(f, "line {line}, column {column}"),
            Position::End => f.write_str("end of input"),
        }
    }
}

/// A filter that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("filter: {kind} at {at}")]
pub struct FilterError {
    pub kind: ErrorKind,
    pub at: Position,
}

/// What was wrong with a filter. Words from the input are quoted with escapes (`{:?}`), so
/// that a control character in them (the CR of a CRLF filter file) cannot break the line.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ErrorKind {
    #[error("expected a state name after {keyword:?}")]
    MissingStateName { keyword: String },
    #[error("unknown state {0:?}")]
    UnknownState(String),
    #[error("expected a condition{}", found_suffix(.found))]
    ExpectedCondition { found: Option<String> },
    #[error("expected {what} after {keyword:?}{}", found_suffix(.found))]
    ExpectedValue {
        what: &'static str,
        keyword: String,
        found: Option<String>,
    },
    #[error("expected \")\"{}", found_suffix(.found))]
    ExpectedCloseParen { found: Option<String> },
    #[error("unmatched \")\"")]
    UnmatchedCloseParen,
    #[error("expression nests more than {0} levels deep")]
    TooDeep(usize),
    #[error("{0:?} is not an address, prefix or known host name")]
    BadAddress(String),
    #[error("{0:?} has no closing \"]\"")]
    UnclosedBracket(String),
    #[error("{0:?} is not a port number or service name")]
    BadPort(String),
    #[error("service {name:?} is tcp port {tcp} but udp port {udp}")]
    AmbiguousService { name: String, tcp: u16, udp: u16 },
    #[error("{0:?} is not an interface name or index")]
    BadInterface(String),
    #[error("{0:?} is not a link-layer protocol")]
    BadLinkProtocol(String),
    #[error("{0:?} is not a netlink protocol")]
    BadNetlinkProtocol(String),
    #[error("{0:?} is not a netlink port id")]
    BadNetlinkPort(String),
    #[error("{0:?} contains a NUL byte")]
    NulInPattern(String),
    #[error("vsock addresses are not supported")]
    VsockUnsupported,
    #[error("{0:?} is not a mark or mark/mask")]
    BadMark(String),
    #[error("{0:?} is not a cgroup path")]
    BadCgroup(String),
}

fn found_suffix(found: &Option<String>) -> String {
    match found {
        Some(word) => format!(", found {word:?}"),
        None => String::new(),
    }
}

impl ErrorKind {
    pub(super) fn at(self, at: Position) -> FilterError {
        FilterError { kind: self, at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_messages_with_position() {
        let error = ErrorKind::ExpectedValue {
            what: "an address",
            keyword: "dst".into(),
            found: None,
        }
        .at(Position::Column(5));
        assert_eq!(
            error.to_string(),
            "filter: expected an address after \"dst\" at column 5"
        );
        let error = ErrorKind::ExpectedCloseParen {
            found: Some("and".into()),
        }
        .at(Position::Line { line: 2, column: 3 });
        assert_eq!(
            error.to_string(),
            "filter: expected \")\", found \"and\" at line 2, column 3"
        );
        let error = ErrorKind::ExpectedCondition { found: None }.at(Position::End);
        assert_eq!(
            error.to_string(),
            "filter: expected a condition at end of input"
        );
    }

    #[test]
    fn control_characters_in_words_are_escaped() {
        let error = ErrorKind::ExpectedCondition {
            found: Some("state\r".into()),
        }
        .at(Position::Line { line: 1, column: 1 });
        assert_eq!(
            error.to_string(),
            "filter: expected a condition, found \"state\\r\" at line 1, column 1"
        );
        let error = ErrorKind::BadAddress("a\u{1b}[31mb".into()).at(Position::Column(5));
        assert_eq!(
            error.to_string(),
            "filter: \"a\\u{1b}[31mb\" is not an address, prefix or known host name at column 5"
        );
    }
}
