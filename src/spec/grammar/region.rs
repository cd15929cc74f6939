//! The region codes AWS offers, per partition.
//!
//! The list is AWS's "Regions and Availability Zones" page (AWS Global Infrastructure
//! documentation, "AWS Regions"), cross-checked with the partition data the AWS SDK for Rust
//! ships (`endpoint_lib` of the `aws-sdk-*` crates this build uses). AWS opens regions now and
//! then: a pipeline in a region opened after this release is refused until the operator
//! upgrades pitagora, which is the point — a misspelt region (`eu-wset-1`) would otherwise reach
//! AWS as an endpoint that does not exist.
//!
//! The CRD schema keeps the shape check (`REGION_PATTERN`) rather than an enum of these codes:
//! the CRD is installed by the cluster's administrator and outlives controller upgrades, so an
//! enum there would refuse a new region even after the controller learnt it, and an enum that
//! shrank would leave stored objects the API server no longer accepts on update. Validation runs
//! in the controller and the CLI, which are what an upgrade replaces.

use crate::spec::patterns::REGION_PATTERN;
use std::sync::LazyLock;
use thiserror::Error;

/// Every region code with its partition.
pub const REGIONS: &[(&str, &str)] = &[
    // aws
    ("af-south-1", "aws"),
    ("ap-east-1", "aws"),
    ("ap-east-2", "aws"),
    ("ap-northeast-1", "aws"),
    ("ap-northeast-2", "aws"),
    ("ap-northeast-3", "aws"),
    ("ap-south-1", "aws"),
    ("ap-south-2", "aws"),
    ("ap-southeast-1", "aws"),
    ("ap-southeast-2", "aws"),
    ("ap-southeast-3", "aws"),
    ("ap-southeast-4", "aws"),
    ("ap-southeast-5", "aws"),
    ("ap-southeast-6", "aws"),
    ("ap-southeast-7", "aws"),
    ("ca-central-1", "aws"),
    ("ca-west-1", "aws"),
    ("eu-central-1", "aws"),
    ("eu-central-2", "aws"),
    ("eu-north-1", "aws"),
    ("eu-south-1", "aws"),
    ("eu-south-2", "aws"),
    ("eu-west-1", "aws"),
    ("eu-west-2", "aws"),
    ("eu-west-3", "aws"),
    ("il-central-1", "aws"),
    ("me-central-1", "aws"),
    ("me-south-1", "aws"),
    ("mx-central-1", "aws"),
    ("sa-east-1", "aws"),
    ("us-east-1", "aws"),
    ("us-east-2", "aws"),
    ("us-west-1", "aws"),
    ("us-west-2", "aws"),
    // aws-cn
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
    // aws-us-gov
    ("us-gov-east-1", "aws-us-gov"),
    ("us-gov-west-1", "aws-us-gov"),
    // The isolated partitions, which `crate::arn::partition_of` also serves.
    ("us-iso-east-1", "aws-iso"),
    ("us-iso-west-1", "aws-iso"),
    ("us-isob-east-1", "aws-iso-b"),
    ("us-isob-west-1", "aws-iso-b"),
    ("us-isof-east-1", "aws-iso-f"),
    ("us-isof-south-1", "aws-iso-f"),
    ("eu-isoe-west-1", "aws-iso-e"),
];

static SHAPE: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(REGION_PATTERN).unwrap());

/// Why a region code names no region.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RegionError {
    /// Not shaped like a region code.
    #[error("not an AWS region code; expected e.g. eu-west-1")]
    Malformed,
    /// Shaped like one, but AWS offers no such region (as this release knows them).
    #[error(
        "not a region AWS offers{}; if AWS opened it after this release of pitagora, upgrade pitagora",
        near.map(|r| format!(" (did you mean {r:?}?)")).unwrap_or_default()
    )]
    Unknown {
        /// The known region closest in spelling, if one is close.
        near: Option<&'static str>,
    },
}

/// Checks that `region` is a region AWS offers.
pub fn check(region: &str) -> Result<(), RegionError> {
    if !SHAPE.is_match(region) {
        return Err(RegionError::Malformed);
    }
    if partition(region).is_some() {
        return Ok(());
    }
    Err(RegionError::Unknown {
        near: nearest(region),
    })
}

/// The partition of a known region.
pub fn partition(region: &str) -> Option<&'static str> {
    REGIONS.iter().find(|(r, _)| *r == region).map(|(_, p)| *p)
}

/// The known region at most two edits away from `region`, the closest first.
fn nearest(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .map(|(r, _)| (edit_distance(region, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r)
}

/// Levenshtein distance, with a swap of two neighbours counting as one edit (`wset` → `west`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_region_belongs_to_the_partition_arns_use_for_it() {
        for (region, partition) in REGIONS {
            assert_eq!(crate::arn::partition_of(region), *partition, "{region}");
        }
    }

    #[test]
    fn every_listed_region_has_the_shape_the_crd_schema_accepts() {
        for (region, _) in REGIONS {
            assert!(SHAPE.is_match(region), "{region}");
        }
    }

    #[test]
    fn regions_of_every_partition_are_known() {
        for region in ["eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"] {
            assert_eq!(check(region), Ok(()), "{region}");
        }
    }

    #[test]
    fn unknown_regions_are_refused_with_the_nearest_known_one() {
        for (region, near) in [
            ("eu-wset-1", Some("eu-west-1")),
            ("eu-west-4", Some("eu-west-1")),
            ("us-gov-north-1", None),
            ("xx-nowhere-1", None),
            ("us-esat-1", Some("us-east-1")),
        ] {
            assert_eq!(
                check(region),
                Err(RegionError::Unknown { near }),
                "{region}"
            );
        }
    }

    #[test]
    fn codes_not_shaped_like_regions_are_malformed() {
        for region in ["Europe", "EU-WEST-1", "eu-west", ""] {
            assert_eq!(check(region), Err(RegionError::Malformed), "{region:?}");
        }
    }

    #[test]
    fn a_swap_of_neighbours_is_one_edit() {
        assert_eq!(edit_distance("wset", "west"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
