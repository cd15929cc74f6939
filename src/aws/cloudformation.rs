//! CloudFormation ↔ domain values, both directions: stack tags, capabilities, a described
//! stack ([`ObservedStack`]), template bodies, and how CloudFormation says a stack does not
//! exist. Pure functions: observe reads with them, apply writes with them.

use super::AwsError;
use crate::observed::ObservedStack;
use crate::resources::Tags;
use aws_sdk_cloudformation::types as cfn;

/// Whether `e` is CloudFormation's answer for a stack that does not exist: a validation
/// error, not a "not found".
pub fn is_missing_stack(e: &AwsError) -> bool {
    matches!(e, AwsError::Rejected { code, message, .. }
        if code == "ValidationError" && message.contains("does not exist"))
}

/// Whether `e` is CloudFormation's answer to an update that changes nothing.
pub fn is_no_update(e: &AwsError) -> bool {
    matches!(e, AwsError::Rejected { code, message, .. }
        if code == "ValidationError" && message.contains("No updates are to be performed"))
}

/// `e`, or [`AwsError::ServiceRole`] when it is CloudFormation's answer that the service role
/// `role` cannot be used: it does not exist or does not trust CloudFormation (`ValidationError`
/// "Role … is invalid or cannot be assumed", or "… is not a valid RoleARN"), or the caller may
/// not pass it (`iam:PassRole` denied).
pub fn service_role_error(e: AwsError, role: &str) -> AwsError {
    let about_role = match &e {
        AwsError::Rejected { code, message, .. } => {
            code == "ValidationError"
                && (message.contains("cannot be assumed")
                    || message.contains("not a valid RoleARN"))
        }
        AwsError::AccessDenied { message, .. } => message.contains("iam:PassRole"),
        _ => false,
    };
    match e {
        AwsError::Rejected {
            operation, message, ..
        }
        | AwsError::AccessDenied { operation, message }
            if about_role =>
        {
            AwsError::ServiceRole {
                operation,
                role: role.to_owned(),
                message,
            }
        }
        e => e,
    }
}

/// A stack's status, e.g. `CREATE_COMPLETE` ("" when AWS sent none).
pub fn stack_status(s: &cfn::Stack) -> String {
    s.stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

/// Stack templates already read, by what identifies a template version: a stack changes its
/// template only through an update, which moves its status and its `LastUpdatedTime`, so a
/// template is read again only when one of them changed. Stacks that report no
/// `LastUpdatedTime` after an update (emulators) are never cached.
///
/// Entries are compact, for thousands of stacks: a template equal to the pipeline's desired
/// one (the steady state) is kept as that template's digest only, and served as the desired
/// template while the desired one has the same digest; any other as its JSON text (a parsed
/// tree takes several times the memory).
#[derive(Debug, Default)]
pub struct TemplateCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, Cached>>,
}

#[derive(Debug)]
enum Cached {
    /// Equal to the desired template whose digest this is.
    AsDesired([u8; 32]),
    /// Anything else, as compact JSON.
    Text(Box<str>),
    /// The stack has no template that parses.
    Absent,
}

/// Templates kept at most; past that the cache starts again (stacks per account are bounded
/// far below it by AWS's quota).
const TEMPLATES_KEPT: usize = 4096;

fn digest(template: &serde_json::Value) -> [u8; 32] {
    use sha2::Digest;
    // serde_json's maps are ordered: equal values serialize alike.
    sha2::Sha256::digest(template.to_string().as_bytes()).into()
}

impl TemplateCache {
    /// The key of `s`'s template version, when it can be cached.
    pub fn key(s: &cfn::Stack) -> Option<String> {
        let status = stack_status(s);
        let id = s.stack_id()?;
        match s.last_updated_time() {
            Some(t) => Some(format!("{id}|{status}|{}", t.to_millis().ok()?)),
            // Never updated: the template is the one it was created with.
            None if status == "CREATE_COMPLETE" => Some(format!("{id}|{status}|-")),
            None => None,
        }
    }

    /// The template cached under `key`, for a pipeline whose desired template is `desired`;
    /// `None` when it must be read (never cached, or cached as a desired template that has
    /// changed since).
    pub fn get(&self, key: &str, desired: &serde_json::Value) -> Option<Option<serde_json::Value>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key)? {
            Cached::AsDesired(d) => (*d == digest(desired)).then(|| Some(desired.clone())),
            Cached::Text(text) => Some(serde_json::from_str(text).ok()),
            Cached::Absent => Some(None),
        }
    }

    /// Caches `template`, read for a pipeline whose desired template is `desired`, under `key`.
    pub fn put(
        &self,
        key: String,
        template: Option<&serde_json::Value>,
        desired: &serde_json::Value,
    ) {
        let cached = match template {
            Some(t) if t == desired => Cached::AsDesired(digest(t)),
            Some(t) => Cached::Text(t.to_string().into_boxed_str()),
            None => Cached::Absent,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= TEMPLATES_KEPT {
            entries.clear();
        }
        entries.insert(key, cached);
    }
}

/// A described stack as observed, with its parsed template.
pub fn observed_stack(s: &cfn::Stack, template: Option<serde_json::Value>) -> ObservedStack {
    ObservedStack {
        status: stack_status(s),
        status_reason: s.stack_status_reason().map(str::to_owned),
        template,
        tags: tags_from_sdk(s.tags()),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect(),
    }
}

/// A template body as JSON (YAML, if someone replaced it by hand, is read too); `None` when
/// it is neither.
pub fn parse_template(body: &str) -> Option<serde_json::Value> {
    serde_json::from_str(body)
        .ok()
        .or_else(|| serde_saphyr::from_str(body).ok())
}

/// Stack tags as the SDK takes them.
pub fn tags_to_sdk(tags: &Tags) -> Vec<cfn::Tag> {
    tags.iter()
        .map(|(k, v)| cfn::Tag::builder().key(k).value(v).build())
        .collect()
}

/// A described stack's tags (a tag without key or value is skipped).
pub fn tags_from_sdk(tags: &[cfn::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect()
}

/// Capabilities to acknowledge, by their AWS names (e.g. `CAPABILITY_NAMED_IAM`).
pub fn capabilities_to_sdk(capabilities: &[String]) -> Vec<cfn::Capability> {
    capabilities
        .iter()
        .map(|c| cfn::Capability::from(c.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_back_as_written() {
        let tags: Tags = [
            ("pitagora.io/owner".to_owned(), "p".to_owned()),
            ("team".to_owned(), "logs".to_owned()),
        ]
        .into();
        assert_eq!(tags_from_sdk(&tags_to_sdk(&tags)), tags);
    }

    #[test]
    fn a_described_stack_is_observed() {
        let s = cfn::Stack::builder()
            .stack_status(cfn::StackStatus::UpdateRollbackComplete)
            .stack_status_reason("rolled back")
            .tags(cfn::Tag::builder().key("k").value("v").build())
            .outputs(
                cfn::Output::builder()
                    .output_key("BucketName")
                    .output_value("b")
                    .build(),
            )
            .build();
        let observed = observed_stack(&s, Some(serde_json::json!({})));
        assert_eq!(observed.status, "UPDATE_ROLLBACK_COMPLETE");
        assert_eq!(observed.status_reason.as_deref(), Some("rolled back"));
        assert_eq!(observed.tags, Tags::from([("k".into(), "v".into())]));
        assert_eq!(observed.outputs["BucketName"], "b");
    }

    #[test]
    fn capabilities_keep_their_names() {
        let names = ["CAPABILITY_NAMED_IAM".to_owned()];
        let sdk = capabilities_to_sdk(&names);
        assert_eq!(sdk, [cfn::Capability::CapabilityNamedIam]);
    }

    #[test]
    fn templates_parse_from_json_and_yaml() {
        let json = serde_json::json!({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}});
        assert_eq!(parse_template(&json.to_string()), Some(json.clone()));
        assert_eq!(
            parse_template("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"),
            Some(json)
        );
        assert_eq!(parse_template("{ not a template"), None);
    }

    #[test]
    fn an_unusable_service_role_names_the_setting_and_the_template() {
        let role = "arn:aws:iam::123456789012:role/pitagora/pitagora-cloudformation";
        for e in [
            AwsError::Rejected {
                operation: "CloudFormation.CreateStack".into(),
                code: "ValidationError".into(),
                message: format!("Role {role} is invalid or cannot be assumed"),
            },
            AwsError::AccessDenied {
                operation: "CloudFormation.UpdateStack".into(),
                message: format!(
                    "User: u is not authorized to perform: iam:PassRole on resource: {role}"
                ),
            },
        ] {
            let e = service_role_error(e, role);
            assert_eq!(e.label(), "ServiceRole");
            let text = e.to_string();
            for needle in [
                role,
                "--cloudformation-role-arn",
                "pitagora iam-policies cloudformation-template",
            ] {
                assert!(text.contains(needle), "{text}");
            }
        }
    }

    #[test]
    fn other_stack_errors_stay_as_they_are() {
        let e = AwsError::Rejected {
            operation: "CloudFormation.CreateStack".into(),
            code: "ValidationError".into(),
            message: "Template format error".into(),
        };
        assert_eq!(service_role_error(e.clone(), "arn:aws:iam::1:role/r"), e);
    }

    #[test]
    fn a_missing_stack_is_a_validation_error() {
        let rejected = |code: &str, message: &str| AwsError::Rejected {
            operation: "CloudFormation.DescribeStacks".into(),
            code: code.into(),
            message: message.into(),
        };
        assert!(is_missing_stack(&rejected(
            "ValidationError",
            "Stack with id p does not exist"
        )));
        assert!(!is_missing_stack(&rejected("ValidationError", "bad")));
        assert!(is_no_update(&rejected(
            "ValidationError",
            "No updates are to be performed."
        )));
    }
}

#[cfg(test)]
mod template_cache {
    use super::TemplateCache;
    use aws_sdk_cloudformation::primitives::DateTime;
    use aws_sdk_cloudformation::types::{Stack, StackStatus};

    fn stack(status: StackStatus, updated_ms: Option<i64>) -> Stack {
        Stack::builder()
            .stack_id("arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1")
            .stack_name("s")
            .creation_time(DateTime::from_millis(1_000))
            .stack_status(status)
            .set_last_updated_time(updated_ms.map(DateTime::from_millis))
            .build()
    }

    #[test]
    fn a_stack_never_updated_is_cached_by_its_id() {
        assert!(TemplateCache::key(&stack(StackStatus::CreateComplete, None)).is_some());
    }

    #[test]
    fn an_update_changes_the_key_through_its_time_and_status() {
        let a = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(5_000)));
        let b = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(9_000)));
        let c = TemplateCache::key(&stack(StackStatus::UpdateInProgress, Some(9_000)));
        assert!(a.is_some() && a != b && b != c, "{a:?} {b:?} {c:?}");
    }

    #[test]
    fn an_updated_stack_without_its_update_time_is_never_cached() {
        assert_eq!(
            TemplateCache::key(&stack(StackStatus::UpdateComplete, None)),
            None
        );
        assert_eq!(
            TemplateCache::key(&stack(StackStatus::CreateInProgress, None)),
            None
        );
    }

    #[test]
    fn a_cached_template_is_returned_as_it_was_put() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::CreateComplete, None)).unwrap();
        let desired = serde_json::json!({"Resources": {"A": {"Type": "X"}}});
        let other = serde_json::json!({"Resources": {}});
        assert_eq!(cache.get(&key, &desired), None);
        cache.put(key.clone(), Some(&other), &desired);
        assert_eq!(cache.get(&key, &desired), Some(Some(other.clone())));
        cache.put(key.clone(), None, &desired);
        assert_eq!(cache.get(&key, &desired), Some(None));
    }

    #[test]
    fn a_template_equal_to_the_desired_one_is_served_while_the_desired_one_is_unchanged() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::CreateComplete, None)).unwrap();
        let desired = serde_json::json!({"Resources": {"A": {"Type": "X"}}});
        cache.put(key.clone(), Some(&desired), &desired);
        assert_eq!(cache.get(&key, &desired), Some(Some(desired.clone())));
        // The spec changed: the live template is not known from the new desired one; read it.
        let changed = serde_json::json!({"Resources": {"A": {"Type": "Y"}}});
        assert_eq!(cache.get(&key, &changed), None);
    }
}
