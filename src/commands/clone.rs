//! `dvt clone --state DIR`: the chain of [`super::run`] with
//! [`Command::Clone`], given the relations of the `--state` manifest; each
//! selected model and seed becomes a view of its relation there
//! (`exec::clone`). As in dbt, nothing is compiled, so the offline checks
//! are not run.

use std::sync::Arc;

use crate::cli::CloneArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::{driver, Command};
use crate::ingest::bronze::BronzeTables;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, state, Outcome};

pub fn clone(printer: Arc<Printer>, args: &CloneArgs) -> Result<Outcome, Diagnostics> {
    let Some(state_dir) = args.selection.state.as_deref() else {
        return Err(
            Diagnostic::error("`dvt clone` needs `--state DIR`: the target directory of the run to clone")
                .hint("pass the directory holding the other run's manifest.json, e.g. `--state prod-target/`")
                .into(),
        );
    };
    let invocation = Invocation {
        full_refresh: args.full_refresh,
        threads: args.threads,
        ..Invocation::selecting("clone", &args.project, &args.selection)
    };
    let settings = Settings::resolve(&args.project, invocation, args.threads)?;
    let mut prepared = pipeline::prepare(&printer, settings)?;
    let mut options = super::run::options(&prepared.settings, Command::Clone, None);
    options.state_relations = state::load(Some(state_dir))?
        .map(|manifest| manifest.relations())
        .unwrap_or_default();
    let ingested = std::mem::take(&mut prepared.ingested);
    driver::execute(printer, prepared, options, &BronzeTables(&ingested))
}
