//! Java `DateTimeFormatter` patterns, the values of Firehose's `!{timestamp:PATTERN}`: the
//! Firehose page links Java 8's `DateTimeFormatter`, whose documentation defines the pattern
//! letters and how many times each may repeat. Unquoted ASCII letters are pattern letters, text
//! in single quotes is literal (`''` is a quote), `[…]` is an optional section, and `#`, `{`, `}`
//! are reserved.

use thiserror::Error;

/// Why Java's `DateTimeFormatter` (Java 8, as the Firehose page links) refuses a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TimestampError {
    /// `!{timestamp:}`.
    #[error("the pattern is empty; write a date-time pattern such as yyyy/MM/dd")]
    Empty,
    /// An ASCII letter that is not a pattern letter.
    #[error(
        "'{letter}' is not a DateTimeFormatter pattern letter; put literal text in single quotes, e.g. 'T'"
    )]
    UnknownLetter {
        /// The letter.
        letter: char,
    },
    /// A pattern letter repeated more (or other) times than it takes.
    #[error("{count} × '{letter}' is not allowed; DateTimeFormatter takes {allowed} '{letter}'")]
    Count {
        /// The letter.
        letter: char,
        /// How many times it is repeated.
        count: usize,
        /// The counts it takes, e.g. `1 or 2`.
        allowed: &'static str,
    },
    /// `#`, `{` or `}`, reserved for future use.
    #[error("'{character}' is reserved by DateTimeFormatter; put it in single quotes")]
    Reserved {
        /// The character.
        character: char,
    },
    /// A single quote without its closing one.
    #[error(
        "a single quote opens literal text that is never closed; close it with another ' (write '' for a quote itself)"
    )]
    UnclosedQuote,
    /// `]` without `[`.
    #[error("']' closes an optional section that was never opened with '['")]
    UnopenedOptional,
    /// `[` without `]`.
    #[error("'[' opens an optional section that is never closed with ']'")]
    UnclosedOptional,
    /// `p` (pad) with nothing after it.
    #[error("the pad letter 'p' must be followed by the field it pads")]
    PadAtEnd,
}

/// Checks a `DateTimeFormatter` pattern; the fewest characters it prints (text outside optional
/// sections: quoted text, other literal characters, and each field at its least width).
pub(super) fn min_len(pattern: &str) -> Result<usize, TimestampError> {
    if pattern.is_empty() {
        return Err(TimestampError::Empty);
    }
    let chars: Vec<char> = pattern.chars().collect();
    let (mut i, mut optional, mut min) = (0, 0usize, 0);
    // What an element prints counts only outside optional sections, which may print nothing.
    let mut add = |n: usize, optional: usize| {
        if optional == 0 {
            min += n;
        }
    };
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                let (len, next) = quoted(&chars, i)?;
                add(len, optional);
                i = next;
            }
            '[' => {
                optional += 1;
                i += 1;
            }
            ']' => {
                optional = optional
                    .checked_sub(1)
                    .ok_or(TimestampError::UnopenedOptional)?;
                i += 1;
            }
            character @ ('#' | '{' | '}') => return Err(TimestampError::Reserved { character }),
            letter if letter.is_ascii_alphabetic() => {
                let count = chars[i..].iter().take_while(|c| **c == letter).count();
                check_letter(letter, count)?;
                if letter == 'p' && i + count == chars.len() {
                    return Err(TimestampError::PadAtEnd);
                }
                add(least_width(letter, count), optional);
                i += count;
            }
            _ => {
                add(1, optional);
                i += 1;
            }
        }
    }
    if optional > 0 {
        return Err(TimestampError::UnclosedOptional);
    }
    Ok(min)
}

/// The quoted text opening at `chars[start]`: its printed length and the index after it. `''`
/// prints one quote, inside quoted text or out.
fn quoted(chars: &[char], start: usize) -> Result<(usize, usize), TimestampError> {
    if chars.get(start + 1) == Some(&'\'') {
        return Ok((1, start + 2));
    }
    let (mut i, mut len) = (start + 1, 0);
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                len += 1;
                i += 2;
                continue;
            }
            return Ok((len, i + 1));
        }
        len += 1;
        i += 1;
    }
    Err(TimestampError::UnclosedQuote)
}

/// Whether `DateTimeFormatter` takes `count` repetitions of pattern letter `letter` (the
/// counts its documentation and `DateTimeFormatterBuilder.appendPattern` state).
fn check_letter(letter: char, count: usize) -> Result<(), TimestampError> {
    let (allowed, ok) = match letter {
        'G' | 'M' | 'L' | 'Q' | 'q' | 'E' | 'e' | 'X' | 'x' | 'Z' => ("1 to 5", count <= 5),
        'u' | 'y' | 'Y' | 'A' | 'n' | 'N' => ("1 to 19", count <= 19),
        'D' => ("1 to 3", count <= 3),
        'd' | 'h' | 'H' | 'k' | 'K' | 'm' | 's' | 'w' => ("1 or 2", count <= 2),
        'W' | 'F' | 'a' => ("1", count == 1),
        'S' => ("1 to 9", count <= 9),
        'z' => ("1 to 4", count <= 4),
        'c' => ("1, 3, 4 or 5", matches!(count, 1 | 3..=5)),
        'V' => ("2", count == 2),
        'O' => ("1 or 4", matches!(count, 1 | 4)),
        'p' => return Ok(()),
        _ => return Err(TimestampError::UnknownLetter { letter }),
    };
    if ok {
        Ok(())
    } else {
        Err(TimestampError::Count {
            letter,
            count,
            allowed,
        })
    }
}

/// The fewest characters `count` × `letter` prints: numbers are zero-padded to the count (a
/// two-letter year prints two digits), text prints at least one character.
fn least_width(letter: char, count: usize) -> usize {
    match letter {
        'y' | 'u' | 'Y' | 'D' | 'd' | 'H' | 'h' | 'K' | 'k' | 'm' | 's' | 'S' | 'w' | 'W' | 'F'
        | 'A' | 'n' | 'N' => count,
        'M' | 'L' | 'Q' | 'q' | 'e' if count <= 2 => count,
        'p' => 0,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(pattern: &str) -> TimestampError {
        min_len(pattern).expect_err(pattern)
    }

    #[test]
    fn timestamp_patterns_datetimeformatter_refuses_are_refused() {
        for (pattern, expected) in [
            ("", TimestampError::Empty),
            (
                "yyyy-MM-ddTHH",
                TimestampError::UnknownLetter { letter: 'T' },
            ),
            ("YYYY/bb", TimestampError::UnknownLetter { letter: 'b' }),
            (
                "ddd",
                TimestampError::Count {
                    letter: 'd',
                    count: 3,
                    allowed: "1 or 2",
                },
            ),
            (
                "MMMMMM",
                TimestampError::Count {
                    letter: 'M',
                    count: 6,
                    allowed: "1 to 5",
                },
            ),
            (
                "HHH",
                TimestampError::Count {
                    letter: 'H',
                    count: 3,
                    allowed: "1 or 2",
                },
            ),
            (
                "V",
                TimestampError::Count {
                    letter: 'V',
                    count: 1,
                    allowed: "2",
                },
            ),
            (
                "aa",
                TimestampError::Count {
                    letter: 'a',
                    count: 2,
                    allowed: "1",
                },
            ),
            ("yyyy#", TimestampError::Reserved { character: '#' }),
            ("yyyy'/MM", TimestampError::UnclosedQuote),
            ("yyyy]", TimestampError::UnopenedOptional),
            ("yyyy[MM", TimestampError::UnclosedOptional),
            ("yyyyp", TimestampError::PadAtEnd),
        ] {
            assert_eq!(error(pattern), expected, "{pattern:?}");
        }
    }
}
