//! Remote sources against moto: a pipeline in `eu-west-1` taking log groups from `us-east-1` of
//! its own account. Converging creates the CloudWatch Logs destination there (target, role and
//! policy as desired); a policy widened by hand is drift naming the policy's field and is
//! narrowed again; pitagora's tag changed by hand on the destination is drift and is written
//! back, others' tags kept; deleting the pipeline removes the destination; the remote filter delivers
//! through the destination and, removed by hand, is put back; an event of a remote group reaches
//! the pipeline's bucket.

use crate::common;

use common::moto::*;
use pitagora::desired::Desired;
use pitagora::names::MANAGED_BY_TAG;
use pitagora::plan::Op;
use pitagora::resources::{Destination, ResourceKind};
use serde_json::{Value, json};

const SOURCE_REGION: &str = "us-east-1";

/// `/ecs/orders` here, and every group under `/ecs/` in [`SOURCE_REGION`].
const REMOTE: &str = r#"
sources:
  logGroups: [/ecs/orders]
  remote:
    - region: us-east-1
      logGroupPrefixes: [/ecs/]
"#;

/// The destinations of `region` as moto holds them.
async fn destinations_in(m: &Moto, region: &str) -> Vec<Destination> {
    let c = m.outsider_in(region).await;
    let out = c.logs.describe_destinations().send().await.unwrap();
    out.destinations()
        .iter()
        .map(pitagora::aws::logs::destination_from_sdk)
        .collect()
}

/// The remote spec converged, with `/ecs/orders` here and `groups` in [`SOURCE_REGION`].
async fn converged_remote(m: &Moto, groups: &[&str]) -> Desired {
    m.log_groups(&["/ecs/orders"]).await;
    let there = m.outsider_in(SOURCE_REGION).await;
    for group in groups {
        there
            .logs
            .create_log_group()
            .log_group_name(*group)
            .send()
            .await
            .unwrap();
    }
    m.converged(&m.spec(REMOTE)).await
}

#[tokio::test]
async fn converging_creates_the_destination_in_the_source_region_targeting_the_stream() {
    let m = Moto::new().await;
    let d = converged_remote(&m, &[]).await;
    let [found] = destinations_in(&m, SOURCE_REGION)
        .await
        .try_into()
        .unwrap_or_else(|all| panic!("one destination in {SOURCE_REGION}: {all:?}"));
    let want = &d.destinations[0];
    assert_eq!(found.name, format!("{}-{SOURCE_REGION}", d.names.stream));
    assert_eq!(
        found.target_arn, d.stream.arn,
        "the stream, in the pipeline's region"
    );
    assert_eq!(
        found.role_arn,
        format!(
            "arn:aws:iam::{}:role/pitagora/{}",
            m.account, d.names.logs_role
        )
    );
    let policy = found.access_policy.expect("the destination has a policy");
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        json!([m.account])
    );
    assert_eq!(policy["Statement"][0]["Resource"], json!(want.arn));
    assert!(
        destinations_in(&m, "eu-west-1").await.is_empty(),
        "none at home"
    );
}

#[tokio::test]
async fn a_destination_policy_widened_by_hand_is_drift_at_its_principal_and_is_narrowed() {
    let m = Moto::new().await;
    let d = converged_remote(&m, &[]).await;
    let name = &d.destinations[0].destination.name;
    let mut widened: Value = d.destinations[0].destination.access_policy.clone().unwrap();
    widened["Statement"][0]["Principal"] = json!({"AWS": "*"});
    let there = m.outsider_in(SOURCE_REGION).await;
    (there.logs.put_destination_policy())
        .destination_name(name)
        .access_policy(widened.to_string())
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &m.spec(REMOTE)).await;
    let action = only_action(&plan);
    assert_eq!(
        (action.op, action.kind),
        (Op::Update, ResourceKind::Destination)
    );
    let change = &action.changes[0];
    assert_eq!(
        change.field,
        "accessPolicy.Statement[SourceAccounts].Principal.AWS"
    );
    assert_eq!(change.actual.as_deref(), Some("*"));
    assert_eq!(
        change.desired.as_deref(),
        Some(json!([m.account]).to_string().as_str())
    );

    let writes = correct(&m, &m.spec(REMOTE)).await;
    assert_eq!(writes, ops(&[("CloudWatchLogs.PutDestinationPolicy", 1)]));
    let [found] = destinations_in(&m, SOURCE_REGION).await.try_into().unwrap();
    assert_eq!(
        found.access_policy,
        d.destinations[0].destination.access_policy
    );
}

#[tokio::test]
async fn a_destination_tag_changed_by_hand_is_drift_and_is_written_back_keeping_others_tags() {
    let m = Moto::new().await;
    let d = converged_remote(&m, &[]).await;
    let arn = &d.destinations[0].arn;
    let there = m.outsider_in(SOURCE_REGION).await;
    (there.logs.tag_resource())
        .resource_arn(arn)
        .tags(MANAGED_BY_TAG.0, "someone")
        .tags("team", "payments")
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &m.spec(REMOTE)).await;
    let action = only_action(&plan);
    assert_eq!(
        (action.op, action.kind),
        (Op::Update, ResourceKind::Destination)
    );
    let change = &action.changes[..];
    assert_eq!(change.len(), 1, "{change:?}");
    assert_eq!(change[0].field, format!("Tags.{}", MANAGED_BY_TAG.0));
    assert_eq!(change[0].actual.as_deref(), Some("someone"));

    let writes = correct(&m, &m.spec(REMOTE)).await;
    assert_eq!(writes, ops(&[("CloudWatchLogs.TagResource", 1)]));
    let listed = there.logs.list_tags_for_resource().resource_arn(arn).send();
    let tags = listed.await.unwrap().tags().cloned().unwrap_or_default();
    assert_eq!(
        tags.get(MANAGED_BY_TAG.0).map(String::as_str),
        Some(MANAGED_BY_TAG.1)
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
}

#[tokio::test]
async fn deleting_the_pipeline_removes_its_destination() {
    let m = Moto::new().await;
    converged_remote(&m, &[]).await;
    let done = m.deleted(&m.spec(REMOTE)).await;
    assert!(done.complete(), "{:#?}", done.readback);
    let deleted = done
        .plan
        .actions
        .iter()
        .filter(|a| a.kind == ResourceKind::Destination);
    assert_eq!(deleted.map(|a| a.op).collect::<Vec<_>>(), [Op::Delete]);
    assert!(destinations_in(&m, SOURCE_REGION).await.is_empty());
}

#[tokio::test]
async fn a_remote_group_carries_a_filter_through_the_destination_and_it_is_restored_when_removed() {
    let m = Moto::new().await;
    let d = converged_remote(&m, &["/ecs/payments"]).await;
    let there = m.outsider_in(SOURCE_REGION).await;
    let filter = &d.remote[0].filters.filter;
    assert_eq!(
        filters_on(&there, "/ecs/payments").await,
        [(filter.name.clone(), d.destinations[0].arn.clone())]
    );

    (there.logs.delete_subscription_filter())
        .log_group_name("/ecs/payments")
        .filter_name(&filter.name)
        .send()
        .await
        .unwrap();
    let plan = check_reads_only(&m, &m.spec(REMOTE)).await;
    let action = only_action(&plan);
    assert_eq!(
        (action.op, action.kind, action.name.as_str()),
        (
            Op::Create,
            ResourceKind::RemoteSubscriptionFilter,
            format!("{}/{SOURCE_REGION}:/ecs/payments", m.account).as_str()
        )
    );
    correct(&m, &m.spec(REMOTE)).await;
    assert_eq!(
        filter_names(&there, "/ecs/payments").await,
        std::slice::from_ref(&filter.name)
    );
}

#[tokio::test]
async fn an_event_of_a_remote_group_reaches_the_pipelines_bucket_through_the_destination() {
    let m = Moto::new().await;
    let d = converged_remote(&m, &["/ecs/payments"]).await;
    let there = m.outsider_in(SOURCE_REGION).await;
    let message = "payment 7 settled in us-east-1";
    put_batches(&there, "/ecs/payments", "web-1", &[&[message]]).await;
    let holds_message = || async {
        for key in object_keys(&m.c, &d.names.bucket, "raw/").await {
            if common::moto::gunzipped(object_bytes(&m.c, &d.names.bucket, &key).await)
                .contains(message)
            {
                return true;
            }
        }
        false
    };
    let delivered = eventually(std::time::Duration::from_secs(10), holds_message).await;
    assert!(delivered, "{message:?} not under raw/ within 10 s");
}
