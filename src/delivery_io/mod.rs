//! Delivery verification, the I/O side: sending a canary and looking for it at each stage
//! ([`canary`]), searching the objects Firehose wrote ([`search`]), auditing a window's
//! completeness ([`audit`]) and reading delivery metrics, many pipelines' in one call
//! ([`signals`], [`metric_batch`]). The decisions (what a canary is, how objects read back, which
//! objects to read, when a stage is overdue, how logged and delivered events compare) are pure,
//! in [`crate::delivery`]; this module holds only their I/O.

pub mod audit;
pub mod canary;
pub mod metric_batch;
pub mod search;
pub mod signals;
