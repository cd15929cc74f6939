//! A pure, in-memory model of the AWS behaviour pitagora relies on: it executes plan steps
//! against an [`Observed`] value the way AWS would change the real resources.
//!
//! It is the reference the plan is checked against (apply a plan, plan again: nothing left to
//! do) and lets anyone preview what a plan does without an AWS account. Where AWS refuses a
//! step (a missing bucket, a third subscription filter), the model refuses it too.

mod held;

use crate::desired::{DestinationSpec, LogGroupSpec, StreamSpec};
use crate::observed::*;
use crate::plan::{Plan, Step, Target};
use crate::resources::*;
use serde_json::Value;

/// A step AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {message}")]
pub struct Refused {
    /// The step's name.
    pub step: &'static str,
    /// What AWS would say.
    pub message: String,
}

fn refuse(step: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        step,
        message: message.into(),
    }
}

fn template_holds(template: &serde_json::Value, logical: &str) -> bool {
    template["Resources"].get(logical).is_some()
}

fn merge_tags(into: &mut Tags, tags: &Tags) {
    into.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// Executes every writing action of `plan` in order, stopping at the first refusal.
pub fn execute_plan(world: &mut Observed, plan: &Plan) -> Result<(), Refused> {
    plan.writes().try_for_each(|a| {
        let Target::Aws(step) = &a.step else {
            // A cluster write is the controller's: AWS is not touched.
            return Ok(());
        };
        execute_aws(world, step, a.kind)
    })
}

/// Executes one AWS step of an action of `kind`.
fn execute_aws(world: &mut Observed, step: &Step, kind: ResourceKind) -> Result<(), Refused> {
    match (step, kind) {
        // Which of pitagora's own log groups a step is for is the action's kind.
        (Step::CreateLogGroup(g), ResourceKind::CanaryLogGroup) => create_canary_group(world, g),
        (Step::CreateLogGroup(g), ResourceKind::RemoteCanaryLogGroup) => {
            create_remote_canary_group(world, g)
        }
        (
            Step::UpdateLogGroup {
                group,
                retention,
                tags,
            },
            ResourceKind::RemoteCanaryLogGroup,
        ) => {
            let live = world.remote_canary_log_groups.get_mut(&remote_name(group));
            update_group(live, group, *retention, *tags)
        }
        (
            Step::UpdateLogGroup {
                group,
                retention,
                tags,
            },
            ResourceKind::CanaryLogGroup,
        ) => update_group(world.canary_log_group.as_mut(), group, *retention, *tags),
        (Step::DeleteLogGroup { name }, ResourceKind::CanaryLogGroup) => {
            world.canary_log_group = None;
            world.log_groups.remove(name);
            Ok(())
        }
        (
            Step::UpdateLogGroup {
                group,
                retention,
                tags,
            },
            ResourceKind::RouteLogGroup,
        ) => {
            let live = world.route_log_groups.get_mut(&group.name);
            update_group(live, group, *retention, *tags)
        }
        (step, _) => execute(world, step),
    }
}

/// The canary log group is a log group like any other: the prefix walk finds it.
fn create_canary_group(world: &mut Observed, g: &LogGroupSpec) -> Result<(), Refused> {
    if world.canary_log_group.is_some() {
        return Err(refuse("CreateLogGroup", "ResourceAlreadyExistsException"));
    }
    world.canary_log_group = Some(ObservedLogGroup {
        retention_days: Some(g.retention_days),
        tags: g.tags.clone(),
    });
    world.log_groups.entry(g.name.clone()).or_default();
    Ok(())
}

/// `<account>/<region>` of a log group's ARN.
fn place_of(arn: &str) -> String {
    (crate::arn::AwsTarget::of_arn(arn).expect("a regional ARN")).to_string()
}

/// `<account>/<region>:<group>` of a remote log group: how observed state keys it.
fn remote_name(g: &LogGroupSpec) -> String {
    format!("{}:{}", place_of(&g.arn), g.name)
}

/// A remote source's canary log group: a log group there like any other (its listing finds it).
fn create_remote_canary_group(world: &mut Observed, g: &LogGroupSpec) -> Result<(), Refused> {
    let place = place_of(&g.arn);
    if world.remote_canary_log_groups.contains_key(&remote_name(g)) {
        return Err(refuse("CreateLogGroup", "ResourceAlreadyExistsException"));
    }
    let group = ObservedLogGroup {
        retention_days: Some(g.retention_days),
        tags: g.tags.clone(),
    };
    world.remote_canary_log_groups.insert(remote_name(g), group);
    (world.remote.entry(place).or_default())
        .entry(g.name.clone())
        .or_default();
    Ok(())
}

/// A route's log group is a source: the listing finds it. One that exists is left as it is.
fn create_route_group(world: &mut Observed, g: &LogGroupSpec) -> Result<(), Refused> {
    if world.log_groups.contains_key(&g.name) {
        return Ok(());
    }
    let group = ObservedLogGroup {
        retention_days: Some(g.retention_days),
        tags: g.tags.clone(),
    };
    world.route_log_groups.insert(g.name.clone(), group);
    world.log_groups.insert(g.name.clone(), Vec::new());
    Ok(())
}

/// Executes one step.
pub fn execute(world: &mut Observed, step: &Step) -> Result<(), Refused> {
    match step {
        Step::CreateStack { template, tags, .. } => create_stack(world, template, tags),
        Step::UpdateStack { template, tags, .. } => update_stack(world, template, tags),
        Step::DeleteStack { empty_bucket, .. } => delete_stack(world, empty_bucket.is_some()),
        Step::PutBucketAccess { access, .. } => held::put_bucket_access(world, access),
        Step::PutBucketPolicy {
            statements,
            exclusive,
            ..
        } => held::put_bucket_policy(world, statements, *exclusive),
        Step::UpdateRole(update) => held::update_role(world, update),
        Step::SetTopicPolicy { policy, .. } => held::set_topic_policy(world, policy),
        Step::SetTopicEncryption { key, .. } => held::set_topic_key(world, key),
        Step::AddPermission {
            function,
            permission,
            replaces,
        } => held::add_permission(world, function, permission, replaces.as_deref()),
        Step::RemovePermission {
            function,
            statement_id,
        } => held::remove_permission(world, function, statement_id),
        Step::CreateLogGroup(g) => create_log_group(world, g),
        Step::CreateRouteLogGroup(g) => create_route_group(world, g),
        Step::UpdateLogGroup {
            group,
            retention,
            tags,
        } => update_group(world.error_log_group.as_mut(), group, *retention, *tags),
        Step::DeleteLogGroup { .. } => delete_log_group(world),
        Step::CreateStream(s) => create_stream(world, s),
        Step::UpdateStream {
            stream,
            destination,
            tags,
        } => update_stream(world, stream, *destination, *tags),
        Step::DeleteStream { .. } => delete_stream(world),
        Step::PutNotifications {
            entries,
            managed_ids,
            ..
        } => put_notifications(world, entries, managed_ids),
        Step::PutLifecycle {
            rules, managed_ids, ..
        } => put_lifecycle(world, rules, managed_ids),
        Step::Subscribe {
            topic_arn,
            subscription,
        } => subscribe(world, topic_arn, subscription),
        Step::SetSubscriptionAttributes { arn, subscription } => {
            set_subscription_attributes(world, arn, subscription)
        }
        Step::Unsubscribe { arn } => unsubscribe(world, arn),
        Step::PutFilter { log_group, filter } => put_filter(world, log_group, filter),
        Step::DeleteFilter { log_group, name } => delete_filter(world, log_group, name),
        Step::PutDestination { .. }
        | Step::DeleteDestination { .. }
        | Step::PutRemoteFilter { .. }
        | Step::DeleteRemoteFilter { .. }
        | Step::DeleteRemoteLogGroup { .. } => execute_remote(world, step),
        // A conflict executes nothing.
        Step::Conflict(_) => Ok(()),
    }
}

fn create_stack(world: &mut Observed, template: &Value, tags: &Tags) -> Result<(), Refused> {
    if world.stack.is_some() {
        return Err(refuse(
            "CreateStack",
            "AlreadyExistsException: stack already exists",
        ));
    }
    if template_holds(template, "Bucket") {
        if world.bucket.is_some() {
            return Err(refuse(
                "CreateStack",
                "CREATE_FAILED: the bucket already exists",
            ));
        }
        world.bucket = Some(ObservedBucket::default());
    }
    if template_holds(template, "Topic") {
        world.topic = Some(ObservedTopic::default());
    }
    held::apply_template(world, None, template);
    world.stack = Some(ObservedStack {
        status: "CREATE_COMPLETE".into(),
        status_reason: None,
        template: Some(template.clone()),
        tags: tags.clone(),
        outputs: Default::default(),
    });
    Ok(())
}

fn update_stack(world: &mut Observed, template: &Value, tags: &Tags) -> Result<(), Refused> {
    let Some(stack) = world.stack.as_mut() else {
        return Err(refuse(
            "UpdateStack",
            "ValidationError: stack does not exist",
        ));
    };
    let before = stack.template.clone().unwrap_or_default();
    // CloudFormation creates what the template adds and deletes what it drops; what vanished
    // behind its back while still in the template stays vanished.
    if template_holds(template, "Topic") && !template_holds(&before, "Topic") {
        world.topic = Some(ObservedTopic::default());
    }
    if !template_holds(template, "Topic") {
        world.topic = None;
    }
    stack.status = "UPDATE_COMPLETE".into();
    stack.template = Some(template.clone());
    merge_tags(&mut stack.tags, tags);
    held::apply_template(world, Some(&before), template);
    Ok(())
}

/// `empties_bucket`: the step empties the bucket first, so CloudFormation can delete it.
fn delete_stack(world: &mut Observed, empties_bucket: bool) -> Result<(), Refused> {
    let Some(stack) = world.stack.take() else {
        return Ok(());
    };
    let retained = stack
        .template
        .as_ref()
        .is_some_and(|t| t["Resources"]["Bucket"]["DeletionPolicy"] == "Retain");
    if !retained {
        if !empties_bucket && world.bucket.is_some() {
            return Err(refuse(
                "DeleteStack",
                "DELETE_FAILED: the bucket is not empty",
            ));
        }
        world.bucket = None;
    }
    world.topic = None;
    if let Some(template) = &stack.template {
        held::remove_template(world, template);
    }
    Ok(())
}

fn create_log_group(world: &mut Observed, g: &LogGroupSpec) -> Result<(), Refused> {
    if world.error_log_group.is_some() {
        return Err(refuse("CreateLogGroup", "ResourceAlreadyExistsException"));
    }
    world.error_log_group = Some(ObservedLogGroup {
        retention_days: Some(g.retention_days),
        tags: g.tags.clone(),
    });
    Ok(())
}

fn update_group(
    group: Option<&mut ObservedLogGroup>,
    g: &LogGroupSpec,
    retention: bool,
    tags: bool,
) -> Result<(), Refused> {
    let Some(group) = group else {
        return Err(refuse("UpdateLogGroup", "ResourceNotFoundException"));
    };
    if retention {
        group.retention_days = Some(g.retention_days);
    }
    if tags {
        merge_tags(&mut group.tags, &g.tags);
    }
    Ok(())
}

fn delete_log_group(world: &mut Observed) -> Result<(), Refused> {
    world.error_log_group = None;
    Ok(())
}

fn create_stream(world: &mut Observed, s: &StreamSpec) -> Result<(), Refused> {
    if world.stream.is_some() {
        return Err(refuse("CreateStream", "ResourceInUseException"));
    }
    world.stream = Some(ObservedStream {
        status: "ACTIVE".into(),
        destination: Some(s.destination.clone()),
        tags: s.tags.clone(),
    });
    Ok(())
}

fn update_stream(
    world: &mut Observed,
    stream: &StreamSpec,
    destination: bool,
    tags: bool,
) -> Result<(), Refused> {
    let Some(s) = world.stream.as_mut() else {
        return Err(refuse("UpdateStream", "ResourceNotFoundException"));
    };
    if destination {
        s.destination = Some(stream.destination.clone());
    }
    if tags {
        merge_tags(&mut s.tags, &stream.tags);
    }
    Ok(())
}

fn delete_stream(world: &mut Observed) -> Result<(), Refused> {
    world.stream = None;
    Ok(())
}

fn put_notifications(
    world: &mut Observed,
    entries: &[Notification],
    managed_ids: &[String],
) -> Result<(), Refused> {
    let Some(bucket) = world.bucket.as_mut() else {
        return Err(refuse("PutNotifications", "NoSuchBucket"));
    };
    bucket
        .notifications
        .retain(|n| !managed_ids.contains(&n.id));
    bucket.notifications.extend(entries.iter().cloned());
    Ok(())
}

fn put_lifecycle(
    world: &mut Observed,
    rules: &[LifecycleRule],
    managed_ids: &[String],
) -> Result<(), Refused> {
    let Some(bucket) = world.bucket.as_mut() else {
        return Err(refuse("PutLifecycle", "NoSuchBucket"));
    };
    bucket.lifecycle.retain(|r| !managed_ids.contains(&r.id));
    bucket.lifecycle.extend(rules.iter().cloned());
    Ok(())
}

fn subscribe(
    world: &mut Observed,
    topic_arn: &str,
    subscription: &TopicSubscription,
) -> Result<(), Refused> {
    let Some(topic) = world.topic.as_mut() else {
        return Err(refuse("Subscribe", "NotFound: topic does not exist"));
    };
    let arn = format!("{topic_arn}:{:08}", topic.subscriptions.len() + 1);
    topic.subscriptions.push(ObservedSubscription {
        arn,
        subscription: subscription.clone(),
    });
    Ok(())
}

fn set_subscription_attributes(
    world: &mut Observed,
    arn: &str,
    subscription: &TopicSubscription,
) -> Result<(), Refused> {
    let found = world
        .topic
        .as_mut()
        .and_then(|t| t.subscriptions.iter_mut().find(|s| s.arn == arn));
    let Some(found) = found else {
        return Err(refuse(
            "SetSubscriptionAttributes",
            "NotFound: subscription does not exist",
        ));
    };
    found.subscription.filter_policy = subscription.filter_policy.clone();
    found.subscription.filter_policy_scope = subscription.filter_policy_scope.clone();
    Ok(())
}

/// Unsubscribing what is gone succeeds, as in SNS.
fn unsubscribe(world: &mut Observed, arn: &str) -> Result<(), Refused> {
    if let Some(topic) = world.topic.as_mut() {
        topic.subscriptions.retain(|s| s.arn != arn);
    }
    Ok(())
}

fn put_filter(
    world: &mut Observed,
    log_group: &str,
    filter: &SubscriptionFilter,
) -> Result<(), Refused> {
    let Some(filters) = world.log_groups.get_mut(log_group) else {
        return Err(refuse(
            "PutFilter",
            "ResourceNotFoundException: the log group does not exist",
        ));
    };
    match filters.iter().position(|f| f.name == filter.name) {
        Some(i) => filters[i] = filter.clone(),
        None if filters.len() >= crate::observed::DOCUMENTED_FILTERS_PER_LOG_GROUP => {
            return Err(refuse(
                "PutFilter",
                "LimitExceededException: Resource limit exceeded.",
            ));
        }
        None => filters.push(filter.clone()),
    }
    Ok(())
}

fn delete_filter(world: &mut Observed, log_group: &str, name: &str) -> Result<(), Refused> {
    if let Some(filters) = world.log_groups.get_mut(log_group) {
        filters.retain(|f| f.name != name);
    }
    Ok(())
}

/// A remote source's log groups as a world of their own, so its filters follow the same rules.
fn remote_place(world: &Observed, account: &str, region: &str) -> Observed {
    Observed {
        log_groups: (world.remote.get(&format!("{account}/{region}")))
            .cloned()
            .unwrap_or_default(),
        ..Observed::default()
    }
}

/// `PutDestination` creates or overwrites the target and role; `PutDestinationPolicy` and
/// `TagResource` need the destination to exist (the latter adds or overwrites its keys only).
fn put_destination(
    world: &mut Observed,
    want: &DestinationSpec,
    (fields, policy, tags): (bool, bool, bool),
) -> Result<(), Refused> {
    let d = &want.destination;
    if fields {
        // Tags are set only by the call that creates the destination.
        let live = (world.destinations)
            .entry(want.region.clone())
            .or_insert_with(|| ObservedDestination {
                destination: Destination {
                    access_policy: None,
                    ..d.clone()
                },
                tags: want.tags.clone(),
            });
        live.destination.target_arn = d.target_arn.clone();
        live.destination.role_arn = d.role_arn.clone();
    }
    let missing = |call: &'static str| {
        refuse(
            call,
            "ResourceNotFoundException: the destination does not exist",
        )
    };
    if policy {
        let live = (world.destinations.get_mut(&want.region))
            .ok_or_else(|| missing("PutDestinationPolicy"))?;
        live.destination.access_policy = d.access_policy.clone();
    }
    if tags {
        let live =
            (world.destinations.get_mut(&want.region)).ok_or_else(|| missing("TagResource"))?;
        live.tags.extend(want.tags.clone());
    }
    Ok(())
}

/// Executes one of the remote part's steps: a destination in its region, a filter in its
/// account and region.
fn execute_remote(world: &mut Observed, step: &Step) -> Result<(), Refused> {
    match step {
        Step::PutDestination {
            destination,
            fields,
            policy,
            tags,
        } => put_destination(world, destination, (*fields, *policy, *tags)),
        Step::DeleteDestination { region, .. } => {
            world.destinations.remove(region);
            Ok(())
        }
        Step::PutRemoteFilter {
            account,
            region,
            log_group,
            filter,
        } => {
            let mut place = remote_place(world, account, region);
            put_filter(&mut place, log_group, filter)?;
            (world.remote).insert(format!("{account}/{region}"), place.log_groups);
            Ok(())
        }
        Step::DeleteRemoteFilter {
            account,
            region,
            log_group,
            name,
        } => {
            let key = format!("{account}/{region}");
            let filters = world
                .remote
                .get_mut(&key)
                .and_then(|g| g.get_mut(log_group));
            filters
                .into_iter()
                .for_each(|f| f.retain(|f| f.name != *name));
            Ok(())
        }
        Step::DeleteRemoteLogGroup {
            account,
            region,
            name,
        } => {
            let key = format!("{account}/{region}");
            (world.remote_canary_log_groups).remove(&format!("{key}:{name}"));
            if let Some(groups) = world.remote.get_mut(&key) {
                groups.remove(name);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
