//! Canonical forms shared by several resource kinds, applied to desired and observed values
//! alike before they are compared, so that what AWS merely re-spells never shows up as drift:
//! JSON policies (key order, whitespace, order-insensitive lists) and the tags a resource must
//! carry. Each kind's own canonical form (ARN variants, order-insensitive lists, defaults AWS
//! fills in) lives in that kind's planning module, next to its comparison.

use crate::resources::Tags;
use serde_json::Value;

/// A JSON policy (IAM or SNS filter) in canonical form: a string holding JSON is parsed, object
/// keys are ordered (serde_json's map is sorted), and arrays — unordered sets in both policy
/// languages — are sorted; a single `Statement` object becomes a one-element list.
pub fn policy_json(v: &Value) -> Value {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => policy_json(&parsed),
            _ => v.clone(),
        },
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Statement", Value::Object(_)) => Value::Array(vec![v.clone()]),
                        _ => v.clone(),
                    };
                    (k.clone(), policy_json(&v))
                })
                .collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(policy_json).collect();
            items.sort_by_key(|i| i.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Whether every desired tag is present with its value (other tags are someone else's).
pub fn tags_missing<'a>(desired: &'a Tags, actual: &Tags) -> Vec<(&'a String, &'a String)> {
    desired
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_json_ignores_whitespace_key_order_and_list_order() {
        let a =
            json!({"Records": {"s3": {"object": {"key": [{"prefix": "a/"}, {"prefix": "b/"}]}}}});
        let b = Value::String(
            r#"{ "Records" : { "s3":{"object":{"key":[{"prefix":"b/"},{"prefix":"a/"}]}} } }"#
                .into(),
        );
        assert_eq!(policy_json(&a), policy_json(&b));
    }

    #[test]
    fn single_statement_equals_statement_list() {
        let a = json!({"Statement": {"Effect": "Allow"}});
        let b = json!({"Statement": [{"Effect": "Allow"}]});
        assert_eq!(policy_json(&a), policy_json(&b));
    }
}
