//! The generic side of comparison: [`Changes`] collects the [`Change`]s found between canonical
//! desired and observed values, named after the AWS field (and the spec field that sets it,
//! where there is one); [`json`] compares two JSON documents; [`text`] renders a value for a
//! report. Each kind's field-by-field comparison lives in that kind's planning module.

use super::Change;
use super::normalize;
use crate::resources::Tags;
use serde::Serialize;
use serde_json::Value;

/// Renders a value for a report: strings as they are, everything else as compact JSON.
pub fn text<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => "<unrenderable>".into(),
    }
}

/// Collects changes; `field` compares one field.
#[derive(Default)]
pub struct Changes(pub Vec<Change>);

impl Changes {
    /// Records a difference between `desired` and `actual` at `field`.
    pub fn field<T: Serialize + PartialEq + ?Sized>(
        &mut self,
        field: &str,
        spec_field: Option<&str>,
        desired: &T,
        actual: &T,
    ) {
        if desired != actual {
            self.0.push(Change {
                field: field.to_owned(),
                spec_field: spec_field.map(str::to_owned),
                desired: Some(text(desired)),
                actual: Some(text(actual)),
            });
        }
    }

    /// Records a value that is wanted but absent (`desired`) or present but unwanted (`actual`).
    pub fn presence(
        &mut self,
        field: &str,
        spec_field: Option<&str>,
        desired: Option<String>,
        actual: Option<String>,
    ) {
        self.0.push(Change {
            field: field.to_owned(),
            spec_field: spec_field.map(str::to_owned),
            desired,
            actual,
        });
    }

    /// Records desired tags that are missing or differ.
    pub fn tags(&mut self, desired: &Tags, actual: &Tags) {
        for (key, value) in normalize::tags_missing(desired, actual) {
            self.presence(
                &format!("Tags.{key}"),
                None,
                Some(value.clone()),
                actual.get(key).cloned(),
            );
        }
    }
}

/// Differences between two JSON documents, each at its deepest differing path with both leaf
/// values, e.g. `Resources.DeliveryRole.Properties.Policies[0].PolicyDocument.Statement[1].Resource`.
/// Array elements are compared by position (their order is meaningful in templates); an element
/// only one side has is reported whole.
pub fn json(path: &str, desired: &Value, actual: &Value, out: &mut Changes) {
    match (desired, actual) {
        (Value::Array(d), Value::Array(a)) => {
            for i in 0..d.len().max(a.len()) {
                let at = format!("{path}[{i}]");
                match (d.get(i), a.get(i)) {
                    (Some(dv), Some(av)) => json(&at, dv, av, out),
                    (dv, av) => out.presence(&at, None, dv.map(text), av.map(text)),
                }
            }
        }
        (Value::Object(d), Value::Object(a)) => {
            let join = |k: &str| {
                if path.is_empty() {
                    k.to_owned()
                } else {
                    format!("{path}.{k}")
                }
            };
            for (k, dv) in d {
                match a.get(k) {
                    Some(av) => json(&join(k), dv, av, out),
                    None => out.presence(&join(k), None, Some(text(dv)), None),
                }
            }
            for (k, av) in a {
                if !d.contains_key(k) {
                    out.presence(&join(k), None, None, Some(text(av)));
                }
            }
        }
        (d, a) if d != a => out.field(path, None, d, a),
        _ => {}
    }
}
