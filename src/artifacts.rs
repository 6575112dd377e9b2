//! Phase 6, `artifacts`: writes `target/manifest.json` and the compiled SQL.
//!
//! Every file is written to a temporary name and renamed into place, so that a
//! reader never sees a half-written artifact. The manifest is byte-identical for
//! the same project: it holds no timestamps and every map is sorted.

use std::path::Path;

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;

/// Writes `contents` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Diagnostic> {
    let display = path.display().to_string();
    let fail = |error: std::io::Error| {
        Diagnostic::error(format!("cannot write `{display}`: {error}"))
            .hint("check that the target directory is writable")
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_string())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, contents).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

/// Streams the manifest to `target/manifest.json`, atomically.
pub fn write_manifest(target_dir: &Path, manifest: &Manifest) -> Result<(), Diagnostic> {
    let path = target_dir.join("manifest.json");
    let fail = |error: &dyn std::fmt::Display| Diagnostic::error(format!("cannot write `{}`: {error}", path.display()));
    std::fs::create_dir_all(target_dir).map_err(|error| fail(&error))?;
    let temporary = target_dir.join(format!(".manifest.json.{}.tmp", std::process::id()));
    let file = std::fs::File::create(&temporary).map_err(|error| fail(&error))?;
    manifest.write_json(file).map_err(|error| fail(&error))?;
    std::fs::rename(&temporary, &path).map_err(|error| fail(&error))
}

/// Writes the compiled SQL of every node that has it, in parallel. Returns how
/// many files were written.
pub fn write_compiled(
    target_dir: &Path,
    manifest: &Manifest,
    selected: Option<&std::collections::BTreeSet<String>>,
) -> Result<usize, Diagnostic> {
    let nodes: Vec<_> = manifest
        .nodes
        .values()
        .filter(|node| node.compiled_code.is_some())
        .filter(|node| selected.is_none_or(|selected| selected.contains(&node.unique_id)))
        .collect();
    // Compiled SQL is a view for people, not an artifact other tools read
    // half-written: plain writes, each folder created once.
    let folders: std::collections::BTreeSet<std::path::PathBuf> = nodes
        .iter()
        .filter_map(|node| target_dir.join(node.compiled_path()).parent().map(Path::to_path_buf))
        .collect();
    for folder in &folders {
        std::fs::create_dir_all(folder)
            .map_err(|error| Diagnostic::error(format!("cannot create `{}`: {error}", folder.display())))?;
    }
    nodes
        .par_iter()
        .map(|node| {
            let path = target_dir.join(node.compiled_path());
            let mut sql = node.compiled_code.clone().unwrap_or_default();
            sql.push('\n');
            // Rewriting an unchanged file costs far more than reading it.
            if std::fs::read(&path).is_ok_and(|existing| existing == sql.as_bytes()) {
                return Ok(());
            }
            std::fs::write(&path, sql.as_bytes())
                .map_err(|error| Diagnostic::error(format!("cannot write `{}`: {error}", path.display())))
        })
        .collect::<Result<Vec<()>, Diagnostic>>()
        .map(|written| written.len())
}
