//! Delivery verification, the I/O side: looking for a canary in the objects Firehose wrote
//! ([`search`]) and auditing a window's completeness ([`audit`]). The decisions (what a canary
//! is, how objects read back, which objects to read, how logged and delivered events compare)
//! are pure, in [`crate::delivery`].

pub mod audit;
pub mod search;
