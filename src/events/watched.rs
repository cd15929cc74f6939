//! The management calls that can change what pitagora holds, by service: the one list the
//! EventBridge rule's pattern ([`super::rule`]) and the reading of an event
//! ([`super::cloudtrail`]) share. Read-only calls are left out: EventBridge does not deliver them
//! to a rule in the `ENABLED` state, and they change nothing.

/// One service's watched calls.
#[derive(Clone, Copy, Debug)]
pub struct Watched {
    /// The event's `source` on EventBridge, e.g. `aws.logs`.
    pub source: &'static str,
    /// CloudTrail's `eventSource`, e.g. `logs.amazonaws.com`.
    pub event_source: &'static str,
    /// CloudTrail event names. One ending in `*` is a prefix: Lambda names its events after the
    /// API version (`AddPermission20150331v2`).
    pub calls: &'static [&'static str],
}

/// Every service pitagora's resources live in, with the calls that change them.
pub const WATCHED: &[Watched] = &[
    Watched {
        source: "aws.logs",
        event_source: "logs.amazonaws.com",
        calls: &[
            "PutSubscriptionFilter",
            "DeleteSubscriptionFilter",
            // A new group under a pipeline's prefix is a source to subscribe.
            "CreateLogGroup",
            "DeleteLogGroup",
            "PutRetentionPolicy",
            "DeleteRetentionPolicy",
            "TagResource",
            "UntagResource",
            "TagLogGroup",
            "UntagLogGroup",
            "PutDestination",
            "PutDestinationPolicy",
            "DeleteDestination",
        ],
    },
    Watched {
        source: "aws.firehose",
        event_source: "firehose.amazonaws.com",
        calls: &[
            "UpdateDestination",
            "DeleteDeliveryStream",
            "TagDeliveryStream",
            "UntagDeliveryStream",
            "StartDeliveryStreamEncryption",
            "StopDeliveryStreamEncryption",
        ],
    },
    Watched {
        source: "aws.s3",
        event_source: "s3.amazonaws.com",
        calls: &[
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutBucketOwnershipControls",
            "DeleteBucketOwnershipControls",
            "PutBucketNotification",
            "PutBucketLifecycle",
            "DeleteBucketLifecycle",
            "PutBucketTagging",
            "DeleteBucketTagging",
            "DeleteBucket",
        ],
    },
    Watched {
        source: "aws.iam",
        event_source: "iam.amazonaws.com",
        calls: &[
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "UpdateAssumeRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
            "TagRole",
            "UntagRole",
            "DeleteRole",
        ],
    },
    Watched {
        source: "aws.sns",
        event_source: "sns.amazonaws.com",
        calls: &[
            "SetTopicAttributes",
            "Subscribe",
            "Unsubscribe",
            "SetSubscriptionAttributes",
            "AddPermission",
            "RemovePermission",
            "TagResource",
            "UntagResource",
            "DeleteTopic",
        ],
    },
    Watched {
        source: "aws.lambda",
        event_source: "lambda.amazonaws.com",
        calls: &["AddPermission*", "RemovePermission*"],
    },
    Watched {
        source: "aws.cloudformation",
        event_source: "cloudformation.amazonaws.com",
        calls: &[
            "UpdateStack",
            "DeleteStack",
            "SetStackPolicy",
            "UpdateTerminationProtection",
        ],
    },
];

/// The watched call `event_name` of `event_source`, as the list spells it (a versioned Lambda
/// name without its version); `None` when it is not watched.
pub fn call(event_source: &str, event_name: &str) -> Option<&'static str> {
    let service = WATCHED.iter().find(|w| w.event_source == event_source)?;
    service
        .calls
        .iter()
        .find_map(|c| match c.strip_suffix('*') {
            Some(prefix) if event_name.starts_with(prefix) => Some(prefix),
            None if *c == event_name => Some(*c),
            _ => None,
        })
}
