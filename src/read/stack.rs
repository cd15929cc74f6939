//! Observe the CloudFormation stack: its status, tags, outputs and template (read again only
//! when the stack was updated, see [`cfn::TemplateCache`]).

use super::batch::Batch;
use crate::aws::cloudformation::{self as cfn, is_missing_stack};
use crate::aws::{AwsError, RegionClients};
use crate::observed::ObservedStack;

/// The stack named `name`; `None` when it does not exist or is deleted. `desired` is the
/// template the pipeline wants (the cache keeps a template equal to it as a digest).
pub(super) async fn read(
    c: &RegionClients,
    batch: Option<&Batch>,
    name: &str,
    desired: &serde_json::Value,
) -> Result<Option<ObservedStack>, AwsError> {
    if let Some(batch) = batch {
        // Listed (or absent) in the batch's walk; a stack in a transition is read directly.
        if let Some(listed) = batch.stack(c, name).await? {
            let Some(listed) = listed else {
                return Ok(None);
            };
            let template =
                cached_template(c, name, listed.ticket, listed.template_key, desired).await?;
            return Ok(Some(ObservedStack {
                template,
                ..listed.observed
            }));
        }
    }
    let ticket = c.templates.ticket();
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
    let key = cfn::TemplateCache::key(s);
    let template = cached_template(c, name, ticket, key, desired).await?;
    Ok(Some(cfn::observed_stack(s, template)))
}

/// The stack's template: the cached one for `key`, else read (and cached under `key` unless
/// pitagora wrote to the stack since `ticket`, taken before `key` was described). The template
/// changes only with an operation on the stack: it is read again only when the stack says so,
/// or pitagora wrote to it.
async fn cached_template(
    c: &RegionClients,
    name: &str,
    ticket: cfn::Ticket,
    key: Option<String>,
    desired: &serde_json::Value,
) -> Result<Option<serde_json::Value>, AwsError> {
    if let Some(cached) = key
        .as_deref()
        .and_then(|k| c.templates.get(name, k, desired))
    {
        return Ok(cached);
    }
    let read = template(c, name).await?;
    if let Some(key) = key {
        c.templates.put(ticket, name, key, read.as_ref(), desired);
    }
    Ok(read)
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
