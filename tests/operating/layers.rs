//! Data flows one way through the crate: each top-level module (`src/<module>.rs` or
//! `src/<module>/`) belongs to one layer, and imports only modules of its own layer or of lower
//! ones. An import is a `crate::` path in code — `use crate::a::B`, a group
//! `use crate::{a, b::C}`, `pub use crate::…`, or an inline `crate::a::f()` — or a
//! `super::super::…` path that climbs to the crate root; comments and string literals are not
//! code. The order is stated here once, and in README.md's and src/lib.rs's architecture notes.

use std::path::{Path, PathBuf};

/// The layers, lowest first. Modules of one layer may import each other.
const LAYERS: &[&[&str]] = &[
    // Leaves: ARNs, resource kinds and shared shapes, log output settings.
    &["arn", "resources", "telemetry"],
    // Derived AWS names (built on ARNs).
    &["names"],
    // The API: types, defaults, grammars, validation, the status values.
    &["spec"],
    // Pure delivery proof: canary, records, keys, progress, loss signals (I/O: `delivery_io`).
    &["delivery"],
    // Pure cutover: stages and the gate.
    &["cutover"],
    // fluentd's routes as rendered text.
    &["fluentd"],
    // Pure: spec → desired state.
    &["desired"],
    // The pure side of changes that arrive as events (the resources a pipeline declares).
    &["events"],
    // Plain values for what AWS holds.
    &["observed"],
    // The AWS edge: clients, errors, SDK mappings.
    &["aws"],
    // Reads AWS into observed (I/O).
    &["read"],
    // Pure: desired × observed → actions.
    &["plan"],
    // A plan's differences as status values.
    &["drift"],
    // Executing plans: against AWS, or against the in-memory model.
    &["apply", "aws_model"],
    // Delivery verification's I/O: the pure side is `delivery`.
    &["delivery_io"],
    // validate → … → apply → verify, for one pipeline.
    &["engine"],
    // The drift report and its formats.
    &["report"],
    // The Kubernetes controller; reading pipeline files.
    &["controller", "load"],
    // The command line, which also runs the controller.
    &["cli"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module of a file under `src/`, and how deep its own module is (`src/a.rs` and
/// `src/a/mod.rs` are 1, `src/a/b.rs` 2); `None` for the crate roots (`lib.rs`, `main.rs`).
fn module_of(relative: &Path) -> Option<(String, usize)> {
    let parts: Vec<&str> = relative.iter().map(|p| p.to_str().unwrap()).collect();
    if parts.len() == 1 && ["lib.rs", "main.rs"].contains(&parts[0]) {
        return None;
    }
    let top = parts[0].trim_end_matches(".rs").to_owned();
    let depth = parts.len() - usize::from(parts.last() == Some(&"mod.rs"));
    Some((top, depth))
}

/// `text` with comments, string and character literals blanked out (line breaks kept), so that
/// only code is left and line numbers still hold.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, span: &[char]| {
        out.extend(span.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        if end > i {
            blank(&mut out, &chars[i..end]);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Where the comment or literal starting at `i` ends; `i` when none starts there.
fn literal_or_comment_end(c: &[char], i: usize) -> usize {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    match at(i) {
        '/' if at(i + 1) == '/' => (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
        '/' if at(i + 1) == '*' => {
            let (mut depth, mut k) = (0usize, i);
            while k < c.len() {
                if at(k) == '/' && at(k + 1) == '*' {
                    depth += 1;
                    k += 2;
                } else if at(k) == '*' && at(k + 1) == '/' {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        return k;
                    }
                } else {
                    k += 1;
                }
            }
            c.len()
        }
        '"' => quoted_end(c, i + 1, '"'),
        // Raw strings, `r"…"`, `r#"…"#`, `br#"…"#`, not the end of an identifier.
        'r' if i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))) => {
            let hashes = (i + 1..c.len()).take_while(|&k| c[k] == '#').count();
            if at(i + 1 + hashes) != '"' {
                return i;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            (i + 2 + hashes..c.len())
                .find(|&k| c[k..].starts_with(&close))
                .map_or(c.len(), |k| k + close.len())
        }
        // A character literal (`'x'`, `'\n'`), not a lifetime (`'a`).
        '\'' if at(i + 1) == '\\' => quoted_end(c, i + 1, '\''),
        '\'' if at(i + 2) == '\'' => i + 3,
        _ => i,
    }
    .max(i)
}

/// The end of a literal whose body starts at `from` and which `close` closes; backslashes
/// escape.
fn quoted_end(c: &[char], from: usize, close: char) -> usize {
    let mut k = from;
    while k < c.len() {
        match c[k] {
            '\\' => k += 2,
            ch if ch == close => return k + 1,
            _ => k += 1,
        }
    }
    c.len()
}

/// The top-level modules `code` names, with the line of each: the first segment after every
/// `crate::` (each item's of a `crate::{…}` group), and after a `super::` chain that climbs
/// `depth` levels or more, to the crate root.
fn imports(code: &str, depth: usize) -> Vec<(usize, String)> {
    let chars: Vec<char> = code.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let line = |k: usize| 1 + chars[..k].iter().filter(|&&c| c == '\n').count();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(ident(chars[i - 1]) || chars[i - 1] == '$');
        if !starts_word {
            i += 1;
            continue;
        }
        let at_root = if let Some(k) = keyword_path(&chars, i, "crate") {
            Some(k)
        } else {
            super_chain(&chars, i, depth)
        };
        match at_root {
            Some(k) => {
                for (at, module) in first_segments(&chars, k) {
                    found.push((line(at), module));
                }
                i = k;
            }
            None => i += 1,
        }
    }
    found
}

/// After `word::` at `i` (spaces allowed around `::`): where the rest of the path starts.
fn keyword_path(c: &[char], i: usize, word: &str) -> Option<usize> {
    let w: Vec<char> = word.chars().collect();
    if !c[i..].starts_with(&w)
        || c.get(i + w.len())
            .is_some_and(|&ch| ch.is_alphanumeric() || ch == '_')
    {
        return None;
    }
    let mut k = i + w.len();
    while c.get(k).is_some_and(|ch| ch.is_whitespace()) {
        k += 1;
    }
    if !(c.get(k) == Some(&':') && c.get(k + 1) == Some(&':')) {
        return None;
    }
    k += 2;
    while c.get(k).is_some_and(|ch| ch.is_whitespace()) {
        k += 1;
    }
    Some(k)
}

/// After a chain of `super::` at `i` at least `depth` long, which reaches the crate root.
fn super_chain(c: &[char], i: usize, depth: usize) -> Option<usize> {
    let (mut k, mut n) = (i, 0);
    while let Some(next) = keyword_path(c, k, "super") {
        k = next;
        n += 1;
    }
    (n > 0 && n >= depth).then_some(k)
}

/// The first segment of the path at `k`, or of each item of the group `{…}` there, with where
/// each starts; `self` names no module.
fn first_segments(c: &[char], k: usize) -> Vec<(usize, String)> {
    let word = |from: usize| -> (usize, String) {
        let from = (from..c.len())
            .find(|&j| !c[j].is_whitespace())
            .unwrap_or(c.len());
        let name: String = c[from..]
            .iter()
            .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
            .collect();
        (from, name)
    };
    if c.get(k) != Some(&'{') {
        return vec![word(k)]
            .into_iter()
            .filter(|(_, w)| !w.is_empty() && w != "self")
            .collect();
    }
    let mut items = vec![word(k + 1)];
    let mut depth = 0;
    for (j, ch) in c.iter().enumerate().skip(k) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => items.push(word(j + 1)),
            _ => {}
        }
    }
    items
        .into_iter()
        .filter(|(_, w)| !w.is_empty() && w != "self")
        .collect()
}

/// Every import in `text` (the file `path`, in `module` at `depth`) of a module of a higher
/// layer, as `path:line: module -> imported`.
fn upward_imports(path: &str, module: &str, depth: usize, text: &str) -> Vec<String> {
    let own = rank(module).unwrap_or_else(|| panic!("{path}: module {module} has no layer"));
    imports(&code_only(text), depth)
        .into_iter()
        .filter(|(_, imported)| imported != module && rank(imported).is_some_and(|r| r > own))
        .map(|(line, imported)| format!("{path}:{line}: {module} -> {imported} (a higher layer)"))
        .collect()
}

#[test]
fn no_module_imports_one_from_a_higher_layer() {
    let mut upward = Vec::new();
    for file in &super::layout::all_sources() {
        let relative = file.strip_prefix(src()).unwrap();
        let Some((module, depth)) = module_of(relative) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let shown = format!("src/{}", relative.display());
        upward.extend(upward_imports(&shown, &module, depth, &text));
    }
    assert!(
        upward.is_empty(),
        "imports against the layer order (lowest first: {LAYERS:?}); move the item to the \
         lowest layer that needs it:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_top_level_module_has_exactly_one_layer() {
    let mut modules: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .filter_map(|e| module_of(Path::new(&e.unwrap().file_name())).map(|(m, _)| m))
        .collect();
    modules.sort();
    let mut layered: Vec<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter().map(|m| m.to_string()))
        .collect();
    layered.sort();
    assert_eq!(
        modules, layered,
        "src/'s top-level modules and LAYERS differ"
    );
}

#[test]
fn the_scan_reads_code_and_skips_comments_and_literals() {
    let cases: &[(&str, &[(usize, &str)])] = &[
        ("use crate::plan::Plan;", &[(1, "plan")]),
        ("pub use crate::plan;", &[(1, "plan")]),
        (
            "use crate::{\n    desired::Desired,\n    plan::{self, Plan},\n};",
            &[(2, "desired"), (3, "plan")],
        ),
        ("let p = crate::plan::plan(&d, &o);", &[(1, "plan")]),
        ("let p = crate::\n    plan::plan(&d, &o);", &[(2, "plan")]),
        ("// use crate::plan::Plan;", &[]),
        ("/// See [`crate::plan::Plan`].", &[]),
        ("/* crate::plan /* nested */ crate::plan */ x", &[]),
        (r#"let s = "crate::plan::Plan";"#, &[]),
        (r###"let s = r#"a " crate::plan"#;"###, &[]),
        ("let c = '\"'; let p = crate::plan::Plan;", &[(1, "plan")]),
        ("fn f<'a>(x: &'a crate::plan::Plan) {}", &[(1, "plan")]),
        ("macro_rules! m { () => { $crate::plan } }", &[]),
        ("use super::super::plan::Plan;", &[(1, "plan")]),
        ("use super::plan::Plan;", &[]),
    ];
    for (text, expected) in cases {
        let found = imports(&code_only(text), 2);
        let expected: Vec<(usize, String)> =
            expected.iter().map(|(l, m)| (*l, m.to_string())).collect();
        assert_eq!(found, expected, "{text}");
    }
}

#[test]
fn an_upward_import_is_named_with_its_file_line_and_edge() {
    let text = "//! Types.\n\nuse crate::names::PipelineId;\nuse crate::plan::Plan;\n";
    assert_eq!(
        upward_imports("src/spec/types.rs", "spec", 2, text),
        ["src/spec/types.rs:4: spec -> plan (a higher layer)"]
    );
}
