//! The error of turning a domain value into an SDK value, shared by every service mapping.

use super::AwsError;

/// An SDK builder refused `what` (a required field missing or invalid).
pub fn build_error(what: &str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Build(what.to_owned(), e.to_string())
}
