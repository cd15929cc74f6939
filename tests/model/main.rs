//! Plans executed in the in-memory AWS model (`pitagora::aws_model`): convergence properties
//! and ownership. A binary of its own so that it can require the model's feature alone.

#[path = "../common/mod.rs"]
mod common;

mod plan_converges;
mod plan_ownership;
