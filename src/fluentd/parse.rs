//! fluentd's configuration grammar: the parser lives in the spec layer
//! ([`crate::spec::grammar::fluentd`]), where validation reads a verbatim `<store>` with it; it
//! is re-exported here for the renderer's readers and the tests.

pub use crate::spec::grammar::fluentd::*;
