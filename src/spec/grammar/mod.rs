//! Grammars of the languages a spec embeds, parsed in the spec layer so that validation can read
//! them without depending on the layers that render them: fluentd's configuration
//! ([`fluentd`]), the parameters of its own plugins ([`fluentd_params`]) and tag patterns
//! ([`fluentd_match`]), and the grammars AWS defines for values a
//! `LogPipeline` hands to it verbatim: Firehose's S3 prefix expressions ([`prefix`]),
//! CloudWatch Logs filter patterns ([`filter_pattern`]), SNS filter policies
//! ([`filter_policy`]) and the region codes AWS offers ([`region`]).
//!
//! Each module checks what its documentation states and nothing it does not, so that a spec AWS
//! or fluentd would refuse is refused here, before any call, and one they accept is never
//! refused. Their errors say what is wrong and how to fix it; validation adds the field path and
//! the value.

pub mod filter_pattern;
pub mod filter_policy;
pub mod fluentd;
pub mod fluentd_match;
pub mod fluentd_params;
pub mod prefix;
pub mod region;
