//! Firehose's S3 prefix expressions, as the Amazon Data Firehose developer guide's page "Custom
//! Prefixes for Amazon S3 Objects" defines them.
//!
//! A prefix is literal text with expressions `!{namespace:value}`:
//! - `!{timestamp:PATTERN}`: the arrival time formatted by a Java `DateTimeFormatter` pattern
//!   (the page links Java 8's), where unquoted ASCII letters are pattern letters;
//! - `!{firehose:random-string}`: 11 random characters;
//! - `!{firehose:error-output-type}`: why records failed, in the error prefix only.
//!
//! The page's semantic rules: `!{` appears only in such expressions (so they are closed and
//! never nested); the delivery prefix cannot contain `!{firehose:error-output-type}`; an error
//! prefix with expressions must contain it; neither prefix may exceed 512 characters once
//! evaluated. The `partitionKeyFromQuery` and `partitionKeyFromLambda` namespaces read the keys
//! of dynamic partitioning, which pitagora does not configure, so Firehose would refuse them.

use thiserror::Error;

mod timestamp;
pub use timestamp::TimestampError;

/// What opens an expression.
const EXPRESSION_START: &str = "!{";
/// What a prefix may evaluate to at most, in characters.
pub const MAX_EVALUATED_LEN: usize = 512;
/// What `!{firehose:random-string}` evaluates to, in characters.
const RANDOM_STRING_LEN: usize = 11;

/// The part of an S3 key prefix before any expression: what every key under it starts with, and
/// so what S3 notification filters and IAM resources can match on.
pub fn static_prefix(prefix: &str) -> &str {
    prefix.split(EXPRESSION_START).next().unwrap_or("")
}

/// Which of Firehose's two prefixes a value is: they differ in what they may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixKind {
    /// `Prefix`: where delivered records go.
    Delivery,
    /// `ErrorOutputPrefix`: where records Firehose could not process or deliver go.
    Error,
}

/// One piece of a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// Text copied as is.
    Literal(&'a str),
    /// `!{timestamp:PATTERN}`, with its pattern.
    Timestamp(&'a str),
    /// `!{firehose:random-string}`.
    RandomString,
    /// `!{firehose:error-output-type}`.
    ErrorOutputType,
}

/// A prefix Firehose accepts, split into literal text and expressions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Its pieces, in order.
    pub parts: Vec<Part<'a>>,
}

/// Why Firehose would refuse a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PrefixError {
    /// `!{` without a closing `}`.
    #[error(
        "the expression starting at character {at} is never closed; end it with '}}' as in !{{timestamp:yyyy}}"
    )]
    Unclosed {
        /// 1-based character position of its `!{`.
        at: usize,
    },
    /// `!{` inside an expression.
    #[error(
        "the expression starting at character {at} contains another one; Firehose does not nest expressions: write them one after the other, e.g. !{{timestamp:yyyy}}/!{{firehose:random-string}}/"
    )]
    Nested {
        /// 1-based character position of the outer `!{`.
        at: usize,
    },
    /// `!{value}` without `namespace:`.
    #[error(
        "!{{{expression}}} names no namespace; write !{{timestamp:<pattern>}} or !{{firehose:random-string}}"
    )]
    NoNamespace {
        /// What is between the braces.
        expression: String,
    },
    /// `partitionKeyFromQuery` or `partitionKeyFromLambda`.
    #[error(
        "!{{{namespace}:…}} reads a key of Firehose dynamic partitioning, which pitagora does not configure, so Firehose would refuse the stream; use !{{timestamp:…}} or !{{firehose:random-string}}"
    )]
    DynamicPartitioning {
        /// The namespace as written.
        namespace: String,
    },
    /// A namespace Firehose does not know.
    #[error(
        "unknown namespace {namespace:?}; Firehose evaluates !{{timestamp:<pattern>}} and !{{firehose:random-string}}"
    )]
    UnknownNamespace {
        /// The namespace as written.
        namespace: String,
    },
    /// `!{firehose:X}` with an X Firehose does not know.
    #[error(
        "!{{firehose:{value}}} is not a Firehose value; use !{{firehose:random-string}} or, in the error prefix only, !{{firehose:error-output-type}}"
    )]
    UnknownFirehoseValue {
        /// The value as written.
        value: String,
    },
    /// `!{firehose:error-output-type}` in the delivery prefix.
    #[error(
        "!{{firehose:error-output-type}} belongs in the error prefix only (spec.delivery.errorOutputPrefix); Firehose refuses it in the delivery prefix: remove it"
    )]
    ErrorTypeInDeliveryPrefix,
    /// A timestamp pattern `DateTimeFormatter` refuses.
    #[error("in !{{timestamp:{pattern}}}: {problem}")]
    Timestamp {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        problem: TimestampError,
    },
}

impl<'a> Prefix<'a> {
    /// Parses `text` as a prefix of `kind`; the first problem Firehose would refuse it for.
    pub fn parse(text: &'a str, kind: PrefixKind) -> Result<Self, PrefixError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        while let Some(start) = rest.find(EXPRESSION_START) {
            if start > 0 {
                parts.push(Part::Literal(&rest[..start]));
            }
            let at = text[..consumed + start].chars().count() + 1;
            let body_start = start + EXPRESSION_START.len();
            let Some(len) = rest[body_start..].find('}') else {
                return Err(PrefixError::Unclosed { at });
            };
            let body = &rest[body_start..body_start + len];
            if body.contains(EXPRESSION_START) {
                return Err(PrefixError::Nested { at });
            }
            parts.push(expression(body, kind)?);
            let end = body_start + len + 1;
            consumed += end;
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest));
        }
        Ok(Self { parts })
    }

    /// Whether it has any expression.
    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    /// Whether it has `!{firehose:error-output-type}`.
    pub fn has_error_output_type(&self) -> bool {
        self.parts.contains(&Part::ErrorOutputType)
    }

    /// The fewest characters it can evaluate to: its literal text, the random strings, and what
    /// the timestamps print at the least. The error type counts for nothing: its list of values
    /// grows with Firehose's destinations.
    pub fn min_evaluated_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Literal(s) => s.chars().count(),
                Part::Timestamp(pattern) => timestamp::min_len(pattern).unwrap_or(0),
                Part::RandomString => RANDOM_STRING_LEN,
                Part::ErrorOutputType => 0,
            })
            .sum()
    }
}

/// The expression between `!{` and `}`.
fn expression(body: &str, kind: PrefixKind) -> Result<Part<'_>, PrefixError> {
    let Some((namespace, value)) = body.split_once(':') else {
        return Err(PrefixError::NoNamespace {
            expression: body.to_owned(),
        });
    };
    match namespace {
        "timestamp" => match timestamp::min_len(value) {
            Ok(_) => Ok(Part::Timestamp(value)),
            Err(problem) => Err(PrefixError::Timestamp {
                pattern: value.to_owned(),
                problem,
            }),
        },
        "firehose" => match value {
            "random-string" => Ok(Part::RandomString),
            "error-output-type" if kind == PrefixKind::Delivery => {
                Err(PrefixError::ErrorTypeInDeliveryPrefix)
            }
            "error-output-type" => Ok(Part::ErrorOutputType),
            other => Err(PrefixError::UnknownFirehoseValue {
                value: other.to_owned(),
            }),
        },
        "partitionKeyFromQuery" | "partitionKeyFromLambda" => {
            Err(PrefixError::DynamicPartitioning {
                namespace: namespace.to_owned(),
            })
        }
        other => Err(PrefixError::UnknownNamespace {
            namespace: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PrefixKind::{Delivery, Error};

    fn error(text: &str, kind: PrefixKind) -> PrefixError {
        Prefix::parse(text, kind).expect_err(text)
    }

    #[test]
    fn prefixes_firehose_accepts_parse() {
        for (text, kind) in [
            ("raw/", Delivery),
            ("", Delivery),
            ("logs/!{timestamp:yyyy/MM/dd}/", Delivery),
            ("dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/", Delivery),
            ("!{firehose:random-string}/logs/", Delivery),
            (
                "year=!{timestamp:yyyy}/rand=!{firehose:random-string}",
                Delivery,
            ),
            ("failed/!{firehose:error-output-type}/", Error),
            (
                "failed/!{timestamp:'year='yyyy'/month='MM}/!{firehose:error-output-type}",
                Error,
            ),
            ("logs/!{timestamp:yyyy-MM-dd'T'HH}/", Delivery),
            ("logs/!{timestamp:yyyy[-MM]}/", Delivery),
            ("logs/!{timestamp:''yy''}/", Delivery),
            ("logs/!{timestamp:EEEE, MMM d}/", Delivery),
            ("logs/!{timestamp:SSSSSSSSS}/", Delivery),
            ("100% {literal}/", Delivery),
        ] {
            assert!(
                Prefix::parse(text, kind).is_ok(),
                "{text}: {:?}",
                Prefix::parse(text, kind)
            );
        }
    }

    #[test]
    fn a_parsed_prefix_keeps_its_literals_and_expressions_in_order() {
        let p = Prefix::parse(
            "a/!{timestamp:yyyy}/!{firehose:random-string}!{firehose:error-output-type}",
            Error,
        )
        .unwrap();
        assert_eq!(
            p.parts,
            [
                Part::Literal("a/"),
                Part::Timestamp("yyyy"),
                Part::Literal("/"),
                Part::RandomString,
                Part::ErrorOutputType
            ]
        );
        assert!(p.has_expressions() && p.has_error_output_type());
    }

    #[test]
    fn malformed_expressions_are_refused_naming_where_they_start() {
        assert_eq!(
            error("logs/!{timestamp:yyyy", Delivery),
            PrefixError::Unclosed { at: 6 }
        );
        assert_eq!(
            error("a/!{timestamp:!{firehose:random-string}}/", Delivery),
            PrefixError::Nested { at: 3 }
        );
        assert_eq!(
            error("ok/!{timestamp:yyyy}/!{", Delivery),
            PrefixError::Unclosed { at: 22 }
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            error("é/!{timestamp:yyyy", Delivery),
            PrefixError::Unclosed { at: 3 }
        );
    }

    #[test]
    fn namespaces_other_than_timestamp_and_firehose_are_refused() {
        for (text, expected) in [
            (
                "!{partitionKeyFromQuery:customer}/",
                PrefixError::DynamicPartitioning {
                    namespace: "partitionKeyFromQuery".into(),
                },
            ),
            (
                "!{partitionKeyFromLambda:id}/",
                PrefixError::DynamicPartitioning {
                    namespace: "partitionKeyFromLambda".into(),
                },
            ),
            (
                "!{Timestamp:yyyy}/",
                PrefixError::UnknownNamespace {
                    namespace: "Timestamp".into(),
                },
            ),
            (
                "!{yyyy}/",
                PrefixError::NoNamespace {
                    expression: "yyyy".into(),
                },
            ),
        ] {
            assert_eq!(error(text, Delivery), expected, "{text}");
        }
    }

    #[test]
    fn firehose_knows_only_random_string_and_error_output_type() {
        assert_eq!(
            error("!{firehose:uuid}/", Error),
            PrefixError::UnknownFirehoseValue {
                value: "uuid".into()
            }
        );
    }

    #[test]
    fn the_error_output_type_belongs_to_the_error_prefix_only() {
        assert_eq!(
            error("raw/!{firehose:error-output-type}/", Delivery),
            PrefixError::ErrorTypeInDeliveryPrefix
        );
        assert!(Prefix::parse("raw/!{firehose:error-output-type}/", Error).is_ok());
    }

    #[test]
    fn a_timestamp_pattern_datetimeformatter_refuses_is_reported_with_its_expression() {
        let e = error("logs/!{timestamp:yyyy-MM-ddTHH}/", Delivery);
        assert_eq!(
            e,
            PrefixError::Timestamp {
                pattern: "yyyy-MM-ddTHH".into(),
                problem: TimestampError::UnknownLetter { letter: 'T' }
            }
        );
        assert!(e.to_string().contains("!{timestamp:yyyy-MM-ddTHH}"), "{e}");
    }

    #[test]
    fn the_least_evaluated_length_counts_literals_random_strings_and_padded_fields() {
        let len = |text: &str| Prefix::parse(text, Error).unwrap().min_evaluated_len();
        assert_eq!(len("raw/"), 4);
        assert_eq!(len("!{firehose:random-string}"), 11);
        assert_eq!(len("!{firehose:error-output-type}"), 0);
        assert_eq!(len("dt=!{timestamp:yyyy-MM-dd}/"), 14);
        assert_eq!(len("!{timestamp:'hour='H}"), 6);
        assert_eq!(len("!{timestamp:yyyy[-MM]}"), 4);
        assert_eq!(len("!{timestamp:MMMM}"), 1);
    }

    #[test]
    fn the_static_prefix_stops_at_the_first_expression() {
        assert_eq!(static_prefix("raw/"), "raw/");
        assert_eq!(static_prefix("logs/!{timestamp:yyyy}/x/"), "logs/");
        assert_eq!(static_prefix("!{firehose:random-string}/"), "");
    }
}
