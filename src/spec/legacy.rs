//! The legacy fluentd path and the cutover from it (`spec.legacy`, `spec.cutover`).
//!
//! The controller renders each route into a key of a ConfigMap that the node-level fluentd
//! `@include`s, by the route's stage in effect, and moves the stage forward only when delivery on
//! the new path is proven; see [`crate::cutover`].

use super::patterns::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The placeholder of a verbatim store replaced by a name unique to each route (the pipeline and
/// the route's pattern), for buffer paths.
pub const ROUTE_PLACEHOLDER: &str = "{{route}}";

/// The legacy delivery path this pipeline replaces.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Legacy {
    /// The fluentd aggregator that receives these logs today.
    pub fluentd: FluentdLegacy,
}

/// The retention values CloudWatch Logs accepts (`PutRetentionPolicy`'s `retentionInDays`), in
/// days.
pub const LOG_RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A fluentd aggregator path, and where the routes to it are rendered.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluentdLegacy {
    /// Where the legacy aggregator listens (fluentd forward protocol). Exactly one of `target`
    /// and `store`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<FluentdTarget>,

    /// The legacy output written verbatim as the body of a `<store>` (e.g. `@type forward` with
    /// your own servers, TLS and buffer), instead of `target`: one output plugin the operator
    /// allows (by default `forward`) and its sections, without `@include`, `@id` or `#{…}`.
    /// `{{route}}` is replaced by a name unique to each route: a file buffer's path must hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16384))]
    pub store: Option<String>,

    /// The ConfigMap key the controller renders this pipeline's routes into. Without it the
    /// controller manages no fluentd configuration (`pitagora render --only fluentd` still
    /// prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<FluentdConfig>,

    /// How fluentd picks up a changed configuration. Required with `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<FluentdReload>,

    /// Which fluentd tags carry the logs that also reach this pipeline, and through which log group.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub routes: Vec<FluentdRoute>,

    /// The buffer of each route's CloudWatch Logs store (from `Shadow` on): on disk, so that a
    /// fluentd restart or crash loses nothing, and retried for ever.
    #[serde(default)]
    pub cloud_watch_buffer: CloudWatchBuffer,

    /// Days the routes' log groups keep their events, when pitagora creates them (a route's log
    /// group that exists already keeps the retention its owner gave it): one of CloudWatch Logs'
    /// values 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    /// 2557, 2922, 3288 or 3653. Default: 30.
    #[serde(default = "default_log_group_retention")]
    #[schemars(extend("enum" = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]))]
    pub log_group_retention_days: i32,
}

impl Default for FluentdLegacy {
    fn default() -> Self {
        Self {
            target: None,
            store: None,
            config: None,
            reload: None,
            routes: Vec::new(),
            log_group_retention_days: default_log_group_retention(),
            cloud_watch_buffer: CloudWatchBuffer::default(),
        }
    }
}

/// The address of a fluentd aggregator.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluentdTarget {
    /// Host name or address, e.g. `fluentd-aggregator.logging.svc`.
    #[schemars(length(min = 1, max = 253), regex(pattern = HOST_PATTERN))]
    pub host: String,
    /// Port of the forward input. Default: 24224.
    #[serde(default = "default_fluentd_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// The forward output's buffer.
    #[serde(default)]
    pub buffer: ForwardBuffer,
}

/// The buffer of the forward output to the aggregator: what holds logs while it is unreachable.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ForwardBuffer {
    /// `File` (default: survives a fluentd restart) or `Memory`.
    #[serde(default, rename = "type")]
    pub kind: BufferKind,
    /// Directory of the file buffers; each route gets its own subdirectory. Without `.`, `..`
    /// or empty segments; on a volume that outlives the fluentd pod (a hostPath such as
    /// `/var/log`). Default: `/var/log/fluentd-buffers/pitagora`.
    #[serde(default = "default_buffer_path")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = ABSOLUTE_PATH_PATTERN))]
    pub path: String,
    /// Seconds between flushes, 1–3600. Default: 5.
    #[serde(default = "default_flush_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub flush_interval_seconds: i32,
    /// Largest chunk, e.g. `8m`, above zero and at most `totalLimitSize`. Default: `8m`.
    #[serde(default = "default_chunk_limit")]
    #[schemars(length(min = 1, max = 16), regex(pattern = FLUENTD_SIZE_PATTERN))]
    pub chunk_limit_size: String,
    /// Largest buffer per route, e.g. `512m`, above zero. Default: `512m`.
    #[serde(default = "default_total_limit")]
    #[schemars(length(min = 1, max = 16), regex(pattern = FLUENTD_SIZE_PATTERN))]
    pub total_limit_size: String,
    /// What happens when the buffer is full while the aggregator is authoritative (`Legacy`,
    /// `Shadow`): `ThrowException` (default), `Block` or `DropOldestChunk`. At `Primary`, where
    /// it is not, a full buffer always throws, so that it never holds up the CloudWatch store.
    #[serde(default)]
    pub overflow_action: OverflowAction,
    /// Retry sending to the aggregator for ever rather than giving up after fluentd's 72 hours.
    /// Default: true.
    #[serde(default = "default_true")]
    pub retry_forever: bool,
}

impl Default for ForwardBuffer {
    fn default() -> Self {
        Self {
            kind: BufferKind::default(),
            path: default_buffer_path(),
            flush_interval_seconds: default_flush_interval(),
            chunk_limit_size: default_chunk_limit(),
            total_limit_size: default_total_limit(),
            overflow_action: OverflowAction::default(),
            retry_forever: true,
        }
    }
}

/// The file buffer of the CloudWatch Logs store (fluent-plugin-cloudwatch-logs). Always on disk
/// and retried for ever: from `Primary` on it is the store that carries the logs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchBuffer {
    /// Directory of the file buffers; each route gets its own subdirectory. Without `.`, `..`
    /// or empty segments, and apart from the legacy store's buffer directory. It must be on a
    /// volume that outlives the fluentd pod (a hostPath such as `/var/log`). Default:
    /// `/var/log/fluentd-buffers/pitagora-cloudwatch`.
    #[serde(default = "default_cloudwatch_buffer_path")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = ABSOLUTE_PATH_PATTERN))]
    pub path: String,
    /// Seconds between flushes, 1–3600. Default: 5.
    #[serde(default = "default_flush_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub flush_interval_seconds: i32,
    /// Largest chunk, e.g. `8m`, above zero and at most `totalLimitSize`. Default: `8m`.
    #[serde(default = "default_chunk_limit")]
    #[schemars(length(min = 1, max = 16), regex(pattern = FLUENTD_SIZE_PATTERN))]
    pub chunk_limit_size: String,
    /// Largest buffer per route, e.g. `512m`, above zero: what a CloudWatch Logs outage can
    /// hold. Default: `512m`.
    #[serde(default = "default_total_limit")]
    #[schemars(length(min = 1, max = 16), regex(pattern = FLUENTD_SIZE_PATTERN))]
    pub total_limit_size: String,
    /// What happens when the buffer is full while the store carries the logs (`Primary`,
    /// `New`): `ThrowException` (default: fluentd's input gets an error and keeps the events —
    /// `in_tail` re-reads them, a forwarding client retries), `Block` (the input waits for
    /// room) or `DropOldestChunk` (the oldest logs are lost). At `Shadow`, where the store is
    /// not authoritative, a full buffer always throws, so that it never holds up the legacy
    /// store.
    #[serde(default)]
    pub overflow_action: OverflowAction,
}

impl Default for CloudWatchBuffer {
    fn default() -> Self {
        Self {
            path: default_cloudwatch_buffer_path(),
            flush_interval_seconds: default_flush_interval(),
            chunk_limit_size: default_chunk_limit(),
            total_limit_size: default_total_limit(),
            overflow_action: OverflowAction::default(),
        }
    }
}

/// Where a fluentd buffer keeps its chunks.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum BufferKind {
    /// On disk, under `path`.
    #[default]
    File,
    /// In memory (lost when fluentd restarts).
    Memory,
}

/// fluentd's `overflow_action`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum OverflowAction {
    /// Refuse new events (the input retries them).
    #[default]
    ThrowException,
    /// Block the input until the buffer has room.
    Block,
    /// Drop the oldest chunk.
    DropOldestChunk,
}

/// The ConfigMap key holding this pipeline's fluentd routes. pitagora owns only this key.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluentdConfig {
    /// Namespace of the ConfigMap (where the node-level fluentd runs), e.g. `logging`.
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub namespace: String,
    /// Name of the ConfigMap; created when missing.
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_SUBDOMAIN_PATTERN))]
    pub name: String,
    /// The key, beginning with the pipeline's namespace and a dot, e.g. `team-a.payments.conf`
    /// (the ConfigMap is shared by every namespace); fluentd `@include`s it from where the
    /// ConfigMap is mounted.
    #[schemars(length(min = 1, max = 63), regex(pattern = CONFIGMAP_KEY_PATTERN))]
    pub key: String,
}

/// How fluentd reloads a changed configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluentdReload {
    /// `DaemonSet` or `Deployment`: the controller rolls it by changing an annotation on its pod
    /// template to the configuration's hash. `None`: your cluster reloads fluentd itself (a
    /// reloader sidecar, for example).
    pub kind: ReloadKind,
    /// The DaemonSet's or Deployment's name. Required unless `kind` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_SUBDOMAIN_PATTERN))]
    pub name: Option<String>,
    /// Its namespace. Default: the ConfigMap's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub namespace: Option<String>,
}

/// What rolls fluentd after a configuration change.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum ReloadKind {
    /// A DaemonSet (the node-level fluentd).
    #[default]
    DaemonSet,
    /// A Deployment.
    Deployment,
    /// Nothing: the cluster reloads fluentd itself.
    None,
}

/// One fluentd route: logs tagged `match` go to the legacy aggregator and to `logGroup`, as its
/// stage says.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluentdRoute {
    /// fluentd tag pattern, e.g. `app.orders.**`, beginning with a fixed tag part (never one
    /// that matches every tag: the first matching route takes the logs).
    #[schemars(length(min = 1, max = 256), regex(pattern = FLUENTD_MATCH_PATTERN))]
    pub r#match: String,
    /// The CloudWatch Logs log group these logs are written to; it must be one of this pipeline's
    /// sources.
    #[schemars(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN))]
    pub log_group: String,
    /// The log stream they are written to. Default: one stream per fluentd tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN))]
    pub log_stream: Option<String>,
    /// This route's own stage, to move one service at a time. Default: `cutover.stage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<CutoverStage>,
}

/// The cutover from the legacy path.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cutover {
    /// `Legacy`: only the legacy path is authoritative. `Shadow`: both run, the new path is
    /// verified against the legacy one. `Primary`: the new path is authoritative, the legacy one
    /// still runs as a fallback. `New`: only the new path. Default: `New` without `legacy`,
    /// `Legacy` with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<CutoverStage>,

    /// Canaries in a row that must have reached every stage, each within
    /// `maxDeliverySeconds`, before `New` takes effect, 1–1000. Default: 10.
    #[serde(default = "default_required_successes")]
    #[schemars(range(min = 1, max = 1000))]
    pub required_successes: i32,

    /// The longest a canary may take end to end and still count towards `requiredSuccesses`,
    /// 60–86400. Default: 900.
    #[serde(default = "default_max_delivery_seconds")]
    #[schemars(range(min = 60, max = 86400))]
    pub max_delivery_seconds: i32,

    /// How long before a move to `New` no loss signal may have shown, 0–604800. Default: 3600.
    #[serde(default = "default_shadow_window_seconds")]
    #[schemars(range(min = 0, max = 604800))]
    pub shadow_window_seconds: i32,

    /// How long after the reload a route's log group has to show incoming events before a stage
    /// that writes to CloudWatch Logs is reported as not taking effect, 60–86400. Default: 600.
    #[serde(default = "default_incoming_deadline_seconds")]
    #[schemars(range(min = 60, max = 86400))]
    pub incoming_deadline_seconds: i32,
}

impl Default for Cutover {
    fn default() -> Self {
        Self {
            stage: None,
            required_successes: default_required_successes(),
            max_delivery_seconds: default_max_delivery_seconds(),
            shadow_window_seconds: default_shadow_window_seconds(),
            incoming_deadline_seconds: default_incoming_deadline_seconds(),
        }
    }
}

/// `Legacy`: only the legacy path is authoritative. `Shadow`: both run, the new path is
/// verified against the legacy one. `Primary`: the new path is authoritative, the legacy one
/// still runs as a fallback. `New`: only the new path. Default: `New` without `legacy`,
/// `Legacy` with it.
// (An optional enum field shows its type's description in the CRD, so it lives here.) The order
// of the variants is the order of the stages.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum CutoverStage {
    /// Only the legacy path is authoritative.
    Legacy,
    /// Both paths run; the new one is verified.
    Shadow,
    /// The new path is authoritative; the legacy one still runs.
    Primary,
    /// Only the new path.
    New,
}

impl CutoverStage {
    /// Every stage, in order.
    pub const ALL: [CutoverStage; 4] = [Self::Legacy, Self::Shadow, Self::Primary, Self::New];

    /// The stage's name as written in the spec and status.
    pub fn as_str(self) -> &'static str {
        match self {
            CutoverStage::Legacy => "Legacy",
            CutoverStage::Shadow => "Shadow",
            CutoverStage::Primary => "Primary",
            CutoverStage::New => "New",
        }
    }

    /// The stage named `s`, as written in the spec and status.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == s)
    }

    /// The next stage towards `New`.
    pub fn next(self) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s > self)
    }

    /// Whether fluentd writes to CloudWatch Logs at this stage.
    pub fn sends_to_new_path(self) -> bool {
        self != CutoverStage::Legacy
    }

    /// Whether fluentd writes to the legacy aggregator at this stage.
    pub fn sends_to_legacy(self) -> bool {
        self != CutoverStage::New
    }

    /// Whether the pipeline's own subscribers receive the logs at this stage: from `Primary` on,
    /// so that consumers never receive everything twice.
    pub fn subscribers_on(self) -> bool {
        self >= CutoverStage::Primary
    }
}

impl std::fmt::Display for CutoverStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_fluentd_port() -> i32 {
    24224
}
fn default_buffer_path() -> String {
    "/var/log/fluentd-buffers/pitagora".to_owned()
}
fn default_cloudwatch_buffer_path() -> String {
    "/var/log/fluentd-buffers/pitagora-cloudwatch".to_owned()
}
fn default_flush_interval() -> i32 {
    5
}
fn default_chunk_limit() -> String {
    "8m".to_owned()
}
fn default_total_limit() -> String {
    "512m".to_owned()
}
fn default_log_group_retention() -> i32 {
    30
}
fn default_true() -> bool {
    true
}
fn default_required_successes() -> i32 {
    10
}
fn default_max_delivery_seconds() -> i32 {
    900
}
fn default_shadow_window_seconds() -> i32 {
    3600
}
fn default_incoming_deadline_seconds() -> i32 {
    600
}
