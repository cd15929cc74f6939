//! Sources in other accounts, end to end against moto: a namespace built in a central account A
//! (through the accounts file) takes log groups from source accounts B and C, in the pipeline's
//! region (eu-west-1) and another (us-east-1). A's destinations, one per source region, allow
//! exactly that region's accounts; B's and C's groups carry filters written with the role of
//! their account; their events arrive in A's bucket under their own account as owner. Drift in a
//! source account or on a destination is found and corrected, a group outside what the
//! namespace may take is refused before anything is written, a place dropped from the spec loses
//! its filters, destination and canary group (one no longer tagged as the pipeline's is kept),
//! and deleting removes every account's part. Each test has fresh
//! accounts; assumed clients carry no moto account header (see `accounts.rs`).

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::moto::{
    MotoAccount, REGION, endpoint, eventually, filter_names, filters_on, fresh_account,
    log_group_exists, object_bytes, object_keys, put_batches, sdk_config, test_settings,
};
use pitagora::aws::{Aws, RegionClients};
use pitagora::desired::Desired;
use pitagora::engine::{Engine, EngineError};
use pitagora::names::{OWNER_TAG, PipelineId};
use pitagora::plan::{Check, Op};
use pitagora::read::Hints;
use pitagora::resources::ResourceKind;
use pitagora::spec::{Accounts, LogPipelineSpec};
use serde_json::{Value, json};
use std::sync::Arc;

/// The other source region (the pipeline's is [`REGION`]).
const R2: &str = "us-east-1";

/// A controller's engine with three fresh accounts: `team-x` built in A, taking `/b/` of B in
/// both regions and `/c/` of C in [`R2`]; `team-y` built in B, given nothing of C.
struct World {
    engine: Engine,
    a: String,
    b: String,
    c: String,
}

impl World {
    async fn new() -> Self {
        let (a, b, c) = (fresh_account(), fresh_account(), fresh_account());
        let role = |id: &str| {
            format!(
                "  - id: \"{id}\"\n    roleArn: arn:aws:iam::{id}:role/pitagora/access\n    externalId: pitagora-test\n"
            )
        };
        let text = format!(
            "accounts:\n{}{}{}namespaces:\n  team-x:\n    account: \"{a}\"\n    sources:\n      - account: \"{b}\"\n        regions: [{REGION}, {R2}]\n        logGroupPrefixes: [/b/]\n      - account: \"{c}\"\n        regions: [{R2}]\n        logGroupPrefixes: [/c/]\n  team-y:\n    account: \"{b}\"\n",
            role(&a),
            role(&b),
            role(&c)
        );
        let own = SharedInterceptor::new(MotoAccount(fresh_account()));
        let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![own])
            .with_assumed_interceptors(Vec::new());
        let engine = Engine::new(Arc::new(aws)).with_accounts(Accounts::parse(&text).unwrap());
        Self { engine, a, b, c }
    }

    /// team-x's spec: B in both regions and C in [`R2`], or only `entries` of those when given.
    fn spec(&self, entries: &[usize]) -> LogPipelineSpec {
        let all = [
            format!(
                "    - {{account: \"{}\", region: {R2}, logGroups: [/b/app]}}\n",
                self.b
            ),
            format!(
                "    - {{account: \"{}\", region: {R2}, logGroups: [/c/app]}}\n",
                self.c
            ),
            format!("    - {{account: \"{}\", logGroups: [/b/app]}}\n", self.b),
        ];
        let chosen: String = entries.iter().map(|i| all[*i].as_str()).collect();
        common::spec(&format!("sources:\n  remote:\n{chosen}"))
    }

    fn full(&self) -> LogPipelineSpec {
        self.spec(&[0, 1, 2])
    }

    async fn check(&self, spec: &LogPipelineSpec, hints: &Hints) -> Check {
        let id = PipelineId::new("team-x", "orders");
        let pipeline = self.engine.prepare(&id, spec).await.unwrap();
        self.engine.check(&pipeline, hints).await.unwrap()
    }

    /// Converges `spec` and asserts it is in sync; the last check.
    async fn converge(&self, spec: &LogPipelineSpec, hints: &Hints) -> Check {
        let id = PipelineId::new("team-x", "orders");
        let pipeline = self.engine.prepare(&id, spec).await.unwrap();
        let done = (self.engine.converge(&pipeline, hints, &mut |_| {}))
            .await
            .unwrap();
        assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
        assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
        done.check()
    }

    /// The source groups created, then the full spec converged.
    async fn converged(&self) -> Desired {
        for (account, region, group) in self.groups() {
            let logs = &clients(&account, region).await.logs;
            logs.create_log_group()
                .log_group_name(group)
                .send()
                .await
                .unwrap();
        }
        self.converge(&self.full(), &Hints::default()).await.desired
    }

    fn groups(&self) -> [(String, &'static str, &'static str); 3] {
        [
            (self.b.clone(), R2, "/b/app"),
            (self.c.clone(), R2, "/c/app"),
            (self.b.clone(), REGION, "/b/app"),
        ]
    }
}

/// Clients acting as `account` in `region` (moto's header), out of band.
async fn clients(account: &str, region: &str) -> RegionClients {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]);
    aws.region(region).as_ref().clone()
}

/// The principals of the destination `name` in A's `region`, sorted.
async fn principals(a: &str, region: &str, name: &str) -> Value {
    let c = clients(a, region).await;
    let out = (c.logs.describe_destinations())
        .destination_name_prefix(name)
        .send()
        .await
        .unwrap();
    let found = pitagora::aws::logs::destination_from_sdk(&out.destinations()[0]);
    let policy = found.access_policy.expect("a policy");
    let mut p = policy["Statement"][0]["Principal"]["AWS"].clone();
    if let Some(list) = p.as_array_mut() {
        list.sort_by_key(|v| v.to_string());
    }
    p
}

async fn destination_count(a: &str, region: &str) -> usize {
    let c = clients(a, region).await;
    let out = c.logs.describe_destinations().send().await.unwrap();
    out.destinations().len()
}

#[tokio::test]
async fn converging_puts_a_destination_per_region_in_the_central_account_and_filters_in_each_source_account()
 {
    let w = World::new().await;
    let d = w.converged().await;
    assert!(d.destinations.iter().all(|x| x.arn.contains(&w.a)));
    let name = |region: &str| {
        let found = d.destinations.iter().find(|x| x.region == region);
        found.unwrap().destination.name.clone()
    };
    let mut both = [w.b.clone(), w.c.clone()];
    both.sort();
    assert_eq!(principals(&w.a, R2, &name(R2)).await, json!(both));
    assert_eq!(principals(&w.a, REGION, &name(REGION)).await, json!([w.b]));
    let filter = &d.remote[0].filters.filter.name;
    for (account, region, group) in w.groups() {
        let there = clients(&account, region).await;
        let arn = d.destinations.iter().find(|x| x.region == region).unwrap();
        assert_eq!(
            filters_on(&there, group).await,
            [(filter.clone(), arn.arn.clone())],
            "{account}/{region}:{group}"
        );
    }
}

#[tokio::test]
async fn events_of_two_source_accounts_arrive_in_the_central_bucket_owned_by_their_account() {
    let w = World::new().await;
    let d = w.converged().await;
    for (account, group) in [(&w.b, "/b/app"), (&w.c, "/c/app")] {
        let message = format!("event of {account}");
        put_batches(&clients(account, R2).await, group, "web-1", &[&[&message]]).await;
    }
    let central = clients(&w.a, REGION).await;
    let envelopes = || async {
        let mut all = Vec::new();
        for key in object_keys(&central, &d.names.bucket, "raw/").await {
            all.extend(envelopes_in(
                object_bytes(&central, &d.names.bucket, &key).await,
            ));
        }
        all
    };
    let owned_by = |all: &[Value], account: &str| {
        all.iter().any(|e| {
            e["owner"] == json!(account)
                && e["logEvents"][0]["message"] == json!(format!("event of {account}"))
        })
    };
    let both = eventually(std::time::Duration::from_secs(10), || async {
        let all = envelopes().await;
        owned_by(&all, &w.b) && owned_by(&all, &w.c)
    })
    .await;
    assert!(both, "envelopes under raw/: {:#?}", envelopes().await);
}

/// The CloudWatch Logs envelopes (gzip JSON, concatenated) in an object's `bytes`.
fn envelopes_in(bytes: Vec<u8>) -> Vec<Value> {
    let text = common::moto::gunzipped(bytes);
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect()
}

#[tokio::test]
async fn a_filter_removed_by_hand_in_a_source_account_is_drift_naming_its_place_and_is_restored() {
    let w = World::new().await;
    let d = w.converged().await;
    let filter = &d.remote[0].filters.filter.name;
    let in_c = clients(&w.c, R2).await;
    (in_c.logs.delete_subscription_filter())
        .log_group_name("/c/app")
        .filter_name(filter)
        .send()
        .await
        .unwrap();
    let check = w.check(&w.full(), &Hints::default()).await;
    let found: Vec<(Op, ResourceKind, &str)> = (check.plan.actions.iter())
        .map(|a| (a.op, a.kind, a.name.as_str()))
        .collect();
    let place = format!("{}/{R2}:/c/app", w.c);
    assert_eq!(
        found,
        [(
            Op::Create,
            ResourceKind::RemoteSubscriptionFilter,
            place.as_str()
        )]
    );
    w.converge(&w.full(), &Hints::default()).await;
    assert_eq!(
        filter_names(&in_c, "/c/app").await,
        std::slice::from_ref(filter)
    );
}

#[tokio::test]
async fn a_destination_policy_widened_to_everyone_by_hand_is_found_and_narrowed() {
    let w = World::new().await;
    let d = w.converged().await;
    let want = d.destinations.iter().find(|x| x.region == R2).unwrap();
    let mut widened = want.destination.access_policy.clone().unwrap();
    widened["Statement"][0]["Principal"] = json!({"AWS": "*"});
    (clients(&w.a, R2).await.logs.put_destination_policy())
        .destination_name(&want.destination.name)
        .access_policy(widened.to_string())
        .send()
        .await
        .unwrap();
    let check = w.check(&w.full(), &Hints::default()).await;
    let [action] = &check.plan.actions[..] else {
        panic!("{:#?}", check.plan)
    };
    assert_eq!(
        (action.op, action.kind),
        (Op::Update, ResourceKind::Destination)
    );
    assert_eq!(action.changes[0].actual.as_deref(), Some("*"));
    w.converge(&w.full(), &Hints::default()).await;
    let narrowed = principals(&w.a, R2, &want.destination.name).await;
    assert_eq!(narrowed.as_array().map(Vec::len), Some(2), "{narrowed}");
}

#[tokio::test]
async fn a_group_of_an_account_the_namespace_is_not_given_is_refused_naming_the_field_and_nothing_is_called()
 {
    let w = World::new().await;
    let spec = common::spec(&format!(
        "sources:\n  remote:\n    - {{account: \"{}\", region: {R2}, logGroups: [/c/app]}}\n",
        w.c
    ));
    let before = w.engine.aws().calls().snapshot();
    let refused = w
        .engine
        .prepare(&PipelineId::new("team-y", "orders"), &spec)
        .await;
    let Err(EngineError::InvalidSpec(invalid)) = refused else {
        panic!("{refused:?}")
    };
    let [error] = &invalid.0[..] else {
        panic!("{invalid:?}")
    };
    assert_eq!(error.path, "spec.sources.remote[0].logGroups[0]");
    assert!(
        error
            .message
            .contains("namespace team-y may not subscribe log groups of account"),
        "{error}"
    );
    let after = w.engine.aws().calls().snapshot().since(&before);
    assert_eq!(after.total(), 0, "{after:?}");
}

/// The canary group of the place `account`/`region` in `d`.
fn canary_of(d: &Desired, account: &str, region: &str) -> String {
    let r = (d.remote.iter())
        .find(|r| r.place.account_id == account && r.place.region == region)
        .expect("a declared place");
    r.canary_log_group
        .as_ref()
        .expect("verify is on")
        .name
        .clone()
}

#[tokio::test]
async fn places_dropped_from_the_spec_lose_their_filters_and_the_region_its_destination() {
    let w = World::new().await;
    let d = w.converged().await;
    // C's canary group loses the owner tag: someone else's now, of the same name.
    let in_c = clients(&w.c, R2).await;
    let c_canary = canary_of(&d, &w.c, R2);
    let c_arn = format!("arn:aws:logs:{R2}:{}:log-group:{c_canary}", w.c);
    (in_c.logs.untag_resource().resource_arn(&c_arn))
        .tag_keys(OWNER_TAG)
        .send()
        .await
        .unwrap();
    let last = w.check(&w.full(), &Hints::default()).await;
    let resources = pitagora::report::resources(&last);
    let hints = Hints::from_resources(resources.iter().map(|r| (r.kind, r.name.as_str())));
    // Only B in the pipeline's region remains: C and B in R2 are dropped, and with them R2.
    let after = w.converge(&w.spec(&[2]), &hints).await;
    assert_eq!(after.desired.destinations.len(), 1);
    let filter = &d.remote[0].filters.filter.name;
    for (account, group) in [(&w.b, "/b/app"), (&w.c, "/c/app")] {
        let there = clients(account, R2).await;
        assert!(
            filter_names(&there, group).await.is_empty(),
            "{account}/{R2}:{group}"
        );
    }
    let kept = clients(&w.b, REGION).await;
    assert_eq!(
        filter_names(&kept, "/b/app").await,
        std::slice::from_ref(filter)
    );
    assert_eq!(destination_count(&w.a, R2).await, 0);
    assert_eq!(destination_count(&w.a, REGION).await, 1);
    let b_canary = canary_of(&d, &w.b, R2);
    let in_b = clients(&w.b, R2).await;
    assert!(
        !log_group_exists(&in_b, &b_canary).await,
        "B's canary group is gone"
    );
    assert!(
        log_group_exists(&in_c, &c_canary).await,
        "C's, no longer ours, is kept"
    );
    assert!(filter_names(&in_c, &c_canary).await.is_empty());
    let kept = canary_of(&d, &w.b, REGION);
    assert!(log_group_exists(&clients(&w.b, REGION).await, &kept).await);
}

#[tokio::test]
async fn deleting_removes_the_filters_in_every_source_account_the_destinations_and_the_stack() {
    let w = World::new().await;
    let d = w.converged().await;
    let id = PipelineId::new("team-x", "orders");
    let pipeline = w.engine.prepare(&id, &w.full()).await.unwrap();
    let done = (w.engine.delete(&pipeline, &Hints::default(), &mut |_| {}))
        .await
        .unwrap();
    assert!(done.complete(), "{:#?}", done.readback);
    for (account, region, group) in w.groups() {
        let there = clients(&account, region).await;
        assert!(
            filter_names(&there, group).await.is_empty(),
            "{account}/{region}:{group}"
        );
    }
    for region in [REGION, R2] {
        assert_eq!(destination_count(&w.a, region).await, 0, "{region}");
    }
    let stacks = clients(&w.a, REGION)
        .await
        .cfn
        .describe_stacks()
        .send()
        .await;
    let live = stacks.map(|s| {
        (s.stacks().iter())
            .filter(|s| s.stack_name() == Some(d.stack.name.as_str()))
            .filter(|s| s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE"))
            .count()
    });
    assert!(matches!(live, Ok(0) | Err(_)), "{live:?}");
}
