//! Pipelines in other accounts (`--accounts`): the engine acts for a namespace's pipelines with
//! the role of the account the accounts file maps it to. moto honours STS across accounts
//! (credentials from `AssumeRole` act in the role's account), so each test's controller has an
//! account of its own and each mapped account is fresh too. The controller's clients carry
//! moto's account header; assumed clients must not (moto lets the header win over credentials),
//! which is what puts the resources where these tests look for them.

use crate::common;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use common::faults::{Fault, FaultProxy, Rule, When};
use common::moto::{MotoAccount, REGION, endpoint, fresh_account, sdk_config, test_settings};
use pitagora::aws::{Aws, RegionClients};
use pitagora::desired::Desired;
use pitagora::engine::{Engine, EngineError};
use pitagora::names::PipelineId;
use pitagora::read::Hints;
use pitagora::spec::{Accounts, LogPipelineSpec};
use std::sync::Arc;

/// The role every mapped account's file entry names.
const ROLE: &str = "pitagora/pitagora-access";

/// An accounts file mapping each (namespace, account, role name) to that account's role.
fn accounts_file(maps: &[(&str, &str, &str)]) -> Accounts {
    let mut text = String::from("accounts:\n");
    for (_, account, role) in maps {
        text.push_str(&format!(
            "  - id: \"{account}\"\n    roleArn: arn:aws:iam::{account}:role/{role}\n    externalId: pitagora-test\n"
        ));
    }
    text.push_str("namespaces:\n");
    for (namespace, account, _) in maps {
        text.push_str(&format!("  {namespace}:\n    account: \"{account}\"\n"));
    }
    Accounts::parse(&text).unwrap()
}

/// The engine of a controller in a fresh account of its own with `accounts`; `extra`
/// interceptors on the controller's own clients (the STS client that assumes roles included).
async fn controller(accounts: Accounts, extra: Vec<SharedInterceptor>) -> (String, Engine) {
    let own = fresh_account();
    let mut interceptors = vec![SharedInterceptor::new(MotoAccount(own.clone()))];
    interceptors.extend(extra);
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), interceptors)
        .with_assumed_interceptors(Vec::new());
    let engine = Engine::new(Arc::new(aws)).with_accounts(accounts);
    (own, engine)
}

/// Clients of `account` (by moto's header), to look at what is there.
async fn clients_of(account: &str) -> Arc<RegionClients> {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]).region(REGION)
}

fn spec_of(namespace: &str) -> LogPipelineSpec {
    common::spec(&format!("sources:\n  logGroups: [/{namespace}/app]\n"))
}

/// Creates `namespace`'s source log group in `account`, converges its pipeline and asserts it
/// is in sync; its desired state.
async fn converged(engine: &Engine, account: &str, namespace: &str) -> Desired {
    clients_of(account)
        .await
        .logs
        .create_log_group()
        .log_group_name(format!("/{namespace}/app"))
        .send()
        .await
        .unwrap();
    let id = PipelineId::new(namespace, "orders");
    let pipeline = engine.prepare(&id, &spec_of(namespace)).await.unwrap();
    let done = engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    done.desired
}

/// The stacks, delivery streams and buckets of `account`.
async fn holdings(account: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let c = clients_of(account).await;
    let stacks = c.cfn.describe_stacks().send().await.unwrap();
    let stacks = stacks
        .stacks()
        .iter()
        .filter_map(|s| s.stack_name().map(str::to_owned));
    let streams = c.firehose.list_delivery_streams().send().await.unwrap();
    let buckets = c.s3.list_buckets().send().await.unwrap();
    let buckets = buckets
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned));
    (
        stacks.collect(),
        streams.delivery_stream_names().to_vec(),
        buckets.collect(),
    )
}

/// Whether `account` holds `desired`'s stack, stream and bucket (all three, or none).
async fn holds(account: &str, desired: &Desired) -> bool {
    let (stacks, streams, buckets) = holdings(account).await;
    let found = [
        stacks.contains(&desired.stack.name),
        streams.contains(&desired.names.stream),
        buckets.contains(&desired.names.bucket),
    ];
    assert!(found.iter().all(|f| *f == found[0]), "{account}: {found:?}");
    found[0]
}

#[tokio::test]
async fn a_namespace_mapped_to_another_account_has_its_pipeline_built_there_and_nothing_in_the_controllers()
 {
    let b = fresh_account();
    let (own, engine) = controller(accounts_file(&[("team-b", &b, ROLE)]), Vec::new()).await;
    let desired = converged(&engine, &b, "team-b").await;
    assert_eq!(desired.target.account_id, b);
    assert_eq!(
        desired.stack.role_arn,
        format!("arn:aws:iam::{b}:role/pitagora/pitagora-cloudformation"),
        "the stack's service role is the pipeline account's"
    );
    assert!(holds(&b, &desired).await);
    assert_eq!(holdings(&own).await, (vec![], vec![], vec![]));
}

#[tokio::test]
async fn two_namespaces_mapped_to_two_accounts_each_build_only_in_their_own() {
    let (b, c) = (fresh_account(), fresh_account());
    let file = accounts_file(&[("team-b", &b, ROLE), ("team-c", &c, ROLE)]);
    let (own, engine) = controller(file, Vec::new()).await;
    let in_b = converged(&engine, &b, "team-b").await;
    let in_c = converged(&engine, &c, "team-c").await;
    assert!(holds(&b, &in_b).await && !holds(&b, &in_c).await);
    assert!(holds(&c, &in_c).await && !holds(&c, &in_b).await);
    assert_eq!(holdings(&own).await, (vec![], vec![], vec![]));
}

/// Sends STS's `AssumeRole` requests to `0` (the fault proxy) instead of moto: moto grants every
/// role to anyone (it checks no trust policy), so the refusal comes from the proxy, in STS's own
/// protocol and words.
#[derive(Debug, Clone)]
struct AssumeRoleTo(String);

impl Intercept for AssumeRoleTo {
    fn name(&self) -> &'static str {
        "test::AssumeRoleTo"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        let body = request.body().bytes().unwrap_or_default();
        if String::from_utf8_lossy(body).contains("Action=AssumeRole") {
            request.set_uri(format!("{}/", self.0))?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_its_namespace_naming_the_role_and_aws_answer_and_no_other()
 {
    let (b, c) = (fresh_account(), fresh_account());
    let proxy = FaultProxy::start(&endpoint(), &fresh_account(), 29).await;
    proxy.set_rules(vec![
        Rule::new(Fault::AccessDenied, When::Always)
            .service("sts")
            .operations(&["AssumeRole"])
            .mentioning("denied-role"),
    ]);
    let file = accounts_file(&[("team-b", &b, ROLE), ("team-c", &c, "denied-role")]);
    let redirect = SharedInterceptor::new(AssumeRoleTo(proxy.endpoint.clone()));
    let (_, engine) = controller(file, vec![redirect]).await;

    let refused = engine
        .prepare(&PipelineId::new("team-c", "orders"), &spec_of("team-c"))
        .await
        .unwrap_err();
    assert_eq!(refused.label(), "RoleNotAssumed");
    let EngineError::RoleNotAssumed { role_arn, .. } = &refused else {
        unreachable!()
    };
    assert_eq!(role_arn, &format!("arn:aws:iam::{c}:role/denied-role"));
    let message = refused.to_string();
    for says in [
        "namespace team-c",
        role_arn.as_str(),
        "not authorized to perform: sts:AssumeRole",
    ] {
        assert!(message.contains(says), "{says:?} in {message}");
    }
    assert_eq!(holdings(&c).await, (vec![], vec![], vec![]));
    // The other namespace's role is granted: its pipeline converges in its account.
    let in_b = converged(&engine, &b, "team-b").await;
    assert!(holds(&b, &in_b).await);
}
