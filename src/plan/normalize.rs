//! Canonical forms, applied to desired and observed values alike before they are compared, so
//! that what AWS merely re-spells never shows up as drift: ARN variants, JSON key order and
//! whitespace, order-insensitive lists, and defaults AWS fills in.

use crate::arn;
use crate::resources::*;
use serde_json::Value;

/// Processor parameters AWS fills in when they are not given, by processor type.
const PROCESSOR_DEFAULTS: &[(&str, &str, &str)] = &[
    ("AppendDelimiterToRecord", "Delimiter", "\\n"),
    ("CloudWatchLogProcessing", "DataMessageExtraction", "false"),
    ("Lambda", "NumberOfRetries", "3"),
    ("Lambda", "BufferSizeInMBs", "1"),
    ("Lambda", "BufferIntervalInSeconds", "60"),
];

/// A Firehose S3 destination in canonical form.
pub fn destination(d: &S3Destination) -> S3Destination {
    let mut d = d.clone();
    d.bucket_arn = arn::normalize(&d.bucket_arn);
    d.role_arn = arn::normalize(&d.role_arn);
    d.compression = d.compression.to_ascii_uppercase();
    if d.compression == "SNAPPY" {
        d.compression = "Snappy".into();
    }
    // Disabled processing is no processing, whatever processors are still listed.
    if !d.processing_enabled {
        d.processors.clear();
    }
    if d.processors.is_empty() {
        d.processing_enabled = false;
    }
    for p in &mut d.processors {
        for value in p.parameters.values_mut() {
            if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                *value = value.to_ascii_lowercase();
            }
        }
        let kind = p.kind.clone();
        p.parameters.retain(|name, value| {
            !PROCESSOR_DEFAULTS
                .iter()
                .any(|(k, n, v)| *k == kind && n == name && v == value)
        });
    }
    // Without logging, where it would log is irrelevant.
    if !d.cloudwatch_logging.enabled {
        d.cloudwatch_logging = CloudWatchLogging::default();
    }
    d
}

/// A subscription filter in canonical form.
pub fn filter(f: &SubscriptionFilter) -> SubscriptionFilter {
    let mut f = f.clone();
    f.destination_arn = arn::normalize(&f.destination_arn);
    f.role_arn = f.role_arn.as_deref().map(arn::normalize);
    f.pattern = f.pattern.trim().to_owned();
    if f.distribution.is_empty() {
        f.distribution = "ByLogStream".into();
    }
    f
}

/// A bucket notification entry in canonical form.
pub fn notification(n: &Notification) -> Notification {
    let mut n = n.clone();
    n.target = match n.target {
        NotificationTarget::Lambda(a) => NotificationTarget::Lambda(arn::normalize(&a)),
        NotificationTarget::Topic(a) => NotificationTarget::Topic(arn::normalize(&a)),
        NotificationTarget::Queue(a) => NotificationTarget::Queue(arn::normalize(&a)),
    };
    n.events.sort();
    n.events.dedup();
    n
}

/// A lifecycle rule in canonical form.
pub fn lifecycle_rule(r: &LifecycleRule) -> LifecycleRule {
    let mut r = r.clone();
    r.transitions.sort();
    r
}

/// A topic subscription in canonical form: the endpoint ARN normalised, the filter policy in
/// canonical JSON, and the default scope spelled out.
pub fn subscription(s: &TopicSubscription) -> TopicSubscription {
    let mut s = s.clone();
    s.protocol = s.protocol.to_ascii_lowercase();
    s.endpoint = arn::normalize(&s.endpoint);
    s.filter_policy = s.filter_policy.as_ref().map(policy_json);
    // Without a filter policy the scope has no effect.
    s.filter_policy_scope = match (&s.filter_policy, s.filter_policy_scope.as_deref()) {
        (None, _) => None,
        (Some(_), None) => Some("MessageAttributes".into()),
        (Some(_), Some(scope)) => Some(scope.to_owned()),
    };
    s
}

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

    #[test]
    fn aws_filled_processor_defaults_are_not_drift() {
        let mut observed = S3Destination {
            bucket_arn: "arn:aws:s3:::b".into(),
            role_arn: "arn:aws:iam::1:role/r".into(),
            prefix: "raw/".into(),
            error_output_prefix: "errors/".into(),
            buffering: BufferingHints {
                size_mib: 5,
                interval_seconds: 300,
            },
            compression: "GZIP".into(),
            kms_key_arn: None,
            processing_enabled: true,
            processors: vec![
                Processor::new(
                    "CloudWatchLogProcessing",
                    &[("DataMessageExtraction", "True")],
                ),
                Processor::new("AppendDelimiterToRecord", &[("Delimiter", "\\n")]),
            ],
            cloudwatch_logging: CloudWatchLogging::default(),
        };
        let mut desired = observed.clone();
        desired.processors = vec![
            Processor::new(
                "CloudWatchLogProcessing",
                &[("DataMessageExtraction", "true")],
            ),
            Processor::new("AppendDelimiterToRecord", &[]),
        ];
        assert_eq!(destination(&observed), destination(&desired));
        observed.processors[1]
            .parameters
            .insert("Delimiter".into(), ",".into());
        assert_ne!(destination(&observed), destination(&desired));
    }
}
