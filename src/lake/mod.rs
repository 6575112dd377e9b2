//! The lake: exports of models to Parquet (or CSV) files on S3-compatible
//! storage, and reading those files back.
//!
//! It owns the `export` config ([`spec`]), the S3 connection ([`store`]),
//! encoding files with hive-style partitions ([`write`]), and running and
//! publishing one export atomically ([`export`]). After rendering, it adds
//! an export node for each model with an `export` config
//! ([`add_export_nodes`]) and checks those settings offline
//! ([`config_problems`]). It does not read the
//! warehouse itself: rows come as Arrow batches from
//! [`crate::adapter::Adapter::query_arrow`]. Scheduling an export after its
//! model and that model's tests is the executor's job ([`crate::exec`]).

pub mod export;
pub mod read;
pub mod spec;
pub mod store;
pub mod write;

pub use export::{ExportError, ExportJob, ExportManifest, ExportOutcome};
pub use spec::ExportSpec;
pub use store::LakeSettings;

use serde_json::{Map, Value};
use sha2::Digest;

use crate::manifest::{Manifest, Node, ResourceType};
use crate::validate::config::ConfigProblem;

/// The problems of an export node's settings, for the offline checks
/// ([`crate::validate::Input::export_config`]).
pub fn config_problems(config: &Map<String, Value>) -> Vec<ConfigProblem> {
    match ExportSpec::parse(&Value::Object(config.clone())) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .into_iter()
            .map(|problem| ConfigProblem {
                key: problem.key,
                message: problem.message,
                label: None,
                hint: problem.hint,
            })
            .collect(),
    }
}

/// Adds an export node for every model with an `export` config: a step
/// after rendering.
pub fn add_export_nodes(manifest: &mut Manifest) {
    for export in export_nodes(manifest) {
        manifest.nodes.insert(export.unique_id.clone(), export);
    }
}

/// An export node for every model with an `export` config: named like its
/// model, depending on it alone, with the export settings (and the model's
/// tags) as its config, so that selectors and the DAG treat it like any
/// node. Its config is checked offline with the other configs.
pub fn export_nodes(manifest: &Manifest) -> Vec<Node> {
    manifest
        .nodes
        .values()
        .filter(|node| node.resource_type == ResourceType::Model && !node.is_ephemeral())
        .filter_map(|model| {
            let Some(Value::Object(settings)) = model.config.get("export") else {
                return None;
            };
            let mut config = settings.clone();
            if let Some(tags) = model.config.get("tags") {
                config.insert("tags".into(), tags.clone());
            }
            let checksum = format!("{:x}", sha2::Sha256::digest(Value::Object(config.clone()).to_string()));
            Some(Node {
                unique_id: format!("export.{}.{}", model.package_name, model.name),
                resource_type: ResourceType::Export,
                raw_code: String::new(),
                compiled_code: None,
                checksum,
                config,
                description: format!("Export of `{}` to the lake", model.name),
                columns: Default::default(),
                refs: Vec::new(),
                sources: Vec::new(),
                depends_on_nodes: [model.unique_id.clone()].into(),
                depends_on_macros: Default::default(),
                test_metadata: None,
                column_name: None,
                attached_node: Some(model.unique_id.clone()),
                version: None,
                time_spine: None,
                ..model.clone()
            })
        })
        .collect()
}
