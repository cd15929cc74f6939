//! Loss signals and the completeness audit of a pipeline with a remote source in another
//! account, end to end against moto: the pipeline in account A (the base credentials') takes
//! `/ecs/orders` there and every group under `/b/` of source account B in [`R2`], reached
//! through the accounts file's role. The audit counts the events logged in B (FilterLogEvents
//! with B's role) and delivered through A's destination (moto delivers through destinations,
//! the launcher's correction 6), per group with its place. B's subscription metrics are read
//! with B's role in B's region: GetMetricData speaks CloudWatch's RPCv2 CBOR, which moto does not
//! serve (see signals.rs), so a canned server answers it, one that only the assumed role's
//! clients reach and another for the pipeline's own. A place nobody gave credentials for is an
//! error naming it, while the pipeline's own signals are still read.

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::canned::{self, Canned, CloudWatchTo};
use common::moto::{
    MotoAccount, REGION, endpoint, fresh_account, now_ms, put_batches, sdk_config, test_settings,
};
use pitagora::arn::AwsTarget;
use pitagora::aws::{Aws, AwsError, Places, RegionClients};
use pitagora::delivery::audit::{Audit, Window};
use pitagora::delivery::signals::{self, SignalKind};
use pitagora::delivery_io::audit::{AuditError, Request, audit};
use pitagora::engine::{Engine, LossReadError};
use pitagora::names::PipelineId;
use pitagora::plan::Check;
use pitagora::read::Hints;
use pitagora::spec::{Accounts, LogPipelineSpec};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The source account's region (the pipeline's is [`REGION`]).
const R2: &str = "us-east-1";
/// The source group in B.
const SOURCE: &str = "/b/app";
/// The pipeline's own source group in A.
const OWN: &str = "/ecs/orders";

/// A controller's engine acting in fresh account A for `team-x`, which may take `/b/` of fresh
/// account B in [`R2`]; CloudWatch's metric calls go to `own` (A's) and `source` (every assumed
/// role's: B's).
struct World {
    engine: Engine,
    a: String,
    b: String,
    own: Canned,
    source: Canned,
}

impl World {
    async fn new() -> Self {
        let (a, b) = (fresh_account(), fresh_account());
        let text = format!(
            "accounts:\n  - id: \"{b}\"\n    roleArn: arn:aws:iam::{b}:role/pitagora/access\n    externalId: pitagora-test\nnamespaces:\n  team-x:\n    sources:\n      - account: \"{b}\"\n        regions: [{R2}]\n        logGroupPrefixes: [/b/]\n"
        );
        let (own, source) = (canned::serve().await, canned::serve().await);
        let base = vec![
            SharedInterceptor::new(MotoAccount(a.clone())),
            SharedInterceptor::new(CloudWatchTo(own.url.clone())),
        ];
        let assumed = vec![SharedInterceptor::new(CloudWatchTo(source.url.clone()))];
        let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), base)
            .with_assumed_interceptors(assumed);
        let engine = Engine::new(Arc::new(aws)).with_accounts(Accounts::parse(&text).unwrap());
        Self {
            engine,
            a,
            b,
            own,
            source,
        }
    }

    fn spec(&self) -> LogPipelineSpec {
        common::spec(&format!(
            "sources:\n  logGroups: [{OWN}]\n  remote:\n    - {{account: \"{}\", region: {R2}, logGroupPrefixes: [/b/]}}\ndelivery:\n  recordFormat: Envelope\n",
            self.b
        ))
    }

    /// B's place, as reports name it.
    fn place(&self) -> String {
        format!("{}/{R2}", self.b)
    }

    /// Both source groups created, then the pipeline converged; its last check.
    async fn converged(&self) -> Check {
        let own = clients(&self.a, REGION).await;
        let there = clients(&self.b, R2).await;
        for (c, group) in [(&own, OWN), (&there, SOURCE)] {
            (c.logs.create_log_group().log_group_name(group).send())
                .await
                .unwrap();
        }
        let id = PipelineId::new("team-x", "orders");
        let pipeline = self.engine.prepare(&id, &self.spec()).await.unwrap();
        let done = (self
            .engine
            .converge(&pipeline, &Hints::default(), &mut |_| {}))
        .await
        .unwrap();
        assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
        done.check()
    }

    /// The audit of the window from `since` until a second from now, as the CLI makes it.
    async fn audited(&self, since: i64) -> Result<Audit, AuditError> {
        let id = PipelineId::new("team-x", "orders");
        let pipeline = self.engine.prepare(&id, &self.spec()).await.unwrap();
        let check = (self.engine.check(&pipeline, &Hints::default()))
            .await
            .unwrap();
        let until = now_ms() + 1_000;
        let window = Window {
            since_ms: since,
            until_ms: until,
        };
        let request = Request::new(&pipeline, &check, window, until);
        let places = self.engine.places_for(&check.desired);
        audit(&places, &request, &mut |_| {}).await
    }
}

/// Clients acting as `account` in `region` (moto's header), out of band.
async fn clients(account: &str, region: &str) -> RegionClients {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]);
    aws.region(region).as_ref().clone()
}

/// Each group's place, name, logged and delivered events, and missing ids.
type Counted = Vec<(Option<String>, String, u64, u64, Vec<String>)>;

fn counted(a: &Audit) -> Counted {
    (a.groups.iter())
        .map(|g| {
            let c = &g.counts;
            let missing = g.missing_ids.clone();
            (
                g.place.clone(),
                g.log_group.clone(),
                c.logged,
                c.delivered,
                missing,
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_counts_the_source_accounts_events_delivered_through_the_destination_with_their_place()
 {
    let w = World::new().await;
    w.converged().await;
    let since = now_ms() - 1_000;
    let there = clients(&w.b, R2).await;
    put_batches(&there, SOURCE, "web-1", &[&["b1", "b2"], &["b3"]]).await;
    put_batches(&clients(&w.a, REGION).await, OWN, "web-1", &[&["a1"]]).await;

    let a = w.audited(since).await.unwrap();

    assert!(a.complete(), "{a:#?}");
    assert_eq!(
        counted(&a),
        [
            (None, OWN.to_owned(), 1, 1, vec![]),
            (Some(w.place()), SOURCE.to_owned(), 3, 3, vec![]),
        ],
        "the canary groups of both places are left out"
    );
}

#[tokio::test]
async fn events_logged_in_the_source_account_after_its_filter_is_gone_are_missing_with_their_place()
{
    let w = World::new().await;
    let check = w.converged().await;
    let there = clients(&w.b, R2).await;
    (there.logs.delete_subscription_filter())
        .log_group_name(SOURCE)
        .filter_name(&check.desired.filters.filter.name)
        .send()
        .await
        .unwrap();
    let since = now_ms() - 1_000;
    put_batches(&there, SOURCE, "web-1", &[&["lost"]]).await;

    let a = w.audited(since).await.unwrap();

    assert!(!a.complete());
    let g = (a.groups.iter())
        .find(|g| g.place.as_deref() == Some(w.place().as_str()))
        .expect("the source group, with its place");
    assert_eq!((g.log_group.as_str(), g.subscribed), (SOURCE, false));
    assert_eq!((g.counts.logged, g.counts.missing), (1, 1));
    assert_eq!(g.missing_ids.len(), 1);
}

#[tokio::test]
async fn a_source_place_without_credentials_fails_the_audit_naming_the_place() {
    let w = World::new().await;
    let check = w.converged().await;
    let id = PipelineId::new("team-x", "orders");
    let pipeline = w.engine.prepare(&id, &w.spec()).await.unwrap();
    let window = Window {
        since_ms: now_ms() - 60_000,
        until_ms: now_ms(),
    };
    let request = Request::new(&pipeline, &check, window, now_ms());
    let header = SharedInterceptor::new(MotoAccount(w.a.clone()));
    let base = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]);
    let only_a = Places::new(&w.a, Arc::new(base));

    let e = audit(&only_a, &request, &mut |_| {}).await.unwrap_err();

    let AuditError::Remote { place, source } = &e else {
        panic!("{e}")
    };
    assert_eq!(place, &w.place());
    assert!(matches!(source, AwsError::NoRole { account } if account == &w.b));
    assert!(
        e.to_string().starts_with(&format!("{}: ", w.place())),
        "{e}"
    );
}

/// The id of `metric`'s query for `group` among a remote place's `groups`.
fn query_id(check: &Check, groups: &[String], metric: &str, group: &str) -> String {
    let queries = signals::group_queries(&check.desired.signal_pipeline(), groups);
    let q = queries.into_iter().find(|q| {
        q.metric == metric && (q.dimensions.iter()).any(|(n, v)| *n == "LogGroupName" && v == group)
    });
    q.unwrap_or_else(|| panic!("no {metric} query for {group}"))
        .id
}

#[tokio::test]
async fn the_source_accounts_delivery_errors_are_read_with_its_role_in_its_region_and_name_the_place()
 {
    let w = World::new().await;
    let check = w.converged().await;
    let sources = check.observed.signal_sources(&check.desired);
    let [(place, groups)] = &sources.remote[..] else {
        panic!("one remote place: {sources:?}")
    };
    assert_eq!(place, &AwsTarget::new(&w.b, R2));
    assert!(groups.contains(&SOURCE.to_owned()), "{groups:?}");
    let id = query_id(&check, groups, "DeliveryErrors", SOURCE);
    let now = now_ms();
    *w.source.body.lock().unwrap() = canned::metric_data(&[(&id, vec![(now - 180_000, 7.0)])]);

    let read = (w
        .engine
        .loss_signals(&check.desired, &sources, now - 60_000, now))
    .await;

    assert!(read.errors.is_empty(), "{:?}", read.errors);
    let [s] = &read.signals[..] else {
        panic!("one signal: {:?}", read.signals)
    };
    let resource = format!("{}:{SOURCE}", w.place());
    assert_eq!(
        (s.kind, s.resource.as_str(), s.value),
        (SignalKind::DeliveryErrors, resource.as_str(), 7.0)
    );
    let lead = format!("{}: DeliveryErrors: 7 events of {SOURCE}", w.place());
    assert!(s.message.starts_with(&lead), "{}", s.message);
    // One call with B's role, signed for B's region; one with A's own credentials.
    assert_eq!(*w.source.regions.lock().unwrap(), [R2]);
    assert_eq!(*w.own.regions.lock().unwrap(), [REGION]);
    assert_eq!(w.source.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_place_without_credentials_is_a_signal_read_error_naming_it_and_the_own_signals_are_still_read()
 {
    let w = World::new().await;
    let check = w.converged().await;
    let nobody = fresh_account();
    let mut sources = check.observed.signal_sources(&check.desired);
    sources.remote = vec![(AwsTarget::new(&nobody, R2), vec![SOURCE.to_owned()])];
    let own_id = signals::queries(&check.desired.signal_pipeline(), &sources.home)
        .into_iter()
        .find(|q| q.metric == "ThrottledRecords")
        .unwrap()
        .id;
    let now = now_ms();
    *w.own.body.lock().unwrap() = canned::metric_data(&[(&own_id, vec![(now - 240_000, 3.0)])]);

    let read = (w
        .engine
        .loss_signals(&check.desired, &sources, now - 60_000, now))
    .await;

    let kinds: Vec<SignalKind> = read.signals.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SignalKind::ThrottledRecords]);
    let [e] = &read.errors[..] else {
        panic!("one error: {:?}", read.errors)
    };
    let place = format!("{nobody}/{R2}");
    assert_eq!(e.place(), Some(place.as_str()));
    assert_eq!(e.label(), "NoRole");
    assert!(matches!(e, LossReadError::Remote { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("{place}: no credentials for account {nobody}")),
        "{e}"
    );
    assert_eq!(w.source.requests.load(Ordering::SeqCst), 0);
}
