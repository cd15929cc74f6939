//! The fluentd routes: the ConfigMap key the controller renders for a pipeline with
//! `legacy.fluentd`, each route at its stage in effect.

use super::Pipeline;
use crate::fluentd::render::{self, RouteAt};
use crate::spec::{FluentdConfig, FluentdReload};

/// What the pipeline's ConfigMap key should hold, and how fluentd reloads it.
#[derive(Clone, Debug, PartialEq)]
pub struct FluentdSpec {
    /// The ConfigMap key (`None`: the routes are only rendered, not managed).
    pub config: Option<FluentdConfig>,
    /// How fluentd picks up a change (`None` with `config` unset).
    pub reload: Option<FluentdReload>,
    /// The field manager of the pipeline's applies.
    pub field_manager: String,
    /// The configuration text.
    pub text: String,
    /// Its hash: the reload annotation's value.
    pub hash: String,
}

/// The routes of `p` at its stages in effect, when it declares a legacy fluentd path.
pub(super) fn build(p: &Pipeline) -> Option<FluentdSpec> {
    let fluentd = &p.spec().legacy.as_ref()?.fluentd;
    let routes: Vec<RouteAt> = fluentd
        .routes
        .iter()
        .zip(&p.stages().routes)
        .map(|(route, stage)| RouteAt {
            route,
            stage: *stage,
        })
        .collect();
    let text = render::render(p.id(), fluentd, &p.target().region, &routes);
    Some(FluentdSpec {
        config: fluentd.config.clone(),
        reload: fluentd.reload.clone(),
        field_manager: crate::fluentd::field_manager(p.id()),
        hash: render::config_hash(&text),
        text,
    })
}
