//! The stack's topic policy, live: the whole document, since the topic is pitagora's alone (only
//! this pipeline's bucket may publish). Written back with `SetTopicAttributes`.

use super::diff::{self, Changes};
use super::stack::{live, rewrites};
use super::{Builder, Op, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;
use serde_json::Value;

const KIND: ResourceKind = ResourceKind::TopicPolicy;

/// Plans the topic policy.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let (Some(want), Some(topic), Some(spec)) = (&d.held.topic_policy, &o.topic, &d.topic) else {
        return;
    };
    if !live(o, d, "TopicPolicy") {
        return;
    }
    let name = &spec.name;
    let mut pw = diff::policy_form(want);
    let ph = diff::policy_form(topic.policy.as_ref().unwrap_or(&Value::Null));
    if pw == ph {
        return;
    }
    let mut changes = Changes::default();
    diff::json("PolicyDocument", &pw, &ph, &mut changes);
    if rewrites(o, d, "TopicPolicy", "PolicyDocument") {
        b.overwrites(KIND, name, "PolicyDocument");
    }
    diff::keep("PolicyDocument", &mut pw, &ph, &|f| {
        b.ignores(KIND, name, f, None)
    });
    if changes.0.is_empty() {
        return;
    }
    b.push(
        Op::Update,
        KIND,
        name,
        changes.0,
        "topic policy differs from the stack's template",
        Step::SetTopicPolicy {
            topic_arn: spec.arn.clone(),
            policy: diff::policy_document(&pw),
        },
    );
}
