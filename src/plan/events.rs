//! The change-event rule and queue of one account and region, planned: desired × observed →
//! the writes that make them so, each difference named with both values. Pure. A rule or queue
//! of that name without pitagora's owner tag is someone else's: refused, never written.

use super::diff::{self, Changes};
use super::normalize;
use crate::events::EventsSpec;
use crate::events::rule::EVENTS_OWNER;
use crate::names::OWNER_TAG;
use crate::observed::ObservedEvents;
use crate::resources::Tags;
use std::collections::BTreeMap;

/// The id of the rule's one target, the queue.
pub const TARGET_ID: &str = "pitagora-events-queue";
/// The state the rule is in: enabled, matching the watched calls (not read-only ones).
pub const RULE_STATE: &str = "ENABLED";

/// One write, in the order they are executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventsStep {
    /// Creates the queue with its attributes and tags.
    CreateQueue {
        attributes: BTreeMap<String, String>,
        tags: Tags,
    },
    /// Sets these attributes of the queue.
    SetQueueAttributes {
        attributes: BTreeMap<String, String>,
    },
    /// Adds or corrects these tags of the queue (others' tags are kept).
    TagQueue { tags: Tags },
    /// Creates or updates the rule's pattern and state (and, creating it, its tags).
    PutRule { pattern: String, tags: Tags },
    /// Adds or corrects these tags of the rule.
    TagRule { tags: Tags },
    /// Points the rule's target at the queue.
    PutTarget { queue_arn: String },
    /// Removes the rule's other targets.
    RemoveTargets { ids: Vec<String> },
}

/// A difference between what the rule or queue should be and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsDrift {
    /// `queue` or `rule`.
    pub resource: &'static str,
    /// The field, e.g. `Policy.Statement[FromPitagoraEventsRule].Condition.ArnEquals.aws:SourceArn`.
    pub field: String,
    pub desired: Option<String>,
    pub actual: Option<String>,
}

/// The writes and the differences they correct.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsPlan {
    pub steps: Vec<EventsStep>,
    pub drift: Vec<EventsDrift>,
}

/// Why the rule and queue cannot be set up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventsConflict {
    #[error(
        "{resource} {name} exists in {place} without pitagora's tag {OWNER_TAG}={EVENTS_OWNER}: it is someone else's and is left alone; rename or remove it, or run the controller without --events there"
    )]
    NotOurs {
        resource: &'static str,
        name: String,
        place: String,
    },
}

fn ours(tags: &Tags) -> bool {
    tags.get(OWNER_TAG).map(String::as_str) == Some(EVENTS_OWNER)
}

/// The plan for `d` against `o`.
pub fn plan(d: &EventsSpec, o: &ObservedEvents) -> Result<EventsPlan, EventsConflict> {
    let not_ours = |resource| EventsConflict::NotOurs {
        resource,
        name: d.name.clone(),
        place: d.place.to_string(),
    };
    let mut p = EventsPlan::default();
    match &o.queue {
        None => {
            p.steps.push(EventsStep::CreateQueue {
                attributes: d.queue_attributes.clone(),
                tags: d.tags.clone(),
            });
            p.drift.push(absent("queue"));
        }
        Some(q) if !ours(&q.tags) => return Err(not_ours("SQS queue")),
        Some(q) => queue_changes(d, &q.attributes, &q.tags, &mut p),
    }
    let pattern = d.pattern.to_string();
    match &o.rule {
        None => {
            p.steps.push(EventsStep::PutRule {
                pattern,
                tags: d.tags.clone(),
            });
            p.steps.push(EventsStep::PutTarget {
                queue_arn: d.queue_arn.clone(),
            });
            p.drift.push(absent("rule"));
        }
        Some(r) if !ours(&r.tags) => return Err(not_ours("EventBridge rule")),
        Some(r) => {
            let mut changes = Changes::default();
            let actual = r.pattern.clone().unwrap_or_default();
            diff::json(
                "EventPattern",
                &normalize::policy_json(&d.pattern),
                &normalize::policy_json(&actual),
                &mut changes,
            );
            if r.state != RULE_STATE {
                changes.field("State", None, RULE_STATE, r.state.as_str());
            }
            if !changes.0.is_empty() {
                p.steps.push(EventsStep::PutRule {
                    pattern,
                    tags: Tags::new(),
                });
            }
            let mut tag_changes = Changes::default();
            tag_changes.tags(&d.tags, &r.tags);
            if !tag_changes.0.is_empty() {
                p.steps.push(EventsStep::TagRule {
                    tags: d.tags.clone(),
                });
            }
            target_changes(d, &r.targets, &mut changes, &mut p);
            record(&mut p, "rule", changes);
            record(&mut p, "rule", tag_changes);
        }
    }
    Ok(p)
}

fn absent(resource: &'static str) -> EventsDrift {
    EventsDrift {
        resource,
        field: String::new(),
        desired: Some("exists".into()),
        actual: None,
    }
}

fn record(p: &mut EventsPlan, resource: &'static str, changes: Changes) {
    p.drift.extend(changes.0.into_iter().map(|c| EventsDrift {
        resource,
        field: c.field,
        desired: c.desired,
        actual: c.actual,
    }));
}

/// The queue's attributes and tags pitagora sets that differ (its policy compared as a policy).
fn queue_changes(
    d: &EventsSpec,
    actual: &BTreeMap<String, String>,
    tags: &Tags,
    p: &mut EventsPlan,
) {
    let mut changes = Changes::default();
    let mut wrong = BTreeMap::new();
    for (name, want) in &d.queue_attributes {
        let have = actual.get(name);
        let before = changes.0.len();
        if name == "Policy" {
            let want_doc = serde_json::Value::String(want.clone());
            let have_doc = serde_json::Value::String(have.cloned().unwrap_or_default());
            diff::policy("Policy", &want_doc, &have_doc, &mut changes);
        } else if have != Some(want) {
            changes.presence(name, None, Some(want.clone()), have.cloned());
        }
        if changes.0.len() > before {
            wrong.insert(name.clone(), want.clone());
        }
    }
    if !wrong.is_empty() {
        p.steps
            .push(EventsStep::SetQueueAttributes { attributes: wrong });
    }
    let mut tag_changes = Changes::default();
    tag_changes.tags(&d.tags, tags);
    if !tag_changes.0.is_empty() {
        p.steps.push(EventsStep::TagQueue {
            tags: d.tags.clone(),
        });
    }
    record(p, "queue", changes);
    record(p, "queue", tag_changes);
}

/// The rule's targets: exactly one, the queue.
fn target_changes(
    d: &EventsSpec,
    targets: &BTreeMap<String, String>,
    changes: &mut Changes,
    p: &mut EventsPlan,
) {
    let have = targets.get(TARGET_ID);
    if have != Some(&d.queue_arn) {
        changes.presence(
            &format!("Targets[{TARGET_ID}].Arn"),
            None,
            Some(d.queue_arn.clone()),
            have.cloned(),
        );
        p.steps.push(EventsStep::PutTarget {
            queue_arn: d.queue_arn.clone(),
        });
    }
    let others: Vec<String> = targets
        .keys()
        .filter(|id| *id != TARGET_ID)
        .cloned()
        .collect();
    if !others.is_empty() {
        for id in &others {
            changes.presence(
                &format!("Targets[{id}]"),
                None,
                None,
                targets.get(id).cloned(),
            );
        }
        p.steps.push(EventsStep::RemoveTargets { ids: others });
    }
}
