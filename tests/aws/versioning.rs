//! Bucket versioning (`storage.versioning`), against the emulator: on when asked for, with kept
//! versions expiring by the pipeline's lifecycle rule; read live and restored when someone
//! suspends it. (A pipeline without it is never read for it: tests/aws/security_options.rs.)

use crate::common;

use common::moto::*;

const VERSIONED: &str =
    "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  versioning: {noncurrentDays: 14}\n";

async fn versioning_status(m: &Moto, bucket: &str) -> Option<String> {
    m.c.s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .status()
        .map(|s| s.as_str().to_owned())
}

#[tokio::test]
async fn a_versioned_pipeline_has_versioning_on_and_kept_versions_expiring() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let d = m.converged(&m.spec(VERSIONED)).await;
    assert_eq!(
        versioning_status(&m, &d.names.bucket).await.as_deref(),
        Some("Enabled")
    );
    let rules =
        m.c.s3
            .get_bucket_lifecycle_configuration()
            .bucket(&d.names.bucket)
            .send()
            .await
            .unwrap();
    let kept: Vec<Option<i32>> = rules
        .rules()
        .iter()
        .map(|r| {
            r.noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days())
        })
        .collect();
    assert_eq!(kept, [Some(14)]);
}

#[tokio::test]
async fn suspended_by_hand_is_drift_naming_the_field_and_apply_enables_it_again() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec(VERSIONED);
    let d = m.converged(&spec).await;
    m.outsider()
        .await
        .s3
        .put_bucket_versioning()
        .bucket(&d.names.bucket)
        .versioning_configuration(pitagora::aws::s3::versioning_to_sdk("Suspended"))
        .send()
        .await
        .unwrap();
    let plan = check_reads_only(&m, &spec).await;
    let action = only_action(&plan);
    let change = action
        .changes
        .iter()
        .find(|c| c.field == "VersioningConfiguration.Status")
        .unwrap_or_else(|| panic!("{action:#?}"));
    assert!(format!("{change:?}").contains("Enabled"), "{change:?}");
    assert!(format!("{change:?}").contains("Suspended"), "{change:?}");
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutBucketVersioning", 1)])
    );
    assert_eq!(
        versioning_status(&m, &d.names.bucket).await.as_deref(),
        Some("Enabled")
    );
}
