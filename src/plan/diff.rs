//! Field-by-field comparison of canonical desired and observed values, producing [`Change`]s
//! named after the AWS field (and the spec field that sets it, where there is one).

use super::Change;
use super::normalize;
use crate::resources::*;
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

/// Differences between two JSON documents, as dotted paths to the outermost differing member.
/// Arrays are compared whole (their order is meaningful in templates).
pub fn json(path: &str, desired: &Value, actual: &Value, out: &mut Changes) {
    match (desired, actual) {
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

/// Differences between two canonical S3 destinations.
pub fn destination(d: &S3Destination, a: &S3Destination, out: &mut Changes) {
    out.field(
        "BucketARN",
        Some("spec.storage.bucketName"),
        &d.bucket_arn,
        &a.bucket_arn,
    );
    out.field("RoleARN", None, &d.role_arn, &a.role_arn);
    out.field("Prefix", Some("spec.delivery.prefix"), &d.prefix, &a.prefix);
    out.field(
        "ErrorOutputPrefix",
        Some("spec.delivery.errorOutputPrefix"),
        &d.error_output_prefix,
        &a.error_output_prefix,
    );
    out.field(
        "BufferingHints.SizeInMBs",
        Some("spec.delivery.buffering.sizeMiB"),
        &d.buffering.size_mib,
        &a.buffering.size_mib,
    );
    out.field(
        "BufferingHints.IntervalInSeconds",
        Some("spec.delivery.buffering.intervalSeconds"),
        &d.buffering.interval_seconds,
        &a.buffering.interval_seconds,
    );
    out.field(
        "CompressionFormat",
        Some("spec.delivery.compression"),
        &d.compression,
        &a.compression,
    );
    out.field(
        "EncryptionConfiguration",
        None,
        &d.kms_key_arn,
        &a.kms_key_arn,
    );
    out.field(
        "ProcessingConfiguration.Enabled",
        Some("spec.delivery.recordFormat"),
        &d.processing_enabled,
        &a.processing_enabled,
    );
    if d.processing_enabled && a.processing_enabled {
        out.field(
            "ProcessingConfiguration.Processors",
            Some("spec.delivery.recordFormat"),
            &d.processors,
            &a.processors,
        );
    }
    out.field(
        "CloudWatchLoggingOptions",
        None,
        &d.cloudwatch_logging,
        &a.cloudwatch_logging,
    );
}

/// Differences between two canonical subscription filters.
pub fn filter(d: &SubscriptionFilter, a: &SubscriptionFilter, out: &mut Changes) {
    out.field(
        "filterPattern",
        Some("spec.sources.filterPattern"),
        &d.pattern,
        &a.pattern,
    );
    out.field(
        "destinationArn",
        None,
        &d.destination_arn,
        &a.destination_arn,
    );
    out.field("roleArn", None, &d.role_arn, &a.role_arn);
    out.field(
        "distribution",
        Some("spec.sources.distribution"),
        &d.distribution,
        &a.distribution,
    );
}

/// A notification entry in words, e.g. `Lambda arn:… on s3:ObjectCreated:* under raw/`.
pub fn describe_notification(n: &Notification) -> String {
    let (kind, arn) = match &n.target {
        NotificationTarget::Lambda(a) => ("Lambda", a),
        NotificationTarget::Topic(a) => ("topic", a),
        NotificationTarget::Queue(a) => ("queue", a),
    };
    let mut text = format!("{kind} {arn} on {}", n.events.join(","));
    if !n.prefix.is_empty() {
        text.push_str(&format!(" under {}", n.prefix));
    }
    if !n.suffix.is_empty() {
        text.push_str(&format!(" ending {}", n.suffix));
    }
    text
}

/// A lifecycle rule in words, e.g. `expire after 400 days; GLACIER_IR after 30 days`.
pub fn describe_rule(r: &LifecycleRule) -> String {
    let mut parts: Vec<String> = r
        .expiration_days
        .iter()
        .map(|d| format!("expire after {d} days"))
        .collect();
    parts.extend(
        r.transitions
            .iter()
            .map(|t| format!("{} after {} days", t.storage_class, t.days)),
    );
    if !r.prefix.is_empty() {
        parts.push(format!("under {}", r.prefix));
    }
    if !r.enabled {
        parts.push("disabled".into());
    }
    parts.join("; ")
}

/// Differences between this pipeline's desired and actual notification entries, matched by id.
pub fn notifications(desired: &[Notification], actual: &[Notification], out: &mut Changes) {
    for d in desired {
        let path = format!("NotificationConfiguration[{}]", d.id);
        match actual.iter().find(|a| a.id == d.id) {
            None => out.presence(&path, None, Some(describe_notification(d)), None),
            Some(a) => {
                out.field(&format!("{path}.Target"), None, &d.target, &a.target);
                out.field(&format!("{path}.Events"), None, &d.events, &a.events);
                out.field(&format!("{path}.Filter.Prefix"), None, &d.prefix, &a.prefix);
                out.field(&format!("{path}.Filter.Suffix"), None, &d.suffix, &a.suffix);
            }
        }
    }
    for a in actual {
        if !desired.iter().any(|d| d.id == a.id) {
            out.presence(
                &format!("NotificationConfiguration[{}]", a.id),
                None,
                None,
                Some(describe_notification(a)),
            );
        }
    }
}

/// Differences between this pipeline's desired and actual lifecycle rules, matched by id.
pub fn lifecycle(desired: &[LifecycleRule], actual: &[LifecycleRule], out: &mut Changes) {
    for d in desired {
        let path = format!("Rules[{}]", d.id);
        match actual.iter().find(|a| a.id == d.id) {
            None => out.presence(
                &path,
                Some("spec.storage.retentionDays"),
                Some(describe_rule(d)),
                None,
            ),
            Some(a) => {
                out.field(&format!("{path}.Filter.Prefix"), None, &d.prefix, &a.prefix);
                out.field(&format!("{path}.Status"), None, &d.enabled, &a.enabled);
                out.field(
                    &format!("{path}.Expiration.Days"),
                    Some("spec.storage.retentionDays"),
                    &d.expiration_days,
                    &a.expiration_days,
                );
                out.field(
                    &format!("{path}.Transitions"),
                    Some("spec.storage.transition"),
                    &d.transitions,
                    &a.transitions,
                );
            }
        }
    }
    for a in actual {
        if !desired.iter().any(|d| d.id == a.id) {
            out.presence(
                &format!("Rules[{}]", a.id),
                Some("spec.storage.retentionDays"),
                None,
                Some(describe_rule(a)),
            );
        }
    }
}

/// Differences between two canonical topic subscriptions of the same endpoint.
pub fn subscription(
    subscriber: &str,
    d: &TopicSubscription,
    a: &TopicSubscription,
    out: &mut Changes,
) {
    let spec_field = format!("spec.fanout.subscribers[{subscriber}].filterPolicy");
    out.field(
        "FilterPolicy",
        Some(&spec_field),
        &d.filter_policy,
        &a.filter_policy,
    );
    out.field(
        "FilterPolicyScope",
        Some(&spec_field),
        &d.filter_policy_scope,
        &a.filter_policy_scope,
    );
}
