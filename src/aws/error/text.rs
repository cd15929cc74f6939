//! Answers as text for error messages: what an unreadable answer says, with the bytes a terminal
//! or a log must not receive raw escaped.

/// The start of a response's body, as text (see [`excerpt`] and [`printable_bytes`]).
pub(super) fn body_excerpt(response: &aws_smithy_runtime_api::http::Response) -> String {
    let body = response
        .body()
        .bytes()
        .map(printable_bytes)
        .unwrap_or_default();
    excerpt(&body)
}

/// `bytes` as text a terminal and a log show as they are: UTF-8 kept, every byte that is not
/// UTF-8 as `\xNN`, control characters escaped (see [`printable`]). An answer's bytes end up
/// in messages; raw, a NUL cuts a C string and an escape sequence drives the terminal.
pub fn printable_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// `text` with its control characters escaped (`\0`, `\x1b`, `\u{85}`), line breaks and tabs
/// kept as the white space they are.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(c),
            '\0' => out.push_str("\\0"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// What an unreadable answer says, on one line: an HTML page's title (proxies and emulators
/// answer with whole pages), else the text without tags, at most 200 characters.
pub(super) fn excerpt(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        .map(|start| start + "<title>".len())
        .and_then(|start| Some(&body[start..start + lower[start..].find("</title>")?]));
    let text = match title {
        Some(t) if !t.trim().is_empty() => t.to_owned(),
        _ => {
            let mut out = String::new();
            let mut in_tag = false;
            for c in body.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => {
                        in_tag = false;
                        out.push(' ');
                    }
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out
        }
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(200).collect()
}

pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod excerpts {
    use super::excerpt;

    #[test]
    fn an_html_page_is_its_title() {
        let page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>";
        assert_eq!(excerpt(page), "404 Not Found");
    }

    #[test]
    fn other_text_loses_its_tags_and_line_breaks() {
        assert_eq!(excerpt("<p>busy\n  try   later</p>"), "busy try later");
        assert_eq!(excerpt("plain"), "plain");
    }

    #[test]
    fn a_long_answer_is_cut_at_two_hundred_characters() {
        assert_eq!(excerpt(&"x".repeat(500)).len(), 200);
    }
}
