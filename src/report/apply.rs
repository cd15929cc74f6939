//! `apply`'s output as it happens, in text and as JSON lines: each pass's plan before its
//! writes, each write's outcome, then the pipeline's result. Pure: one rendering per
//! [`Progress`], so both formats show the same passes in the same order.

use super::text;
use crate::apply::ActionOutcome;
use crate::engine::Progress;
use crate::names::PipelineId;
use crate::plan::{Change, Pending, Plan};
use crate::resources::ResourceKind;
use serde::Serialize;

/// The headline of pass `pass`'s plan: `plan` for the first, `plan, pass N` for a later one
/// (what the earlier passes' writes left different).
pub fn headline(pass: usize) -> String {
    match pass {
        1 => "plan".to_owned(),
        n => format!("plan, pass {n}"),
    }
}

/// The text of one progress report: a pass's plan (with the report-only note under a first plan
/// that differs), or one outcome line.
pub fn text(p: Progress<'_>) -> String {
    match p {
        Progress::Plan { pass, plan } => {
            let mut out = text::plan(plan, &headline(pass));
            if plan.report_only && !plan.in_sync() {
                out.push_str("  (drift.policy: Report — nothing is changed)\n");
            }
            out
        }
        Progress::Outcome { outcome, .. } => text::outcome(outcome) + "\n",
    }
}

/// One planned action: what it does, to what, why, and the fields it changes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlannedAction<'a> {
    op: &'static str,
    kind: ResourceKind,
    name: &'a str,
    reason: &'a str,
    changes: &'a [Change],
}

fn actions(plan: &Plan) -> Vec<PlannedAction<'_>> {
    plan.actions
        .iter()
        .map(|a| PlannedAction {
            op: a.op.as_str(),
            kind: a.kind,
            name: &a.name,
            reason: &a.reason,
            changes: &a.changes,
        })
        .collect()
}

/// One JSON line: the pipeline, what happened, then what it carries.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<T: Serialize> {
    pipeline: String,
    event: &'static str,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanBody<'a> {
    pass: usize,
    report_only: bool,
    actions: Vec<PlannedAction<'a>>,
    pending: &'a [Pending],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutcomeBody<'a> {
    pass: usize,
    op: &'static str,
    kind: ResourceKind,
    name: &'a str,
    elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn line<T: Serialize>(pipeline: &PipelineId, event: &'static str, body: T) -> String {
    let line = Line {
        pipeline: pipeline.to_string(),
        event,
        body,
    };
    // Plain data (strings, numbers, lists): serialising cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// The JSON line of one progress report about `pipeline`: `event` is `plan` (a pass's plan,
/// before its writes) or `outcome` (one write of a pass).
pub fn json(pipeline: &PipelineId, p: Progress<'_>) -> String {
    match p {
        Progress::Plan { pass, plan } => line(
            pipeline,
            "plan",
            PlanBody {
                pass,
                report_only: plan.report_only,
                actions: actions(plan),
                pending: &plan.pending,
            },
        ),
        Progress::Outcome { pass, outcome } => {
            line(pipeline, "outcome", outcome_body(pass, outcome))
        }
    }
}

fn outcome_body(pass: usize, o: &ActionOutcome) -> OutcomeBody<'_> {
    OutcomeBody {
        pass,
        op: o.action.op.as_str(),
        kind: o.action.kind,
        name: &o.action.name,
        elapsed_ms: o.elapsed_ms,
        detail: o.result.as_ref().ok().map(String::as_str),
        error: o.result.as_ref().err().map(ToString::to_string),
    }
}

/// How an apply of one pipeline ended.
#[derive(Clone, Copy, Debug)]
pub enum Ending<'a> {
    /// AWS matches the spec after `passes` passes.
    InSync {
        /// Passes executed.
        passes: usize,
    },
    /// AWS still differs: `remaining` is what the last observation found.
    NotInSync {
        /// Passes executed.
        passes: usize,
        /// The plan after them.
        remaining: &'a Plan,
    },
    /// Pass `pass`'s plan was refused (nothing of it written; earlier passes' writes stand).
    Refused {
        /// The refused pass.
        pass: usize,
        /// Why.
        reasons: &'a [String],
    },
    /// The engine failed.
    Error(&'a str),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultBody<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    passes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<Vec<PlannedAction<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<&'a [Pending]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused_pass: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// The JSON line that ends a pipeline's apply (`event: result`): `status` is `inSync`,
/// `notInSync` (with what still differs), `refused` (the pass refused and why) or `error`.
pub fn result_json(pipeline: &PipelineId, ending: Ending<'_>) -> String {
    let empty = ResultBody {
        status: "",
        passes: None,
        actions: None,
        pending: None,
        refused_pass: None,
        reasons: None,
        error: None,
    };
    let body = match ending {
        Ending::InSync { passes } => ResultBody {
            status: "inSync",
            passes: Some(passes),
            ..empty
        },
        Ending::NotInSync { passes, remaining } => ResultBody {
            status: "notInSync",
            passes: Some(passes),
            actions: Some(actions(remaining)),
            pending: Some(&remaining.pending),
            ..empty
        },
        Ending::Refused { pass, reasons } => ResultBody {
            status: "refused",
            passes: Some(pass - 1),
            refused_pass: Some(pass),
            reasons: Some(reasons),
            ..empty
        },
        Ending::Error(e) => ResultBody {
            status: "error",
            error: Some(e),
            ..empty
        },
    };
    line(pipeline, "result", body)
}

/// The line that says why pass `pass` (a later one: the earlier passes wrote) was not executed.
pub fn refused_text(pipeline: &PipelineId, pass: usize, reasons: &[String]) -> String {
    format!(
        "LogPipeline {pipeline}: error: pass {pass} refused, nothing of it written (the writes \
         of the passes before it stand): {}",
        reasons.join("; ")
    )
}
