//! S3 ↔ domain values, both directions: a bucket's notification entries ([`Notification`]) with
//! their key filter rules, its lifecycle rules ([`LifecycleRule`]), its access settings
//! ([`BucketAccess`]), and the batches that empty it. Pure functions: `read` reads with them,
//! apply writes with them.

use super::AwsError;
use super::build::build_error;
use crate::resources::*;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types as s3;

/// Most keys one `DeleteObjects` call takes.
const DELETE_BATCH: usize = 1000;

/// A bucket's notification entries as the SDK holds them, by target kind. Entries read from
/// AWS are kept exactly as read, so writing them back changes nothing of them.
#[derive(Clone, Debug, Default)]
pub struct NotificationEntries {
    lambdas: Vec<s3::LambdaFunctionConfiguration>,
    topics: Vec<s3::TopicConfiguration>,
    queues: Vec<s3::QueueConfiguration>,
}

impl NotificationEntries {
    /// The entries of a read configuration.
    pub fn read(out: &GetBucketNotificationConfigurationOutput) -> Self {
        Self {
            lambdas: out.lambda_function_configurations().to_vec(),
            topics: out.topic_configurations().to_vec(),
            queues: out.queue_configurations().to_vec(),
        }
    }

    /// Keeps only the entries whose id `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(Option<&str>) -> bool) {
        self.lambdas.retain(|l| keep(l.id()));
        self.topics.retain(|t| keep(t.id()));
        self.queues.retain(|q| keep(q.id()));
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.lambdas.len() + self.topics.len() + self.queues.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds one of pitagora's entries; pitagora never writes queue entries.
    pub fn push(&mut self, n: &Notification) -> Result<(), AwsError> {
        let filter = key_filter(&n.prefix, &n.suffix);
        let events = Some(events_to_sdk(&n.events));
        match &n.target {
            NotificationTarget::Lambda(arn) => self.lambdas.push(
                s3::LambdaFunctionConfiguration::builder()
                    .id(&n.id)
                    .lambda_function_arn(arn)
                    .set_events(events)
                    .set_filter(filter)
                    .build()
                    .map_err(|e| build_error("S3 notification", e))?,
            ),
            NotificationTarget::Topic(arn) => self.topics.push(
                s3::TopicConfiguration::builder()
                    .id(&n.id)
                    .topic_arn(arn)
                    .set_events(events)
                    .set_filter(filter)
                    .build()
                    .map_err(|e| build_error("S3 notification", e))?,
            ),
            NotificationTarget::Queue(_) => {
                return Err(build_error(
                    "S3 notification",
                    "pitagora never writes queue notifications",
                ));
            }
        }
        Ok(())
    }

    /// The managed view of every entry: Lambda entries, then topics, then queues.
    pub fn to_domain(&self) -> Vec<Notification> {
        let lambdas = self.lambdas.iter().map(|l| {
            notification(
                l.id(),
                NotificationTarget::Lambda(l.lambda_function_arn().to_owned()),
                l.events(),
                l.filter(),
            )
        });
        let topics = self.topics.iter().map(|t| {
            notification(
                t.id(),
                NotificationTarget::Topic(t.topic_arn().to_owned()),
                t.events(),
                t.filter(),
            )
        });
        let queues = self.queues.iter().map(|q| {
            notification(
                q.id(),
                NotificationTarget::Queue(q.queue_arn().to_owned()),
                q.events(),
                q.filter(),
            )
        });
        lambdas.chain(topics).chain(queues).collect()
    }

    /// The configuration to write: these entries and `event_bridge` (the bucket's setting, as
    /// read).
    pub fn into_configuration(
        self,
        event_bridge: Option<s3::EventBridgeConfiguration>,
    ) -> s3::NotificationConfiguration {
        s3::NotificationConfiguration::builder()
            .set_lambda_function_configurations(Some(self.lambdas))
            .set_topic_configurations(Some(self.topics))
            .set_queue_configurations(Some(self.queues))
            .set_event_bridge_configuration(event_bridge)
            .build()
    }
}

fn notification(
    id: Option<&str>,
    target: NotificationTarget,
    events: &[s3::Event],
    filter: Option<&s3::NotificationConfigurationFilter>,
) -> Notification {
    let (prefix, suffix) = key_filter_rules(filter);
    Notification {
        id: id.unwrap_or_default().to_owned(),
        target,
        events: events_from_sdk(events),
        prefix,
        suffix,
    }
}

/// Event names, sorted (the managed form).
fn events_from_sdk(events: &[s3::Event]) -> Vec<String> {
    let mut v: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();
    v.sort();
    v
}

fn events_to_sdk(events: &[String]) -> Vec<s3::Event> {
    events.iter().map(|e| s3::Event::from(e.as_str())).collect()
}

/// A notification's key prefix and suffix (empty when it has none). S3 spells rule names in
/// either case.
pub fn key_filter_rules(filter: Option<&s3::NotificationConfigurationFilter>) -> (String, String) {
    let mut prefix = String::new();
    let mut suffix = String::new();
    for rule in filter
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
    {
        let value = rule.value().unwrap_or_default().to_owned();
        match rule
            .name()
            .map(|n| n.as_str().to_ascii_lowercase())
            .as_deref()
        {
            Some("prefix") => prefix = value,
            Some("suffix") => suffix = value,
            _ => {}
        }
    }
    (prefix, suffix)
}

/// The key filter for a prefix and a suffix (an empty one is no rule); `None` without rules.
pub fn key_filter(prefix: &str, suffix: &str) -> Option<s3::NotificationConfigurationFilter> {
    let rules: Vec<s3::FilterRule> = [
        (s3::FilterRuleName::Prefix, prefix),
        (s3::FilterRuleName::Suffix, suffix),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| s3::FilterRule::builder().name(name).value(value).build())
    .collect();
    (!rules.is_empty()).then(|| {
        s3::NotificationConfigurationFilter::builder()
            .key(
                s3::S3KeyFilter::builder()
                    .set_filter_rules(Some(rules))
                    .build(),
            )
            .build()
    })
}

/// A versioning configuration with this status (`Enabled`, `Suspended`).
pub fn versioning_to_sdk(status: &str) -> s3::VersioningConfiguration {
    s3::VersioningConfiguration::builder()
        .status(s3::BucketVersioningStatus::from(status))
        .build()
}

/// Where a bucket's access logs go, as S3 answers `GetBucketLogging`.
pub fn logging_from_sdk(l: &s3::LoggingEnabled) -> BucketLogging {
    BucketLogging {
        destination_bucket_name: l.target_bucket().to_owned(),
        log_file_prefix: l.target_prefix().to_owned(),
    }
}

/// The `PutBucketLogging` status that sends a bucket's access logs to `l`.
pub fn logging_to_sdk(l: &BucketLogging) -> Result<s3::BucketLoggingStatus, AwsError> {
    let enabled = s3::LoggingEnabled::builder()
        .target_bucket(&l.destination_bucket_name)
        .target_prefix(&l.log_file_prefix)
        .build()
        .map_err(|e| build_error("S3 logging", e))?;
    Ok(s3::BucketLoggingStatus::builder()
        .logging_enabled(enabled)
        .build())
}

/// The managed view of an S3 lifecycle rule (a prefix filter, expiration days, transitions).
pub fn lifecycle_rule_from_sdk(r: &s3::LifecycleRule) -> LifecycleRule {
    #[allow(deprecated)] // the rule-level `Prefix` is what older rules carry
    let prefix = r
        .filter()
        .and_then(|f| f.prefix())
        .or(r.prefix())
        .unwrap_or_default()
        .to_owned();
    let mut transitions: Vec<LifecycleTransition> = r
        .transitions()
        .iter()
        .filter_map(|t| {
            Some(LifecycleTransition {
                days: t.days()?,
                storage_class: t.storage_class()?.as_str().to_owned(),
            })
        })
        .collect();
    transitions.sort();
    LifecycleRule {
        id: r.id().unwrap_or_default().to_owned(),
        prefix,
        enabled: r.status().as_str() == "Enabled",
        expiration_days: r.expiration().and_then(|e| e.days()),
        noncurrent_days: r
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        transitions,
    }
}

/// A lifecycle rule as the SDK writes it: a prefix filter, the status, expiration and
/// transitions (none: no `Transitions` element).
pub fn lifecycle_rule_to_sdk(r: &LifecycleRule) -> Result<s3::LifecycleRule, AwsError> {
    let transitions: Vec<s3::Transition> = r
        .transitions
        .iter()
        .map(|t| {
            s3::Transition::builder()
                .days(t.days)
                .storage_class(s3::TransitionStorageClass::from(t.storage_class.as_str()))
                .build()
        })
        .collect();
    s3::LifecycleRule::builder()
        .id(&r.id)
        .filter(s3::LifecycleRuleFilter::builder().prefix(&r.prefix).build())
        .status(if r.enabled {
            s3::ExpirationStatus::Enabled
        } else {
            s3::ExpirationStatus::Disabled
        })
        .set_expiration(
            r.expiration_days
                .map(|d| s3::LifecycleExpiration::builder().days(d).build()),
        )
        .set_transitions((!transitions.is_empty()).then_some(transitions))
        .set_noncurrent_version_expiration(r.noncurrent_days.map(|d| {
            s3::NoncurrentVersionExpiration::builder()
                .noncurrent_days(d)
                .build()
        }))
        .build()
        .map_err(|e| build_error("S3 lifecycle rule", e))
}

/// A lifecycle configuration of these rules.
pub fn lifecycle_configuration(
    rules: Vec<s3::LifecycleRule>,
) -> Result<s3::BucketLifecycleConfiguration, AwsError> {
    s3::BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| build_error("S3 lifecycle", e))
}

/// `DeleteObjects` requests for every object version and delete marker of one listed page,
/// at most [`DELETE_BATCH`] keys each. The version id "null" (an unversioned object) is sent
/// as no version id.
pub fn delete_batches(page: &ListObjectVersionsOutput) -> Result<Vec<s3::Delete>, AwsError> {
    let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = page
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id()));
    let mut ids = Vec::new();
    for (key, version) in versions.chain(markers) {
        let Some(key) = key else { continue };
        ids.push(
            s3::ObjectIdentifier::builder()
                .key(key)
                .set_version_id(version.filter(|v| *v != "null").map(str::to_owned))
                .build()
                .map_err(|e| build_error("S3.DeleteObjects", e))?,
        );
    }
    ids.chunks(DELETE_BATCH)
        .map(|chunk| {
            s3::Delete::builder()
                .set_objects(Some(chunk.to_vec()))
                .quiet(true)
                .build()
                .map_err(|e| build_error("S3.DeleteObjects", e))
        })
        .collect()
}

/// The public access block as S3 holds it.
pub fn public_access_block_from_sdk(c: &s3::PublicAccessBlockConfiguration) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }
}

/// A public access block to write.
pub fn public_access_block_to_sdk(b: &PublicAccessBlock) -> s3::PublicAccessBlockConfiguration {
    s3::PublicAccessBlockConfiguration::builder()
        .block_public_acls(b.block_public_acls)
        .block_public_policy(b.block_public_policy)
        .ignore_public_acls(b.ignore_public_acls)
        .restrict_public_buckets(b.restrict_public_buckets)
        .build()
}

/// The default-encryption rules as S3 holds them (`BucketKeyEnabled` is not declared, so not
/// compared).
pub fn encryption_from_sdk(c: &s3::ServerSideEncryptionConfiguration) -> Vec<EncryptionRule> {
    c.rules()
        .iter()
        .filter_map(|r| r.apply_server_side_encryption_by_default())
        .map(|d| EncryptionRule {
            algorithm: d.sse_algorithm().as_str().to_owned(),
            kms_key_id: d.kms_master_key_id().map(str::to_owned),
        })
        .collect()
}

/// Default-encryption rules to write.
pub fn encryption_to_sdk(
    rules: &[EncryptionRule],
) -> Result<s3::ServerSideEncryptionConfiguration, AwsError> {
    let rules = rules
        .iter()
        .map(|r| {
            let by_default = s3::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3::ServerSideEncryption::from(r.algorithm.as_str()))
                .set_kms_master_key_id(r.kms_key_id.clone())
                .build()
                .map_err(|e| build_error("ServerSideEncryptionByDefault", e))?;
            Ok(s3::ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build())
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    s3::ServerSideEncryptionConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| build_error("ServerSideEncryptionConfiguration", e))
}

/// The object ownership setting as S3 holds it (its first rule's).
pub fn ownership_from_sdk(c: &s3::OwnershipControls) -> Option<String> {
    c.rules()
        .first()
        .map(|r| r.object_ownership().as_str().to_owned())
}

/// Ownership controls with one rule to write.
pub fn ownership_to_sdk(ownership: &str) -> Result<s3::OwnershipControls, AwsError> {
    let rule = s3::OwnershipControlsRule::builder()
        .object_ownership(s3::ObjectOwnership::from(ownership))
        .build()
        .map_err(|e| build_error("OwnershipControlsRule", e))?;
    s3::OwnershipControls::builder()
        .rules(rule)
        .build()
        .map_err(|e| build_error("OwnershipControls", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(target: NotificationTarget, prefix: &str, suffix: &str) -> Notification {
        Notification {
            id: "p-notify".into(),
            target,
            events: vec!["s3:ObjectCreated:Put".into(), "s3:ObjectCreated:*".into()],
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    fn round_trip(n: &Notification) -> Vec<Notification> {
        let mut entries = NotificationEntries::default();
        entries.push(n).unwrap();
        entries.to_domain()
    }

    #[test]
    fn notifications_read_back_as_written_with_events_sorted() {
        for n in [
            notification(
                NotificationTarget::Lambda("arn:aws:lambda:eu-west-1:1:function:f".into()),
                "logs/",
                ".gz",
            ),
            notification(
                NotificationTarget::Topic("arn:aws:sns:eu-west-1:1:t".into()),
                "",
                "",
            ),
            notification(
                NotificationTarget::Topic("arn:aws:sns:eu-west-1:1:t".into()),
                "",
                ".gz",
            ),
        ] {
            let mut sorted = n.clone();
            sorted.events.sort();
            assert_eq!(round_trip(&n), [sorted]);
        }
    }

    #[test]
    fn queue_notifications_are_never_written() {
        let n = notification(NotificationTarget::Queue("arn:aws:sqs:q".into()), "", "");
        assert!(matches!(
            NotificationEntries::default().push(&n),
            Err(AwsError::Build(..))
        ));
    }

    #[test]
    fn retained_entries_are_the_accepted_ids() {
        let mut entries = NotificationEntries::default();
        for id in ["ours", "theirs"] {
            let mut n = notification(NotificationTarget::Topic("arn:t".into()), "", "");
            n.id = id.into();
            entries.push(&n).unwrap();
        }
        entries.retain(|id| id != Some("ours"));
        assert_eq!(entries.len(), 1);
        assert_eq!(entries.to_domain()[0].id, "theirs");
    }

    #[test]
    fn no_key_filter_without_a_prefix_or_suffix() {
        assert_eq!(key_filter("", ""), None);
        assert_eq!(key_filter_rules(None), (String::new(), String::new()));
    }

    #[test]
    fn lifecycle_rules_read_back_as_written() {
        for rule in [
            LifecycleRule {
                id: "p-retention".into(),
                prefix: "logs/".into(),
                enabled: true,
                expiration_days: Some(400),
                noncurrent_days: Some(14),
                transitions: vec![
                    LifecycleTransition {
                        days: 30,
                        storage_class: "STANDARD_IA".into(),
                    },
                    LifecycleTransition {
                        days: 90,
                        storage_class: "GLACIER".into(),
                    },
                ],
            },
            LifecycleRule {
                id: "other".into(),
                prefix: String::new(),
                enabled: false,
                expiration_days: None,
                noncurrent_days: None,
                transitions: vec![],
            },
        ] {
            let sdk = lifecycle_rule_to_sdk(&rule).unwrap();
            assert_eq!(lifecycle_rule_from_sdk(&sdk), rule);
        }
    }

    #[test]
    fn deletes_are_batched_and_unversioned_objects_have_no_version() {
        let versions: Vec<s3::ObjectVersion> = (0..1001)
            .map(|i| {
                s3::ObjectVersion::builder()
                    .key(format!("k{i}"))
                    .version_id(if i == 0 { "null" } else { "v" })
                    .build()
            })
            .collect();
        let page = ListObjectVersionsOutput::builder()
            .set_versions(Some(versions))
            .build();
        let batches = delete_batches(&page).unwrap();
        assert_eq!(
            batches
                .iter()
                .map(|b| b.objects().len())
                .collect::<Vec<_>>(),
            [1000, 1]
        );
        assert_eq!(batches[0].objects()[0].version_id(), None);
        assert_eq!(batches[0].objects()[1].version_id(), Some("v"));
    }
}
