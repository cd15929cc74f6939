//! Reading on after a schema error: the values that broke the CRD schema are dropped so the
//! semantic rules still run on the rest, and what those rules name is mapped back to the
//! document as written.

use crate::spec::{FieldError, schema};
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether `path` is `field` or inside it: an error at `field` explains one at `path` (a
/// dropped `spec.sources.logGroups` leaves `spec.sources` empty, which is not a second mistake).
pub(super) fn within(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Drops the values that broke the schema (defaults take their place) so the semantic rules
/// still run on the rest and the user sees every problem in one pass. A value the schema
/// requires goes with its enclosing list item or optional field (else nothing could be read);
/// list items go last-first. Returns the removed list items, so semantic errors can name list
/// indices as written.
pub(super) fn drop_schema_violations(
    doc: &mut Value,
    errors: &[FieldError],
) -> BTreeMap<Vec<Segment>, Vec<usize>> {
    let mut removals: Vec<Vec<Segment>> = errors
        .iter()
        .filter_map(|e| removal(&e.path, e.value == "<unset>"))
        .collect();
    removals.sort_by(|a, b| b.cmp(a));
    removals.dedup();
    let mut removed_items: BTreeMap<Vec<Segment>, Vec<usize>> = BTreeMap::new();
    for segments in &removals {
        if remove_at(doc, segments)
            && let Some((Segment::Index(i), list)) = segments.split_last()
        {
            removed_items.entry(list.to_vec()).or_default().push(*i);
        }
    }
    for indices in removed_items.values_mut() {
        indices.sort_unstable();
    }
    removed_items
}

/// One step of a field path: an object key or a list index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
}

/// Parses a dotted path such as `spec.sources.logGroups[1]`; `None` when it is not one.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    for part in path.split('.') {
        match part.split_once('[') {
            Some((key, rest)) => {
                segments.push(Segment::Key(key.to_owned()));
                for index in rest.trim_end_matches(']').split("][") {
                    segments.push(Segment::Index(index.parse().ok()?));
                }
            }
            None => segments.push(Segment::Key(part.to_owned())),
        }
    }
    Some(segments)
}

fn format_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What to drop for a schema error at `path` (`missing`: the field is absent): the value itself,
/// or, where the schema requires it, its nearest enclosing list item or optional field. `None`
/// when only required fields enclose it (the document is then read as it is).
fn removal(path: &str, missing: bool) -> Option<Vec<Segment>> {
    let mut segments = parse_path(path)?;
    if missing {
        segments.pop();
    }
    let mut node = schema::openapi_schema();
    let mut keep = 0;
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Key(key) => {
                let required = node["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|k| k.as_str() == Some(key.as_str())));
                if !required {
                    keep = i + 1;
                }
                node = &node["properties"][key.as_str()];
            }
            Segment::Index(_) => {
                keep = i + 1;
                node = &node["items"];
            }
        }
    }
    (keep > 0).then(|| {
        segments.truncate(keep);
        segments
    })
}

/// The path, in the document as written, of `path` in the document without `removed` (list path
/// → removed indices, ascending).
pub(super) fn original_path(path: &str, removed: &BTreeMap<Vec<Segment>, Vec<usize>>) -> String {
    let Some(segments) = parse_path(path) else {
        return path.to_owned();
    };
    let mut original = Vec::with_capacity(segments.len());
    for segment in segments {
        let segment = match segment {
            Segment::Index(mut i) => {
                for r in removed.get(&original).into_iter().flatten() {
                    if *r <= i {
                        i += 1;
                    }
                }
                Segment::Index(i)
            }
            key => key,
        };
        original.push(segment);
    }
    format_path(&original)
}

/// Removes the value at `segments`; whether there was one.
fn remove_at(doc: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = doc;
    for segment in parents {
        let next = match segment {
            Segment::Index(i) => node.get_mut(*i),
            Segment::Key(key) => node.get_mut(key.as_str()),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match (last, node) {
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        (Segment::Key(key), Value::Object(map)) => map.remove(key.as_str()).is_some(),
        _ => false,
    }
}
