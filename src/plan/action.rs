//! The plan's values: [`Plan`] holds ordered [`Action`]s (what happens to which resource, the
//! differing [`Change`]s, why, and the [`Target`] that executes it: an AWS [`Step`] or a
//! [`ClusterStep`]) and the [`Pending`] resources AWS is still working on.

use super::ConflictKind;
use super::ignore;
use crate::desired::{DestinationSpec, LogGroupSpec, StreamSpec};
use crate::names::PipelineId;
use crate::resources::*;
use serde::Serialize;
use std::fmt;

/// What an action does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Op {
    /// The resource is missing and will be created.
    Create,
    /// The resource differs and will be changed in place.
    Update,
    /// The resource (or this pipeline's part of it) will be removed.
    Delete,
    /// Something blocks convergence that pitagora must not or cannot change by itself; nothing is
    /// executed, a human decides.
    Conflict,
}

impl Op {
    /// Stable name, used in reports, status, events and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "Create",
            Op::Update => "Update",
            Op::Delete => "Delete",
            Op::Conflict => "Conflict",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One differing field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The AWS field, e.g. `BufferingHints.SizeInMBs`.
    pub field: String,
    /// The spec field that sets it, e.g. `spec.delivery.buffering.sizeMiB`, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_field: Option<String>,
    /// The value the spec asks for (`None`: should not exist).
    pub desired: Option<String>,
    /// The value found (`None`: does not exist).
    pub actual: Option<String>,
}

/// What executing an action does, with everything it needs. Executors re-read what they must
/// (a stream's version id, a bucket's foreign entries) right before writing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum Step {
    /// Create the stack.
    CreateStack {
        /// Stack name.
        name: String,
        /// Template.
        template: serde_json::Value,
        /// Stack tags.
        tags: Tags,
        /// Capabilities to acknowledge.
        capabilities: Vec<String>,
        /// The service role CloudFormation acts through.
        role_arn: String,
    },
    /// Update the stack to this template and tags.
    UpdateStack {
        /// Stack name.
        name: String,
        /// Template.
        template: serde_json::Value,
        /// Stack tags.
        tags: Tags,
        /// Capabilities to acknowledge.
        capabilities: Vec<String>,
        /// The service role CloudFormation acts through.
        role_arn: String,
    },
    /// Delete the stack; with `empty_bucket`, first delete every object of that bucket (a
    /// `deletionPolicy: Delete` bucket must be empty for CloudFormation to delete it).
    DeleteStack {
        /// Stack name.
        name: String,
        /// Bucket to empty first.
        #[serde(skip_serializing_if = "Option::is_none")]
        empty_bucket: Option<String>,
        /// The service role CloudFormation deletes the resources through.
        role_arn: String,
    },
    /// Write the bucket's access settings that are given (each group on its own call).
    PutBucketAccess {
        /// Bucket name.
        bucket: String,
        /// The groups to write.
        access: BucketAccess,
    },
    /// Put pitagora's statements into the bucket policy, replacing those with the same `Sid` and
    /// keeping the others unless `exclusive` (the policy is re-read right before writing).
    PutBucketPolicy {
        /// Bucket name.
        bucket: String,
        /// pitagora's statements.
        statements: Vec<serde_json::Value>,
        /// Drop every other statement.
        exclusive: bool,
    },
    /// Bring a role's policies back to the template's.
    UpdateRole(RoleUpdate),
    /// Set the topic's policy.
    SetTopicPolicy {
        /// Topic ARN.
        topic_arn: String,
        /// The policy document.
        policy: serde_json::Value,
    },
    /// Set the topic's encryption key.
    SetTopicEncryption {
        /// Topic ARN.
        topic_arn: String,
        /// The key (`KmsMasterKeyId`).
        key: String,
    },
    /// Add pitagora's statement to a function's policy, first removing the statement it
    /// `replaces`.
    AddPermission {
        /// The function.
        function: String,
        /// The statement.
        permission: LambdaPermission,
        /// The statement id to remove first.
        #[serde(skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// Remove a statement pitagora added from a function's policy.
    RemovePermission {
        /// The function.
        function: String,
        /// The statement id.
        statement_id: String,
    },
    /// Create one of pitagora's own log groups (errors, canary) with its retention and tags.
    CreateLogGroup(LogGroupSpec),
    /// Create a fluentd route's log group with its tags, then set its retention; one that exists
    /// by then (someone created it since the plan) is left as it is, never given a retention.
    CreateRouteLogGroup(LogGroupSpec),
    /// Set a log group's retention and/or add its tags.
    UpdateLogGroup {
        /// The desired group (ignored tags left out).
        group: LogGroupSpec,
        /// The retention differs.
        retention: bool,
        /// Tags are missing or differ.
        tags: bool,
    },
    /// Delete the error log group.
    DeleteLogGroup {
        /// Log group name.
        name: String,
    },
    /// Create the delivery stream.
    CreateStream(StreamSpec),
    /// Update the stream: the complete destination (`UpdateDestination` with a fresh version id)
    /// and/or its tags.
    UpdateStream {
        /// The desired stream.
        stream: StreamSpec,
        /// The destination differs.
        destination: bool,
        /// Tags are missing or differ.
        tags: bool,
    },
    /// Delete the delivery stream.
    DeleteStream {
        /// Stream name.
        name: String,
    },
    /// Replace this pipeline's notification entries (those with `managed_ids`) by `entries`,
    /// keeping every other entry of the bucket.
    PutNotifications {
        /// Bucket name.
        bucket: String,
        /// This pipeline's entries.
        entries: Vec<Notification>,
        /// Ids this pipeline owns.
        managed_ids: Vec<String>,
    },
    /// Replace this pipeline's lifecycle rules (those with `managed_ids`) by `rules`, keeping
    /// every other rule of the bucket.
    PutLifecycle {
        /// Bucket name.
        bucket: String,
        /// This pipeline's rules.
        rules: Vec<LifecycleRule>,
        /// Ids this pipeline owns.
        managed_ids: Vec<String>,
    },
    /// Subscribe a Lambda function to the topic.
    Subscribe {
        /// Topic ARN.
        topic_arn: String,
        /// The subscription.
        subscription: TopicSubscription,
    },
    /// Set a subscription's filter policy and scope.
    SetSubscriptionAttributes {
        /// Subscription ARN.
        arn: String,
        /// The desired subscription.
        subscription: TopicSubscription,
    },
    /// Remove a subscription.
    Unsubscribe {
        /// Subscription ARN.
        arn: String,
    },
    /// Create or overwrite this pipeline's subscription filter on a log group.
    PutFilter {
        /// Log group name.
        log_group: String,
        /// The filter.
        filter: SubscriptionFilter,
    },
    /// Delete this pipeline's subscription filter from a log group.
    DeleteFilter {
        /// Log group name.
        log_group: String,
        /// Filter name.
        name: String,
    },
    /// Create or update a destination in its region of the pipeline's account: its target and
    /// role (`PutDestination`, with the tags when it creates it), its access policy
    /// (`PutDestinationPolicy`) and/or pitagora's tags on it (`TagResource`).
    PutDestination {
        /// The destination as written (an ignored field or tag keeps the live value).
        destination: DestinationSpec,
        /// Write the target and role (`PutDestination`).
        fields: bool,
        /// Write the access policy (`PutDestinationPolicy`).
        policy: bool,
        /// Write pitagora's tags, missing or changed on the live destination (`TagResource`:
        /// others' tags stay).
        tags: bool,
    },
    /// Delete a destination of the pipeline.
    DeleteDestination {
        /// Its region.
        region: String,
        /// Its name.
        name: String,
    },
    /// Create or overwrite this pipeline's filter on a log group of a remote source.
    PutRemoteFilter {
        /// The source account.
        account: String,
        /// The source region.
        region: String,
        /// Log group name.
        log_group: String,
        /// The filter.
        filter: SubscriptionFilter,
    },
    /// Delete this pipeline's filter from a log group of a remote source.
    DeleteRemoteFilter {
        /// The source account.
        account: String,
        /// The source region.
        region: String,
        /// Log group name.
        log_group: String,
        /// Filter name.
        name: String,
    },
    /// Delete a remote source's canary log group.
    DeleteRemoteLogGroup {
        /// The source account.
        account: String,
        /// The source region.
        region: String,
        /// Log group name.
        name: String,
    },
    /// Nothing is executed: the conflict of this kind needs a human.
    #[serde(serialize_with = "conflict_step")]
    Conflict(ConflictKind),
}

/// What executing an action does in the cluster: done by the controller, never by the AWS
/// executor. A plan shows it like any AWS step, before it is written.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum ClusterStep {
    /// Write the pipeline's fluentd routes into their ConfigMap key (server-side apply, then
    /// the reload).
    ApplyFluentdRoutes {
        /// The ConfigMap's namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
        /// The key.
        key: String,
    },
    /// Nothing is executed: the conflict of this kind over a cluster resource needs a human.
    #[serde(serialize_with = "conflict_step")]
    Conflict(ConflictKind),
}

/// Where executing an action acts, and the step it takes there. Serialises as the step alone.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
// Nearly every action's is an AWS step: boxing it would allocate for each and stop patterns
// from matching through it, to save the rare cluster step some bytes.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// An AWS write, executed by `apply`.
    Aws(Step),
    /// A cluster write, executed by the controller.
    Cluster(ClusterStep),
}

/// What an [`Step::UpdateRole`] changes on one role.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleUpdate {
    /// Role name.
    pub name: String,
    /// The permissions boundary to set, when it differs (set first: the controller may write
    /// a pipeline role's policies only while the role carries the boundary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    /// The trust policy to set, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<serde_json::Value>,
    /// Inline policies to put, by name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub put_policies: std::collections::BTreeMap<String, serde_json::Value>,
    /// Inline policies to delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// Managed policies to detach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detach_policies: Vec<String>,
}

/// A conflict step serialises as `{"step": "conflict", "kind": ...}`: an internally tagged
/// variant cannot hold a bare string.
fn conflict_step<S: serde::Serializer>(kind: &ConflictKind, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Fields {
        kind: ConflictKind,
    }
    Fields { kind: *kind }.serialize(s)
}

/// One planned action.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// What happens.
    pub op: Op,
    /// The kind of resource.
    pub kind: ResourceKind,
    /// The resource's name (a filter's is its log group's name).
    pub name: String,
    /// The differing fields.
    pub changes: Vec<Change>,
    /// Why, for humans.
    pub reason: String,
    /// What executing it does, and where.
    pub step: Target,
}

impl Action {
    /// Whether executing this action writes to AWS.
    pub fn writes(&self) -> bool {
        self.op != Op::Conflict
    }

    /// The conflict's kind, when this action is a conflict.
    pub fn conflict(&self) -> Option<ConflictKind> {
        match self.step {
            Target::Aws(Step::Conflict(kind)) | Target::Cluster(ClusterStep::Conflict(kind)) => {
                Some(kind)
            }
            _ => None,
        }
    }
}

/// A resource that is mid-operation in AWS: nothing to do now, check again soon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The kind of resource.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// What it is waiting for.
    pub reason: String,
}

/// The ordered actions that take AWS from observed to desired.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The pipeline.
    pub pipeline: PipelineId,
    /// `drift.policy: Report`: the plan is reported, never executed.
    pub report_only: bool,
    /// Actions in execution order.
    pub actions: Vec<Action>,
    /// Resources in the middle of an AWS operation.
    pub pending: Vec<Pending>,
    /// Differences `drift.ignore` accepts: not actions, listed for reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<ignore::Ignored>,
}

impl Plan {
    /// No differences and nothing pending: AWS matches the spec.
    pub fn in_sync(&self) -> bool {
        self.actions.is_empty() && self.pending.is_empty()
    }

    /// Actions that would write to AWS.
    pub fn writes(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.writes())
    }

    /// Conflicts: what needs a human.
    pub fn conflicts(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.op == Op::Conflict)
    }

    /// Conflicts over who owns a resource: another pipeline's, or untagged and not adopted.
    pub fn ownership_conflicts(&self) -> impl Iterator<Item = &Action> {
        self.conflicts()
            .filter(|a| a.conflict().is_some_and(ConflictKind::is_ownership))
    }
}
