//! What a `ref()` or `source()` reads when a run narrows its inputs: under
//! `--empty` no rows at all (dbt's `limit=0` relations), so that every model
//! builds empty and CI checks its SQL and schema in seconds. The relation
//! renders the subquery itself ([`Relation::to_sql`]); this module decides
//! which relations get one. `this` is never narrowed, as in dbt.

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

/// The relation a resolved `ref()` or `source()` returns.
pub fn reference(resolver: &Resolver, relation: &manifest::Relation) -> Relation {
    resolver.narrowing.apply(Relation::reference(relation, None))
}

/// The CTE of an ephemeral model a `ref()` returns.
pub fn ephemeral(resolver: &Resolver, name: &str) -> Relation {
    resolver.narrowing.apply(Relation::ephemeral(name))
}
