//! The commands that write to AWS: `apply` brings AWS to the specs, `delete` removes the
//! pipelines' resources. Both print each action's outcome as it finishes, `apply` each pass's
//! plan before its writes, then the AWS calls made.

use super::{AwsArgs, CliError, Exit, Files, TextOrJson, checked, engine, print_problems, probe};
use crate::apply::ActionOutcome;
use crate::engine::{Engine, EngineError, Progress};
use crate::load::{self, LoadReport, Loaded};
use crate::report::apply::{self as shown, Ending};
use crate::report::text;
use std::io::Write;

/// What a writing command does to each pipeline.
#[derive(Clone, Copy)]
enum Operation {
    Apply(TextOrJson),
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
            Operation::Apply(format) => apply_one(&engine, p, format, out, err).await?,
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
    format: TextOrJson,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    each(Operation::Apply(format), files, aws, out, err).await
}

/// Applies one pipeline, printing each pass's plan before its writes and each write's outcome
/// as it finishes; returns whether it is in sync afterwards.
async fn apply_one(
    engine: &Engine,
    p: &Loaded,
    format: TextOrJson,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, CliError> {
    let id = p.id();
    let json = format == TextOrJson::Json;
    let result: Result<_, EngineError> = match checked(engine, p, None).await {
        Ok((check, hints)) => {
            let mut show = |progress: Progress<'_>| {
                let line = if json {
                    shown::json(id, progress) + "\n"
                } else {
                    shown::text(progress)
                };
                // A failed write only loses the echo, so it does not stop the command.
                let _ = out.write_all(line.as_bytes());
                let _ = out.flush();
            };
            engine.execute(check, &hints, &mut show).await
        }
        Err(e) => Err(e),
    };
    match &result {
        Ok(done) if !done.refused.is_empty() => {
            let pass = done.passes.len() + 1;
            if json {
                let reasons = &done.refused;
                let line = shown::result_json(id, Ending::Refused { pass, reasons });
                writeln!(out, "{line}")?;
            }
            writeln!(err, "{}", shown::refused_text(id, pass, &done.refused))?;
            Ok(false)
        }
        Ok(done) if done.remaining.in_sync() => {
            let passes = done.passes.len();
            if json {
                writeln!(out, "{}", shown::result_json(id, Ending::InSync { passes }))?;
            } else if passes > 0 {
                writeln!(out, "LogPipeline {id}: in sync")?;
            }
            Ok(true)
        }
        Ok(done) => {
            let passes = done.passes.len();
            let remaining = &done.remaining;
            if json {
                let line = shown::result_json(id, Ending::NotInSync { passes, remaining });
                writeln!(out, "{line}")?;
            } else {
                out.write_all(text::plan(remaining, "not in sync after apply").as_bytes())?;
            }
            Ok(false)
        }
        Err(e) => {
            if json {
                let e = e.to_string();
                writeln!(out, "{}", shown::result_json(id, Ending::Error(&e)))?;
            }
            writeln!(err, "LogPipeline {id}: error: {e}")?;
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
            let hints = engine.live_hints(&pipeline);
            engine.delete(&pipeline, &hints, &mut echo(out)).await
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
