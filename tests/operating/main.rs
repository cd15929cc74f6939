//! What ships beside the code: the image, templates, IAM policies, alert rules, GitOps health,
//! fluentd rendering, docs links, the source layout and its layers. Some need the tools scripts/tools.sh
//! installs (promtool, lua5.4, umoci, skopeo, crun) or moto's venv (cfn-lint). One test binary,
//! so the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod docs_links;
mod fluentd_render;
mod gitops_health;
mod iam_policy;
mod iam_source_account;
mod image;
mod layers;
mod layout;
mod monitoring;
mod template_lint;
mod template_security;
