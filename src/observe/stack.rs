//! Observe the CloudFormation stack: its status, tags, outputs and template (read again only
//! when the stack was updated, see [`cfn::TemplateCache`]).

use crate::aws::cloudformation::{self as cfn, is_missing_stack};
use crate::aws::{AwsError, RegionClients};
use crate::observed::ObservedStack;

/// The stack named `name`; `None` when it does not exist or is deleted.
pub(super) async fn observe(
    c: &RegionClients,
    name: &str,
) -> Result<Option<ObservedStack>, AwsError> {
    let described = c
        .send("CloudFormation.DescribeStacks", || {
            c.cfn.describe_stacks().stack_name(name).send()
        })
        .await;
    let out = match described {
        Ok(out) => out,
        Err(e) if is_missing_stack(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    if cfn::stack_status(s) == "DELETE_COMPLETE" {
        return Ok(None);
    }
    // The template changes only with an update: read it again only when the stack says so.
    let key = cfn::TemplateCache::key(s);
    let template = match key.as_deref().and_then(|k| c.templates.get(k)) {
        Some(cached) => cached,
        None => {
            let read = template(c, name).await?;
            if let Some(key) = key {
                c.templates.put(key, read.clone());
            }
            read
        }
    };
    Ok(Some(cfn::observed_stack(s, template)))
}

/// The stack's template, parsed; `None` when it has none or it does not parse.
async fn template(c: &RegionClients, name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    match c
        .send("CloudFormation.GetTemplate", || {
            c.cfn.get_template().stack_name(name).send()
        })
        .await
    {
        Ok(t) => Ok(t.template_body().and_then(cfn::parse_template)),
        // A stack that never got a template (e.g. REVIEW_IN_PROGRESS) has none to compare.
        Err(AwsError::Rejected { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
