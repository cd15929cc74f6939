//! `pitagora iam-policies`: prints the IAM documents an installation needs (see
//! [`crate::desired::iam_policies`]); manifests/aws/ holds its output for the example tenancy.

use super::{CliError, Exit};
use crate::desired::iam_policies::{self, Scope};
use clap::ValueEnum;
use std::io::Write;

/// What to print and for which prefixes.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The document.
    pub document: IamDocument,
    /// The tenants' source log-group prefixes (none: every log group).
    pub log_group_prefixes: &'a [String],
    /// The tenants' function-name prefixes (none: every function).
    pub function_prefixes: &'a [String],
    /// The partition in ARNs.
    pub partition: &'a str,
    /// The account the service role's trust names (and whose role's trust
    /// `account-role-trust` prints).
    pub account_id: Option<&'a str>,
    /// The accounts file, when given.
    pub accounts: Option<&'a crate::spec::Accounts>,
    /// The controller's own role (`account-role-trust`).
    pub controller_role_arn: Option<&'a str>,
}

/// The accounts file at `path`.
pub fn accounts(path: &std::path::Path) -> Result<crate::spec::Accounts, CliError> {
    let fail = |e: String| CliError::Accounts(path.to_owned(), e);
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    crate::spec::Accounts::parse(&text).map_err(|e| fail(e.to_string()))
}

/// The trust policy of one listed account's role.
fn account_role_trust(r: &Request) -> Result<serde_json::Value, CliError> {
    let fail = |m: &str| CliError::AccountRoleTrust(m.to_owned());
    let accounts = r
        .accounts
        .ok_or_else(|| fail("pass --accounts <the accounts file>"))?;
    let controller = r
        .controller_role_arn
        .ok_or_else(|| fail("pass --controller-role-arn <the controller's own role>"))?;
    let role = match r.account_id {
        Some(id) => accounts
            .role_of(id)
            .ok_or_else(|| fail(&format!("account {id} is not listed in the accounts file")))?,
        None => {
            let mut roles = accounts.roles();
            match (roles.next(), roles.next()) {
                (Some(only), None) => only,
                (None, _) => return Err(fail("the accounts file lists no account")),
                _ => return Err(fail("the accounts file lists several: pass --account-id")),
            }
        }
    };
    Ok(iam_policies::account_role_trust(role, controller))
}

/// The permissions of the role pitagora assumes in one source account of the accounts file:
/// `--account-id`, or the only account a namespace takes sources from.
fn source_account_policy(r: &Request) -> Result<serde_json::Value, CliError> {
    let fail = |m: String| CliError::SourceAccountPolicy(m);
    let accounts = r
        .accounts
        .ok_or_else(|| fail("pass --accounts <the accounts file>".into()))?;
    let by_account = accounts.sources_by_account();
    let (account, allowances) = match r.account_id {
        Some(id) => by_account.get_key_value(id).ok_or_else(|| {
            fail(format!(
                "no namespace of the accounts file takes sources from account {id}; name one \
                 that a namespaces.<ns>.sources entry names"
            ))
        })?,
        None => match by_account.len() {
            1 => by_account.iter().next().expect("one"),
            0 => {
                return Err(fail(
                    "no namespace takes sources from another account".into(),
                ));
            }
            _ => return Err(fail("several source accounts: pass --account-id".into())),
        },
    };
    Ok(iam_policies::source_account_policy(
        r.partition,
        account,
        allowances,
    ))
}

/// `iam-policies`' arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct IamArgs {
    /// The document.
    #[arg(value_enum)]
    pub document: IamDocument,
    /// A log-group name prefix the tenants' pipelines subscribe (repeatable; the tenancy
    /// file's prefixes of every namespace).
    #[arg(long = "log-group-prefix", value_name = "PREFIX")]
    pub log_group_prefixes: Vec<String>,
    /// A Lambda function-name prefix of the tenants' transform and subscriber functions
    /// (repeatable).
    #[arg(long = "function-prefix", value_name = "PREFIX")]
    pub function_prefixes: Vec<String>,
    /// Take the prefixes from the controller's tenancy file (every namespace's together),
    /// so the policies reach exactly what the tenants are given.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["log_group_prefixes", "function_prefixes"])]
    pub tenancy: Option<std::path::PathBuf>,
    /// The partition in the JSON documents' ARNs (the template takes the stack's own).
    #[arg(long, default_value = "aws")]
    pub partition: String,
    /// The account CloudFormation acts for, in the service role's trust policy (needed for
    /// `cloudformation-role-trust`; the template takes the stack's own).
    #[arg(long, value_name = "ACCOUNT", value_parser = parse_account)]
    pub account_id: Option<String>,
    /// The accounts file: `controller-policy` also allows assuming each listed account's
    /// role; `account-role-trust` prints the trust of one of them (--account-id, needed
    /// when it lists several).
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<std::path::PathBuf>,
    /// The controller's own role, which each account's role trusts (needed for
    /// `account-role-trust`).
    #[arg(long, value_name = "ARN", value_parser = parse_role_arn)]
    pub controller_role_arn: Option<String>,
}

/// `iam-policies`: reads the tenancy and accounts files given, then prints the document.
pub fn run(a: &IamArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let (log_group_prefixes, function_prefixes) = match &a.tenancy {
        Some(path) => tenancy_prefixes(path)?,
        None => (a.log_group_prefixes.clone(), a.function_prefixes.clone()),
    };
    let accounts = a.accounts.as_deref().map(accounts).transpose()?;
    let request = Request {
        document: a.document,
        log_group_prefixes: &log_group_prefixes,
        function_prefixes: &function_prefixes,
        partition: &a.partition,
        account_id: a.account_id.as_deref(),
        accounts: accounts.as_ref(),
        controller_role_arn: a.controller_role_arn.as_deref(),
    };
    print(&request, out)
}

/// The log-group and function prefixes of every namespace of the tenancy file at `path`. A
/// file that gives no namespace log groups or functions is refused: the documents read an
/// empty list as "everything" (the single-team mode), the opposite of what the file says.
pub fn tenancy_prefixes(path: &std::path::Path) -> Result<(Vec<String>, Vec<String>), CliError> {
    let fail = |e: String| CliError::Tenancy(path.to_owned(), e);
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let tenancy = crate::spec::Tenancy::parse(&text).map_err(|e| fail(e.to_string()))?;
    let given = |list: Option<Vec<String>>, field: &str| match list {
        Some(list) if !list.is_empty() => Ok(list),
        _ => Err(fail(format!(
            "no namespace is given {field}, and an IAM policy cannot allow none of them here; give the one namespace that needs them its {field}"
        ))),
    };
    Ok((
        given(tenancy.all_log_group_prefixes(), "logGroupPrefixes")?,
        given(tenancy.all_function_prefixes(), "functionPrefixes")?,
    ))
}

/// Prints the requested document: JSON policies, or the template as YAML.
pub fn print(r: &Request, out: &mut dyn Write) -> Result<Exit, CliError> {
    let scope = |trusted_account| Scope {
        partition: r.partition,
        account: "*",
        trusted_account,
        log_group_prefixes: r.log_group_prefixes,
        function_prefixes: r.function_prefixes,
    };
    let value = match r.document {
        IamDocument::ControllerPolicy => {
            let mut policy = iam_policies::controller_policy(&scope(""));
            let assume = r.accounts.and_then(iam_policies::assume_account_roles);
            if let (Some(statement), Some(list)) = (assume, policy["Statement"].as_array_mut()) {
                list.push(statement);
            }
            policy
        }
        IamDocument::AccountRoleTrust => account_role_trust(r)?,
        IamDocument::SourceAccountPolicy => source_account_policy(r)?,
        IamDocument::CloudformationRolePolicy => {
            iam_policies::cloudformation_role_policy(&scope(""))
        }
        IamDocument::PipelineRoleBoundary => iam_policies::pipeline_role_boundary(&scope("")),
        IamDocument::FluentdNodePolicy => iam_policies::fluentd_node_policy(&scope("")),
        IamDocument::CloudformationRoleTrust => {
            let account = r.account_id.ok_or(CliError::NoTrustedAccount)?;
            iam_policies::cloudformation_role_trust(&scope(account))
        }
        IamDocument::CloudformationTemplate => {
            let template =
                iam_policies::install_template(r.log_group_prefixes, r.function_prefixes);
            let text = serde_saphyr::to_string(&template)
                .map_err(|e| CliError::Serialise(e.to_string()))?;
            out.write_all(text.as_bytes())?;
            return Ok(Exit::Ok);
        }
    };
    let text =
        serde_json::to_string_pretty(&value).map_err(|e| CliError::Serialise(e.to_string()))?;
    writeln!(out, "{text}")?;
    Ok(Exit::Ok)
}

/// The documents `iam-policies` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IamDocument {
    /// The controller's policy (JSON; manifests/aws/controller-policy.json).
    ControllerPolicy,
    /// The CloudFormation service role's permissions (JSON).
    CloudformationRolePolicy,
    /// The CloudFormation service role's trust policy (JSON; needs --account-id).
    CloudformationRoleTrust,
    /// The permissions boundary every pipeline role carries (JSON; the template creates it as
    /// `policy/pitagora/pitagora-pipeline-boundary`).
    PipelineRoleBoundary,
    /// The node-level fluentd's policy for the routes pitagora renders (JSON;
    /// manifests/aws/fluentd-node-policy.json).
    FluentdNodePolicy,
    /// A CloudFormation template creating the service role, the controller's managed policy
    /// and the pipeline roles' boundary (YAML).
    CloudformationTemplate,
    /// The trust policy of an account's role from the accounts file (JSON; needs --accounts
    /// and --controller-role-arn): the controller's role may assume it with the file's
    /// external ID. Its permissions: `controller-policy`.
    AccountRoleTrust,
    /// The permissions of the role pitagora assumes in a source account of the accounts file
    /// (JSON; needs --accounts, and --account-id when several accounts are sources): its
    /// subscription filters on the allowed prefixes and regions, and the per-path canary's log
    /// group there.
    SourceAccountPolicy,
}

/// A 12-digit AWS account id.
pub(super) fn parse_account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not an AWS account id (12 digits)"))
    }
}

/// An IAM role ARN, `arn:<partition>:iam::<account>:role/<path><name>`, refused early with the
/// form in the message (CloudFormation would only say "is not a valid RoleARN").
pub(super) fn parse_role_arn(text: &str) -> Result<String, String> {
    let ok = text.strip_prefix("arn:").and_then(|rest| {
        let mut parts = rest.splitn(5, ':');
        let (partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        (!partition.is_empty()
            && service == "iam"
            && region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty())
        .then_some(())
    });
    match ok {
        Some(()) => Ok(text.to_owned()),
        None => Err(format!(
            "{text:?} is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<path/><name>, e.g. arn:aws:iam::123456789012:role/pitagora/pitagora-cloudformation"
        )),
    }
}
