//! The commands that never reach AWS: `crd` prints the CustomResourceDefinition, `validate`
//! checks files, `render` prints each pipeline's desired AWS state.

use super::{CliError, Exit, Files, Format, Part, print_problems};
use crate::desired::{self, Desired};
use crate::load::{self, LoadReport};
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

/// `render`: prints the desired state (or one part of it) of every pipeline, or nothing when a
/// document is invalid.
pub(super) fn render(
    files: &Files,
    account_id: &str,
    region: &str,
    output: Format,
    only: Part,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let report = load::load_paths(&files.paths, files.defaults(Some(region)))?;
    if print_problems(&report, err)? {
        return Ok(Exit::Error);
    }
    let mut rendered = Vec::new();
    for p in &report.pipelines {
        match desired::Pipeline::resolve(p.valid.clone(), account_id) {
            Ok(pipeline) => {
                let d = desired::build(&pipeline);
                rendered.push(part(&d, only).map_err(|e| CliError::Serialise(e.to_string()))?)
            }
            Err(e) => {
                writeln!(err, "{}: {e}", p.source)?;
                return Ok(Exit::Error);
            }
        }
    }
    write_values(&rendered, output, out)?;
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
