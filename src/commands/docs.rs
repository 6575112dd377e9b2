//! `dvt docs generate` and `dvt docs serve`: the pipeline stopped after
//! rendering, every node compiled, then the catalog, column lineage and the
//! site ([`crate::docs`]).

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::json;

use crate::cli::{DocsGenerateArgs, DocsServeArgs};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::docs::{self, catalog::Catalog};
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{artifacts, pipeline, Outcome};

/// `dvt docs generate`.
pub fn generate(printer: &Printer, args: &DocsGenerateArgs) -> Result<Outcome, Diagnostics> {
    let started = Instant::now();
    let settings = Settings::resolve(&args.project, Invocation::new("docs", &args.project), None)?;
    let mut loaded = pipeline::load(printer, settings)?;
    let every_node: BTreeSet<String> = loaded.rendered.manifest.nodes.keys().cloned().collect();
    loaded.compile(&every_node)?;
    let pipeline::Loaded {
        settings,
        rendered,
        ingested,
        dag,
    } = loaded;
    let session = settings.session;
    let manifest = &rendered.manifest;
    let target_dir = session.project.target_dir();
    artifacts::write_manifest(&target_dir, manifest)?;
    artifacts::write_compiled(&target_dir, manifest, None)?;

    let catalog = if args.no_catalog {
        Catalog::default()
    } else {
        match docs::catalog::read(&session.target, manifest) {
            Ok(catalog) => catalog,
            Err(diagnostic) => {
                printer.diagnostic(
                    &Diagnostic::warning(format!(
                        "cannot read the catalog from the warehouse, so column types and row counts are left out: {}",
                        diagnostic.message
                    ))
                    .hint("the site shows the columns declared in YAML; run `dvt docs generate` again once the warehouse is reachable"),
                );
                Catalog::default()
            }
        }
    };
    docs::write_json(&target_dir.join("catalog.json"), &catalog.to_json(&session))?;

    let lineage = docs::trace_all(&session, manifest, &dag.topological_order(), &catalog);
    let untraced = lineage.values().filter(|node| node.error.is_some()).count();
    docs::write_json(
        &target_dir.join("lineage.json"),
        &json!({
            "metadata": { "generated_at": docs::catalog::now(), "invocation_id": session.options.invocation_id },
            "nodes": lineage,
        }),
    )?;

    let artifacts = docs::site::Artifacts::read(&target_dir);
    let docs_dir = target_dir.join("docs");
    docs::site::write(&docs_dir, &session, manifest, &ingested, &catalog, &lineage, &artifacts)?;
    printer.event(
        "docs_generated",
        &format!(
            "Wrote the catalog ({} relations), column lineage for {} models{} and the site in {:.0} ms; open {}/index.html or run `dvt docs serve`",
            catalog.nodes.len(),
            lineage.len(),
            if untraced == 0 { String::new() } else { format!(" ({untraced} not traced, see their notes)") },
            started.elapsed().as_secs_f64() * 1000.0,
            docs_dir.display()
        ),
        json!({ "relations": catalog.nodes.len(), "models": lineage.len(), "untraced": untraced }),
    );
    Ok(Outcome::Success)
}

/// `dvt docs serve`.
pub fn serve(printer: &Printer, args: &DocsServeArgs) -> Result<Outcome, Diagnostics> {
    let settings = Settings::resolve(&args.project, Invocation::new("docs", &args.project), None)?;
    let session = settings.session;
    pipeline::announce_fallback(printer, &session);
    let docs_dir = session.project.target_dir().join("docs");
    docs::serve::serve(printer, &docs_dir, &args.host, args.port)?;
    Ok(Outcome::Success)
}
