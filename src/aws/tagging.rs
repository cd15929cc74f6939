//! Resource Groups Tagging API ↔ domain values: the tags of many resources from one paged
//! `GetResources` walk instead of one tag read per resource. Pure functions; the walk itself is
//! in [`crate::read::batch`].

use crate::resources::Tags;
use aws_sdk_resourcegroupstagging::operation::get_resources::builders::GetResourcesFluentBuilder;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, TagFilter};

/// The services whose resources' tags are read from the walk: log groups and delivery streams
/// (a service alone filters every resource type of it, in AWS and in moto alike).
pub const SERVICES: [&str; 2] = ["logs", "firehose"];
/// The most resources one page may hold.
pub const PAGE: i32 = 100;

/// One page of the walk of every log group and delivery stream carrying `tag_key` (any value),
/// from `token` on (not yet sent).
pub fn tagged_page(
    request: GetResourcesFluentBuilder,
    tag_key: &str,
    token: Option<String>,
) -> GetResourcesFluentBuilder {
    let filter = TagFilter::builder().key(tag_key).build();
    SERVICES
        .iter()
        .fold(request, |r, s| r.resource_type_filters(*s))
        .tag_filters(filter)
        .resources_per_page(PAGE)
        .set_pagination_token(token)
}

/// An ARN as both the walk and a per-resource read spell it: a log group's `:*` suffix dropped.
pub fn arn_key(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// A listed resource's ARN (as [`arn_key`]) and every tag; `None` without an ARN.
pub fn mapping_from_sdk(m: &ResourceTagMapping) -> Option<(String, Tags)> {
    let arn = arn_key(m.resource_arn()?).to_owned();
    let tags = m
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    Some((arn, tags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_resourcegroupstagging::types::Tag;

    #[test]
    fn a_log_group_arn_matches_with_or_without_its_wildcard_suffix() {
        let arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/a/b";
        assert_eq!(arn_key(&format!("{arn}:*")), arn);
        assert_eq!(arn_key(arn), arn);
    }

    #[test]
    fn a_mapping_keeps_every_tag_of_its_resource() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let m = ResourceTagMapping::builder()
            .resource_arn("arn:aws:firehose:eu-west-1:123456789012:deliverystream/s")
            .tags(tag("pitagora.dev/pipeline", "team-a/orders"))
            .tags(tag("team", ""))
            .build();
        let (arn, tags) = mapping_from_sdk(&m).unwrap();
        assert_eq!(
            arn,
            "arn:aws:firehose:eu-west-1:123456789012:deliverystream/s"
        );
        assert_eq!(tags.get("pitagora.dev/pipeline").unwrap(), "team-a/orders");
        assert_eq!(tags.get("team").unwrap(), "");
    }
}
