//! Reading `LogPipeline` documents from files and directories, as a user keeps them in a
//! repository: multi-document YAML (or JSON), directories walked recursively, other kinds of
//! documents skipped with a note. Each pipeline is checked against the CRD schema and the
//! semantic rules, and every problem of every document is collected. The repository's ignore
//! file is read here too (its rules are parsed and merged in [`crate::plan::ignore`]).

mod repair;

use crate::names::PipelineId;
use crate::plan::ignore::{self, IgnoreFileError, RepoIgnoreRule};
use crate::spec::{FieldError, InvalidSpec, LogPipeline, ValidSpec, schema};
use repair::{drop_schema_violations, original_path, within};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Problems reading the inputs themselves (as opposed to invalid documents).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A path could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory held no YAML or JSON files.
    #[error("{0}: no .yaml, .yml or .json files found")]
    Empty(PathBuf),
}

/// A valid pipeline and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `file` or `file#N` (the N-th document, from 1).
    pub source: String,
    /// The validated pipeline (namespace defaulted).
    pub valid: ValidSpec,
}

impl Loaded {
    /// Its identity.
    pub fn id(&self) -> &PipelineId {
        self.valid.id()
    }
}

/// An invalid document and all its problems.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// `file` or `file#N`.
    pub source: String,
    /// Its identity, when it has one.
    pub id: Option<PipelineId>,
    /// Every problem found.
    pub errors: Vec<FieldError>,
}

/// A document that is not a `LogPipeline`.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// `file` or `file#N`.
    pub source: String,
    /// Its `apiVersion`/`kind`.
    pub kind: String,
}

/// Everything read.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Valid pipelines.
    pub pipelines: Vec<Loaded>,
    /// Invalid documents.
    pub invalid: Vec<Invalid>,
    /// Other kinds of documents.
    pub skipped: Vec<Skipped>,
}

/// Reads and validates every `LogPipeline` in `paths`, placed by `defaults`.
pub fn load_paths(paths: &[PathBuf], defaults: Defaults) -> Result<LoadReport, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let mut report = LoadReport::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| LoadError::Read {
            path: file.clone(),
            source,
        })?;
        load_text(&text, &file.display().to_string(), defaults, &mut report);
    }
    // The same pipeline declared twice would be converged twice towards two specs.
    let mut seen: BTreeMap<PipelineId, String> = BTreeMap::new();
    let mut duplicates = Vec::new();
    report.pipelines.retain(|p| match seen.get(p.id()) {
        Some(first) => {
            duplicates.push(Invalid {
                source: p.source.clone(),
                id: Some(p.id().clone()),
                errors: vec![FieldError::new(
                    "metadata.name",
                    p.id(),
                    format!(
                        "LogPipeline {} is already declared in {first}; declare each pipeline once",
                        p.id()
                    ),
                )],
            });
            false
        }
        None => {
            seen.insert(p.id().clone(), p.source.clone());
            true
        }
    });
    report.invalid.extend(duplicates);
    Ok(report)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(read)?;
        out.push(path.to_owned());
        return Ok(());
    }
    let before = out.len();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_files(&entry, out)?;
        } else if entry
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(entry);
        }
    }
    if out.len() == before && before == 0 {
        return Err(LoadError::Empty(path.to_owned()));
    }
    Ok(())
}

/// Parses the documents of one file's text into `report`.
pub fn load_text(text: &str, file: &str, defaults: Defaults, report: &mut LoadReport) {
    let documents: Vec<Value> = match serde_saphyr::from_str_multiple::<Value, Vec<Value>>(text) {
        Ok(docs) => docs,
        Err(e) => {
            report.invalid.push(Invalid {
                source: file.to_owned(),
                id: None,
                errors: vec![FieldError::new(
                    "(document)",
                    "<unparsable>",
                    format!("not valid YAML: {e}"),
                )],
            });
            return;
        }
    };
    let many = documents.len() > 1;
    for (i, doc) in documents.into_iter().enumerate() {
        let source = if many {
            format!("{file}#{}", i + 1)
        } else {
            file.to_owned()
        };
        if doc.is_null() {
            continue;
        }
        load_document(doc, source, defaults, report);
    }
}

/// The ignore file to read: `explicit` when given, else [`DEFAULT_IGNORE_FILE`](ignore::DEFAULT_IGNORE_FILE) when it exists;
/// `None` when there is none (no repository rules).
pub fn ignore_file(explicit: Option<&Path>) -> Option<&Path> {
    let default = Path::new(ignore::DEFAULT_IGNORE_FILE);
    match explicit {
        Some(path) => Some(path),
        None if default.exists() => Some(default),
        None => None,
    }
}

/// Reads and validates a repository ignore file (see [`ignore::parse_ignore_file`]).
pub fn read_ignore_file(path: &Path) -> Result<Vec<RepoIgnoreRule>, IgnoreFileError> {
    ignore::parse_ignore_file(&std::fs::read_to_string(path)?)
}

impl LoadReport {
    /// Adds the repository's ignore `rules` to the pipelines they apply to.
    pub fn add_repo_rules(&mut self, rules: &[RepoIgnoreRule]) {
        for p in &mut self.pipelines {
            let mut applicable = Vec::new();
            ignore::merge_repo_rules(&mut applicable, p.id(), rules);
            p.valid.add_ignore_rules(applicable);
        }
    }
}

/// Where documents are placed: the namespace of those that name none, and the region the
/// region-bound rules check against for specs that name none (`None`: those rules wait).
#[derive(Clone, Copy, Debug)]
pub struct Defaults<'a> {
    /// Namespace of documents without one.
    pub namespace: &'a str,
    /// Region of specs without one.
    pub region: Option<&'a str>,
}

fn load_document(mut doc: Value, source: String, defaults: Defaults, report: &mut LoadReport) {
    if !is_log_pipeline(&doc, &source, report) {
        return;
    }
    if doc["metadata"]["namespace"].is_null() && doc["metadata"].is_object() {
        doc["metadata"]["namespace"] = Value::String(defaults.namespace.to_owned());
    }
    let mut errors = schema::check(&doc);
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let namespace = doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or(defaults.namespace)
        .to_owned();
    let id = PipelineId::new(namespace, name);
    let removed_items = drop_schema_violations(&mut doc, &errors);
    match serde_json::from_value::<LogPipeline>(doc) {
        Ok(pipeline) => match ValidSpec::new(id.clone(), pipeline.spec, defaults.region) {
            Ok(valid) if errors.is_empty() => {
                report.pipelines.push(Loaded { source, valid });
                return;
            }
            Ok(_) => {}
            Err(InvalidSpec(semantic)) => {
                for mut e in semantic {
                    e.path = original_path(&e.path, &removed_items);
                    if !errors.iter().any(|s| within(&s.path, &e.path)) {
                        errors.push(e);
                    }
                }
            }
        },
        Err(e) if errors.is_empty() => {
            errors.push(FieldError::new("(document)", "<unreadable>", e.to_string()));
        }
        Err(_) => {}
    }
    errors.sort();
    report.invalid.push(Invalid {
        source,
        id: Some(id),
        errors,
    });
}

/// Whether `doc` is a `LogPipeline` of the served version; other kinds are noted as skipped,
/// other versions as invalid.
fn is_log_pipeline(doc: &Value, source: &str, report: &mut LoadReport) -> bool {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    if kind != schema::KIND || !api_version.starts_with("pitagora.dev/") {
        report.skipped.push(Skipped {
            source: source.to_owned(),
            kind: format!("{api_version} {kind}").trim().to_owned(),
        });
        return false;
    }
    if api_version != schema::API_VERSION {
        report.invalid.push(Invalid {
            source: source.to_owned(),
            id: None,
            errors: vec![FieldError::new(
                "apiVersion",
                format!("{api_version:?}"),
                format!(
                    "unsupported version; this pitagora serves {}",
                    schema::API_VERSION
                ),
            )],
        });
        return false;
    }
    true
}
