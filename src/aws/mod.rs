//! The AWS edge: SDK clients per region, built once from the standard aws-config chain
//! (environment, profile, web identity / IRSA) with pitagora's call counter on every client.
//! `AWS_ENDPOINT_URL` (or `--endpoint-url`) points everything at an emulator such as moto.

pub mod assume;
pub mod budget;
pub mod build;
pub mod calls;
pub mod cloudformation;
pub mod compat;
pub mod error;
pub mod firehose;
pub mod http;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod places;
pub mod rate;
pub mod s3;
pub mod sns;
pub mod tagging;

pub use calls::{CallCounter, CallStats, ThrottleStats};
pub use error::{AwsError, RetryPolicy};
pub use places::Places;
pub use rate::{Limits, LimitsError, RateLimiter};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::SharedInterceptor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long the first question of a run keeps asking AWS (see [`Aws::probe`]): a passing
/// fault clears within it; a wrong endpoint or no network does not, and waiting longer only
/// delays the error a CI job should show.
pub const PROBE_WINDOW: Duration = Duration::from_secs(5);

/// How pitagora talks to AWS.
#[derive(Clone, Debug)]
pub struct AwsSettings {
    /// Endpoint override for every service (an emulator); `None`: AWS's endpoints (or
    /// `AWS_ENDPOINT_URL`, which aws-config reads itself).
    pub endpoint_url: Option<String>,
    /// Region override; `None`: the standard chain.
    pub region: Option<String>,
    /// Retries of pitagora's own layer.
    pub retry: RetryPolicy,
    /// Whether the SDK's own retries stay on (off in tests: pitagora's layer is what is tested,
    /// and each SDK retry of an emulator's 500 costs seconds).
    pub sdk_retries: bool,
    /// Longest wait for a stack or stream to settle.
    pub settle_timeout: Duration,
    /// First interval between two polls of a settling resource (doubles up to 10 s).
    pub poll_interval: Duration,
    /// Client-side rate limits per operation (see [`rate`]); off against an emulator in tests.
    pub limits: rate::Limits,
    /// Longest wait for one attempt's answer: a server that takes a request and never answers
    /// (a half-open connection, a stuck proxy) costs one attempt, not the reconcile.
    pub attempt_timeout: Duration,
    /// The service role CloudFormation acts through on every stack operation; `None`:
    /// `role/pitagora/pitagora-cloudformation` in each pipeline's account and partition.
    pub cloudformation_role_arn: Option<String>,
    /// Subscription filters a log group may hold, until AWS answers otherwise (see
    /// [`crate::observed::FilterLimit`]).
    pub filters_per_log_group: usize,
}

/// Default [`AwsSettings::attempt_timeout`]: AWS's control-plane calls answer in seconds; a
/// large S3 listing page in well under a minute.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: None,
            retry: RetryPolicy::default(),
            sdk_retries: true,
            settle_timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(2),
            limits: rate::Limits::aws(),
            attempt_timeout: ATTEMPT_TIMEOUT,
            cloudformation_role_arn: None,
            filters_per_log_group: crate::observed::DOCUMENTED_FILTERS_PER_LOG_GROUP,
        }
    }
}

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    /// The region.
    pub region: String,
    /// Whose clients these are, for reads shared between pipelines: the region for the base
    /// credentials', `<role ARN>/<region>` for an assumed role's (another account's answers are
    /// never shared with a pipeline of this one).
    pub scope: String,
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// Kinesis Data Firehose.
    pub firehose: aws_sdk_firehose::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch (the delivery metrics that reveal loss).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// IAM (global; the stack's roles).
    pub iam: aws_sdk_iam::Client,
    /// Lambda (the permissions on the user's functions).
    pub lambda: aws_sdk_lambda::Client,
    /// Resource Groups Tagging (the tags of many resources in one walk).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// EventBridge (the rule that hears of changes).
    pub events: aws_sdk_eventbridge::Client,
    /// SQS (the queue the changes wait in).
    pub sqs: aws_sdk_sqs::Client,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Longest wait for a stack or stream to settle.
    pub settle_timeout: Duration,
    /// First poll interval while settling.
    pub poll_interval: Duration,
    /// Rate limits shared by every region's clients.
    pub limiter: Arc<RateLimiter>,
    /// Stack templates already read in this region (every write through `cfn` forgets its
    /// stack's).
    pub templates: Arc<cloudformation::TemplateCache>,
    /// The subscription filter limit as AWS has shown it, shared by every region's clients.
    pub filter_limits: Arc<logs::FilterLimits>,
}

impl RegionClients {
    /// Sends one SDK call through the rate limiter and the retry policy (see
    /// [`error::send_limited`]).
    pub async fn send<T, E, F, Fut>(&self, operation: &str, send: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<
                Output = Result<
                    T,
                    aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
                >,
            >,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        error::send_limited(
            &self.retry,
            Some((&self.limiter, &self.region)),
            operation,
            send,
        )
        .await
    }

    /// [`RegionClients::send`] without retries, for calls inside an outer retry loop.
    pub async fn send_once<T, E, F, Fut>(&self, operation: &str, send: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<
                Output = Result<
                    T,
                    aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
                >,
            >,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        error::send_limited(
            &RetryPolicy::once(),
            Some((&self.limiter, &self.region)),
            operation,
            send,
        )
        .await
    }
}

/// Access to AWS: the base configuration, the call counter, and clients per region; either the
/// base credentials' or, made by [`Aws::assume`], a role's in another account.
pub struct Aws {
    base: SdkConfig,
    settings: AwsSettings,
    calls: CallCounter,
    interceptors: Vec<SharedInterceptor>,
    regions: Mutex<HashMap<String, Arc<RegionClients>>>,
    account: OnceCell<String>,
    limiter: Arc<RateLimiter>,
    filter_limits: Arc<logs::FilterLimits>,
    /// What the base credentials share with every role they assume.
    accounts: Arc<AccountsShared>,
    /// The role these clients act as, when assumed, and whether STS granted it once.
    role: Option<(assume::AssumedRole, OnceCell<()>)>,
}

/// The rate limits and the filter limit of one account.
type AccountLimits = (Arc<RateLimiter>, Arc<logs::FilterLimits>);

/// What an [`Aws`] of the base credentials and every [`Aws`] it assumed share.
#[derive(Default)]
struct AccountsShared {
    /// Interceptors of clients acting as an assumed role (see [`Aws::with_assumed_interceptors`]).
    interceptors: Vec<SharedInterceptor>,
    /// Assumed access by (role ARN, session name).
    assumed: Mutex<HashMap<(String, String), Arc<Aws>>>,
    /// Rate limits and filter limits per account: AWS's quotas are per account and region, so
    /// every session in one account shares one schedule.
    per_account: Mutex<HashMap<String, AccountLimits>>,
    /// The share of every limit this process uses (see [`Aws::set_share`]).
    share: Mutex<Option<f64>>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("region", &self.base.region())
            .field("settings", &self.settings)
            .finish()
    }
}

impl Aws {
    /// Loads the standard configuration chain, applying `settings`' overrides.
    pub async fn load(settings: AwsSettings) -> Self {
        // The credential providers the chain builds share the client too.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http::shared_https_client());
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if !settings.sdk_retries {
            loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
        }
        Self::from_config(loader.load().await, settings, Vec::new())
    }

    /// Uses an already loaded configuration; `interceptors` are added to every client (tests
    /// use one to isolate their state in the emulator).
    pub fn from_config(
        base: SdkConfig,
        settings: AwsSettings,
        interceptors: Vec<SharedInterceptor>,
    ) -> Self {
        // Keep the connect timeout the loader chose; add the per-attempt bound.
        let timeouts = base
            .timeout_config()
            .map(|t| t.to_builder())
            .unwrap_or_default()
            .operation_attempt_timeout(settings.attempt_timeout)
            .build();
        let client = base.http_client().unwrap_or_else(http::shared_https_client);
        let base = base
            .to_builder()
            .timeout_config(timeouts)
            .http_client(client)
            .build();
        Self {
            base,
            calls: CallCounter::default(),
            interceptors,
            regions: Mutex::new(HashMap::new()),
            account: OnceCell::new(),
            limiter: Arc::new(RateLimiter::new(settings.limits.clone())),
            filter_limits: Arc::new(logs::FilterLimits::new(settings.filters_per_log_group)),
            settings,
            accounts: Arc::default(),
            role: None,
        }
    }

    /// This access with `interceptors` on the clients of every role it assumes, instead of the
    /// base credentials' (which may name their identity: moto's account header wins over
    /// assumed credentials, so tests keep it off assumed clients). Call before any assumption.
    pub fn with_assumed_interceptors(mut self, interceptors: Vec<SharedInterceptor>) -> Self {
        let shared = Arc::get_mut(&mut self.accounts)
            .expect("assumed interceptors are set before any role is assumed");
        shared.interceptors = interceptors;
        self
    }

    /// The service role set for stack operations, if any (see
    /// [`AwsSettings::cloudformation_role_arn`]).
    pub fn cloudformation_role_arn(&self) -> Option<&str> {
        self.settings.cloudformation_role_arn.as_deref()
    }

    /// The call counter shared by every client.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// The rate limiter shared by every region's clients.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Uses `share` of every limit, in the base account and every assumed one (see
    /// [`RateLimiter::set_share`]), also in accounts assumed later.
    pub fn set_share(&self, share: f64) {
        let shared = &self.accounts;
        *shared.share.lock().unwrap_or_else(|p| p.into_inner()) = Some(share);
        self.limiter.set_share(share);
        let accounts = shared.per_account.lock().unwrap_or_else(|p| p.into_inner());
        for (limiter, _) in accounts.values() {
            limiter.set_share(share);
        }
    }

    /// The configured default region, if any.
    pub fn default_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    /// The account the credentials belong to (asked once, then remembered), asked in the
    /// configured region.
    pub async fn account_id(&self) -> Result<String, AwsError> {
        self.account_with(&self.settings.retry, None, None).await
    }

    /// The identity these credentials act as (`sts:GetCallerIdentity`'s ARN), asked in
    /// `region`: how pitagora recognises the events of its own writes.
    pub async fn caller_arn(&self, region: &str) -> Result<String, AwsError> {
        const OPERATION: &str = "STS.GetCallerIdentity";
        let mut config = aws_sdk_sts::config::Builder::from(&self.base)
            .interceptor(self.calls.clone())
            .region(Region::new(region.to_owned()));
        for i in &self.interceptors {
            config.push_interceptor(i.clone());
        }
        let sts = aws_sdk_sts::Client::from_conf(config.build());
        let out = error::send(&self.settings.retry, OPERATION, || {
            sts.get_caller_identity().send()
        })
        .await?;
        out.arn.ok_or_else(|| AwsError::Rejected {
            operation: OPERATION.into(),
            code: "NoArn".into(),
            message: "the response named no identity".into(),
        })
    }

    /// [`Aws::account_id`], asked in `region` when the configuration names none (a spec's
    /// `region` is enough to work without one).
    pub async fn account_id_in(&self, region: &str) -> Result<String, AwsError> {
        self.account_with(&self.settings.retry, None, Some(region))
            .await
    }

    /// The account, asked as the first question of a run (in `region` when the configuration
    /// names none): it gives up after [`PROBE_WINDOW`], attempts included, retrying within it
    /// for at most `--aws-timeout` and without the SDK's own retries on top, so a wrong
    /// endpoint, no network or an endpoint that never answers fails in seconds, with its cause.
    pub async fn probe(&self, region: &str) -> Result<String, AwsError> {
        let policy = RetryPolicy {
            total: PROBE_WINDOW.min(self.settings.retry.total),
            max_delay: Duration::from_secs(1),
            ..self.settings.retry
        };
        self.account_with(&policy, Some(PROBE_WINDOW), Some(region))
            .await
    }

    /// The account, asked with `policy`'s retries; `deadline`: the whole question's bound, with
    /// the SDK's own retries off (they would wait on inside one of pitagora's attempts).
    async fn account_with(
        &self,
        policy: &RetryPolicy,
        deadline: Option<Duration>,
        region: Option<&str>,
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "STS.GetCallerIdentity";
        self.account
            .get_or_try_init(|| async {
                let mut config =
                    aws_sdk_sts::config::Builder::from(&self.base).interceptor(self.calls.clone());
                let region = match (self.base.region(), region) {
                    (Some(configured), _) => configured.to_string(),
                    (None, Some(region)) => {
                        config = config.region(Region::new(region.to_owned()));
                        region.to_owned()
                    }
                    (None, None) => String::new(),
                };
                if deadline.is_some() {
                    config = config.retry_config(aws_config::retry::RetryConfig::disabled());
                }
                for i in &self.interceptors {
                    config.push_interceptor(i.clone());
                }
                let sts = aws_sdk_sts::Client::from_conf(config.build());
                let ask = || sts.get_caller_identity().send();
                let out = match deadline {
                    Some(deadline) => {
                        let endpoint = self
                            .base
                            .endpoint_url()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("AWS STS in {region}"));
                        error::send_within(policy, deadline, &endpoint, OPERATION, ask).await?
                    }
                    None => error::send(policy, OPERATION, ask).await?,
                };
                out.account.ok_or_else(|| AwsError::Rejected {
                    operation: OPERATION.into(),
                    code: "NoAccount".into(),
                    message: "the response named no account".into(),
                })
            })
            .await
            .cloned()
    }

    /// The clients of `region` (made on first use).
    pub fn region(&self, region: &str) -> Arc<RegionClients> {
        let mut regions = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        regions
            .entry(region.to_owned())
            .or_insert_with(|| Arc::new(self.make_clients(region)))
            .clone()
    }

    fn make_clients(&self, region: &str) -> RegionClients {
        let base = self
            .base
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build();
        macro_rules! client {
            ($krate:ident) => {{
                let mut config =
                    $krate::config::Builder::from(&base).interceptor(self.calls.clone());
                for i in &self.interceptors {
                    config.push_interceptor(i.clone());
                }
                $krate::Client::from_conf(config.build())
            }};
        }
        // Emulators serve every bucket under one host: path-style addressing.
        let s3 = {
            let mut config = aws_sdk_s3::config::Builder::from(&base)
                .interceptor(self.calls.clone())
                .interceptor(compat::EmptyNotificationCompat)
                .force_path_style(self.base.endpoint_url().is_some());
            for i in &self.interceptors {
                config.push_interceptor(i.clone());
            }
            aws_sdk_s3::Client::from_conf(config.build())
        };
        let templates = Arc::<cloudformation::TemplateCache>::default();
        let cfn = {
            let mut config = aws_sdk_cloudformation::config::Builder::from(&base)
                .interceptor(self.calls.clone())
                .interceptor(cloudformation::StackWrites(templates.clone()));
            for i in &self.interceptors {
                config.push_interceptor(i.clone());
            }
            aws_sdk_cloudformation::Client::from_conf(config.build())
        };
        RegionClients {
            region: region.to_owned(),
            scope: match self.role_arn() {
                Some(role) => format!("{role}/{region}"),
                None => region.to_owned(),
            },
            cfn,
            firehose: client!(aws_sdk_firehose),
            logs: client!(aws_sdk_cloudwatchlogs),
            cloudwatch: client!(aws_sdk_cloudwatch),
            s3,
            sns: client!(aws_sdk_sns),
            iam: client!(aws_sdk_iam),
            lambda: client!(aws_sdk_lambda),
            tagging: client!(aws_sdk_resourcegroupstagging),
            events: client!(aws_sdk_eventbridge),
            sqs: client!(aws_sdk_sqs),
            retry: self.settings.retry,
            settle_timeout: self.settings.settle_timeout,
            poll_interval: self.settings.poll_interval,
            limiter: self.limiter.clone(),
            templates,
            filter_limits: self.filter_limits.clone(),
        }
    }
}
