//! `dvt seed`: loads the selected seeds; the chain of [`super::run`] with [`Command::Seed`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::Command;
use crate::output::Printer;
use crate::Outcome;

pub fn seed(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    super::run::execute(printer, args, Command::Seed)
}
