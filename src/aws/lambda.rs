//! Lambda ↔ domain values, both directions: the statements of a function's resource policy
//! ([`LambdaPermission`]) as `GetPolicy` returns them and as `AddPermission` takes them. Pure.

use super::iam::document;
use crate::resources::LambdaPermission;
use serde_json::Value;

/// The statements of a `GetPolicy` answer. A statement without a `Sid` cannot be addressed and
/// is left out; a principal is its service (or account, or ARN).
pub fn statements(policy: &str) -> Vec<LambdaPermission> {
    let doc = document(policy);
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.iter().filter_map(statement).collect()
}

fn statement(s: &Value) -> Option<LambdaPermission> {
    let principal = match &s["Principal"] {
        Value::String(p) => p.clone(),
        Value::Object(m) => m.values().next()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(LambdaPermission {
        statement_id: s["Sid"].as_str()?.to_owned(),
        action: match &s["Action"] {
            Value::Array(a) => a.first()?.as_str()?.to_owned(),
            a => a.as_str()?.to_owned(),
        },
        principal,
        source_arn: condition(s, "ArnLike", "SourceArn"),
        source_account: condition(s, "StringEquals", "SourceAccount"),
    })
}

/// A condition value, whatever the case of its `aws:` prefix (Lambda answers `AWS:`).
fn condition(s: &Value, operator: &str, key: &str) -> Option<String> {
    let block = s["Condition"][operator].as_object()?;
    block
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&format!("aws:{key}")))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_policy_answer_maps_to_permissions() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"s1","Effect":"Allow",
            "Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction",
            "Resource":"arn:aws:lambda:eu-west-1:1:function:f",
            "Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"},
                         "StringEquals":{"AWS:SourceAccount":"1"}}}]}"#;
        assert_eq!(
            statements(policy),
            [LambdaPermission {
                statement_id: "s1".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "s3.amazonaws.com".into(),
                source_arn: Some("arn:aws:s3:::b".into()),
                source_account: Some("1".into()),
            }]
        );
    }
}
