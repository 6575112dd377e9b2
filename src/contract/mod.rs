//! Model contracts and constraints, as dbt-core 1.10 enforces them.
//!
//! With `contract: {enforced: true}`, a table, incremental or view model's
//! query is compared, before it is built, with its YAML `columns:`: names
//! and data types as the warehouse reports them for the empty query and for
//! `cast(null as <data_type>)` of each column ([`check`]). A mismatch fails
//! the model with dbt's table of the differing columns. Tables are then
//! created with the declared types and the `constraints` as DDL, and the
//! query's rows inserted ([`Contract`], `templates/common/create_table_contract.sql`).
//!
//! - [`constraints`]: the YAML `constraints` of a model and its columns,
//!   normalized as dbt's manifest shows them, rendered as DDL, and the
//!   `ref()` a foreign key's `to:` names.
//!
//! PostgreSQL and DuckDB enforce every constraint type dbt knows (dbt-postgres'
//! and dbt-duckdb's `CONSTRAINT_SUPPORT`), so the only warning is dbt's for
//! constraints on a view, which a view cannot hold. This module does not
//! decide when a model is built; the materializations call it.

pub mod check;
pub mod constraints;

use serde_json::Value;

use crate::manifest::Node;

/// A model's enforced contract, with its DDL ready for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub columns: Vec<ContractColumn>,
    /// Model-level constraints, rendered (`constraint pk primary key (id)`).
    pub constraints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContractColumn {
    /// The name as the DDL spells it: quoted when the column says `quote: true`.
    pub name: String,
    /// The name as the warehouse reports it, for the comparison.
    pub plain_name: String,
    pub data_type: String,
    /// Column-level constraints, rendered (`not null`, `references "s"."t" (id)`).
    pub constraints: Vec<String>,
}

/// Whether the node's `contract.enforced` is true.
pub fn is_enforced(node: &Node) -> bool {
    node.config
        .get("contract")
        .and_then(|contract| contract.get("enforced"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Whether dbt applies constraints for this materialization.
pub fn materialization_enforces_constraints(materialized: &str) -> bool {
    matches!(materialized, "table" | "incremental")
}

impl Contract {
    /// The contract of `node`, when it is enforced and the model builds a
    /// relation; `relation_of` gives the relation a foreign key's
    /// `ref()` names, as the DDL spells it.
    pub fn of(node: &Node, relation_of: &dyn Fn(&constraints::Target) -> Option<String>) -> Option<Self> {
        if !is_enforced(node) || node.is_ephemeral() {
            return None;
        }
        let with_constraints = materialization_enforces_constraints(node.materialized());
        // The YAML order, which the manifest's sorted map loses.
        let mut columns: Vec<&crate::manifest::Column> = node.columns.values().collect();
        columns.sort_by_key(|column| column.position);
        let columns = columns
            .into_iter()
            .map(|column| ContractColumn {
                name: if column.quote == Some(true) {
                    crate::manifest::quote_identifier(&column.name)
                } else {
                    column.name.clone()
                },
                plain_name: column.name.clone(),
                data_type: column.data_type.clone().unwrap_or_default(),
                constraints: if with_constraints {
                    column
                        .constraints
                        .iter()
                        .filter_map(|constraint| constraints::column_ddl(constraint, relation_of))
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let model_constraints = if with_constraints {
            node.constraints
                .iter()
                .filter_map(|constraint| constraints::model_ddl(constraint, relation_of))
                .collect()
        } else {
            Vec::new()
        };
        Some(Self {
            columns,
            constraints: model_constraints,
        })
    }
}

/// The sha256 of a contract's columns, types and constraints, as the
/// manifest's `contract.checksum` records it (dbt's covers the same, in
/// Python's spelling, so the two checksums differ).
pub fn checksum(node: &Node) -> Option<String> {
    if !is_enforced(node) {
        return None;
    }
    let mut state = String::new();
    for column in node.columns.values() {
        state.push('|');
        state.push_str(&column.name);
        state.push_str(column.data_type.as_deref().unwrap_or("None"));
        state.push_str(&Value::from(column.constraints.clone()).to_string());
    }
    if materialization_enforces_constraints(node.materialized()) {
        state.push_str(node.materialized());
        state.push_str(&Value::from(node.constraints.clone()).to_string());
    }
    Some(crate::project::text_checksum(&state))
}

/// A PostgreSQL type, as `format_type` spells it, by the name dbt-postgres
/// reports for a query's column: psycopg2's type caster (`INTEGER` for
/// `integer` and `smallint`, `LONGINTEGER` for `bigint`, `DECIMAL` for any
/// `numeric`, `STRING` for `text` and `varchar(n)`), so that, as in dbt,
/// lengths and precisions are not compared.
pub fn postgres_type_name(data_type: &str) -> String {
    let lower = data_type.trim().to_ascii_lowercase();
    if let Some(element) = lower.strip_suffix("[]") {
        return format!("{}ARRAY", postgres_type_name(element));
    }
    let base = lower.split('(').next().unwrap_or_default().trim();
    let name = match base {
        "smallint" | "integer" | "int" | "int2" | "int4" => "INTEGER",
        "bigint" | "int8" => "LONGINTEGER",
        "real" | "double precision" | "float4" | "float8" => "FLOAT",
        "numeric" | "decimal" => "DECIMAL",
        "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name" | "\"char\"" => "STRING",
        "boolean" | "bool" => "BOOLEAN",
        "date" => "DATE",
        "bytea" => "BINARY",
        "json" => "JSON",
        "jsonb" => "JSONB",
        "oid" => "ROWID",
        "interval" => "INTERVAL",
        _ if lower.starts_with("timestamp") && lower.ends_with("with time zone") && !lower.contains("without") => {
            "DATETIMETZ"
        }
        _ if lower.starts_with("timestamp") => "DATETIME",
        _ if lower.starts_with("time") => "TIME",
        _ => return data_type.to_ascii_uppercase(),
    };
    name.to_string()
}

/// The relation a foreign key of `node` references, as the DDL names it
/// (`"schema"."identifier"`): the model `ref()` names (of the node's own
/// package first), or the source.
pub fn relation_of(manifest: &crate::manifest::Manifest, node: &Node, target: &constraints::Target) -> Option<String> {
    match target {
        constraints::Target::Ref(call) => {
            let package = call.package.as_deref();
            let candidates = manifest
                .nodes
                .values()
                .filter(|candidate| candidate.name == call.name && candidate.is_relational());
            let mut best: Option<&Node> = None;
            for candidate in candidates {
                if package.is_some_and(|package| candidate.package_name != package) {
                    continue;
                }
                if best.is_none() || candidate.package_name == node.package_name {
                    best = Some(candidate);
                }
            }
            best.map(|found| found.relation.quoted())
        }
        constraints::Target::Source(source, table) => manifest
            .sources
            .values()
            .find(|candidate| candidate.source_name == *source && candidate.name == *table)
            .map(|found| found.relation.quoted()),
    }
}

/// dbt's parse-time warning for the constraints of an enforced contract
/// that the model's materialization cannot hold (a view).
pub fn parse_problems(manifest: &crate::manifest::Manifest) -> Vec<crate::diagnostic::Diagnostic> {
    let mut problems = Vec::new();
    for node in manifest.nodes.values() {
        if node.resource_type != crate::manifest::ResourceType::Model || !is_enforced(node) {
            continue;
        }
        let warns = |constraint: &Value| constraint.get("warn_unsupported").and_then(Value::as_bool) != Some(false);
        let any_warns = node.constraints.iter().any(warns)
            || node.columns.values().any(|column| column.constraints.iter().any(warns));
        if any_warns && !materialization_enforces_constraints(node.materialized()) {
            let file = node
                .patch_path
                .as_deref()
                .and_then(|patch| patch.split_once("://"))
                .map_or(node.original_file_path.as_str(), |(_, file)| file);
            problems.push(
                crate::diagnostic::Diagnostic::warning(format!(
                    "Constraint types are not supported for {} materializations and will be ignored.  Set 'warn_unsupported: false' on this constraint to ignore this warning.",
                    node.materialized()
                ))
                .in_file(file)
                .note(format!("in the contract of model `{}`", node.name)),
            );
        }
    }
    problems
}
