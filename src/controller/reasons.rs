//! Every condition type, condition reason and event reason the controller writes, in one place:
//! they are API (users alert and script on them), so each is a constant and stays stable.

/// Condition types.
pub mod condition {
    /// AWS holds what the spec asks for.
    pub const READY: &str = "Ready";
    /// The last reconcile could read the spec and talk to AWS.
    pub const SYNCED: &str = "Synced";
    /// AWS differs from the spec now.
    pub const DRIFTED: &str = "Drifted";
    /// The last canary reached every stage (`True`), stopped at a link (`False`), or its fate
    /// is not known (`Unknown`); the message names the link.
    pub const DELIVERING: &str = "Delivering";
    /// A requested cutover move does not take effect yet (`True`); the reason is the unmet check
    /// (`NotDelivering`, `TooFewCanaries`, `LossSignals`, `ShadowWindow`, `NoIncomingEvents`) or
    /// why the fluentd key cannot be written.
    pub const CUTOVER_BLOCKED: &str = "CutoverBlocked";
    /// Only a human can move the pipeline on (`True`, with the blocking condition's reason:
    /// `InvalidSpec`, `DestructiveChange`, `DeleteBlocked`, `Conflict`); absent otherwise. Named
    /// as kstatus expects, so Flux reports such a pipeline as failed instead of waiting.
    pub const STALLED: &str = "Stalled";
}

/// Condition reasons.
pub mod reason {
    /// `Ready=True`: AWS matches the spec.
    pub const IN_SYNC: &str = "InSync";
    /// `Ready=False`: a resource is mid-operation in AWS.
    pub const PENDING: &str = "Pending";
    /// `Ready=False`: something needs a human (ownership, a stuck stack, a service limit).
    pub const CONFLICT: &str = "Conflict";
    /// `Ready=False`: differences stand (`drift.policy: Report`).
    pub const DRIFTED: &str = "Drifted";
    /// `Ready=False`: a new pipeline none of whose source log groups has a free subscription
    /// filter slot; nothing of it was created (the message names the groups and the limit).
    pub const NO_FREE_FILTER_SLOT: &str = "NoFreeFilterSlot";
    /// `Ready`/`Synced=False`: executing the plan failed.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// `Ready`/`Synced=False`: the spec is invalid; nothing was read or written.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// `Ready=Unknown`, `Synced=False`: AWS could not be read.
    pub const AWS_ERROR: &str = "AwsError";
    /// `Ready=Unknown`, `Synced=False`: STS did not grant the role of the namespace's account
    /// (the accounts file); the message names the role and AWS's answer.
    pub const ROLE_NOT_ASSUMED: &str = "RoleNotAssumed";
    /// `Ready`/`Synced=False`: deleting the pipeline's AWS resources failed.
    pub const DELETE_BLOCKED: &str = "DeleteBlocked";
    /// `Ready`/`Synced=False`: the change would lose logs or delivery and `spec.acknowledge`
    /// does not consent; nothing was written.
    pub const DESTRUCTIVE_CHANGE: &str = "DestructiveChange";
    /// `Synced=True`: AWS was read and the plan executed.
    pub const RECONCILE_SUCCESS: &str = "ReconcileSuccess";
    /// `Drifted=True`.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// `Drifted=False` right after a correction.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// `Drifted=False`: nothing differed.
    pub const NO_DRIFT: &str = "NoDrift";
    /// `Delivering=True`: the last canary reached every stage.
    pub const CANARY_DELIVERED: &str = "CanaryDelivered";
    /// `Delivering=False`: the last canary was not found at a stage by its deadline.
    pub const CANARY_MISSING: &str = "CanaryMissing";
    /// `Delivering=Unknown`: more was stored than one search may read.
    pub const CANARY_INCONCLUSIVE: &str = "CanaryInconclusive";
    /// `Delivering=Unknown`: the first canary is on its way.
    pub const CANARY_IN_FLIGHT: &str = "CanaryInFlight";
    /// `Delivering=Unknown`: the canary could not be sent or looked for.
    pub const VERIFY_FAILED: &str = "VerifyFailed";
    /// `Delivering=Unknown`: `delivery.verify.enabled` is false.
    pub const VERIFY_DISABLED: &str = "VerifyDisabled";
    /// `CutoverBlocked=False`: every requested stage is in effect.
    pub const STAGES_IN_EFFECT: &str = "StagesInEffect";
    /// `CutoverBlocked=True`: another field manager applied the pipeline's fluentd key, or a
    /// route shares tags with another pipeline's route in the same ConfigMap, or the key holds
    /// configuration pitagora never wrote for the pipeline.
    pub const FLUENTD_CONFLICT: &str = "FluentdConflict";
    /// `CutoverBlocked=True`: the fluentd key or its reload could not be written.
    pub const FLUENTD_FAILED: &str = "FluentdFailed";
    /// `CutoverBlocked=True`: the AWS side failed, so the fluentd key waits.
    pub const AWS_NOT_READY: &str = "AwsNotReady";
    /// `CutoverBlocked=True`: `drift.policy: Report` writes nothing, so a move waits.
    pub const REPORT_ONLY: &str = "ReportOnly";
}

/// Event reasons.
pub mod event {
    /// The pipeline's AWS resources were created.
    pub const CREATED: &str = "Created";
    /// A spec change was applied.
    pub const UPDATED: &str = "Updated";
    /// AWS changed out of band and was brought back; the note names the fields.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// Differences stand after the reconcile.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// The spec is invalid.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A resource belongs to someone else.
    pub const OWNERSHIP_CONFLICT: &str = "OwnershipConflict";
    /// Cleanup of a deleted pipeline failed; the finalizer stays.
    pub const DELETE_BLOCKED: &str = "DeleteBlocked";
    /// Cleanup ran, and reading back found resources that should be gone (the note names each,
    /// with why it may have stayed); the object goes, pitagora cannot remove them itself.
    pub const DELETE_INCOMPLETE: &str = "DeleteIncomplete";
    /// A change was refused: it would lose logs or delivery without `spec.acknowledge`.
    pub const DESTRUCTIVE_CHANGE: &str = "DestructiveChange";
    /// An AWS call failed.
    pub const AWS_ERROR: &str = "AwsError";
    /// The role of the namespace's account could not be assumed.
    pub const ROLE_NOT_ASSUMED: &str = "RoleNotAssumed";
    /// A canary did not arrive; the note names the link where it stopped.
    pub const DELIVERY_FAILED: &str = "DeliveryFailed";
    /// A canary arrived again after failures.
    pub const DELIVERY_RESTORED: &str = "DeliveryRestored";
    /// The delivery metrics or the error prefix show logs lost or delayed; the note names the
    /// signals that are new since the last check.
    pub const LOSS_DETECTED: &str = "LossDetected";
    /// Routes moved forward to a stage; the note names them.
    pub const CUTOVER_ADVANCED: &str = "CutoverAdvanced";
    /// Routes moved back to a stage (at once, the legacy store first).
    pub const CUTOVER_ROLLED_BACK: &str = "CutoverRolledBack";
    /// A requested move waits for its checks; the note names the route, stage and check.
    pub const CUTOVER_BLOCKED: &str = "CutoverBlocked";
    /// The `pitagora.dev/force-cutover` annotation moved routes without their checks.
    pub const CUTOVER_FORCED: &str = "CutoverForced";
    /// A route's log group showed no incoming events within `cutover.incomingDeadlineSeconds`
    /// of fluentd being told to write it.
    pub const NO_INCOMING_EVENTS: &str = "NoIncomingEvents";
    /// The fluentd key or its reload could not be written.
    pub const FLUENTD_FAILED: &str = "FluentdFailed";
}
