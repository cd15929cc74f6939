//! The Firehose delivery stream: created, waited for while Firehose works on it, recreated after
//! a failed creation, or its destination and tags updated.

use super::diff::{self, Changes};
use super::ownership::ownership_conflict;
use super::{Builder, ConflictKind, Op, Step, normalize};
use crate::desired::Desired;
use crate::observed::{Observed, ObservedStream};
use crate::resources::ResourceKind;

/// Plans the delivery stream.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let name = &d.stream.name;
    let Some(s) = &o.stream else {
        b.push(
            Op::Create,
            ResourceKind::DeliveryStream,
            name,
            Vec::new(),
            "delivery stream does not exist",
            Step::CreateStream(d.stream.clone()),
        );
        return;
    };
    if let Some((cause, reason)) = ownership_conflict(d, &s.tags) {
        b.conflict(ResourceKind::DeliveryStream, name, cause, reason);
        return;
    }
    if !plan_status(b, d, s) {
        update(b, d, s);
    }
}

/// Plans what the stream's status calls for instead of a comparison; false when it is stable.
fn plan_status(b: &mut Builder, d: &Desired, s: &ObservedStream) -> bool {
    let name = &d.stream.name;
    match s.status.as_str() {
        "CREATING" | "DELETING" | "UPDATING" => {
            let reason = format!("stream is {}", s.status);
            b.pending(ResourceKind::DeliveryStream, name, reason);
        }
        "CREATING_FAILED" => {
            b.push(
                Op::Delete,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "stream creation failed; it must be deleted before it can be created again",
                Step::DeleteStream { name: name.clone() },
            );
            b.push(
                Op::Create,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "recreate after the failed creation",
                Step::CreateStream(d.stream.clone()),
            );
        }
        "DELETING_FAILED" => b.conflict(
            ResourceKind::DeliveryStream,
            name,
            ConflictKind::StreamDeleteFailed,
            "stream deletion failed; check its encryption key and delete it again",
        ),
        _ => return false,
    }
    true
}

/// A stable stream: update its destination and/or tags where they differ from the spec.
fn update(b: &mut Builder, d: &Desired, s: &ObservedStream) {
    let want = &d.stream;
    let mut changes = Changes::default();
    match &s.destination {
        Some(actual) => diff::destination(
            &normalize::destination(&want.destination),
            &normalize::destination(actual),
            &mut changes,
        ),
        None => changes.presence(
            "Destination",
            None,
            Some("ExtendedS3".into()),
            Some("another destination type".into()),
        ),
    }
    let destination = !changes.0.is_empty();
    let tags = !normalize::tags_missing(&want.tags, &s.tags).is_empty();
    changes.tags(&want.tags, &s.tags);
    if destination || tags {
        b.push(
            Op::Update,
            ResourceKind::DeliveryStream,
            &want.name,
            changes.0,
            "delivery stream configuration differs from the spec",
            Step::UpdateStream {
                stream: want.clone(),
                destination,
                tags,
            },
        );
    }
}
