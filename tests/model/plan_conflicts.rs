//! Conflict kinds, specified: every conflict the planner produces carries its cause as a value,
//! and only ownership causes count as ownership conflicts.

use crate::common;

use common::*;
use pitagora::desired::Desired;
use pitagora::names::OWNER_TAG;
use pitagora::observed::{self, FilterLimitSource, Observed};
use pitagora::plan::{ConflictKind, Op, Plan, Step, Target, plan, plan_delete};
use pitagora::resources::*;
use serde_json::json;

/// The full chain, converged, with two ECS groups.
fn full_chain() -> (Desired, Observed) {
    let d = desired(&full_chain_spec());
    let o = converged(&d, &["/ecs/orders", "/ecs/payments"]);
    (d, o)
}

/// The kinds of the plan's conflicts, in plan order.
fn kinds(p: &Plan) -> Vec<ConflictKind> {
    p.conflicts()
        .map(|a| a.conflict().expect("a conflict carries its kind"))
        .collect()
}

fn filter(name: &str) -> SubscriptionFilter {
    SubscriptionFilter {
        name: name.into(),
        pattern: String::new(),
        destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:x".into(),
        role_arn: None,
        distribution: "ByLogStream".into(),
    }
}

#[test]
fn a_stream_tagged_for_another_pipeline_is_owned_by_another_pipeline() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    let stream = o.stream.as_mut().unwrap();
    stream.tags.insert(OWNER_TAG.into(), "team-b/orders".into());
    let p = plan(&d, &o);
    assert_eq!(kinds(&p), [ConflictKind::OwnedByOtherPipeline]);
    assert_eq!(
        p.actions[0].step,
        Target::Aws(Step::Conflict(ConflictKind::OwnedByOtherPipeline))
    );
    assert_eq!(p.ownership_conflicts().count(), 1);
}

#[test]
fn an_untagged_error_log_group_is_untagged() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.error_log_group.as_mut().unwrap().tags.clear();
    let p = plan(&d, &o);
    assert_eq!(kinds(&p), [ConflictKind::Untagged]);
    assert_eq!(p.ownership_conflicts().count(), 1);
}

#[test]
fn a_retained_bucket_without_its_stack_is_an_orphaned_bucket() {
    let (d, mut o) = full_chain();
    o.stack = None;
    o.topic = None;
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::OrphanedBucket]);
}

#[test]
fn a_bucket_without_its_stack_is_orphaned_when_tagged_as_the_pipelines_and_foreign_otherwise() {
    let (d, mut o) = full_chain();
    o.stack = None;
    o.topic = None;
    let ours = [(OWNER_TAG.to_owned(), d.id.owner_tag_value())].into();
    let cases = [
        (None, false, ConflictKind::OrphanedBucket),
        (Some(ours), false, ConflictKind::OrphanedBucket),
        (Some(Tags::new()), false, ConflictKind::ForeignBucket),
        (Some(Tags::new()), true, ConflictKind::OrphanedBucket),
        (
            Some([(OWNER_TAG.to_owned(), "team-b/orders".to_owned())].into()),
            true,
            ConflictKind::ForeignBucket,
        ),
    ];
    for (tags, adopt_existing, kind) in cases {
        o.bucket.as_mut().unwrap().tags = tags.clone();
        let d = Desired {
            adopt_existing,
            ..d.clone()
        };
        assert_eq!(
            kinds(&plan(&d, &o)),
            [kind],
            "{tags:?}, adopt {adopt_existing}"
        );
    }
}

#[test]
fn a_failed_update_rollback_is_a_failed_stack() {
    let (d, mut o) = full_chain();
    o.stack.as_mut().unwrap().status = "UPDATE_ROLLBACK_FAILED".into();
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::StackFailed]);
}

#[test]
fn a_bucket_deleted_behind_cloudformations_back_is_deleted_out_of_band() {
    let (d, mut o) = full_chain();
    o.bucket = None;
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::DeletedOutOfBand]);
}

#[test]
fn a_topic_deleted_behind_cloudformations_back_is_deleted_out_of_band() {
    let (d, mut o) = full_chain();
    o.topic = None;
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::DeletedOutOfBand]);
}

#[test]
fn a_stream_whose_deletion_failed_is_a_stream_delete_failure() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stream.as_mut().unwrap().status = "DELETING_FAILED".into();
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::StreamDeleteFailed]);
}

#[test]
fn a_group_holding_as_many_filters_as_aws_allowed_is_the_filter_limit() {
    let (d, mut o) = full_chain();
    o.filter_limit = observed::FilterLimit::refused("/ecs/elsewhere", 2);
    o.log_groups
        .insert("/ecs/crowded".into(), vec![filter("a"), filter("b")]);
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::FilterLimit]);
}

#[test]
fn two_filters_leave_a_slot_until_aws_says_otherwise() {
    // CloudWatch Logs' documented limit is no longer two: a third filter is put, and only AWS's
    // refusal would make it a conflict.
    let (d, mut o) = full_chain();
    o.log_groups
        .insert("/ecs/crowded".into(), vec![filter("a"), filter("b")]);
    let p = plan(&d, &o);
    assert_eq!(kinds(&p), []);
    let put = p
        .writes()
        .find(|a| a.name == "/ecs/crowded")
        .expect("the filter is put");
    assert_eq!(
        (put.op, put.kind),
        (Op::Create, ResourceKind::SubscriptionFilter)
    );
}

#[test]
fn the_filter_limit_names_the_filters_their_pipelines_and_where_the_limit_comes_from() {
    let (d, mut o) = full_chain();
    o.filter_limit = observed::FilterLimit::refused("/ecs/elsewhere", 2);
    let other = pitagora::desired::from_spec(
        &pitagora::names::PipelineId::new("team-b", "audit"),
        &minimal_spec(),
        ACCOUNT,
        REGION,
    )
    .unwrap();
    o.log_groups.insert(
        "/ecs/crowded".into(),
        vec![filter("audit-shipper"), filter(&other.filters.filter.name)],
    );
    let p = plan(&d, &o);
    let reason = &p.conflicts().next().expect("a conflict").reason;
    for part in [
        "holds 2",
        "audit-shipper: not pitagora's",
        &format!(
            "{}: pitagora pipeline team-b-audit",
            other.filters.filter.name
        ),
        "2 per group, as AWS answered (LimitExceededException) on /ecs/elsewhere",
    ] {
        assert!(reason.contains(part), "{part:?} in {reason}");
    }
}

#[test]
fn a_group_seen_holding_more_filters_than_the_limit_raises_it() {
    let groups: std::collections::BTreeMap<String, Vec<SubscriptionFilter>> = [
        ("/a".to_owned(), vec![filter("1"), filter("2"), filter("3")]),
        ("/b".to_owned(), vec![filter("1")]),
    ]
    .into();
    let raised = observed::FilterLimit::refused("/c", 2).raised_by(&groups);
    assert_eq!(raised.per_group, 3);
    assert_eq!(
        raised.source,
        FilterLimitSource::Seen {
            log_group: "/a".into()
        }
    );
    let kept = observed::FilterLimit::configured(5).raised_by(&groups);
    assert_eq!(kept, observed::FilterLimit::configured(5));
}

/// A pipeline not created yet, reading `groups` (each with these filters) as its sources.
fn new_pipeline_on(groups: &[(&str, usize)]) -> (Desired, Observed) {
    let names: Vec<&str> = groups.iter().map(|(g, _)| *g).collect();
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [{}]\n",
        names.join(", ")
    )));
    let mut o = Observed {
        filter_limit: observed::FilterLimit::refused("/ecs/elsewhere", 2),
        ..Observed::default()
    };
    for (group, n) in groups {
        let filters = (0..*n).map(|i| filter(&format!("other-{i}"))).collect();
        o.log_groups.insert((*group).to_owned(), filters);
    }
    (d, o)
}

#[test]
fn a_new_pipeline_whose_every_source_is_full_is_refused_whole_writing_nothing() {
    let (d, o) = new_pipeline_on(&[("/ecs/orders", 2), ("/ecs/payments", 3)]);
    let p = plan(&d, &o);
    assert_eq!(p.writes().count(), 0, "{p:#?}");
    assert_eq!(
        kinds(&p),
        [
            ConflictKind::NoFreeFilterSlot,
            ConflictKind::FilterLimit,
            ConflictKind::FilterLimit
        ]
    );
    let refusal = p.conflicts().next().unwrap();
    assert_eq!(
        (refusal.kind, refusal.name.as_str()),
        (ResourceKind::Stack, d.stack.name.as_str())
    );
    assert!(
        refusal
            .reason
            .contains("/ecs/orders holds 2 (other-0: not pitagora's, other-1: not pitagora's); /ecs/payments holds 3"),
        "{}",
        refusal.reason
    );
}

#[test]
fn a_new_pipeline_is_refused_only_when_no_source_can_be_subscribed() {
    let refused = |groups: &[(&str, usize)]| {
        let (d, o) = new_pipeline_on(groups);
        kinds(&plan(&d, &o)).contains(&ConflictKind::NoFreeFilterSlot)
    };
    // (sources and the filters each holds, refused?)
    let table: &[(&[(&str, usize)], bool)] = &[
        (&[("/ecs/orders", 2)], true),
        (&[("/ecs/orders", 2), ("/ecs/payments", 1)], false),
        (&[("/ecs/orders", 1)], false),
    ];
    for (groups, want) in table {
        assert_eq!(refused(groups), *want, "{groups:?}");
    }
    // A source that does not exist yet is subscribed once it does: the pipeline waits for it.
    let (d, mut o) = new_pipeline_on(&[("/ecs/orders", 2), ("/ecs/payments", 0)]);
    o.log_groups.remove("/ecs/payments");
    assert!(!kinds(&plan(&d, &o)).contains(&ConflictKind::NoFreeFilterSlot));
}

#[test]
fn an_existing_pipeline_whose_sources_filled_up_is_not_refused() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.filter_limit = observed::FilterLimit::refused("/ecs/elsewhere", 2);
    o.log_groups
        .insert("/ecs/orders".into(), vec![filter("a"), filter("b")]);
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::FilterLimit]);
}

#[test]
fn an_overlapping_foreign_notification_is_a_notification_overlap() {
    let (d, mut o) = full_chain();
    let bucket = o.bucket.as_mut().unwrap();
    bucket
        .notifications
        .retain(|n| n.id != d.names.transform_notification_id);
    bucket.notifications.push(Notification {
        id: "someone-elses".into(),
        target: NotificationTarget::Queue("arn:aws:sqs:eu-west-1:123456789012:q".into()),
        events: vec!["s3:ObjectCreated:Put".into()],
        prefix: "raw/2026/".into(),
        suffix: String::new(),
    });
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::NotificationOverlap]);
}

#[test]
fn a_missing_source_log_group_is_a_missing_source() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.log_groups.clear();
    assert_eq!(kinds(&plan(&d, &o)), [ConflictKind::MissingSource]);
}

#[test]
fn deleting_leaves_another_pipelines_stream_in_place_as_an_ownership_conflict() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stream
        .as_mut()
        .unwrap()
        .tags
        .insert(OWNER_TAG.into(), "team-b/x".into());
    let p = plan_delete(&d, &o);
    assert_eq!(kinds(&p), [ConflictKind::OwnedByOtherPipeline]);
    let a = p
        .ownership_conflicts()
        .next()
        .expect("an ownership conflict");
    assert_eq!(a.kind, ResourceKind::DeliveryStream);
}

#[test]
fn deleting_leaves_an_untagged_stack_in_place_as_an_ownership_conflict() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stack.as_mut().unwrap().tags.clear();
    let p = plan_delete(&d, &o);
    assert_eq!(kinds(&p), [ConflictKind::Untagged]);
    assert_eq!(p.ownership_conflicts().count(), 1);
}

#[test]
fn only_ownership_causes_are_ownership_conflicts() {
    let (d, mut o) = full_chain();
    o.filter_limit = observed::FilterLimit::refused("/ecs/elsewhere", 2);
    o.log_groups
        .insert("/ecs/crowded".into(), vec![filter("a"), filter("b")]);
    let p = plan(&d, &o);
    assert_eq!(p.conflicts().count(), 1);
    assert_eq!(p.ownership_conflicts().count(), 0);
    use ConflictKind::*;
    let ownership: Vec<ConflictKind> = [
        OwnedByOtherPipeline,
        Untagged,
        OrphanedBucket,
        ForeignBucket,
        StackFailed,
        DeletedOutOfBand,
        StreamDeleteFailed,
        FilterLimit,
        NoFreeFilterSlot,
        NotificationOverlap,
        MissingSource,
    ]
    .into_iter()
    .filter(|k| k.is_ownership())
    .collect();
    assert_eq!(ownership, [OwnedByOtherPipeline, Untagged, ForeignBucket]);
}

#[test]
fn labels_are_the_variant_names() {
    use ConflictKind::*;
    for kind in [
        OwnedByOtherPipeline,
        Untagged,
        OrphanedBucket,
        ForeignBucket,
        StackFailed,
        DeletedOutOfBand,
        StreamDeleteFailed,
        FilterLimit,
        NoFreeFilterSlot,
        NotificationOverlap,
        MissingSource,
        NeedsReplacement,
        AppliedByAnotherManager,
        RoutesOverlap,
        ForeignKey,
    ] {
        assert_eq!(kind.as_str(), format!("{kind:?}"));
        assert_eq!(kind.to_string(), kind.as_str());
    }
}

#[test]
fn only_conflicts_carry_a_kind_and_they_write_nothing() {
    let (d, mut o) = full_chain();
    set_buffer_size(&mut o, 99);
    o.log_groups.clear();
    let p = plan(&d, &o);
    for a in &p.actions {
        assert_eq!(a.conflict().is_some(), a.op == Op::Conflict, "{a:#?}");
        assert_eq!(a.writes(), a.conflict().is_none(), "{a:#?}");
    }
}

#[test]
fn a_conflict_step_serialises_with_its_kind() {
    let step = Step::Conflict(ConflictKind::FilterLimit);
    assert_eq!(
        serde_json::to_value(&step).unwrap(),
        json!({"step": "conflict", "kind": "FilterLimit"})
    );
}
