//! Markdown as GitHub renders it: the anchors of headings and the links of a page.

use std::collections::BTreeSet;

/// The anchors of a Markdown file's headings, as GitHub derives them: lower case, punctuation
/// other than `-` and `_` dropped, spaces as `-`.
pub fn headings(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut anchors = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let heading = line.starts_with('#') && !in_code;
        let Some(title) = line
            .trim_start_matches('#')
            .strip_prefix(' ')
            .filter(|_| heading)
        else {
            continue;
        };
        let anchor = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        anchors.insert(anchor);
    }
    anchors
}

/// The targets of the inline links `[text](target)` outside code blocks and code spans, with the
/// line each is on.
pub fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut in_code = false;
    let mut found = Vec::new();
    for (n, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Code spans hold examples, not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            found.push((n + 1, tail[..end].to_owned()));
            rest = &tail[end..];
        }
    }
    found
}
