//! This pipeline's entries in the bucket's shared configurations: the notifications that start
//! the transform and the fan-out, and the lifecycle rule of retention and transition.

use super::{OBJECT_CREATED, Pipeline};
use crate::resources::*;
use crate::spec::grammar::prefix::static_prefix;

/// The notification entries of `p`: the transform on raw objects, the topic on the objects the
/// fan-out publishes (processed ones when there is a transform).
pub(super) fn notifications(p: &Pipeline) -> Vec<Notification> {
    let (spec, names) = (p.spec(), p.names());
    let mut notifications = Vec::new();
    if let Some(t) = &spec.transform {
        notifications.push(Notification {
            id: names.transform_notification_id.clone(),
            target: NotificationTarget::Lambda(crate::arn::normalize(&t.lambda_arn)),
            events: vec![OBJECT_CREATED.to_owned()],
            prefix: static_prefix(&spec.delivery.prefix).to_owned(),
            suffix: String::new(),
        });
    }
    if spec.fanout.is_some() {
        notifications.push(Notification {
            id: names.fanout_notification_id.clone(),
            target: NotificationTarget::Topic(p.target().topic_arn(&names.topic)),
            events: vec![OBJECT_CREATED.to_owned()],
            prefix: static_prefix(spec.fanout_source_prefix()).to_owned(),
            suffix: String::new(),
        });
    }
    notifications
}

/// The lifecycle rules of `p`: none without retention or transition.
pub(super) fn lifecycle(p: &Pipeline) -> Vec<LifecycleRule> {
    let storage = &p.spec().storage;
    if storage.retention_days.is_none()
        && storage.transition.is_none()
        && storage.versioning.is_none()
    {
        return Vec::new();
    }
    vec![LifecycleRule {
        id: p.names().lifecycle_rule_id.clone(),
        prefix: String::new(),
        enabled: true,
        expiration_days: storage.retention_days,
        noncurrent_days: storage.versioning.as_ref().map(|v| v.noncurrent_days),
        transitions: storage
            .transition
            .iter()
            .map(|t| LifecycleTransition {
                days: t.after_days,
                storage_class: t.storage_class.as_aws_str().to_owned(),
            })
            .collect(),
    }]
}
