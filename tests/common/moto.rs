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
        let account = fresh_account();
        let base = sdk_config(&endpoint()).await;
        let header = SharedInterceptor::new(MotoAccount(account.clone()));
        let aws = Arc::new(Aws::from_config(
            base.clone(),
            test_settings(),
            vec![header.clone()],
        ));
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
