//! After a delete: what of the pipeline is still in AWS. A `DELETE_COMPLETE` stack (or a
//! deletion call that answered) is not taken at its word: each physical resource the stack held
//! (known from its template as observed before the deletion) and each resource deleted by its
//! own call is looked for again, and what remains is either kept on purpose (the spec retains
//! it, or it is a fluentd route's log group) or a leftover, with why it may have stayed. Pure:
//! the observations before and after come from `read`.

use super::Action;
use crate::desired::Desired;
use crate::names::OWNER_TAG;
use crate::observed::Observed;
use crate::resources::{ResourceKind, Tags};
use crate::spec::DeletionPolicy;
use serde::Serialize;

/// A resource found in AWS after the delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remaining {
    /// Its CloudFormation type for the stack's resources (`AWS::IAM::Role`), else pitagora's
    /// resource kind (`DeliveryStream`).
    pub kind: String,
    /// Its name (a Lambda permission: the function and the statement's logical id).
    pub name: String,
    /// Why it is there.
    pub why: String,
}

/// What a read-back after a delete found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readback {
    /// Retained on purpose: the spec keeps it, or pitagora never deletes it.
    pub kept: Vec<Remaining>,
    /// Should be gone and is not: the delete is incomplete.
    pub leftovers: Vec<Remaining>,
}

impl Readback {
    /// Whether nothing that should be gone remains.
    pub fn complete(&self) -> bool {
        self.leftovers.is_empty()
    }
}

/// What of `d`'s pipeline remains in `after`, given `before` (observed before the delete) and
/// `deleted` (the delete's actions that succeeded). The stack's resources are looked for once
/// the stack is gone: deleted now, or before (then by the pipeline's own template). `bucket_holds_objects`: whether the bucket,
/// if it remains, holds objects.
pub fn read_back(
    d: &Desired,
    before: &Observed,
    deleted: &[&Action],
    after: &Observed,
    bucket_holds_objects: bool,
) -> Readback {
    let mut r = Readback::default();
    let did = |kind: ResourceKind| deleted.iter().filter(move |a| a.kind == kind);
    // The stack deleted now, or gone before (an earlier delete may have left some of it).
    if did(ResourceKind::Stack).next().is_some() || before.stack.is_none() {
        stack_resources(&mut r, d, before, after, bucket_holds_objects);
    }
    for a in deleted {
        if let Some(why) = still_there(d, a, after) {
            r.leftovers.push(Remaining {
                kind: a.kind.to_string(),
                name: a.name.clone(),
                why,
            });
        }
    }
    if matches!(d.deletion_policy, DeletionPolicy::Retain) && after.error_log_group.is_some() {
        r.kept.push(Remaining {
            kind: ResourceKind::ErrorLogGroup.to_string(),
            name: d.error_log_group.name.clone(),
            why: "storage.deletionPolicy: Retain keeps it with its delivery errors".into(),
        });
    }
    for group in after.route_log_groups.keys() {
        r.kept.push(Remaining {
            kind: ResourceKind::RouteLogGroup.to_string(),
            name: group.clone(),
            why: "a fluentd route writes into it and it holds logs: pitagora never deletes it"
                .into(),
        });
    }
    r
}

/// Why a resource its own call deleted is still there (`None`: it is gone, or going).
fn still_there(d: &Desired, a: &Action, after: &Observed) -> Option<String> {
    const AGAIN: &str = "its deletion answered, yet it is there on reading back: the deletion did not take, or someone created it again";
    let there = match a.kind {
        // Firehose deletes a stream in the background: DELETING is on its way.
        ResourceKind::DeliveryStream => after
            .stream
            .as_ref()
            .is_some_and(|s| s.status != "DELETING"),
        ResourceKind::CanaryLogGroup => after.canary_log_group.is_some(),
        ResourceKind::RemoteCanaryLogGroup => after.remote_canary_log_groups.contains_key(&a.name),
        ResourceKind::ErrorLogGroup => after.error_log_group.is_some(),
        ResourceKind::SubscriptionFilter => after
            .log_groups
            .get(&a.name)
            .is_some_and(|fs| fs.iter().any(|f| f.name == d.filters.filter.name)),
        ResourceKind::Destination => {
            (after.destinations.values()).any(|x| x.destination.name == a.name)
        }
        ResourceKind::RemoteSubscriptionFilter => a
            .name
            .split_once(':')
            .and_then(|(place, group)| after.remote.get(place)?.get(group))
            .is_some_and(|fs| fs.iter().any(|f| f.name == d.filters.filter.name)),
        _ => false,
    };
    there.then(|| AGAIN.to_owned())
}

/// The physical resources of the stack's template, looked for in `after`. A bucket or topic
/// policy goes with its bucket or topic, and is not looked for on its own.
fn stack_resources(
    r: &mut Readback,
    d: &Desired,
    before: &Observed,
    after: &Observed,
    bucket_holds_objects: bool,
) {
    // The template CloudFormation deleted from; the pipeline's own if it could not be read.
    let template = before
        .stack
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .unwrap_or(&d.stack.template);
    let Some(resources) = template["Resources"].as_object() else {
        return;
    };
    for (logical_id, resource) in resources {
        let kind = resource["Type"].as_str().unwrap_or_default();
        let Some(found) = physical(d, after, logical_id, kind) else {
            continue;
        };
        let retained = matches!(
            resource["DeletionPolicy"].as_str(),
            Some("Retain" | "RetainExceptOnCreate")
        );
        let remaining = |why: String| Remaining {
            kind: kind.to_owned(),
            name: found.name.clone(),
            why,
        };
        let is_bucket = kind == "AWS::S3::Bucket";
        if is_bucket && retained && matches!(d.deletion_policy, DeletionPolicy::Retain) {
            r.kept.push(remaining(
                "storage.deletionPolicy: Retain keeps the bucket and its objects".into(),
            ));
        } else {
            let why = leftover_cause(d, retained, is_bucket && bucket_holds_objects, found.tags);
            r.leftovers.push(remaining(why));
        }
    }
}

/// A stack resource found after the delete: its name, and its tags where they were read.
struct Found<'a> {
    name: String,
    tags: Option<&'a Tags>,
}

/// The resource `logical_id` of type `kind` in `after`; `None` when it is gone (or is not one
/// pitagora can look for).
fn physical<'a>(
    d: &Desired,
    after: &'a Observed,
    logical_id: &str,
    kind: &str,
) -> Option<Found<'a>> {
    let found = |name: &str, tags| Found {
        name: name.to_owned(),
        tags,
    };
    match kind {
        "AWS::S3::Bucket" => {
            let b = after.bucket.as_ref()?;
            Some(found(&d.names.bucket, b.tags.as_ref()))
        }
        "AWS::SNS::Topic" => {
            let t = after.topic.as_ref()?;
            Some(found(&d.names.topic, t.tags.as_ref()))
        }
        "AWS::IAM::Role" => {
            let (name, _) = d
                .held
                .roles
                .iter()
                .find(|(_, role)| role.logical_id == logical_id)?;
            after.roles.contains_key(name).then(|| found(name, None))
        }
        "AWS::Lambda::Permission" => {
            let p = d
                .held
                .permissions
                .iter()
                .find(|p| p.logical_id == logical_id)?;
            let statements = after.functions.get(&p.function)?;
            super::permissions::find(&p.permission, statements)?;
            Some(found(&format!("{} ({logical_id})", p.function), None))
        }
        _ => None,
    }
}

/// Why a stack resource that should be gone may have stayed, the likeliest first.
fn leftover_cause(d: &Desired, retained: bool, holds_objects: bool, tags: Option<&Tags>) -> String {
    if retained {
        "the stack's template retains it (DeletionPolicy: Retain), which pitagora's does not: the stack was changed outside pitagora, and CloudFormation left it when deleting the stack".into()
    } else if holds_objects {
        "the bucket is not empty (objects arrived after pitagora emptied it): CloudFormation deletes only empty buckets".into()
    } else if tags.is_some_and(|t| t.get(OWNER_TAG) != Some(&d.id.owner_tag_value())) {
        "it does not carry this pipeline's owner tag: it was created outside the stack".into()
    } else {
        "CloudFormation reported the stack deleted, yet it is there on reading back: the deletion skipped it, or it was created again outside the stack".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::PipelineId;

    fn desired() -> Desired {
        let spec = serde_saphyr::from_str("sources:\n  logGroups: [/ecs/orders]\n").unwrap();
        let id = PipelineId::new("team-a", "orders");
        crate::desired::from_spec(&id, &spec, "123456789012", "eu-west-1").unwrap()
    }

    #[test]
    fn a_leftovers_likeliest_cause_comes_first() {
        let d = desired();
        let ours: Tags = [(OWNER_TAG.to_owned(), "team-a/orders".to_owned())].into();
        let theirs: Tags = [(OWNER_TAG.to_owned(), "team-b/x".to_owned())].into();
        // (retained by the template, bucket with objects, tags read, the cause's words)
        let table: &[(bool, bool, Option<&Tags>, &str)] = &[
            (true, true, Some(&theirs), "DeletionPolicy: Retain"),
            (false, true, Some(&theirs), "the bucket is not empty"),
            (false, false, Some(&theirs), "created outside the stack"),
            (
                false,
                false,
                Some(&ours),
                "CloudFormation reported the stack deleted",
            ),
            (
                false,
                false,
                None,
                "CloudFormation reported the stack deleted",
            ),
        ];
        for (retained, objects, tags, want) in table {
            let why = leftover_cause(&d, *retained, *objects, *tags);
            assert!(why.contains(want), "{retained} {objects} {tags:?}: {why}");
        }
    }
}
