//! dbt's `source_status:fresher` selector: the sources whose latest load in
//! this run's `target/sources.json` is newer than in the `--state`
//! directory's `sources.json`, or that the state's file does not have. A
//! source whose check failed to run, in this run, is never fresher; as in
//! dbt-core 1.10, so is one listed as failed in this run's file.

use std::collections::BTreeSet;
use std::path::Path;

use super::artifact::read_load_times;
use crate::diagnostic::Diagnostic;

/// The unique ids of the fresher sources.
pub fn fresher(state_dir: &Path, target_dir: &Path) -> Result<BTreeSet<String>, Diagnostic> {
    let previous = read_load_times(&state_dir.join("sources.json"))?;
    let current = read_load_times(&target_dir.join("sources.json"))?;
    Ok(current
        .loaded
        .iter()
        .filter(|(id, loaded)| previous.loaded.get(*id).is_none_or(|before| *loaded > before))
        .map(|(id, _)| id.clone())
        .filter(|id| !current.runtime_errors.contains(id))
        .collect())
}

/// The fresher sources when a selector of `selection` asks for them
/// (`source_status:`), comparing the `--state` directory's `sources.json`
/// with the project's target directory's; otherwise `None`, so that runs
/// without the selector need neither file.
pub fn when_selected(
    selection: &crate::plan::Selection,
    project: &crate::project::Project,
) -> Result<Option<BTreeSet<String>>, Diagnostic> {
    let asks = selection
        .select
        .iter()
        .chain(&selection.exclude)
        .any(|selector| selector.contains("source_status:"));
    match (&selection.state, asks) {
        (Some(state), true) => {
            let state_dir = if state.is_file() {
                state.parent().unwrap_or(state)
            } else {
                state.as_path()
            };
            fresher(state_dir, &project.target_dir()).map(Some)
        }
        _ => Ok(None),
    }
}
