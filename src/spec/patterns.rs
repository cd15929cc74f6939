//! The regular expressions of the CRD schema, shared with semantic validation and its error
//! messages.

/// Log group names as CloudWatch Logs accepts them.
pub const LOG_GROUP_NAME_PATTERN: &str = r"^[\.\-_/#A-Za-z0-9]+$";
/// AWS region codes such as `eu-west-1` or `us-gov-west-1`.
pub const REGION_PATTERN: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$";
/// AWS account ids: twelve digits.
pub const ACCOUNT_ID_PATTERN: &str = r"^[0-9]{12}$";
/// Lambda function ARNs (optionally with a version or alias qualifier).
pub const LAMBDA_ARN_PATTERN: &str = r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:function:[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$";
/// A Kubernetes-style DNS label, used for subscriber names.
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// SNS topic names.
pub const TOPIC_NAME_PATTERN: &str = r"^[A-Za-z0-9_-]{1,256}$";

/// Customer-managed KMS keys: a key ARN or an alias ARN.
pub const KMS_KEY_ARN_PATTERN: &str = r"^arn:aws[a-zA-Z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:(key/[a-zA-Z0-9-]{1,128}|alias/[a-zA-Z0-9/_-]{1,250})$";

/// Bucket names as S3 accepts them (the remaining S3 rules are in validation).
pub const BUCKET_NAME_PATTERN: &str = r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$";

/// fluentd tag patterns (`app.orders.**`, `{a,b}.**`, several separated by spaces): the
/// characters of tags and of fluentd's wildcards only, so nothing can close the `<match>`
/// directive, start a comment or hold Ruby code (`#{…}`). Balanced braces and the rest of the
/// grammar are checked by validation ([`crate::spec::grammar::fluentd_match`]).
pub const FLUENTD_MATCH_PATTERN: &str = r"^[A-Za-z0-9_.*{},-]+( [A-Za-z0-9_.*{},-]+)*$";
/// A host name or address for fluentd's `<server>`.
pub const HOST_PATTERN: &str = r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$";
/// ConfigMap keys that are also the name part of the reload annotation (hence at most 63
/// characters): Kubernetes' ConfigMap keys (`[-._a-zA-Z0-9]+`, not `.`, `..` or starting with
/// `..`) narrowed to an annotation name's (starting and ending with a letter or digit).
pub const CONFIGMAP_KEY_PATTERN: &str = r"^[A-Za-z0-9]([-._A-Za-z0-9]*[A-Za-z0-9])?$";
/// Kubernetes object names (DNS subdomains).
pub const DNS_SUBDOMAIN_PATTERN: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";
/// fluentd sizes: bytes with an optional `k`, `m`, `g` or `t` suffix, never zero.
pub const FLUENTD_SIZE_PATTERN: &str = r"^[1-9][0-9]*[kmgt]?$";
/// An absolute path on the fluentd node, without spaces.
pub const ABSOLUTE_PATH_PATTERN: &str = r"^/[A-Za-z0-9._/-]*$";

/// What a pattern of this schema means, for error messages.
pub fn describe_pattern(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        LOG_GROUP_NAME_PATTERN => "a log group name: letters, digits and . - _ / #",
        REGION_PATTERN => "an AWS region code such as eu-west-1",
        ACCOUNT_ID_PATTERN => "an AWS account id: twelve digits such as 222222222222",
        LAMBDA_ARN_PATTERN => {
            "a Lambda function ARN: arn:aws:lambda:<region>:<account>:function:<name>"
        }
        DNS_LABEL_PATTERN => {
            "a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"
        }
        TOPIC_NAME_PATTERN => "an SNS topic name: 1–256 letters, digits, '-' and '_'",
        KMS_KEY_ARN_PATTERN => {
            "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or alias ARN (…:alias/<name>)"
        }
        BUCKET_NAME_PATTERN => {
            "an S3 bucket name: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
        }
        FLUENTD_MATCH_PATTERN => {
            "a fluentd tag pattern such as app.orders.**: letters, digits, '_', '-', '.', '*', '{', ',' and '}', several separated by single spaces (no '#': fluentd runs #{…} as Ruby)"
        }
        HOST_PATTERN => "a host name or address such as fluentd.logging.svc",
        CONFIGMAP_KEY_PATTERN => {
            "a ConfigMap key such as team-a.orders.conf: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        }
        DNS_SUBDOMAIN_PATTERN => {
            "a Kubernetes name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        }
        FLUENTD_SIZE_PATTERN => "a fluentd size above zero such as 8m or 512m",
        ABSOLUTE_PATH_PATTERN => "an absolute path without spaces, e.g. /var/log/fluentd-buffers",
        _ => return None,
    })
}
