//! What the test projects with a database of their own share: files written
//! into the temp directory, random names, and creating and dropping the
//! database through the admin connection of the test server.

use std::path::Path;

use sqlx::ConnectOptions;

use crate::common::Server;

/// Writes `contents` to `path`, creating its parent folders first.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("create {}: {error}", parent.display()));
    }
    std::fs::write(path, contents).unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
}

/// Twelve random hex digits, to make a database name or prefix unique.
pub fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Runs `sql` on the admin database of `server`.
pub fn admin(server: &Server, runtime: &tokio::runtime::Runtime, sql: &str) -> Result<(), sqlx::Error> {
    runtime.block_on(async {
        let mut connection = server.options(&server.admin_database).connect().await?;
        sqlx::raw_sql(sql).execute(&mut connection).await.map(|_| ())
    })
}

/// Drops `database` and whatever still connects to it. Returns the error
/// instead of panicking: this runs in `Drop`, maybe while a test unwinds.
pub fn drop_database(server: &Server, runtime: &tokio::runtime::Runtime, database: &str) -> Result<(), sqlx::Error> {
    admin(
        server,
        runtime,
        &format!("drop database if exists \"{database}\" with (force)"),
    )
}
