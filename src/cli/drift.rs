//! The `drift` command: checks every pipeline without writing (invalid ones become errors in the
//! report), then writes the report in each requested format. The exit code says whether
//! anything drifted or failed.

use super::{
    AwsArgs, CliError, Color, DriftReportArgs, Exit, FailOn, Files, ReportFormat, checked, engine,
    print_skipped, probe,
};
use crate::engine::Engine;
use crate::load::{self, LoadReport, Loaded};
use crate::names::PipelineId;
use crate::read::Hints;
use crate::report::{self, DriftReport, Totals, text};
use futures::StreamExt;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// `drift`: checks, reports, and exits 0 (in sync), 2 (drift, unless `--fail-on never`) or 1
/// (any error).
pub(super) async fn drift(
    files: &Files,
    aws: &AwsArgs,
    options: &DriftReportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    // One report is one sweep: its checks share their list reads (see read::batch).
    let engine = engine(aws)
        .await?
        .with_batched_reads(std::time::Duration::MAX);
    let region = engine.default_region();
    let mut loaded = load::load_paths(&files.paths, files.defaults(region.as_deref()))?;
    print_skipped(&loaded, err)?;
    add_repo_rules(&mut loaded, options.ignore_file.as_deref())?;
    let (cluster, cluster_errors) = super::fluentd::read_cluster(&loaded.pipelines, err).await?;
    let mut reports = check_all(
        &engine,
        &loaded.pipelines,
        &cluster,
        cluster_errors,
        options.concurrency,
    )
    .await;
    reports.extend(invalid_reports(&loaded, &files.namespace));
    if reports.is_empty() {
        writeln!(err, "no LogPipeline documents found")?;
        return Ok(Exit::Error);
    }
    let drift = report::assemble(reports, &engine.aws().calls().snapshot(), None);
    write_report(&drift, options, out)?;
    Ok(exit(&drift.totals, options.fail_on))
}

/// Adds the repository's ignore rules (the named file, else `.pitagora-ignore` when it exists)
/// to the pipelines they apply to.
fn add_repo_rules(loaded: &mut LoadReport, explicit: Option<&Path>) -> Result<(), CliError> {
    let Some(path) = load::ignore_file(explicit) else {
        return Ok(());
    };
    let rules = load::read_ignore_file(path)
        .map_err(|e| CliError::Ignore(path.to_owned(), e.to_string()))?;
    loaded.add_repo_rules(&rules);
    Ok(())
}

/// Checks the pipelines, `concurrency` at a time, keeping their order, and reports each as its
/// check ends: a check holds both states of every resource (templates included), its report
/// only what is printed, so a thousand pipelines are not all held at once. `cluster_errors`
/// turn a pipeline's check into an error. Progress is shown on a terminal when there are several.
async fn check_all(
    engine: &Engine,
    pipelines: &[Loaded],
    cluster: &super::fluentd::Cluster,
    cluster_errors: Vec<Option<String>>,
    concurrency: u16,
) -> Vec<report::PipelineReport> {
    let total = pipelines.len();
    let progress = std::io::stderr().is_terminal() && total > 1;
    let mut done = 0;
    let reachable = probe(engine, pipelines).await;
    if reachable.is_ok() {
        announce_lookups(engine, pipelines, cluster).await;
    }
    let each = pipelines.iter().zip(&cluster.live).zip(cluster_errors);
    let reports = futures::stream::iter(each)
        .map(|((p, live), cluster_error)| {
            let reachable = &reachable;
            // A deployed pipeline beside fluentd is compared at its stages in effect.
            let stages = live.as_ref().map(|l| l.stages.clone());
            async move {
                let mut check = match reachable {
                    Ok(()) => checked(engine, p, stages)
                        .await
                        .map(|(check, _)| check)
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Some(e) = cluster_error {
                    check = Err(e);
                }
                super::fluentd::check_one(cluster, p, live.as_ref(), &mut check).await;
                report::pipeline(&report::Input {
                    source: &p.source,
                    id: p.id(),
                    result: check.as_ref().map_err(Clone::clone),
                })
            }
        })
        .buffered(usize::from(concurrency))
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
    reports
}

/// Tells each region's batch every log-group lookup the checks will make, so that lookups
/// under another one's prefix share its walk whichever check comes first.
async fn announce_lookups(
    engine: &Engine,
    pipelines: &[Loaded],
    cluster: &super::fluentd::Cluster,
) {
    let hints = Hints::default();
    for (p, live) in pipelines.iter().zip(&cluster.live) {
        // A pipeline that cannot be placed fails in its own check.
        let Ok(pipeline) = engine.resolve(p.valid.clone()).await else {
            continue;
        };
        let pipeline = match live {
            Some(l) => pipeline.at(l.stages.clone()),
            None => pipeline,
        };
        let d = crate::desired::build(&pipeline);
        if let Some(batch) = engine.batch(&d.target) {
            batch.expect_prefixes(crate::read::all_lookups(&d, &hints));
        }
    }
}

/// The invalid documents as errors of the report (`<namespace>/?` for those without a name).
fn invalid_reports(loaded: &LoadReport, namespace: &str) -> Vec<report::PipelineReport> {
    loaded
        .invalid
        .iter()
        .map(|invalid| {
            let id = invalid
                .id
                .clone()
                .unwrap_or_else(|| PipelineId::new(namespace, "?"));
            let messages: Vec<String> = invalid.errors.iter().map(ToString::to_string).collect();
            report::pipeline(&report::Input {
                source: &invalid.source,
                id: &id,
                result: Err(format!("invalid spec: {}", messages.join("; "))),
            })
        })
        .collect()
}

/// Writes the report on `out` in `--format`, and in each `--output` format to its file.
fn write_report(
    drift: &DriftReport,
    options: &DriftReportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let color = match options.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    out.write_all(render(drift, options.format, color)?.as_bytes())?;
    for (format, path) in &options.outputs {
        // Files are read by tools and people elsewhere: never coloured.
        std::fs::write(path, render(drift, *format, false)?)
            .map_err(|e| CliError::Write(path.clone(), e))?;
    }
    Ok(())
}

fn render(r: &DriftReport, format: ReportFormat, color: bool) -> Result<String, CliError> {
    Ok(match format {
        ReportFormat::Text => text::report(r, text::Style::new(color)),
        ReportFormat::Markdown => report::markdown::render(r),
        ReportFormat::Json => {
            serde_json::to_string_pretty(r).map_err(|e| CliError::Serialise(e.to_string()))? + "\n"
        }
        ReportFormat::Junit => report::junit::render(r),
    })
}

/// Errors exit 1 whatever `--fail-on` says: an error is never "no drift".
fn exit(totals: &Totals, fail_on: FailOn) -> Exit {
    if totals.errors > 0 {
        Exit::Error
    } else if totals.drifted > 0 && fail_on == FailOn::Drift {
        Exit::Drift
    } else {
        Exit::Ok
    }
}
