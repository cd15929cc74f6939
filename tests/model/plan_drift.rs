//! The plan, specified: converged state plans nothing; each single out-of-band difference yields
//! exactly the one action that fixes it, naming the field; normalisation hides what AWS merely
//! re-spells.

use crate::common;

use common::*;
use pitagora::desired::Desired;
use pitagora::observed::{FilterLimit, Observed, ObservedSubscription};
use pitagora::plan::{Action, Op, Plan, Step, Target, plan};
use pitagora::resources::*;
use pitagora::spec::LogPipelineSpec;
use serde_json::json;

/// The full chain, converged, with two ECS groups and an unrelated group.
fn full_chain() -> (Desired, Observed) {
    let d = desired(&full_chain_spec());
    let o = converged(&d, &["/ecs/orders", "/ecs/payments", "/other/app"]);
    (d, o)
}

/// The plan's single action; fails with the whole plan otherwise.
fn single(p: &Plan) -> &Action {
    assert_eq!(
        p.actions.len(),
        1,
        "expected exactly one action, got {:#?}",
        p.actions
    );
    &p.actions[0]
}

fn fields(a: &Action) -> Vec<&str> {
    a.changes.iter().map(|c| c.field.as_str()).collect()
}

fn stream_destination(o: &mut Observed) -> &mut S3Destination {
    o.stream.as_mut().unwrap().destination.as_mut().unwrap()
}

#[test]
fn converged_minimal_pipeline_plans_nothing() {
    let d = desired(&minimal_spec());
    let o = converged(&d, &["/ecs/orders"]);
    let p = plan(&d, &o);
    assert!(p.in_sync(), "{:#?}", p);
}

#[test]
fn converged_full_chain_plans_nothing() {
    let (d, o) = full_chain();
    assert!(plan(&d, &o).in_sync());
}

#[test]
fn empty_account_creates_everything_in_dependency_order() {
    let (d, _) = full_chain();
    let canary = d.canary_log_group.as_ref().unwrap().name.clone();
    assert_eq!(canary, format!("/ecs/{}-canary", d.names.stream));
    let p = plan(
        &d,
        &world_with_groups(&["/ecs/orders", "/ecs/payments", "/other/app"]),
    );
    let order: Vec<(Op, ResourceKind, &str)> = p
        .actions
        .iter()
        .map(|a| (a.op, a.kind, a.name.as_str()))
        .collect();
    use ResourceKind::*;
    assert_eq!(
        order,
        vec![
            (Op::Create, Stack, d.names.stack.as_str()),
            (Op::Create, ErrorLogGroup, d.names.error_log_group.as_str()),
            (Op::Create, CanaryLogGroup, canary.as_str()),
            (Op::Create, DeliveryStream, d.names.stream.as_str()),
            (Op::Create, BucketNotification, d.names.bucket.as_str()),
            (Op::Create, BucketLifecycle, d.names.bucket.as_str()),
            (Op::Create, TopicSubscription, "es-forwarder"),
            (Op::Create, TopicSubscription, "slack-notifier"),
            (Op::Create, SubscriptionFilter, "/ecs/orders"),
            (Op::Create, SubscriptionFilter, "/ecs/payments"),
            // The canary group, created in the same plan, carries the filter from the start.
            (Op::Create, SubscriptionFilter, canary.as_str()),
        ]
    );
}

#[test]
fn buffering_size_changed_out_of_band_updates_the_stream_naming_the_field() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).buffering.size_mib = 64;
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::DeliveryStream));
    assert_eq!(fields(a), ["BufferingHints.SizeInMBs"]);
    let c = &a.changes[0];
    assert_eq!(
        (c.desired.as_deref(), c.actual.as_deref()),
        (Some("16"), Some("64"))
    );
    assert_eq!(
        c.spec_field.as_deref(),
        Some("spec.delivery.buffering.sizeMiB")
    );
    assert!(matches!(
        &a.step,
        Target::Aws(Step::UpdateStream {
            destination: true,
            tags: false,
            ..
        })
    ));
}

#[test]
fn buffering_interval_changed_out_of_band_updates_the_stream() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).buffering.interval_seconds = 900;
    assert_eq!(
        fields(single(&plan(&d, &o))),
        ["BufferingHints.IntervalInSeconds"]
    );
}

#[test]
fn processing_disabled_out_of_band_is_reported_against_the_record_format() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).processing_enabled = false;
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(fields(a), ["ProcessingConfiguration.Enabled"]);
    assert_eq!(
        a.changes[0].spec_field.as_deref(),
        Some("spec.delivery.recordFormat")
    );
}

#[test]
fn a_removed_processor_updates_the_processor_list() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).processors.pop();
    assert_eq!(
        fields(single(&plan(&d, &o))),
        ["ProcessingConfiguration.Processors"]
    );
}

#[test]
fn compression_changed_out_of_band_updates_the_stream() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).compression = "UNCOMPRESSED".into();
    assert_eq!(fields(single(&plan(&d, &o))), ["CompressionFormat"]);
}

#[test]
fn error_logging_disabled_out_of_band_updates_the_stream() {
    let (d, mut o) = full_chain();
    stream_destination(&mut o).cloudwatch_logging.enabled = false;
    assert_eq!(fields(single(&plan(&d, &o))), ["CloudWatchLoggingOptions"]);
}

#[test]
fn deleted_stream_is_created_again() {
    let (d, mut o) = full_chain();
    o.stream = None;
    let a = single(&plan(&d, &o)).clone();
    assert_eq!((a.op, a.kind), (Op::Create, ResourceKind::DeliveryStream));
    assert!(matches!(a.step, Target::Aws(Step::CreateStream(ref s)) if s.name == d.names.stream));
}

#[test]
fn missing_managed_by_tag_on_the_stream_only_retags_it() {
    let (d, mut o) = full_chain();
    o.stream
        .as_mut()
        .unwrap()
        .tags
        .remove("app.kubernetes.io/managed-by");
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(fields(a), ["Tags.app.kubernetes.io/managed-by"]);
    assert!(matches!(
        &a.step,
        Target::Aws(Step::UpdateStream {
            destination: false,
            tags: true,
            ..
        })
    ));
}

#[test]
fn deleted_filter_is_created_again_on_that_group_only() {
    let (d, mut o) = full_chain();
    o.log_groups.get_mut("/ecs/payments").unwrap().clear();
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (
            Op::Create,
            ResourceKind::SubscriptionFilter,
            "/ecs/payments"
        )
    );
    assert!(
        matches!(&a.step, Target::Aws(Step::PutFilter { log_group, filter }) if log_group == "/ecs/payments" && filter.name == d.names.filter)
    );
}

#[test]
fn filter_pattern_changed_out_of_band_puts_the_filter_again() {
    let (d, mut o) = full_chain();
    o.log_groups.get_mut("/ecs/orders").unwrap()[0].pattern = "ERROR".into();
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, fields(a)), (Op::Update, vec!["filterPattern"]));
    assert_eq!(
        a.changes[0].spec_field.as_deref(),
        Some("spec.sources.filterPattern")
    );
}

#[test]
fn filter_destination_changed_out_of_band_puts_the_filter_again() {
    let (d, mut o) = full_chain();
    o.log_groups.get_mut("/ecs/orders").unwrap()[0].destination_arn =
        "arn:aws:firehose:eu-west-1:123456789012:deliverystream/elsewhere".into();
    assert_eq!(fields(single(&plan(&d, &o))), ["destinationArn"]);
}

#[test]
fn a_new_log_group_under_a_prefix_gets_its_filter() {
    let (d, mut o) = full_chain();
    o.log_groups.insert("/ecs/new-service".into(), Vec::new());
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.name.as_str()), (Op::Create, "/ecs/new-service"));
}

#[test]
fn a_group_that_is_no_longer_a_source_loses_this_pipelines_filter() {
    let (d, mut o) = full_chain();
    let ours = o.log_groups["/ecs/orders"][0].clone();
    o.log_groups.insert("/other/app".into(), vec![ours]);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.name.as_str()), (Op::Delete, "/other/app"));
    assert!(
        matches!(&a.step, Target::Aws(Step::DeleteFilter { name, .. }) if *name == d.names.filter)
    );
}

#[test]
fn foreign_filters_are_never_touched() {
    let (d, mut o) = full_chain();
    let foreign = SubscriptionFilter {
        name: "team-b-shipper".into(),
        pattern: String::new(),
        destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:shipper".into(),
        role_arn: None,
        distribution: "ByLogStream".into(),
    };
    o.log_groups
        .get_mut("/ecs/orders")
        .unwrap()
        .push(foreign.clone());
    o.log_groups.get_mut("/other/app").unwrap().push(foreign);
    assert!(plan(&d, &o).in_sync());
}

#[test]
fn a_group_full_of_foreign_filters_is_a_conflict_not_a_delete() {
    let (d, mut o) = full_chain();
    o.filter_limit = FilterLimit::refused("/ecs/other", 2);
    let filter = |name: &str| SubscriptionFilter {
        name: name.into(),
        pattern: String::new(),
        destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:x".into(),
        role_arn: None,
        distribution: "ByLogStream".into(),
    };
    o.log_groups
        .insert("/ecs/crowded".into(), vec![filter("a"), filter("b")]);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.name.as_str()), (Op::Conflict, "/ecs/crowded"));
    assert!(
        a.reason
            .contains("holds 2 (a: not pitagora's, b: not pitagora's)"),
        "{}",
        a.reason
    );
    assert!(!a.writes());
}

#[test]
fn a_missing_exact_source_log_group_is_a_conflict() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.log_groups.clear();
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Conflict, ResourceKind::LogGroup, "/ecs/orders")
    );
}

#[test]
fn removed_notifications_are_created_again() {
    let (d, mut o) = full_chain();
    o.bucket.as_mut().unwrap().notifications.clear();
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind),
        (Op::Create, ResourceKind::BucketNotification)
    );
    assert!(
        matches!(&a.step, Target::Aws(Step::PutNotifications { entries, .. }) if entries.len() == 2)
    );
}

#[test]
fn one_removed_notification_updates_naming_its_id() {
    let (d, mut o) = full_chain();
    let id = d.names.fanout_notification_id.clone();
    o.bucket
        .as_mut()
        .unwrap()
        .notifications
        .retain(|n| n.id != id);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(a.op, Op::Update);
    assert_eq!(fields(a), [format!("NotificationConfiguration[{id}]")]);
}

#[test]
fn a_foreign_notification_on_another_prefix_is_left_alone() {
    let (d, mut o) = full_chain();
    o.bucket.as_mut().unwrap().notifications.push(Notification {
        id: "audit-export".into(),
        target: NotificationTarget::Queue("arn:aws:sqs:eu-west-1:123456789012:audit".into()),
        events: vec!["s3:ObjectCreated:*".into()],
        prefix: "exports/".into(),
        suffix: String::new(),
    });
    assert!(plan(&d, &o).in_sync());
}

#[test]
fn a_foreign_notification_overlapping_ours_is_a_conflict() {
    let (d, mut o) = full_chain();
    o.bucket
        .as_mut()
        .unwrap()
        .notifications
        .retain(|n| n.id != d.names.transform_notification_id);
    o.bucket.as_mut().unwrap().notifications.push(Notification {
        id: "someone-elses".into(),
        target: NotificationTarget::Queue("arn:aws:sqs:eu-west-1:123456789012:q".into()),
        events: vec!["s3:ObjectCreated:Put".into()],
        prefix: "raw/2026/".into(),
        suffix: String::new(),
    });
    let p = plan(&d, &o);
    assert!(
        p.writes()
            .all(|a| a.kind != ResourceKind::BucketNotification)
    );
    let conflict = p.conflicts().next().expect("a conflict");
    assert_eq!(conflict.kind, ResourceKind::BucketNotification);
    assert!(conflict.reason.contains("someone-elses"));
}

#[test]
fn changed_retention_updates_the_lifecycle_rule() {
    let (d, mut o) = full_chain();
    o.bucket.as_mut().unwrap().lifecycle[0].expiration_days = Some(7);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::BucketLifecycle));
    assert_eq!(
        fields(a),
        [format!(
            "Rules[{}].Expiration.Days",
            d.names.lifecycle_rule_id
        )]
    );
    assert_eq!(
        a.changes[0].spec_field.as_deref(),
        Some("spec.storage.retentionDays")
    );
}

#[test]
fn foreign_lifecycle_rules_are_kept() {
    let (d, mut o) = full_chain();
    o.bucket.as_mut().unwrap().lifecycle.push(LifecycleRule {
        id: "legal-hold-cleanup".into(),
        prefix: "tmp/".into(),
        enabled: true,
        expiration_days: Some(1),
        noncurrent_days: None,
        transitions: vec![],
    });
    assert!(plan(&d, &o).in_sync());
}

#[test]
fn a_lifecycle_rule_no_longer_wanted_is_deleted() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.bucket.as_mut().unwrap().lifecycle.push(LifecycleRule {
        id: d.names.lifecycle_rule_id.clone(),
        prefix: String::new(),
        enabled: true,
        expiration_days: Some(30),
        noncurrent_days: None,
        transitions: vec![],
    });
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Delete, ResourceKind::BucketLifecycle));
    assert!(matches!(&a.step, Target::Aws(Step::PutLifecycle { rules, .. }) if rules.is_empty()));
}

#[test]
fn a_removed_subscription_is_subscribed_again() {
    let (d, mut o) = full_chain();
    o.topic.as_mut().unwrap().subscriptions.remove(0);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Create, ResourceKind::TopicSubscription, "es-forwarder")
    );
}

#[test]
fn a_changed_filter_policy_is_set_again() {
    let (d, mut o) = full_chain();
    let sub = o
        .topic
        .as_mut()
        .unwrap()
        .subscriptions
        .iter_mut()
        .find(|s| s.subscription.filter_policy.is_some())
        .unwrap();
    sub.subscription.filter_policy = Some(json!({"anything": ["else"]}));
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.name.as_str()), (Op::Update, "slack-notifier"));
    assert_eq!(fields(a), ["FilterPolicy"]);
    assert_eq!(
        a.changes[0].spec_field.as_deref(),
        Some("spec.fanout.subscribers[slack-notifier].filterPolicy")
    );
}

#[test]
fn an_undeclared_lambda_subscription_is_removed_but_other_protocols_stay() {
    let (d, mut o) = full_chain();
    let topic = o.topic.as_mut().unwrap();
    for (arn, protocol, endpoint) in [
        (
            "arn:aws:sns:eu-west-1:123456789012:t:1",
            "lambda",
            "arn:aws:lambda:eu-west-1:123456789012:function:stray",
        ),
        (
            "arn:aws:sns:eu-west-1:123456789012:t:2",
            "email",
            "oncall@example.com",
        ),
    ] {
        topic.subscriptions.push(ObservedSubscription {
            arn: arn.into(),
            subscription: TopicSubscription {
                protocol: protocol.into(),
                endpoint: endpoint.into(),
                filter_policy: None,
                filter_policy_scope: None,
            },
        });
    }
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind),
        (Op::Delete, ResourceKind::TopicSubscription)
    );
    assert!(matches!(&a.step, Target::Aws(Step::Unsubscribe { arn }) if arn.ends_with(":1")));
}

#[test]
fn deleted_stack_is_created_again_when_its_bucket_went_with_it() {
    let mut spec = full_chain_spec();
    spec.storage.deletion_policy = pitagora::spec::DeletionPolicy::Delete;
    let d = desired(&spec);
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stack = None;
    o.topic = None;
    o.bucket = None;
    let p = plan(&d, &o);
    assert_eq!(
        (p.actions[0].op, p.actions[0].kind),
        (Op::Create, ResourceKind::Stack)
    );
    // The recreated bucket and topic are empty: notifications, lifecycle and subscriptions follow.
    let kinds: Vec<ResourceKind> = p.actions[1..].iter().map(|a| a.kind).collect();
    use ResourceKind::*;
    assert_eq!(
        kinds,
        [
            BucketNotification,
            BucketLifecycle,
            TopicSubscription,
            TopicSubscription
        ]
    );
}

#[test]
fn deleted_stack_whose_bucket_was_retained_is_a_conflict_naming_the_bucket() {
    let (d, mut o) = full_chain();
    o.stack = None;
    o.topic = None;
    let p = plan(&d, &o);
    let conflict = p.conflicts().next().expect("a conflict");
    assert_eq!(conflict.kind, ResourceKind::Stack);
    assert!(conflict.reason.contains(&d.names.bucket) && conflict.reason.contains("import"));
    assert!(!p.writes().any(|a| a.kind == ResourceKind::Stack));
}

#[test]
fn a_hand_edited_template_updates_the_stack_naming_the_property() {
    let (d, mut o) = full_chain();
    let template = o.stack.as_mut().unwrap().template.as_mut().unwrap();
    template["Resources"]["Bucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] =
        json!(false);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::Stack));
    assert_eq!(
        fields(a),
        ["Template.Resources.Bucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy"]
    );
}

#[test]
fn a_difference_inside_a_template_list_is_named_at_its_leaf_with_both_values() {
    let (d, mut o) = full_chain();
    let template = o.stack.as_mut().unwrap().template.as_mut().unwrap();
    let objects = &mut template["Resources"]["DeliveryRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][1]["Resource"][0];
    let declared = objects.as_str().unwrap().to_owned();
    *objects = json!("arn:aws:s3:::elsewhere/*");
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::Stack));
    let c = &a.changes[..];
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].field,
        "Template.Resources.DeliveryRole.Properties.Policies[0].PolicyDocument.Statement[1].Resource[0]"
    );
    assert_eq!(
        (c[0].desired.as_deref(), c[0].actual.as_deref()),
        (Some(declared.as_str()), Some("arn:aws:s3:::elsewhere/*"))
    );
}

#[test]
fn an_element_added_to_a_template_list_is_reported_alone() {
    let (d, mut o) = full_chain();
    let template = o.stack.as_mut().unwrap().template.as_mut().unwrap();
    let statements = template["Resources"]["DeliveryRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap();
    statements.push(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
    let n = statements.len() - 1;
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        fields(a),
        [format!(
            "Template.Resources.DeliveryRole.Properties.Policies[0].PolicyDocument.Statement[{n}]"
        )]
    );
    assert_eq!(a.changes[0].desired, None, "not declared");
    assert!(
        a.changes[0]
            .actual
            .as_deref()
            .unwrap()
            .contains(r#""Action":"*""#)
    );
}

#[test]
fn a_stack_mid_operation_is_pending_not_acted_on() {
    let (d, mut o) = full_chain();
    o.stack.as_mut().unwrap().status = "UPDATE_IN_PROGRESS".into();
    o.stack.as_mut().unwrap().template.as_mut().unwrap()["Description"] = json!("changed");
    let p = plan(&d, &o);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(p.pending.len(), 1);
    assert!(!p.in_sync());
}

#[test]
fn a_rolled_back_creation_is_deleted_then_created() {
    let (d, mut o) = full_chain();
    let stack = o.stack.as_mut().unwrap();
    stack.status = "ROLLBACK_COMPLETE".into();
    stack.status_reason = Some("The following resource(s) failed to create: [LogsRole]".into());
    // The rollback removed what the creation had made.
    o.bucket = None;
    o.topic = None;
    let p = plan(&d, &o);
    let stack_actions: Vec<Op> = p
        .actions
        .iter()
        .filter(|a| a.kind == ResourceKind::Stack)
        .map(|a| a.op)
        .collect();
    assert_eq!(stack_actions, [Op::Delete, Op::Create]);
    assert!(p.actions[0].reason.contains("failed to create: [LogsRole]"));
}

#[test]
fn a_failed_update_rollback_is_a_conflict_with_the_remedy() {
    let (d, mut o) = full_chain();
    o.stack.as_mut().unwrap().status = "UPDATE_ROLLBACK_FAILED".into();
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(a.op, Op::Conflict);
    assert!(a.reason.contains("continue-update-rollback"));
}

#[test]
fn a_bucket_deleted_behind_cloudformations_back_is_a_conflict() {
    let (d, mut o) = full_chain();
    o.bucket = None;
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!((a.op, a.kind), (Op::Conflict, ResourceKind::Stack));
    assert!(a.reason.contains(&d.names.bucket));
}

#[test]
fn changed_error_log_retention_is_restored() {
    let (d, mut o) = full_chain();
    o.error_log_group.as_mut().unwrap().retention_days = None;
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind, fields(a)),
        (
            Op::Update,
            ResourceKind::ErrorLogGroup,
            vec!["retentionInDays"]
        )
    );
}

#[test]
fn aws_spellings_of_the_same_values_are_not_drift() {
    let (d, mut o) = full_chain();
    // ARN variants, whitespace and key order in JSON, event list order and duplicates, and
    // processor parameters AWS fills in.
    for s in &mut o.topic.as_mut().unwrap().subscriptions {
        s.subscription.endpoint.push_str(":$LATEST");
        if let Some(policy) = &s.subscription.filter_policy {
            s.subscription.filter_policy = Some(json!(format!(
                "  {}  ",
                serde_json::to_string_pretty(policy).unwrap()
            )));
        }
    }
    for f in o.log_groups.values_mut().flatten() {
        f.destination_arn = format!(" {}", f.destination_arn);
    }
    for n in &mut o.bucket.as_mut().unwrap().notifications {
        n.events.push("s3:ObjectCreated:*".into());
    }
    let dest = stream_destination(&mut o);
    dest.processors[2]
        .parameters
        .insert("Delimiter".into(), "\\n".into());
    dest.processors[1]
        .parameters
        .insert("DataMessageExtraction".into(), "True".into());
    let p = plan(&d, &o);
    assert!(p.in_sync(), "{:#?}", p.actions);
}

#[test]
fn report_policy_plans_the_same_actions_marked_report_only() {
    let mut spec = full_chain_spec();
    let correcting = desired(&spec);
    spec.drift.policy = pitagora::spec::DriftPolicy::Report;
    let reporting = desired(&spec);
    let mut o = converged(&correcting, &["/ecs/orders"]);
    stream_destination(&mut o).buffering.size_mib = 1;
    let (a, b) = (plan(&correcting, &o), plan(&reporting, &o));
    assert!(!a.report_only && b.report_only);
    assert_eq!(a.actions, b.actions);
}

#[test]
fn removals_come_first_in_reverse_order_then_the_rest_forward() {
    // Drop the fan-out and the transform from a converged full chain, and change buffering.
    let (before, o) = full_chain();
    let mut spec = full_chain_spec();
    spec.fanout = None;
    spec.transform = None;
    spec.storage.retention_days = None;
    spec.storage.transition = None;
    spec.delivery.buffering.size_mib = 32;
    let after = desired(&spec);
    assert_eq!(before.names, after.names);
    let p = plan(&after, &o);
    let order: Vec<(Op, ResourceKind)> = p.actions.iter().map(|a| (a.op, a.kind)).collect();
    use ResourceKind::*;
    assert_eq!(
        order,
        vec![
            (Op::Delete, BucketLifecycle),
            (Op::Delete, BucketNotification),
            (Op::Update, Stack),
            (Op::Update, DeliveryStream),
        ]
    );
}

/// The example beside fluentd, converged from an account where its routes' log groups did not
/// exist (pitagora created them with its tags).
fn routes_converged(spec: &LogPipelineSpec) -> (Desired, Observed) {
    let d = desired(spec);
    let o = converge(&d, world_with_groups(&[]));
    (d, o)
}

#[test]
fn a_retention_changed_by_hand_on_a_route_log_group_pitagora_created_is_restored() {
    let (d, mut o) = routes_converged(&beside_fluentd_spec());
    let group = "/ecs/payments-worker";
    o.route_log_groups.get_mut(group).unwrap().retention_days = Some(3653);
    let p = plan(&d, &o);
    let a = single(&p);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Update, ResourceKind::RouteLogGroup, group)
    );
    assert_eq!(fields(a), ["retentionInDays"]);
    assert_eq!(
        a.changes[0].spec_field.as_deref(),
        Some("spec.legacy.fluentd.logGroupRetentionDays")
    );
    assert!(matches!(
        &a.step,
        Target::Aws(Step::UpdateLogGroup { group, retention: true, tags: false }) if group.retention_days == 30
    ));
}

#[test]
fn an_ignore_rule_keeps_a_route_log_groups_retention_as_it_is() {
    let mut spec = beside_fluentd_spec();
    spec.drift.ignore = vec![pitagora::spec::IgnoreRule {
        kind: Some("RouteLogGroup".into()),
        field: Some("spec.legacy.fluentd.logGroupRetentionDays".into()),
        reason: Some("kept a year for the audit".into()),
        ..Default::default()
    }];
    let (d, mut o) = routes_converged(&spec);
    o.route_log_groups
        .get_mut("/ecs/payments-api")
        .unwrap()
        .retention_days = Some(365);
    let p = plan(&d, &o);
    assert!(p.in_sync(), "{:#?}", p.actions);
    assert_eq!(p.ignored.len(), 1);
    assert_eq!(p.ignored[0].kind, ResourceKind::RouteLogGroup);
}
