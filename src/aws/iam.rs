//! IAM ↔ domain values, both directions: policy documents as IAM (and S3, SNS, Lambda) return
//! them, and a role's managed policies. Pure functions.

use serde_json::Value;

/// A policy document as AWS returned it: JSON, or URL-encoded JSON (IAM's `GetRole` and
/// `GetRolePolicy`); anything else is kept as the string it is, so that a comparison shows it.
pub fn document(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    percent_decode(text)
        .and_then(|decoded| serde_json::from_str::<Value>(&decoded).ok())
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// `%XX` escapes (and `+` as a space, which IAM never uses in JSON) decoded; `None` when the
/// text holds a malformed escape or the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A document as the text a write sends.
pub fn document_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_documents_decode() {
        let text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            document(text),
            json!({"Version": "2012-10-17", "Statement": []})
        );
    }

    #[test]
    fn a_document_that_is_not_json_stays_a_string() {
        let text = "{'Version': '2012-10-17'}";
        assert_eq!(document(text), Value::String(text.into()));
    }
}
