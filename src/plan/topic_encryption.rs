//! The stack's topic encryption, live: the key the spec names (`spec.fanout.kmsKeyArn`), compared
//! with the topic's `KmsMasterKeyId` and written back with `SetTopicAttributes`. Without a key in
//! the spec the attribute is not pitagora's to judge: whatever the topic holds is kept.

use super::diff::Changes;
use super::stack::{live, rewrites};
use super::{Builder, Op, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;

const KIND: ResourceKind = ResourceKind::TopicEncryption;
const FIELD: &str = "KmsMasterKeyId";

/// Plans the topic's encryption key.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let (Some(want), Some(topic), Some(spec)) = (&d.held.topic_key, &o.topic, &d.topic) else {
        return;
    };
    if !live(o, d, "Topic") || topic.kms_key.as_ref() == Some(want) {
        return;
    }
    let name = &spec.name;
    if rewrites(o, d, "Topic", FIELD) {
        b.overwrites(KIND, name, FIELD);
    } else if b.ignores(KIND, name, FIELD, Some("spec.fanout.kmsKeyArn")) {
        return;
    }
    let mut changes = Changes::default();
    changes.presence(
        FIELD,
        Some("spec.fanout.kmsKeyArn"),
        Some(want.clone()),
        topic.kms_key.clone(),
    );
    b.push(
        Op::Update,
        KIND,
        name,
        changes.0,
        "topic encryption differs from the stack's template",
        Step::SetTopicEncryption {
            topic_arn: spec.arn.clone(),
            key: want.clone(),
        },
    );
}
