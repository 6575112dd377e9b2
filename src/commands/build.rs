//! `dvt build`: seeds, runs, tests and exports the selected nodes in DAG order; the chain of [`super::run`] with [`Command::Build`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::Command;
use crate::output::Printer;
use crate::Outcome;

pub fn build(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    super::run::execute(printer, args, Command::Build)
}
