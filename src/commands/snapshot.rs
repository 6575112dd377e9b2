//! `dvt snapshot`: runs the selected snapshots, recording each changed
//! row's new version; the chain of [`super::run`] with [`Command::Snapshot`].

use std::sync::Arc;

use crate::cli::ExecArgs;
use crate::diagnostic::Diagnostics;
use crate::exec::Command;
use crate::output::Printer;
use crate::Outcome;

pub fn snapshot(printer: Arc<Printer>, args: &ExecArgs) -> Result<Outcome, Diagnostics> {
    super::run::execute(printer, args, Command::Snapshot)
}
