//! `dvt show`: compiles one model, seed or analysis (or inline SQL) and
//! prints the first rows it returns.

use std::sync::Arc;

use crate::adapter;
use crate::cli::ShowArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::driver;
use crate::manifest::ResourceType;
use crate::output::Printer;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, render, Outcome};

/// What `dvt show` runs: compiled SQL, or (for a seed) every row of its
/// table, as the adapter spells it.
enum Query {
    Sql(String),
    AllRowsOf(adapter::Relation),
}

/// `dvt show`: runs a model's SQL, or inline SQL, and prints the first rows.
pub fn show(printer: Arc<Printer>, args: &ShowArgs) -> Result<Outcome, Diagnostics> {
    let invocation = Invocation {
        select: args.select.clone().into_iter().collect(),
        ..Invocation::new("show", &args.project)
    };
    let settings = Settings::resolve(&args.project, invocation, None)?;
    // Set in each arm: the session of the loaded project.
    let session;
    let query = match (&args.inline, &args.select) {
        (Some(inline), _) => {
            let pipeline::Loaded { settings, rendered, .. } = pipeline::load(&printer, settings)?;
            session = settings.session;
            Query::Sql(render::inline::compile(
                &rendered,
                &session.project,
                "--inline",
                inline,
            )?)
        }
        (None, Some(_)) => {
            let pipeline::Prepared {
                settings,
                rendered,
                plan,
                ..
            } = pipeline::prepare(&printer, settings)?;
            session = settings.session;
            let nodes: Vec<&crate::manifest::Node> = plan
                .order
                .iter()
                .filter_map(|id| rendered.manifest.nodes.get(id))
                .filter(|node| {
                    matches!(
                        node.resource_type,
                        ResourceType::Model | ResourceType::Seed | ResourceType::Analysis
                    )
                })
                .collect();
            let [node] = nodes.as_slice() else {
                return Err(Diagnostic::error(format!(
                    "`dvt show --select` needs exactly one model, seed or analysis; the selection matches {}",
                    nodes.len()
                ))
                .hint("select a single node by name, e.g. `--select fct_rental`")
                .into());
            };
            if node.resource_type == ResourceType::Seed {
                Query::AllRowsOf(adapter::Relation::new(
                    node.relation.schema.clone(),
                    node.relation.identifier.clone(),
                ))
            } else {
                Query::Sql(render::compile_node(&rendered, &session.project, node, false)?)
            }
        }
        (None, None) => {
            pipeline::load(&printer, settings)?;
            return Err(Diagnostic::error("`dvt show` needs `--select MODEL` or `--inline \"select ...\"`").into());
        }
    };
    let runtime = driver::runtime()?;
    let result = runtime.block_on(async {
        let adapter = adapter::connect(&session.target, 1).await?;
        let sql = match query {
            Query::Sql(sql) => sql,
            Query::AllRowsOf(relation) => adapter
                .select_all(&relation)
                .map_err(|error| Diagnostic::error(error.to_string()))?,
        };
        let mut connection = adapter
            .connection()
            .await
            .map_err(|error| Diagnostic::error(error.to_string()))?;
        let result = connection.query(&sql, Some(args.limit)).await;
        drop(connection);
        adapter.close().await;
        result.map_err(|error| {
            let mut diagnostic = Diagnostic::error(format!("query failed: {error}"));
            if let Some(database_error) = error.database_error() {
                if let Some((line, column)) = database_error.position_in(&sql) {
                    diagnostic = diagnostic.at(
                        crate::diagnostic::Location::at("<compiled sql>", line, column, 1),
                        Some(&sql),
                    );
                }
            }
            diagnostic
        })
    })?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    table.set_header(result.columns.clone());
    for row in &result.rows {
        table.add_row(row.iter().map(|value| value.clone().unwrap_or_else(|| "NULL".into())));
    }
    printer.result(&table.to_string());
    printer.info(
        "show",
        &format!(
            "{} row{} (limit {})",
            result.rows.len(),
            if result.rows.len() == 1 { "" } else { "s" },
            args.limit
        ),
    );
    Ok(Outcome::Success)
}
