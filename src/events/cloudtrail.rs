//! Reading one EventBridge message carrying a CloudTrail "AWS API Call via CloudTrail" event into
//! a [`Change`]: which call, where, by whom, when, and the resources its request names. Only the
//! fields AWS documents for the event record are read (`eventSource`, `eventName`, `awsRegion`,
//! `recipientAccountId`, `eventTime`, `eventID`, `errorCode`, `userIdentity`,
//! `requestParameters`); anything else about the call is left to the check it triggers.

use super::watched;
use crate::arn::LambdaArn;
use crate::names::OWNER_TAG;
use serde_json::Value;

/// The `detail-type` of the events CloudTrail sends for API calls.
pub const API_CALL: &str = "AWS API Call via CloudTrail";

/// A resource a call names, as pitagora derives or reads it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Touched {
    /// A CloudFormation stack, by name.
    Stack(String),
    /// A Firehose stream, by name.
    Stream(String),
    /// An S3 bucket, by name.
    Bucket(String),
    /// An IAM role, by name.
    Role(String),
    /// An SNS topic, by ARN.
    Topic(String),
    /// A Lambda function, by name.
    Function(String),
    /// A log group, by name.
    LogGroup(String),
    /// A subscription filter, by name (pitagora's name a pipeline's filters).
    Filter(String),
    /// A CloudWatch Logs destination, by name.
    Destination(String),
    /// The value of pitagora's owner tag a request sets (`<namespace>/<name>`).
    Owner(String),
}

/// Who made a call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// `userIdentity.arn` (for a role session, `arn:…:sts::<account>:assumed-role/<role>/<session>`).
    pub arn: Option<String>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`: the role a session was opened with.
    pub issuer: Option<String>,
}

/// One management call that may have changed a pipeline's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// CloudTrail's `eventID`: the same call delivered twice has the same id.
    pub id: String,
    /// The account the call acted in (`recipientAccountId`).
    pub account: String,
    /// The region it was made in (`awsRegion`).
    pub region: String,
    /// The call, as [`watched::WATCHED`] spells it.
    pub call: &'static str,
    /// The resources its request names.
    pub touched: Vec<Touched>,
    /// Who made it.
    pub actor: Actor,
    /// When (`eventTime`, whole seconds), in milliseconds since the epoch.
    pub at_ms: i64,
}

impl Change {
    /// How a report names it: `DeleteSubscriptionFilter by <arn> at <time>`.
    pub fn describe(&self) -> String {
        let by = self.actor.arn.as_deref().unwrap_or("an unknown principal");
        let at = k8s_openapi::jiff::Timestamp::from_millisecond(self.at_ms)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| self.at_ms.to_string());
        format!("{} by {by} at {at}", self.call)
    }
}

/// Why a message is not a change to look at. Each is dropped without an AWS call; the label
/// counts them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("the message is not a JSON event: {0}")]
    NotJson(String),
    #[error("the event is a {0:?}, not an {API_CALL:?}")]
    NotApiCall(String),
    #[error("{service} {name} is not a call that changes pitagora's resources")]
    Unwatched { service: String, name: String },
    #[error("the call failed ({0}): it changed nothing")]
    Failed(String),
    #[error("the event has no {0}")]
    Missing(&'static str),
}

impl Skip {
    /// The stable label of the cause (metrics).
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "not_json",
            Self::NotApiCall(_) => "not_api_call",
            Self::Unwatched { .. } => "unwatched",
            Self::Failed(_) => "failed_call",
            Self::Missing(_) => "incomplete",
        }
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Reads one message body.
pub fn parse(body: &str) -> Result<Change, Skip> {
    let event: Value = serde_json::from_str(body).map_err(|e| Skip::NotJson(e.to_string()))?;
    let kind = text(&event, "/detail-type").unwrap_or_default();
    if kind != API_CALL {
        return Err(Skip::NotApiCall(kind.to_owned()));
    }
    let detail = event.get("detail").ok_or(Skip::Missing("detail"))?;
    let source = text(detail, "/eventSource").ok_or(Skip::Missing("detail.eventSource"))?;
    let name = text(detail, "/eventName").ok_or(Skip::Missing("detail.eventName"))?;
    let call = watched::call(source, name).ok_or_else(|| Skip::Unwatched {
        service: source.to_owned(),
        name: name.to_owned(),
    })?;
    if let Some(code) = text(detail, "/errorCode") {
        return Err(Skip::Failed(code.to_owned()));
    }
    // EventBridge's envelope carries `account`; CloudTrail's record names the account acted in.
    let account = text(detail, "/recipientAccountId")
        .or_else(|| text(&event, "/account"))
        .ok_or(Skip::Missing("detail.recipientAccountId"))?;
    let region = text(detail, "/awsRegion")
        .or_else(|| text(&event, "/region"))
        .ok_or(Skip::Missing("detail.awsRegion"))?;
    let time = text(detail, "/eventTime")
        .or_else(|| text(&event, "/time"))
        .ok_or(Skip::Missing("detail.eventTime"))?;
    let at_ms = time
        .parse::<k8s_openapi::jiff::Timestamp>()
        .map_err(|_| Skip::Missing("detail.eventTime (an RFC 3339 time)"))?
        .as_millisecond();
    let id = text(detail, "/eventID")
        .or_else(|| text(&event, "/id"))
        .unwrap_or_default();
    let params = detail.get("requestParameters").unwrap_or(&Value::Null);
    Ok(Change {
        id: id.to_owned(),
        account: account.to_owned(),
        region: region.to_owned(),
        call,
        touched: touched(source, params),
        actor: Actor {
            arn: text(detail, "/userIdentity/arn").map(str::to_owned),
            issuer: text(detail, "/userIdentity/sessionContext/sessionIssuer/arn")
                .map(str::to_owned),
        },
        at_ms,
    })
}

/// The resources a request of `source` names.
fn touched(source: &str, params: &Value) -> Vec<Touched> {
    let get = |key: &str| text(params, &format!("/{key}")).map(str::to_owned);
    let mut out: Vec<Touched> = match source {
        "logs.amazonaws.com" => {
            let mut t = Vec::new();
            // Newer calls take `logGroupIdentifier` (a name or an ARN).
            let group = get("logGroupName").or_else(|| get("logGroupIdentifier").map(group_of));
            t.extend(group.map(Touched::LogGroup));
            t.extend(get("filterName").map(Touched::Filter));
            t.extend(get("destinationName").map(Touched::Destination));
            if let Some(arn) = get("resourceArn") {
                t.extend(logs_arn(&arn));
            }
            t
        }
        "firehose.amazonaws.com" => get("deliveryStreamName")
            .map(Touched::Stream)
            .into_iter()
            .collect(),
        "s3.amazonaws.com" => get("bucketName").map(Touched::Bucket).into_iter().collect(),
        "iam.amazonaws.com" => get("roleName").map(Touched::Role).into_iter().collect(),
        "sns.amazonaws.com" => {
            let topic = get("topicArn")
                .or_else(|| get("resourceArn"))
                // A subscription's ARN is its topic's ARN and an id.
                .or_else(|| {
                    get("subscriptionArn")
                        .and_then(|s| s.rsplit_once(':').map(|(t, _)| t.to_owned()))
                });
            topic.map(Touched::Topic).into_iter().collect()
        }
        "lambda.amazonaws.com" => get("functionName")
            .map(|f| Touched::Function(function_of(&f)))
            .into_iter()
            .collect(),
        "cloudformation.amazonaws.com" => get("stackName")
            .map(|s| Touched::Stack(stack_of(&s)))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let mut owners = Vec::new();
    owner_tags(params, &mut owners);
    out.extend(owners.into_iter().map(Touched::Owner));
    out.sort();
    out.dedup();
    out
}

/// A log group's name from a name or an ARN (`arn:…:log-group:<name>[:*]`).
fn group_of(identifier: String) -> String {
    match identifier.split_once(":log-group:") {
        Some((_, rest)) => rest.trim_end_matches(":*").to_owned(),
        None => identifier,
    }
}

/// The log group or destination a CloudWatch Logs ARN names.
fn logs_arn(arn: &str) -> Option<Touched> {
    if let Some((_, group)) = arn.split_once(":log-group:") {
        return Some(Touched::LogGroup(group.trim_end_matches(":*").to_owned()));
    }
    arn.split_once(":destination:")
        .map(|(_, d)| Touched::Destination(d.to_owned()))
}

/// A function's name from a name, an ARN or a partial ARN (`<account>:function:<name>`), without
/// a version or alias.
fn function_of(reference: &str) -> String {
    if let Some(arn) = LambdaArn::parse(reference) {
        return arn.function.to_owned();
    }
    let name = reference
        .split_once("function:")
        .map_or(reference, |(_, rest)| rest);
    name.split(':').next().unwrap_or(name).to_owned()
}

/// A stack's name from a name or an ARN (`arn:…:stack/<name>/<id>`).
fn stack_of(reference: &str) -> String {
    match reference.split_once(":stack/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest).to_owned(),
        None => reference.to_owned(),
    }
}

/// Every value of pitagora's owner tag a request sets, in any of the shapes AWS's APIs take tags
/// in: a map (`{"tags": {KEY: VALUE}}`) or a list of `{key|Key, value|Value}` pairs.
fn owner_tags(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(value)) = map.get(OWNER_TAG) {
                out.push(value.clone());
            }
            let key = map.get("key").or_else(|| map.get("Key"));
            let value = map.get("value").or_else(|| map.get("Value"));
            if let (Some(Value::String(k)), Some(Value::String(value))) = (key, value)
                && k == OWNER_TAG
            {
                out.push(value.clone());
            }
            map.values().for_each(|v| owner_tags(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| owner_tags(v, out)),
        _ => {}
    }
}
