//! Apply: execute a plan's actions in order against AWS.
//!
//! Every step is idempotent and safe to repeat after a crash at any point: creations accept
//! "already exists", deletions accept "not found", updates re-read what they must (a stream's
//! version, a bucket's foreign entries) right before writing, and stack operations carry a
//! client request token. A failed action stops the run (later actions depend on earlier ones),
//! except for per-log-group filters and per-subscriber subscriptions, which are independent.
//!
//! This module keeps the order and the dispatch; each resource kind's writes live in its own
//! module: [`stack`], [`bucket_access`], [`bucket_policy`], [`role`], [`topic_policy`], [`topic_encryption`],
//! [`permissions`], [`log_group`], [`stream`], [`notifications`], [`lifecycle`],
//! [`subscriptions`], [`filters`], [`remote`] (destinations and remote filters). SDK values are built by the service mappings in
//! [`crate::aws`], the same ones `read` reads with.

mod bucket_access;
mod bucket_policy;
pub mod events;
mod filters;
mod lifecycle;
mod log_group;
mod notifications;
mod permissions;
mod remote;
mod role;
mod stack;
mod stream;
mod subscriptions;
mod topic_encryption;
mod topic_policy;

use crate::aws::{AwsError, Places, RegionClients};
use crate::plan::{Action, Plan, Step, Target};
use crate::resources::ResourceKind;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What happened to one action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    /// The action.
    pub action: Action,
    /// `Ok(detail)` or the error.
    #[serde(serialize_with = "serialize_result")]
    pub result: Result<String, AwsError>,
    /// How long it took.
    pub elapsed_ms: u64,
}

fn serialize_result<S: serde::Serializer>(
    r: &Result<String, AwsError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Ok(detail) => s.serialize_str(detail),
        Err(e) => s.serialize_str(&format!("error: {e}")),
    }
}

/// The outcome of applying a plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Outcomes of the executed actions, in order.
    pub outcomes: Vec<ActionOutcome>,
    /// Actions not executed because an earlier one failed.
    pub skipped: Vec<Action>,
}

impl ApplyReport {
    /// Whether every executed action succeeded and none was skipped.
    pub fn succeeded(&self) -> bool {
        self.skipped.is_empty() && self.outcomes.iter().all(|o| o.result.is_ok())
    }

    /// The errors, in order.
    pub fn errors(&self) -> impl Iterator<Item = &AwsError> {
        self.outcomes.iter().filter_map(|o| o.result.as_ref().err())
    }
}

/// Executes `plan`'s writing actions in order, reporting each outcome to `progress` as it
/// happens: `c` are the clients of the pipeline's region, `aws` reaches the other regions and
/// accounts its remote sources are in. A report-only plan is never executed.
pub async fn apply<P: FnMut(&ActionOutcome)>(
    aws: &Places,
    c: &RegionClients,
    plan: &Plan,
    progress: &mut P,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    if plan.report_only {
        return report;
    }
    let mut actions = plan.writes();
    for action in actions.by_ref() {
        let started = Instant::now();
        let span = tracing::info_span!("action", op = %action.op, kind = %action.kind, name = %action.name);
        // Boxed: one step's SDK futures are large; keep them off the caller's stack.
        let result = match &action.step {
            Target::Aws(step) => {
                tracing::Instrument::instrument(Box::pin(execute(aws, c, step)), span).await
            }
            // Shown with the plan, written by the controller (server-side apply and reload).
            Target::Cluster(_) => {
                Ok("left to the controller, which writes the fluentd key".to_owned())
            }
        };
        let outcome = ActionOutcome {
            action: action.clone(),
            result,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        progress(&outcome);
        let independent = matches!(
            action.kind,
            ResourceKind::SubscriptionFilter
                | ResourceKind::RemoteSubscriptionFilter
                | ResourceKind::TopicSubscription
        );
        let failed = outcome.result.is_err();
        report.outcomes.push(outcome);
        if failed && !independent {
            break;
        }
    }
    report.skipped = actions.cloned().collect();
    report
}

/// Executes one step: in the pipeline's region with `c`, elsewhere through `aws`.
pub async fn execute(aws: &Places, c: &RegionClients, step: &Step) -> Result<String, AwsError> {
    match step {
        Step::CreateStack { .. } | Step::UpdateStack { .. } => stack::write(c, step).await,
        Step::DeleteStack {
            name,
            empty_bucket,
            role_arn,
        } => stack::delete(c, name, empty_bucket.as_deref(), role_arn).await,
        Step::PutBucketAccess { bucket, access } => bucket_access::put(c, bucket, access).await,
        Step::PutBucketPolicy {
            bucket,
            statements,
            exclusive,
        } => bucket_policy::put(c, bucket, statements, *exclusive).await,
        Step::UpdateRole(update) => role::update(c, update).await,
        Step::SetTopicPolicy { topic_arn, policy } => topic_policy::set(c, topic_arn, policy).await,
        Step::SetTopicEncryption { topic_arn, key } => {
            topic_encryption::set(c, topic_arn, key).await
        }
        Step::AddPermission {
            function,
            permission,
            replaces,
        } => permissions::add(c, function, permission, replaces.as_deref()).await,
        Step::RemovePermission {
            function,
            statement_id,
        } => permissions::remove(c, function, statement_id).await,
        Step::CreateLogGroup(g) => {
            let elsewhere = group_clients(aws, c, g)?;
            log_group::create(elsewhere.as_deref().unwrap_or(c), g).await
        }
        Step::CreateRouteLogGroup(g) => log_group::create_route(c, g).await,
        Step::UpdateLogGroup {
            group,
            retention,
            tags,
        } => {
            let elsewhere = group_clients(aws, c, group)?;
            let c = elsewhere.as_deref().unwrap_or(c);
            log_group::update(c, group, *retention, *tags).await
        }
        Step::DeleteLogGroup { name } => log_group::delete(c, name).await,
        Step::CreateStream(s) => stream::create(c, s).await,
        Step::UpdateStream {
            stream,
            destination,
            tags,
        } => stream::update(c, stream, *destination, *tags).await,
        Step::DeleteStream { name } => stream::delete(c, name).await,
        Step::PutNotifications {
            bucket,
            entries,
            managed_ids,
        } => notifications::put(c, bucket, entries, managed_ids).await,
        Step::PutLifecycle {
            bucket,
            rules,
            managed_ids,
        } => lifecycle::put(c, bucket, rules, managed_ids).await,
        Step::Subscribe {
            topic_arn,
            subscription,
        } => subscriptions::subscribe(c, topic_arn, subscription).await,
        Step::SetSubscriptionAttributes { arn, subscription } => {
            subscriptions::set_attributes(c, arn, subscription).await
        }
        Step::Unsubscribe { arn } => subscriptions::unsubscribe(c, arn).await,
        Step::PutFilter { log_group, filter } => filters::put(c, log_group, filter).await,
        Step::DeleteFilter { log_group, name } => filters::delete(c, log_group, name).await,
        Step::PutDestination { .. }
        | Step::DeleteDestination { .. }
        | Step::PutRemoteFilter { .. }
        | Step::DeleteRemoteFilter { .. }
        | Step::DeleteRemoteLogGroup { .. } => remote::execute(aws, step).await,
        Step::Conflict(_) => Ok(String::new()),
    }
}

/// The clients of the account and region of `group`'s ARN when they are not `c`'s (the
/// pipeline's own): a remote source's, for its canary log group.
fn group_clients(
    aws: &Places,
    c: &RegionClients,
    group: &crate::desired::LogGroupSpec,
) -> Result<Option<std::sync::Arc<RegionClients>>, AwsError> {
    match crate::arn::AwsTarget::of_arn(&group.arn) {
        Some(t) if t.region != c.region || t.account_id != aws.home_account() => {
            aws.clients_in(&t.account_id, &t.region).map(Some)
        }
        _ => Ok(None),
    }
}

/// A deletion's detail: `done`, or `gone` when there was nothing left to delete.
/// What a read-modify-write of a shared configuration did: `ours` entries of this pipeline
/// written, `kept` of others' written back (`what`: the singular and plural noun).
fn shared_write(ours: usize, kept: usize, what: (&str, &str)) -> String {
    let noun = if ours == 1 { what.0 } else { what.1 };
    format!("{ours} {noun} of this pipeline written, {kept} of others' kept")
}

fn gone_is_fine<T>(r: Result<T, AwsError>, done: &str, gone: &str) -> Result<String, AwsError> {
    match r {
        Ok(_) => Ok(done.to_owned()),
        Err(e) if e.is_not_found() => Ok(gone.to_owned()),
        Err(e) => Err(e),
    }
}

/// The next interval between two polls of a settling resource: doubled, at most 10 s.
fn next_poll(interval: Duration) -> Duration {
    (interval * 2).min(Duration::from_secs(10))
}
