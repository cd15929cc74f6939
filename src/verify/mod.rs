//! Delivery verification, the I/O side: sending a canary and looking for it at each stage
//! ([`canary`]), searching the objects Firehose wrote ([`search`]). The decisions (what a canary
//! is, how objects read back, which objects to read, when a stage is overdue) are pure, in
//! [`crate::delivery`].

pub mod canary;
pub mod search;
