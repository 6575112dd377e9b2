//! Snapshots: dbt's SCD type 2 history tables, built by `dvt snapshot` and
//! `dvt build`.
//!
//! A snapshot is a `{% snapshot name %}` block in a file of `snapshot-paths`
//! ([`blocks`]) or a dbt 1.9 YAML entry under `snapshots:` with a
//! `relation:` (read by [`crate::render`], which makes both into nodes of
//! resource type `snapshot`). Its config is read and checked by [`config`]:
//! the `timestamp` or `check` strategy, the unique key, `hard_deletes`, the
//! meta column names. [`materialize`] applies one run to the warehouse as
//! dbt-core 1.10 does, with the statements in `templates/`: the first run
//! creates the table; later runs build a staging table of changes, add new
//! source columns, close the changed rows and insert their new versions,
//! all in one transaction.
//!
//! This module owns what a snapshot *is* and how its history is kept; it
//! does not schedule nodes (that is [`crate::exec`]).

pub mod blocks;
pub mod config;
pub mod materialize;
