//! `dvt test`: runs the data tests of the selected nodes; the chain of [`super::run`] with [`Command::Test`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::Command;
use crate::output::Printer;
use crate::Outcome;

pub fn test(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    super::run::execute(printer, args, Command::Test)
}
