//! Ownership: whether a tagged resource is this pipeline's to change.

use super::ConflictKind;
use crate::desired::Desired;
use crate::names::{MANAGED_BY_TAG, OWNER_TAG};
use crate::resources::Tags;

/// Why a resource with these tags is not this pipeline's to change, with the reason in words;
/// `None` when it is (tagged for this pipeline, or untagged and `spec.adoptExisting`).
pub(super) fn ownership_conflict(d: &Desired, tags: &Tags) -> Option<(ConflictKind, String)> {
    match tags.get(OWNER_TAG) {
        Some(owner) if *owner == d.id.owner_tag_value() => None,
        Some(owner) => Some((
            ConflictKind::OwnedByOtherPipeline,
            format!(
                "owned by LogPipeline {owner} (tag {OWNER_TAG}); pitagora never modifies another pipeline's resources"
            ),
        )),
        None if d.adopt_existing => None,
        None => Some((
            ConflictKind::Untagged,
            format!(
                "exists without the {OWNER_TAG} tag, so it may belong to someone else; set spec.adoptExisting: true to adopt it, or remove it"
            ),
        )),
    }
}

/// Whether the resource with these tags belongs to someone else.
pub(super) fn foreign(d: &Desired, tags: &Tags) -> bool {
    ownership_conflict(d, tags).is_some()
}

/// Whether a fluentd route's log group with these tags is one pitagora created for this
/// pipeline: it carries both tags pitagora created it with, the owner tag naming this pipeline
/// and the managed-by tag (which the controller's IAM policy requires of every log group under
/// the tenants' prefixes whose retention it sets). Any other is its team's, left alone.
pub fn route_group_created_for(d: &Desired, tags: &Tags) -> bool {
    tags.get(OWNER_TAG) == Some(&d.id.owner_tag_value())
        && tags.get(MANAGED_BY_TAG.0).map(String::as_str) == Some(MANAGED_BY_TAG.1)
}
