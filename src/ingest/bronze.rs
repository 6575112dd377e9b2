//! The bronze tables of ingested sources, created before a run that reads
//! them: a step the warehouse commands run once the adapter is connected
//! ([`crate::exec::driver::BeforeNodes`]).

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::adapter::Adapter;
use crate::diagnostic::Diagnostic;
use crate::exec::driver::BeforeNodes;
use crate::manifest::Manifest;

/// Creates the bronze tables of the ingested sources (`ingest:` blocks)
/// that the nodes to run read, unless they exist: models built on a topic
/// then build, empty, before the first `dvt ingest`.
pub struct BronzeTables<'a>(pub &'a super::sources::IngestSpecs);

#[async_trait]
impl BeforeNodes for BronzeTables<'_> {
    async fn run(
        &self,
        adapter: &dyn Adapter,
        manifest: &Manifest,
        executable: &BTreeSet<String>,
    ) -> Result<(), Diagnostic> {
        let read: BTreeSet<&String> = executable
            .iter()
            .filter_map(|id| manifest.nodes.get(id))
            .flat_map(|node| node.depends_on_nodes.iter())
            .collect();
        let sources: Vec<_> = manifest
            .sources
            .values()
            .filter(|source| read.contains(&source.unique_id))
            .filter_map(|source| {
                let spec = self.0.get(&source.unique_id)?;
                Some((source, spec, super::Destination::of_source(source, spec)?))
            })
            .collect();
        if sources.is_empty() {
            return Ok(());
        }
        let mut connection = adapter
            .connection()
            .await
            .map_err(|error| Diagnostic::error(error.to_string()))?;
        let dialect = super::state::Dialect::of(adapter.kind());
        for (source, spec, destination) in sources {
            super::state::create_destination(&mut *connection, &destination, dialect)
                .await
                .map_err(|error| {
                    Diagnostic::error(format!("{}: {error}", source.unique_id))
                        .in_file(&spec.file)
                        .hint("the bronze table of an `ingest:` block must have the columns its mapping writes; drop it or fix the mapping")
                })?;
        }
        Ok(())
    }
}
