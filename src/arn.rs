//! The AWS account and region a pipeline lives in, the ARNs derived from them, and the
//! normalisation of ARN spellings that AWS treats as equal.

use serde::Serialize;
use std::fmt;

/// Where a pipeline's resources live. Desired state is computed for one target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsTarget {
    /// `aws`, `aws-cn` or `aws-us-gov`, derived from the region.
    pub partition: String,
    /// Region code, e.g. `eu-west-1`.
    pub region: String,
    /// 12-digit account id.
    pub account_id: String,
}

impl AwsTarget {
    /// A target in `region` of `account_id`; the partition follows from the region.
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        let region = region.into();
        Self {
            partition: partition_of(&region).to_owned(),
            region,
            account_id: account_id.into(),
        }
    }

    /// `arn:<partition>:s3:::<bucket>`.
    pub fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }

    /// The ARN of an IAM role with a path such as `/pitagora/`.
    pub fn role_arn(&self, path: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:role{path}{name}",
            self.partition, self.account_id
        )
    }

    /// The ARN of a customer-managed IAM policy with a path such as `/pitagora/`.
    pub fn policy_arn(&self, path: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:policy{path}{name}",
            self.partition, self.account_id
        )
    }

    /// A Firehose delivery stream's ARN.
    pub fn stream_arn(&self, name: &str) -> String {
        self.regional("firehose", &format!("deliverystream/{name}"))
    }

    /// An SNS topic's ARN.
    pub fn topic_arn(&self, name: &str) -> String {
        self.regional("sns", name)
    }

    /// A log group's ARN, without the `:*` suffix some APIs append.
    pub fn log_group_arn(&self, name: &str) -> String {
        self.regional("logs", &format!("log-group:{name}"))
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    pub fn regional(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }

    /// The account and region of a regional ARN (the inverse of [`AwsTarget::regional`]);
    /// `None` for one that names neither.
    pub fn of_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.split(':').skip(3);
        match (parts.next(), parts.next()) {
            (Some(region), Some(account)) if !region.is_empty() && !account.is_empty() => {
                Some(Self::new(account, region))
            }
            _ => None,
        }
    }

    /// The CloudWatch Logs service principal of this region (the principal that assumes the role
    /// subscription filters deliver with).
    pub fn logs_principal(&self) -> String {
        format!("logs.{}.amazonaws.com", self.region)
    }
}

impl fmt::Display for AwsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account_id, self.region)
    }
}

/// The partition a region belongs to (by its code's prefix, as AWS's endpoint rules do).
pub fn partition_of(region: &str) -> &'static str {
    const PARTITIONS: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// The parts of a Lambda function ARN this project needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaArn<'a> {
    /// Partition, e.g. `aws`.
    pub partition: &'a str,
    /// Region of the function.
    pub region: &'a str,
    /// Account that owns the function.
    pub account_id: &'a str,
    /// Function name.
    pub function: &'a str,
    /// Version or alias, if the ARN is qualified.
    pub qualifier: Option<&'a str>,
}

impl<'a> LambdaArn<'a> {
    /// Parses `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(region), Some(account_id)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (Some("function"), Some(function)) = (parts.next(), parts.next()) else {
            return None;
        };
        let qualifier = parts.next();
        if parts.next().is_some() || function.is_empty() || region.is_empty() {
            return None;
        }
        Some(Self {
            partition,
            region,
            account_id,
            function,
            qualifier,
        })
    }
}

/// The parts of an IAM role ARN: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleArn<'a> {
    /// Partition, e.g. `aws`.
    pub partition: &'a str,
    /// Account that owns the role.
    pub account_id: &'a str,
    /// The path and name after `role/`, e.g. `pitagora/pitagora-access`.
    pub name: &'a str,
}

impl<'a> RoleArn<'a> {
    /// Parses a role ARN; IAM is global, so the region part must be empty.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account_id), Some(rest)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let name = rest.strip_prefix("role/")?;
        if partition.is_empty() || name.is_empty() || name.ends_with('/') {
            return None;
        }
        Some(Self {
            partition,
            account_id,
            name,
        })
    }
}

/// Spellings AWS accepts for the same resource, reduced to one: log group ARNs with or without
/// the trailing `:*`, Lambda ARNs with or without `:$LATEST`.
pub fn normalize(arn: &str) -> String {
    let arn = arn.trim();
    if let Some(stripped) = arn.strip_suffix(":*")
        && arn.contains(":log-group:")
    {
        return stripped.to_owned();
    }
    if let Some(stripped) = arn.strip_suffix(":$LATEST")
        && arn.contains(":function:")
    {
        return stripped.to_owned();
    }
    arn.to_owned()
}

/// Whether two ARNs name the same resource.
pub fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regional_arn_gives_back_its_account_and_region() {
        let t = AwsTarget::new("222222222222", "us-east-1");
        let arn = t.log_group_arn("/ecs/a");
        assert_eq!(AwsTarget::of_arn(&arn), Some(t));
        for global in ["arn:aws:s3:::bucket", "not an arn"] {
            assert_eq!(AwsTarget::of_arn(global), None, "{global}");
        }
    }

    #[test]
    fn partition_follows_region() {
        assert_eq!(AwsTarget::new("1", "cn-north-1").partition, "aws-cn");
        assert_eq!(AwsTarget::new("1", "us-gov-west-1").partition, "aws-us-gov");
        assert_eq!(AwsTarget::new("1", "eu-west-1").partition, "aws");
    }

    #[test]
    fn lambda_arn_parses_with_and_without_qualifier() {
        let a = LambdaArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:f").unwrap();
        assert_eq!(
            (a.region, a.function, a.qualifier),
            ("eu-west-1", "f", None)
        );
        let b = LambdaArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:f:prod").unwrap();
        assert_eq!(b.qualifier, Some("prod"));
        assert!(LambdaArn::parse("arn:aws:sns:eu-west-1:123456789012:t").is_none());
        assert!(LambdaArn::parse("arn:aws:lambda:eu-west-1:1:function:f:a:b").is_none());
    }

    #[test]
    fn role_arn_parses_path_and_account_and_refuses_other_resources() {
        let r = RoleArn::parse("arn:aws:iam::111111111111:role/pitagora/access").unwrap();
        assert_eq!(
            (r.partition, r.account_id, r.name),
            ("aws", "111111111111", "pitagora/access")
        );
        for bad in [
            "arn:aws:iam::111111111111:user/u",
            "arn:aws:iam:eu-west-1:111111111111:role/r",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:sts::111111111111:role/r",
            "role/r",
        ] {
            assert_eq!(RoleArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalisation_equates_aws_spellings() {
        assert!(same(
            "arn:aws:logs:eu-west-1:1:log-group:/a:*",
            "arn:aws:logs:eu-west-1:1:log-group:/a"
        ));
        assert!(same(
            "arn:aws:lambda:eu-west-1:1:function:f:$LATEST",
            "arn:aws:lambda:eu-west-1:1:function:f"
        ));
        assert!(!same(
            "arn:aws:lambda:eu-west-1:1:function:f:prod",
            "arn:aws:lambda:eu-west-1:1:function:f"
        ));
    }
}
