//! The stack's bucket, live: public access block, default encryption and ownership controls,
//! compared with what the template declares, each group written back on its own
//! (`PutPublicAccessBlock`, `PutBucketEncryption`, `PutBucketOwnershipControls`,
//! `PutBucketVersioning`, `PutBucketLogging`).

use super::diff::{self, Changes};
use super::stack::{live, rewrites};
use super::{Builder, Op, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::{BucketAccess, ResourceKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const KIND: ResourceKind = ResourceKind::BucketAccess;

/// Plans the bucket's access settings.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let Some(bucket) = o.bucket.as_ref().filter(|_| live(o, d, "Bucket")) else {
        return;
    };
    let name = &d.names.bucket;
    // The fields are named after the template's properties.
    for property in [
        "PublicAccessBlockConfiguration",
        "BucketEncryption",
        "OwnershipControls",
        "VersioningConfiguration",
        "LoggingConfiguration",
    ] {
        if rewrites(o, d, "Bucket", property) {
            b.overwrites(KIND, name, property);
        }
    }
    let (want, have) = (&d.held.bucket_access, &bucket.access);
    let mut changes = Changes::default();
    let write = BucketAccess {
        public_access_block: group(
            b,
            name,
            "PublicAccessBlockConfiguration",
            &want.public_access_block,
            &have.public_access_block,
            &mut changes,
        ),
        encryption: group(
            b,
            name,
            "BucketEncryption.ServerSideEncryptionConfiguration",
            &want.encryption,
            &have.encryption,
            &mut changes,
        ),
        object_ownership: group(
            b,
            name,
            "OwnershipControls.Rules[0].ObjectOwnership",
            &want.object_ownership,
            &have.object_ownership,
            &mut changes,
        ),
        versioning: group(
            b,
            name,
            "VersioningConfiguration.Status",
            &want.versioning,
            &have.versioning,
            &mut changes,
        ),
        logging: group(
            b,
            name,
            "LoggingConfiguration",
            &want.logging,
            &have.logging,
            &mut changes,
        ),
    };
    if changes.0.is_empty() {
        return;
    }
    b.push(
        Op::Update,
        KIND,
        name,
        changes.0,
        "bucket access settings differ from the stack's template",
        Step::PutBucketAccess {
            bucket: name.clone(),
            access: write,
        },
    );
}

/// Compares one declared group; the value to write when it differs (ignored fields keep what
/// S3 holds, unless the stack update rewrites the group anyway), `None` when it matches.
fn group<T: Serialize + DeserializeOwned + PartialEq + Clone>(
    b: &Builder,
    name: &str,
    path: &str,
    want: &Option<T>,
    have: &Option<T>,
    changes: &mut Changes,
) -> Option<T> {
    let want = want.as_ref()?;
    let ignored = |field: &str| b.ignores(KIND, name, field, None);
    let Some(have) = have else {
        changes.presence(path, None, Some(diff::text(want)), None);
        return (!ignored(path)).then(|| want.clone());
    };
    if want == have {
        return None;
    }
    let (mut w, h) = (to_json(want), to_json(have));
    diff::json(path, &w, &h, changes);
    diff::keep(path, &mut w, &h, &ignored);
    // Every difference of the group ignored: nothing of it to write.
    (w != h).then(|| serde_json::from_value(w).unwrap_or_else(|_| want.clone()))
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}
