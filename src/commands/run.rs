//! `dvt run`: builds the selected models. The other warehouse commands
//! (`seed`, `test`, `build`, `export`) are the same chain with another
//! [`Command`]: settings, [`pipeline::prepare`], the offline checks, then
//! [`driver::execute`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::{driver, junit, Command, ExecOptions};
use crate::ingest::bronze::BronzeTables;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, Outcome};

pub fn run(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    execute(printer, args, Command::Run)
}

/// A warehouse command on its selection. With `--junit`, a project error
/// that stops the command is written to the report too.
pub(super) fn execute(printer: Arc<Printer>, args: &ExecArgs, command: Command) -> Result<Outcome, Diagnostics> {
    let outcome = execute_plan(printer, args, command);
    if let (Err(diagnostics), Some(path)) = (&outcome, &args.junit) {
        junit::write_errors(path, command.as_str(), diagnostics)?;
    }
    outcome
}

fn execute_plan(printer: Arc<Printer>, args: &ExecArgs, command: Command) -> Result<Outcome, Diagnostics> {
    let settings = Settings::resolve(
        &args.project,
        Invocation::executing(command.as_str(), args),
        args.threads,
    )?;
    let mut prepared = pipeline::prepare(&printer, settings)?;
    let options = options(&prepared.settings, command, args.junit.clone());
    driver::check_offline(&printer, &mut prepared, command)?;
    let ingested = std::mem::take(&mut prepared.ingested);
    driver::execute(printer, prepared, options, &BronzeTables(&ingested))
}

/// The execution options of resolved settings.
pub(super) fn options(settings: &Settings, command: Command, junit: Option<std::path::PathBuf>) -> ExecOptions {
    ExecOptions {
        command,
        threads: settings.threads,
        fail_fast: settings.fail_fast,
        full_refresh: settings.full_refresh,
        store_failures: settings.store_failures,
        junit,
        state_relations: Default::default(),
        microbatch: settings.microbatch.clone(),
        invocation_started_at: settings.session.options.run_started_at.clone(),
    }
}
