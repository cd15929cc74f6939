//! The commands that never reach AWS: `crd` prints the CustomResourceDefinition, `validate`
//! checks files, `render` prints each pipeline's desired AWS state.

use super::{CliError, Exit, Files, Format, Part, print_problems};
use crate::cutover::Stages;
use crate::desired::{self, Desired};
use crate::load::{self, LoadReport};
use crate::spec::CutoverStage;
use crate::spec::schema;
use std::io::Write;

/// `crd`: prints the LogPipeline CustomResourceDefinition.
pub(super) fn crd(out: &mut dyn Write) -> Result<Exit, CliError> {
    out.write_all(schema::crd_yaml().as_bytes())?;
    Ok(Exit::Ok)
}

/// `validate`: names each valid pipeline and prints every problem of the others.
pub(super) fn validate(
    files: &Files,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let report = load::load_paths(&files.paths, files.defaults(None))?;
    print_validation(&report, out, err)
}

/// How `render` prints.
pub(super) struct Rendering<'a> {
    /// Account id in ARNs.
    pub account_id: &'a str,
    /// Region of pipelines whose spec names none.
    pub region: &'a str,
    /// YAML or JSON.
    pub output: Format,
    /// Which part.
    pub only: Part,
    /// Every route at this stage instead of the requested ones.
    pub stage: Option<CutoverStage>,
}

/// `render`: prints the desired state (or one part of it) of every pipeline, or nothing when a
/// document is invalid.
pub(super) fn render(
    files: &Files,
    how: &Rendering,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let report = load::load_paths(&files.paths, files.defaults(Some(how.region)))?;
    if print_problems(&report, err)? {
        return Ok(Exit::Error);
    }
    let mut desired = Vec::new();
    for p in &report.pipelines {
        match desired::Pipeline::resolve(p.valid.clone(), how.account_id) {
            Ok(pipeline) => {
                let pipeline = match how.stage {
                    Some(stage) => {
                        let routes = vec![stage; pipeline.stages().routes.len()];
                        pipeline.at(Stages::of(routes, stage))
                    }
                    None => pipeline,
                };
                desired.push(desired::build(&pipeline));
            }
            Err(e) => {
                writeln!(err, "{}: {e}", p.source)?;
                return Ok(Exit::Error);
            }
        }
    }
    if how.only == Part::Fluentd {
        return write_fluentd(&desired, out, err);
    }
    let rendered = desired
        .iter()
        .map(|d| part(d, how.only).map_err(|e| CliError::Serialise(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    write_values(&rendered, how.output, out)?;
    Ok(Exit::Ok)
}

/// The fluentd text of every pipeline with a legacy path, each under a comment naming where it
/// goes; an error when none has one.
fn write_fluentd(
    desired: &[Desired],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let with: Vec<_> = desired
        .iter()
        .filter_map(|d| Some((d, d.fluentd.as_ref()?)))
        .collect();
    if with.is_empty() {
        writeln!(
            err,
            "no pipeline declares spec.legacy.fluentd: there is no fluentd configuration to render"
        )?;
        return Ok(Exit::Error);
    }
    for (i, (d, f)) in with.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if with.len() > 1 {
            match &f.config {
                Some(c) => writeln!(
                    out,
                    "# ---- {}: ConfigMap {}/{} key {}",
                    d.id, c.namespace, c.name, c.key
                )?,
                None => writeln!(out, "# ---- {}", d.id)?,
            }
        }
        out.write_all(f.text.as_bytes())?;
    }
    Ok(Exit::Ok)
}

fn part(d: &Desired, only: Part) -> Result<serde_json::Value, serde_json::Error> {
    use serde_json::to_value;
    match only {
        Part::All => to_value(d),
        Part::Names => to_value(&d.names),
        Part::Template => Ok(d.stack.template.clone()),
        Part::Stream => to_value(&d.stream),
        Part::Filters => to_value(&d.filters),
        Part::Notifications => to_value(&d.notifications),
        Part::Lifecycle => to_value(&d.lifecycle),
        Part::Topic => to_value(&d.topic),
        Part::Fluentd => to_value(d.fluentd.as_ref().map(|f| &f.text)),
    }
}

/// Writes one value as itself and several as a JSON array or a multi-document YAML stream.
fn write_values(
    values: &[serde_json::Value],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match format {
        Format::Json => {
            let text = if values.len() == 1 {
                serde_json::to_string_pretty(&values[0])
            } else {
                serde_json::to_string_pretty(values)
            }
            .map_err(|e| CliError::Serialise(e.to_string()))?;
            writeln!(out, "{text}")?;
        }
        Format::Yaml => {
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    writeln!(out, "---")?;
                }
                let text = serde_saphyr::to_string(value)
                    .map_err(|e| CliError::Serialise(e.to_string()))?;
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(())
}

fn print_validation(
    report: &LoadReport,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    for p in &report.pipelines {
        writeln!(out, "{}: LogPipeline {} is valid", p.source, p.id())?;
    }
    Ok(if print_problems(report, err)? {
        Exit::Error
    } else {
        Exit::Ok
    })
}
