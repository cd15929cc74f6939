//! The command line: a thin shell over the engine. Each command reads its inputs, calls the
//! engine and prints; exit codes are part of the interface (see [`Exit`]).

use crate::aws::{Aws, AwsSettings, RetryPolicy};
use crate::desired::{self, Desired};
use crate::engine::Engine;
use crate::load::{self, LoadReport};
use crate::observe::Hints;
use crate::report::{self, text};
use crate::spec::schema;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit codes shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success (for `drift`: in sync).
    Ok = 0,
    /// Invalid input or an error (never "no drift").
    Error = 1,
    /// `drift`: AWS differs from the specs.
    Drift = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Errors of the command line itself.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Inputs could not be read.
    #[error(transparent)]
    Load(#[from] load::LoadError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// Serialising the output failed.
    #[error("cannot serialise output: {0}")]
    Serialise(String),
    /// A report file could not be written.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    /// No Kubernetes client could be configured.
    #[error("cannot reach Kubernetes: {0}")]
    Kube(kube::Error),
    /// The controller stopped with an error.
    #[error(transparent)]
    Controller(#[from] crate::controller::RunError),
    /// The ignore file is unreadable or invalid.
    #[error("ignore file {0}: {1}")]
    Ignore(PathBuf, String),
}

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

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
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

/// How to reach AWS. Credentials come from the standard chain (environment, profile, web
/// identity / IRSA).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Endpoint of every AWS service, e.g. a local emulator (default: AWS's own endpoints).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
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
}

impl AwsArgs {
    fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            retry: RetryPolicy {
                total: Duration::from_secs(self.aws_timeout),
                ..RetryPolicy::default()
            },
            settle_timeout: Duration::from_secs(self.settle_timeout),
            ..AwsSettings::default()
        }
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
    /// Leader election on a Lease (run several replicas; only the leader acts).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "pitagora-controller")]
    pub lease_name: String,
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
}

impl ControllerArgs {
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
            lease: self
                .leader_election
                .then(|| crate::controller::leader::LeaseConfig {
                    namespace: self.lease_namespace.clone(),
                    name: self.lease_name.clone(),
                    identity: identity.clone(),
                    duration: Duration::from_secs(self.lease_duration),
                }),
            max_error_backoff: Duration::from_secs(self.max_error_backoff),
            reporter: "pitagora".into(),
            instance: identity,
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
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

/// Drift report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human summary.
    Text,
    /// For a CI step summary or a pull-request comment (with Mermaid pictures).
    Markdown,
    /// Stable, versioned schema (docs/drift-report.schema.json).
    Json,
    /// JUnit XML for CI test tabs.
    Junit,
}

/// When `drift` exits 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// When anything drifted.
    Drift,
    /// Never (errors still exit 1).
    Never,
}

/// Colour choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
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
        /// Print only one part (`template` prints a CloudFormation template ready for the AWS CLI).
        #[arg(long, value_enum, default_value_t = Part::All)]
        only: Part,
    },
    /// Bring AWS to the specs: print each pipeline's plan, execute it (each action's outcome as
    /// it finishes), then verify. Exit 0 when every pipeline is in sync afterwards, 1 otherwise.
    /// Pipelines with `drift.policy: Report` are only reported.
    Apply {
        /// The files.
        #[command(flatten)]
        files: Files,
        /// How to reach AWS.
        #[command(flatten)]
        aws: AwsArgs,
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

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YAML (multi-document for several pipelines).
    Yaml,
    /// JSON (an array for several pipelines).
    Json,
}

/// Parts of the desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Everything.
    All,
    /// Derived AWS names.
    Names,
    /// The CloudFormation template.
    Template,
    /// The Firehose stream.
    Stream,
    /// The subscription filter and the log groups it selects.
    Filters,
    /// The bucket notification entries.
    Notifications,
    /// The bucket lifecycle rules.
    Lifecycle,
    /// The topic and its subscriptions.
    Topic,
}

/// Runs a parsed command line, writing results to `out` and diagnostics to `err`.
pub async fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, CliError> {
    match cli.command {
        Command::Crd => {
            out.write_all(schema::crd_yaml().as_bytes())?;
            Ok(Exit::Ok)
        }
        Command::Validate { files } => {
            let report = load::load_paths(&files.paths, &files.namespace)?;
            print_validation(&report, out, err)
        }
        Command::Render {
            files,
            account_id,
            region,
            output,
            only,
        } => {
            let report = load::load_paths(&files.paths, &files.namespace)?;
            if print_problems(&report, err)? {
                return Ok(Exit::Error);
            }
            let mut rendered = Vec::new();
            for p in &report.pipelines {
                match desired::build(&p.id, &p.pipeline.spec, &account_id, &region) {
                    Ok(d) => rendered
                        .push(part(&d, only).map_err(|e| CliError::Serialise(e.to_string()))?),
                    Err(e) => {
                        writeln!(err, "{}: {e}", p.source)?;
                        return Ok(Exit::Error);
                    }
                }
            }
            write_values(&rendered, output, out)?;
            Ok(Exit::Ok)
        }
        Command::Apply { files, aws } => {
            let Some((report, engine)) = prepare(&files, &aws, err).await? else {
                return Ok(Exit::Error);
            };
            let mut exit = Exit::Ok;
            for p in &report.pipelines {
                let hints = Hints::default();
                let check = match engine.check(&p.id, &p.pipeline.spec, &hints).await {
                    Ok(c) => c,
                    Err(e) => {
                        writeln!(err, "LogPipeline {}: error: {e}", p.id)?;
                        exit = Exit::Error;
                        continue;
                    }
                };
                out.write_all(text::plan(&check.plan, "plan").as_bytes())?;
                if check.plan.report_only && !check.plan.in_sync() {
                    writeln!(out, "  (drift.policy: Report — nothing is changed)")?;
                }
                // Progress as it happens; a failed write only loses the echo.
                let result = engine
                    .execute(check, &hints, &mut |o| {
                        let _ = writeln!(out, "{}", text::outcome(o));
                        let _ = out.flush();
                    })
                    .await;
                match result {
                    Ok(done) if done.remaining.in_sync() => {
                        if !done.applied.is_empty() {
                            writeln!(out, "LogPipeline {}: in sync", p.id)?;
                        }
                    }
                    Ok(done) => {
                        exit = Exit::Error;
                        out.write_all(
                            text::plan(&done.remaining, "not in sync after apply").as_bytes(),
                        )?;
                    }
                    Err(e) => {
                        exit = Exit::Error;
                        writeln!(err, "LogPipeline {}: error: {e}", p.id)?;
                    }
                }
            }
            writeln!(err, "{}", text::calls(&engine.aws().calls().snapshot()))?;
            Ok(exit)
        }
        Command::Drift {
            files,
            aws,
            report: options,
        } => drift(files, aws, options, out, err).await,
        Command::Run { aws, controller } => {
            let client = kube::Client::try_default().await.map_err(CliError::Kube)?;
            let engine = Engine::new(Arc::new(Aws::load(aws.settings()).await));
            crate::controller::run(client, engine, controller.settings(), signal()).await?;
            Ok(Exit::Ok)
        }
        Command::Delete { files, aws } => {
            let Some((report, engine)) = prepare(&files, &aws, err).await? else {
                return Ok(Exit::Error);
            };
            let mut exit = Exit::Ok;
            for p in &report.pipelines {
                let result = engine
                    .delete(&p.id, &p.pipeline.spec, &Hints::default(), &mut |o| {
                        let _ = writeln!(out, "{}", text::outcome(o));
                        let _ = out.flush();
                    })
                    .await;
                match result {
                    Ok((plan, applied))
                        if applied.succeeded() && plan.conflicts().next().is_none() =>
                    {
                        writeln!(out, "LogPipeline {}: deleted", p.id)?;
                    }
                    Ok((plan, _)) => {
                        exit = Exit::Error;
                        out.write_all(text::plan(&plan, "not fully deleted").as_bytes())?;
                    }
                    Err(e) => {
                        exit = Exit::Error;
                        writeln!(err, "LogPipeline {}: error: {e}", p.id)?;
                    }
                }
            }
            writeln!(err, "{}", text::calls(&engine.aws().calls().snapshot()))?;
            Ok(exit)
        }
    }
}

/// The `drift` command: check every pipeline (invalid ones become errors in the report), then
/// write the report in each requested format.
async fn drift(
    files: Files,
    aws: AwsArgs,
    options: DriftReportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    use futures::StreamExt;
    let mut loaded = load::load_paths(&files.paths, &files.namespace)?;
    for s in &loaded.skipped {
        writeln!(err, "{}: skipped {} (not a LogPipeline)", s.source, s.kind)?;
    }
    let repo_rules = ignore_rules(options.ignore_file.as_deref())?;
    for p in &mut loaded.pipelines {
        let id = p.id.to_string();
        p.pipeline.spec.drift.ignore.extend(
            repo_rules
                .iter()
                .filter(|r| {
                    r.pipeline
                        .as_deref()
                        .is_none_or(|g| crate::plan::ignore::glob(g, &id))
                })
                .map(|r| r.rule.clone()),
        );
    }
    let engine = Engine::new(Arc::new(Aws::load(aws.settings()).await));
    let total = loaded.pipelines.len();
    let progress = std::io::stderr().is_terminal() && total > 1;
    let mut done = 0;
    let hints = Hints::default();
    // One question to AWS first: when it cannot be reached, every pipeline fails the same way,
    // and asking again per pipeline would only multiply the wait.
    let reachable = if loaded.pipelines.is_empty() {
        Ok(String::new())
    } else {
        engine
            .aws()
            .account_id()
            .await
            .map_err(|e| format!("cannot reach AWS: {e}"))
    };
    let checks: Vec<Result<crate::engine::Check, String>> =
        futures::stream::iter(&loaded.pipelines)
            .map(|p| {
                let engine = &engine;
                let hints = &hints;
                let reachable = &reachable;
                async move {
                    match reachable {
                        Ok(_) => engine
                            .check(&p.id, &p.pipeline.spec, hints)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.clone()),
                    }
                }
            })
            .buffered(usize::from(options.concurrency))
            .inspect(|_| {
                done += 1;
                if progress {
                    let _ = write!(std::io::stderr(), "\rchecked {done}/{total} pipelines");
                }
            })
            .collect()
            .await;
    if progress {
        let _ = writeln!(std::io::stderr());
    }
    let mut inputs: Vec<report::Input> = loaded
        .pipelines
        .iter()
        .zip(&checks)
        .map(|(p, check)| report::Input {
            source: &p.source,
            id: &p.id,
            result: check.as_ref().map_err(Clone::clone),
        })
        .collect();
    let invalid_ids: Vec<crate::names::PipelineId> = loaded
        .invalid
        .iter()
        .map(|i| {
            i.id.clone()
                .unwrap_or_else(|| crate::names::PipelineId::new(files.namespace.clone(), "?"))
        })
        .collect();
    for (invalid, id) in loaded.invalid.iter().zip(&invalid_ids) {
        let messages: Vec<String> = invalid.errors.iter().map(ToString::to_string).collect();
        inputs.push(report::Input {
            source: &invalid.source,
            id,
            result: Err(format!("invalid spec: {}", messages.join("; "))),
        });
    }
    if inputs.is_empty() {
        writeln!(err, "no LogPipeline documents found")?;
        return Ok(Exit::Error);
    }
    let drift = report::build(&inputs, &engine.aws().calls().snapshot(), None);
    let color = match options.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    out.write_all(render(&drift, options.format, color)?.as_bytes())?;
    for (format, path) in &options.outputs {
        std::fs::write(path, render(&drift, *format, false)?)
            .map_err(|e| CliError::Write(path.clone(), e))?;
    }
    let t = &drift.totals;
    Ok(if t.errors > 0 {
        Exit::Error
    } else if t.drifted > 0 && options.fail_on == FailOn::Drift {
        Exit::Drift
    } else {
        Exit::Ok
    })
}

fn render(r: &report::DriftReport, format: ReportFormat, color: bool) -> Result<String, CliError> {
    Ok(match format {
        ReportFormat::Text => text::report(r, text::Style::new(color)),
        ReportFormat::Markdown => report::markdown::render(r),
        ReportFormat::Json => {
            serde_json::to_string_pretty(r).map_err(|e| CliError::Serialise(e.to_string()))? + "\n"
        }
        ReportFormat::Junit => report::junit::render(r),
    })
}

/// One rule of a repository's ignore file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoIgnoreRule {
    /// `namespace/name` pattern; all pipelines when absent.
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(flatten)]
    rule: crate::spec::IgnoreRule,
}

/// Reads the repository's ignore rules (`.pitagora-ignore` by default, when present).
fn ignore_rules(path: Option<&std::path::Path>) -> Result<Vec<RepoIgnoreRule>, CliError> {
    let default = std::path::Path::new(".pitagora-ignore");
    let path = match path {
        Some(p) => p,
        None if default.exists() => default,
        None => return Ok(Vec::new()),
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Ignore(path.to_owned(), e.to_string()))?;
    let rules: Vec<RepoIgnoreRule> = serde_saphyr::from_str::<Option<Vec<RepoIgnoreRule>>>(&text)
        .map_err(|e| CliError::Ignore(path.to_owned(), e.to_string()))?
        .unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        if r.rule.kind.is_none() && r.rule.field.is_none() {
            return Err(CliError::Ignore(
                path.to_owned(),
                format!("rule {}: set kind or field", i + 1),
            ));
        }
        if let Some(kind) = &r.rule.kind
            && !crate::resources::ResourceKind::ALL
                .iter()
                .any(|k| k.as_str() == kind)
        {
            return Err(CliError::Ignore(
                path.to_owned(),
                format!("rule {}: unknown kind {kind:?}", i + 1),
            ));
        }
    }
    Ok(rules)
}

/// Loads the files and connects to AWS; `None` when the files have problems or AWS cannot be
/// reached (both already printed).
async fn prepare(
    files: &Files,
    aws: &AwsArgs,
    err: &mut dyn Write,
) -> Result<Option<(LoadReport, Engine)>, CliError> {
    let report = load::load_paths(&files.paths, &files.namespace)?;
    if print_problems(&report, err)? {
        return Ok(None);
    }
    let engine = Engine::new(Arc::new(Aws::load(aws.settings()).await));
    if !report.pipelines.is_empty()
        && let Err(e) = engine.aws().account_id().await
    {
        writeln!(err, "error: cannot reach AWS: {e}")?;
        return Ok(None);
    }
    Ok(Some((report, engine)))
}

fn part(d: &Desired, only: Part) -> Result<serde_json::Value, serde_json::Error> {
    use serde_json::to_value;
    match only {
        Part::All => to_value(d),
        Part::Names => to_value(&d.names),
        Part::Template => Ok(d.stack.template.clone()),
        Part::Stream => to_value(&d.stream),
        Part::Filters => to_value(&d.filters),
        Part::Notifications => to_value(&d.notifications),
        Part::Lifecycle => to_value(&d.lifecycle),
        Part::Topic => to_value(&d.topic),
    }
}

fn write_values(
    values: &[serde_json::Value],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match format {
        Format::Json => {
            let text = if values.len() == 1 {
                serde_json::to_string_pretty(&values[0])
            } else {
                serde_json::to_string_pretty(values)
            }
            .map_err(|e| CliError::Serialise(e.to_string()))?;
            writeln!(out, "{text}")?;
        }
        Format::Yaml => {
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    writeln!(out, "---")?;
                }
                let text = serde_saphyr::to_string(value)
                    .map_err(|e| CliError::Serialise(e.to_string()))?;
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Prints skipped and invalid documents; returns whether any document was invalid or nothing
/// was found.
fn print_problems(report: &LoadReport, err: &mut dyn Write) -> Result<bool, CliError> {
    for s in &report.skipped {
        writeln!(err, "{}: skipped {} (not a LogPipeline)", s.source, s.kind)?;
    }
    for invalid in &report.invalid {
        let what = invalid
            .id
            .as_ref()
            .map(|id| format!("LogPipeline {id}"))
            .unwrap_or_else(|| "document".into());
        let n = invalid.errors.len();
        writeln!(
            err,
            "{}: {what} is invalid ({n} error{}):",
            invalid.source,
            if n == 1 { "" } else { "s" }
        )?;
        for e in &invalid.errors {
            writeln!(err, "  {e}")?;
        }
    }
    if report.pipelines.is_empty() && report.invalid.is_empty() {
        writeln!(err, "no LogPipeline documents found")?;
        return Ok(true);
    }
    Ok(!report.invalid.is_empty())
}

fn print_validation(
    report: &LoadReport,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    for p in &report.pipelines {
        writeln!(out, "{}: LogPipeline {} is valid", p.source, p.id)?;
    }
    Ok(if print_problems(report, err)? {
        Exit::Error
    } else {
        Exit::Ok
    })
}
