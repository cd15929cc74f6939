//! Property: for random valid specs and random out-of-band perturbations of the observed state,
//! executing the plan in the in-memory AWS model and planning again yields an empty plan. And a
//! pipeline converged for one spec converges to any other spec of the same pipeline.

use crate::common;

use common::*;
use pitagora::aws_model;
use pitagora::desired::Desired;
use pitagora::observed::{Observed, ObservedSubscription};
use pitagora::plan::plan;
use pitagora::resources::*;
use pitagora::spec::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const GROUPS: &[&str] = &["/ecs/a", "/ecs/b", "/app/x", "/app/y", "/other/z"];

fn arb_spec() -> impl Strategy<Value = LogPipelineSpec> {
    let sources = (
        proptest::sample::subsequence(vec!["/ecs/a", "/app/x", "/other/z"], 0..=3),
        proptest::sample::subsequence(vec!["/ecs/", "/app/"], 0..=2),
        prop_oneof![Just(""), Just("ERROR"), Just("{ $.level = \"error\" }")],
        any::<bool>(),
    )
        .prop_filter("at least one source", |(g, p, _, _)| {
            !g.is_empty() || !p.is_empty()
        })
        .prop_map(|(groups, prefixes, pattern, random)| Sources {
            log_groups: groups.into_iter().map(str::to_owned).collect(),
            log_group_prefixes: prefixes.into_iter().map(str::to_owned).collect(),
            filter_pattern: pattern.to_owned(),
            distribution: if random {
                Distribution::Random
            } else {
                Distribution::ByLogStream
            },
            remote: Vec::new(),
        });
    let delivery = (
        1..=128i32,
        0..=900i32,
        prop_oneof![
            Just(RecordFormat::Ndjson),
            Just(RecordFormat::Envelope),
            Just(RecordFormat::Raw)
        ],
        prop_oneof![
            Just(None),
            Just(Some(Compression::Gzip)),
            Just(Some(Compression::Snappy))
        ],
        prop_oneof![Just("raw/"), Just("logs/raw/")],
        prop_oneof![Just("errors/"), Just("failed/")],
        prop_oneof![Just(Layout::Flat), Just(Layout::Hive)],
    )
        .prop_map(
            |(size, interval, format, compression, prefix, errors, layout)| Delivery {
                buffering: Buffering {
                    size_mib: size,
                    interval_seconds: interval,
                },
                record_format: format,
                compression: if format == RecordFormat::Raw {
                    None
                } else {
                    compression
                },
                layout,
                verify: Verify::default(),
                prefix: prefix.to_owned(),
                error_output_prefix: errors.to_owned(),
            },
        );
    let storage = (
        proptest::option::of(100..=3650i32),
        proptest::option::of(30..=90i32),
        any::<bool>(),
        proptest::option::of(1..=90i32),
        any::<bool>(),
    )
        .prop_map(|(retention, after, delete, kept, logged)| Storage {
            bucket_name: None,
            retention_days: retention,
            transition: after.map(|after_days| Transition {
                after_days,
                storage_class: ArchiveClass::GlacierIr,
            }),
            deletion_policy: if delete {
                DeletionPolicy::Delete
            } else {
                DeletionPolicy::Retain
            },
            bucket_policy: BucketPolicyMode::Shared,
            versioning: kept.map(|noncurrent_days| Versioning { noncurrent_days }),
            access_logging: logged.then(|| AccessLogging {
                bucket: "team-a-access-logs".into(),
                prefix: None,
            }),
        });
    let transform =
        proptest::option::of(prop_oneof![Just("processed/"), Just("out/")]).prop_map(|p| {
            p.map(|output_prefix| Transform {
                lambda_arn: "arn:aws:lambda:eu-west-1:123456789012:function:transform".into(),
                output_prefix: output_prefix.into(),
            })
        });
    let fanout = (
        proptest::option::of(proptest::collection::vec((0..4usize, any::<bool>()), 0..=3)),
        any::<bool>(),
    )
        .prop_map(|(subs, keyed)| {
            subs.map(|subs| Fanout {
                topic_name: None,
                kms_key_arn: keyed
                    .then(|| "arn:aws:kms:eu-west-1:123456789012:alias/team-a-logs".into()),
                subscribers: subs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (f, policy))| Subscriber {
                        name: format!("sub-{i}"),
                        lambda_arn: format!(
                            "arn:aws:lambda:eu-west-1:123456789012:function:f{f}-{i}"
                        ),
                        filter_policy: policy.then(
                            || json!({"Records": {"s3": {"object": {"key": [{"prefix": "p/"}]}}}}),
                        ),
                    })
                    .collect(),
            })
        });
    (sources, delivery, storage, transform, fanout, any::<bool>())
        .prop_map(
            |(sources, delivery, storage, transform, fanout, report)| LogPipelineSpec {
                sources,
                delivery,
                storage,
                transform,
                fanout,
                drift: DriftSettings {
                    policy: if report {
                        DriftPolicy::Report
                    } else {
                        DriftPolicy::Correct
                    },
                    check_interval_seconds: 300,
                    ignore: Vec::new(),
                },
                ..LogPipelineSpec::default()
            },
        )
        .prop_filter("valid", |s| validate(&id(), s).is_empty())
}

/// An out-of-band change someone might make in AWS that pitagora can repair.
#[derive(Clone, Debug)]
enum Perturbation {
    StackDeleted,
    StackRolledBack,
    TemplateEdited,
    ErrorLogGroupDeleted,
    ErrorLogRetention(i32),
    StreamDeleted,
    StreamCreationFailed,
    BufferSize(i32),
    BufferInterval(i32),
    Compression(&'static str),
    ProcessingDisabled,
    ProcessorsDropped,
    PrefixChanged,
    RoleChanged,
    LoggingDisabled,
    StreamRetagged,
    FilterDeleted(usize),
    FilterPattern(usize),
    FilterDestination(usize),
    OwnFilterOnOtherGroup,
    NewGroupUnderPrefix,
    ForeignFilterAdded(usize),
    NotificationsCleared,
    NotificationPrefixChanged,
    ForeignNotificationAdded,
    StaleOwnedNotification,
    LifecycleCleared,
    LifecycleDays(i32),
    ForeignRuleAdded,
    StaleOwnedRule,
    SubscriptionRemoved,
    FilterPolicyChanged,
    ExtraLambdaSubscription,
    ForeignEmailSubscription,
    PublicAccessRelaxed,
    EncryptionRemoved,
    OwnershipChanged,
    BucketPolicyRemoved,
    BucketStatementAltered,
    ForeignBucketStatement,
    TrustConditionRemoved,
    InlinePolicyWidened,
    InlinePolicyAdded,
    ManagedPolicyAttached,
    RoleBoundaryRemoved,
    TopicPolicyOpened,
    TopicKeyRemoved,
    AccessLoggingOff,
    PermissionRemoved,
    PermissionAltered,
}

fn arb_perturbation() -> impl Strategy<Value = Perturbation> {
    use Perturbation::*;
    prop_oneof![
        Just(StackDeleted),
        Just(StackRolledBack),
        Just(TemplateEdited),
        Just(ErrorLogGroupDeleted),
        (1..400i32).prop_map(ErrorLogRetention),
        Just(StreamDeleted),
        Just(StreamCreationFailed),
        (1..=128i32).prop_map(BufferSize),
        (0..=900i32).prop_map(BufferInterval),
        prop_oneof![Just("UNCOMPRESSED"), Just("GZIP"), Just("ZIP")].prop_map(Compression),
        Just(ProcessingDisabled),
        Just(ProcessorsDropped),
        Just(PrefixChanged),
        Just(RoleChanged),
        Just(LoggingDisabled),
        Just(StreamRetagged),
        (0..5usize).prop_map(FilterDeleted),
        (0..5usize).prop_map(FilterPattern),
        (0..5usize).prop_map(FilterDestination),
        Just(OwnFilterOnOtherGroup),
        Just(NewGroupUnderPrefix),
        (0..5usize).prop_map(ForeignFilterAdded),
        Just(NotificationsCleared),
        Just(NotificationPrefixChanged),
        Just(ForeignNotificationAdded),
        Just(StaleOwnedNotification),
        Just(LifecycleCleared),
        (1..100i32).prop_map(LifecycleDays),
        Just(ForeignRuleAdded),
        Just(StaleOwnedRule),
        Just(SubscriptionRemoved),
        Just(FilterPolicyChanged),
        Just(ExtraLambdaSubscription),
        Just(ForeignEmailSubscription),
        Just(PublicAccessRelaxed),
        Just(EncryptionRemoved),
        Just(OwnershipChanged),
        Just(BucketPolicyRemoved),
        Just(BucketStatementAltered),
        Just(ForeignBucketStatement),
        Just(TrustConditionRemoved),
        Just(InlinePolicyWidened),
        Just(InlinePolicyAdded),
        Just(ManagedPolicyAttached),
        Just(RoleBoundaryRemoved),
        Just(TopicPolicyOpened),
        Just(TopicKeyRemoved),
        Just(AccessLoggingOff),
        Just(PermissionRemoved),
        Just(PermissionAltered),
    ]
}

/// Out-of-band changes to the stack's own resources, read live.
fn perturb_held(o: &mut Observed, p: &Perturbation) {
    use Perturbation::*;
    let allow_all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    match p {
        PublicAccessRelaxed
        | EncryptionRemoved
        | OwnershipChanged
        | BucketPolicyRemoved
        | BucketStatementAltered
        | ForeignBucketStatement => {
            let Some(b) = o.bucket.as_mut() else { return };
            match p {
                PublicAccessRelaxed => {
                    if let Some(block) = b.access.public_access_block.as_mut() {
                        block.block_public_policy = false;
                    }
                }
                EncryptionRemoved => b.access.encryption = None,
                OwnershipChanged => b.access.object_ownership = Some("ObjectWriter".into()),
                BucketPolicyRemoved => b.policy = None,
                BucketStatementAltered => {
                    if let Some(st) = b.policy.as_mut().and_then(|p| p["Statement"].get_mut(0)) {
                        st["Effect"] = json!("Allow");
                    }
                }
                _ => {
                    if let Some(Value::Array(list)) = b.policy.as_mut().map(|p| &mut p["Statement"])
                    {
                        list.push(json!({"Sid": "Analytics", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject", "Resource": "*"}));
                    }
                }
            }
        }
        TrustConditionRemoved
        | InlinePolicyWidened
        | InlinePolicyAdded
        | ManagedPolicyAttached
        | RoleBoundaryRemoved => {
            let Some(role) = o.roles.values_mut().next() else {
                return;
            };
            match p {
                TrustConditionRemoved => {
                    if let Some(st) = role.trust["Statement"]
                        .get_mut(0)
                        .and_then(Value::as_object_mut)
                    {
                        st.remove("Condition");
                    }
                }
                InlinePolicyWidened => {
                    if let Some(doc) = role.inline.values_mut().next() {
                        *doc = allow_all;
                    }
                }
                InlinePolicyAdded => {
                    role.inline.insert("by-hand".into(), allow_all);
                }
                RoleBoundaryRemoved => role.boundary = None,
                _ => role
                    .attached
                    .push("arn:aws:iam::aws:policy/AdministratorAccess".into()),
            }
        }
        TopicKeyRemoved => {
            if let Some(topic) = o.topic.as_mut() {
                topic.kms_key = None;
            }
        }
        AccessLoggingOff => {
            if let Some(bucket) = o.bucket.as_mut() {
                bucket.access.logging = None;
            }
        }
        TopicPolicyOpened => {
            if let Some(policy) = o.topic.as_mut().and_then(|t| t.policy.as_mut())
                && let Some(st) = policy["Statement"].get_mut(0)
            {
                st["Principal"] = json!("*");
            }
        }
        PermissionRemoved | PermissionAltered => {
            let Some(statements) = o.functions.values_mut().next() else {
                return;
            };
            match p {
                PermissionRemoved => statements.clear(),
                _ => {
                    if let Some(s) = statements.first_mut() {
                        s.source_account = None;
                    }
                }
            }
        }
        _ => {}
    }
}

fn nth_group(o: &Observed, i: usize) -> Option<String> {
    let names: Vec<&String> = o.log_groups.keys().collect();
    (!names.is_empty()).then(|| names[i % names.len()].clone())
}

fn perturb(d: &Desired, o: &mut Observed, p: &Perturbation) {
    use Perturbation::*;
    let foreign_filter = |name: &str| SubscriptionFilter {
        name: name.into(),
        pattern: String::new(),
        destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:other".into(),
        role_arn: None,
        distribution: "ByLogStream".into(),
    };
    match p {
        StackDeleted | StackRolledBack => {
            // Deleting the stack, or a creation that failed and rolled back, removes the topic
            // and, unless retained, the bucket. A retained bucket without its stack is a
            // conflict (see plan_drift), outside this property: only the Delete policy applies.
            let retained = o
                .stack
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| t["Resources"]["Bucket"]["DeletionPolicy"] == "Retain");
            if retained {
                return;
            }
            o.topic = None;
            o.bucket = None;
            match p {
                StackDeleted => o.stack = None,
                _ => {
                    if let Some(s) = o.stack.as_mut() {
                        s.status = "ROLLBACK_COMPLETE".into();
                    }
                }
            }
        }
        TemplateEdited => {
            if let Some(t) = o.stack.as_mut().and_then(|s| s.template.as_mut()) {
                t["Resources"]["Bucket"]["Properties"]["BucketEncryption"] = json!({});
            }
        }
        ErrorLogGroupDeleted => o.error_log_group = None,
        ErrorLogRetention(days) => {
            if let Some(g) = o.error_log_group.as_mut() {
                g.retention_days = Some(*days);
            }
        }
        StreamDeleted => o.stream = None,
        StreamCreationFailed => {
            if let Some(s) = o.stream.as_mut() {
                s.status = "CREATING_FAILED".into();
            }
        }
        StreamRetagged => {
            if let Some(s) = o.stream.as_mut() {
                s.tags.remove("app.kubernetes.io/managed-by");
            }
        }
        BufferSize(_) | BufferInterval(_) | Compression(_) | ProcessingDisabled
        | ProcessorsDropped | PrefixChanged | RoleChanged | LoggingDisabled => {
            let Some(dest) = o.stream.as_mut().and_then(|s| s.destination.as_mut()) else {
                return;
            };
            match p {
                BufferSize(n) => dest.buffering.size_mib = *n,
                BufferInterval(n) => dest.buffering.interval_seconds = *n,
                Compression(c) => dest.compression = (*c).into(),
                ProcessingDisabled => dest.processing_enabled = false,
                ProcessorsDropped => dest.processors.truncate(1),
                PrefixChanged => dest.prefix = "elsewhere/".into(),
                RoleChanged => dest.role_arn = "arn:aws:iam::123456789012:role/someone".into(),
                LoggingDisabled => dest.cloudwatch_logging.enabled = false,
                _ => unreachable!(),
            }
        }
        FilterDeleted(i) | FilterPattern(i) | FilterDestination(i) => {
            let Some(group) = nth_group(o, *i) else {
                return;
            };
            let filters = o.log_groups.get_mut(&group).unwrap();
            if let Some(pos) = filters.iter().position(|f| f.name == d.names.filter) {
                match p {
                    FilterDeleted(_) => {
                        filters.remove(pos);
                    }
                    FilterPattern(_) => filters[pos].pattern = "changed".into(),
                    _ => {
                        filters[pos].destination_arn =
                            "arn:aws:firehose:eu-west-1:123456789012:deliverystream/x".into()
                    }
                }
            }
        }
        OwnFilterOnOtherGroup => {
            let mut ours = d.filters.filter.clone();
            ours.pattern = "stale".into();
            o.log_groups.insert("/legacy/old".into(), vec![ours]);
        }
        NewGroupUnderPrefix => {
            o.log_groups.entry("/ecs/new".into()).or_default();
        }
        ForeignFilterAdded(i) => {
            let Some(group) = nth_group(o, *i) else {
                return;
            };
            let filters = o.log_groups.get_mut(&group).unwrap();
            // AWS allows two filters per group; a third foreign one would be a conflict, which
            // this property does not cover.
            if filters.is_empty() {
                filters.push(foreign_filter("foreign-1"));
            }
        }
        NotificationsCleared
        | NotificationPrefixChanged
        | ForeignNotificationAdded
        | StaleOwnedNotification => {
            let Some(bucket) = o.bucket.as_mut() else {
                return;
            };
            match p {
                NotificationsCleared => bucket.notifications.clear(),
                NotificationPrefixChanged => {
                    if let Some(n) = bucket.notifications.first_mut() {
                        n.prefix = "nowhere/".into();
                    }
                }
                ForeignNotificationAdded => bucket.notifications.push(Notification {
                    id: "foreign".into(),
                    target: NotificationTarget::Queue(
                        "arn:aws:sqs:eu-west-1:123456789012:q".into(),
                    ),
                    events: vec!["s3:ObjectRemoved:*".into()],
                    prefix: String::new(),
                    suffix: String::new(),
                }),
                _ => {
                    if !bucket
                        .notifications
                        .iter()
                        .any(|n| n.id == d.names.transform_notification_id)
                    {
                        bucket.notifications.push(Notification {
                            id: d.names.transform_notification_id.clone(),
                            target: NotificationTarget::Lambda(
                                "arn:aws:lambda:eu-west-1:123456789012:function:old".into(),
                            ),
                            events: vec!["s3:ObjectCreated:*".into()],
                            prefix: "zzz/".into(),
                            suffix: String::new(),
                        });
                    }
                }
            }
        }
        LifecycleCleared | LifecycleDays(_) | ForeignRuleAdded | StaleOwnedRule => {
            let Some(bucket) = o.bucket.as_mut() else {
                return;
            };
            match p {
                LifecycleCleared => bucket.lifecycle.clear(),
                LifecycleDays(n) => {
                    if let Some(r) = bucket.lifecycle.first_mut() {
                        r.expiration_days = Some(*n);
                    }
                }
                ForeignRuleAdded => bucket.lifecycle.push(LifecycleRule {
                    id: "foreign".into(),
                    prefix: "tmp/".into(),
                    enabled: true,
                    expiration_days: Some(1),
                    noncurrent_days: None,
                    transitions: vec![],
                }),
                _ => {
                    if bucket.lifecycle.is_empty() {
                        bucket.lifecycle.push(LifecycleRule {
                            id: d.names.lifecycle_rule_id.clone(),
                            prefix: String::new(),
                            enabled: false,
                            expiration_days: Some(3),
                            noncurrent_days: None,
                            transitions: vec![],
                        });
                    }
                }
            }
        }
        SubscriptionRemoved
        | FilterPolicyChanged
        | ExtraLambdaSubscription
        | ForeignEmailSubscription => {
            let Some(topic) = o.topic.as_mut() else {
                return;
            };
            let extra = |protocol: &str, endpoint: &str| ObservedSubscription {
                arn: format!("arn:aws:sns:eu-west-1:123456789012:t:{protocol}"),
                subscription: TopicSubscription {
                    protocol: protocol.into(),
                    endpoint: endpoint.into(),
                    filter_policy: None,
                    filter_policy_scope: None,
                },
            };
            match p {
                SubscriptionRemoved => {
                    topic.subscriptions.pop();
                }
                FilterPolicyChanged => {
                    if let Some(s) = topic.subscriptions.first_mut() {
                        s.subscription.filter_policy = Some(json!({"k": ["v"]}));
                        s.subscription.filter_policy_scope = Some("MessageAttributes".into());
                    }
                }
                ExtraLambdaSubscription => topic.subscriptions.push(extra(
                    "lambda",
                    "arn:aws:lambda:eu-west-1:123456789012:function:stray",
                )),
                _ => topic
                    .subscriptions
                    .push(extra("email", "oncall@example.com")),
            }
        }
        _ => perturb_held(o, p),
    }
}

fn initial_world(foreign_on: &[usize]) -> Observed {
    let mut o = world_with_groups(GROUPS);
    for i in foreign_on {
        let group = GROUPS[i % GROUPS.len()];
        o.log_groups
            .get_mut(group)
            .unwrap()
            .push(SubscriptionFilter {
                name: format!("pre-existing-{i}"),
                pattern: String::new(),
                destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:pre".into(),
                role_arn: None,
                distribution: "ByLogStream".into(),
            });
    }
    o
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn executing_the_plan_after_any_perturbations_leaves_nothing_to_do(
        spec in arb_spec(),
        foreign_on in proptest::collection::btree_set(0..5usize, 0..3),
        perturbations in proptest::collection::vec(arb_perturbation(), 1..6),
    ) {
        let d = desired(&spec);
        let mut world = converge(&d, initial_world(&foreign_on.into_iter().collect::<Vec<_>>()));
        for p in &perturbations {
            perturb(&d, &mut world, p);
        }
        let first = plan(&d, &world);
        prop_assert_eq!(first.conflicts().count(), 0, "{:#?}", first);
        aws_model::execute_plan(&mut world, &first).map_err(|e| TestCaseError::fail(format!("{e}: {first:#?}")))?;
        let second = plan(&d, &world);
        prop_assert!(second.in_sync(), "after {:?}\nfirst plan: {:#?}\nsecond plan: {:#?}", perturbations, first, second);
    }

    #[test]
    fn a_pipeline_converged_for_one_spec_converges_to_any_other(a in arb_spec(), b in arb_spec()) {
        let (da, db) = (desired(&a), desired(&b));
        let mut world = converge(&da, initial_world(&[]));
        let p = plan(&db, &world);
        aws_model::execute_plan(&mut world, &p).map_err(|e| TestCaseError::fail(format!("{e}: {p:#?}")))?;
        let again = plan(&db, &world);
        prop_assert!(again.in_sync(), "from {:#?}\nto {:#?}\nplan {:#?}\nleft {:#?}", a, b, p, again);
    }

    #[test]
    fn planning_is_deterministic(spec in arb_spec(), perturbations in proptest::collection::vec(arb_perturbation(), 0..4)) {
        let d = desired(&spec);
        let mut world = converge(&d, initial_world(&[]));
        for p in &perturbations {
            perturb(&d, &mut world, p);
        }
        prop_assert_eq!(plan(&d, &world), plan(&d, &world));
    }
}

/// Field patterns a team might ignore, each matching differences the perturbations make.
const IGNORABLE: &[&str] = &[
    "BufferingHints.*",
    "Prefix",
    "CompressionFormat",
    "RoleARN",
    "ProcessingConfiguration.*",
    "Tags.*",
    "retentionInDays",
    "filterPattern",
    "destinationArn",
    "NotificationConfiguration[*].Filter.Prefix",
    "Rules[*].Expiration.Days",
    "FilterPolicy*",
    "Template.*",
    "PublicAccessBlockConfiguration.*",
    "BucketEncryption.*",
    "OwnershipControls.*",
    "PolicyDocument.Statement[*].Effect",
    "PolicyDocument.Statement[*].Principal",
    "AssumeRolePolicyDocument.*",
    "Policies.*",
    "ManagedPolicyArns*",
    "Statement[*].SourceAccount",
];

/// Every difference of a plan, with both values: `(kind, resource, field, desired, actual)`; an
/// action without fields counts as one difference named after its op.
type Difference = (String, String, String, Option<String>, Option<String>);

fn differences(plan: &pitagora::plan::Plan) -> std::collections::BTreeSet<Difference> {
    let mut out = std::collections::BTreeSet::new();
    for a in &plan.actions {
        if a.changes.is_empty() {
            out.insert((
                a.kind.to_string(),
                a.name.clone(),
                a.op.to_string(),
                None,
                None,
            ));
        }
        for c in &a.changes {
            out.insert((
                a.kind.to_string(),
                a.name.clone(),
                c.field.clone(),
                c.desired.clone(),
                c.actual.clone(),
            ));
        }
    }
    out
}

fn ignored_differences(plan: &pitagora::plan::Plan) -> std::collections::BTreeSet<Difference> {
    plan.ignored
        .iter()
        .filter(|i| i.rule != "another owner's statement: kept (spec.storage.bucketPolicy: Shared)")
        .map(|i| match &i.change {
            Some(c) => (
                i.kind.to_string(),
                i.name.clone(),
                c.field.clone(),
                c.desired.clone(),
                c.actual.clone(),
            ),
            None => (
                i.kind.to_string(),
                i.name.clone(),
                i.op.to_string(),
                None,
                None,
            ),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// What a plan shows is exactly what apply writes: executing a plan made under ignore rules
    /// changes exactly the differences it reports, and every ignored difference is still there
    /// afterwards with the value it had.
    #[test]
    fn executing_a_plan_changes_exactly_the_fields_it_reports(
        spec in arb_spec(),
        perturbations in proptest::collection::vec(arb_perturbation(), 1..6),
        rules in proptest::sample::subsequence(IGNORABLE.to_vec(), 1..4),
    ) {
        let plain = desired(&spec);
        let mut ignoring = plain.clone();
        ignoring.ignore = rules
            .iter()
            .map(|f| IgnoreRule { field: Some((*f).into()), ..IgnoreRule::default() })
            .collect();
        let mut world = converge(&plain, initial_world(&[]));
        for p in &perturbations {
            perturb(&plain, &mut world, p);
        }
        let every = plan(&plain, &world);
        prop_assume!(every.conflicts().count() == 0);
        let shown = plan(&ignoring, &world);
        let (before, hidden) = (differences(&every), ignored_differences(&shown));
        prop_assert_eq!(&before, &differences(&shown).union(&hidden).cloned().collect(), "ignoring partitions the differences: {:#?}", shown);
        aws_model::execute_plan(&mut world, &shown).map_err(|e| TestCaseError::fail(format!("{e}: {shown:#?}")))?;
        let after = differences(&plan(&plain, &world));
        prop_assert_eq!(&after, &hidden, "rules {:?} after {:?}\nplan: {:#?}", rules, perturbations, shown);
    }
}
