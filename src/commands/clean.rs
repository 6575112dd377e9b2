//! `dvt clean`: deletes the `clean-targets` inside the project. The project
//! file is read but nothing is rendered.

use crate::cli::ProjectArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::Outcome;

pub fn clean(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let project_dir = crate::settings::absolute(&args.project_dir);
    let no_render = |_: &str, text: &str| -> Result<String, Diagnostic> { Ok(text.to_string()) };
    let project = crate::project::load(&project_dir, &no_render)?;
    for target in &project.clean_targets {
        let path = project_dir.join(target);
        // Never delete outside the project directory.
        let inside = path.canonicalize().ok().is_some_and(|canonical| {
            project_dir
                .canonicalize()
                .is_ok_and(|root| canonical.starts_with(&root) && canonical != root)
        });
        if !path.exists() {
            continue;
        }
        if !inside {
            return Err(Diagnostic::error(format!(
                "refusing to clean `{target}`: it is not inside the project directory"
            ))
            .in_file(&project.config_file)
            .hint("list only folders inside the project under `clean-targets`")
            .into());
        }
        std::fs::remove_dir_all(&path)
            .map_err(|error| Diagnostic::error(format!("cannot remove `{target}`: {error}")))?;
        printer.info("clean", &format!("Removed {target}/"));
    }
    Ok(Outcome::Success)
}
