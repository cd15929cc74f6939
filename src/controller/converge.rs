//! One pipeline's I/O, the shell's steps: validate and resolve, then check and converge AWS;
//! beside fluentd, the cutover gate first and the fluentd key and AWS in the order the moves
//! need; a delivery step's canary sent and looked for; the resources deleted.

use super::decide::{Cleaned, Found, Stepped};
use super::delivery_status::Step;
use super::{Context, cutover_io, entropy};
use crate::apply::ActionOutcome;
use crate::aws::budget;
use crate::delivery::canary::Canary;
use crate::delivery::progress::{CanaryRoute, Tracked};
use crate::desired::Pipeline;
use crate::engine::{Engine, Progress};
use crate::read::Hints;
use crate::spec::LogPipeline;
use k8s_openapi::jiff::Timestamp;

/// The validated spec placed in its account and region, or what stopped it.
pub(super) async fn resolved(lp: &LogPipeline, engine: &Engine) -> Result<Pipeline, Found> {
    let valid = engine
        .validate(&lp.id("default"), &lp.spec)
        .map_err(Found::Invalid)?;
    engine.resolve(valid).await.map_err(Found::Failed)
}

/// Checks AWS against `pipeline` and converges it. A `routine` check reads within the quota
/// budget (see [`crate::aws::budget`]); its corrections go as priority: they undo someone's
/// change, and are rare.
pub(super) async fn converge(
    engine: &Engine,
    pipeline: &Pipeline,
    hints: &Hints,
    routine: bool,
) -> Found {
    let converged = async {
        let check = engine.check(pipeline, hints);
        let check = if routine {
            budget::routine(check).await
        } else {
            check.await
        }?;
        engine.execute(check, hints, &mut log_progress).await
    };
    match converged.await {
        Ok(c) => Found::Converged(Box::new(c)),
        Err(e) => Found::Failed(e),
    }
}

/// [`find`] for a pipeline beside fluentd: the gate decides the stages in effect, then the
/// fluentd key and AWS are written in the order the moves need. A move back writes the legacy
/// store (and requests the reload) first, and turns nothing of the new path off unless that
/// took; a move forward readies AWS first, and writes fluentd only once AWS converged.
///
/// A check `told` of a change by an event reads everything directly: a batch of shared reads
/// taken before the change would not show it.
pub(super) async fn find_staged(
    lp: &LogPipeline,
    ctx: &Context,
    routine: bool,
    told: bool,
) -> (Found, Option<cutover_io::CutoverRun>) {
    let pipeline = match resolved(lp, &ctx.engine).await {
        Ok(p) => p,
        Err(found) => return (found, None),
    };
    let hints = Hints {
        direct: told,
        ..hints(lp)
    };
    if pipeline.spec().legacy.is_none() {
        return (
            converge(&ctx.engine, &pipeline, &hints, routine).await,
            None,
        );
    }
    let now = Timestamp::now().as_millisecond();
    let region = pipeline.target().region.clone();
    let gated = cutover_io::gate(lp, &ctx.engine, &region, now).await;
    let previous = lp.status.as_ref();
    let before = crate::cutover::gate::in_effect(
        &lp.spec,
        previous.and_then(|s| s.cutover.as_ref()),
        previous.and_then(|s| s.stage.as_deref()),
    );
    let staged = pipeline.clone().at(gated.stages.clone());
    let spec = crate::desired::build(&staged).fluentd;
    let last_hash = previous
        .and_then(|s| s.cutover.as_ref())
        .and_then(|c| c.config_hash.as_deref());
    // An ignore rule on the key keeps its live value, as Report keeps everything's.
    let ignored_by = spec.as_ref().and_then(|f| {
        let rule = crate::plan::fluentd_key::ignoring_rule(
            &staged.spec().drift.ignore,
            f.config.as_ref()?,
        );
        rule.map(crate::plan::ignore::describe)
    });
    let report_only = staged.spec().report_only() || ignored_by.is_some();
    let write = || async {
        match &spec {
            Some(f) => cutover_io::write_key(&ctx.client, f, report_only, last_hash).await,
            None => cutover_io::KeyOutcome::Unmanaged,
        }
    };
    let (found, key) = if gated.backward() {
        let key = write().await;
        // Only a key fluentd was told to load (or none managed here) lets the new path go: a
        // failed, conflicting, reported or ignored key leaves AWS at the stages before.
        let legacy_written = key.in_effect() || matches!(key, cutover_io::KeyOutcome::Unmanaged);
        let target = if legacy_written {
            staged
        } else {
            pipeline.at(before)
        };
        (converge(&ctx.engine, &target, &hints, routine).await, key)
    } else {
        let found = converge(&ctx.engine, &staged, &hints, routine).await;
        let ready = matches!(&found, Found::Converged(c)
            if c.refused.is_empty() && c.applied().all(|r| r.errors().next().is_none()));
        let key = if ready {
            write().await
        } else {
            cutover_io::KeyOutcome::Deferred
        };
        (found, key)
    };
    let run = cutover_io::CutoverRun {
        gated,
        key,
        hash: spec.as_ref().map(|f| f.hash.clone()),
        config: spec.and_then(|f| f.config),
        ignored_by,
    };
    (found, Some(run))
}

/// Sends a canary along `route` and looks for it (`look: None`), or looks for the one in
/// flight.
pub(super) async fn deliver(
    engine: &Engine,
    lp: &LogPipeline,
    region: &str,
    route: &CanaryRoute,
    look: Option<Tracked>,
) -> Stepped {
    let now_ms = Timestamp::now().as_millisecond();
    let ns = lp.id("default").namespace;
    let step = match look {
        None => {
            let pipeline = lp.id("default").to_string();
            let nonce = u64::from(entropy()) << 32 | u64::from(std::process::id());
            let canary = Canary::new(&pipeline, now_ms, nonce);
            match engine.send_canary(&ns, region, route, canary, now_ms).await {
                Ok(tracked) => Step::Looked {
                    tracked,
                    sent: true,
                },
                Err(e) => Step::Failed(e.to_string()),
            }
        }
        Some(mut tracked) => {
            let looked = engine.look_for_canary(&ns, region, route, &mut tracked, now_ms);
            match looked.await {
                Ok(()) => Step::Looked {
                    tracked,
                    sent: false,
                },
                Err(e) => Step::Failed(e.to_string()),
            }
        }
    };
    if let Step::Failed(e) = &step {
        tracing::warn!(error = %e, "delivery verification failed");
    }
    Stepped {
        step,
        at_ms: now_ms,
    }
}

/// Deletes the pipeline's AWS resources: what the engine found.
pub(super) async fn clean(lp: &LogPipeline, engine: &Engine) -> Cleaned {
    let valid = engine.validate(&lp.id("default"), &lp.spec);
    // No resources in status does not mean none in AWS: a crash (or a failed observation) after
    // the first writes and before the first status write leaves them unrecorded. Only a spec
    // pitagora could never have acted on — invalid, or without a region — is skipped.
    let recorded = lp.status.as_ref().is_some_and(|s| !s.resources.is_empty());
    let actionable = valid.as_ref().is_ok_and(|v| v.region().is_some());
    if !recorded && !actionable {
        return Cleaned::Skipped;
    }
    let valid = match valid {
        Ok(valid) => valid,
        Err(invalid) => return Cleaned::Invalid(invalid),
    };
    let deleted = async {
        let pipeline = engine.resolve(valid).await?;
        engine
            .delete(&pipeline, &hints(lp), &mut |o: &ActionOutcome| {
                tracing::info!(op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, ok = o.result.is_ok(), "cleanup")
            })
            .await
    };
    match deleted.await {
        Ok(crate::engine::Deleted {
            readback: Err(e), ..
        }) => Cleaned::Failed(e.into()),
        Ok(crate::engine::Deleted {
            plan,
            applied,
            readback: Ok(readback),
        }) => {
            let conflicts: Vec<String> = plan
                .conflicts()
                .map(|a| format!("{} {}: {}", a.kind, a.name, a.reason))
                .collect();
            if !conflicts.is_empty() {
                tracing::warn!(conflicts = %conflicts.join("; "), "left resources owned by others in place");
            }
            Cleaned::Done {
                plan,
                applied,
                readback,
            }
        }
        Err(e) => Cleaned::Failed(e),
    }
}

/// What this pipeline held at the last check, read again so that what stopped being declared
/// is found and removed: the log groups that carried its filter, its remote filters (in every
/// account and region) and its destinations.
pub(super) fn hints(lp: &LogPipeline) -> Hints {
    let resources = lp.status.iter().flat_map(|s| &s.resources);
    Hints::from_resources(resources.map(|r| (r.kind, r.name.as_str())))
}

/// Logs a convergence as it goes: each pass's planned writes (`planned`, before any of them),
/// then each write's outcome (`applied` or `action failed`), every line naming its pass.
fn log_progress(p: Progress<'_>) {
    match p {
        Progress::Plan { pass, plan } => {
            if plan.report_only {
                return;
            }
            for a in plan.writes() {
                tracing::info!(pass, op = %a.op, kind = %a.kind, resource = %a.name, reason = %a.reason, "planned")
            }
        }
        Progress::Outcome { pass, outcome: o } => match &o.result {
            Ok(detail) => {
                tracing::info!(pass, op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, detail, "applied")
            }
            Err(e) => {
                tracing::warn!(pass, op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, error = %e, "action failed")
            }
        },
    }
}
