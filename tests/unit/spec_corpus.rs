//! The malformed corpus (`tests/corpus/malformed/`): LogPipelines with one mistake each — wrong
//! types, out-of-range values, bad names, unknown stages, empty or root prefixes, the pipeline's
//! own log groups as sources, malformed ARNs and ARNs of another region or partition, duplicates,
//! too many items, huge patterns, unicode look-alikes, YAML alias bombs, and what AWS's grammars
//! refuse (malformed Firehose prefix expressions, filter patterns and SNS filter policies, a
//! function subscribed twice, a region AWS does not offer). Each file says why it is
//! wrong and which field must be named (`# expect: PATH`); each is rejected naming that field and
//! nothing else. (`pitagora drift` over the corpus asks AWS nothing: tests/cli/aws.rs.)

use crate::common;

use pitagora::load::{Defaults, load_paths};
use std::path::PathBuf;

/// Every corpus file with the path it expects to be named.
fn corpus() -> Vec<(PathBuf, String)> {
    common::malformed_corpus()
        .into_iter()
        .map(|m| (m.path, m.expect))
        .collect()
}

/// `path` is `field` or inside it.
fn within(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

#[test]
fn the_corpus_holds_at_least_fifty_malformed_pipelines() {
    assert!(corpus().len() >= 50, "{} files", corpus().len());
}

#[test]
fn every_malformed_pipeline_is_rejected_naming_its_field_and_nothing_else() {
    let defaults = Defaults {
        namespace: "default",
        region: Some("eu-west-1"),
    };
    for (path, expect) in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let report = load_paths(std::slice::from_ref(&path), defaults).unwrap();
        assert!(report.pipelines.is_empty(), "{name}: accepted");
        assert_eq!(report.invalid.len(), 1, "{name}: {:?}", report.invalid);
        let errors = &report.invalid[0].errors;
        assert!(!errors.is_empty(), "{name}: rejected without a reason");
        for e in errors {
            assert!(
                within(&e.path, &expect),
                "{name}: expected only {expect}, also named {} ({})",
                e.path,
                e.message
            );
            assert!(
                !e.message.is_empty(),
                "{name}: {} without a message",
                e.path
            );
        }
    }
}
