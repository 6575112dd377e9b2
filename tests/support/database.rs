//! A PostgreSQL database of one's own on the test server, for a test that
//! builds a whole project: created with a random name, connected to on a
//! runtime of its own, and dropped when the test ends, even when it panics.
//!
//! Include it with `#[path = "support/database.rs"] mod database;` beside
//! `mod common;`.

use sqlx::ConnectOptions;

use crate::common::Server;

pub struct Database {
    pub server: Server,
    pub name: String,
    pub runtime: tokio::runtime::Runtime,
}

impl Database {
    /// A new database named `<prefix>_<twelve random hex digits>`.
    pub fn new(prefix: &str) -> Self {
        let database = Self {
            server: Server::from_env(),
            name: format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
        };
        database.admin(&format!("create database \"{}\"", database.name));
        database
    }

    /// A connection to `database` on the server.
    pub fn connection(&self, database: &str) -> sqlx::PgConnection {
        self.runtime
            .block_on(self.server.options(database).connect())
            .unwrap_or_else(|error| panic!("connect to `{database}` (bash scripts/start-postgres.sh): {error}"))
    }

    /// Runs `sql` on the server's admin database.
    pub fn admin(&self, sql: &str) {
        let mut connection = self.connection(&self.server.admin_database.clone());
        self.runtime
            .block_on(sqlx::raw_sql(sql).execute(&mut connection))
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("drop database if exists \"{}\" with (force)", self.name);
        let mut connection = self.connection(&self.server.admin_database.clone());
        let _ = self.runtime.block_on(sqlx::raw_sql(&drop).execute(&mut connection));
    }
}
