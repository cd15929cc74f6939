//! Plans executed in the in-memory AWS model (`pitagora::aws_model`, through `common::converge`
//! or directly): convergence properties, ownership, conflicts, drift, the guard, the drift
//! report's formats and ignore rules, and the controller's decisions and status on converged
//! worlds. A binary of its own so that it alone requires the model's cargo feature.

#[path = "../common/mod.rs"]
mod common;

mod controller_decisions;
mod controller_reconcile;
mod controller_status;
mod plan_conflicts;
mod plan_converges;
mod plan_drift;
mod plan_guard;
mod plan_ownership;
mod plan_remote;
mod plan_remote_guard;
mod report_formats;
mod report_ignore;
mod report_leaf;
