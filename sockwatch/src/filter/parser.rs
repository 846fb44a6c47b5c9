//! The expression grammar of ss's ssfilter.y, by recursive descent:
//!
//! ```text
//! filter    := [list]
//! list      := term { ["and" | "or"] term }      (and/or: equal precedence, left to right)
//! term      := "(" list ")" | "not" term | condition
//! condition := ("src" | "dst") ["="] ADDRESS
//!            | ("sport" | "dport") ["=" | "!=" | ">=" | "<=" | ">" | "<"] PORT
//!            | ("dev" | "fwmark" | "cgroup") ["=" | "!="] VALUE
//!            | "autobound"
//! ```
//!
//! So `a or b and c` is `(a or b) and c`, as in ss.

use super::{
    ast::{Expr, Family, Side},
    error::{ErrorKind, FilterError, Position},
    lexer::{classify, Keyword, Op, Token, Word},
    value, ParseContext,
};

/// How deep parentheses, negations and and/or alternations may nest.
pub(super) const MAX_DEPTH: usize = 100;

/// A parsed expression and the family its addresses named last (ss then shows only that one).
pub(super) struct Parsed {
    pub expr: Option<Expr>,
    pub family: Option<Family>,
}

pub(super) fn parse(words: &[Word], ctx: &ParseContext) -> Result<Parsed, FilterError> {
    let mut parser = Parser {
        words,
        next: 0,
        ctx,
        family: None,
    };
    if words.is_empty() {
        return Ok(Parsed {
            expr: None,
            family: None,
        });
    }
    let (expr, _) = parser.list(0)?;
    if parser.peek().is_some() {
        // list() stops only at the end or at a ")" no "(" opened.
        return Err(ErrorKind::UnmatchedCloseParen.at(parser.position()));
    }
    Ok(Parsed {
        expr: Some(expr),
        family: parser.family,
    })
}

struct Parser<'w, 'c> {
    words: &'w [Word],
    next: usize,
    ctx: &'w ParseContext<'c>,
    family: Option<Family>,
}

/// An expression and the depth of its tree.
type Sub = (Expr, usize);

impl<'w> Parser<'w, '_> {
    fn peek(&self) -> Option<(&'w Word, Token)> {
        let word = self.words.get(self.next)?;
        Some((word, classify(&word.text)))
    }

    fn advance(&mut self) {
        self.next += 1;
    }

    fn position(&self) -> Position {
        self.words
            .get(self.next)
            .map_or(Position::End, |word| word.at)
    }

    fn found(&self) -> Option<String> {
        self.peek().map(|(word, _)| word.text.clone())
    }

    fn too_deep(&self, depth: usize) -> Result<(), FilterError> {
        if depth > MAX_DEPTH {
            return Err(ErrorKind::TooDeep(MAX_DEPTH).at(self.position()));
        }
        Ok(())
    }

    fn list(&mut self, nesting: usize) -> Result<Sub, FilterError> {
        let mut left = self.term(nesting)?;
        loop {
            let any = match self.peek() {
                None | Some((_, Token::Close)) => return Ok(left),
                Some((_, Token::Or)) => {
                    self.advance();
                    true
                }
                Some((_, Token::And)) => {
                    self.advance();
                    false
                }
                // Two terms side by side: an implicit "and".
                Some(_) => false,
            };
            let right = self.term(nesting)?;
            left = join(any, left, right);
            self.too_deep(left.1)?;
        }
    }

    fn term(&mut self, nesting: usize) -> Result<Sub, FilterError> {
        self.too_deep(nesting)?;
        let Some((word, token)) = self.peek() else {
            return Err(ErrorKind::ExpectedCondition { found: None }.at(Position::End));
        };
        match token {
            Token::Open => {
                self.advance();
                let inner = self.list(nesting + 1)?;
                match self.peek() {
                    Some((_, Token::Close)) => {
                        self.advance();
                        Ok(inner)
                    }
                    _ => Err(ErrorKind::ExpectedCloseParen {
                        found: self.found(),
                    }
                    .at(self.position())),
                }
            }
            Token::Not => {
                self.advance();
                let (inner, depth) = self.term(nesting + 1)?;
                Ok((Expr::Not(Box::new(inner)), depth + 1))
            }
            Token::Keyword(keyword) => {
                self.advance();
                Ok((self.condition(keyword)?, 1))
            }
            Token::Autobound => {
                self.advance();
                let ephemeral = self.ctx.lookup.ephemeral_ports();
                Ok((Expr::Autobound { ephemeral }, 1))
            }
            Token::And | Token::Or | Token::Close | Token::Op(_) | Token::Value => {
                Err(ErrorKind::ExpectedCondition {
                    found: Some(word.text.clone()),
                }
                .at(word.at))
            }
        }
    }

    /// The comparison operator after a keyword, if one is there.
    fn operator(&mut self) -> Option<(Op, &'w Word)> {
        match self.peek()? {
            (word, Token::Op(op)) => {
                self.advance();
                Some((op, word))
            }
            _ => None,
        }
    }

    /// The value after a keyword (and operator).
    fn value(&mut self, keyword: Keyword) -> Result<&'w Word, FilterError> {
        match self.peek() {
            Some((word, Token::Value)) => {
                self.advance();
                Ok(word)
            }
            _ => Err(expected_value(keyword, self.found(), self.position())),
        }
    }

    fn condition(&mut self, keyword: Keyword) -> Result<Expr, FilterError> {
        let operator = self.operator();
        let op = operator.map(|(op, _)| op).unwrap_or(Op::Eq);
        let allowed = match keyword {
            Keyword::Src | Keyword::Dst => op == Op::Eq,
            Keyword::Dev | Keyword::Fwmark | Keyword::Cgroup => matches!(op, Op::Eq | Op::Ne),
            Keyword::Sport | Keyword::Dport => true,
        };
        if let Some((_, word)) = operator.filter(|_| !allowed) {
            return Err(expected_value(keyword, Some(word.text.clone()), word.at));
        }
        let word = self.value(keyword)?;
        let text = word.text.clone();
        let at_value = |kind: ErrorKind| kind.at(word.at);
        let side = match keyword {
            Keyword::Src | Keyword::Sport => Side::Local,
            _ => Side::Remote,
        };
        let expr = match keyword {
            Keyword::Src | Keyword::Dst | Keyword::Sport | Keyword::Dport => {
                let port_only = matches!(keyword, Keyword::Sport | Keyword::Dport);
                let (cond, family) =
                    value::host_cond(&word.text, port_only, self.ctx).map_err(at_value)?;
                if family.is_some() {
                    self.family = family;
                }
                let port = cond.port.unwrap_or(-1);
                match op {
                    Op::Eq | Op::Ne => Expr::Host { side, cond },
                    Op::Ge | Op::Lt => Expr::PortAtLeast { side, port, text },
                    Op::Le | Op::Gt => Expr::PortAtMost { side, port, text },
                }
            }
            Keyword::Dev => Expr::Dev {
                index: value::device(&word.text, self.ctx).map_err(at_value)?,
                text,
            },
            Keyword::Fwmark => {
                let (value, mask) = value::mark(&word.text).map_err(at_value)?;
                Expr::Mark { value, mask, text }
            }
            Keyword::Cgroup => Expr::Cgroup {
                id: value::cgroup(&word.text, self.ctx).map_err(at_value)?,
                text,
            },
        };
        // `!=`, `>` and `<` are negations of `=`, `<=` and `>=`, as ss builds them.
        Ok(match op {
            Op::Ne | Op::Gt | Op::Lt => Expr::Not(Box::new(expr)),
            Op::Eq | Op::Ge | Op::Le => expr,
        })
    }
}

fn expected_value(keyword: Keyword, found: Option<String>, at: Position) -> FilterError {
    let what = match keyword {
        Keyword::Src | Keyword::Dst => "an address",
        Keyword::Sport | Keyword::Dport => "a port",
        Keyword::Dev => "an interface",
        Keyword::Fwmark => "a mark",
        Keyword::Cgroup => "a cgroup path",
    };
    ErrorKind::ExpectedValue {
        what,
        keyword: keyword.name().to_string(),
        found,
    }
    .at(at)
}

/// `left or right` (`any`) or `left and right`, extending `left` when it is the same kind of
/// chain: a and b and c is one three-term All.
fn join(any: bool, (left, left_depth): Sub, (right, right_depth): Sub) -> Sub {
    match (any, left) {
        (true, Expr::Any(mut terms)) | (false, Expr::All(mut terms)) => {
            terms.push(right);
            let chain = if any {
                Expr::Any(terms)
            } else {
                Expr::All(terms)
            };
            (chain, left_depth.max(right_depth + 1))
        }
        (any, left) => {
            let terms = vec![left, right];
            let chain = if any {
                Expr::Any(terms)
            } else {
                Expr::All(terms)
            };
            (chain, left_depth.max(right_depth) + 1)
        }
    }
}
