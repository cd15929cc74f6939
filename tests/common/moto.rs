//! The AWS peer for integration tests: moto in server mode, reached through the real Rust SDK.
//!
//! Start it with `scripts/moto.sh start` (the test script does); tests read its endpoint from
//! `PITAGORA_MOTO_ENDPOINT` (or `AWS_ENDPOINT_URL`). Every test gets its own AWS account (the
//! `x-moto-account-id` header), so tests run in parallel without sharing state.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use pitagora::aws::{Aws, AwsSettings, RegionClients, RetryPolicy};
use pitagora::engine::Engine;
use pitagora::names::PipelineId;
use pitagora::spec::LogPipelineSpec;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The region every integration test uses.
pub const REGION: &str = "eu-west-1";

/// The emulator's endpoint; fails with instructions when it is not running.
pub fn endpoint() -> String {
    std::env::var("PITAGORA_MOTO_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect(
            "these tests need the moto server: run them with scripts/test.sh, or start it with \
             `scripts/moto.sh start` and `eval \"$(scripts/moto.sh env)\"`",
        )
}

/// moto's account for requests that name none (the `pitagora` binary's).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A 12-digit account id no other test (of this run or an earlier one) uses.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mixed = (nanos / 1000)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(u64::from(std::process::id()) << 20)
        .wrapping_add(n.wrapping_mul(1442695040888963407));
    format!("{:012}", 100_000_000_000 + mixed % 899_999_999_999)
}

/// Puts every request of a client into one moto account.
#[derive(Debug, Clone)]
pub struct MotoAccount(pub String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "test::MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// One test's AWS: its own account in moto, the engine, and clients for fixtures and checks.
pub struct Moto {
    /// The account.
    pub account: String,
    /// pitagora's AWS access (with the call counter).
    pub aws: Arc<Aws>,
    /// The engine over it.
    pub engine: Engine,
    /// The region's clients (the same ones the engine uses).
    pub c: Arc<RegionClients>,
    /// Lambda, for the user-owned functions.
    pub lambda: aws_sdk_lambda::Client,
    /// IAM, for the functions' role and for checking pitagora's roles.
    pub iam: aws_sdk_iam::Client,
}

/// Settings for tests: the emulator answers at once, so deadlines are short and SDK retries
/// (which would spend seconds on each emulator 500) are off.
pub fn test_settings() -> AwsSettings {
    AwsSettings {
        endpoint_url: Some(endpoint()),
        region: Some(REGION.into()),
        retry: RetryPolicy {
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            total: Duration::from_secs(2),
        },
        sdk_retries: false,
        settle_timeout: Duration::from_secs(10),
        poll_interval: Duration::from_millis(50),
        limits: pitagora::aws::Limits::unlimited(),
        attempt_timeout: Duration::from_secs(20),
        cloudformation_role_arn: None,
        filters_per_log_group: pitagora::observed::DOCUMENTED_FILTERS_PER_LOG_GROUP,
    }
}

/// The SDK configuration of a test account.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

impl Moto {
    /// A fresh account.
    pub async fn new() -> Self {
        Self::with_interceptors(Vec::new()).await
    }

    /// A fresh account whose engine's clients also run `extra` (e.g. to send one service's
    /// requests elsewhere).
    pub async fn with_interceptors(extra: Vec<SharedInterceptor>) -> Self {
        Self::in_account(fresh_account(), extra).await
    }

    /// `account` (e.g. [`DEFAULT_ACCOUNT`], the one a `pitagora` binary without the account
    /// header reaches), with `extra` interceptors.
    pub async fn in_account(account: String, extra: Vec<SharedInterceptor>) -> Self {
        Self::at(&endpoint(), account, extra, test_settings()).await
    }

    /// `account` reached at `endpoint` (e.g. a fault proxy in front of moto) with `settings`;
    /// the fixtures' clients (Lambda, IAM) go to moto directly.
    pub async fn at(
        endpoint: &str,
        account: String,
        extra: Vec<SharedInterceptor>,
        settings: AwsSettings,
    ) -> Self {
        let header = SharedInterceptor::new(MotoAccount(account.clone()));
        let mut interceptors = vec![header.clone()];
        interceptors.extend(extra);
        let settings = AwsSettings {
            endpoint_url: Some(endpoint.to_owned()),
            ..settings
        };
        let aws = Arc::new(Aws::from_config(
            sdk_config(endpoint).await,
            settings,
            interceptors,
        ));
        let base = sdk_config(&super::moto::endpoint()).await;
        let mut lambda = aws_sdk_lambda::config::Builder::from(&base);
        lambda.push_interceptor(header.clone());
        let mut iam = aws_sdk_iam::config::Builder::from(&base);
        iam.push_interceptor(header);
        let moto = Self {
            engine: Engine::new(aws.clone()),
            c: aws.region(REGION),
            lambda: aws_sdk_lambda::Client::from_conf(lambda.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            aws,
            account,
        };
        assert_eq!(
            moto.aws.account_id().await.unwrap(),
            moto.account,
            "moto honours the account header"
        );
        moto
    }

    /// Creates these (empty) log groups.
    pub async fn log_groups(&self, names: &[&str]) {
        for name in names {
            self.c
                .logs
                .create_log_group()
                .log_group_name(*name)
                .send()
                .await
                .unwrap();
        }
    }

    /// Creates Lambda functions with these names (the user-owned transform and subscribers),
    /// and the execution role moto requires; returns their ARNs.
    pub async fn lambda_functions(&self, names: &[&str]) -> Vec<String> {
        let role = match self
            .iam
            .create_role()
            .role_name("test-lambda-execution")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
        {
            Ok(out) => out.role().unwrap().arn().to_owned(),
            Err(_) => self
                .iam
                .get_role()
                .role_name("test-lambda-execution")
                .send()
                .await
                .unwrap()
                .role()
                .unwrap()
                .arn()
                .to_owned(),
        };
        let mut arns = Vec::new();
        for name in names {
            let out = self
                .lambda
                .create_function()
                .function_name(*name)
                .runtime(aws_sdk_lambda::types::Runtime::Python312)
                .role(&role)
                .handler("index.handler")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(handler_zip()))
                        .build(),
                )
                .send()
                .await
                .unwrap();
            arns.push(out.function_arn().unwrap().to_owned());
        }
        arns
    }

    /// A spec (YAML body of `spec:`) whose `{account}` placeholders are this test's account.
    pub fn spec(&self, yaml: &str) -> LogPipelineSpec {
        super::spec(&yaml.replace("{account}", &self.account))
    }

    /// Writes so far (calls to operations that change AWS).
    pub fn writes(&self) -> u64 {
        self.aws.calls().snapshot().writes()
    }
}

/// The full chain of the README in this test's account: ECS prefix sources, transform,
/// fan-out to two subscribers (one filtered), retention and transition.
pub const FULL_CHAIN: &str = r#"
sources:
  logGroupPrefixes: [/ecs/]
delivery:
  buffering: {sizeMiB: 16, intervalSeconds: 60}
storage:
  retentionDays: 400
  transition: {afterDays: 30, storageClass: GLACIER_IR}
transform:
  lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:log-enricher
fanout:
  subscribers:
    - name: es-forwarder
      lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:es-forwarder
    - name: slack-notifier
      lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:slack-notifier
      filterPolicy:
        Records:
          s3:
            object:
              key:
                - prefix: processed/alerts/
"#;

/// The Lambda functions [`FULL_CHAIN`] names.
pub const FULL_CHAIN_FUNCTIONS: &[&str] = &["log-enricher", "es-forwarder", "slack-notifier"];

/// `team-a/orders`.
pub fn pipeline_id() -> PipelineId {
    super::id()
}

/// A zip archive holding one `index.py` handler (stored, not compressed).
pub fn handler_zip() -> Vec<u8> {
    let name = b"index.py";
    let data = b"def handler(event, context):\n    return event\n";
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let crc = crc.sum();
    let mut zip = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    // Local file header.
    le32(&mut zip, 0x0403_4b50);
    for x in [20u16, 0, 0, 0, 0x21] {
        le16(&mut zip, x);
    }
    le32(&mut zip, crc);
    le32(&mut zip, data.len() as u32);
    le32(&mut zip, data.len() as u32);
    le16(&mut zip, name.len() as u16);
    le16(&mut zip, 0);
    zip.extend_from_slice(name);
    zip.extend_from_slice(data);
    let central = zip.len() as u32;
    // Central directory entry.
    le32(&mut zip, 0x0201_4b50);
    for x in [20u16, 20, 0, 0, 0, 0x21] {
        le16(&mut zip, x);
    }
    le32(&mut zip, crc);
    le32(&mut zip, data.len() as u32);
    le32(&mut zip, data.len() as u32);
    le16(&mut zip, name.len() as u16);
    for _ in 0..4 {
        le16(&mut zip, 0);
    }
    le32(&mut zip, 0o100644 << 16);
    le32(&mut zip, 0);
    zip.extend_from_slice(name);
    let size = zip.len() as u32 - central;
    // End of central directory.
    le32(&mut zip, 0x0605_4b50);
    for x in [0u16, 0, 1, 1] {
        le16(&mut zip, x);
    }
    le32(&mut zip, size);
    le32(&mut zip, central);
    le16(&mut zip, 0);
    zip
}

// ---- Helpers of the drift, ownership, delete and delivery suites ----
//
// Out-of-band changes go through `Moto::outsider`: clients of the same account with a call
// counter of their own, so what "someone else" does never shows up in pitagora's call counts.

use aws_sdk_firehose::types::builders::ExtendedS3DestinationUpdateBuilder;
use pitagora::apply::ApplyReport;
use pitagora::aws::CallStats;
use pitagora::desired::Desired;
use pitagora::engine::Converged;
use pitagora::plan::Check;
use pitagora::plan::{Action, Op, Plan};
use pitagora::read::Hints;
use pitagora::resources::ResourceKind;
use std::collections::BTreeMap;

impl Moto {
    /// Clients of this test's account that do not count as pitagora's calls: someone changing
    /// AWS out of band.
    pub async fn outsider(&self) -> RegionClients {
        self.outsider_in(REGION).await
    }

    /// [`Moto::outsider`] in `region`.
    pub async fn outsider_in(&self, region: &str) -> RegionClients {
        let base = sdk_config(&endpoint()).await;
        let header = SharedInterceptor::new(MotoAccount(self.account.clone()));
        let aws = Aws::from_config(base, test_settings(), vec![header]);
        aws.region(region).as_ref().clone()
    }

    /// The desired state of [`pipeline_id`] with `spec` in this account.
    pub async fn desired_state(&self, spec: &LogPipelineSpec) -> Desired {
        pitagora::desired::build(&self.pipeline(spec).await)
    }

    /// [`pipeline_id`] with `spec`, validated and placed in this account.
    pub async fn pipeline(&self, spec: &LogPipelineSpec) -> pitagora::desired::Pipeline {
        self.engine.prepare(&pipeline_id(), spec).await.unwrap()
    }

    /// `engine.check` of [`pipeline_id`] with `spec`.
    pub async fn check(&self, spec: &LogPipelineSpec) -> Check {
        self.engine
            .check(&self.pipeline(spec).await, &Hints::default())
            .await
            .unwrap()
    }

    /// `engine.converge` of [`pipeline_id`] with `spec`.
    pub async fn converge(&self, spec: &LogPipelineSpec) -> Converged {
        self.engine
            .converge(&self.pipeline(spec).await, &Hints::default(), &mut |_| {})
            .await
            .unwrap()
    }

    /// `engine.delete` of [`pipeline_id`] with `spec`: its plan and what executing it did.
    pub async fn delete(&self, spec: &LogPipelineSpec) -> (Plan, ApplyReport) {
        let done = self.deleted(spec).await;
        (done.plan, done.applied)
    }

    /// `engine.delete` of [`pipeline_id`] with `spec`, whole (with its read-back).
    pub async fn deleted(&self, spec: &LogPipelineSpec) -> pitagora::engine::Deleted {
        self.engine
            .delete(&self.pipeline(spec).await, &Hints::default(), &mut |_| {})
            .await
            .unwrap()
    }

    /// Converges `spec` and asserts that every action succeeded and AWS now matches it.
    pub async fn converged(&self, spec: &LogPipelineSpec) -> Desired {
        let done = self.converge(spec).await;
        assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
        assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
        self.desired_state(spec).await
    }

    /// The full chain converged: the log groups `/ecs/orders`, `/ecs/payments` and `/other/app`,
    /// the [`FULL_CHAIN_FUNCTIONS`], and [`FULL_CHAIN`] applied.
    pub async fn full_chain(&self) -> (LogPipelineSpec, Desired) {
        self.log_groups(&["/ecs/orders", "/ecs/payments", "/other/app"])
            .await;
        self.lambda_functions(FULL_CHAIN_FUNCTIONS).await;
        let spec = self.spec(FULL_CHAIN);
        let desired = self.converged(&spec).await;
        (spec, desired)
    }

    /// pitagora's calls so far.
    pub fn calls(&self) -> CallStats {
        self.aws.calls().snapshot()
    }

    /// The write operations pitagora made since `before`, e.g. `{"Firehose.UpdateDestination": 1}`.
    pub fn writes_since(&self, before: &CallStats) -> BTreeMap<String, u64> {
        self.calls().since(before).write_operations()
    }
}

/// `[("Firehose.UpdateDestination", 1)]` as the map [`Moto::writes_since`] returns.
pub fn ops(expected: &[(&str, u64)]) -> BTreeMap<String, u64> {
    expected
        .iter()
        .map(|(op, n)| ((*op).to_owned(), *n))
        .collect()
}

/// `engine.check`, asserting it made no write; its plan.
pub async fn check_reads_only(m: &Moto, spec: &LogPipelineSpec) -> Plan {
    let before = m.calls();
    let check = m.check(spec).await;
    assert_eq!(m.calls().writes(), before.writes(), "check wrote to AWS");
    assert_eq!(m.writes_since(&before), ops(&[]));
    check.plan
}

/// `engine.converge`, asserting every action succeeded and AWS matches the spec afterwards; the
/// write operations it made.
pub async fn correct(m: &Moto, spec: &LogPipelineSpec) -> BTreeMap<String, u64> {
    let before = m.calls();
    let done = m.converge(spec).await;
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    m.writes_since(&before)
}

/// The writes a stack's creation is followed by against the emulator only: moto's
/// CloudFormation leaves these declared properties unapplied (the public access block, the
/// ownership controls, the bucket policy and, with a fan-out, the topic policy) or stores them
/// in a form IAM never returns (each role's inline policy as a Python repr, not JSON), and the
/// live check corrects them through the services' own APIs in the same `apply`.
pub fn moto_stack_corrections(fanout: bool) -> Vec<(&'static str, u64)> {
    let mut writes = vec![
        ("IAM.PutRolePolicy", 2),
        ("S3.PutBucketOwnershipControls", 1),
        ("S3.PutBucketPolicy", 1),
        ("S3.PutPublicAccessBlock", 1),
    ];
    if fanout {
        writes.push(("SNS.SetTopicAttributes", 1));
    }
    writes
}

/// The plan's actions as `(op, kind, name)`.
pub fn actions(plan: &Plan) -> Vec<(Op, ResourceKind, String)> {
    plan.actions
        .iter()
        .map(|a| (a.op, a.kind, a.name.clone()))
        .collect()
}

/// The plan's only action; fails listing them all when there is not exactly one.
pub fn only_action(plan: &Plan) -> &Action {
    assert_eq!(plan.actions.len(), 1, "{:#?}", plan.actions);
    &plan.actions[0]
}

/// The fields an action names in its changes.
pub fn changed_fields(action: &Action) -> Vec<&str> {
    action.changes.iter().map(|c| c.field.as_str()).collect()
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a complete `UpdateDestination` for `stream`: every field as it is now (read right
/// before), changed by `change`. (moto keeps only the fields of a partial update.)
pub async fn update_stream_destination(
    c: &RegionClients,
    stream: &str,
    change: impl FnOnce(ExtendedS3DestinationUpdateBuilder) -> ExtendedS3DestinationUpdateBuilder,
) {
    let desc = stream_description(c, stream).await;
    let dest = &desc.destinations()[0];
    let now = dest.extended_s3_destination_description().unwrap();
    let complete = aws_sdk_firehose::types::ExtendedS3DestinationUpdate::builder()
        .bucket_arn(now.bucket_arn())
        .role_arn(now.role_arn())
        .set_prefix(now.prefix().map(str::to_owned))
        .set_error_output_prefix(now.error_output_prefix().map(str::to_owned))
        .set_buffering_hints(now.buffering_hints().cloned())
        .compression_format(now.compression_format().clone())
        .set_encryption_configuration(now.encryption_configuration().cloned())
        .set_processing_configuration(now.processing_configuration().cloned())
        .set_cloud_watch_logging_options(now.cloud_watch_logging_options().cloned())
        .set_s3_backup_mode(now.s3_backup_mode().cloned());
    c.firehose
        .update_destination()
        .delivery_stream_name(stream)
        .current_delivery_stream_version_id(desc.version_id())
        .destination_id(dest.destination_id())
        .extended_s3_destination_update(change(complete).build())
        .send()
        .await
        .unwrap();
}

/// The stream's description; panics when it cannot be read.
pub async fn stream_description(
    c: &RegionClients,
    stream: &str,
) -> aws_sdk_firehose::types::DeliveryStreamDescription {
    let out = c
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
        .unwrap();
    out.delivery_stream_description().unwrap().clone()
}

/// Creates someone else's delivery stream `name` in `account`, to `bucket_arn` (raw/, GZIP, no
/// processors, 1 MiB / 60 s buffering), tagged with `tags`.
pub async fn create_stream(
    c: &RegionClients,
    account: &str,
    name: &str,
    bucket_arn: &str,
    tags: &[(&str, &str)],
) {
    use aws_sdk_firehose::types as fh;
    let config = fh::ExtendedS3DestinationConfiguration::builder()
        .bucket_arn(bucket_arn)
        .role_arn(format!("arn:aws:iam::{account}:role/someone-elses-role"))
        .prefix("raw/")
        .error_output_prefix("errors/")
        .buffering_hints(
            fh::BufferingHints::builder()
                .size_in_mbs(1)
                .interval_in_seconds(60)
                .build(),
        )
        .compression_format(fh::CompressionFormat::Gzip)
        .build()
        .unwrap();
    let tags: Vec<fh::Tag> = tags
        .iter()
        .map(|(k, v)| fh::Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    c.firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(fh::DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(config)
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .unwrap();
}

/// A stream's tags.
pub async fn stream_tags(c: &RegionClients, stream: &str) -> BTreeMap<String, String> {
    c.firehose
        .list_tags_for_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect()
}

/// A stream's buffering size in MiB (`None`: no such stream; any other failure panics).
pub async fn stream_buffer_size(c: &RegionClients, stream: &str) -> Option<i32> {
    match c
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
    {
        Ok(out) => out
            .delivery_stream_description()?
            .destinations()
            .first()?
            .extended_s3_destination_description()?
            .buffering_hints()?
            .size_in_mbs(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!("describe {stream}: {e:?}"),
    }
}

/// Someone changes the stream's buffer size by hand (a complete `UpdateDestination`, keeping
/// the buffer interval), and the change took effect.
pub async fn change_buffer_size(c: &RegionClients, stream: &str, size_mib: i32) {
    update_stream_destination(c, stream, |u| {
        let interval = u
            .get_buffering_hints()
            .as_ref()
            .and_then(|b| b.interval_in_seconds());
        u.buffering_hints(
            aws_sdk_firehose::types::BufferingHints::builder()
                .size_in_mbs(size_mib)
                .set_interval_in_seconds(interval)
                .build(),
        )
    })
    .await;
    assert_eq!(
        stream_buffer_size(c, stream).await,
        Some(size_mib),
        "the out-of-band change took effect"
    );
}

/// Whether the delivery stream exists.
pub async fn stream_exists(c: &RegionClients, stream: &str) -> bool {
    match c
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => panic!("DescribeDeliveryStream {stream}: {e:?}"),
    }
}

/// The subscription filters of a log group as `(name, destination ARN)`, sorted by name.
pub async fn filters_on(c: &RegionClients, group: &str) -> Vec<(String, String)> {
    let mut filters: Vec<(String, String)> = c
        .logs
        .describe_subscription_filters()
        .log_group_name(group)
        .send()
        .await
        .unwrap()
        .subscription_filters()
        .iter()
        .map(|f| {
            (
                f.filter_name().unwrap_or_default().to_owned(),
                f.destination_arn().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    filters.sort();
    filters
}

/// The names of a log group's subscription filters, sorted.
pub async fn filter_names(c: &RegionClients, group: &str) -> Vec<String> {
    filters_on(c, group)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Puts a subscription filter `name` on `group` to `destination_arn` (a Firehose stream, with
/// `role_arn`), with `pattern`.
pub async fn put_filter(
    c: &RegionClients,
    group: &str,
    name: &str,
    pattern: &str,
    destination_arn: &str,
    role_arn: Option<&str>,
) {
    c.logs
        .put_subscription_filter()
        .log_group_name(group)
        .filter_name(name)
        .filter_pattern(pattern)
        .destination_arn(destination_arn)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .unwrap();
}

/// Whether a log group exists.
pub async fn log_group_exists(c: &RegionClients, group: &str) -> bool {
    c.logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(group))
}

/// A log group's retention and tags, read the way someone checking by hand would.
pub async fn retention_and_tags(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
) -> (Option<i32>, BTreeMap<String, String>) {
    let listed = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap();
    let found = listed
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .unwrap_or_else(|| panic!("{group} does not exist"));
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(found.arn().unwrap().trim_end_matches(":*"))
        .send()
        .await
        .unwrap();
    let tags = tags
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    (found.retention_in_days(), tags)
}

/// A pipeline beside fluentd, one route into `/ecs/payments` (which [`Moto::route_world`] leaves
/// missing, so pitagora creates it with 14 days) and one into the team's own `/ecs/orders`.
pub const ROUTES: &str = r#"
sources:
  logGroupPrefixes: [/ecs/]
legacy:
  fluentd:
    target:
      host: fluentd.logging.svc
    logGroupRetentionDays: 14
    routes:
      - match: app.payments.**
        logGroup: /ecs/payments
      - match: app.orders.**
        logGroup: /ecs/orders
cutover:
  stage: Shadow
"#;

impl Moto {
    /// The world of [`ROUTES`]: the team's `/ecs/orders` exists, kept a week, untagged;
    /// `/ecs/payments` does not exist.
    pub async fn route_world(&self) -> LogPipelineSpec {
        self.log_groups(&["/ecs/orders"]).await;
        self.c
            .logs
            .put_retention_policy()
            .log_group_name("/ecs/orders")
            .retention_in_days(7)
            .send()
            .await
            .unwrap();
        self.spec(ROUTES)
    }
}

/// The ids of every notification entry of a bucket (Lambda, topic and queue), sorted.
pub async fn notification_ids(c: &RegionClients, bucket: &str) -> Vec<String> {
    let out =
        c.s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    let mut ids: Vec<String> = out
        .lambda_function_configurations()
        .iter()
        .filter_map(|n| n.id())
        .chain(out.topic_configurations().iter().filter_map(|n| n.id()))
        .chain(out.queue_configurations().iter().filter_map(|n| n.id()))
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

/// Replaces the bucket's whole notification configuration with the entries of `keep` (by id,
/// as they are now) plus a queue notification `queue_id` on `queue_prefix`, if given.
pub async fn set_notifications(
    c: &RegionClients,
    bucket: &str,
    keep: &[&str],
    queue: Option<(&str, &str, &str)>,
) {
    use aws_sdk_s3::types as s3;
    let now =
        c.s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    let kept = |id: Option<&str>| id.is_some_and(|id| keep.contains(&id));
    let mut queues: Vec<s3::QueueConfiguration> = now
        .queue_configurations()
        .iter()
        .filter(|q| kept(q.id()))
        .cloned()
        .collect();
    if let Some((id, arn, prefix)) = queue {
        queues.push(
            s3::QueueConfiguration::builder()
                .id(id)
                .queue_arn(arn)
                .events(s3::Event::from("s3:ObjectCreated:*"))
                .filter(
                    s3::NotificationConfigurationFilter::builder()
                        .key(
                            s3::S3KeyFilter::builder()
                                .filter_rules(
                                    s3::FilterRule::builder()
                                        .name(s3::FilterRuleName::Prefix)
                                        .value(prefix)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    let configuration = s3::NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(
            now.lambda_function_configurations()
                .iter()
                .filter(|n| kept(n.id()))
                .cloned()
                .collect(),
        ))
        .set_topic_configurations(Some(
            now.topic_configurations()
                .iter()
                .filter(|n| kept(n.id()))
                .cloned()
                .collect(),
        ))
        .set_queue_configurations(Some(queues))
        .build();
    c.s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(configuration)
        .send()
        .await
        .unwrap();
}

/// The bucket's lifecycle rules as `(id, expiration days)`, sorted (empty without any).
pub async fn lifecycle_rules(c: &RegionClients, bucket: &str) -> Vec<(String, Option<i32>)> {
    match c
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => {
            let mut rules: Vec<(String, Option<i32>)> = out
                .rules()
                .iter()
                .map(|r| {
                    (
                        r.id().unwrap_or_default().to_owned(),
                        r.expiration().and_then(|e| e.days()),
                    )
                })
                .collect();
            rules.sort();
            rules
        }
        Err(e)
            if e.as_service_error().and_then(|e| e.meta().code())
                == Some("NoSuchLifecycleConfiguration") =>
        {
            Vec::new()
        }
        Err(e) => panic!("GetBucketLifecycleConfiguration {bucket}: {e:?}"),
    }
}

/// Whether the bucket exists.
pub async fn bucket_exists(c: &RegionClients, bucket: &str) -> bool {
    match c.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
        Err(e) => panic!("HeadBucket {bucket}: {e:?}"),
    }
}

/// Puts an object with `body` into the bucket.
pub async fn put_object(c: &RegionClients, bucket: &str, key: &str, body: &str) {
    c.s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.as_bytes().to_vec(),
        ))
        .send()
        .await
        .unwrap();
}

/// The keys of the bucket's objects under `prefix`, sorted (empty when the bucket is gone).
pub async fn object_keys(c: &RegionClients, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = match c
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_bucket()) => {
                return Vec::new();
            }
            Err(e) => panic!("ListObjectsV2 {bucket}: {e:?}"),
        };
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    keys.sort();
    keys
}

/// `bytes` with every gzip layer removed, as text (Firehose gzips what CloudWatch Logs already
/// gzipped).
pub fn gunzipped(mut bytes: Vec<u8>) -> String {
    use std::io::Read;
    while bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        bytes = out;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An object's content.
pub async fn object_bytes(c: &RegionClients, bucket: &str, key: &str) -> Vec<u8> {
    c.s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// The Lambda endpoints subscribed to a topic, sorted (`None`: no such topic).
pub async fn lambda_subscribers(c: &RegionClients, topic_arn: &str) -> Option<Vec<String>> {
    let out = match c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            return None;
        }
        Err(e) => panic!("ListSubscriptionsByTopic {topic_arn}: {e:?}"),
    };
    let mut endpoints: Vec<String> = out
        .subscriptions()
        .iter()
        .filter(|s| s.protocol() == Some("lambda"))
        .filter_map(|s| s.endpoint().map(str::to_owned))
        .collect();
    endpoints.sort();
    Some(endpoints)
}

/// The subscription ARN of `endpoint` on the topic.
pub async fn subscription_arn(c: &RegionClients, topic_arn: &str, endpoint: &str) -> String {
    c.sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .send()
        .await
        .unwrap()
        .subscriptions()
        .iter()
        .find(|s| s.endpoint() == Some(endpoint))
        .and_then(|s| s.subscription_arn())
        .unwrap_or_else(|| panic!("{endpoint} is subscribed to {topic_arn}"))
        .to_owned()
}

/// Whether the stack exists (and is not DELETE_COMPLETE).
pub async fn stack_exists(c: &RegionClients, stack: &str) -> bool {
    match c.cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out
            .stacks()
            .first()
            .is_some_and(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE")),
        Err(e)
            if e.as_service_error()
                .and_then(|e| e.meta().message())
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            false
        }
        Err(e) => panic!("DescribeStacks {stack}: {e:?}"),
    }
}

// ---- The `pitagora` binary's account (the CLI suite) ----

/// pitagora's clients in moto's default account (`123456789012`), without the account header:
/// the account where the `pitagora` binary's calls land, since it cannot send the header. Every
/// test and every earlier run share this account, so tests using it name everything uniquely.
pub async fn default_account_clients() -> Arc<RegionClients> {
    let base = sdk_config(&endpoint()).await;
    Aws::from_config(base, test_settings(), Vec::new()).region(REGION)
}

/// The bucket's queue notifications as `(id, queue ARN, prefix)`, sorted.
pub async fn queue_notifications(c: &RegionClients, bucket: &str) -> Vec<(String, String, String)> {
    let out =
        c.s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    let mut queues: Vec<(String, String, String)> = out
        .queue_configurations()
        .iter()
        .map(|q| {
            let prefix = q
                .filter()
                .and_then(|f| f.key())
                .map(|k| k.filter_rules())
                .unwrap_or_default()
                .iter()
                .find(|r| {
                    r.name()
                        .is_some_and(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                })
                .and_then(|r| r.value())
                .unwrap_or_default()
                .to_owned();
            (
                q.id().unwrap_or_default().to_owned(),
                q.queue_arn().to_owned(),
                prefix,
            )
        })
        .collect();
    queues.sort();
    queues
}

/// A policy document that allows everything: what a hurried operator writes.
pub const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The name of a role's first inline policy.
pub async fn first_inline_policy(c: &RegionClients, role: &str) -> String {
    let listed = c.iam.list_role_policies().role_name(role).send().await;
    listed.unwrap().policy_names()[0].clone()
}

/// Someone puts (creates or replaces) an inline policy on a role by hand.
pub async fn put_role_policy(c: &RegionClients, role: &str, policy: &str, document: &str) {
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .unwrap();
}

// ---- Helpers of the audit suites ----

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Creates `stream` in `group` and puts one `put_log_events` call per batch of `messages`,
/// timestamped now: moto writes one object per call.
pub async fn put_batches(c: &RegionClients, group: &str, stream: &str, batches: &[&[&str]]) {
    c.logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    for batch in batches {
        let events = batch.iter().map(|m| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now_ms())
                .message(*m)
                .build()
                .unwrap()
        });
        c.logs
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events.collect()))
            .send()
            .await
            .unwrap();
    }
}

/// Deletes one object.
pub async fn delete_object(c: &RegionClients, bucket: &str, key: &str) {
    c.s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
}

/// Copies an object to `to` in the same bucket (a redelivery, as Firehose's retries make).
pub async fn copy_object(c: &RegionClients, bucket: &str, from: &str, to: &str) {
    c.s3.copy_object()
        .bucket(bucket)
        .copy_source(format!("{bucket}/{from}"))
        .key(to)
        .send()
        .await
        .unwrap();
}

/// The CloudWatch Logs event ids an object holds, sorted.
pub async fn object_event_ids(c: &RegionClients, bucket: &str, key: &str) -> Vec<String> {
    let bytes = object_bytes(c, bucket, key).await;
    let decoded = pitagora::delivery::records::decode(&bytes, 64 << 20).unwrap();
    let mut ids: Vec<String> = decoded.events.into_iter().filter_map(|e| e.id).collect();
    ids.sort();
    ids
}

/// Creates bucket `name` in the tests' region (S3 needs the location outside us-east-1).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {name}: {e:?}"));
}
