//! fluentd's tag patterns, the argument of `<match>`: tags are parts separated by `.`; in a
//! pattern `*` matches within one part, `**` matches zero or more whole parts, `{X,Y}` matches
//! either (nested to any depth, each side a pattern), and several patterns separated by spaces
//! match a tag any of them matches (fluentd's `lib/fluent/match.rb`).
//!
//! The shared fluentd of a cluster takes the first `<match>` that matches a tag, so a route's
//! pattern decides whose logs it takes. This module reads a pattern strictly — a closed set of
//! characters, balanced braces, whole-part `**`, no empty part, no Ruby `#{…}` — into its
//! alternatives, so that validation can refuse the patterns that take every tag or start with a
//! wildcard, and the ConfigMap's planning can tell whether two patterns share a tag. Pure.

use std::fmt;

/// Alternatives a pattern may expand to: `{a,b}` nested over 256 characters could otherwise
/// expand to billions.
pub const MAX_ALTERNATIVES: usize = 64;

/// A character of a tag part pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// This character.
    Char(char),
    /// `*`: any characters but `.`, none included.
    Star,
}

/// One part of an alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// `**`: zero or more whole parts.
    AnyParts,
    /// Characters and `*`s matching one part.
    Glob(Vec<Piece>),
}

impl Part {
    fn is_fixed(&self) -> bool {
        matches!(self, Part::Glob(p) if p.iter().all(|c| matches!(c, Piece::Char(_))))
    }

    fn is_any_one(&self) -> bool {
        matches!(self, Part::Glob(p) if !p.is_empty() && p.iter().all(|c| *c == Piece::Star))
    }
}

/// A `<match>` argument read into the alternatives it matches (each without braces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagPattern {
    /// Each alternative as written once braces are expanded, e.g. `app.a.**`.
    alternatives: Vec<(String, Vec<Part>)>,
}

/// Why a text is not a tag pattern pitagora renders.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// No pattern at all.
    #[error("is empty")]
    Empty,
    /// `#{…}`: fluentd runs it as Ruby.
    #[error(
        "holds #{{…}}, Ruby code fluentd would run on its pods; write the tag itself, e.g. app.orders.**"
    )]
    Interpolation,
    /// A character outside the tag grammar.
    #[error(
        "has {0:?}: a tag pattern has letters, digits, '_', '-', '.', '*', '{{', ',' and '}}' only (spaces between several patterns)"
    )]
    Character(char),
    /// A `{` never closed.
    #[error("has a '{{' that is never closed by '}}'")]
    Unclosed,
    /// A `}` or `,` outside braces.
    #[error("has a {0:?} outside '{{…}}'")]
    Unopened(char),
    /// An empty part (`a..b`, a leading or trailing `.`, an empty `{}` alternative).
    #[error("{0} has an empty tag part: remove the extra '.' (or the empty '{{}}' alternative)")]
    EmptyPart(String),
    /// `**` inside a part (`a**`, `***`).
    #[error("{0} uses ** inside a tag part; ** stands for whole parts only, e.g. app.**")]
    StarsInPart(String),
    /// Too many alternatives once braces are expanded.
    #[error("expands to more than {MAX_ALTERNATIVES} alternatives; write fewer '{{…}}'")]
    TooManyAlternatives,
}

/// The pattern as a tree: a sequence of characters and `{…}` groups of sequences.
#[derive(Clone, Debug)]
enum Node {
    Char(char),
    Group(Vec<Vec<Node>>),
}

impl TagPattern {
    /// Reads `text` (one or more patterns separated by spaces).
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.contains("#{") {
            return Err(PatternError::Interpolation);
        }
        let mut alternatives = Vec::new();
        for pattern in text.split_whitespace() {
            let tree = tree(pattern)?;
            if count(&tree) > MAX_ALTERNATIVES {
                return Err(PatternError::TooManyAlternatives);
            }
            for flat in expand(&tree) {
                let parts = parts(&flat)?;
                alternatives.push((flat, parts));
            }
            if alternatives.len() > MAX_ALTERNATIVES {
                return Err(PatternError::TooManyAlternatives);
            }
        }
        if alternatives.is_empty() {
            return Err(PatternError::Empty);
        }
        Ok(Self { alternatives })
    }

    /// The first alternative that matches every tag (`**`, `*.**`, `**.*`, `**.*.**`…).
    pub fn catch_all(&self) -> Option<&str> {
        self.alternatives
            .iter()
            .find(|(_, parts)| {
                let rest: Vec<&Part> = parts.iter().filter(|p| **p != Part::AnyParts).collect();
                rest.len() < parts.len() && rest.len() <= 1 && rest.iter().all(|p| p.is_any_one())
            })
            .map(|(text, _)| text.as_str())
    }

    /// The first alternative whose first part is not fixed text (`*.orders`, `**.orders`,
    /// `app*.orders`): it would take tags of every application.
    pub fn unanchored(&self) -> Option<&str> {
        self.alternatives
            .iter()
            .find(|(_, parts)| !parts.first().is_some_and(Part::is_fixed))
            .map(|(text, _)| text.as_str())
    }

    /// A pair of alternatives, this one's and `other`'s, that both match some tag.
    pub fn overlap<'a>(&'a self, other: &'a TagPattern) -> Option<(&'a str, &'a str)> {
        self.alternatives.iter().find_map(|(a, pa)| {
            other
                .alternatives
                .iter()
                .find(|(_, pb)| sequences_meet(pa, pb, parts_meet))
                .map(|(b, _)| (a.as_str(), b.as_str()))
        })
    }

    /// Whether it matches `tag`.
    pub fn matches(&self, tag: &str) -> bool {
        let parts: Vec<Part> = tag
            .split('.')
            .map(|p| Part::Glob(p.chars().map(Piece::Char).collect()))
            .collect();
        self.alternatives
            .iter()
            .any(|(_, pa)| sequences_meet(pa, &parts, parts_meet))
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<&str> = self.alternatives.iter().map(|(t, _)| t.as_str()).collect();
        f.write_str(&texts.join(" "))
    }
}

fn tree(pattern: &str) -> Result<Vec<Node>, PatternError> {
    // Each open group: its finished alternatives and the one being read.
    let mut stack: Vec<(Vec<Vec<Node>>, Vec<Node>)> = Vec::new();
    let mut current = Vec::new();
    for c in pattern.chars() {
        match c {
            '{' => stack.push((Vec::new(), std::mem::take(&mut current))),
            ',' | '}' => {
                let Some((alternatives, _)) = stack.last_mut() else {
                    return Err(PatternError::Unopened(c));
                };
                alternatives.push(std::mem::take(&mut current));
                if c == '}' {
                    let (alternatives, outer) = stack.pop().expect("checked above");
                    current = outer;
                    current.push(Node::Group(alternatives));
                }
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '*') => {
                current.push(Node::Char(c));
            }
            c => return Err(PatternError::Character(c)),
        }
    }
    if !stack.is_empty() {
        return Err(PatternError::Unclosed);
    }
    Ok(current)
}

/// How many alternatives `seq` expands to, saturating.
fn count(seq: &[Node]) -> usize {
    seq.iter().fold(1usize, |n, node| match node {
        Node::Char(_) => n,
        Node::Group(alternatives) => n.saturating_mul(
            alternatives
                .iter()
                .map(|a| count(a))
                .fold(0usize, usize::saturating_add),
        ),
    })
}

fn expand(seq: &[Node]) -> Vec<String> {
    seq.iter()
        .fold(vec![String::new()], |prefixes, node| match node {
            Node::Char(c) => prefixes
                .into_iter()
                .map(|mut p| {
                    p.push(*c);
                    p
                })
                .collect(),
            Node::Group(alternatives) => {
                let tails: Vec<String> = alternatives.iter().flat_map(|a| expand(a)).collect();
                prefixes
                    .iter()
                    .flat_map(|p| tails.iter().map(move |t| format!("{p}{t}")))
                    .collect()
            }
        })
}

fn parts(flat: &str) -> Result<Vec<Part>, PatternError> {
    flat.split('.')
        .map(|part| match part {
            "" => Err(PatternError::EmptyPart(flat.to_owned())),
            "**" => Ok(Part::AnyParts),
            p if p.contains("**") => Err(PatternError::StarsInPart(flat.to_owned())),
            p => Ok(Part::Glob(
                p.chars()
                    .map(|c| {
                        if c == '*' {
                            Piece::Star
                        } else {
                            Piece::Char(c)
                        }
                    })
                    .collect(),
            )),
        })
        .collect()
}

/// Whether two sequences with a "many" element (`**` over parts, `*` over characters) both
/// match some common sequence: a search over pairs of positions, where `meet` says whether two
/// single elements share a value. The "many" element of one side may match nothing, or take
/// whatever the other side's single element matches (every single element matches something).
fn sequences_meet<T: PartialEq + Many>(a: &[T], b: &[T], meet: fn(&T, &T) -> bool) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        if !seen.insert((i, j)) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        let (x, y) = (a.get(i), b.get(j));
        if x.is_some_and(Many::is_many) {
            todo.push((i + 1, j));
            if y.is_some_and(|y| !y.is_many()) {
                todo.push((i, j + 1));
            }
        }
        if y.is_some_and(Many::is_many) {
            todo.push((i, j + 1));
            if x.is_some_and(|x| !x.is_many()) {
                todo.push((i + 1, j));
            }
        }
        if let (Some(x), Some(y)) = (x, y)
            && !x.is_many()
            && !y.is_many()
            && meet(x, y)
        {
            todo.push((i + 1, j + 1));
        }
    }
    false
}

trait Many {
    fn is_many(&self) -> bool;
}

impl Many for Part {
    fn is_many(&self) -> bool {
        *self == Part::AnyParts
    }
}

impl Many for Piece {
    fn is_many(&self) -> bool {
        *self == Piece::Star
    }
}

fn parts_meet(a: &Part, b: &Part) -> bool {
    match (a, b) {
        (Part::Glob(x), Part::Glob(y)) => sequences_meet(x, y, |p, q| p == q),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> TagPattern {
        TagPattern::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn matching_follows_fluentds_wildcards() {
        let cases = [
            ("a.*", "a.b", true),
            ("a.*", "a", false),
            ("a.*", "a.b.c", false),
            ("a.**", "a", true),
            ("a.**", "a.b.c", true),
            ("a.**", "ab", false),
            ("a.**.z", "a.z", true),
            ("a.**.z", "a.b.c.z", true),
            ("{a,b}.c", "b.c", true),
            ("{a,b}.c", "a.b.c", false),
            ("app.{x,y.{z,w}}", "app.y.w", true),
            ("a.b* c.**", "c.d", true),
            ("a.b*", "a.bcd", true),
            ("a.b*", "a.cb", false),
            ("app-{1,2}", "app-2", true),
        ];
        for (pattern, tag, expected) in cases {
            assert_eq!(p(pattern).matches(tag), expected, "{pattern} ~ {tag}");
        }
    }

    #[test]
    fn overlaps_are_found_through_every_wildcard() {
        let cases = [
            ("app.orders.**", "app.**", true),
            ("app.orders.**", "app.payments.**", false),
            ("app.*.api", "app.orders.*", true),
            ("app.*.api", "app.orders.worker", false),
            ("app.**.api", "app.x.y.api", true),
            ("app.**.api", "app.x.y.worker", false),
            ("app.o*", "app.*s", true),
            ("app.o*x", "app.y*", false),
            ("{a,b}.x", "b.**", true),
            ("{a,b}.x", "c.**", false),
            ("a.**", "a", true),
            ("a.b a.c", "a.c", true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(p(a).overlap(&p(b)).is_some(), expected, "{a} / {b}");
            assert_eq!(p(b).overlap(&p(a)).is_some(), expected, "{b} / {a}");
        }
    }

    #[test]
    fn catch_alls_are_named() {
        for pattern in ["**", "*.**", "**.*", "**.*.**", "a.b {**,c}", "**.**"] {
            assert!(p(pattern).catch_all().is_some(), "{pattern}");
        }
        for pattern in ["*", "*.*.**", "app.**", "*.app"] {
            assert_eq!(p(pattern).catch_all(), None, "{pattern}");
        }
    }

    #[test]
    fn a_pattern_is_anchored_when_every_alternative_starts_with_fixed_text() {
        for pattern in ["app.**", "{a,b}.**", "app.orders app.payments.*"] {
            assert_eq!(p(pattern).unanchored(), None, "{pattern}");
        }
        for (pattern, alternative) in [
            ("*.orders", "*.orders"),
            ("app*.orders", "app*.orders"),
            ("{app,*}.orders", "*.orders"),
            ("app.** **.x", "**.x"),
        ] {
            assert_eq!(p(pattern).unanchored(), Some(alternative), "{pattern}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        use PatternError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("app.#{`id`}", Interpolation),
            ("app.{a,b", Unclosed),
            ("app.{a,{b}", Unclosed),
            ("app.a}", Unopened('}')),
            ("app,b", Unopened(',')),
            ("app..b", EmptyPart("app..b".into())),
            ("app.", EmptyPart("app.".into())),
            ("app.{,b}", EmptyPart("app.".into())),
            ("app.a**", StarsInPart("app.a**".into())),
            ("app.***", StarsInPart("app.***".into())),
            ("app/x", Character('/')),
            ("\"app\"", Character('"')),
            ("app\\.x", Character('\\')),
            (
                "app.{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}",
                TooManyAlternatives,
            ),
        ];
        for (pattern, expected) in cases {
            assert_eq!(TagPattern::parse(pattern), Err(expected), "{pattern:?}");
        }
    }

    #[test]
    fn braces_expand_into_alternatives() {
        assert_eq!(p("app.{a,b.{c,d}}").to_string(), "app.a app.b.c app.b.d");
    }
}
