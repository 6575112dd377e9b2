//! `dvt diff`: the pipeline stopped after rendering, compared with the
//! manifest of another run ([`crate::state`]) and reported ([`crate::diff`]).

use crate::cli::{DiffArgs, DiffFormat};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{diff, pipeline, state, Outcome};

/// `dvt diff`: what changed since the run whose manifest `--state` names, and
/// what each change affects downstream.
pub fn diff(printer: &Printer, args: &DiffArgs) -> Result<Outcome, Diagnostics> {
    let settings = Settings::resolve(&args.project, Invocation::new("diff", &args.project), None)?;
    let pipeline::Loaded { rendered, dag, .. } = pipeline::load(printer, settings)?;
    let previous = state::read(&args.state).map_err(Diagnostic::from)?;
    let comparison = state::compare(&rendered.manifest, &previous);
    let report = diff::Report::new(
        &rendered.manifest,
        &dag,
        &comparison,
        &previous.path.display().to_string(),
    );
    let text = match args.format {
        DiffFormat::Text => report.text(),
        DiffFormat::Markdown => report.markdown(),
    };
    printer.result(text.trim_end());
    Ok(Outcome::Success)
}
