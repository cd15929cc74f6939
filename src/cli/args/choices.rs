//! The value enums the command line offers: formats, colours, parts and stages.

use clap::ValueEnum;

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

/// `verify`'s output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
    /// Markdown with a Mermaid flowchart per pipeline (e.g. a CI job summary).
    Markdown,
}

/// Text for people, JSON for tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// Human-readable text.
    Text,
    /// JSON: one document (`apply`: one object per line as things happen).
    Json,
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
    /// The fluentd routes (`legacy.fluentd`), as fluentd configuration text.
    Fluentd,
}

/// A cutover stage on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    /// Only the legacy aggregator.
    Legacy,
    /// Both; the new store ignore_error.
    Shadow,
    /// Both; the legacy store ignore_error.
    Primary,
    /// Only CloudWatch Logs.
    New,
}

impl From<StageArg> for crate::spec::CutoverStage {
    fn from(s: StageArg) -> Self {
        match s {
            StageArg::Legacy => Self::Legacy,
            StageArg::Shadow => Self::Shadow,
            StageArg::Primary => Self::Primary,
            StageArg::New => Self::New,
        }
    }
}
