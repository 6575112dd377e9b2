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
        "spark" => connect_spark(target, threads).await,
        other => Err(
            Diagnostic::error(format!("adapter type `{other}` is not available in this build of dvt"))
                .in_file(&target.source)
                .hint(if cfg!(feature = "duckdb") {
                    "use `type: postgres`, `type: duckdb` or `type: spark`"
                } else {
                    "use `type: postgres` or `type: spark`, or build dvt with its default `duckdb` feature"
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

/// Opens a Spark Connect session pool for a `type: spark` target: `method:
/// connect` (the only one), `host`, `port` (15002, or 443 with `use_ssl`),
/// `use_ssl`, `token` (a secret, sent as a bearer token), `cluster_id`
/// (Databricks' cluster), `catalog`, `file_format` (parquet) and
/// `spark_conf` (SQL config for every session).
async fn connect_spark(target: &Target, threads: usize) -> Result<Arc<dyn Adapter>, Diagnostic> {
    use super::spark::{Endpoints, SparkAdapter, SparkConfig};
    let invalid = |key: &str, hint: &str| {
        Diagnostic::error(format!("`{key}` of target `{}` is not valid", target.name))
            .in_file(&target.source)
            .hint(hint.to_string())
    };
    let method = target.string("method").unwrap_or_else(|| "connect".to_string());
    if method != "connect" {
        return Err(Diagnostic::error(format!(
            "`method: {method}` of target `{}` is not one dvt speaks",
            target.name
        ))
        .in_file(&target.source)
        .hint("use `method: connect` (Spark Connect, Spark 3.4 and later, and Databricks); dvt does not speak Thrift or ODBC"));
    }
    let use_ssl = match target.string("use_ssl").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("use_ssl", "write `use_ssl: true` or `use_ssl: false`")),
    };
    let port = match target.string("port") {
        None => {
            if use_ssl {
                443
            } else {
                15002
            }
        }
        Some(port) => port
            .parse()
            .map_err(|_| invalid("port", "write `port: 15002`, Spark Connect's default"))?,
    };
    let endpoints = Endpoints {
        host: target.string("host").unwrap_or_else(|| "127.0.0.1".to_string()),
        port,
        use_ssl,
        token: target.string("token").filter(|token| !token.is_empty()),
        cluster_id: target.string("cluster_id"),
    };
    let mut config = SparkConfig::new(endpoints, target.schema.clone());
    config.catalog = target.string("catalog");
    config.threads = pool_size(threads);
    if let Some(format) = target.string("file_format") {
        config.file_format = format;
    }
    match target.fields.get("spark_conf") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(entries)) => {
            for (key, value) in entries {
                let value = match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                config.spark_conf.insert(key.clone(), value);
            }
        }
        Some(_) => {
            return Err(invalid(
                "spark_conf",
                "write a mapping of Spark SQL settings, such as `spark_conf: {spark.sql.shuffle.partitions: \"8\"}`",
            ))
        }
    }
    let display = config.target();
    let adapter = SparkAdapter::connect(config).await.map_err(|error| {
        connect_error(
            &error,
            target,
            format!("check that a Spark Connect server is listening at `{display}` (locally: `bash scripts/start-spark.sh`), and the token if it needs one"),
        )
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
