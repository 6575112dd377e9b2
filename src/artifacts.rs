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
    // half-written: plain writes. Files are grouped by folder and each folder is
    // written by one thread, because creating files in one directory from
    // several threads contends on the directory's lock.
    let mut by_folder: std::collections::BTreeMap<std::path::PathBuf, Vec<(std::path::PathBuf, &str)>> =
        std::collections::BTreeMap::new();
    for node in &nodes {
        let path = target_dir.join(node.compiled_path());
        let folder = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| target_dir.to_path_buf());
        by_folder
            .entry(folder)
            .or_default()
            .push((path, node.compiled_code.as_deref().unwrap_or_default()));
    }
    let folders: Vec<_> = by_folder.into_iter().collect();
    folders
        .par_iter()
        .map(|(folder, files)| {
            let existed = folder.is_dir();
            if !existed {
                std::fs::create_dir_all(folder)
                    .map_err(|error| Diagnostic::error(format!("cannot create `{}`: {error}", folder.display())))?;
            }
            for (path, code) in files {
                let mut sql = String::with_capacity(code.len() + 1);
                sql.push_str(code);
                sql.push('\n');
                // Rewriting an unchanged file costs far more than reading it.
                if existed && std::fs::read(path).is_ok_and(|existing| existing == sql.as_bytes()) {
                    continue;
                }
                std::fs::write(path, sql.as_bytes())
                    .map_err(|error| Diagnostic::error(format!("cannot write `{}`: {error}", path.display())))?;
            }
            Ok(files.len())
        })
        .collect::<Result<Vec<usize>, Diagnostic>>()
        .map(|written| written.iter().sum())
}
