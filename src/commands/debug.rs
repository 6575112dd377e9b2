//! `dvt debug`: shows the resolved project, profile and target, then tests
//! the connection through [`crate::adapter::connect`].

use std::time::Instant;

use crate::adapter;
use crate::cli::ProjectArgs;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::profile::Target;
use crate::settings::{Invocation, Settings};
use crate::{pipeline, Outcome};

pub fn debug(printer: &Printer, args: &ProjectArgs) -> Result<Outcome, Diagnostics> {
    let settings = Settings::resolve(args, Invocation::new("debug", args), None)?;
    let session = &settings.session;
    pipeline::announce_fallback(printer, session);
    let project = &session.project;
    let target = &session.target;
    printer.result(&format!("dvt version: {}", env!("CARGO_PKG_VERSION")));
    printer.result(&format!(
        "project: {} ({})",
        project.name,
        project.dir.join(&project.config_file).display()
    ));
    printer.result(&format!("profile: {} from {}", target.profile, target.source));
    printer.result(&format!("target: {} (type {})", target.name, target.adapter_type));
    for (key, value) in target.redacted_fields() {
        let value = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        printer.result(&format!("  {key}: {value}"));
    }
    let started = Instant::now();
    target.check_secrets()?;
    match check_connection(target) {
        Ok(version) => {
            printer.result(&format!(
                "connection: OK ({version}, {:.0} ms)",
                started.elapsed().as_secs_f64() * 1000.0
            ));
            Ok(Outcome::Success)
        }
        Err(message) => Err(Diagnostic::error(format!("connection test failed: {message}"))
            .hint("check host, port, user and dbname in profiles.yml, and that the password's env var is set")
            .into()),
    }
}

/// Connects to the target (opening the DuckDB file, creating it as the first
/// build would) and returns the server's name and version.
fn check_connection(target: &Target) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let adapter = adapter::connect(target, 1)
            .await
            .map_err(|diagnostic| diagnostic.message.clone())?;
        let version = adapter.server_version().await.map_err(|error| error.to_string());
        adapter.close().await;
        let version = version?;
        Ok(match adapter.kind() {
            "duckdb" => format!("DuckDB {version} (embedded)"),
            "spark" => format!("Spark {version} (Spark Connect)"),
            _ => format!("PostgreSQL {version}"),
        })
    })
}
