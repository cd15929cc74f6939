//! Ownership: whether a tagged resource is this pipeline's to change.

use super::ConflictKind;
use crate::desired::Desired;
use crate::names::OWNER_TAG;
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
