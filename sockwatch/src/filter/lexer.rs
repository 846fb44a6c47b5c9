//! Filter text to words, and words to tokens, as ss's lexer does: each command-line argument
//! and each file line is split at blanks and tabs (so `'( dport = :22 )'` in one argument
//! works, but `(dport` is one word), a backslash makes the next character literal, and a word
//! is a keyword or operator only when it is exactly one.

use super::error::Position;

/// One word of filter text and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Word {
    pub text: String,
    pub at: Position,
}

/// Splits one argument or line into words; `position` maps a character index to a Position.
fn split_into(text: &str, position: impl Fn(usize) -> Position, words: &mut Vec<Word>) {
    let mut chars = text.chars().enumerate();
    let mut current: Option<(usize, String)> = None;
    while let Some((index, c)) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some((start, text)) = current.take() {
                    words.push(Word {
                        text,
                        at: position(start),
                    });
                }
            }
            '\\' => {
                let (_, word) = current.get_or_insert_with(|| (index, String::new()));
                if let Some((_, escaped)) = chars.next() {
                    word.push(escaped);
                }
            }
            c => current
                .get_or_insert_with(|| (index, String::new()))
                .1
                .push(c),
        }
    }
    if let Some((start, text)) = current {
        words.push(Word {
            text,
            at: position(start),
        });
    }
}

/// Each argument with the 1-based column it starts at when all are joined with single spaces.
pub(super) fn with_columns<S: AsRef<str>>(args: &[S]) -> Vec<(usize, &str)> {
    let mut column = 1;
    args.iter()
        .map(|arg| {
            let arg = arg.as_ref();
            let start = column;
            column += arg.chars().count() + 1;
            (start, arg)
        })
        .collect()
}

/// The words of command-line arguments.
pub(super) fn words_of_args(args: &[(usize, &str)]) -> Vec<Word> {
    let mut words = Vec::new();
    for &(column, arg) in args {
        split_into(arg, |index| Position::Column(column + index), &mut words);
    }
    words
}

/// The words of a filter file. Lines starting with `#` are comments; so are lines starting
/// with `0`, which ss skips too (it tests for '0' where it surely meant the empty line).
pub(super) fn words_of_file(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for (number, line) in text.split('\n').enumerate() {
        if line.starts_with(['#', '0']) {
            continue;
        }
        let position = |index: usize| Position::Line {
            line: number + 1,
            column: index + 1,
        };
        split_into(line, position, &mut words);
    }
    words
}

/// What a word means to the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Not,
    And,
    Or,
    Open,
    Close,
    Keyword(Keyword),
    Autobound,
    Op(Op),
    /// Anything else: an address, port, interface, mark or path.
    Value,
}

/// The words that start a condition with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keyword {
    Src,
    Dst,
    Sport,
    Dport,
    Dev,
    Fwmark,
    Cgroup,
}

impl Keyword {
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Src => "src",
            Keyword::Dst => "dst",
            Keyword::Sport => "sport",
            Keyword::Dport => "dport",
            Keyword::Dev => "dev",
            Keyword::Fwmark => "fwmark",
            Keyword::Cgroup => "cgroup",
        }
    }
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

pub(super) fn classify(word: &str) -> Token {
    match word {
        "!" | "not" => Token::Not,
        "&" | "&&" | "and" => Token::And,
        "|" | "||" | "or" => Token::Or,
        "(" => Token::Open,
        ")" => Token::Close,
        "src" => Token::Keyword(Keyword::Src),
        "dst" => Token::Keyword(Keyword::Dst),
        "sport" => Token::Keyword(Keyword::Sport),
        "dport" => Token::Keyword(Keyword::Dport),
        "dev" => Token::Keyword(Keyword::Dev),
        "fwmark" => Token::Keyword(Keyword::Fwmark),
        "cgroup" => Token::Keyword(Keyword::Cgroup),
        "autobound" => Token::Autobound,
        "=" | "==" | "eq" => Token::Op(Op::Eq),
        "!=" | "ne" | "neq" => Token::Op(Op::Ne),
        ">=" | "ge" | "geq" => Token::Op(Op::Ge),
        "<=" | "le" | "leq" => Token::Op(Op::Le),
        ">" | "gt" => Token::Op(Op::Gt),
        "<" | "lt" => Token::Op(Op::Lt),
        _ => Token::Value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(words: &[Word]) -> Vec<&str> {
        words.iter().map(|word| word.text.as_str()).collect()
    }

    #[test]
    fn arguments_split_at_blanks_with_columns() {
        let args = ["state", "established", "( dport = :ssh\tor  x )"];
        let words = words_of_args(&with_columns(&args)[2..]);
        assert_eq!(texts(&words), ["(", "dport", "=", ":ssh", "or", "x", ")"]);
        // "state established " is 18 characters, so the third argument starts at column 19.
        assert_eq!(words[0].at, Position::Column(19));
        assert_eq!(words[1].at, Position::Column(21));
        assert_eq!(words[5].at, Position::Column(38));
    }

    #[test]
    fn parentheses_must_stand_alone() {
        let words = words_of_args(&with_columns(&["(dport", "= 22)"]));
        assert_eq!(texts(&words), ["(dport", "=", "22)"]);
        assert_eq!(classify("(dport"), Token::Value);
    }

    #[test]
    fn backslash_escapes_the_next_character() {
        let words = words_of_args(&with_columns(&[r"src unix:/tmp/a\ b\\c \(x tail\"]));
        assert_eq!(texts(&words), ["src", r"unix:/tmp/a b\c", "(x", "tail"]);
        let words = words_of_args(&with_columns(&[r"\"]));
        assert_eq!(
            texts(&words),
            [""],
            "a lone backslash is an empty word, as in ss"
        );
    }

    #[test]
    fn file_lines_and_comments() {
        let text = "# ssh traffic\n( dport = :ssh\n  or sport = :ssh )\n0 ignored too\n\r\n";
        let words = words_of_file(text);
        assert_eq!(
            texts(&words),
            ["(", "dport", "=", ":ssh", "or", "sport", "=", ":ssh", ")", "\r"]
        );
        assert_eq!(words[4].at, Position::Line { line: 3, column: 3 });
    }

    #[test]
    fn every_operator_spelling() {
        for word in ["!", "not"] {
            assert_eq!(classify(word), Token::Not);
        }
        for word in ["&", "&&", "and"] {
            assert_eq!(classify(word), Token::And);
        }
        for word in ["|", "||", "or"] {
            assert_eq!(classify(word), Token::Or);
        }
        for (words, op) in [
            (&["=", "==", "eq"][..], Op::Eq),
            (&["!=", "ne", "neq"], Op::Ne),
            (&[">=", "ge", "geq"], Op::Ge),
            (&["<=", "le", "leq"], Op::Le),
            (&[">", "gt"], Op::Gt),
            (&["<", "lt"], Op::Lt),
        ] {
            for word in words {
                assert_eq!(classify(word), Token::Op(op), "{word}");
            }
        }
        assert_eq!(classify("AND"), Token::Value, "keywords are case-sensitive");
        assert_eq!(classify("inode"), Token::Value, "ss has no inode condition");
    }
}
