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
            let join = |k: &str| join(path, k);
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

/// `path.key`; a key in brackets (a statement's `[Sid]`) is an index and joins without a dot.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else if key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// Makes `desired` keep `actual`'s value at every path [`json`] would report that `ignored`
/// accepts: what a write sends for an ignored field is what AWS holds, so the write changes
/// exactly the fields the plan shows.
pub fn keep(path: &str, desired: &mut Value, actual: &Value, ignored: &dyn Fn(&str) -> bool) {
    match (&mut *desired, actual) {
        (Value::Array(d), Value::Array(a)) => {
            let mut kept = Vec::new();
            for i in 0..d.len().max(a.len()) {
                let at = format!("{path}[{i}]");
                match (d.get(i).cloned(), a.get(i)) {
                    (Some(mut dv), Some(av)) => {
                        keep(&at, &mut dv, av, ignored);
                        kept.push(dv);
                    }
                    (Some(dv), None) if !ignored(&at) => kept.push(dv),
                    (None, Some(av)) if ignored(&at) => kept.push(av.clone()),
                    _ => {}
                }
            }
            *d = kept;
        }
        (Value::Object(d), Value::Object(a)) => {
            d.retain(|k, _| a.contains_key(k) || !ignored(&join(path, k)));
            for (k, av) in a {
                match d.get_mut(k) {
                    Some(dv) => keep(&join(path, k), dv, av, ignored),
                    None if ignored(&join(path, k)) => {
                        d.insert(k.clone(), av.clone());
                    }
                    None => {}
                }
            }
        }
        (d, a) if *d != *a && ignored(path) => *d = a.clone(),
        _ => {}
    }
}

/// A policy document in the form its comparison uses: canonical ([`normalize::policy_json`]),
/// with its statements keyed by `[Sid]` (by `[#n]` without one), so a difference names the
/// statement it is in, not its position.
pub fn policy_form(doc: &Value) -> Value {
    let mut doc = normalize::policy_json(doc);
    if let Some(Value::Array(statements)) = doc.get("Statement").cloned() {
        let keyed = statements
            .into_iter()
            .enumerate()
            .map(|(i, st)| {
                let key = match st.get("Sid").and_then(Value::as_str) {
                    Some(sid) => format!("[{sid}]"),
                    None => format!("[#{i}]"),
                };
                (key, st)
            })
            .collect();
        doc["Statement"] = Value::Object(keyed);
    }
    doc
}

/// The document of a [`policy_form`]: its statements as a list again.
pub fn policy_document(form: &Value) -> Value {
    let mut doc = form.clone();
    if let Some(Value::Object(keyed)) = form.get("Statement") {
        doc["Statement"] = Value::Array(keyed.values().cloned().collect());
    }
    doc
}

/// Differences between two policy documents, each named by its statement (`Statement[Sid]`).
pub fn policy(path: &str, desired: &Value, actual: &Value, out: &mut Changes) {
    json(path, &policy_form(desired), &policy_form(actual), out);
}
