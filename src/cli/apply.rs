//! The commands that write to AWS: `apply` brings AWS to the specs, `delete` removes the
//! pipelines' resources. Both print each action's outcome as it finishes, then the AWS calls
//! made.

use super::{AwsArgs, CliError, Exit, Files, checked, engine, print_problems, probe};
use crate::apply::ActionOutcome;
use crate::engine::Engine;
use crate::load::{self, LoadReport, Loaded};
use crate::observe::Hints;
use crate::report::text;
use std::io::Write;

/// What a writing command does to each pipeline.
#[derive(Clone, Copy)]
enum Operation {
    Apply,
    Delete,
}

/// Runs `what` on each pipeline in turn, then prints the AWS calls made; `Exit::Error` unless it
/// succeeded for every pipeline.
async fn each(
    what: Operation,
    files: &Files,
    aws: &AwsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let Some((report, engine)) = prepare(files, aws, err).await? else {
        return Ok(Exit::Error);
    };
    let mut exit = Exit::Ok;
    for p in &report.pipelines {
        let ok = match what {
            Operation::Apply => apply_one(&engine, p, out, err).await?,
            Operation::Delete => delete_one(&engine, p, out, err).await?,
        };
        if !ok {
            exit = Exit::Error;
        }
    }
    writeln!(err, "{}", text::calls(&engine.aws().calls().snapshot()))?;
    Ok(exit)
}

/// `apply`: plans, executes and verifies each pipeline in turn; `Exit::Error` unless every
/// pipeline is in sync afterwards.
pub(super) async fn apply(
    files: &Files,
    aws: &AwsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    each(Operation::Apply, files, aws, out, err).await
}

/// Applies one pipeline; returns whether it is in sync afterwards.
async fn apply_one(
    engine: &Engine,
    p: &Loaded,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, CliError> {
    let hints = Hints::default();
    let check = match checked(engine, p, &hints, None).await {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "LogPipeline {}: error: {e}", p.id())?;
            return Ok(false);
        }
    };
    out.write_all(text::plan(&check.plan, "plan").as_bytes())?;
    if check.plan.report_only && !check.plan.in_sync() {
        writeln!(out, "  (drift.policy: Report — nothing is changed)")?;
    }
    let result = engine.execute(check, &hints, &mut echo(out)).await;
    match result {
        Ok(done) if done.remaining.in_sync() => {
            if !done.applied.is_empty() {
                writeln!(out, "LogPipeline {}: in sync", p.id())?;
            }
            Ok(true)
        }
        Ok(done) => {
            out.write_all(text::plan(&done.remaining, "not in sync after apply").as_bytes())?;
            Ok(false)
        }
        Err(e) => {
            writeln!(err, "LogPipeline {}: error: {e}", p.id())?;
            Ok(false)
        }
    }
}

/// `delete`: removes each pipeline's resources in reverse order; `Exit::Error` unless every
/// pipeline is fully deleted.
pub(super) async fn delete(
    files: &Files,
    aws: &AwsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    each(Operation::Delete, files, aws, out, err).await
}

/// Deletes one pipeline; returns whether everything went (nothing failed, nothing was left
/// because another owner holds it, and reading back found nothing that should be gone).
async fn delete_one(
    engine: &Engine,
    p: &Loaded,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, CliError> {
    let result = match engine.resolve(p.valid.clone()).await {
        Ok(pipeline) => {
            engine
                .delete(&pipeline, &Hints::default(), &mut echo(out))
                .await
        }
        Err(e) => Err(e),
    };
    let done = match result {
        Ok(done) => done,
        Err(e) => {
            writeln!(err, "LogPipeline {}: error: {e}", p.id())?;
            return Ok(false);
        }
    };
    match &done.readback {
        Ok(found) => out.write_all(text::readback(found).as_bytes())?,
        Err(e) => writeln!(
            err,
            "LogPipeline {}: what remains could not be read back: {e}",
            p.id()
        )?,
    }
    let others = done.plan.conflicts().next().is_some();
    if done.complete() && !others {
        writeln!(out, "LogPipeline {}: deleted", p.id())?;
        return Ok(true);
    }
    if !done.applied.succeeded() || others {
        out.write_all(text::plan(&done.plan, "not fully deleted").as_bytes())?;
    } else {
        let left = done.readback.as_ref().map_or(0, |r| r.leftovers.len());
        writeln!(
            out,
            "LogPipeline {}: not fully deleted ({left} resource{} remain{}, listed above)",
            p.id(),
            if left == 1 { "" } else { "s" },
            if left == 1 { "s" } else { "" },
        )?;
    }
    Ok(false)
}

/// Prints each action's outcome as it finishes. A failed write only loses the echo, so it does
/// not stop the command.
fn echo(out: &mut dyn Write) -> impl FnMut(&ActionOutcome) + '_ {
    move |o| {
        let _ = writeln!(out, "{}", text::outcome(o));
        let _ = out.flush();
    }
}

/// How long `apply`'s checks share their list reads (the controller's default).
const BATCH: std::time::Duration = std::time::Duration::from_secs(30);

/// Loads the files and connects to AWS; `None` when the files have problems or AWS cannot be
/// reached (both already printed).
pub(super) async fn prepare(
    files: &Files,
    aws: &AwsArgs,
    err: &mut dyn Write,
) -> Result<Option<(LoadReport, Engine)>, CliError> {
    // Checks share their list reads as the controller's do; a pipeline that wrote reads alone.
    let engine = engine(aws).await?.with_batched_reads(BATCH);
    let region = engine.default_region();
    let report = load::load_paths(&files.paths, files.defaults(region.as_deref()))?;
    if print_problems(&report, err)? {
        return Ok(None);
    }
    if let Err(e) = probe(&engine, &report.pipelines).await {
        writeln!(err, "error: {e}")?;
        return Ok(None);
    }
    Ok(Some((report, engine)))
}
