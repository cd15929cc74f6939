//! The command line's types: what clap parses (commands, their options and value enums) and
//! how options become the engine's and the controller's settings.

use crate::aws::budget::Budget;
use crate::aws::{AwsSettings, Limits, RetryPolicy};
use crate::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

mod choices;
pub use choices::*;

/// pitagora builds, guards and migrates serverless log pipelines on AWS: CloudWatch Logs →
/// Firehose → S3 (→ Lambda transform) (→ SNS fan-out), declared as `LogPipeline` resources.
#[derive(Debug, Parser)]
#[command(name = "pitagora", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto, env = "PITAGORA_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Files to read.
#[derive(Debug, Clone, Args)]
pub struct Files {
    /// Files or directories (walked recursively; .yaml, .yml and .json).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub paths: Vec<PathBuf>,
    /// Namespace of documents that name none.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
}

impl Files {
    /// Where the files' documents are placed: this namespace, and `region` for specs without one.
    pub fn defaults<'a>(&'a self, region: Option<&'a str>) -> crate::load::Defaults<'a> {
        crate::load::Defaults {
            namespace: &self.namespace,
            region,
        }
    }
}

/// How to reach AWS. Credentials come from the standard chain (environment, profile, web
/// identity / IRSA).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Endpoint of every AWS service, e.g. a local emulator (default: AWS_ENDPOINT_URL, else
    /// AWS's own endpoints; AWS_ENDPOINT_URL_<SERVICE>, e.g. AWS_ENDPOINT_URL_CLOUDWATCH,
    /// sends one service elsewhere, as in every AWS SDK).
    // Not `env = "AWS_ENDPOINT_URL"`: an endpoint given in code overrides the per-service
    // variables; the SDK's own reading of the environment keeps them.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Region of pipelines whose spec names none (default: the AWS configuration's, e.g. AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// Longest wait, in seconds, for a stack or stream operation to finish.
    #[arg(long, default_value_t = 1800)]
    pub settle_timeout: u64,
    /// How long, in seconds, to keep retrying an AWS call that fails for a passing reason
    /// (throttling, 5xx, an unreachable endpoint) before giving up with an error.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub aws_timeout: u64,
    /// Requests per second allowed for an AWS service or operation, e.g.
    /// `Firehose.DescribeDeliveryStream=8` or `CloudFormation=2` (repeatable; default: AWS's
    /// published quotas with headroom, 4 where none is published).
    #[arg(long = "rate-limit", value_name = "KEY=RATE")]
    pub rate_limit: Vec<String>,
    /// A YAML file of rate limits, `{KEY: RATE}`, e.g. for an account with raised quotas;
    /// `--rate-limit` settings apply on top.
    #[arg(long, value_name = "FILE", env = "PITAGORA_RATE_LIMITS")]
    pub rate_limits: Option<std::path::PathBuf>,
    /// The IAM role CloudFormation creates, updates and deletes the stacks' resources with
    /// (passed on every stack operation). Default: role/pitagora/pitagora-cloudformation in the
    /// pipeline's account, which `pitagora iam-policies cloudformation-template` creates.
    #[arg(long, value_name = "ARN", env = "PITAGORA_CLOUDFORMATION_ROLE_ARN", value_parser = super::iam::parse_role_arn)]
    pub cloudformation_role_arn: Option<String>,
    /// Subscription filters a log group may hold, until AWS refuses one more
    /// (`LimitExceededException`) and so shows its limit: a new pipeline none of whose sources
    /// has a free slot is not created. Default: CloudWatch Logs' documented limit.
    #[arg(long, value_name = "N", env = "PITAGORA_FILTERS_PER_LOG_GROUP",
          default_value_t = crate::observed::DOCUMENTED_FILTERS_PER_LOG_GROUP,
          value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..), usize::from))]
    pub filters_per_log_group: usize,
    /// The accounts file: the AWS accounts besides the credentials' own, the role (with its
    /// external ID) to assume in each, and the account each namespace's pipelines are built in
    /// (docs/operating.md, "Other accounts"). Without it everything is built in the
    /// credentials' own account.
    #[arg(long, value_name = "FILE", env = "PITAGORA_ACCOUNTS")]
    pub accounts: Option<std::path::PathBuf>,
}

impl AwsArgs {
    /// The accounts file's mapping; empty without one.
    pub fn accounts(&self) -> Result<crate::spec::Accounts, super::CliError> {
        let Some(path) = &self.accounts else {
            return Ok(crate::spec::Accounts::default());
        };
        let fail = |e: String| super::CliError::Accounts(path.clone(), e);
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        crate::spec::Accounts::parse(&text).map_err(|e| fail(e.to_string()))
    }

    /// The rate limits: AWS's defaults, then the file's, then the flags'.
    pub fn limits(&self) -> Result<Limits, super::CliError> {
        let mut limits = Limits::aws();
        if let Some(path) = &self.rate_limits {
            let text = std::fs::read_to_string(path)
                .map_err(|e| super::CliError::RateLimits(format!("{}: {e}", path.display())))?;
            limits = limits
                .with_file(&text)
                .map_err(|e| super::CliError::RateLimits(format!("{}: {e}", path.display())))?;
        }
        for setting in &self.rate_limit {
            limits = limits
                .with_setting(setting)
                .map_err(|e| super::CliError::RateLimits(format!("--rate-limit {e}")))?;
        }
        Ok(limits)
    }

    /// The AWS client's settings.
    pub fn settings(&self) -> Result<AwsSettings, super::CliError> {
        Ok(AwsSettings {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            retry: RetryPolicy {
                total: Duration::from_secs(self.aws_timeout),
                ..RetryPolicy::default()
            },
            settle_timeout: Duration::from_secs(self.settle_timeout),
            limits: self.limits()?,
            cloudformation_role_arn: self.cloudformation_role_arn.clone(),
            filters_per_log_group: self.filters_per_log_group,
            ..AwsSettings::default()
        })
    }
}

/// Controller options.
#[derive(Debug, Clone, Args)]
pub struct ControllerArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "PITAGORA_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Pipelines reconciled at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub http_addr: std::net::SocketAddr,
    /// Leader election on a Lease in --lease-namespace (run several replicas; only the leader
    /// acts). Default: on inside a cluster (a pod's service-account environment), off outside
    /// it, so that `pitagora run` on a laptop works with the CRD alone.
    #[arg(long, action = clap::ArgAction::Set)]
    pub leader_election: Option<bool>,
    /// Name of the Lease (with shards, of each shard's Lease: `<name>-shard-<i>`).
    #[arg(long, default_value = "pitagora-controller")]
    pub lease_name: String,
    /// Divide the pipelines into this many shards among the replicas: every replica acts on the
    /// shards it holds (a Lease each), about an equal share, and takes over those of a replica
    /// that stops; the rate limits are shared the same way. 1: one leader acts on all. Needs
    /// --leader-election (without it, one replica acts on all).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shards: u32,
    /// Namespace of the Lease (the controller's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "pitagora-system")]
    pub lease_namespace: String,
    /// Seconds a leader keeps the lease without renewing it.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=300))]
    pub lease_duration: u64,
    /// This replica's identity (default: POD_NAME, else host name and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Longest wait, in seconds, before retrying a failed reconcile.
    #[arg(long, default_value_t = 300)]
    pub max_error_backoff: u64,
    /// Seconds a canary may take to reach S3 beyond the stream's buffering interval before it
    /// counts as missing.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub canary_margin: u64,
    /// Seconds during which checks share their list reads: one `DescribeStacks` walk for every
    /// stack and one `DescribeLogGroups` walk per prefix, instead of one per pipeline (0: each
    /// check reads for itself). A check never sees them older than this (a routine check, a
    /// fifth of the sweep when that is longer); a pipeline that wrote reads for itself.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub read_batch: u64,
    /// The tenancy file: per namespace, the log-group and Lambda function name prefixes its
    /// pipelines may use (docs/operating.md, "Security model"). Without it (and without
    /// --single-tenant) a namespace N may use only log groups under /N/ and functions named N-*.
    #[arg(
        long,
        env = "PITAGORA_TENANCY",
        alias = "source-allow-list",
        conflicts_with = "single_tenant"
    )]
    pub tenancy: Option<std::path::PathBuf>,
    /// One team owns the cluster: every namespace may use every log group and function of the
    /// account. Off by default.
    #[arg(long, env = "PITAGORA_SINGLE_TENANT")]
    pub single_tenant: bool,
    /// The share of each AWS operation's rate limit that routine checks (due by time only) may
    /// use, above 0 and at most 1; checks someone waits for (a new or changed spec, a requested
    /// check, a retry, a correction) use the rest. The sweep takes as long as that allows
    /// (docs/operating.md, "Quota budget").
    #[arg(long, value_name = "SHARE", env = "PITAGORA_SWEEP_BUDGET",
          default_value_t = Budget::default(), value_parser = Budget::parse)]
    pub sweep_budget: Budget,
    /// Hear of changes as they happen: per account and region the pipelines use (and
    /// us-east-1, where IAM's arrive), an EventBridge rule sends CloudTrail's records of the
    /// calls that can change a pipeline's resources to an SQS queue, and the controller checks
    /// the pipelines they name at once, ahead of the sweep. Needs a CloudTrail trail and the
    /// policy's events statements (docs/operating.md, "Changes as events").
    #[arg(long, env = "PITAGORA_EVENTS")]
    pub events: bool,
}

impl ControllerArgs {
    /// What each namespace may reach: the tenancy file's, everything with --single-tenant, else
    /// only what is named after the namespace.
    pub fn tenancy(&self) -> Result<crate::spec::Tenancy, super::CliError> {
        if self.single_tenant {
            return Ok(crate::spec::Tenancy::single_tenant());
        }
        let Some(path) = &self.tenancy else {
            return Ok(crate::spec::Tenancy::default());
        };
        let fail = |e: String| super::CliError::Tenancy(path.clone(), e);
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        crate::spec::Tenancy::parse(&text).map_err(|e| fail(e.to_string()))
    }

    /// Whether to elect a leader: as asked, else only `in_cluster` (see [`in_cluster`]).
    pub fn leader_election(&self, in_cluster: bool) -> bool {
        self.leader_election.unwrap_or(in_cluster)
    }

    /// The controller's settings.
    pub fn settings(&self) -> crate::controller::Settings {
        let identity = self.identity.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "pitagora".into());
            format!("{host}-{}", std::process::id())
        });
        crate::controller::Settings {
            namespace: self.watch_namespace.clone(),
            concurrency: self.concurrency,
            http_addr: self.http_addr,
            lease: self.leader_election(in_cluster()).then(|| {
                crate::controller::leader::LeaseConfig {
                    namespace: self.lease_namespace.clone(),
                    name: self.lease_name.clone(),
                    identity: identity.clone(),
                    duration: Duration::from_secs(self.lease_duration),
                }
            }),
            shards: self.shards,
            max_error_backoff: Duration::from_secs(self.max_error_backoff),
            canary_margin: Duration::from_secs(self.canary_margin),
            reporter: "pitagora".into(),
            instance: identity,
            events: self.events,
        }
    }
}

/// Whether this process runs in a Kubernetes pod: the kubelet sets `KUBERNETES_SERVICE_HOST` in
/// every container (kube's in-cluster configuration reads the same variable).
pub fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty())
}

/// Drift report options.
#[derive(Debug, Clone, Args)]
pub struct DriftReportArgs {
    /// Format of the report on standard output.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Also write the report in FORMAT to PATH, e.g. `markdown=drift.md` or `junit=drift.xml`
    /// (repeatable).
    #[arg(long = "output", value_name = "FORMAT=PATH", value_parser = parse_output)]
    pub outputs: Vec<(ReportFormat, PathBuf)>,
    /// `drift`: exit 2 when anything drifted (default); `never`: exit 0 even then (report-only
    /// jobs). Errors exit 1 either way.
    #[arg(long, value_enum, default_value_t = FailOn::Drift)]
    pub fail_on: FailOn,
    /// The repository's ignore rules: a YAML list of `{pipeline?, kind?, name?, field?, reason?}`
    /// (`pipeline` is `namespace/name` and, like `name` and `field`, may use `*`). Default:
    /// `.pitagora-ignore` when it exists.
    #[arg(long, value_name = "PATH")]
    pub ignore_file: Option<PathBuf>,
    /// How many pipelines are checked at once (AWS calls stay within per-service rate limits).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Colours in the text report: on a terminal (auto), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Audit options.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Start of the window (event time): an RFC 3339 timestamp, or a duration ago such as
    /// `90m`, `2h` or `1d`.
    #[arg(long, value_parser = super::audit::parse_time)]
    pub since: Time,
    /// End of the window, excluded (default: now); same forms as `--since`.
    #[arg(long, value_parser = super::audit::parse_time)]
    pub until: Option<Time>,
    /// Events read from CloudWatch Logs per pipeline, at most: a larger window is refused.
    #[arg(long, default_value_t = crate::delivery_io::audit::DEFAULT_MAX_EVENTS)]
    pub max_events: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
}

/// A point in time on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// Milliseconds since the Unix epoch.
    At(i64),
    /// This many milliseconds before now.
    Ago(i64),
}

impl Time {
    /// Milliseconds since the Unix epoch, `now_ms` being now.
    pub fn resolve(self, now_ms: i64) -> i64 {
        match self {
            Time::At(ms) => ms,
            Time::Ago(ms) => now_ms - ms,
        }
    }
}

fn parse_output(text: &str) -> Result<(ReportFormat, PathBuf), String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected FORMAT=PATH, e.g. markdown=drift.md"))?;
    let format = ReportFormat::from_str(format, true)
        .map_err(|_| format!("{format:?}: unknown format; use text, markdown, json or junit"))?;
    if path.is_empty() {
        return Err(format!("{text:?}: the path is empty"));
    }
    Ok((format, PathBuf::from(path)))
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the LogPipeline CustomResourceDefinition as YAML (the content of crds/logpipeline.yaml).
    Crd,
    /// Check LogPipeline files offline against the CRD schema and every semantic rule; print all
    /// errors, each naming its field. Exit 1 when any document is invalid.
    Validate {
        /// The files.
        #[command(flatten)]
        files: Files,
    },
    /// Print the desired AWS state of each pipeline: CloudFormation template, Firehose stream,
    /// subscription filters, bucket notifications and lifecycle, topic subscriptions.
    Render {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// AWS account id used in ARNs.
        #[arg(long, default_value = "123456789012", env = "PITAGORA_ACCOUNT_ID")]
        account_id: String,
        /// Region of pipelines whose spec names none.
        #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
        region: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
        output: Format,
        /// Print only one part (`template` prints a CloudFormation template ready for the AWS CLI;
        /// `fluentd` the routes' fluentd configuration).
        #[arg(long, value_enum, default_value_t = Part::All)]
        only: Part,
        /// Render every route at this cutover stage instead of the requested ones (spelt as in
        /// the spec, e.g. `Shadow`, or in lower case).
        #[arg(long, value_enum, ignore_case = true)]
        stage: Option<StageArg>,
    },
    /// Print an IAM document an installation needs: the controller's policy, the CloudFormation
    /// service role's policy or trust, the pipeline roles' permissions boundary, or a
    /// CloudFormation template creating them all (role `pitagora/pitagora-cloudformation`,
    /// managed policies `pitagora/pitagora-controller` and `pitagora/pitagora-pipeline-boundary`). Without
    /// prefixes, filters and Lambda permissions may reach every log group and function (one team
    /// per account); with them, only the tenants' (multi-team, hardened).
    IamPolicies {
        /// What to print, and from what.
        #[command(flatten)]
        args: super::iam::IamArgs,
    },
    /// Bring AWS to the specs: print each pipeline's plan, execute it (each action's outcome as
    /// it finishes), then verify; when the writes left AWS different, print the second pass's
    /// plan, then its outcomes. Exit 0 when every pipeline is in sync afterwards, 1 otherwise.
    /// Pipelines with `drift.policy: Report` are only reported.
    Apply {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
        /// Output format: text, or JSON lines (one object per plan, outcome and result, as they
        /// happen).
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Compare AWS with the specs without writing anything. Exit 0: in sync; 2: drift; 1: error
    /// (invalid spec, AWS unreachable, access denied — never reported as "no drift").
    Drift {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
        /// The report's options.
        #[command(flatten)]
        report: DriftReportArgs,
    },
    /// Prove delivery now: send one canary per pipeline into its canary log group and wait for it
    /// at each stage (s3 raw/, then the transform's output). Exit 0 when every pipeline's canary
    /// reached every stage, 1 otherwise (naming the link where it stopped).
    Verify {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
        /// Longest wait for the canaries, in seconds (default: each stage's own deadline, from
        /// the buffering interval).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        /// Output format (`markdown`: a table per pipeline and its chain as a Mermaid flowchart,
        /// the link where the canary stopped marked).
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
        /// Pipelines verified at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
    },
    /// Check that every event CloudWatch Logs holds for a window was delivered to S3, per
    /// pipeline and source log group: exactly by event id (`Envelope`, `Raw`) or by count
    /// (`NDJSON`). Exit 0: complete; 2: events missing; 1: error (invalid spec, AWS error,
    /// window too large).
    Audit {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
        /// The window and the output.
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Run the Kubernetes controller: watch LogPipelines and keep AWS converged to them
    /// (kubeconfig from KUBECONFIG, ~/.kube/config or the pod's service account).
    Run {
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
        /// The controller's options.
        #[command(flatten)]
        controller: ControllerArgs,
    },
    /// Show what the controller reports of each LogPipeline — stage, ready, delivering, the last
    /// canary, drift items — from the cluster alone (no AWS credentials). Installed as
    /// `kubectl-pitagora` on the PATH, this is `kubectl pitagora status [-n NS | -A] [NAME]`.
    Status {
        /// Namespace (default: the kubeconfig context's).
        #[arg(short, long)]
        namespace: Option<String>,
        /// Every namespace.
        #[arg(short = 'A', long, conflicts_with_all = ["namespace", "name"])]
        all_namespaces: bool,
        /// One pipeline.
        name: Option<String>,
    },
    /// Delete the pipelines' AWS resources in reverse order. The bucket (and the error log group)
    /// is kept unless `storage.deletionPolicy: Delete`; resources owned by others are never touched.
    Delete {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
    },
}
