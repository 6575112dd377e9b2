//! The ingested source tables of a manifest: every `ingest:` block the
//! manifest carries as data ([`crate::manifest::IngestBlock`]), read and
//! checked by [`super::spec::parse`] as a step after rendering.

use std::collections::{BTreeMap, HashMap};

use super::spec::{self, IngestSpec, YamlFile};
use crate::diagnostic::Diagnostics;
use crate::manifest::Manifest;
use crate::project::Project;
use crate::yaml::LineIndex;

/// The `ingest:` block of every ingested source table, by unique id.
pub type IngestSpecs = BTreeMap<String, IngestSpec>;

/// Reads the `ingest:` block of every source table that has one. Every
/// problem is reported, each at its line in the schema file.
pub fn read(project: &Project, manifest: &Manifest) -> Result<IngestSpecs, Diagnostics> {
    let mut specs = IngestSpecs::new();
    let mut errors = Vec::new();
    let mut line_indexes: HashMap<&str, (&str, LineIndex)> = HashMap::new();
    // In the order they are declared, file by file, so that problems are
    // reported as the schema files read.
    let file_order = |file: &str| project.files.schemas.iter().position(|schema| schema.path == file);
    let mut declared: Vec<_> = manifest
        .sources
        .values()
        .filter_map(|source| Some((source, source.ingest.as_ref()?)))
        .collect();
    declared.sort_by_key(|(_, block)| (file_order(&block.file), block.table_line));
    for (source, block) in declared {
        let (contents, lines) = line_indexes.entry(block.file.as_str()).or_insert_with(|| {
            let contents = project
                .files
                .schemas
                .iter()
                .find(|file| file.path == block.file)
                .map_or("", |file| file.contents.as_str());
            (contents, LineIndex::new(contents))
        });
        let file = YamlFile {
            path: &block.file,
            contents,
            lines,
        };
        match spec::parse(&block.declared, &file, block.table_line) {
            Ok(spec) => {
                specs.insert(source.unique_id.clone(), spec);
            }
            Err(diagnostics) => errors.extend(diagnostics),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(Diagnostics(errors))
    }
}
