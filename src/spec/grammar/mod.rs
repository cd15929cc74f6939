//! Grammars of the languages a spec embeds, parsed in the spec layer so that validation can read
//! them without depending on the layers that render them.

pub mod fluentd;
pub mod fluentd_match;
