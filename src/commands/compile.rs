//! `dvt compile`: the pipeline stopped after the offline checks; writes the
//! compiled SQL and the manifest. As in dbt, `execute` is true: a node's
//! Jinja may query the warehouse, which is connected to only if one does.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::json;

use crate::cli::CompileArgs;
use crate::diagnostic::Diagnostics;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{artifacts, pipeline, Outcome};

pub fn compile(printer: &Printer, args: &CompileArgs) -> Result<Outcome, Diagnostics> {
    let started = Instant::now();
    let invocation = Invocation {
        defer: args.defer,
        empty: args.empty,
        ..Invocation::selecting("compile", &args.project, &args.selection)
    };
    let settings = Settings::resolve(&args.project, invocation, None)?;
    let mut prepared = pipeline::prepare(printer, settings)?;
    let compilable: BTreeSet<String> = prepared
        .plan
        .selected
        .iter()
        .filter(|id| prepared.rendered.manifest.nodes.contains_key(*id))
        .cloned()
        .collect();
    let warehouse = crate::exec::warehouse::LazyWarehouse::new(prepared.settings.session.target.clone())?;
    let shared = crate::render::context::warehouse::share_warehouse(std::sync::Arc::new(warehouse));
    let bodies = prepared.compile(&compilable);
    drop(shared);
    let bodies = bodies?;
    let checked = prepared.check(printer, &compilable, &bodies);
    let project = &prepared.settings.session.project;
    let manifest = &prepared.rendered.manifest;
    let target_dir = project.target_dir();
    // The manifest streams on one thread while the SQL files are written on the others.
    let (written, manifest_written) = rayon::join(
        || artifacts::write_compiled(&target_dir, manifest, Some(&compilable)),
        || artifacts::write_manifest(&target_dir, manifest),
    );
    let written = written?;
    manifest_written?;
    // The compiled SQL is written even when checks fail: errors point into it.
    checked?;
    printer.event(
        "compile_done",
        &format!(
            "Compiled {written} node{} ({}) in {:.0} ms; wrote {}/compiled/",
            if written == 1 { "" } else { "s" },
            super::counts(&prepared.rendered),
            started.elapsed().as_secs_f64() * 1000.0,
            project.target_path
        ),
        json!({"compiled": written, "elapsed_ms": started.elapsed().as_millis() as u64}),
    );
    pipeline::exit_without_freeing(prepared);
    Ok(Outcome::Success)
}
