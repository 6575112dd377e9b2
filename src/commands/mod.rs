//! One file per command: what `dvt <command>` does, as a short chain of phase
//! calls ([`crate::settings::Settings::resolve`], [`crate::pipeline`], then
//! the phase the command ends with). Nothing below this module imports a
//! command; [`crate::run`] dispatches to them.

pub mod build;
pub mod clean;
pub mod clone;
pub mod compile;
pub mod debug;
pub mod deps;
pub mod diff;
pub mod docs;
pub mod export;
#[cfg(feature = "kafka")]
pub mod ingest;
pub mod init;
pub mod ls;
pub mod parse;
#[cfg(feature = "kafka")]
pub mod produce;
pub mod retry;
pub mod run;
pub mod run_operation;
pub mod seed;
pub mod show;
pub mod snapshot;
pub mod source_freshness;
pub mod test;

use crate::manifest::ResourceType;
use crate::render::Rendered;

/// The counts of each kind of resource, for `parse` and `compile`.
fn counts(rendered: &Rendered) -> String {
    let manifest = &rendered.manifest;
    let count = |resource_type: ResourceType| {
        manifest
            .nodes
            .values()
            .filter(|node| node.resource_type == resource_type)
            .count()
    };
    let plural = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    let snapshots = (count(ResourceType::Snapshot) > 0).then(|| plural(count(ResourceType::Snapshot), "snapshot"));
    [
        plural(count(ResourceType::Model), "model"),
        plural(count(ResourceType::Seed), "seed"),
        plural(count(ResourceType::Test), "test"),
    ]
    .into_iter()
    .chain(snapshots)
    .chain([
        plural(manifest.sources.len(), "source"),
        plural(manifest.exposures.len(), "exposure"),
        format!(
            "{} analys{}",
            count(ResourceType::Analysis),
            if count(ResourceType::Analysis) == 1 { "is" } else { "es" }
        ),
        plural(manifest.macros.len(), "macro"),
    ])
    .collect::<Vec<_>>()
    .join(", ")
}
