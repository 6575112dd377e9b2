//! `dvt export`: exports the selected models that declare `export` to the lake; the chain of [`super::run`] with [`Command::Export`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::Command;
use crate::output::Printer;
use crate::Outcome;

pub fn export(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    super::run::execute(printer, args, Command::Export)
}
