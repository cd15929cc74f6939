//! A pure, in-memory model of the AWS behaviour pitagora relies on: it executes plan steps
//! against an [`Observed`] value the way AWS would change the real resources.
//!
//! It is the reference the plan is checked against (apply a plan, plan again: nothing left to
//! do) and lets anyone preview what a plan does without an AWS account. Where AWS refuses a
//! step (a missing bucket, a third subscription filter), the model refuses it too.

use crate::observed::*;
use crate::plan::{Plan, Step};
use crate::resources::*;

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
    plan.writes().try_for_each(|a| execute(world, &a.step))
}

/// Executes one step.
pub fn execute(world: &mut Observed, step: &Step) -> Result<(), Refused> {
    match step {
        Step::CreateStack { template, tags, .. } => {
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
            world.stack = Some(ObservedStack {
                status: "CREATE_COMPLETE".into(),
                status_reason: None,
                template: Some(template.clone()),
                tags: tags.clone(),
                outputs: Default::default(),
            });
        }
        Step::UpdateStack { template, tags, .. } => {
            let Some(stack) = world.stack.as_mut() else {
                return Err(refuse(
                    "UpdateStack",
                    "ValidationError: stack does not exist",
                ));
            };
            let before = stack.template.clone().unwrap_or_default();
            // CloudFormation creates what the template adds and deletes what it drops; what
            // vanished behind its back while still in the template stays vanished.
            if template_holds(template, "Topic") && !template_holds(&before, "Topic") {
                world.topic = Some(ObservedTopic::default());
            }
            if !template_holds(template, "Topic") {
                world.topic = None;
            }
            stack.status = "UPDATE_COMPLETE".into();
            stack.template = Some(template.clone());
            merge_tags(&mut stack.tags, tags);
        }
        Step::DeleteStack { empty_bucket, .. } => {
            if let Some(stack) = world.stack.take() {
                let retained = stack
                    .template
                    .as_ref()
                    .is_some_and(|t| t["Resources"]["Bucket"]["DeletionPolicy"] == "Retain");
                if !retained {
                    if empty_bucket.is_none() && world.bucket.is_some() {
                        return Err(refuse(
                            "DeleteStack",
                            "DELETE_FAILED: the bucket is not empty",
                        ));
                    }
                    world.bucket = None;
                }
                world.topic = None;
            }
        }
        Step::CreateLogGroup(g) => {
            if world.error_log_group.is_some() {
                return Err(refuse("CreateLogGroup", "ResourceAlreadyExistsException"));
            }
            world.error_log_group = Some(ObservedLogGroup {
                retention_days: Some(g.retention_days),
                tags: g.tags.clone(),
            });
        }
        Step::UpdateLogGroup(g) => {
            let Some(group) = world.error_log_group.as_mut() else {
                return Err(refuse("UpdateLogGroup", "ResourceNotFoundException"));
            };
            group.retention_days = Some(g.retention_days);
            merge_tags(&mut group.tags, &g.tags);
        }
        Step::DeleteLogGroup { .. } => world.error_log_group = None,
        Step::CreateStream(s) => {
            if world.stream.is_some() {
                return Err(refuse("CreateStream", "ResourceInUseException"));
            }
            world.stream = Some(ObservedStream {
                status: "ACTIVE".into(),
                destination: Some(s.destination.clone()),
                version_id: "1".into(),
                destination_id: "destinationId-000000000001".into(),
                tags: s.tags.clone(),
            });
        }
        Step::UpdateStream {
            stream,
            destination,
            tags,
        } => {
            let Some(s) = world.stream.as_mut() else {
                return Err(refuse("UpdateStream", "ResourceNotFoundException"));
            };
            if *destination {
                s.destination = Some(stream.destination.clone());
                let version: u64 = s.version_id.parse().unwrap_or(1);
                s.version_id = (version + 1).to_string();
            }
            if *tags {
                merge_tags(&mut s.tags, &stream.tags);
            }
        }
        Step::DeleteStream { .. } => world.stream = None,
        Step::PutNotifications {
            entries,
            managed_ids,
            ..
        } => {
            let Some(bucket) = world.bucket.as_mut() else {
                return Err(refuse("PutNotifications", "NoSuchBucket"));
            };
            bucket
                .notifications
                .retain(|n| !managed_ids.contains(&n.id));
            bucket.notifications.extend(entries.iter().cloned());
        }
        Step::PutLifecycle {
            rules, managed_ids, ..
        } => {
            let Some(bucket) = world.bucket.as_mut() else {
                return Err(refuse("PutLifecycle", "NoSuchBucket"));
            };
            bucket.lifecycle.retain(|r| !managed_ids.contains(&r.id));
            bucket.lifecycle.extend(rules.iter().cloned());
        }
        Step::Subscribe {
            topic_arn,
            subscription,
        } => {
            let Some(topic) = world.topic.as_mut() else {
                return Err(refuse("Subscribe", "NotFound: topic does not exist"));
            };
            let arn = format!("{topic_arn}:{:08}", topic.subscriptions.len() + 1);
            topic.subscriptions.push(ObservedSubscription {
                arn,
                subscription: subscription.clone(),
            });
        }
        Step::SetSubscriptionAttributes { arn, subscription } => {
            let found = world
                .topic
                .as_mut()
                .and_then(|t| t.subscriptions.iter_mut().find(|s| s.arn == *arn));
            let Some(found) = found else {
                return Err(refuse(
                    "SetSubscriptionAttributes",
                    "NotFound: subscription does not exist",
                ));
            };
            found.subscription.filter_policy = subscription.filter_policy.clone();
            found.subscription.filter_policy_scope = subscription.filter_policy_scope.clone();
        }
        Step::Unsubscribe { arn } => {
            if let Some(topic) = world.topic.as_mut() {
                topic.subscriptions.retain(|s| s.arn != *arn);
            }
        }
        Step::PutFilter { log_group, filter } => {
            let Some(filters) = world.log_groups.get_mut(log_group) else {
                return Err(refuse(
                    "PutFilter",
                    "ResourceNotFoundException: the log group does not exist",
                ));
            };
            match filters.iter().position(|f| f.name == filter.name) {
                Some(i) => filters[i] = filter.clone(),
                None if filters.len() >= 2 => {
                    return Err(refuse(
                        "PutFilter",
                        "LimitExceededException: Resource limit exceeded.",
                    ));
                }
                None => filters.push(filter.clone()),
            }
        }
        Step::DeleteFilter { log_group, name } => {
            if let Some(filters) = world.log_groups.get_mut(log_group) {
                filters.retain(|f| f.name != *name);
            }
        }
        Step::None => {}
    }
    Ok(())
}
