//! `dvt parse`: the pipeline stopped after rendering; writes the manifest.

use std::time::Instant;

use serde_json::json;

use crate::cli::ProjectArgs;
use crate::diagnostic::Diagnostics;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{artifacts, pipeline, Outcome};

pub fn parse(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let started = Instant::now();
    let settings = Settings::resolve(args, Invocation::new("parse", args), None)?;
    let loaded = pipeline::load(printer, settings)?;
    let project = &loaded.settings.session.project;
    artifacts::write_manifest(&project.target_dir(), &loaded.rendered.manifest)?;
    printer.event(
        "parse_done",
        &format!(
            "Parsed {} in {:.0} ms; wrote {}/manifest.json",
            super::counts(&loaded.rendered),
            started.elapsed().as_secs_f64() * 1000.0,
            project.target_path
        ),
        json!({"elapsed_ms": started.elapsed().as_millis() as u64}),
    );
    pipeline::exit_without_freeing(loaded);
    Ok(Outcome::Success)
}
