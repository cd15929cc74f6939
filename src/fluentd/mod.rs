//! fluentd's side of the cutover as text: the configuration grammar ([`parse`]) and the routes
//! rendered by stage ([`render`]). Pure; the ConfigMap and the reload are written by
//! the controller.

pub mod parse;
pub mod render;

use crate::names::PipelineId;

/// The prefix of the pod-template annotation that rolls fluentd when a pipeline's key changes;
/// the name part is the ConfigMap key, so pipelines sharing a DaemonSet do not overwrite each
/// other's.
pub const RELOAD_ANNOTATION_PREFIX: &str = "fluentd.pitagora.dev/";

/// The field manager of `id`'s server-side applies to the ConfigMap: one per pipeline, so that
/// pipelines sharing a ConfigMap own only their own key.
pub fn field_manager(id: &PipelineId) -> String {
    let full = format!("pitagora/{}.{}", id.namespace, id.name);
    if full.len() <= 128 {
        return full;
    }
    // Field managers are at most 128 characters: keep a readable start and a digest of the rest.
    let hash = render::config_hash(&full);
    format!("{}~{}", &full[..100], &hash["sha256:".len()..])
}

/// The reload annotation of the ConfigMap key `key`.
pub fn reload_annotation(key: &str) -> String {
    format!("{RELOAD_ANNOTATION_PREFIX}{key}")
}
