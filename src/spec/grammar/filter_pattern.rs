//! CloudWatch Logs filter patterns, as the CloudWatch Logs user guide's page "Filter pattern
//! syntax for metric filters, subscription filters, and filter log events" defines them.
//!
//! A pattern is empty (every event), unstructured terms (`ERROR`, `"exact phrase"`, `?ERROR
//! ?WARN`, `-term`), a JSON pattern in braces (`{ $.level = "ERROR" && $.code >= 500 }`,
//! conditions joined by `&&` and `||`, grouped by parentheses, each starting with a `$`
//! selector), or a space-delimited pattern in brackets (`[ip, user, ..., status = 5*]`). Text
//! between double quotes is literal; a regular expression stands between `%` signs and may hold
//! only letters, digits, the symbols `_ # = @ / ; , - :` and the operators `^ $ ? [ ] { } | \ * +
//! .` (no parentheses, no multi-byte characters); a JSON or space-delimited pattern holds at most
//! two regular expressions.
//!
//! What is checked is what can be checked reliably from that page: quotes, regular expressions
//! and brackets of every kind are closed and balanced, a JSON or space-delimited pattern is one
//! bracketed body with nothing after it and no unquoted braces or brackets of its own kind
//! inside, and a JSON body is conditions joined by `&&`/`||`. Terms and values are not
//! interpreted further, so that no pattern CloudWatch Logs accepts is refused.

use thiserror::Error;

/// Regular expressions a JSON or space-delimited pattern may hold.
pub const MAX_REGEXES: usize = 2;

/// Why CloudWatch Logs would refuse a filter pattern. Positions count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FilterPatternError {
    /// A double quote without its closing one.
    #[error("the double quote at character {at} is never closed; close the quoted text with \"")]
    UnclosedQuote {
        /// Where it opens.
        at: usize,
    },
    /// A `%` without its closing one.
    #[error(
        "the regular expression opened by '%' at character {at} is never closed; end it with %, or quote a literal % as \"…%…\""
    )]
    UnclosedRegex {
        /// Where it opens.
        at: usize,
    },
    /// A character a regular expression may not hold.
    #[error(
        "the regular expression holds {character:?} at character {at}, which CloudWatch Logs does not support in regular expressions{hint}"
    )]
    RegexCharacter {
        /// The character.
        character: char,
        /// Where.
        at: usize,
        /// How to do without it.
        hint: &'static str,
    },
    /// An opening bracket without its closing one.
    #[error("the '{open}' at character {at} is never closed; add '{close}' or quote it")]
    Unclosed {
        /// The bracket.
        open: char,
        /// Its closing counterpart.
        close: char,
        /// Where.
        at: usize,
    },
    /// A closing bracket without an opening one.
    #[error("the '{close}' at character {at} closes nothing; remove it or quote it")]
    Unopened {
        /// The bracket.
        close: char,
        /// Where.
        at: usize,
    },
    /// A closing bracket of another kind than the open one.
    #[error("the '{close}' at character {at} does not match the '{open}' at character {open_at}")]
    Mismatched {
        /// The open bracket.
        open: char,
        /// Where it opens.
        open_at: usize,
        /// The closing bracket.
        close: char,
        /// Where.
        at: usize,
    },
    /// Text after a JSON or space-delimited pattern's closing bracket.
    #[error(
        "the {kind} pattern ends with the '{close}' at character {closed_at}, yet text follows; a pattern is one {kind} body: move the text inside or remove it"
    )]
    TextAfter {
        /// `JSON` or `space-delimited`.
        kind: &'static str,
        /// Its closing bracket.
        close: char,
        /// Where the body closes.
        closed_at: usize,
    },
    /// An unquoted brace or bracket inside a body of that kind.
    #[error(
        "the '{character}' at character {at} is inside a {kind} pattern, which does not nest; quote it if it is part of a value"
    )]
    Nested {
        /// `JSON` or `space-delimited`.
        kind: &'static str,
        /// The character.
        character: char,
        /// Where.
        at: usize,
    },
    /// `{ }`.
    #[error(
        "the JSON pattern holds no condition; write one such as {{ $.level = \"ERROR\" }}, or leave the pattern empty to forward every event"
    )]
    EmptyJson,
    /// A JSON condition that does not start with a selector.
    #[error(
        "the JSON condition starting {start:?} at character {at} does not start with a property selector; conditions read like $.level = \"ERROR\""
    )]
    NoSelector {
        /// What it starts with.
        start: String,
        /// Where.
        at: usize,
    },
    /// `&&` or `||` without a condition on one side.
    #[error("the '{operator}' at character {at} needs a condition on both sides")]
    DanglingOperator {
        /// `&&` or `||`.
        operator: &'static str,
        /// Where.
        at: usize,
    },
    /// `()`.
    #[error("the parentheses at character {at} hold no condition")]
    EmptyGroup {
        /// Where they open.
        at: usize,
    },
    /// Two JSON conditions side by side.
    #[error("conditions must be joined with && or ||; add one before character {at}")]
    MissingOperator {
        /// Where the second starts.
        at: usize,
    },
    /// More than two regular expressions in a JSON or space-delimited pattern.
    #[error(
        "the {kind} pattern holds {count} regular expressions; CloudWatch Logs allows at most {MAX_REGEXES} in one"
    )]
    TooManyRegexes {
        /// `JSON` or `space-delimited`.
        kind: &'static str,
        /// How many.
        count: usize,
    },
}

/// Checks `pattern`; the first problem CloudWatch Logs would refuse it for.
pub fn check(pattern: &str) -> Result<(), FilterPatternError> {
    let tokens = lex(pattern)?;
    balance(&tokens)?;
    let (kind, open, close) = match tokens.first().map(|t| t.kind) {
        Some(Kind::Open('{')) => ("JSON", '{', '}'),
        Some(Kind::Open('[')) => ("space-delimited", '[', ']'),
        _ => return Ok(()),
    };
    let end = closing(&tokens);
    if end + 1 < tokens.len() {
        return Err(FilterPatternError::TextAfter {
            kind,
            close,
            closed_at: tokens[end].at,
        });
    }
    let body = &tokens[1..end];
    for t in body {
        if let Kind::Open(c) | Kind::Close(c) = t.kind
            && (c == open || c == close || c == '{' || c == '}')
        {
            return Err(FilterPatternError::Nested {
                kind,
                character: c,
                at: t.at,
            });
        }
    }
    let count = body.iter().filter(|t| t.kind == Kind::Regex).count();
    if count > MAX_REGEXES {
        return Err(FilterPatternError::TooManyRegexes { kind, count });
    }
    if open == '{' {
        json_body(body, pattern)?;
    }
    Ok(())
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `(`, `[` or `{`, unquoted.
    Open(char),
    /// `)`, `]` or `}`, unquoted.
    Close(char),
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `"…"`.
    Quoted,
    /// `%…%`.
    Regex,
    /// Anything else up to whitespace or one of the above.
    Text,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// 1-based character position.
    at: usize,
    /// Byte range in the pattern.
    start: usize,
    end: usize,
}

/// Splits `pattern` into tokens, checking quotes and regular expressions.
fn lex(pattern: &str) -> Result<Vec<Token>, FilterPatternError> {
    let chars: Vec<(usize, char)> = pattern.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(pattern.len(), |(b, _)| *b);
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut text: Option<usize> = None;
    let flush = |text: &mut Option<usize>, tokens: &mut Vec<Token>, i: usize| {
        if let Some(start) = text.take() {
            tokens.push(Token {
                kind: Kind::Text,
                at: start + 1,
                start: byte(start),
                end: byte(i),
            });
        }
    };
    while i < chars.len() {
        let c = chars[i].1;
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let single = match c {
            '"' | '%' => {
                flush(&mut text, &mut tokens, i);
                let end = enclosed(&chars, i, c == '%')?;
                tokens.push(Token {
                    kind: if c == '"' { Kind::Quoted } else { Kind::Regex },
                    at: i + 1,
                    start: byte(i),
                    end: byte(end + 1),
                });
                i = end + 1;
                continue;
            }
            '(' | '[' | '{' => Some(Kind::Open(c)),
            ')' | ']' | '}' => Some(Kind::Close(c)),
            '&' if next == Some('&') => Some(Kind::And),
            '|' if next == Some('|') => Some(Kind::Or),
            _ => None,
        };
        match single {
            Some(kind) => {
                flush(&mut text, &mut tokens, i);
                let len = if matches!(kind, Kind::And | Kind::Or) {
                    2
                } else {
                    1
                };
                tokens.push(Token {
                    kind,
                    at: i + 1,
                    start: byte(i),
                    end: byte(i + len),
                });
                i += len;
            }
            None if c.is_whitespace() => {
                flush(&mut text, &mut tokens, i);
                i += 1;
            }
            None => {
                text.get_or_insert(i);
                i += 1;
            }
        }
    }
    flush(&mut text, &mut tokens, i);
    Ok(tokens)
}

/// The index of the character closing the quoted text or regular expression opening at
/// `chars[open]`; a backslash escapes the next character in both.
fn enclosed(
    chars: &[(usize, char)],
    open: usize,
    regex: bool,
) -> Result<usize, FilterPatternError> {
    let delimiter = chars[open].1;
    let mut i = open + 1;
    while i < chars.len() {
        let c = chars[i].1;
        if c == delimiter {
            return Ok(i);
        }
        if c == '\\' {
            if regex
                && let Some((_, escaped)) = chars.get(i + 1)
                && !escaped.is_ascii()
            {
                return Err(multi_byte(*escaped, i + 2));
            }
            i += 2;
            continue;
        }
        if regex {
            regex_character(c, i + 1)?;
        }
        i += 1;
    }
    Err(if regex {
        FilterPatternError::UnclosedRegex { at: open + 1 }
    } else {
        FilterPatternError::UnclosedQuote { at: open + 1 }
    })
}

/// Whether a regular expression may hold `c` unescaped.
fn regex_character(c: char, at: usize) -> Result<(), FilterPatternError> {
    const SYMBOLS: &str = "_#=@/;,-: ";
    const OPERATORS: &str = "^$?[]{}|*+.";
    if c.is_ascii_alphanumeric() || SYMBOLS.contains(c) || OPERATORS.contains(c) {
        return Ok(());
    }
    if !c.is_ascii() {
        return Err(multi_byte(c, at));
    }
    let hint = if matches!(c, '(' | ')') {
        ": it has no subpatterns; use alternatives with | or a character class instead"
    } else {
        "; remove it or match it with a character class such as ."
    };
    Err(FilterPatternError::RegexCharacter {
        character: c,
        at,
        hint,
    })
}

fn multi_byte(character: char, at: usize) -> FilterPatternError {
    FilterPatternError::RegexCharacter {
        character,
        at,
        hint: ": multi-byte characters are not supported; match them with . instead",
    }
}

/// Checks that brackets of every kind are balanced and properly nested.
fn balance(tokens: &[Token]) -> Result<(), FilterPatternError> {
    let mut open: Vec<&Token> = Vec::new();
    for t in tokens {
        match t.kind {
            Kind::Open(_) => open.push(t),
            Kind::Close(close) => {
                let Some(o) = open.pop() else {
                    return Err(FilterPatternError::Unopened { close, at: t.at });
                };
                let Kind::Open(c) = o.kind else {
                    unreachable!("only openings are pushed")
                };
                if closer(c) != close {
                    return Err(FilterPatternError::Mismatched {
                        open: c,
                        open_at: o.at,
                        close,
                        at: t.at,
                    });
                }
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(Token {
            kind: Kind::Open(c),
            at,
            ..
        }) => Err(FilterPatternError::Unclosed {
            open: *c,
            close: closer(*c),
            at: *at,
        }),
        _ => Ok(()),
    }
}

fn closer(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// The index of the token closing the first one (balanced already).
fn closing(tokens: &[Token]) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len() - 1
}

/// A JSON body: conditions, each starting with a `$` selector, joined by `&&` and `||` and
/// grouped by parentheses. Inside a condition anything goes (operators, values, `IN [...]`).
fn json_body(body: &[Token], pattern: &str) -> Result<(), FilterPatternError> {
    #[derive(PartialEq)]
    enum Expect {
        /// A condition or `(`.
        Operand,
        /// More of the current condition, `&&`, `||` or `)`.
        InCondition,
        /// `&&`, `||` or `)` after a group.
        AfterGroup,
    }
    if body.is_empty() {
        return Err(FilterPatternError::EmptyJson);
    }
    let mut expect = Expect::Operand;
    let mut previous: Option<&Token> = None;
    for t in body {
        match t.kind {
            Kind::Open('(') if expect == Expect::Operand => {}
            Kind::Open('(') => return Err(FilterPatternError::MissingOperator { at: t.at }),
            Kind::Close(')') if expect != Expect::Operand => expect = Expect::AfterGroup,
            Kind::Close(')') => {
                return Err(match previous {
                    Some(p) if p.kind == Kind::Open('(') => {
                        FilterPatternError::EmptyGroup { at: p.at }
                    }
                    Some(p) => dangling(p),
                    None => unreachable!("balanced: a ')' follows its '('"),
                });
            }
            Kind::And | Kind::Or if expect == Expect::Operand => return Err(dangling(t)),
            Kind::And | Kind::Or => expect = Expect::Operand,
            _ if expect == Expect::AfterGroup => {
                return Err(FilterPatternError::MissingOperator { at: t.at });
            }
            _ if expect == Expect::Operand => {
                let start = &pattern[t.start..t.end];
                if t.kind != Kind::Text || !start.starts_with('$') {
                    return Err(FilterPatternError::NoSelector {
                        start: start.to_owned(),
                        at: t.at,
                    });
                }
                expect = Expect::InCondition;
            }
            _ => {}
        }
        previous = Some(t);
    }
    match (expect, previous) {
        (Expect::Operand, Some(p)) => Err(dangling(p)),
        _ => Ok(()),
    }
}

fn dangling(t: &Token) -> FilterPatternError {
    FilterPatternError::DanglingOperator {
        operator: if t.kind == Kind::And { "&&" } else { "||" },
        at: t.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_quoted_text_and_regexes_whole() {
        let kinds: Vec<Kind> = lex(r#"{ $.a = "x && y" || $.b = %a[0-9]{2}% }"#)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                Kind::Open('{'),
                Kind::Text,
                Kind::Text,
                Kind::Quoted,
                Kind::Or,
                Kind::Text,
                Kind::Text,
                Kind::Regex,
                Kind::Close('}')
            ]
        );
    }

    #[test]
    fn an_escaped_quote_does_not_close_quoted_text() {
        assert_eq!(check(r#""say \"hi\"""#), Ok(()));
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            check("\"é\" )"),
            Err(FilterPatternError::Unopened { close: ')', at: 5 })
        );
    }
}
