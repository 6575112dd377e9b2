//! Opens an adapter for a target: the one place where adapters are
//! constructed from a profile's settings.

use std::sync::Arc;
use std::time::Duration;

use super::postgres::{PostgresAdapter, PostgresConfig};
use super::Adapter;
use crate::diagnostic::Diagnostic;
use crate::profile::Target;

/// Opens the adapter for a target.
pub async fn connect(target: &Target, threads: usize) -> Result<Arc<dyn Adapter>, Diagnostic> {
    target.check_secrets()?;
    match target.adapter_type.as_str() {
        "postgres" | "postgresql" => {
            let require = |key: &str| {
                target.string(key).ok_or_else(|| {
                    Diagnostic::error(format!("target `{}` has no `{key}`", target.name))
                        .in_file(&target.source)
                        .hint(format!("add `{key}:` to the target in profiles.yml"))
                })
            };
            let mut config = PostgresConfig::new(
                target.string("host").unwrap_or_else(|| "localhost".into()),
                require("user")?,
                target
                    .string("password")
                    .or_else(|| target.string("pass"))
                    .unwrap_or_default(),
                if target.database.is_empty() {
                    require("dbname")?
                } else {
                    target.database.clone()
                },
                target.schema.clone(),
            );
            if let Some(port) = target.string("port") {
                config.port = port.parse().map_err(|_| {
                    Diagnostic::error(format!(
                        "`port` of target `{}` must be a number, got `{port}`",
                        target.name
                    ))
                    .in_file(&target.source)
                })?;
            }
            config.threads = pool_size(threads);
            config.sslmode = target.string("sslmode");
            if let Some(seconds) = target
                .string("connect_timeout")
                .and_then(|text| text.parse::<u64>().ok())
            {
                config.connect_timeout = Duration::from_secs(seconds);
            }
            let display = config.target();
            let adapter = PostgresAdapter::connect(config).await.map_err(|error| {
                connect_error(&error, target, format!("check that PostgreSQL is running at `{display}` and that the user and password are right (`dvt debug` tests the connection)"))
            })?;
            Ok(Arc::new(adapter))
        }
        #[cfg(feature = "duckdb")]
        "duckdb" => connect_duckdb(target, threads).await,
        other => Err(
            Diagnostic::error(format!("adapter type `{other}` is not available in this build of dvt"))
                .in_file(&target.source)
                .hint(if cfg!(feature = "duckdb") {
                    "use `type: postgres` or `type: duckdb`"
                } else {
                    "use `type: postgres`, or build dvt with its default `duckdb` feature"
                }),
        ),
    }
}

/// Opens the embedded DuckDB database of a `type: duckdb` target: `path`
/// (relative to the project, `:memory:` for none; `target/dev.duckdb` when
/// unset), and `threads`.
#[cfg(feature = "duckdb")]
async fn connect_duckdb(target: &Target, threads: usize) -> Result<Arc<dyn Adapter>, Diagnostic> {
    use super::duckdb::{self, DuckDbAdapter, DuckDbConfig};
    let path = target
        .string("path")
        .unwrap_or_else(|| crate::profile::EMBEDDED_PATH.to_string());
    let mut config = DuckDbConfig::new(duckdb::resolve_path(&path, &target.project_dir), target.schema.clone());
    config.threads = pool_size(threads);
    let adapter = DuckDbAdapter::open(config).await.map_err(|error| {
        let hint = if duckdb::is_locked_elsewhere(&error) {
            format!("another process has `{path}` open, and DuckDB allows one per file; wait for it to finish, or point `path` at another file (a `dvt ingest --follow` holds the file until stopped: build with its `--refresh SELECTOR`, or stop it with Ctrl-C first)")
        } else {
            format!("check that `{path}` is a DuckDB database file that dvt can write")
        };
        connect_error(&error, target, hint)
    })?;
    Ok(Arc::new(adapter))
}

/// How many connections an adapter holds for `threads` nodes at once: one
/// more, for the statements dvt runs beside the nodes.
fn pool_size(threads: usize) -> u32 {
    u32::try_from(threads.max(1) + 1).unwrap_or(u32::MAX)
}

/// The error for a target dvt could not connect to: the adapter's words and
/// the driver's, and what to check.
fn connect_error(error: &super::AdapterError, target: &Target, hint: String) -> Diagnostic {
    let mut message = error.to_string();
    if let Some(source) = std::error::Error::source(error) {
        message.push_str(&format!(": {source}"));
    }
    Diagnostic::error(message).in_file(&target.source).hint(hint)
}
