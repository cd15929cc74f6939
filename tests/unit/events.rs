//! Changes that arrive as events, the pure side: a CloudTrail event read into the call, place,
//! actor and resources it names; the pipelines those resources belong to; pitagora's own calls
//! recognised; many changes coalesced into one pending check; the rule and queue each account
//! and region holds.

use crate::common;

use common::{ACCOUNT, REGION, desired, full_chain_spec, minimal_spec, spec};
use pitagora::events::cloudtrail::Skip;
use pitagora::events::inbox::{Offer, SETTLE_MS};
use pitagora::events::rule::{EventsSpec, IAM_EVENTS_REGION, pattern, places};
use pitagora::events::{Change, Inbox, Index, Own, Touched, parse};
use pitagora::names::PipelineId;
use serde_json::{Value, json};

const OTHER: &str = "222222222222";
const PERSON: &str = "arn:aws:iam::123456789012:user/alice";

/// An EventBridge message carrying a CloudTrail API-call event.
fn event(source: &str, name: &str, params: Value) -> Value {
    json!({
        "version": "0",
        "id": "e-1",
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{}", source.split('.').next().unwrap()),
        "time": "2026-12-06T15:00:07Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "arn": PERSON, "accountId": ACCOUNT},
            "eventTime": "2026-12-06T15:00:07Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "requestParameters": params,
            "responseElements": null,
            "eventID": "11111111-2222-3333-4444-555555555555",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT
        }
    })
}

fn change(source: &str, name: &str, params: Value) -> Change {
    parse(&event(source, name, params).to_string()).expect("a watched call")
}

#[test]
fn a_deleted_subscription_filter_is_read_as_the_call_its_place_actor_time_and_resources() {
    let c = change(
        "logs.amazonaws.com",
        "DeleteSubscriptionFilter",
        json!({"logGroupName": "/ecs/orders", "filterName": "pitagora-team-a-orders-0a1b2c3d"}),
    );
    assert_eq!(c.call, "DeleteSubscriptionFilter");
    assert_eq!((c.account.as_str(), c.region.as_str()), (ACCOUNT, REGION));
    assert_eq!(c.actor.arn.as_deref(), Some(PERSON));
    assert_eq!(c.at_ms, 1_796_569_207_000);
    assert_eq!(c.id, "11111111-2222-3333-4444-555555555555");
    assert_eq!(
        c.touched,
        vec![
            Touched::LogGroup("/ecs/orders".into()),
            Touched::Filter("pitagora-team-a-orders-0a1b2c3d".into()),
        ]
    );
    assert!(c.describe().starts_with(
        "DeleteSubscriptionFilter by arn:aws:iam::123456789012:user/alice at 2026-12-06T15:00:07"
    ));
}

#[test]
fn each_service_s_request_names_its_resource_as_pitagora_derives_it() {
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:orders");
    let rows: Vec<(&str, &str, Value, Touched)> = vec![
        (
            "firehose.amazonaws.com",
            "UpdateDestination",
            json!({"deliveryStreamName": "s"}),
            Touched::Stream("s".into()),
        ),
        (
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"bucketName": "b", "bucketPolicy": {}}),
            Touched::Bucket("b".into()),
        ),
        (
            "iam.amazonaws.com",
            "PutRolePolicy",
            json!({"roleName": "r", "policyName": "p"}),
            Touched::Role("r".into()),
        ),
        (
            "sns.amazonaws.com",
            "SetTopicAttributes",
            json!({"topicArn": topic}),
            Touched::Topic(topic.clone()),
        ),
        (
            "sns.amazonaws.com",
            "Unsubscribe",
            json!({"subscriptionArn": format!("{topic}:0f1e2d3c")}),
            Touched::Topic(topic.clone()),
        ),
        (
            "lambda.amazonaws.com",
            "RemovePermission20150331v2",
            json!({"functionName": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:live")}),
            Touched::Function("f".into()),
        ),
        (
            "lambda.amazonaws.com",
            "AddPermission20150331v2",
            json!({"functionName": format!("{ACCOUNT}:function:f")}),
            Touched::Function("f".into()),
        ),
        (
            "cloudformation.amazonaws.com",
            "UpdateStack",
            json!({"stackName": format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/st/0a-1b")}),
            Touched::Stack("st".into()),
        ),
        (
            "logs.amazonaws.com",
            "PutRetentionPolicy",
            json!({"logGroupName": "/g", "retentionInDays": 1}),
            Touched::LogGroup("/g".into()),
        ),
        (
            "logs.amazonaws.com",
            "UntagResource",
            json!({"resourceArn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/g:*"), "tagKeys": ["x"]}),
            Touched::LogGroup("/g".into()),
        ),
        (
            "logs.amazonaws.com",
            "PutDestinationPolicy",
            json!({"destinationName": "d", "accessPolicy": "{}"}),
            Touched::Destination("d".into()),
        ),
    ];
    for (source, name, params, expected) in rows {
        let c = change(source, name, params);
        assert_eq!(c.touched, vec![expected.clone()], "{source} {name}");
    }
}

#[test]
fn an_owner_tag_a_request_sets_is_read_in_a_list_or_a_map() {
    let list = change(
        "firehose.amazonaws.com",
        "TagDeliveryStream",
        json!({"deliveryStreamName": "s", "tags": [{"key": "pitagora.dev/pipeline", "value": "team-a/orders"}]}),
    );
    assert!(
        list.touched
            .contains(&Touched::Owner("team-a/orders".into()))
    );
    let map = change(
        "logs.amazonaws.com",
        "TagResource",
        json!({"resourceArn": "arn:aws:logs:eu-west-1:1:destination:d", "tags": {"pitagora.dev/pipeline": "team-b/x"}}),
    );
    assert!(map.touched.contains(&Touched::Owner("team-b/x".into())));
}

#[test]
fn messages_that_change_nothing_of_pitagora_s_are_skipped_with_their_label() {
    let mut failed = event(
        "logs.amazonaws.com",
        "PutSubscriptionFilter",
        json!({"logGroupName": "/g"}),
    );
    failed["detail"]["errorCode"] = json!("AccessDenied");
    let mut signin = event("logs.amazonaws.com", "PutSubscriptionFilter", json!({}));
    signin["detail-type"] = json!("AWS Console Sign In via CloudTrail");
    let mut no_time = event("logs.amazonaws.com", "PutSubscriptionFilter", json!({}));
    no_time["detail"]
        .as_object_mut()
        .unwrap()
        .remove("eventTime");
    no_time.as_object_mut().unwrap().remove("time");
    let rows: Vec<(String, &str)> = vec![
        ("not json".into(), "not_json"),
        (signin.to_string(), "not_api_call"),
        (
            event("iam.amazonaws.com", "GetRole", json!({"roleName": "r"})).to_string(),
            "unwatched",
        ),
        (
            event("logs.amazonaws.com", "DescribeLogGroups", json!({})).to_string(),
            "unwatched",
        ),
        (
            event("ec2.amazonaws.com", "RunInstances", json!({})).to_string(),
            "unwatched",
        ),
        (failed.to_string(), "failed_call"),
        (no_time.to_string(), "incomplete"),
    ];
    for (body, label) in rows {
        let skip: Skip = parse(&body).expect_err(&body);
        assert_eq!(skip.label(), label, "{body}");
    }
}

/// `team-a/orders` (the full chain: `/ecs/` prefix, a transform, a fan-out) in the index.
fn full_chain() -> (pitagora::desired::Desired, Index) {
    let d = desired(&full_chain_spec());
    let index = Index::of([&d]);
    (d, index)
}

fn at(account: &str, region: &str, touched: Touched) -> Change {
    Change {
        id: String::new(),
        account: account.into(),
        region: region.into(),
        call: "PutSubscriptionFilter",
        touched: vec![touched],
        actor: Default::default(),
        at_ms: 0,
    }
}

#[test]
fn a_change_to_any_resource_a_pipeline_declares_concerns_that_pipeline_and_no_other_change_does() {
    let (d, index) = full_chain();
    let mine = vec![
        at(ACCOUNT, REGION, Touched::Stack(d.names.stack.clone())),
        at(ACCOUNT, REGION, Touched::Stream(d.stream.name.clone())),
        // Bucket names and roles are global: a call made in another region names them too.
        at(
            ACCOUNT,
            "us-east-1",
            Touched::Bucket(d.names.bucket.clone()),
        ),
        at(
            ACCOUNT,
            IAM_EVENTS_REGION,
            Touched::Role(d.names.logs_role.clone()),
        ),
        at(
            ACCOUNT,
            REGION,
            Touched::Topic(d.topic.as_ref().unwrap().arn.clone()),
        ),
        at(ACCOUNT, REGION, Touched::Function("es-forwarder".into())),
        at(ACCOUNT, REGION, Touched::LogGroup("/ecs/payments".into())),
        at(
            ACCOUNT,
            REGION,
            Touched::LogGroup(d.error_log_group.name.clone()),
        ),
        at(
            OTHER,
            "ap-south-1",
            Touched::Filter(d.filters.filter.name.clone()),
        ),
        at(OTHER, REGION, Touched::Owner(d.id.owner_tag_value())),
    ];
    for c in &mine {
        assert_eq!(index.concerned(c), [d.id.clone()].into(), "{:?}", c.touched);
    }
    let others = vec![
        at(ACCOUNT, REGION, Touched::LogGroup("/lambda/other".into())),
        at(ACCOUNT, REGION, Touched::Stream("someone-elses".into())),
        // The same names in another account or region are other resources.
        at(OTHER, REGION, Touched::Stream(d.stream.name.clone())),
        at(
            ACCOUNT,
            "us-west-2",
            Touched::LogGroup("/ecs/payments".into()),
        ),
        at(
            OTHER,
            IAM_EVENTS_REGION,
            Touched::Role(d.names.logs_role.clone()),
        ),
    ];
    for c in &others {
        assert!(
            index.concerned(c).is_empty(),
            "{:?} in {}/{}",
            c.touched,
            c.account,
            c.region
        );
    }
}

#[test]
fn a_remote_source_s_groups_concern_the_pipeline_in_their_own_account_and_region() {
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  remote:\n    - account: \"{OTHER}\"\n      region: us-east-1\n      logGroupPrefixes: [/app/]\n"
    )));
    let index = Index::of([&d]);
    let remote = at(OTHER, "us-east-1", Touched::LogGroup("/app/web".into()));
    assert_eq!(index.concerned(&remote), [d.id.clone()].into());
    let home = at(ACCOUNT, REGION, Touched::LogGroup("/app/web".into()));
    assert!(index.concerned(&home).is_empty());
    let destination = d.destinations[0].destination.name.clone();
    let dest = at(ACCOUNT, "us-east-1", Touched::Destination(destination));
    assert_eq!(index.concerned(&dest), [d.id.clone()].into());
}

#[test]
fn a_pipeline_taken_out_of_the_index_is_concerned_by_nothing() {
    let (d, mut index) = full_chain();
    let other = pitagora::desired::from_spec(
        &PipelineId::new("team-b", "web"),
        &minimal_spec(),
        ACCOUNT,
        REGION,
    )
    .unwrap();
    index.insert(&other);
    index.remove(&d.id);
    assert_eq!(index.len(), 1);
    let group = at(ACCOUNT, REGION, Touched::LogGroup("/ecs/orders".into()));
    // `/ecs/orders` is team-b/web's exact group; team-a's `/ecs/` prefix is gone.
    assert_eq!(index.concerned(&group), [other.id.clone()].into());
    assert!(
        index
            .concerned(&at(ACCOUNT, REGION, Touched::Stack(d.names.stack.clone())))
            .is_empty()
    );
}

#[test]
fn pitagora_s_own_sessions_and_its_stack_role_are_recognised_and_a_person_is_not() {
    let own = Own::default()
        .with_caller(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/pitagora-controller/i-0abc"
        ))
        .with_caller("arn:aws:iam::444444444444:user/ci")
        .with_stack_role(ACCOUNT);
    let actor = |arn: &str, issuer: Option<&str>| pitagora::events::cloudtrail::Actor {
        arn: Some(arn.into()),
        issuer: issuer.map(str::to_owned),
    };
    let rows = [
        (
            actor(
                &format!("arn:aws:sts::{ACCOUNT}:assumed-role/pitagora-controller/other-session"),
                None,
            ),
            true,
        ),
        (
            actor(
                &format!(
                    "arn:aws:sts::{ACCOUNT}:assumed-role/pitagora-cloudformation/AWSCloudFormation"
                ),
                Some(&format!(
                    "arn:aws:iam::{ACCOUNT}:role/pitagora/pitagora-cloudformation"
                )),
            ),
            true,
        ),
        (actor("arn:aws:iam::444444444444:user/ci", None), true),
        (actor(PERSON, None), false),
        // The same role name in another account is someone else.
        (
            actor(
                &format!("arn:aws:sts::{OTHER}:assumed-role/pitagora-controller/s"),
                None,
            ),
            false,
        ),
    ];
    for (a, expected) in rows {
        assert_eq!(own.made(&a), expected, "{a:?}");
    }
}

fn timed(id: &str, at_ms: i64) -> Change {
    Change {
        id: id.into(),
        at_ms,
        ..at(ACCOUNT, REGION, Touched::Stream("s".into()))
    }
}

#[test]
fn a_burst_of_a_thousand_changes_for_one_pipeline_leaves_one_pending_check() {
    let id = common::id();
    let mut inbox = Inbox::default();
    let offers: Vec<Offer> = (0..1000)
        .map(|i| inbox.offer(&id, &timed(&format!("e-{i}"), 1_000 + i)))
        .collect();
    assert_eq!(offers[0], Offer::Woke);
    assert!(offers[1..].iter().all(|o| *o == Offer::Joined));
    let wake = inbox.start(&id, 10_000).expect("one check");
    assert_eq!((wake.changes, wake.first_ms), (1000, 1_000));
    assert!(!inbox.is_pending(&id));
}

#[test]
fn the_same_event_delivered_twice_counts_once() {
    let id = common::id();
    let mut inbox = Inbox::default();
    assert_eq!(inbox.offer(&id, &timed("e-1", 1_000)), Offer::Woke);
    assert_eq!(inbox.offer(&id, &timed("e-1", 1_000)), Offer::Again);
    assert_eq!(inbox.start(&id, 5_000).unwrap().changes, 1);
}

#[test]
fn a_change_a_started_check_has_seen_starts_none_and_a_later_one_starts_another() {
    let id = common::id();
    let mut inbox = Inbox::default();
    assert!(inbox.start(&id, 100_000).is_none());
    assert_eq!(
        inbox.offer(&id, &timed("old", 100_000 - SETTLE_MS)),
        Offer::Seen
    );
    // Within the margin of the check's start: it may have read before the change.
    assert_eq!(
        inbox.offer(&id, &timed("close", 100_000 - SETTLE_MS + 1)),
        Offer::Woke
    );
    assert_eq!(inbox.start(&id, 103_000).unwrap().changes, 1);
}

#[test]
fn the_rule_matches_the_watched_calls_of_every_service_and_lambda_s_by_prefix() {
    let p = pattern();
    let sources = p["source"].as_array().unwrap();
    for s in [
        "aws.logs",
        "aws.firehose",
        "aws.s3",
        "aws.iam",
        "aws.sns",
        "aws.lambda",
        "aws.cloudformation",
    ] {
        assert!(sources.contains(&json!(s)), "{s}");
    }
    assert_eq!(p["detail-type"], json!(["AWS API Call via CloudTrail"]));
    let names = p["detail"]["eventName"].as_array().unwrap();
    assert!(names.contains(&json!({"prefix": "AddPermission"})));
    assert!(names.contains(&json!("DeleteSubscriptionFilter")));
    assert!(
        !names
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.starts_with("Get")
                || n.starts_with("Describe")
                || n.starts_with("List")))
    );
}

#[test]
fn only_the_rule_may_send_to_the_queue_and_the_queue_is_encrypted() {
    let spec = EventsSpec::of(&pitagora::arn::AwsTarget::new(ACCOUNT, REGION));
    let policy: Value = serde_json::from_str(&spec.queue_attributes["Policy"]).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(
        statement["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(statement["Action"], json!("sqs:SendMessage"));
    assert_eq!(
        statement["Resource"],
        json!(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:pitagora-events"))
    );
    assert_eq!(
        statement["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!(format!(
            "arn:aws:events:{REGION}:{ACCOUNT}:rule/pitagora-events"
        ))
    );
    assert_eq!(spec.queue_attributes["SqsManagedSseEnabled"], "true");
}

#[test]
fn every_account_holding_a_pipeline_hears_iam_in_us_east_1_and_each_remote_place_its_own() {
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  remote:\n    - account: \"{OTHER}\"\n      region: ap-south-1\n      logGroups: [/app/web]\n"
    )));
    let got: Vec<(String, String)> = places([&d]).into_iter().collect();
    let expected: Vec<(String, String)> = vec![
        (ACCOUNT.into(), "ap-south-1".into()),
        (ACCOUNT.into(), REGION.into()),
        (ACCOUNT.into(), IAM_EVENTS_REGION.into()),
        (OTHER.into(), "ap-south-1".into()),
    ];
    assert_eq!(got, expected);
}
