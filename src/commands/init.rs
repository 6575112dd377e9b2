//! `dvt init`: scaffolds a new project from `templates/init/`.

use std::path::Path;

use crate::artifacts;
use crate::cli::InitArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::Outcome;

/// Files `dvt init` writes, relative to the new project.
const INIT_FILES: &[(&str, &str)] = &[
    ("project.yml", include_str!("../../templates/init/project.yml")),
    ("profiles.yml", include_str!("../../templates/init/profiles.yml")),
    (
        "models/example/my_first_model.sql",
        include_str!("../../templates/init/my_first_model.sql"),
    ),
    (
        "models/example/my_second_model.sql",
        include_str!("../../templates/init/my_second_model.sql"),
    ),
    (
        "models/example/schema.yml",
        include_str!("../../templates/init/schema.yml"),
    ),
    ("seeds/.gitkeep", ""),
    ("tests/.gitkeep", ""),
    ("macros/.gitkeep", ""),
    ("analyses/.gitkeep", ""),
    (".gitignore", "target/\nprofiles.yml\n"),
];

pub fn init(printer: &Printer, args: &InitArgs) -> Result<Outcome, Diagnostics> {
    let name = &args.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        || name.starts_with(|character: char| character.is_ascii_digit())
    {
        return Err(Diagnostic::error(format!("project name `{name}` is not valid"))
            .hint("use letters, digits and underscores, starting with a letter, e.g. `dvt init shop_analytics`")
            .into());
    }
    let dir = args.path.clone().unwrap_or_else(|| Path::new(name).to_path_buf());
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            Diagnostic::error(format!("`{}` already exists and is not empty", dir.display()))
                .hint("choose another name, or pass `--path` to an empty directory")
                .into(),
        );
    }
    for (path, contents) in INIT_FILES {
        let contents = contents.replace("{{project_name}}", name);
        artifacts::write_atomic(&dir.join(path), contents.as_bytes())?;
    }
    printer.info("init", &format!("Created project `{name}` in {}", dir.display()));
    printer.info(
        "init",
        &format!(
            "Next: cd {} && edit profiles.yml (or export DVT_PG_PASSWORD) && dvt debug && dvt build",
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}
