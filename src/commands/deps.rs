//! `dvt deps`: installs the packages of `packages.yml` into
//! `packages-install-path` and keeps `package-lock.yml`, as `dbt deps` does.
//!
//! The lock file is resolved again when it is missing, when `--upgrade` is
//! given, or when its `sha1_hash` no longer matches `packages.yml`; otherwise
//! the packages it pins are installed as they are.

use crate::cli::DepsArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::packages::{self, hub::HubRegistry, lock, spec, Context, Progress};
use crate::Outcome;

struct Printed<'a>(&'a Printer);

impl Progress for Printed<'_> {
    fn info(&self, message: &str) {
        self.0.info("deps", message);
    }

    fn warning(&self, diagnostic: Diagnostic) {
        self.0.diagnostic(&diagnostic);
    }
}

pub fn deps(printer: &Printer, args: &DepsArgs) -> Result<Outcome, Diagnostics> {
    let project_dir = crate::settings::absolute(&args.project.project_dir);
    printer.set_project_dir(&project_dir);
    let cli_vars = crate::settings::parse_vars(args.project.vars.as_deref())?;
    let renderer = crate::settings::config_renderer(&cli_vars, serde_json::Value::Null);
    let render = |file: &str, text: &str| -> Result<String, Diagnostic> {
        renderer.render_str(text, minijinja::Value::from(())).map_err(|error| {
            let detail = error.detail().map(str::to_owned).unwrap_or_else(|| error.to_string());
            Diagnostic::error(format!(
                "cannot render `{}`: {detail}",
                crate::settings::redact_template(text)
            ))
            .in_file(file)
        })
    };
    let project = crate::project::load(&project_dir, &render)?;
    let install_dir = project_dir.join(&project.packages_install_path);
    // The folder is emptied first: never one that holds the project itself.
    let inside = install_dir
        .components()
        .skip(project_dir.components().count())
        .any(|part| matches!(part, std::path::Component::Normal(_)));
    let escapes = std::path::Path::new(&project.packages_install_path)
        .components()
        .any(|part| !matches!(part, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if !inside || escapes {
        return Err(Diagnostic::error(format!(
            "refusing to install packages into `{}`: `dvt deps` empties that folder, and it is not a folder inside the project",
            project.packages_install_path
        ))
        .in_file(&project.config_file)
        .hint("set `packages-install-path` to a folder of its own inside the project, such as `dbt_packages`")
        .into());
    }
    let Some(file) = spec::read(&project_dir, &render)? else {
        printer.info("deps", "No packages were found in packages.yml");
        return Ok(Outcome::Success);
    };
    if file.entries.is_empty() {
        printer.info("deps", &format!("No packages were found in {}", file.file));
        return Ok(Outcome::Success);
    }
    let downloads = match std::env::var_os("DBT_DOWNLOADS_DIR") {
        Some(dir) => tempfile::Builder::new().prefix("dvt-downloads-").tempdir_in(dir),
        None => tempfile::Builder::new().prefix("dvt-downloads-").tempdir(),
    }
    .map_err(|error| Diagnostic::error(format!("cannot create a downloads folder: {error}")))?;
    let registry = HubRegistry::default();
    let progress = Printed(printer);
    let context = Context {
        project_dir: &project_dir,
        project_name: &project.name,
        downloads: downloads.path(),
        registry: &registry,
        render: &render,
        progress: &progress,
    };

    let hash = spec::sha1_hash(&file.entries);
    let previous = lock::Lock::read(&project_dir)?;
    let stale = match &previous {
        None => true,
        Some(previous) => args.upgrade || previous.sha1_hash != hash,
    };
    let locked = match previous {
        Some(previous) if !stale => previous,
        _ => {
            let packages = packages::resolve(&context, &file)?;
            let lock = lock::Lock {
                packages,
                sha1_hash: hash,
            };
            lock.write(&project_dir)?;
            printer.info(
                "deps",
                &format!(
                    "Updating lock file in file path: {}",
                    project_dir.join(lock::LOCK_FILE).display()
                ),
            );
            lock
        }
    };
    if args.lock {
        return Ok(Outcome::Success);
    }
    packages::install(&context, &locked.packages, &install_dir)?;
    Ok(Outcome::Success)
}
