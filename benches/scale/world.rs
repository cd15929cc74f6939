//! The benchmark's world in the emulator: an account of its own per scenario, N pipelines with
//! G source log groups each, all in one region, and the engines that act on it.

use super::measure::Departures;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use futures::StreamExt;
use pitagora::aws::{Aws, AwsSettings, Limits, RegionClients, RetryPolicy};
use pitagora::desired::Pipeline;
use pitagora::engine::Engine;
use pitagora::names::PipelineId;
use std::sync::Arc;
use std::time::Duration;

pub const REGION: &str = "eu-west-1";

/// Sends every request to one moto account (moto reads the account from this header).
#[derive(Debug)]
struct Account(String);

impl Intercept for Account {
    fn name(&self) -> &'static str {
        "bench::Account"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let header = self.0.clone();
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", header);
        Ok(())
    }
}

/// A 12-digit account id no earlier scenario used.
pub fn fresh_account() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:012}", nanos % 1_000_000_000_000)
}

/// One scenario's AWS: pitagora's access at the given limits (counting its calls and when they
/// left) and an outsider's that counts nothing.
pub struct World {
    pub account: String,
    /// Where the pipelines' log groups live: `<root>/pNNNN/gNN`.
    pub root: String,
    pub n: usize,
    pub groups: usize,
    pub departures: Departures,
}

impl World {
    pub fn new(n: usize, groups: usize) -> Self {
        Self::in_account(fresh_account(), n, groups)
    }

    /// A world in `account` (the emulator's default one is what a `pitagora` binary reaches).
    pub fn in_account(account: String, n: usize, groups: usize) -> Self {
        Self {
            account,
            root: "/bench".into(),
            n,
            groups,
            departures: Departures::default(),
        }
    }

    /// pitagora's AWS access in this world's account at `limits`.
    pub async fn aws(&self, limits: Limits) -> Arc<Aws> {
        let settings = AwsSettings {
            endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
            region: Some(REGION.into()),
            retry: RetryPolicy {
                total: Duration::from_secs(120),
                ..RetryPolicy::default()
            },
            sdk_retries: false,
            settle_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(100),
            limits,
            ..AwsSettings::default()
        };
        let interceptors = vec![
            SharedInterceptor::new(Account(self.account.clone())),
            SharedInterceptor::new(self.departures.clone()),
        ];
        Arc::new(Aws::from_config(config().await, settings, interceptors))
    }

    /// Clients of someone else changing AWS: their calls are not pitagora's.
    pub async fn outsider(&self) -> Arc<RegionClients> {
        let settings = AwsSettings {
            endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
            region: Some(REGION.into()),
            sdk_retries: false,
            limits: Limits::unlimited(),
            ..AwsSettings::default()
        };
        let header = SharedInterceptor::new(Account(self.account.clone()));
        Aws::from_config(config().await, settings, vec![header]).region(REGION)
    }

    /// The source log group `j` of pipeline `i`.
    pub fn group(&self, i: usize, j: usize) -> String {
        format!("{}/p{i:04}/g{j:02}", self.root)
    }

    /// Creates every pipeline's source log groups (not measured).
    pub async fn create_groups(&self) {
        let c = self.outsider().await;
        let names: Vec<String> = (0..self.n)
            .flat_map(|i| (0..self.groups).map(move |j| self.group(i, j)))
            .collect();
        futures::stream::iter(names)
            .for_each_concurrent(16, |name| {
                let c = c.clone();
                async move {
                    let made = c.logs.create_log_group().log_group_name(name).send().await;
                    // A rerun against the same emulator finds them made.
                    if let Err(e) = made {
                        let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e);
                        assert_eq!(code, Some("ResourceAlreadyExistsException"), "{e:?}");
                    }
                }
            })
            .await;
    }

    /// The pipelines, placed in the account: `bench/pNNNN`, selecting `/bench/pNNNN/`.
    pub async fn pipelines(&self, engine: &Engine) -> Vec<Pipeline> {
        let mut out = Vec::with_capacity(self.n);
        for i in 0..self.n {
            out.push(place(engine, &self.root, i).await);
        }
        out
    }
}

/// Pipeline `i` (its spec, validated and placed in the engine's account).
pub async fn place(engine: &Engine, root: &str, i: usize) -> Pipeline {
    let yaml = format!("sources:\n  logGroupPrefixes: [{root}/p{i:04}/]\n");
    let spec = serde_saphyr::from_str(&yaml).expect("bench spec parses");
    let id = PipelineId::new("bench", format!("p{i:04}"));
    engine
        .prepare(&id, &spec)
        .await
        .expect("bench spec is valid")
}

/// A LogPipeline document for pipeline `i` in `namespace`, as a user writes it, with `extra`
/// lines of its spec.
pub fn document(namespace: &str, root: &str, i: usize, extra: &str) -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: p{i:04}\n  \
         namespace: {namespace}\nspec:\n  region: {REGION}\n  sources:\n    logGroupPrefixes: \
         [{root}/p{i:04}/]\n{extra}"
    )
}

async fn config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("run under scripts/with-moto.sh");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}
