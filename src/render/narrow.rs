//! What a `ref()` or `source()` reads when a run narrows its inputs: under
//! `--empty` no rows at all (dbt's `limit=0` relations), so that every model
//! builds empty and CI checks its SQL and schema in seconds. The relation
//! renders the subquery itself ([`Relation::to_sql`]); this module decides
//! which relations get one. Inside a microbatch model's batch, a relation
//! with an `event_time` config reads only the rows of the batch's window
//! (dbt's `event_time_filter`). `this` is never narrowed, as in dbt.

use super::context::relation::EventTimeFilter;
use super::context::Relation;
use super::jinja::Resolver;
use crate::manifest;

/// How the refs and sources of one invocation are narrowed.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    /// `--empty`: every ref and source reads zero rows.
    pub empty: bool,
    /// Whether the subqueries take an alias, as dbt's `require_alias`.
    pub require_alias: bool,
}

impl Narrowing {
    /// The narrowing of a run with `--empty` or not, on `adapter_type`.
    pub fn new(empty: bool, adapter_type: &str) -> Narrowing {
        Narrowing {
            empty,
            // dbt-duckdb's relation sets `require_alias = False`; PostgreSQL
            // needs an alias on every subquery in `from`.
            require_alias: adapter_type != "duckdb",
        }
    }

    fn apply(&self, mut relation: Relation) -> Relation {
        if self.empty {
            relation.limit = Some(0);
        }
        relation.require_alias = self.require_alias;
        relation
    }
}

/// The relation a resolved `ref()` or `source()` returns, in `batch` when
/// the node rendering is a microbatch model's batch.
pub fn reference(
    resolver: &Resolver,
    relation: &manifest::Relation,
    batch: Option<&crate::microbatch::BatchContext>,
) -> Relation {
    let mut reference = resolver.narrowing.apply(Relation::reference(relation, None));
    if let (Some(batch), Some(field_name)) = (batch, resolver.event_times.get(relation)) {
        reference.event_time_filter = Some(EventTimeFilter {
            field_name: field_name.clone(),
            start: Some(crate::microbatch::Batch::sql_bound(batch.batch.start)),
            end: Some(crate::microbatch::Batch::sql_bound(batch.batch.end)),
        });
    }
    reference
}

/// The CTE of an ephemeral model a `ref()` returns.
pub fn ephemeral(resolver: &Resolver, name: &str) -> Relation {
    resolver.narrowing.apply(Relation::ephemeral(name))
}

/// The `event_time` config of every model, seed, snapshot and source that
/// sets one, by relation.
pub fn event_times(manifest: &manifest::Manifest) -> std::collections::HashMap<manifest::Relation, String> {
    let event_time = |config: &serde_json::Map<String, serde_json::Value>| {
        config
            .get("event_time")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let nodes = manifest
        .nodes
        .values()
        .filter(|node| node.is_relational())
        .filter_map(|node| Some((node.relation.clone(), event_time(&node.config)?)));
    let sources = manifest
        .sources
        .values()
        .filter_map(|source| Some((source.relation.clone(), event_time(&source.config)?)));
    nodes.chain(sources).collect()
}
