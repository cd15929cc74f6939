//! Delivery assurance, the pure side: what a canary event says ([`canary`]) and how the objects
//! Firehose wrote are read back into log events, whatever the record format ([`records`]). The
//! I/O that sends canaries and lists objects builds on these.

pub mod canary;
pub mod keys;
pub mod progress;
pub mod records;
