//! CloudFormation ↔ domain values, both directions: stack tags, capabilities, a described
//! stack ([`ObservedStack`]), template bodies, and how CloudFormation says a stack does not
//! exist. Pure functions: `read` reads with them, apply writes with them.

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

/// Stack templates already read, by stack name, each with what identifies its template version:
/// a stack changes its template only through an operation on it, which moves its status and
/// (AWS documents) its `LastUpdatedTime`, so a template is read again when one of them changed.
/// Stacks that report no `LastUpdatedTime` after an update (emulators) are never cached.
///
/// pitagora's own writes do not rely on that: every CloudFormation write it sends forgets the
/// template of the stack it names ([`StackWrites`]), and a template read before a write to its
/// stack is not cached after it ([`Ticket`]). A server whose `LastUpdatedTime` stays still
/// after an update therefore never gets a template older than pitagora's update served back.
///
/// Entries are compact, for thousands of stacks: one per stack; a template equal to the
/// pipeline's desired one (the steady state) is kept as that template's digest only, and served
/// as the desired template while the desired one has the same digest; any other as its JSON
/// text (a parsed tree takes several times the memory).
#[derive(Debug, Default)]
pub struct TemplateCache {
    state: std::sync::Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// By stack name: the version key the template was read under, and the template.
    entries: std::collections::HashMap<String, (String, Cached)>,
    /// Writes seen so far: the clock [`Ticket`]s are taken on.
    writes: u64,
    /// By stack name: the clock at the last write to that stack.
    written: std::collections::HashMap<String, u64>,
    /// The clock when `written` last started again: a ticket older than it may predate a
    /// write it no longer records.
    floor: u64,
}

/// When a template read began, on the cache's clock of writes: what was read is cached only if
/// no write to its stack came since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

#[derive(Debug)]
enum Cached {
    /// Equal to the desired template whose digest this is.
    AsDesired([u8; 32]),
    /// Anything else, as compact JSON.
    Text(Box<str>),
    /// The stack has no template that parses.
    Absent,
}

/// Templates (and stacks written) kept at most; past that the cache starts again (stacks per
/// account are bounded far below it by AWS's quota).
const TEMPLATES_KEPT: usize = 4096;

fn digest(template: &serde_json::Value) -> [u8; 32] {
    use sha2::Digest;
    // serde_json's maps are ordered: equal values serialize alike.
    sha2::Sha256::digest(template.to_string().as_bytes()).into()
}

/// The stack's name in `name_or_id`: CloudFormation takes either, and an id is
/// `arn:…:stack/NAME/UUID`.
fn stack_name(name_or_id: &str) -> &str {
    match name_or_id.split_once(":stack/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => name_or_id,
    }
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

    /// Taken before the stack is described: a template read under a key described after a
    /// write to the stack is the only kind cached.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().writes)
    }

    /// The template of `stack` cached under `key`, for a pipeline whose desired template is
    /// `desired`; `None` when it must be read (never cached, cached under another version,
    /// forgotten by a write, or cached as a desired template that has changed since).
    pub fn get(
        &self,
        stack: &str,
        key: &str,
        desired: &serde_json::Value,
    ) -> Option<Option<serde_json::Value>> {
        let state = self.lock();
        let (version, cached) = state.entries.get(stack)?;
        if version != key {
            return None;
        }
        match cached {
            Cached::AsDesired(d) => (*d == digest(desired)).then(|| Some(desired.clone())),
            Cached::Text(text) => Some(serde_json::from_str(text).ok()),
            Cached::Absent => Some(None),
        }
    }

    /// Caches `template` of `stack`, read under `key` for a pipeline whose desired template is
    /// `desired` — unless a write to the stack came after `ticket` (what was read may predate
    /// it, under a key the write need not change).
    pub fn put(
        &self,
        ticket: Ticket,
        stack: &str,
        key: String,
        template: Option<&serde_json::Value>,
        desired: &serde_json::Value,
    ) {
        let mut state = self.lock();
        let last_write = state.written.get(stack).copied().unwrap_or(state.floor);
        if last_write > ticket.0 {
            return;
        }
        let cached = match template {
            Some(t) if t == desired => Cached::AsDesired(digest(t)),
            Some(t) => Cached::Text(t.to_string().into_boxed_str()),
            None => Cached::Absent,
        };
        if state.entries.len() >= TEMPLATES_KEPT && !state.entries.contains_key(stack) {
            state.entries.clear();
        }
        state.entries.insert(stack.to_owned(), (key, cached));
    }

    /// Forgets the template of the stack `name_or_id` names: pitagora is changing it.
    pub fn forget(&self, name_or_id: &str) {
        let mut state = self.lock();
        state.writes += 1;
        let name = stack_name(name_or_id);
        state.entries.remove(name);
        if state.written.len() >= TEMPLATES_KEPT && !state.written.contains_key(name) {
            state.written.clear();
            state.floor = state.writes;
        }
        let now = state.writes;
        state.written.insert(name.to_owned(), now);
    }

    /// Forgets every template: a write whose stack is not known.
    pub fn forget_all(&self) {
        let mut state = self.lock();
        state.writes += 1;
        state.entries.clear();
        state.written.clear();
        state.floor = state.writes;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An interceptor on the CloudFormation client that makes every write pitagora sends to a
/// stack forget that stack's cached template, before the write is sent (so a read racing it
/// is not cached either, see [`TemplateCache::put`]). Writes are known by operation, whatever
/// step sends them: a new one cannot forget to invalidate.
#[derive(Clone, Debug)]
pub struct StackWrites(pub std::sync::Arc<TemplateCache>);

impl StackWrites {
    /// The stack a template-changing operation's input names; `None` for any other input.
    fn named_stack(
        input: &aws_smithy_runtime_api::client::interceptors::context::Input,
    ) -> Option<&str> {
        use aws_sdk_cloudformation::operation as op;
        macro_rules! first_named {
            ($($input:ty),*) => {
                None$(.or_else(|| input.downcast_ref::<$input>().and_then(|i| i.stack_name())))*
            };
        }
        first_named!(
            op::create_stack::CreateStackInput,
            op::update_stack::UpdateStackInput,
            op::delete_stack::DeleteStackInput,
            op::cancel_update_stack::CancelUpdateStackInput,
            op::continue_update_rollback::ContinueUpdateRollbackInput,
            op::rollback_stack::RollbackStackInput,
            op::execute_change_set::ExecuteChangeSetInput
        )
    }
}

impl aws_sdk_cloudformation::config::Intercept for StackWrites {
    fn name(&self) -> &'static str {
        "pitagora::StackWrites"
    }

    // Before serialization, not before execution: the operation's name is in `cfg` only once
    // the operation's configuration is applied. Once per call, before its first attempt.
    fn read_before_serialization(
        &self,
        context: &aws_sdk_cloudformation::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_cloudformation::config::RuntimeComponents,
        cfg: &mut aws_sdk_cloudformation::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        let Some(operation) = cfg.load::<Metadata>().map(Metadata::name) else {
            return Ok(());
        };
        if !super::calls::is_write(operation) {
            return Ok(());
        }
        match Self::named_stack(context.input()) {
            Some(stack) => self.0.forget(stack),
            // A write that names no stack, or one pitagora does not know: forget them all
            // rather than trust a template it may have changed.
            None => self.0.forget_all(),
        }
        Ok(())
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

    const NAME: &str = "s";

    #[test]
    fn a_cached_template_is_returned_as_it_was_put() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::CreateComplete, None)).unwrap();
        let desired = serde_json::json!({"Resources": {"A": {"Type": "X"}}});
        let other = serde_json::json!({"Resources": {}});
        assert_eq!(cache.get(NAME, &key, &desired), None);
        cache.put(cache.ticket(), NAME, key.clone(), Some(&other), &desired);
        assert_eq!(cache.get(NAME, &key, &desired), Some(Some(other.clone())));
        cache.put(cache.ticket(), NAME, key.clone(), None, &desired);
        assert_eq!(cache.get(NAME, &key, &desired), Some(None));
    }

    #[test]
    fn a_template_equal_to_the_desired_one_is_served_while_the_desired_one_is_unchanged() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::CreateComplete, None)).unwrap();
        let desired = serde_json::json!({"Resources": {"A": {"Type": "X"}}});
        cache.put(cache.ticket(), NAME, key.clone(), Some(&desired), &desired);
        assert_eq!(cache.get(NAME, &key, &desired), Some(Some(desired.clone())));
        // The spec changed: the live template is not known from the new desired one; read it.
        let changed = serde_json::json!({"Resources": {"A": {"Type": "Y"}}});
        assert_eq!(cache.get(NAME, &key, &changed), None);
    }

    #[test]
    fn another_version_of_the_stack_is_read_again() {
        let cache = TemplateCache::default();
        let desired = serde_json::json!({"Resources": {}});
        let old = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(5_000))).unwrap();
        let new = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(9_000))).unwrap();
        cache.put(cache.ticket(), NAME, old, Some(&desired), &desired);
        assert_eq!(cache.get(NAME, &new, &desired), None);
    }

    #[test]
    fn a_write_to_the_stack_forgets_its_template_under_the_same_key() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(5_000))).unwrap();
        let desired = serde_json::json!({"Resources": {}});
        cache.put(cache.ticket(), NAME, key.clone(), Some(&desired), &desired);
        // By id, as CloudFormation also takes it.
        cache.forget("arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1");
        assert_eq!(cache.get(NAME, &key, &desired), None);
    }

    #[test]
    fn a_template_read_before_a_write_to_its_stack_is_not_cached_after_it() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::UpdateComplete, Some(5_000))).unwrap();
        let desired = serde_json::json!({"Resources": {}});
        let before = cache.ticket();
        cache.forget(NAME);
        cache.put(before, NAME, key.clone(), Some(&desired), &desired);
        assert_eq!(cache.get(NAME, &key, &desired), None);
        // A write to another stack leaves it alone.
        let before = cache.ticket();
        cache.forget("other");
        cache.put(before, NAME, key.clone(), Some(&desired), &desired);
        assert_eq!(cache.get(NAME, &key, &desired), Some(Some(desired)));
    }

    #[test]
    fn a_write_to_an_unknown_stack_forgets_every_template() {
        let cache = TemplateCache::default();
        let key = TemplateCache::key(&stack(StackStatus::CreateComplete, None)).unwrap();
        let desired = serde_json::json!({"Resources": {}});
        let before = cache.ticket();
        cache.put(before, NAME, key.clone(), Some(&desired), &desired);
        cache.forget_all();
        assert_eq!(cache.get(NAME, &key, &desired), None);
        cache.put(before, NAME, key.clone(), Some(&desired), &desired);
        assert_eq!(cache.get(NAME, &key, &desired), None);
    }
}
