//! What the bucket's shared configurations (notifications, lifecycle) have in common: the
//! bucket holds everyone's entries, this pipeline changes only its own part of them.

use super::Op;

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
}
