//! `pitagora iam-policies`: prints the IAM documents an installation needs (see
//! [`crate::desired::iam_policies`]); manifests/aws/ holds its output for the example tenancy.

use super::{CliError, Exit, IamDocument};
use crate::desired::iam_policies::{self, Scope};
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
    /// The account the service role's trust names.
    pub account_id: Option<&'a str>,
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
        IamDocument::ControllerPolicy => iam_policies::controller_policy(&scope("")),
        IamDocument::CloudformationRolePolicy => {
            iam_policies::cloudformation_role_policy(&scope(""))
        }
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
