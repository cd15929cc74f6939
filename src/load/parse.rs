//! A file's bytes to documents: UTF-8 checked, YAML (or JSON) parsed into JSON values, keeping
//! what `serde_json::Value` alone would lose — the line each value is written on, so errors can
//! point at it, and the non-finite numbers (`.nan`, `.inf`), which it would silently read as
//! null (an unset field, defaulted).

use crate::spec::FieldError;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::fmt;

/// The text of a file, or the error naming where it stops being UTF-8.
pub(super) fn utf8(bytes: &[u8]) -> Result<&str, FieldError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
        // UTF-16 is what some editors on Windows save; say so rather than only "invalid".
        let hint = if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            " (the file looks UTF-16)"
        } else {
            ""
        };
        FieldError::new(
            "(document)",
            "<not UTF-8>",
            format!("not valid UTF-8 at byte {offset} (line {line}){hint}; save the file as UTF-8"),
        )
    })
}

/// One document of a file.
pub(super) struct Document {
    /// Its content.
    pub value: Value,
    /// The line its content starts on.
    pub line: usize,
    /// The line of each field and list item, by path (`metadata.labels`, `spec.x[1]`).
    lines: HashMap<String, usize>,
    /// Its non-finite numbers, one error each.
    pub non_finite: Vec<FieldError>,
}

impl Document {
    /// The line `path` is written on, when it is in the document.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        self.lines.get(path).copied()
    }
}

/// The non-empty documents of `text`, in order.
pub(super) fn documents(text: &str) -> Result<Vec<Document>, serde_saphyr::Error> {
    // Non-finite numbers reach the visitor, which names each one's field (the parser's own
    // refusal names only a line, and fails the whole file).
    let options = serde_saphyr::options! {
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    };
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_str_multiple_with_options(text, options)?;
    Ok(nodes
        .into_iter()
        .map(|node| {
            let mut doc = Document {
                value: Value::Null,
                line: line_of(&node),
                lines: HashMap::new(),
                non_finite: Vec::new(),
            };
            doc.value = into_value(node, "", &mut doc);
            doc
        })
        .collect())
}

fn line_of<T>(node: &Spanned<T>) -> usize {
    usize::try_from(node.referenced.line()).unwrap_or(usize::MAX)
}

/// A parsed YAML node, every child with where it is written.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

fn into_value(node: Spanned<Node>, path: &str, doc: &mut Document) -> Value {
    let line = line_of(&node);
    if !path.is_empty() {
        doc.lines.entry(path.to_owned()).or_insert(line);
    }
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::UInt(u) => Value::from(u),
        Node::Float(x) => match serde_json::Number::from_f64(x) {
            Some(n) => Value::Number(n),
            None => {
                doc.non_finite.push(non_finite(path, x, line));
                Value::Null
            }
        },
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| into_value(item, &format!("{path}[{i}]"), doc))
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                let child = if path.is_empty() {
                    key.value.clone()
                } else {
                    format!("{path}.{}", key.value)
                };
                // A key's line is where the reader looks, not its value's (on the next line
                // for a nested mapping).
                doc.lines.insert(child.clone(), line_of(&key));
                let value = into_value(value, &child, doc);
                map.insert(key.value, value);
            }
            Value::Object(map)
        }
    }
}

fn non_finite(path: &str, x: f64, line: usize) -> FieldError {
    let written = if x.is_nan() {
        ".nan"
    } else if x > 0.0 {
        ".inf"
    } else {
        "-.inf"
    };
    let path = if path.is_empty() { "(document)" } else { path };
    FieldError::new(
        path,
        written,
        format!(
            "line {line}: not a finite number (JSON and the API server have no NaN or \
             infinity); write a number, or quote the value if text is meant"
        ),
    )
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Node, E> {
        Ok(Node::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Node, E> {
        Ok(Node::UInt(u))
    }

    fn visit_i128<E>(self, i: i128) -> Result<Node, E> {
        // Beyond 64 bits: kept as a (finite) float, which the schema refuses where an integer
        // is expected, naming the field.
        Ok(i64::try_from(i).map_or(Node::Float(i as f64), Node::Int))
    }

    fn visit_u128<E>(self, u: u128) -> Result<Node, E> {
        Ok(u64::try_from(u).map_or(Node::Float(u as f64), Node::UInt))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Node, E> {
        Ok(Node::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::Str(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::Str(s))
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Document {
        let mut docs = documents(text).unwrap();
        assert_eq!(docs.len(), 1, "{text}");
        docs.remove(0)
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = "a: 1\nb: -2\nc: 1.5\nd: [x, true, null]\ne: {f: \"g\"}\n";
        let expected: Value = serde_saphyr::from_str(text).unwrap();
        assert_eq!(one(text).value, expected);
    }

    #[test]
    fn keys_and_items_keep_their_lines() {
        let doc = one("kind: K\nmetadata:\n  name: n\n  labels:\n    - a\n    - b\n");
        let lines = [
            ("kind", 1),
            ("metadata", 2),
            ("metadata.name", 3),
            ("metadata.labels", 4),
            ("metadata.labels[1]", 6),
        ];
        for (path, line) in lines {
            assert_eq!(doc.line_of(path), Some(line), "{path}");
        }
    }

    #[test]
    fn each_document_knows_the_line_it_starts_on() {
        let docs = documents("a: 1\n---\n\n# c\nb: 2\n").unwrap();
        let lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
        assert_eq!(lines, [1, 5]);
    }

    #[test]
    fn non_finite_numbers_are_named_by_path_and_line_instead_of_read_as_null() {
        let doc = one("a:\n  b: .nan\n  c: [1, .inf, -.Inf]\n");
        let named: Vec<(&str, &str)> = doc
            .non_finite
            .iter()
            .map(|e| (e.path.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            named,
            [("a.b", ".nan"), ("a.c[1]", ".inf"), ("a.c[2]", "-.inf")]
        );
        assert!(doc.non_finite[0].message.starts_with("line 2: "));
    }

    #[test]
    fn quoted_nan_is_text() {
        let doc = one("a: \".nan\"\n");
        assert!(doc.non_finite.is_empty());
        assert_eq!(doc.value["a"], ".nan");
    }

    #[test]
    fn invalid_utf8_is_named_by_byte_offset_and_line() {
        let e = utf8(b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!(e.path, "(document)");
        assert!(e.message.contains("byte 8 (line 2)"), "{}", e.message);
    }

    #[test]
    fn utf16_is_recognised() {
        let e = utf8(&[0xff, 0xfe, b'a', 0]).unwrap_err();
        assert!(e.message.contains("UTF-16"), "{}", e.message);
    }
}
