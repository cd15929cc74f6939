//! The layout keeps its promises: no source file over 600 lines and no function over 80 lines
//! outside tests, so that each resource kind keeps one short home per stage. Counted on the
//! rustfmt-formatted sources (a function runs from its `fn` line to the brace that closes it at
//! the same indentation).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file under `src/`, sorted (also read by the layer test).
pub(crate) fn all_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 20, "found only {} source files", files.len());
    files
}

/// The name and indentation of a function starting on `line`.
fn function_start(line: &str) -> Option<(&str, usize)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some((&name[..end], indent))
}

/// Functions longer than the limit in `text`, as `name (lines)`; test modules are skipped.
fn long_functions(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("#[cfg(test)]") {
            break; // test modules close the file by convention
        }
        if let Some((name, indent)) = function_start(lines[i]) {
            let close = format!("{}}}", " ".repeat(indent));
            let one_line = lines[i].trim_end().ends_with('}');
            let end = if one_line {
                i
            } else {
                (i..lines.len())
                    .find(|&j| lines[j].trim_end() == close)
                    .unwrap_or(i)
            };
            let length = end - i + 1;
            if length > MAX_FN_LINES {
                long.push(format!("{name} ({length} lines)"));
            }
        }
        i += 1;
    }
    long
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = all_sources()
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:#?}");
}

#[test]
fn no_function_is_over_80_lines_outside_tests() {
    let long: Vec<String> = all_sources()
        .into_iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            long_functions(&text)
                .into_iter()
                .map(move |f| format!("{}: {f}", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these functions: {long:#?}");
}

#[test]
fn the_cli_module_stays_thin() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli/mod.rs");
    let n = std::fs::read_to_string(path).unwrap().lines().count();
    assert!(n <= 400, "src/cli/mod.rs has {n} lines; move commands out");
}

#[test]
fn the_length_check_finds_a_long_function() {
    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let text = format!("fn short() {{}}\n\npub async fn long() {{\n{body}}}\n");
    assert_eq!(
        long_functions(&text),
        [format!("long ({} lines)", MAX_FN_LINES + 2)]
    );
}
