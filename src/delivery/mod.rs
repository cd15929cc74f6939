//! Delivery assurance, the pure side: what a canary event says ([`canary`]), how the objects
//! Firehose wrote are read back into log events, whatever the record format ([`records`]), and
//! how the events logged in a window compare with those delivered ([`audit`]). The I/O that
//! sends canaries, lists objects and reads log events builds on these.

pub mod audit;
pub mod canary;
pub mod keys;
pub mod paths;
pub mod progress;
pub mod records;
pub mod signals;
