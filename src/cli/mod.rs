//! The command line: a thin shell over the engine. Each command reads its inputs, calls the
//! engine and prints; exit codes are part of the interface (see [`Exit`]).
//!
//! [`run`] dispatches to one function per command: `crd`, `validate` and `render` work offline
//! (`offline.rs`); `apply` and `delete` change AWS (`apply.rs`); `drift` reports (`drift.rs`);
//! `verify` proves delivery with a canary per pipeline (`verify.rs`); `audit` checks that logged
//! events were delivered (`audit.rs`); `run` starts the controller (`controller.rs`). What clap
//! parses is in `args.rs`; what the commands share (loading files, reaching AWS) is here.

mod apply;
mod args;
mod audit;
mod controller;
mod drift;
mod fluentd;
mod iam;
pub use iam::IamDocument;
mod offline;
pub mod status;
mod verify;

pub use args::{
    AuditArgs, AwsArgs, Cli, Color, Command, ControllerArgs, DriftReportArgs, FailOn, Files,
    Format, Part, ReportFormat, TextOrJson, Time, VerifyFormat,
};

use crate::aws::{Aws, AwsError, AwsSettings};
use crate::engine::{Engine, EngineError};
use crate::load::{self, LoadReport, Loaded};
use crate::plan::Check;
use crate::read::Hints;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit codes shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success (for `drift`: in sync; for `audit`: complete).
    Ok,
    /// Invalid input or an error (never "no drift", never "complete").
    Error,
    /// `drift`: AWS differs from the specs (2).
    Drift,
    /// `audit`: logged events are missing from S3 (2, as drift: the finding, not a failure).
    Missing,
}

impl Exit {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Drift | Exit::Missing => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
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
    /// A rate-limit setting is unreadable or invalid.
    #[error("rate limits: {0}")]
    RateLimits(String),
    /// `status NAME`: no such LogPipeline in the namespace.
    #[error("logpipeline {0:?} not found")]
    NotFound(String),
    /// `iam-policies cloudformation-role-trust` without the account it trusts.
    #[error(
        "the trust policy names the account CloudFormation acts for: pass --account-id <12-digit account>"
    )]
    NoTrustedAccount,
    /// `iam-policies account-role-trust` without what it needs.
    #[error("account-role-trust: {0}")]
    AccountRoleTrust(String),
    /// `iam-policies source-account-policy` without what it needs.
    #[error("source-account-policy: {0}")]
    SourceAccountPolicy(String),
    /// The tenancy file is unreadable or invalid.
    #[error("--tenancy {0}: {1}")]
    Tenancy(PathBuf, String),
    /// The accounts file is unreadable or invalid.
    #[error("--accounts {0}: {1}")]
    Accounts(PathBuf, String),
    /// `--events` with `--shards` above 1.
    #[error(
        "--events with --shards {0}: every replica would drain the same queues and drop the changes of pipelines in another replica's shards; run one replica with --events (leader election keeps a standby), or --shards 1"
    )]
    EventsWithShards(u32),
}

/// Runs a parsed command line, writing results to `out` and diagnostics to `err`.
pub async fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, CliError> {
    match cli.command {
        Command::Crd => offline::crd(out),
        Command::Validate { files } => offline::validate(&files, out, err),
        Command::Render {
            files,
            account_id,
            region,
            output,
            only,
            stage,
        } => {
            let how = offline::Rendering {
                account_id: &account_id,
                region: &region,
                output,
                only,
                stage: stage.map(Into::into),
            };
            offline::render(&files, &how, out, err)
        }
        Command::IamPolicies { args } => iam::run(&args, out),
        Command::Apply { files, aws, format } => apply::apply(&files, &aws, format, out, err).await,
        Command::Drift { files, aws, report } => {
            drift::drift(&files, &aws, &report, out, err).await
        }
        Command::Verify {
            files,
            aws,
            timeout,
            format,
            concurrency,
        } => {
            let options = verify::Options {
                timeout: timeout.map(std::time::Duration::from_secs),
                format,
                concurrency,
            };
            verify::verify(&files, &aws, &options, out, err).await
        }
        Command::Audit { files, aws, audit } => audit::audit(&files, &aws, &audit, out, err).await,
        Command::Run { aws, controller } => controller::run_controller(&aws, &controller).await,
        Command::Delete { files, aws } => apply::delete(&files, &aws, out, err).await,
        Command::Status {
            namespace,
            all_namespaces,
            name,
        } => {
            let which = status::Selection {
                namespace,
                all: all_namespaces,
                name,
            };
            status::status(&which, out).await
        }
    }
}

/// The engine, on an AWS client configured from the command line.
async fn engine(aws: &AwsArgs) -> Result<Engine, CliError> {
    engine_with(aws, aws.settings()?).await
}

/// [`engine`] with `settings` made from `aws`'s.
async fn engine_with(aws: &AwsArgs, settings: AwsSettings) -> Result<Engine, CliError> {
    // A bad accounts file stops the command before AWS is asked anything.
    let accounts = aws.accounts()?;
    let engine = Engine::new(Arc::new(Aws::load(settings).await));
    Ok(engine.with_accounts(accounts))
}

/// Places a loaded pipeline in the account (at `stages` when given, else the requested ones)
/// and checks it against AWS, with the hints it was checked with: the CLI keeps no record of
/// what it applied, so the places dropped from the remote sources are discovered live.
async fn checked(
    engine: &Engine,
    p: &Loaded,
    stages: Option<crate::cutover::Stages>,
) -> Result<(Check, Hints), EngineError> {
    let pipeline = engine.resolve(p.valid.clone()).await?;
    let pipeline = match stages {
        Some(stages) => pipeline.at(stages),
        None => pipeline,
    };
    let hints = engine.live_hints(&pipeline);
    Ok((engine.check(&pipeline, &hints).await?, hints))
}

/// AWS could not answer the first question asked of it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot reach AWS: {0}")]
struct Unreachable(AwsError);

/// Asks AWS one question (the account id) before any pipeline is checked: when AWS cannot be
/// reached every pipeline fails the same way, and asking per pipeline would only multiply the
/// wait. It gives up after a few seconds ([`crate::aws::PROBE_WINDOW`]); the work after it keeps
/// `--aws-timeout` for passing faults. It asks in the first region a pipeline is placed in:
/// nothing is asked when no pipeline has one (each then fails on its own, naming how to set
/// one, without any AWS call) or there are no pipelines to check.
async fn probe(engine: &Engine, pipelines: &[Loaded]) -> Result<(), Unreachable> {
    let Some(region) = pipelines.iter().find_map(|p| p.valid.region()) else {
        return Ok(());
    };
    engine
        .aws()
        .probe(region)
        .await
        .map(drop)
        .map_err(Unreachable)
}

/// Prints skipped files and invalid documents; returns whether any document was invalid or nothing
/// was found.
fn print_problems(report: &LoadReport, err: &mut dyn Write) -> Result<bool, CliError> {
    print_skipped(report, err)?;
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

/// Prints the files that were skipped (kustomize's own).
fn print_skipped(report: &LoadReport, err: &mut dyn Write) -> Result<(), CliError> {
    for s in &report.skipped {
        writeln!(err, "{}: skipped ({})", s.source, s.reason)?;
    }
    Ok(())
}
