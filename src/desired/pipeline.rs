//! A validated pipeline placed in an AWS account and region: the input of desired state.

use crate::arn::AwsTarget;
use crate::cutover::Stages;
use crate::names::{Names, PipelineId};
use crate::spec::{InvalidSpec, LogPipelineSpec, ValidSpec};

/// Neither the spec nor the AWS configuration names a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no AWS region: set spec.region, or --region, or AWS_REGION (AWS_DEFAULT_REGION), or `region` in the AWS profile (AWS_PROFILE's section of AWS_CONFIG_FILE, ~/.aws/config by default)"
)]
pub struct NoRegion;

/// A [`ValidSpec`] with its account and region resolved and every AWS name derived.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    valid: ValidSpec,
    target: AwsTarget,
    names: Names,
    stages: Stages,
    /// The CloudFormation service role's ARN when set (`--cloudformation-role-arn`).
    cloudformation_role: Option<String>,
}

impl Pipeline {
    /// Places `valid` in `account_id` and the region it was validated for.
    pub fn resolve(valid: ValidSpec, account_id: &str) -> Result<Self, NoRegion> {
        let region = valid.region().ok_or(NoRegion)?;
        let target = AwsTarget::new(account_id, region);
        let spec = valid.spec();
        let names = Names::derive(
            valid.id(),
            &target,
            spec.storage.bucket_name.as_deref(),
            spec.fanout.as_ref().and_then(|f| f.topic_name.as_deref()),
        );
        Ok(Self {
            stages: Stages::requested(spec),
            valid,
            target,
            names,
            cloudformation_role: None,
        })
    }

    /// Validates `spec` as `id` and places it in `account_id`, in `default_region` unless the
    /// spec names its own: for callers that hold a spec and know where it goes (render, tests).
    pub fn from_spec(
        id: &PipelineId,
        spec: &LogPipelineSpec,
        account_id: &str,
        default_region: &str,
    ) -> Result<Self, InvalidSpec> {
        let valid = ValidSpec::new(id.clone(), spec.clone(), Some(default_region))?;
        let region = valid.region().unwrap_or(default_region);
        let at_home = crate::spec::validate::remote_sources_at_home(spec, account_id, region);
        if !at_home.is_empty() {
            return Err(InvalidSpec(at_home));
        }
        Ok(Self::resolve(valid, account_id).expect("a default region was given"))
    }

    /// The pipeline's identity.
    pub fn id(&self) -> &PipelineId {
        self.valid.id()
    }

    /// The validated spec.
    pub fn spec(&self) -> &LogPipelineSpec {
        self.valid.spec()
    }

    /// Account, region and partition.
    pub fn target(&self) -> &AwsTarget {
        &self.target
    }

    /// Every derived AWS name.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The cutover stages in effect: the requested ones unless [`Pipeline::at`] says otherwise.
    pub fn stages(&self) -> &Stages {
        &self.stages
    }

    /// This pipeline with its stacks written through `role_arn` (`None`: the default role,
    /// see [`Pipeline::cloudformation_role_arn`]).
    pub fn with_cloudformation_role(self, role_arn: Option<String>) -> Self {
        Self {
            cloudformation_role: role_arn,
            ..self
        }
    }

    /// The service role CloudFormation acts through for this pipeline's stack: the one set, else
    /// `role/pitagora/pitagora-cloudformation` in the pipeline's account and partition.
    pub fn cloudformation_role_arn(&self) -> String {
        self.cloudformation_role.clone().unwrap_or_else(|| {
            self.target
                .role_arn(crate::names::ROLE_PATH, crate::names::CLOUDFORMATION_ROLE)
        })
    }

    /// This pipeline at the stages in effect (the controller's gate holds back moves that are
    /// not yet proven).
    pub fn at(self, stages: Stages) -> Self {
        Self { stages, ..self }
    }
}
