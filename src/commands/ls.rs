//! `dvt ls`: the pipeline stopped after planning; prints what the selection
//! matches.

use std::collections::BTreeSet;

use serde_json::json;

use crate::cli::{LsArgs, LsOutput};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::manifest::ResourceType;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, Outcome};

pub fn ls(printer: &Printer, args: &LsArgs) -> Result<Outcome, Diagnostics> {
    let settings = Settings::resolve(
        &args.project,
        Invocation::selecting("ls", &args.project, &args.selection),
        None,
    )?;
    let prepared = pipeline::prepare(printer, settings)?;
    let plan = &prepared.plan;
    let mut types = BTreeSet::new();
    // dbt's `--resource-type all` (or `default`) is every type, analyses too.
    let mut every_type = false;
    for resource_type in &args.resource_type {
        if resource_type == "all" || resource_type == "default" {
            every_type |= resource_type == "all";
            continue;
        }
        let Some(parsed) = ResourceType::parse(resource_type) else {
            let known = ["model", "seed", "test", "unit_test", "source", "exposure", "analysis"];
            let mut diagnostic = Diagnostic::error(format!("unknown resource type `{resource_type}`"));
            diagnostic = match crate::diagnostic::did_you_mean(resource_type, known) {
                Some(suggestion) => diagnostic.hint(format!("did you mean `{suggestion}`?")),
                None => diagnostic.hint(format!("use one of: {}", known.join(", "))),
            };
            return Err(diagnostic.into());
        };
        types.insert(parsed);
    }
    let manifest = &prepared.rendered.manifest;
    let mut ids: Vec<&String> = plan.selected.iter().collect();
    ids.sort();
    for id in ids {
        let (resource_type, line) = if let Some(node) = manifest.nodes.get(id) {
            let line = match args.output {
                // As dbt lists them: `unit_test:<package>.<name>`.
                LsOutput::Selector if node.resource_type == ResourceType::UnitTest => {
                    format!("unit_test:{}.{}", node.package_name, node.name)
                }
                LsOutput::Selector => node.fqn.join("."),
                LsOutput::Name => node.name.clone(),
                LsOutput::Path => node.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": node.name,
                    "resource_type": node.resource_type.as_str(),
                    "package_name": node.package_name,
                    "original_file_path": node.original_file_path,
                    "unique_id": node.unique_id,
                    "alias": node.relation.identifier,
                    "config": node.config,
                    "tags": node.tags(),
                    "depends_on": {"nodes": node.depends_on_nodes, "macros": node.depends_on_macros},
                })
                .to_string(),
            };
            (node.resource_type, line)
        } else if let Some(source) = manifest.sources.get(id) {
            let line = match args.output {
                // As dbt lists them: by package, source and table, whatever
                // folder declares them.
                LsOutput::Selector => format!("source:{}.{}.{}", source.package_name, source.source_name, source.name),
                LsOutput::Name => format!("{}.{}", source.source_name, source.name),
                LsOutput::Path => source.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": source.name,
                    "source_name": source.source_name,
                    "resource_type": "source",
                    "package_name": source.package_name,
                    "original_file_path": source.original_file_path,
                    "unique_id": source.unique_id,
                    "config": source.config,
                    "tags": source.tags,
                })
                .to_string(),
            };
            (ResourceType::Source, line)
        } else if let Some(exposure) = manifest.exposures.get(id) {
            let line = match args.output {
                LsOutput::Selector => format!("exposure:{}.{}", exposure.package_name, exposure.name),
                LsOutput::Name => exposure.name.clone(),
                LsOutput::Path => exposure.original_file_path.clone(),
                LsOutput::Json => json!({
                    "name": exposure.name,
                    "resource_type": "exposure",
                    "package_name": exposure.package_name,
                    "original_file_path": exposure.original_file_path,
                    "unique_id": exposure.unique_id,
                    "tags": exposure.tags,
                    "depends_on": {"nodes": exposure.depends_on_nodes},
                })
                .to_string(),
            };
            (ResourceType::Exposure, line)
        } else {
            continue;
        };
        // As dbt's `ls`, analyses are listed only when asked for.
        let listed = every_type
            || if types.is_empty() {
                resource_type != ResourceType::Analysis
            } else {
                types.contains(&resource_type)
            };
        if listed {
            printer.result(&line);
        }
    }
    Ok(Outcome::Success)
}
