//! The `profiles.yml` of a test project pointed at its own database on the
//! test server.

use crate::common::Server;

/// A profile named `profile` with one target, `dev`, building into schema
/// `analytics` of `database`. The password comes from `env_var()`.
pub fn postgres_profile(profile: &str, server: &Server, database: &str, threads: u32) -> String {
    format!(
        "{profile}:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {host}\n      \
         port: {port}\n      user: {user}\n      password: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      \
         dbname: {database}\n      schema: analytics\n      threads: {threads}\n",
        host = server.host,
        port = server.port,
        user = server.user,
    )
}

/// The DuckDB file of a test project, relative to it.
pub const DUCKDB_FILE: &str = "warehouse.duckdb";

/// A profile named `profile` with one DuckDB target, `dev`, in
/// [`DUCKDB_FILE`] of the project, building into schema `analytics`.
pub fn duckdb_profile(profile: &str, threads: u32) -> String {
    format!(
        "{profile}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {DUCKDB_FILE}\n      \
         schema: analytics\n      threads: {threads}\n"
    )
}
