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

pub fn write_manifest(target_dir: &Path, manifest: &Manifest) -> Result<(), Diagnostic> {
    let json = serde_json::to_vec(&manifest.to_json())
        .map_err(|error| Diagnostic::error(format!("cannot serialise the manifest: {error}")))?;
    write_atomic(&target_dir.join("manifest.json"), &json)
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
    nodes
        .par_iter()
        .map(|node| {
            let path = target_dir.join(node.compiled_path());
            let mut sql = node.compiled_code.clone().unwrap_or_default();
            sql.push('\n');
            write_atomic(&path, sql.as_bytes())
        })
        .collect::<Result<Vec<()>, Diagnostic>>()
        .map(|written| written.len())
}
