//! Changes that would lose logs or delivery, and whether the spec consented to them. Pure: the
//! engine asks AWS only whether a bucket holds objects, and only when a plan would leave or
//! empty it.
//!
//! - a new bucket name while the stack's bucket holds objects: the old bucket is retained, but
//!   logs stop going there and pitagora stops managing it (`acknowledge.replaceBucket`);
//! - deleting a pipeline with `storage.deletionPolicy: Delete` whose bucket holds objects
//!   (`acknowledge.deleteObjects`);
//! - a change that leaves no log group feeding the stream while no legacy path runs beside it
//!   (`acknowledge.stopDelivery`).

use super::{Op, Plan, Step, Target};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;
use crate::spec::CutoverStage;

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

/// Whether source groups carry this pipeline's filter now and none would after `plan`.
fn stops_delivery(d: &Desired, o: &Observed, plan: &Plan) -> bool {
    let canary = d.canary_log_group.as_ref().map(|g| g.name.as_str());
    let is_source = |group: &str| Some(group) != canary;
    let feeding = o
        .log_groups
        .iter()
        .filter(|(g, filters)| is_source(g) && filters.iter().any(|f| f.name == d.names.filter))
        .count();
    let filter_writes = || {
        plan.writes()
            .filter(|a| a.kind == ResourceKind::SubscriptionFilter && is_source(&a.name))
    };
    let removed = filter_writes().filter(|a| a.op == Op::Delete).count();
    // A remote source's new filter feeds the stream too.
    let remote_added = plan
        .writes()
        .any(|a| a.kind == ResourceKind::RemoteSubscriptionFilter && a.op == Op::Create);
    let added = filter_writes().filter(|a| a.op == Op::Create).count() + usize::from(remote_added);
    feeding > 0 && removed >= feeding && added == 0
}
