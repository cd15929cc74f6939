//! Delivery verification, the I/O side: looking for a canary in the objects Firehose wrote
//! ([`search`]). The decisions (what a canary is, how objects read back, which objects to read)
//! are pure, in [`crate::delivery`].

pub mod search;
