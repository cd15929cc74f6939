//! Changes as events against moto: each account and region's EventBridge rule and SQS queue are
//! set up, read back, guarded and corrected like everything pitagora owns; a CloudTrail-shaped
//! event (moto emits none of its own, so the tests put it on the default bus after making the
//! change, as CloudTrail would) travels rule → queue, is read into the change it describes and
//! concerns exactly the pipeline whose resource it names; one pipeline's deleted filter is then
//! found and restored by checking that pipeline alone; a burst coalesces into one check;
//! pitagora's own write and a change to nobody's resource start none.

use crate::common;

use common::REGION;
use common::events::{PERSON, cloudtrail, inject};
use common::moto::*;
use pitagora::arn::AwsTarget;
use pitagora::engine::events::EventsQueue;
use pitagora::events::inbox::Offer;
use pitagora::events::{EVENTS_NAME, Inbox, Index, parse};
use pitagora::names::PipelineId;
use pitagora::read::Hints;
use serde_json::{Value, json};

fn place(m: &Moto) -> AwsTarget {
    AwsTarget::new(m.account.clone(), REGION)
}

/// Sets up this account's rule and queue, asserting it succeeded; the queue.
async fn set_up(m: &Moto) -> EventsQueue {
    let (_, queue) = m.engine.set_up_events(&place(m), false).await.unwrap();
    queue.expect("the queue exists after setting up")
}

/// Drains `queue` until `n` distinct events arrived (or 120 s passed): every body received,
/// SQS's redeliveries included (a message not deleted within the visibility timeout comes again).
async fn receive(queue: &EventsQueue, n: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while ids.len() < n && std::time::Instant::now() < deadline {
        let got = queue.drain(1, 100).await.unwrap();
        let receipts: Vec<String> = got.iter().map(|r| r.receipt.clone()).collect();
        queue.delete(&receipts).await.unwrap();
        ids.extend(got.iter().map(|r| parse(&r.body).unwrap().id));
        bodies.extend(got.into_iter().map(|r| r.body));
    }
    bodies
}

#[tokio::test]
async fn setting_up_creates_the_encrypted_queue_and_the_rule_targeting_it_and_a_second_time_writes_nothing()
 {
    let m = Moto::new().await;
    let (first, queue) = m.engine.set_up_events(&place(&m), false).await.unwrap();
    assert!(queue.is_some());
    assert_eq!(
        first.written,
        vec![
            format!("created queue {EVENTS_NAME}"),
            format!("put rule {EVENTS_NAME}"),
            format!("pointed rule {EVENTS_NAME} at queue {EVENTS_NAME}"),
        ]
    );
    let before = m.calls();
    let (again, _) = m.engine.set_up_events(&place(&m), false).await.unwrap();
    assert!(
        again.drift.is_empty() && again.written.is_empty(),
        "{again:?}"
    );
    assert_eq!(m.writes_since(&before), ops(&[]));
    let o =
        m.c.sqs
            .get_queue_attributes()
            .queue_url(&queue.unwrap().url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
    let attributes = o.attributes().unwrap();
    let policy: Value =
        serde_json::from_str(&attributes[&aws_sdk_sqs::types::QueueAttributeName::Policy]).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!(format!(
            "arn:aws:events:{REGION}:{}:rule/{EVENTS_NAME}",
            m.account
        ))
    );
}

#[tokio::test]
async fn a_queue_policy_opened_to_everyone_by_hand_is_found_naming_the_field_and_narrowed() {
    let m = Moto::new().await;
    let queue = set_up(&m).await;
    let open = json!({"Version": "2012-10-17", "Statement": [{"Sid": "FromPitagoraEventsRule", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]});
    m.outsider()
        .await
        .sqs
        .set_queue_attributes()
        .queue_url(&queue.url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            open.to_string(),
        )
        .send()
        .await
        .unwrap();
    let (report, _) = m.engine.set_up_events(&place(&m), true).await.unwrap();
    let fields: Vec<&str> = report.drift.iter().map(|d| d.field.as_str()).collect();
    assert!(
        fields.contains(&"Policy.Statement[FromPitagoraEventsRule].Principal"),
        "{fields:?}"
    );
    assert!(report.written.is_empty(), "report only writes nothing");
    let before = m.calls();
    let (fixed, _) = m.engine.set_up_events(&place(&m), false).await.unwrap();
    assert_eq!(
        fixed.written,
        vec![format!("set queue {EVENTS_NAME} Policy")]
    );
    assert_eq!(
        m.writes_since(&before),
        ops(&[("SQS.SetQueueAttributes", 1)])
    );
}

#[tokio::test]
async fn a_rule_disabled_and_given_another_target_by_hand_is_enabled_and_left_with_only_the_queue()
{
    let m = Moto::new().await;
    set_up(&m).await;
    let c = m.outsider().await;
    c.events
        .disable_rule()
        .name(EVENTS_NAME)
        .send()
        .await
        .unwrap();
    let extra = aws_sdk_eventbridge::types::Target::builder()
        .id("elsewhere")
        .arn(format!("arn:aws:sqs:{REGION}:{}:elsewhere", m.account))
        .build()
        .unwrap();
    c.events
        .put_targets()
        .rule(EVENTS_NAME)
        .targets(extra)
        .send()
        .await
        .unwrap();
    let (fixed, _) = m.engine.set_up_events(&place(&m), false).await.unwrap();
    let fields: Vec<&str> = fixed.drift.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, vec!["State", "Targets[elsewhere]"]);
    let rule = c
        .events
        .describe_rule()
        .name(EVENTS_NAME)
        .send()
        .await
        .unwrap();
    assert_eq!(rule.state().unwrap().as_str(), "ENABLED");
    let targets = c
        .events
        .list_targets_by_rule()
        .rule(EVENTS_NAME)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = targets.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, vec!["pitagora-events-queue"]);
}

#[tokio::test]
async fn a_queue_of_that_name_without_pitagoras_tag_is_refused_and_nothing_is_written() {
    let m = Moto::new().await;
    m.outsider()
        .await
        .sqs
        .create_queue()
        .queue_name(EVENTS_NAME)
        .send()
        .await
        .unwrap();
    let before = m.calls();
    let err = m
        .engine
        .set_up_events(&place(&m), false)
        .await
        .err()
        .expect("refused");
    assert_eq!(err.label(), "EventsConflict");
    assert!(
        err.to_string()
            .contains("without pitagora's tag pitagora.dev/pipeline=pitagora/events"),
        "{err}"
    );
    assert_eq!(m.writes_since(&before), ops(&[]));
}

/// Three pipelines, each with its own group `/ev/pN`: their ids and validated pipelines.
async fn three_pipelines(m: &Moto) -> Vec<(PipelineId, pitagora::desired::Pipeline)> {
    let mut out = Vec::new();
    for i in 0..3 {
        let id = PipelineId::new("team-a", format!("p{i}"));
        let spec = m.spec(&format!("sources:\n  logGroups: [/ev/p{i}]\n"));
        out.push((id.clone(), m.engine.prepare(&id, &spec).await.unwrap()));
    }
    out
}

/// The desired states of `pipelines`, and their index.
fn indexed(
    pipelines: &[(PipelineId, pitagora::desired::Pipeline)],
) -> (Vec<pitagora::desired::Desired>, Index) {
    let desired: Vec<_> = pipelines
        .iter()
        .map(|(_, p)| pitagora::desired::build(p))
        .collect();
    let index = Index::of(&desired);
    (desired, index)
}

/// [`three_pipelines`], converged.
async fn three_converged(m: &Moto) -> Vec<(PipelineId, pitagora::desired::Pipeline)> {
    m.log_groups(&["/ev/p0", "/ev/p1", "/ev/p2"]).await;
    let pipelines = three_pipelines(m).await;
    for (_, p) in &pipelines {
        let done = m
            .engine
            .converge(p, &Hints::default(), &mut |_| {})
            .await
            .unwrap();
        assert!(done.remaining.in_sync());
    }
    pipelines
}

#[tokio::test]
async fn a_deleted_filter_s_event_concerns_only_its_pipeline_which_one_check_restores() {
    let m = Moto::new().await;
    let queue = set_up(&m).await;
    let pipelines = three_converged(&m).await;
    let (desired, index) = indexed(&pipelines);
    let filter = desired[1].filters.filter.name.clone();
    m.outsider()
        .await
        .logs
        .delete_subscription_filter()
        .log_group_name("/ev/p1")
        .filter_name(&filter)
        .send()
        .await
        .unwrap();
    inject(
        &m,
        &[cloudtrail(
            &m,
            "logs.amazonaws.com",
            "DeleteSubscriptionFilter",
            json!({"logGroupName": "/ev/p1", "filterName": filter}),
            PERSON,
            "e-1",
        )],
    )
    .await;
    let bodies = receive(&queue, 1).await;
    assert_eq!(bodies.len(), 1, "the rule sent the event to the queue");
    let change = parse(&bodies[0]).unwrap();
    assert_eq!(index.concerned(&change), [pipelines[1].0.clone()].into());
    let before = m.calls();
    let check = m
        .engine
        .check(&pipelines[1].1, &Hints::default())
        .await
        .unwrap();
    let reads = m.calls().since(&before);
    let own_groups =
        desired[1].filters.log_groups.len() + usize::from(desired[1].filters.canary.is_some());
    assert_eq!(
        reads.of("DescribeSubscriptionFilters"),
        own_groups as u64,
        "its own groups' filters, no other pipeline's"
    );
    assert!(!check.plan.in_sync());
    let done = m
        .engine
        .converge(&pipelines[1].1, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync());
    assert_eq!(
        m.writes_since(&before),
        ops(&[("CloudWatchLogs.PutSubscriptionFilter", 1)])
    );
}

#[tokio::test]
async fn a_burst_of_a_thousand_events_for_one_pipeline_is_taken_whole_and_leaves_one_pending_check()
{
    let m = Moto::new().await;
    let queue = set_up(&m).await;
    let pipelines = three_pipelines(&m).await;
    let (_, index) = indexed(&pipelines);
    let details: Vec<Value> = (0..1000)
        .map(|i| {
            cloudtrail(
                &m,
                "logs.amazonaws.com",
                "PutRetentionPolicy",
                json!({"logGroupName": "/ev/p2", "retentionInDays": 1 + i % 7}),
                PERSON,
                &format!("burst-{i}"),
            )
        })
        .collect();
    inject(&m, &details).await;
    let bodies = receive(&queue, 1000).await;
    let distinct: std::collections::BTreeSet<String> =
        bodies.iter().map(|b| parse(b).unwrap().id).collect();
    assert_eq!(distinct.len(), 1000, "every event reached the queue");
    let mut inbox = Inbox::default();
    let mut offers = Vec::new();
    for body in &bodies {
        let change = parse(body).unwrap();
        for id in index.concerned(&change) {
            offers.push(inbox.offer(&id, &change));
        }
    }
    assert_eq!(offers.iter().filter(|o| **o == Offer::Woke).count(), 1);
    assert_eq!(offers.iter().filter(|o| **o == Offer::Joined).count(), 999);
    let again = offers.iter().filter(|o| **o == Offer::Again).count();
    assert_eq!(
        again,
        bodies.len() - 1000,
        "a redelivered event counts once"
    );
    assert_eq!(
        inbox.pending().cloned().collect::<Vec<_>>(),
        vec![pipelines[2].0.clone()]
    );
}

#[tokio::test]
async fn pitagoras_own_write_and_a_change_to_nobodys_resource_start_no_check() {
    let m = Moto::new().await;
    let queue = set_up(&m).await;
    let pipelines = three_pipelines(&m).await;
    let (desired, index) = indexed(&pipelines);
    let own = m
        .engine
        .own_principals([m.account.as_str()], REGION)
        .await
        .unwrap();
    let me = m.aws.caller_arn(REGION).await.unwrap();
    let filter = desired[0].filters.filter.name.clone();
    inject(
        &m,
        &[
            cloudtrail(
                &m,
                "logs.amazonaws.com",
                "PutSubscriptionFilter",
                json!({"logGroupName": "/ev/p0", "filterName": filter}),
                &me,
                "own",
            ),
            cloudtrail(
                &m,
                "logs.amazonaws.com",
                "DeleteSubscriptionFilter",
                json!({"logGroupName": "/somebody/else", "filterName": "theirs"}),
                PERSON,
                "nobody",
            ),
        ],
    )
    .await;
    let bodies = receive(&queue, 2).await;
    assert_eq!(bodies.len(), 2);
    let changes: Vec<_> = bodies.iter().map(|b| parse(b).unwrap()).collect();
    let own_write = changes.iter().find(|c| c.id == "own").unwrap();
    assert!(own.made(&own_write.actor), "{me} is pitagora");
    let nobodys = changes.iter().find(|c| c.id == "nobody").unwrap();
    assert!(!own.made(&nobodys.actor));
    assert!(index.concerned(nobodys).is_empty());
}
