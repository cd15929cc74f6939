//! Reading `LogPipeline` documents from files and directories, as a user keeps them in a
//! repository: multi-document YAML (or JSON), directories walked recursively. Every document
//! must be a `LogPipeline` of the served version (a typo in `kind` or `apiVersion`, or another
//! manifest among the pipelines, is an error naming it: a document that silently did not count
//! would leave a pipeline unapplied while the run succeeds); only kustomize's own
//! `kustomization.yaml` files are skipped, with a note. Each pipeline is checked (its envelope,
//! the CRD schema, the semantic rules), every problem of every document is collected, and a
//! pipeline declared twice is refused in each place. The repository's ignore file is read here
//! too (its rules are parsed and merged in [`crate::plan::ignore`]).

mod envelope;
mod parse;
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
    /// `file` or `file#N` (the N-th non-empty document, from 1).
    pub source: String,
    /// The line its document starts on.
    pub line: usize,
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
    /// The line its document starts on (1 for a file that could not be parsed).
    pub line: usize,
    /// Its identity, when it is a LogPipeline.
    pub id: Option<PipelineId>,
    /// Every problem found.
    pub errors: Vec<FieldError>,
}

/// A file that was not read, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The file.
    pub source: String,
    /// Why it was not read.
    pub reason: String,
}

/// Everything read.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Valid pipelines.
    pub pipelines: Vec<Loaded>,
    /// Invalid documents.
    pub invalid: Vec<Invalid>,
    /// Files not read (kustomize's own).
    pub skipped: Vec<Skipped>,
    /// Every pipeline's identity and place, in reading order (for [`LoadReport::refuse_duplicates`]).
    declared: Vec<(PipelineId, String)>,
}

/// The names kustomize gives its own file in a directory: its build description, not a
/// manifest, and found beside the manifests it lists.
const KUSTOMIZATION: [&str; 2] = ["kustomization.yaml", "kustomization.yml"];

/// Reads and validates every `LogPipeline` in `paths`, placed by `defaults`.
pub fn load_paths(paths: &[PathBuf], defaults: Defaults) -> Result<LoadReport, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let mut report = LoadReport::default();
    for file in files {
        let source = file.display().to_string();
        if file
            .file_name()
            .is_some_and(|n| KUSTOMIZATION.iter().any(|k| n == *k))
        {
            report.skipped.push(Skipped {
                source,
                reason: "kustomize's build file, not a manifest".into(),
            });
            continue;
        }
        let bytes = std::fs::read(&file).map_err(|source| LoadError::Read {
            path: file.clone(),
            source,
        })?;
        load_bytes(&bytes, &source, defaults, &mut report);
    }
    report.refuse_duplicates();
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

/// Parses the documents of one file's bytes into `report` (see [`load_text`]); bytes that are
/// not UTF-8 make one error naming the byte and the line where they stop being so.
pub fn load_bytes(bytes: &[u8], file: &str, defaults: Defaults, report: &mut LoadReport) {
    match parse::utf8(bytes) {
        Ok(text) => load_text(text, file, defaults, report),
        Err(e) => report.invalid.push(Invalid {
            source: file.to_owned(),
            line: 1,
            id: None,
            errors: vec![e],
        }),
    }
}

/// Parses the documents of one file's text into `report`. Pipelines declared twice are refused
/// by [`LoadReport::refuse_duplicates`], once every file is read.
pub fn load_text(text: &str, file: &str, defaults: Defaults, report: &mut LoadReport) {
    let documents = match parse::documents(text) {
        Ok(docs) => docs,
        Err(e) => {
            report.invalid.push(Invalid {
                source: file.to_owned(),
                line: 1,
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
        // An empty document (`---` alone) declares nothing.
        if doc.value.is_null() && doc.non_finite.is_empty() {
            continue;
        }
        load_document(doc, source, defaults, report);
    }
}

/// How an error names a document: `file#2 (line 9)`, or `file` for a document at its top.
fn place(source: &str, line: usize) -> String {
    if line > 1 {
        format!("{source} (line {line})")
    } else {
        source.to_owned()
    }
}

/// How many other places a duplicate's error lists before "and N more".
const PLACES_SHOWN: usize = 3;

impl LoadReport {
    /// Refuses every pipeline declared more than once, in each of its places (converging the
    /// first read would silently leave the others unapplied): the first names the others, the
    /// others name the first.
    pub fn refuse_duplicates(&mut self) {
        let mut places: BTreeMap<&PipelineId, Vec<&str>> = BTreeMap::new();
        for (id, place) in &self.declared {
            places.entry(id).or_default().push(place);
        }
        places.retain(|_, p| p.len() > 1);
        if places.is_empty() {
            return;
        }
        let messages: Vec<(PipelineId, String, String)> = places
            .iter()
            .flat_map(|(id, all)| {
                all.iter().enumerate().map(move |(i, here)| {
                    let message = if i == 0 {
                        let others = &all[1..];
                        let mut shown = others[..others.len().min(PLACES_SHOWN)].join(", ");
                        if others.len() > PLACES_SHOWN {
                            shown += &format!(" and {} more", others.len() - PLACES_SHOWN);
                        }
                        format!("LogPipeline {id} is declared again in {shown}")
                    } else {
                        format!("LogPipeline {id} is already declared in {}", all[0])
                    };
                    let message = format!("{message}; declare each pipeline once");
                    ((*id).clone(), (*here).to_owned(), message)
                })
            })
            .collect();
        let (twice, once) = std::mem::take(&mut self.pipelines)
            .into_iter()
            .partition(|p| places.contains_key(p.id()));
        self.pipelines = once;
        let twice: Vec<Loaded> = twice;
        self.invalid.extend(twice.into_iter().map(|p| Invalid {
            id: Some(p.id().clone()),
            source: p.source,
            line: p.line,
            errors: Vec::new(),
        }));
        for invalid in &mut self.invalid {
            let here = place(&invalid.source, invalid.line);
            for (id, _, message) in messages
                .iter()
                .filter(|(id, at, _)| invalid.id.as_ref() == Some(id) && *at == here)
            {
                invalid
                    .errors
                    .push(FieldError::new("metadata.name", id, message.clone()));
            }
        }
    }

    /// Adds the repository's ignore `rules` to the pipelines they apply to.
    pub fn add_repo_rules(&mut self, rules: &[RepoIgnoreRule]) {
        for p in &mut self.pipelines {
            let mut applicable = Vec::new();
            ignore::merge_repo_rules(&mut applicable, p.id(), rules);
            p.valid.add_ignore_rules(applicable);
        }
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

/// Where documents are placed: the namespace of those that name none, and the region the
/// region-bound rules check against for specs that name none (`None`: those rules wait).
#[derive(Clone, Copy, Debug)]
pub struct Defaults<'a> {
    /// Namespace of documents without one.
    pub namespace: &'a str,
    /// Region of specs without one.
    pub region: Option<&'a str>,
}

fn load_document(
    parsed: parse::Document,
    source: String,
    defaults: Defaults,
    report: &mut LoadReport,
) {
    let line = parsed.line;
    let identity = envelope::identity(&parsed);
    if !identity.is_empty() {
        report.invalid.push(Invalid {
            source,
            line,
            id: None,
            errors: identity,
        });
        return;
    }
    let mut errors = envelope::fields(&parsed);
    errors.extend(parsed.non_finite);
    let mut doc = parsed.value;
    if doc["metadata"]["namespace"].is_null() && doc["metadata"].is_object() {
        doc["metadata"]["namespace"] = Value::String(defaults.namespace.to_owned());
    }
    // The schema sees what the checks above already named (a `metadata` list, a `.nan` read
    // as null) as a second mistake of the same field.
    let schema_errors: Vec<FieldError> = schema::check(&doc)
        .into_iter()
        .filter(|s| !errors.iter().any(|e| within(&s.path, &e.path)))
        .collect();
    errors.extend(schema_errors);
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let namespace = doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or(defaults.namespace)
        .to_owned();
    let id = PipelineId::new(namespace, name);
    if !id.name.is_empty() {
        report.declared.push((id.clone(), place(&source, line)));
    }
    let removed_items = drop_schema_violations(&mut doc, &errors);
    match serde_json::from_value::<LogPipeline>(doc) {
        Ok(pipeline) => match ValidSpec::new(id.clone(), pipeline.spec, defaults.region) {
            Ok(valid) if errors.is_empty() => {
                report.pipelines.push(Loaded {
                    source,
                    line,
                    valid,
                });
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
        line,
        id: Some(id),
        errors,
    });
}
