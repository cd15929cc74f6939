//! Tolerance for one known deviation of S3-compatible emulators, kept precise so it can never
//! mask a real problem.
//!
//! moto 5.2.5 answers `GetBucketNotificationConfiguration` on a bucket without notifications
//! with an empty `<GetBucketNotificationResponse/>` element where S3 sends an empty
//! `<NotificationConfiguration/>`; the SDK rejects the unknown root. Exactly that empty element
//! is read as S3's empty configuration. Anything else is left alone: treating an unreadable answer as "no
//! notifications" would make the next write drop other owners' entries.

use aws_sdk_s3::config::interceptors::FinalizerInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

const EMPTY_EMULATOR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<GetBucketNotificationResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#;

/// The interceptor (installed on the S3 client).
#[derive(Debug, Default, Clone)]
pub struct EmptyNotificationCompat;

impl Intercept for EmptyNotificationCompat {
    fn name(&self) -> &'static str {
        "pitagora::EmptyNotificationCompat"
    }

    // After deserialisation the body has been read into memory, so it can be inspected; the
    // failed result is then replaced by S3's empty answer.
    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(|m| m.name()) != Some("GetBucketNotificationConfiguration") {
            return Ok(());
        }
        let emulator_empty = context.response().is_some_and(|r| {
            r.status().as_u16() == 200
                && r.body().bytes().is_some_and(|b| {
                    std::str::from_utf8(b).is_ok_and(|s| s.trim() == EMPTY_EMULATOR)
                })
        });
        if let (true, Some(result)) = (emulator_empty, context.output_or_error_mut())
            && result.is_err()
        {
            *result = Ok(Output::erase(
                GetBucketNotificationConfigurationOutput::builder().build(),
            ));
        }
        Ok(())
    }
}
