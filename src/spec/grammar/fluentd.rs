//! A parser of fluentd's configuration grammar (the v1 format): directives `<name arg>` …
//! `</name>` nested to any depth, parameters `key value` (unquoted, `"double"` with escapes and
//! `'single'` quoted, JSON-style `[…]` and `{…}` values over several lines), `@`-parameters
//! (`@type`, `@id`, `@label`, `@log_level`), `@include`, and `#` comments.
//!
//! fluentd itself cannot run here, so this is how pitagora reads a verbatim `<store>` in a spec
//! (validation, in this layer) and how the tests check every configuration it renders. It is
//! strict where fluentd would fail to start (unbalanced directives, unterminated strings) and
//! does not know plugins' parameters.

use std::fmt;

/// A directive (`<match app.**>`) or the root of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directive {
    /// `match`, `store`, … (empty for the root).
    pub name: String,
    /// The argument: the tag pattern of a `<match>`, `ignore_error` of a `<store>`, ….
    pub arg: String,
    /// Its parameters, in order.
    pub params: Vec<Param>,
    /// Nested directives, in order.
    pub directives: Vec<Directive>,
    /// Paths of its `@include`s, in order.
    pub includes: Vec<String>,
    /// The line it opens on (1-based; 0 for the root).
    pub line: usize,
}

/// One `key value` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The key, with its `@` when it has one.
    pub key: String,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// Its line (1-based).
    pub line: usize,
}

impl Directive {
    /// The value of parameter `key`, when set.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// The nested directives named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
        self.directives.iter().filter(move |d| d.name == name)
    }
}

/// Why a text is not fluentd configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The line of the problem (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn fail<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// Parses `text` into its root directive.
pub fn parse(text: &str) -> Result<Directive, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut stack = vec![Directive::default()];
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let name = closing_name(rest, number)?;
            let open = stack.pop().filter(|d| d.line > 0);
            match open {
                Some(d) if d.name == name => stack.last_mut().expect("root").directives.push(d),
                Some(d) => {
                    return fail(
                        number,
                        format!("</{name}> closes <{}> opened on line {}", d.name, d.line),
                    );
                }
                None => return fail(number, format!("</{name}> closes nothing")),
            }
        } else if let Some(rest) = line.strip_prefix('<') {
            let (name, arg) = opening(rest, number)?;
            stack.push(Directive {
                name,
                arg,
                line: number,
                ..Directive::default()
            });
        } else {
            let (key, raw) = split_param(line, number)?;
            let value = value(raw, &lines, &mut i, number)?;
            let current = stack.last_mut().expect("root");
            if key == "@include" {
                if value.is_empty() {
                    return fail(number, "@include needs a path");
                }
                current.includes.push(value);
            } else {
                current.params.push(Param {
                    key: key.to_owned(),
                    value,
                    line: number,
                });
            }
        }
    }
    let root = stack.pop().expect("root");
    if root.line > 0 {
        return fail(
            root.line,
            format!(
                "<{}> is never closed (expected </{}>)",
                root.name, root.name
            ),
        );
    }
    Ok(root)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn closing_name(rest: &str, line: usize) -> Result<&str, ParseError> {
    let Some((name, tail)) = rest.split_once('>') else {
        return fail(line, "a closing directive needs '>'");
    };
    if !is_name(name.trim()) {
        return fail(line, format!("</{name}> is not a directive name"));
    }
    if !only_comment(tail) {
        return fail(line, format!("unexpected text after </{name}>: {tail:?}"));
    }
    Ok(name.trim())
}

fn opening(rest: &str, line: usize) -> Result<(String, String), ParseError> {
    let Some((inner, tail)) = rest.split_once('>') else {
        return fail(line, "a directive needs '>'");
    };
    if !only_comment(tail) {
        return fail(
            line,
            format!("unexpected text after the directive: {tail:?}"),
        );
    }
    let inner = inner.trim_end();
    let (name, arg) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
    if !is_name(name) {
        return fail(line, format!("<{inner}> has no valid directive name"));
    }
    Ok((name.to_owned(), arg.trim().to_owned()))
}

fn only_comment(tail: &str) -> bool {
    let tail = tail.trim();
    tail.is_empty() || tail.starts_with('#')
}

fn split_param(line: &str, number: usize) -> Result<(&str, &str), ParseError> {
    let (key, raw) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let bare = key.strip_prefix('@').unwrap_or(key);
    let valid = !bare.is_empty()
        && bare.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return fail(number, format!("{key:?} is not a parameter name"));
    }
    Ok((key, raw.trim()))
}

/// The value starting with `raw` on line `number`; quoted strings and `[`/`{` values may go on
/// over the following lines (`next` is moved past them).
fn value(raw: &str, lines: &[&str], next: &mut usize, number: usize) -> Result<String, ParseError> {
    match raw.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut text = raw[1..].to_owned();
            loop {
                if let Some((v, tail)) = quoted(&text, q) {
                    if !only_comment(tail) {
                        return fail(
                            number,
                            format!("unexpected text after the quoted value: {tail:?}"),
                        );
                    }
                    return Ok(v);
                }
                let Some(more) = lines.get(*next) else {
                    return fail(number, format!("unterminated {q}-quoted value"));
                };
                text.push('\n');
                text.push_str(more);
                *next += 1;
            }
        }
        Some(open @ ('[' | '{')) => {
            let mut text = raw.to_owned();
            loop {
                match balanced(&text, open) {
                    Some(end) => {
                        if !only_comment(&text[end..]) {
                            return fail(number, "unexpected text after the value");
                        }
                        return Ok(text[..end].to_owned());
                    }
                    None => match lines.get(*next) {
                        Some(more) => {
                            text.push('\n');
                            text.push_str(more);
                            *next += 1;
                        }
                        None => return fail(number, format!("unbalanced {open:?} in the value")),
                    },
                }
            }
        }
        _ => Ok(strip_comment(raw).to_owned()),
    }
}

/// The content of a string quoted by `q` and the text after it, or `None` if it is not closed.
fn quoted(text: &str, q: char) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' if q == '"' => out.push('\n'),
                't' if q == '"' => out.push('\t'),
                e if e == q || e == '\\' => out.push(e),
                e => {
                    out.push('\\');
                    out.push(e);
                }
            },
            c if c == q => return Some((out, &text[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Where the bracketed value opened by `open` ends (past its closing bracket), skipping quoted
/// strings; `None` if it does not end in `text`.
fn balanced(text: &str, open: char) -> Option<usize> {
    let close = if open == '[' { ']' } else { '}' };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// An unquoted value ends at a `#` that follows white space.
fn strip_comment(raw: &str) -> &str {
    let mut prev_space = false;
    for (i, c) in raw.char_indices() {
        if c == '#' && prev_space {
            return raw[..i].trim_end();
        }
        prev_space = c.is_whitespace();
    }
    raw.trim_end()
}
