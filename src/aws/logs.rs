//! CloudWatch Logs ↔ domain values, both directions: subscription filters
//! ([`SubscriptionFilter`]), destinations ([`Destination`]), log group tags and the listed name
//! and retention of a log group. Pure functions: `read` reads with them, apply writes with them.

use crate::observed::FilterLimit;
use crate::resources::*;
use aws_sdk_cloudwatchlogs::operation::put_destination::builders::PutDestinationFluentBuilder;
use aws_sdk_cloudwatchlogs::operation::put_destination_policy::builders::PutDestinationPolicyFluentBuilder;
use aws_sdk_cloudwatchlogs::operation::put_subscription_filter::builders::PutSubscriptionFilterFluentBuilder;
use aws_sdk_cloudwatchlogs::types as logs;
use std::collections::HashMap;

/// A described subscription filter in the managed view (absent fields read as empty).
pub fn filter_from_sdk(f: &logs::SubscriptionFilter) -> SubscriptionFilter {
    SubscriptionFilter {
        name: f.filter_name().unwrap_or_default().to_owned(),
        pattern: f.filter_pattern().unwrap_or_default().to_owned(),
        destination_arn: f.destination_arn().unwrap_or_default().to_owned(),
        role_arn: f.role_arn().map(str::to_owned),
        distribution: f
            .distribution()
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// A `PutSubscriptionFilter` request that writes `f` on `log_group` (not yet sent).
pub fn put_filter(
    request: PutSubscriptionFilterFluentBuilder,
    log_group: &str,
    f: &SubscriptionFilter,
) -> PutSubscriptionFilterFluentBuilder {
    request
        .log_group_name(log_group)
        .filter_name(&f.name)
        .filter_pattern(&f.pattern)
        .destination_arn(&f.destination_arn)
        .set_role_arn(f.role_arn.clone())
        .distribution(logs::Distribution::from(f.distribution.as_str()))
}

/// A described destination in the managed view (absent fields read as empty; an access policy
/// that is not JSON is kept as the string it is, so it differs from any desired document).
pub fn destination_from_sdk(d: &logs::Destination) -> Destination {
    Destination {
        name: d.destination_name().unwrap_or_default().to_owned(),
        target_arn: d.target_arn().unwrap_or_default().to_owned(),
        role_arn: d.role_arn().unwrap_or_default().to_owned(),
        access_policy: d.access_policy().map(|p| {
            serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.to_owned()))
        }),
    }
}

/// A `PutDestination` request that writes `d`'s target and role, with `tags` (which AWS sets
/// only when the request creates the destination); not yet sent.
pub fn put_destination(
    request: PutDestinationFluentBuilder,
    d: &Destination,
    tags: &Tags,
) -> PutDestinationFluentBuilder {
    request
        .destination_name(&d.name)
        .target_arn(&d.target_arn)
        .role_arn(&d.role_arn)
        .set_tags(Some(tags_to_sdk(tags)))
}

/// A `PutDestinationPolicy` request that writes `policy` on the destination `name`.
pub fn put_destination_policy(
    request: PutDestinationPolicyFluentBuilder,
    name: &str,
    policy: &serde_json::Value,
) -> PutDestinationPolicyFluentBuilder {
    request
        .destination_name(name)
        .access_policy(policy.to_string())
}

/// A listed log group's name and retention (`None`: never expires); `None` without a name.
pub fn group_from_sdk(g: &logs::LogGroup) -> Option<(String, Option<i32>)> {
    Some((g.log_group_name()?.to_owned(), g.retention_in_days()))
}

/// Log group tags as the SDK takes them.
pub fn tags_to_sdk(tags: &Tags) -> HashMap<String, String> {
    tags.clone().into_iter().collect()
}

/// Listed log group tags (none listed: none).
pub fn tags_from_sdk(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// What pitagora knows of CloudWatch Logs' subscription filter limit, shared by every region's
/// clients (the limit is the service's, the same for every group): the configured starting
/// figure until AWS answers otherwise (see [`FilterLimit`]). Kept for the process's life: the
/// controller learns it once, a CLI run learns it again at its first refusal.
#[derive(Debug)]
pub struct FilterLimits(std::sync::Mutex<FilterLimit>);

impl FilterLimits {
    /// Starting from `per_group` filters per log group.
    pub fn new(per_group: usize) -> Self {
        Self(std::sync::Mutex::new(FilterLimit::configured(per_group)))
    }

    /// The limit as known now.
    pub fn known(&self) -> FilterLimit {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the known limit with what AWS just showed.
    pub fn learn(&self, limit: FilterLimit) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = limit;
    }
}

/// Whether `e` is CloudWatch Logs refusing a filter because the log group holds as many as it
/// may (`LimitExceededException` "Resource limit exceeded"; Firehose's same code says "Rate
/// exceeded" and is a throttle, retried elsewhere).
pub fn is_filter_limit(e: &crate::aws::AwsError) -> bool {
    e.code() == Some("LimitExceededException")
        && !e.to_string().to_ascii_lowercase().contains("rate exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Region};

    /// A client that is never sent with: it only builds requests.
    fn client() -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .build(),
        )
    }

    /// AWS describes a filter with what it was put with.
    fn described(r: &PutSubscriptionFilterFluentBuilder) -> logs::SubscriptionFilter {
        logs::SubscriptionFilter::builder()
            .set_filter_name(r.get_filter_name().clone())
            .set_log_group_name(r.get_log_group_name().clone())
            .set_filter_pattern(r.get_filter_pattern().clone())
            .set_destination_arn(r.get_destination_arn().clone())
            .set_role_arn(r.get_role_arn().clone())
            .set_distribution(r.get_distribution().clone())
            .build()
    }

    #[test]
    fn a_filter_reads_back_as_put() {
        for role_arn in [Some("arn:aws:iam::1:role/logs".to_owned()), None] {
            let f = SubscriptionFilter {
                name: "pitagora-p".into(),
                pattern: "{ $.level = \"error\" }".into(),
                destination_arn: "arn:aws:firehose:eu-west-1:1:deliverystream/p".into(),
                role_arn,
                distribution: "Random".into(),
            };
            let request = put_filter(client().put_subscription_filter(), "/app", &f);
            assert_eq!(request.get_log_group_name().as_deref(), Some("/app"));
            assert_eq!(filter_from_sdk(&described(&request)), f);
        }
    }

    #[test]
    fn a_destination_and_its_policy_read_back_as_put() {
        let d = Destination {
            name: "pitagora-p-us-east-1".into(),
            target_arn: "arn:aws:firehose:eu-west-1:1:deliverystream/p".into(),
            role_arn: "arn:aws:iam::1:role/pitagora/p-logs".into(),
            access_policy: Some(serde_json::json!({"Statement": [{"Effect": "Allow"}]})),
        };
        let tags: Tags = [("owner".to_owned(), "p".to_owned())].into();
        let put = put_destination(client().put_destination(), &d, &tags);
        let policy = put_destination_policy(
            client().put_destination_policy(),
            &d.name,
            d.access_policy.as_ref().unwrap(),
        );
        assert_eq!(
            policy.get_destination_name().as_deref(),
            Some(d.name.as_str())
        );
        assert_eq!(put.get_tags().clone(), Some(tags_to_sdk(&tags)));
        let described = logs::Destination::builder()
            .set_destination_name(put.get_destination_name().clone())
            .set_target_arn(put.get_target_arn().clone())
            .set_role_arn(put.get_role_arn().clone())
            .set_access_policy(policy.get_access_policy().clone())
            .build();
        assert_eq!(destination_from_sdk(&described), d);
    }

    #[test]
    fn tags_read_back_as_written() {
        let tags: Tags = [("owner".to_owned(), "p".to_owned())].into();
        assert_eq!(tags_from_sdk(Some(&tags_to_sdk(&tags))), tags);
        assert_eq!(tags_from_sdk(None), Tags::new());
    }
}
