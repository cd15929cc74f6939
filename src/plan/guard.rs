//! Changes that would lose logs or delivery, and whether the spec consented to them. Pure: the
//! engine asks AWS only whether a bucket holds objects, and only when a plan would leave or
//! empty it.
//!
//! - a new bucket name while the stack's bucket holds objects: the old bucket is retained, but
//!   logs stop going there and pitagora stops managing it (`acknowledge.replaceBucket`);
//! - deleting a pipeline with `storage.deletionPolicy: Delete` whose bucket holds objects
//!   (`acknowledge.deleteObjects`);
//! - a change that leaves no log group feeding the stream, here or in a remote source's account
//!   and region, while no legacy path runs beside it (`acknowledge.stopDelivery`).

use super::{Op, Plan, Step, Target};
use crate::desired::Desired;
use crate::names::is_canary_log_group;
use crate::observed::Observed;
use crate::resources::{ResourceKind, SubscriptionFilter};
use crate::spec::CutoverStage;
use std::collections::BTreeSet;

/// A loss a plan would cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loss {
    /// The stack's bucket `old` would be replaced by `new`.
    ReplaceBucket {
        /// The bucket left behind.
        old: String,
        /// The new one.
        new: String,
    },
    /// Every object of `bucket` would be deleted with it.
    DeleteObjects {
        /// The bucket.
        bucket: String,
    },
    /// No source log group would feed the stream any more.
    StopDelivery,
}

impl Loss {
    /// The bucket whose contents decide whether this is a loss at all (an empty bucket loses
    /// nothing).
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Loss::ReplaceBucket { old, .. } => Some(old),
            Loss::DeleteObjects { bucket } => Some(bucket),
            Loss::StopDelivery => None,
        }
    }

    /// Whether `d`'s `spec.acknowledge` consents to it.
    pub fn acknowledged(&self, d: &Desired) -> bool {
        let Some(ack) = &d.acknowledge else {
            return false;
        };
        match self {
            Loss::ReplaceBucket { old, .. } => ack.replace_bucket.as_deref() == Some(old),
            Loss::DeleteObjects { bucket } => ack.delete_objects.as_deref() == Some(bucket),
            Loss::StopDelivery => ack.stop_delivery,
        }
    }

    /// Why the change is refused, and how to go ahead.
    pub fn reason(&self) -> String {
        match self {
            Loss::ReplaceBucket { old, new } => format!(
                "spec.storage.bucketName: the new bucket {new} would leave {old} behind, and it \
                 holds objects: logs would stop going there and pitagora would stop managing it; \
                 to go ahead, set spec.acknowledge.replaceBucket: {old}"
            ),
            Loss::DeleteObjects { bucket } => format!(
                "spec.storage.deletionPolicy: Delete would delete every object in {bucket}; to \
                 go ahead, set spec.acknowledge.deleteObjects: {bucket} (or deletionPolicy: \
                 Retain to keep them)"
            ),
            Loss::StopDelivery => "spec.sources: no log group would feed the stream any more \
                 and no legacy path runs beside it, so logs would stop; to go ahead, set \
                 spec.acknowledge.stopDelivery: true"
                .to_owned(),
        }
    }
}

/// The losses a convergence `plan` would cause, before knowing whether the bucket concerned
/// holds objects, without the ones the spec consented to.
pub fn change_losses(d: &Desired, o: &Observed, plan: &Plan) -> Vec<Loss> {
    let mut out = Vec::new();
    let writes_stack = plan
        .writes()
        .any(|a| a.kind == ResourceKind::Stack && a.op == Op::Update);
    let old = o.stack.as_ref().and_then(|s| s.outputs.get("BucketName"));
    if let (true, Some(old)) = (writes_stack, old)
        && *old != d.names.bucket
    {
        out.push(Loss::ReplaceBucket {
            old: old.clone(),
            new: d.names.bucket.clone(),
        });
    }
    if d.stage == CutoverStage::New && stops_delivery(d, o, plan) {
        out.push(Loss::StopDelivery);
    }
    out.retain(|l| !l.acknowledged(d));
    out
}

/// The losses a delete `plan` would cause (deleting stops delivery by definition: only the
/// objects count), without the ones the spec consented to.
pub fn delete_losses(d: &Desired, plan: &Plan) -> Vec<Loss> {
    plan.writes()
        .filter_map(|a| match &a.step {
            Target::Aws(Step::DeleteStack {
                empty_bucket: Some(bucket),
                ..
            }) => Some(Loss::DeleteObjects {
                bucket: bucket.clone(),
            }),
            _ => None,
        })
        .filter(|l| !l.acknowledged(d))
        .collect()
}

/// Whether source groups carry this pipeline's filter now, here or in a remote source's account
/// and region, and none would after `plan`: every such filter removed, and none put on another
/// source. Canary groups are no sources: their canaries prove a path, they carry no logs.
fn stops_delivery(d: &Desired, o: &Observed, plan: &Plan) -> bool {
    let feeding = feeding(d, o);
    let is_filter = |kind: ResourceKind| {
        matches!(
            kind,
            ResourceKind::SubscriptionFilter | ResourceKind::RemoteSubscriptionFilter
        )
    };
    let writes = || plan.writes().filter(|a| is_filter(a.kind));
    let removed: BTreeSet<&str> = (writes().filter(|a| a.op == Op::Delete))
        .map(|a| a.name.as_str())
        .collect();
    let added = writes().any(|a| a.op == Op::Create && !canary(&a.name));
    !feeding.is_empty() && feeding.iter().all(|s| removed.contains(s.as_str())) && !added
}

/// The sources carrying this pipeline's filter now, named as the plan names their filter: the
/// log group here, `<account>/<region>:<log group>` in a remote source's place (declared, or
/// dropped from the spec and still read).
fn feeding(d: &Desired, o: &Observed) -> BTreeSet<String> {
    let ours = |filters: &[SubscriptionFilter]| filters.iter().any(|f| f.name == d.names.filter);
    let here = (o.log_groups.iter()).filter(|(g, filters)| !canary(g) && ours(filters));
    let remote = o.remote.iter().flat_map(|(place, groups)| {
        (groups.iter())
            .filter(|(g, filters)| !canary(g) && ours(filters))
            .map(move |(g, _)| format!("{place}:{g}"))
    });
    here.map(|(g, _)| g.clone()).chain(remote).collect()
}

/// Whether the filter named `name` (a log group, or `<place>:<log group>`) is on a canary group.
fn canary(name: &str) -> bool {
    let group = name.split_once(':').map_or(name, |(_, group)| group);
    is_canary_log_group(group)
}
