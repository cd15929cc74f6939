//! What the bucket's shared configurations (notifications, lifecycle) have in common: the
//! bucket holds everyone's entries, this pipeline changes only its own part of them.

use super::{Builder, Change, Op, Step};
use crate::resources::ResourceKind;

/// The reasons for changing this pipeline's part of one shared configuration.
pub(super) struct Reasons {
    /// This pipeline's part is missing.
    pub missing: &'static str,
    /// The spec no longer wants it.
    pub unwanted: &'static str,
    /// It differs from the spec.
    pub differs: &'static str,
}

impl Reasons {
    /// What a differing part calls for, from whether it exists now and whether the spec wants
    /// any.
    pub fn pick(&self, exists: bool, wanted: bool) -> (Op, &'static str) {
        match (exists, wanted) {
            (false, _) => (Op::Create, self.missing),
            (true, false) => (Op::Delete, self.unwanted),
            (true, true) => (Op::Update, self.differs),
        }
    }

    /// Plans the write of this pipeline's part of `bucket`'s configuration `kind` when `changes`
    /// is not empty: `exists` says whether the part is there now, `wanted` whether the spec
    /// wants any.
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        &self,
        b: &mut Builder,
        kind: ResourceKind,
        bucket: &str,
        changes: Vec<Change>,
        exists: bool,
        wanted: bool,
        step: Step,
    ) {
        if changes.is_empty() {
            return;
        }
        let (op, reason) = self.pick(exists, wanted);
        b.push(op, kind, bucket, changes, reason, step);
    }
}
