//! The security options a scanner asks for, against the emulator: S3 server access logging
//! (`storage.accessLogging`) and topic encryption with a customer-managed key
//! (`fanout.kmsKeyArn`). Each is declared in the template, read live, restored when changed by
//! hand with exactly the one write it needs, and never read or judged when the spec leaves it
//! out.

use crate::common;

use common::moto::*;
use pitagora::resources::ResourceKind;

const KEY: &str = "arn:aws:kms:eu-west-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn logged_spec(m: &Moto, target: &str) -> pitagora::spec::LogPipelineSpec {
    m.spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  accessLogging: {{bucket: {target}, prefix: orders/}}\n"
    ))
}

fn encrypted_spec(m: &Moto) -> pitagora::spec::LogPipelineSpec {
    m.spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n  kmsKeyArn: {KEY}\n"
    ))
}

/// A bucket of the user's that lets S3's logging service write access logs into it.
async fn log_bucket(m: &Moto) -> String {
    let name = format!("access-logs-{}", m.account);
    let outsider = m.outsider().await;
    common::moto::create_bucket(&outsider.s3, &name).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": ["s3:PutObject"],
            "Resource": format!("arn:aws:s3:::{name}/*"),
        }],
    });
    outsider
        .s3
        .put_bucket_policy()
        .bucket(&name)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    name
}

async fn logging_of(m: &Moto, bucket: &str) -> Option<(String, String)> {
    let out = m.c.s3.get_bucket_logging().bucket(bucket).send().await;
    out.unwrap()
        .logging_enabled()
        .map(|l| (l.target_bucket().to_owned(), l.target_prefix().to_owned()))
}

/// The key the encrypted specs name, in `m`'s account.
fn key(m: &Moto) -> String {
    KEY.replace("{account}", &m.account)
}

/// Sets the topic's key as someone outside pitagora would; an empty key turns encryption off.
async fn set_topic_key_by_hand(m: &Moto, topic_arn: &str, key: &str) {
    m.outsider()
        .await
        .sns
        .set_topic_attributes()
        .topic_arn(topic_arn)
        .attribute_name("KmsMasterKeyId")
        .attribute_value(key)
        .send()
        .await
        .unwrap();
}

async fn topic_key(m: &Moto, topic_arn: &str) -> Option<String> {
    let out = m.c.sns.get_topic_attributes().topic_arn(topic_arn);
    out.send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get("KmsMasterKeyId"))
        .filter(|k| !k.is_empty())
        .cloned()
}

#[tokio::test]
async fn a_pipeline_with_access_logging_sends_its_bucket_logs_to_the_named_bucket() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let target = log_bucket(&m).await;
    let d = m.converged(&logged_spec(&m, &target)).await;
    assert_eq!(
        logging_of(&m, &d.names.bucket).await,
        Some((target, "orders/".into()))
    );
}

#[tokio::test]
async fn access_logging_turned_off_by_hand_is_drift_and_apply_turns_it_on_again() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let target = log_bucket(&m).await;
    let spec = logged_spec(&m, &target);
    let d = m.converged(&spec).await;
    m.outsider()
        .await
        .s3
        .put_bucket_logging()
        .bucket(&d.names.bucket)
        .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
        .send()
        .await
        .unwrap();
    let plan = check_reads_only(&m, &spec).await;
    let action = only_action(&plan);
    assert_eq!(action.kind, ResourceKind::BucketAccess);
    assert_eq!(changed_fields(action), ["LoggingConfiguration"]);
    assert!(
        format!("{:?}", action.changes[0].desired).contains(&target),
        "{action:#?}"
    );
    assert_eq!(action.changes[0].actual, None, "{action:#?}");
    assert_eq!(correct(&m, &spec).await, ops(&[("S3.PutBucketLogging", 1)]));
    assert_eq!(
        logging_of(&m, &d.names.bucket).await,
        Some((target, "orders/".into()))
    );
}

#[tokio::test]
async fn a_pipeline_without_versioning_or_access_logging_is_never_read_for_them() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    m.converged(&spec).await;
    let before = m.calls();
    check_reads_only(&m, &spec).await;
    let reads = m.calls().since(&before);
    assert_eq!(reads.of("GetBucketLogging"), 0, "{reads:?}");
    assert_eq!(reads.of("GetBucketVersioning"), 0, "{reads:?}");
    assert!(reads.of("GetBucketOwnershipControls") > 0, "{reads:?}");
}

#[tokio::test]
async fn an_encrypted_fanout_creates_its_topic_with_the_named_key() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let d = m.converged(&encrypted_spec(&m)).await;
    let topic = d.topic.as_ref().unwrap();
    assert_eq!(topic_key(&m, &topic.arn).await, Some(key(&m)));
}

#[tokio::test]
async fn topic_encryption_removed_by_hand_is_drift_naming_the_key_and_apply_sets_it_again() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = encrypted_spec(&m);
    let d = m.converged(&spec).await;
    let topic = d.topic.as_ref().unwrap();
    set_topic_key_by_hand(&m, &topic.arn, "").await;
    let plan = check_reads_only(&m, &spec).await;
    let action = only_action(&plan);
    assert_eq!(
        (action.kind, changed_fields(action)),
        (ResourceKind::TopicEncryption, vec!["KmsMasterKeyId"])
    );
    let key = key(&m);
    assert_eq!(action.changes[0].desired.as_deref(), Some(key.as_str()));
    assert_eq!(action.changes[0].actual, None);
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("SNS.SetTopicAttributes", 1)])
    );
    assert_eq!(topic_key(&m, &topic.arn).await, Some(key));
}

#[tokio::test]
async fn a_key_set_by_hand_on_a_topic_the_spec_leaves_unencrypted_is_kept() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n");
    let d = m.converged(&spec).await;
    let topic = d.topic.as_ref().unwrap();
    let theirs = key(&m);
    set_topic_key_by_hand(&m, &topic.arn, &theirs).await;
    assert!(check_reads_only(&m, &spec).await.in_sync());
    assert_eq!(topic_key(&m, &topic.arn).await, Some(theirs));
}
