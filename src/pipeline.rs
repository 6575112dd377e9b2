//! The one place where the phases are chained. A command resolves its
//! [`Settings`], then calls [`load`] (render and graph) or [`prepare`]
//! (render, graph, `--state`, plan and `--defer`), and stops where it needs:
//! `dvt parse` after [`load`], `dvt ls` after [`prepare`], `dvt compile` after
//! [`Prepared::compile`] and [`Prepared::check`], the warehouse commands after
//! executing.
//!
//! Warnings of every phase are printed here; under `--warn-error` any warning
//! fails the command.

use std::collections::{BTreeSet, HashMap};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::graph::{self, Dag};
use crate::ingest::sources::IngestSpecs;
use crate::output::Printer;
use crate::plan::{self, Plan, Selection};
use crate::render::{self, CompiledBody, Rendered};
use crate::settings::{Session, Settings};
use crate::{ingest, lake, state, validate};

/// A rendered project and its DAG.
pub struct Loaded {
    pub settings: Settings,
    pub rendered: Rendered,
    /// The `ingest:` blocks of the source tables, read after rendering.
    pub ingested: IngestSpecs,
    pub dag: Dag,
}

/// A rendered project, its DAG and the plan of what the command acts on.
pub struct Prepared {
    pub settings: Settings,
    pub rendered: Rendered,
    pub ingested: IngestSpecs,
    pub dag: Dag,
    pub plan: Plan,
}

/// Renders the project and builds the DAG, printing warnings.
pub fn load(printer: &Printer, settings: Settings) -> Result<Loaded, Diagnostics> {
    let mut settings = settings;
    let session = &mut settings.session;
    printer.set_project_dir(&session.project.dir);
    announce_fallback(printer, session);
    let mut warnings = std::mem::take(&mut session.project.warnings);
    let mut rendered = render::render_all(&session.project, &session.target, &session.options)?;
    // The connectors' steps after rendering: every model with an `export`
    // config gets its export node, and the `ingest:` blocks are read.
    lake::add_export_nodes(&mut rendered.manifest);
    let ingested = ingest::sources::read(&session.project, &rendered.manifest)?;
    warnings.extend(rendered.warnings.iter().cloned());
    if printer.warn_error && !warnings.is_empty() {
        return Err(Diagnostics(warnings));
    }
    for warning in &warnings {
        printer.diagnostic(warning);
    }
    let dag = graph::build(&rendered.manifest)?;
    Ok(Loaded {
        settings,
        rendered,
        ingested,
        dag,
    })
}

/// [`load`], then plans the selection (against the `--state` manifest) and
/// applies `--defer`. For `dvt retry`, the plan is the nodes to run again.
pub fn prepare(printer: &Printer, settings: Settings) -> Result<Prepared, Diagnostics> {
    let Loaded {
        settings,
        mut rendered,
        ingested,
        dag,
    } = load(printer, settings)?;
    let plan = match &settings.retry {
        None => {
            let mut previous = state::load(settings.selection.state.as_deref())?;
            if let Some(previous) = previous.as_mut() {
                previous.fresher =
                    crate::freshness::fresher::when_selected(&settings.selection, &settings.session.project)?;
            }
            let plan = plan::plan(&rendered.manifest, &dag, &settings.selection, previous.as_ref())?;
            if settings.defer {
                report_deferred(printer, state::defer(&mut rendered, previous.as_ref(), &plan.selected));
            }
            plan
        }
        Some(retry) => {
            let selected: BTreeSet<String> = retry
                .again
                .iter()
                .filter(|id| rendered.manifest.nodes.contains_key(*id))
                .cloned()
                .collect();
            let order = dag
                .topological_order()
                .into_iter()
                .filter(|id| selected.contains(id))
                .collect();
            // A deferred run is retried deferred, or refs to what it did not
            // build break; what it did build is read from this target, as then.
            if settings.defer {
                let previous = state::load(settings.selection.state.as_deref())?;
                report_deferred(
                    printer,
                    state::defer(&mut rendered, previous.as_ref(), &retry.built_before),
                );
            }
            Plan { order, selected }
        }
    };
    rendered.jinja.graph.set_selected(&plan.selected);
    Ok(Prepared {
        settings,
        rendered,
        ingested,
        dag,
        plan,
    })
}

impl Loaded {
    /// Compiles the nodes `ids` names (refs resolved, ephemerals inlined).
    pub fn compile(&mut self, ids: &BTreeSet<String>) -> Result<HashMap<String, CompiledBody>, Diagnostics> {
        render::compile_selected(&mut self.rendered, &self.settings.session.project, ids)
    }
}

impl Prepared {
    /// Plans another selection on the same project (`dvt ingest --refresh`).
    pub fn select(&mut self, selection: &Selection) -> Result<(), Diagnostics> {
        self.plan = plan::plan(&self.rendered.manifest, &self.dag, selection, None)?;
        self.rendered.jinja.graph.set_selected(&self.plan.selected);
        Ok(())
    }

    /// Compiles the nodes `ids` names (refs resolved, ephemerals inlined).
    pub fn compile(&mut self, ids: &BTreeSet<String>) -> Result<HashMap<String, CompiledBody>, Diagnostics> {
        render::compile_selected(&mut self.rendered, &self.settings.session.project, ids)
    }

    /// Runs the offline checks ([`validate`]) on the compiled `ids` and
    /// prints the warnings. An error, or any warning under `--warn-error`,
    /// fails the command with every problem found.
    pub fn check(
        &self,
        printer: &Printer,
        ids: &BTreeSet<String>,
        bodies: &HashMap<String, CompiledBody>,
    ) -> Result<(), Diagnostics> {
        let session = &self.settings.session;
        let diagnostics = validate::validate(&validate::Input {
            project: &session.project,
            rendered: &self.rendered,
            adapter_type: &session.target.adapter_type,
            selected: ids,
            bodies,
            export_config: lake::config_problems,
        });
        if diagnostics.iter().any(Diagnostic::is_error) || (printer.warn_error && !diagnostics.is_empty()) {
            return Err(Diagnostics(diagnostics));
        }
        for warning in &diagnostics {
            printer.diagnostic(warning);
        }
        Ok(())
    }

    /// Compiles what will run and checks it offline, so that a broken
    /// project fails before anything connects to the warehouse.
    pub fn compile_and_check(&mut self, printer: &Printer, ids: &BTreeSet<String>) -> Result<(), Diagnostics> {
        let bodies = self.compile(ids)?;
        self.check(printer, ids, &bodies)
    }
}

/// The one line saying that dvt found no `profiles.yml` and uses the
/// embedded DuckDB default.
pub fn announce_fallback(printer: &Printer, session: &Session) {
    if let Some(note) = &session.target.fallback_note {
        printer.info("profile_fallback", note);
    }
}

/// Says how many unselected nodes `--defer` reads from the other run.
fn report_deferred(printer: &Printer, deferred: usize) {
    printer.info(
        "defer",
        &format!(
            "Deferred {deferred} unselected node{} to the relations of the --state manifest",
            if deferred == 1 { "" } else { "s" }
        ),
    );
}

/// Skips freeing the whole manifest just before the process exits: the
/// operating system reclaims it at once, and freeing 40,000 nodes one by one
/// takes longer than building them.
pub fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}
