//! Why a conflict blocks convergence: one [`ConflictKind`] per cause the planner recognises, so
//! the controller, events and metrics tell causes apart by value, not by the reason's wording.

use serde::Serialize;
use std::fmt;

/// The cause of an [`Op::Conflict`](super::Op::Conflict) action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ConflictKind {
    /// The resource carries another pipeline's owner tag.
    OwnedByOtherPipeline,
    /// The resource exists without the owner tag and `spec.adoptExisting` is false.
    Untagged,
    /// The stack is gone (or must be recreated) but its retained bucket remains.
    OrphanedBucket,
    /// The stack holds no bucket, and a bucket that is not the pipeline's (not tagged as its)
    /// holds the bucket's name: bucket names are global, so someone else has it.
    ForeignBucket,
    /// The stack is in a failed state only a human can resolve.
    StackFailed,
    /// The bucket, topic or a role was deleted behind CloudFormation's back.
    DeletedOutOfBand,
    /// Firehose failed to delete the delivery stream.
    StreamDeleteFailed,
    /// A source log group holds as many subscription filters as AWS allows, none of them this
    /// pipeline's.
    FilterLimit,
    /// A new pipeline none of whose source log groups has a free subscription filter slot: it
    /// would deliver nothing, so nothing of it is created.
    NoFreeFilterSlot,
    /// A foreign bucket notification overlaps one of this pipeline's.
    NotificationOverlap,
    /// A source log group named in the spec does not exist.
    MissingSource,
    /// A property differs that cannot change without replacing the resource.
    NeedsReplacement,
    /// Another field manager applied the pipeline's fluentd ConfigMap key.
    AppliedByAnotherManager,
    /// A route's tag pattern shares tags with a route another pipeline rendered into the same
    /// fluentd ConfigMap.
    RoutesOverlap,
    /// The pipeline's fluentd key holds configuration pitagora never wrote for it.
    ForeignKey,
}

impl ConflictKind {
    /// Stable name (the variant's), used in reports, events and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::OwnedByOtherPipeline => "OwnedByOtherPipeline",
            ConflictKind::Untagged => "Untagged",
            ConflictKind::OrphanedBucket => "OrphanedBucket",
            ConflictKind::ForeignBucket => "ForeignBucket",
            ConflictKind::StackFailed => "StackFailed",
            ConflictKind::DeletedOutOfBand => "DeletedOutOfBand",
            ConflictKind::StreamDeleteFailed => "StreamDeleteFailed",
            ConflictKind::FilterLimit => "FilterLimit",
            ConflictKind::NoFreeFilterSlot => "NoFreeFilterSlot",
            ConflictKind::NotificationOverlap => "NotificationOverlap",
            ConflictKind::MissingSource => "MissingSource",
            ConflictKind::NeedsReplacement => "NeedsReplacement",
            ConflictKind::AppliedByAnotherManager => "AppliedByAnotherManager",
            ConflictKind::RoutesOverlap => "RoutesOverlap",
            ConflictKind::ForeignKey => "ForeignKey",
        }
    }

    /// Whether the conflict is about who owns the resource (including a deletion that leaves
    /// someone else's resource in place).
    pub fn is_ownership(self) -> bool {
        matches!(
            self,
            ConflictKind::OwnedByOtherPipeline
                | ConflictKind::Untagged
                | ConflictKind::ForeignBucket
                | ConflictKind::AppliedByAnotherManager
                | ConflictKind::ForeignKey
        )
    }
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
