//! The command line: a thin shell over the engine. Each command reads its inputs, calls the
//! engine and prints; exit codes are part of the interface (see [`Exit`]).

use crate::desired::{self, Desired};
use crate::load::{self, LoadReport};
use crate::spec::schema;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Invalid input or an error.
    Error = 1,
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

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the LogPipeline CustomResourceDefinition as YAML (the content of crds/logpipeline.yaml).
    Crd,
    /// Check LogPipeline files offline against the CRD schema and every semantic rule; print all
    /// errors, each naming its field. Exit 1 when any document is invalid.
    Validate {
        /// Files or directories (walked recursively; .yaml, .yml and .json).
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
        /// Namespace of documents that name none.
        #[arg(short, long, default_value = "default")]
        namespace: String,
    },
    /// Print the desired AWS state of each pipeline: CloudFormation template, Firehose stream,
    /// subscription filters, bucket notifications and lifecycle, topic subscriptions.
    Render {
        /// Files or directories.
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
        /// Namespace of documents that name none.
        #[arg(short, long, default_value = "default")]
        namespace: String,
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

/// Runs a parsed command line, writing to `out` (results) and `err` (diagnostics).
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, CliError> {
    match cli.command {
        Command::Crd => {
            out.write_all(schema::crd_yaml().as_bytes())?;
            Ok(Exit::Ok)
        }
        Command::Validate { paths, namespace } => {
            let report = load::load_paths(&paths, &namespace)?;
            print_validation(&report, out, err)
        }
        Command::Render {
            paths,
            namespace,
            account_id,
            region,
            output,
            only,
        } => {
            let report = load::load_paths(&paths, &namespace)?;
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
    }
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
