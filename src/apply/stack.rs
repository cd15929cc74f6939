//! Apply the CloudFormation stack: create (in two steps), update, delete (emptying the bucket
//! first when asked), wait for an operation to settle and say why it failed. Every operation
//! carries a client request token.

use super::next_poll;
use crate::aws::cloudformation::{self as cfn, is_missing_stack, is_no_update, service_role_error};
use crate::aws::s3;
use crate::aws::{AwsError, RegionClients};
use crate::resources::Tags;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// What every write of one stack carries: its name, template, tags and capabilities, and the
/// service role CloudFormation acts through (every operation passes it, so CloudFormation never
/// falls back to the caller's own permissions).
struct StackWrite<'a> {
    name: &'a str,
    template: &'a serde_json::Value,
    tags: &'a Tags,
    capabilities: &'a [String],
    role_arn: &'a str,
}

/// Executes a stack creation or update step (any other step is a bug: nothing is written).
pub(super) async fn write(c: &RegionClients, step: &crate::plan::Step) -> Result<String, AwsError> {
    use crate::plan::Step;
    match step {
        Step::CreateStack {
            name,
            template,
            tags,
            capabilities,
            role_arn,
        }
        | Step::UpdateStack {
            name,
            template,
            tags,
            capabilities,
            role_arn,
        } => {
            let w = StackWrite {
                name,
                template,
                tags,
                capabilities,
                role_arn,
            };
            if matches!(step, Step::CreateStack { .. }) {
                create(c, &w).await
            } else {
                update(c, &w).await
            }
        }
        other => Err(AwsError::Build(
            "CloudFormation".into(),
            format!("not a stack write: {other:?}"),
        )),
    }
}

/// Creates the stack in two steps: the bucket alone, then everything else as an update. A
/// creation that failed after making the (retained) bucket would roll back and leave the bucket
/// outside any stack, where CloudFormation cannot create it again; a failed update rolls back
/// with the bucket still in the stack.
async fn create(c: &RegionClients, w: &StackWrite<'_>) -> Result<String, AwsError> {
    let bootstrap = bootstrap_template(w.template);
    create_once(
        c,
        &StackWrite {
            template: &bootstrap,
            ..*w
        },
    )
    .await?;
    if bootstrap != *w.template {
        update(c, w).await?;
    }
    Ok("created".into())
}

/// The template of a stack's first step: only the bucket and its policy.
fn bootstrap_template(template: &serde_json::Value) -> serde_json::Value {
    let mut bootstrap = template.clone();
    if let Some(resources) = bootstrap["Resources"].as_object_mut() {
        resources.retain(|k, _| k == "Bucket" || k == "BucketPolicy");
    }
    if let Some(outputs) = bootstrap["Outputs"].as_object_mut() {
        outputs.retain(|k, _| k == "BucketName");
    }
    bootstrap
}

async fn create_once(c: &RegionClients, w: &StackWrite<'_>) -> Result<String, AwsError> {
    let body = w.template.to_string();
    let token = request_token("create", w.name, &body);
    let created = c
        .send("CloudFormation.CreateStack", || {
            c.cfn
                .create_stack()
                .stack_name(w.name)
                .template_body(&body)
                .set_capabilities(Some(cfn::capabilities_to_sdk(w.capabilities)))
                .set_tags(Some(cfn::tags_to_sdk(w.tags)))
                .role_arn(w.role_arn)
                .client_request_token(&token)
                .send()
        })
        .await;
    match created {
        Ok(_) => {}
        // A retry after a crash: the creation is already under way or done.
        Err(AwsError::Rejected { code, .. }) if code == "AlreadyExistsException" => {}
        Err(e) => return Err(service_role_error(e, w.role_arn)),
    }
    settled(
        c,
        w.name,
        "CloudFormation.CreateStack",
        &["CREATE_COMPLETE"],
        "created",
    )
    .await
}

/// Waits for the stack's operation to end; `done` when it ended in one of `success`, else the
/// failure with its reason. `operation` names the call that started it.
async fn settled(
    c: &RegionClients,
    name: &str,
    operation: &str,
    success: &[&str],
    done: &str,
) -> Result<String, AwsError> {
    let status = wait(c, name).await?;
    match ending(&status, success) {
        Ending::Done => Ok(done.to_owned()),
        Ending::ChangedMeanwhile => Err(changed_meanwhile(name, operation, &status, success)),
        Ending::Failed => Err(failure(c, name, &status).await),
    }
}

/// How a stack operation ended, as its final status says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// In one of the statuses the operation ends in.
    Done,
    /// In the success of another operation: another writer (a second `pitagora apply` on the
    /// same pipeline, a human) changed or deleted the stack while this one waited.
    ChangedMeanwhile,
    /// In a failed or rolled-back state.
    Failed,
}

/// How an operation awaited to end in one of `success` ended, now that the stack is `status`.
fn ending(status: &str, success: &[&str]) -> Ending {
    // The statuses an operation that succeeded leaves ("": the stack is gone altogether).
    const SUCCEEDED: &[&str] = &[
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "IMPORT_COMPLETE",
        "DELETE_COMPLETE",
        "",
    ];
    if success.contains(&status) {
        Ending::Done
    } else if SUCCEEDED.contains(&status) {
        Ending::ChangedMeanwhile
    } else {
        Ending::Failed
    }
}

/// The error of an operation whose stack another writer changed meanwhile: nothing failed, and
/// the next check compares AWS with the spec again and does what is left.
fn changed_meanwhile(name: &str, operation: &str, status: &str, success: &[&str]) -> AwsError {
    let now = if status.is_empty() {
        "deleted".to_owned()
    } else {
        status.to_owned()
    };
    let expected = success
        .iter()
        .find(|s| !s.is_empty())
        .copied()
        .unwrap_or_default();
    AwsError::Conflict {
        operation: operation.to_owned(),
        code: "StackChangedMeanwhile".into(),
        message: format!(
            "another writer changed stack {name} meanwhile (another `pitagora apply` of this pipeline, or a change by hand): it is {now}, not {expected}; nothing failed, and the next check converges"
        ),
    }
}

/// Updates the stack to `template` and `tags`; "no changes needed" when it already is.
async fn update(c: &RegionClients, w: &StackWrite<'_>) -> Result<String, AwsError> {
    let body = w.template.to_string();
    let token = request_token("update", w.name, &body);
    let updated = c
        .send("CloudFormation.UpdateStack", || {
            c.cfn
                .update_stack()
                .stack_name(w.name)
                .template_body(&body)
                .set_capabilities(Some(cfn::capabilities_to_sdk(w.capabilities)))
                .set_tags(Some(cfn::tags_to_sdk(w.tags)))
                .role_arn(w.role_arn)
                .client_request_token(&token)
                .send()
        })
        .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_no_update(&e) => return Ok("no changes needed".into()),
        Err(e) if is_busy(&e) => {
            return Err(AwsError::Conflict {
                operation: "CloudFormation.UpdateStack".into(),
                code: "StackChangedMeanwhile".into(),
                message: format!(
                    "another writer is changing stack {} (another `pitagora apply` of this pipeline, or a change by hand): {e}; nothing failed, and the next check converges",
                    w.name
                ),
            });
        }
        Err(e) => return Err(service_role_error(e, w.role_arn)),
    }
    settled(
        c,
        w.name,
        "CloudFormation.UpdateStack",
        &["UPDATE_COMPLETE"],
        "updated",
    )
    .await
}

/// Whether CloudFormation refused an update because an operation on the stack is running
/// ("Stack:… is in UPDATE_IN_PROGRESS state and can not be updated").
fn is_busy(e: &AwsError) -> bool {
    matches!(e, AwsError::Rejected { code, message, .. }
        if code == "ValidationError" && message.contains("_IN_PROGRESS state and can not be updated"))
}

/// Deletes the stack; with `empty_bucket`, first deletes every object of that bucket (a
/// bucket CloudFormation deletes must be empty).
pub(super) async fn delete(
    c: &RegionClients,
    name: &str,
    empty_bucket: Option<&str>,
    role_arn: &str,
) -> Result<String, AwsError> {
    let mut detail = String::new();
    if let Some(bucket) = empty_bucket {
        detail = format!(
            "emptied bucket {bucket} ({} objects); ",
            empty(c, bucket).await?
        );
    }
    let token = request_token("delete", name, "");
    c.send("CloudFormation.DeleteStack", || {
        c.cfn
            .delete_stack()
            .stack_name(name)
            .role_arn(role_arn)
            .client_request_token(&token)
            .send()
    })
    .await
    .map_err(|e| service_role_error(e, role_arn))?;
    // "": the stack is gone from the listing altogether.
    Ok(detail
        + &settled(
            c,
            name,
            "CloudFormation.DeleteStack",
            &["DELETE_COMPLETE", ""],
            "deleted",
        )
        .await?)
}

/// A client request token for one stack operation: the retries of that request carry it, so
/// CloudFormation recognises a retry whose first answer was lost instead of starting a second
/// operation. A later operation (even with the same template) gets a new token: CloudFormation
/// would take a reused one for a retry and do nothing.
fn request_token(kind: &str, name: &str, body: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{kind}\n{name}\n{body}\n{nanos}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pitagora-{kind}-{hex}")
}

/// The stack's status once no operation is in progress ("" when it no longer exists).
async fn wait(c: &RegionClients, name: &str) -> Result<String, AwsError> {
    let deadline = Instant::now() + c.settle_timeout;
    let mut interval = c.poll_interval;
    loop {
        let status = status(c, name).await?;
        if !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
            return Ok(status);
        }
        tracing::info!(stack = name, %status, "waiting for the stack operation to finish");
        if Instant::now() + interval > deadline {
            return Err(AwsError::Timeout {
                what: format!("stack {name}"),
                seconds: c.settle_timeout.as_secs(),
                state: status,
            });
        }
        tokio::time::sleep(interval).await;
        interval = next_poll(interval);
    }
}

/// The stack's current status ("" when it does not exist).
async fn status(c: &RegionClients, name: &str) -> Result<String, AwsError> {
    let described = c
        .send("CloudFormation.DescribeStacks", || {
            c.cfn.describe_stacks().stack_name(name).send()
        })
        .await;
    match described {
        Ok(out) => Ok(out
            .stacks()
            .first()
            .map(cfn::stack_status)
            .unwrap_or_default()),
        Err(e) if is_missing_stack(&e) => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// Why a stack ended in `status`: its status reason, or the first failed resource event.
async fn failure(c: &RegionClients, name: &str, status: &str) -> AwsError {
    let events = c
        .send("CloudFormation.DescribeStackEvents", || {
            c.cfn.describe_stack_events().stack_name(name).send()
        })
        .await;
    let reason = events
        .ok()
        .and_then(|out| {
            out.stack_events()
                .iter()
                .rev()
                .find(|e| {
                    e.resource_status()
                        .is_some_and(|s| s.as_str().ends_with("_FAILED"))
                        && e.resource_status_reason().is_some()
                })
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.logical_resource_id().unwrap_or("stack"),
                        e.resource_status_reason().unwrap_or_default()
                    )
                })
        })
        .unwrap_or_else(|| "no failure reason recorded".into());
    AwsError::StackFailed {
        stack: name.to_owned(),
        status: status.to_owned(),
        reason,
    }
}

/// Deletes every object (and object version) of a bucket; returns how many.
async fn empty(c: &RegionClients, bucket: &str) -> Result<usize, AwsError> {
    let mut deleted = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let listed = c
            .send("S3.ListObjectVersions", || {
                c.s3.list_object_versions()
                    .bucket(bucket)
                    .set_key_marker(key_marker.clone())
                    .set_version_id_marker(version_marker.clone())
                    .send()
            })
            .await;
        let page = match listed {
            Ok(page) => page,
            Err(e) if e.is_not_found() => return Ok(deleted),
            Err(e) => return Err(e),
        };
        for delete in s3::delete_batches(&page)? {
            let count = delete.objects().len();
            c.send("S3.DeleteObjects", || {
                c.s3.delete_objects()
                    .bucket(bucket)
                    .delete(delete.clone())
                    .send()
            })
            .await?;
            deleted += count;
        }
        if page.is_truncated() != Some(true) {
            return Ok(deleted);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

#[cfg(test)]
mod endings {
    use super::{Ending, changed_meanwhile, ending};

    const CREATED: &[&str] = &["CREATE_COMPLETE"];
    const UPDATED: &[&str] = &["UPDATE_COMPLETE"];
    const DELETED: &[&str] = &["DELETE_COMPLETE", ""];

    #[test]
    fn an_operation_that_ends_in_its_own_success_is_done() {
        assert_eq!(ending("CREATE_COMPLETE", CREATED), Ending::Done);
        assert_eq!(ending("UPDATE_COMPLETE", UPDATED), Ending::Done);
        assert_eq!(ending("", DELETED), Ending::Done);
    }

    #[test]
    fn another_operations_success_means_another_writer_changed_the_stack_meanwhile() {
        for (status, success) in [
            // A second apply's creation found the stack already there, and waited while the
            // first apply's update (its second step) ran.
            ("UPDATE_COMPLETE", CREATED),
            ("DELETE_COMPLETE", CREATED),
            ("", UPDATED),
            ("CREATE_COMPLETE", DELETED),
            ("UPDATE_COMPLETE", DELETED),
        ] {
            assert_eq!(
                ending(status, success),
                Ending::ChangedMeanwhile,
                "{status:?} awaiting {success:?}"
            );
        }
    }

    #[test]
    fn a_failed_or_rolled_back_stack_is_a_failure() {
        for status in [
            "ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "CREATE_FAILED",
            "UPDATE_ROLLBACK_FAILED",
            "DELETE_FAILED",
        ] {
            assert_eq!(ending(status, UPDATED), Ending::Failed, "{status}");
        }
    }

    #[test]
    fn an_update_refused_because_another_operation_runs_is_told_apart() {
        let refused = |message: &str| super::AwsError::Rejected {
            operation: "CloudFormation.UpdateStack".into(),
            code: "ValidationError".into(),
            message: message.into(),
        };
        assert!(super::is_busy(&refused(
            "Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/p/1 is in UPDATE_IN_PROGRESS state and can not be updated."
        )));
        assert!(!super::is_busy(&refused(
            "Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/p/1 is in UPDATE_ROLLBACK_FAILED state and can not be updated."
        )));
        assert!(!super::is_busy(&refused("Template format error")));
    }

    #[test]
    fn the_message_names_the_other_writer_and_that_the_next_check_converges() {
        let e = changed_meanwhile(
            "pitagora-orders",
            "CloudFormation.CreateStack",
            "UPDATE_COMPLETE",
            CREATED,
        );
        let text = e.to_string();
        assert!(
            text.contains("another writer changed stack pitagora-orders meanwhile"),
            "{text}"
        );
        assert!(
            text.contains("it is UPDATE_COMPLETE, not CREATE_COMPLETE"),
            "{text}"
        );
        assert!(text.contains("the next check converges"), "{text}");
        assert!(!text.contains("no failure reason recorded"), "{text}");
        assert_eq!(e.label(), "Conflict");
    }
}
