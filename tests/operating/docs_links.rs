//! The documentation holds together: every relative link of the README and the pages under
//! docs/ names a file that exists and, with `#`, a heading of that file.

use crate::common;

use common::markdown::{headings, links};
use common::repo_path;
use std::path::{Path, PathBuf};

/// README.md, BENCHMARKS.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo_path("README.md"), repo_path("BENCHMARKS.md")];
    for entry in std::fs::read_dir(repo_path("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

/// Why `target`, linked from `page`, does not resolve; `None` when it does.
fn broken(page: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let linked = if file.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().unwrap().join(file)
    };
    if !linked.exists() {
        return Some(format!("{} does not exist", linked.display()));
    }
    let is_markdown = linked.extension().is_some_and(|e| e == "md");
    if anchor.is_empty() || !is_markdown {
        return None;
    }
    let text = std::fs::read_to_string(&linked).unwrap();
    (!headings(&text).contains(anchor))
        .then(|| format!("no heading #{anchor} in {}", linked.display()))
}

#[test]
fn every_relative_link_in_the_docs_names_a_file_and_heading_that_exist() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, target) in links(&text) {
            checked += 1;
            if let Some(why) = broken(&page, &target) {
                bad.push(format!("{}:{line}: ({target}): {why}", page.display()));
            }
        }
    }
    assert!(
        checked > 30,
        "found only {checked} links: is the link reader broken?"
    );
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

#[test]
fn the_link_check_finds_a_missing_page_and_a_missing_heading() {
    let readme = repo_path("README.md");
    assert_eq!(broken(&readme, "docs/api.md"), None);
    assert!(broken(&readme, "docs/nowhere.md").is_some());
    assert!(broken(&readme, "docs/api.md#no-such-heading").is_some());
    assert_eq!(
        links("see [a](x.md) and `[b](y.md)`\n```\n[c](z.md)\n```\n"),
        [(1, "x.md".to_owned())]
    );
}
