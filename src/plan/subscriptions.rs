//! The fan-out topic's Lambda subscriptions: how they are planned (each declared subscriber
//! subscribed with its filter policy, undeclared Lambda subscriptions removed: the topic is this
//! pipeline's), a subscription's canonical form and the comparison of its filter policy.

use super::diff::Changes;
use super::normalize;
use super::stack::Held;
use super::{Builder, Change, Op, Step};
use crate::arn;
use crate::desired::{Desired, TopicSpec};
use crate::observed::{ObservedSubscription, ObservedTopic};
use crate::resources::{ResourceKind, TopicSubscription};

/// Plans the topic's subscriptions.
pub(super) fn plan(b: &mut Builder, d: &Desired, topic: &Held<ObservedTopic>) {
    // Without a fan-out the stack update deletes the topic, and its subscriptions with it.
    let Some(want) = &d.topic else { return };
    let observed = match topic {
        Held::Unavailable => return,
        Held::Coming => &[][..],
        Held::Exists(t) => &t.subscriptions[..],
    };
    for (subscriber, sub) in &want.subscriptions {
        plan_declared(b, want, subscriber, sub, observed);
    }
    remove_undeclared(b, want, observed);
}

/// One declared subscriber: subscribe it, or set its filter policy where it differs.
fn plan_declared(
    b: &mut Builder,
    want: &TopicSpec,
    subscriber: &str,
    sub: &TopicSubscription,
    observed: &[ObservedSubscription],
) {
    let want_sub = canonical(sub);
    let found = observed.iter().find(|o| {
        let o = canonical(&o.subscription);
        o.protocol == "lambda" && o.endpoint == want_sub.endpoint
    });
    let Some(found) = found else {
        b.push(
            Op::Create,
            ResourceKind::TopicSubscription,
            subscriber,
            vec![Change {
                field: "Endpoint".into(),
                spec_field: Some(format!("spec.fanout.subscribers[{subscriber}].lambdaArn")),
                desired: Some(want_sub.endpoint.clone()),
                actual: None,
            }],
            "subscriber is not subscribed to the topic",
            Step::Subscribe {
                topic_arn: want.arn.clone(),
                subscription: sub.clone(),
            },
        );
        return;
    };
    let mut changes = Changes::default();
    let actual = canonical(&found.subscription);
    compare(subscriber, &want_sub, &actual, &mut changes);
    if !changes.0.is_empty() {
        // Both attributes are set: an ignored one is set as it is.
        let mut subscription = sub.clone();
        let spec_field = format!("spec.fanout.subscribers[{subscriber}].filterPolicy");
        let kind = ResourceKind::TopicSubscription;
        if b.ignores(kind, subscriber, "FilterPolicy", Some(&spec_field)) {
            subscription.filter_policy = found.subscription.filter_policy.clone();
        }
        if b.ignores(kind, subscriber, "FilterPolicyScope", Some(&spec_field)) {
            subscription.filter_policy_scope = found.subscription.filter_policy_scope.clone();
        }
        b.push(
            Op::Update,
            kind,
            subscriber,
            changes.0,
            "subscription filter policy differs from the spec",
            Step::SetSubscriptionAttributes {
                arn: found.arn.clone(),
                subscription,
            },
        );
    }
}

/// The topic is this pipeline's: Lambda subscriptions it does not declare are drift. Other
/// protocols (an operator's e-mail, a debugging queue) are left alone.
fn remove_undeclared(b: &mut Builder, want: &TopicSpec, observed: &[ObservedSubscription]) {
    for o in observed {
        let actual = canonical(&o.subscription);
        let declared = want
            .subscriptions
            .iter()
            .any(|(_, s)| canonical(s).endpoint == actual.endpoint);
        if actual.protocol == "lambda" && !declared {
            b.push(
                Op::Delete,
                ResourceKind::TopicSubscription,
                &actual.endpoint,
                vec![Change {
                    field: "Endpoint".into(),
                    spec_field: Some("spec.fanout.subscribers".into()),
                    desired: None,
                    actual: Some(actual.endpoint.clone()),
                }],
                "Lambda subscription not declared in spec.fanout.subscribers",
                Step::Unsubscribe { arn: o.arn.clone() },
            );
        }
    }
}

/// A topic subscription in canonical form: the endpoint ARN normalised, the filter policy in
/// canonical JSON, and the default scope spelled out.
fn canonical(s: &TopicSubscription) -> TopicSubscription {
    let mut s = s.clone();
    s.protocol = s.protocol.to_ascii_lowercase();
    s.endpoint = arn::normalize(&s.endpoint);
    s.filter_policy = s.filter_policy.as_ref().map(normalize::policy_json);
    // Without a filter policy the scope has no effect.
    s.filter_policy_scope = match (&s.filter_policy, s.filter_policy_scope.as_deref()) {
        (None, _) => None,
        (Some(_), None) => Some("MessageAttributes".into()),
        (Some(_), Some(scope)) => Some(scope.to_owned()),
    };
    s
}

/// Differences between two canonical topic subscriptions of the same endpoint.
fn compare(subscriber: &str, d: &TopicSubscription, a: &TopicSubscription, out: &mut Changes) {
    let spec_field = format!("spec.fanout.subscribers[{subscriber}].filterPolicy");
    out.field(
        "FilterPolicy",
        Some(&spec_field),
        &d.filter_policy,
        &a.filter_policy,
    );
    out.field(
        "FilterPolicyScope",
        Some(&spec_field),
        &d.filter_policy_scope,
        &a.filter_policy_scope,
    );
}
