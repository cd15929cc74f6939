//! The envelope of a document — `apiVersion`, `kind`, the top-level fields and `metadata` —
//! checked before the CRD schema checks `spec`. The API server does this for what it receives
//! (the CRD's schema leaves `metadata` as a bare object); a file read offline has no API server,
//! and a document that silently does not count (a `kind: LogPipelines` typo, a ConfigMap among
//! the pipelines) would leave a pipeline unapplied while the run succeeds.

use super::parse::Document;
use crate::spec::FieldError;
use crate::spec::schema::{self, API_VERSION, KIND};
use serde_json::Value;

/// The fields of a LogPipeline object: what `kubectl get -o yaml` prints.
const TOP_LEVEL: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// What a `metadata` field holds.
#[derive(Clone, Copy)]
enum Shape {
    Text,
    Integer,
    /// A mapping of text to text (labels, annotations).
    TextMap,
    TextList,
    /// A list of mappings (owner references, managed fields), whose insides the API server
    /// owns.
    ObjectList,
}

/// Kubernetes' ObjectMeta fields, as a manifest or `kubectl get -o yaml` may hold them.
const METADATA: [(&str, Shape); 15] = [
    ("name", Shape::Text),
    ("generateName", Shape::Text),
    ("namespace", Shape::Text),
    ("selfLink", Shape::Text),
    ("uid", Shape::Text),
    ("resourceVersion", Shape::Text),
    ("generation", Shape::Integer),
    ("creationTimestamp", Shape::Text),
    ("deletionTimestamp", Shape::Text),
    ("deletionGracePeriodSeconds", Shape::Integer),
    ("labels", Shape::TextMap),
    ("annotations", Shape::TextMap),
    ("ownerReferences", Shape::ObjectList),
    ("finalizers", Shape::TextList),
    ("managedFields", Shape::ObjectList),
];

/// Why `doc` is not a LogPipeline of the served version (empty when it is one). Each error names
/// the field (`apiVersion`, `kind`) and what was expected.
pub(super) fn identity(doc: &Document) -> Vec<FieldError> {
    let Value::Object(map) = &doc.value else {
        return vec![FieldError::new(
            "(document)",
            kind_of(&doc.value),
            format!(
                "the document at line {} is not a mapping; a LogPipeline is a mapping with \
                 apiVersion: {API_VERSION}, kind: {KIND}, metadata and spec",
                doc.line
            ),
        )];
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str);
    let kind = map.get("kind").and_then(Value::as_str);
    let ours =
        api_version.is_some_and(|a| a.split_once('/').is_some_and(|(g, _)| g == "pitagora.dev"));
    let typo = kind.is_some_and(|k| k != KIND && schema::closest(k, [KIND].into_iter()).is_some());
    if !ours && kind.is_some() && kind != Some(KIND) && !typo {
        // Another kind of object altogether: one error, naming both fields.
        let what = format!(
            "{} {}",
            api_version.unwrap_or_default(),
            kind.unwrap_or_default()
        );
        let message = format!(
            "{} is not a LogPipeline: pitagora reads only documents with apiVersion: \
             {API_VERSION} and kind: {KIND}; keep other manifests out of the files and \
             directories given to -f",
            what.trim()
        );
        return vec![field_error(doc, "kind", map.get("kind"), message)];
    }
    let mut errors = Vec::new();
    if api_version != Some(API_VERSION) {
        let message = match api_version {
            Some(_) if ours => format!("unsupported version; this pitagora serves {API_VERSION}"),
            Some(_) => format!("not pitagora's API group; a {KIND}'s apiVersion is {API_VERSION}"),
            None => missing("apiVersion", API_VERSION, map),
        };
        let value = map.get("apiVersion");
        errors.push(field_error(doc, "apiVersion", value, message));
    }
    if kind != Some(KIND) {
        let message = match kind {
            Some(_) if typo => format!("not a kind pitagora reads; did you mean {KIND}?"),
            Some(_) => format!("pitagora.dev serves only kind: {KIND}"),
            None => missing("kind", KIND, map),
        };
        errors.push(field_error(doc, "kind", map.get("kind"), message));
    }
    errors
}

/// The message for `field` absent from `map` or not text.
fn missing(field: &str, expected: &str, map: &serde_json::Map<String, Value>) -> String {
    match map.get(field) {
        None | Some(Value::Null) => format!("required; set {field}: {expected}"),
        Some(_) => format!("must be text: {field}: {expected}"),
    }
}

/// The unknown top-level fields, and every field of `metadata` that is unknown or of the wrong
/// shape.
pub(super) fn fields(doc: &Document) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Value::Object(map) = &doc.value else {
        return errors;
    };
    for (key, value) in map {
        if !TOP_LEVEL.contains(&key.as_str()) {
            let message = unknown(key, TOP_LEVEL.iter().copied(), "a LogPipeline");
            errors.push(field_error(doc, key, Some(value), message));
        }
    }
    match map.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(metadata)) => {
            for (key, value) in metadata {
                let path = format!("metadata.{key}");
                match METADATA.iter().find(|(k, _)| k == key) {
                    Some((_, shape)) => check_shape(doc, &path, value, *shape, &mut errors),
                    None => {
                        let known = METADATA.iter().map(|(k, _)| *k);
                        let message = unknown(&path, known, "metadata");
                        errors.push(field_error(doc, &path, Some(value), message));
                    }
                }
            }
        }
        Some(other) => errors.push(field_error(
            doc,
            "metadata",
            Some(other),
            format!(
                "must be a mapping (name, namespace, labels, annotations...), not {}",
                kind_of(other)
            ),
        )),
    }
    errors
}

fn check_shape(doc: &Document, path: &str, value: &Value, shape: Shape, out: &mut Vec<FieldError>) {
    let mut wrong = |path: &str, value: &Value, expected: &str| {
        let message = format!("must be {expected}, not {}", kind_of(value));
        out.push(field_error(doc, path, Some(value), message));
    };
    match (shape, value) {
        // The API server reads null as unset (`kubectl create --dry-run -o yaml` writes
        // `creationTimestamp: null`).
        (_, Value::Null) | (Shape::Text, Value::String(_)) => {}
        (Shape::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        (Shape::TextMap, Value::Object(entries)) => {
            for (key, v) in entries.iter().filter(|(_, v)| !v.is_string()) {
                wrong(&format!("{path}.{key}"), v, "text (quote it)");
            }
        }
        (Shape::TextList | Shape::ObjectList, Value::Array(items)) => {
            let (fits, expected): (fn(&Value) -> bool, _) = match shape {
                Shape::TextList => (Value::is_string, "text (quote it)"),
                _ => (Value::is_object, "a mapping"),
            };
            for (i, item) in items.iter().enumerate().filter(|(_, v)| !fits(v)) {
                wrong(&format!("{path}[{i}]"), item, expected);
            }
        }
        (Shape::Text, _) => wrong(path, value, "text (quote it)"),
        (Shape::Integer, _) => wrong(path, value, "an integer"),
        (Shape::TextMap, _) => wrong(path, value, "a mapping of text to text"),
        (Shape::TextList, _) => wrong(path, value, "a list of text"),
        (Shape::ObjectList, _) => wrong(path, value, "a list of mappings"),
    }
}

/// The message for an unknown field at `path`, with the nearest known one.
fn unknown<'a>(path: &str, known: impl Iterator<Item = &'a str>, of: &str) -> String {
    let key = path.rsplit('.').next().unwrap_or(path);
    let known: Vec<&str> = known.collect();
    match schema::closest(key, known.iter().copied()) {
        Some(k) => format!("unknown field; did you mean {k:?}?"),
        None => format!("unknown field; {of} has {}", known.join(", ")),
    }
}

/// An error at `path` about `value`, its message starting with the line it is written on.
fn field_error(doc: &Document, path: &str, value: Option<&Value>, message: String) -> FieldError {
    let shown = match value {
        None => "<unset>".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    };
    let message = match doc.line_of(path) {
        Some(line) => format!("line {line}: {message}"),
        None => format!("document at line {}: {message}", doc.line),
    };
    FieldError::new(path, shown, message)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
