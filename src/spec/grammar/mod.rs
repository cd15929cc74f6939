//! The grammars AWS defines for values a `LogPipeline` hands to it verbatim, one module per
//! grammar: Firehose's S3 prefix expressions ([`prefix`]), CloudWatch Logs filter patterns
//! ([`filter_pattern`]), SNS filter policies ([`filter_policy`]) and the region codes AWS
//! offers ([`region`]).
//!
//! Each module checks what AWS's documentation states and nothing it does not, so that a spec
//! AWS would refuse is refused here, before any AWS call, and a spec AWS accepts is never
//! refused. Their errors say what is wrong and how to fix it; validation adds the field path and
//! the value.

pub mod filter_pattern;
pub mod filter_policy;
pub mod prefix;
pub mod region;
