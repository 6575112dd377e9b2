//! Finds `profiles.yml` and resolves the target dvt connects to.
//!
//! The search order is `--profiles-dir`, then `DVT_PROFILES_DIR` (and dbt's
//! `DBT_PROFILES_DIR`), then the project directory, then `~/.dvt/` (and `~/.dbt/`).
//! Values are rendered as Jinja so that `env_var()` works. Secrets stay in
//! [`Target::fields`] and are dropped from everything shown to users: the Jinja
//! `target` variable, `dvt debug`, logs and artifacts.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::{did_you_mean, Diagnostic, Location};
use crate::yaml;

/// Keys whose values are never shown.
const SECRET_KEYS: &[&str] = &[
    "password",
    "pass",
    "private_key",
    "private_key_passphrase",
    "token",
    "secret",
    "keyfile_json",
    "client_secret",
    "secret_access_key",
    "sasl_password",
];

pub fn is_secret(key: &str) -> bool {
    let key = key.to_lowercase();
    SECRET_KEYS
        .iter()
        .any(|secret| key == *secret || key.ends_with(&format!("_{secret}")))
}

/// The resolved connection target.
#[derive(Clone)]
pub struct Target {
    pub profile: String,
    pub name: String,
    /// `postgres`, `duckdb` or `spark`.
    pub adapter_type: String,
    pub schema: String,
    pub database: String,
    pub threads: usize,
    /// Every field of the target, rendered, secrets included.
    pub fields: Map<String, Value>,
    /// Where the profile came from, for `dvt debug`.
    pub source: String,
    /// Secrets whose Jinja could not be rendered, with why; an error when connecting.
    pub unresolved: BTreeMap<String, String>,
    /// Set when no `profiles.yml` was found and dvt chose the embedded
    /// default: the one line that tells the user so.
    pub fallback_note: Option<String>,
    /// The project directory, against which a relative `path` (DuckDB's
    /// database file) resolves.
    pub project_dir: PathBuf,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Target")
            .field("profile", &self.profile)
            .field("name", &self.name)
            .field("adapter_type", &self.adapter_type)
            .field("fields", &self.redacted_fields())
            .finish()
    }
}

impl Target {
    /// The fields with secrets replaced by `****`.
    pub fn redacted_fields(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(key, value)| {
                let value = if is_secret(key) {
                    Value::String("****".into())
                } else {
                    value.clone()
                };
                (key.clone(), value)
            })
            .collect()
    }

    /// The Jinja `target` variable: every field but the secrets, plus dbt's
    /// standard `name`, `type`, `schema`, `database`, `threads` and `profile_name`.
    pub fn context(&self) -> Value {
        let mut context: Map<String, Value> = self
            .fields
            .iter()
            .filter(|(key, _)| !is_secret(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        context.insert("name".into(), Value::String(self.name.clone()));
        context.insert("target_name".into(), Value::String(self.name.clone()));
        context.insert("profile_name".into(), Value::String(self.profile.clone()));
        context.insert("type".into(), Value::String(self.adapter_type.clone()));
        context.insert("schema".into(), Value::String(self.schema.clone()));
        context.insert("database".into(), Value::String(self.database.clone()));
        context.insert("threads".into(), Value::from(self.threads));
        Value::Object(context)
    }

    /// An error naming the first secret that could not be rendered, if any.
    pub fn check_secrets(&self) -> Result<(), Diagnostic> {
        match self.unresolved.iter().next() {
            None => Ok(()),
            Some((key, reason)) => Err(Diagnostic::error(format!(
                "`{key}` of target `{}` is not set: {reason}",
                self.name
            ))
            .in_file(&self.source)
            .hint("export the environment variable it reads, or give env_var() a default")),
        }
    }

    pub fn string(&self, key: &str) -> Option<String> {
        match self.fields.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }
}

/// Where `profiles.yml` may be, in search order.
pub fn search_dirs(profiles_dir: Option<&Path>, project_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = profiles_dir {
        dirs.push(dir.to_path_buf());
        return dirs;
    }
    if let Some(dir) = profiles_dir_from_env() {
        dirs.push(dir);
        return dirs;
    }
    dirs.push(project_dir.to_path_buf());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".dvt"));
        dirs.push(Path::new(&home).join(".dbt"));
    }
    dirs
}

/// The profiles directory named by `DVT_PROFILES_DIR` (or dbt's
/// `DBT_PROFILES_DIR`), when one is set.
fn profiles_dir_from_env() -> Option<PathBuf> {
    ["DVT_PROFILES_DIR", "DBT_PROFILES_DIR"]
        .iter()
        .find_map(|variable| std::env::var_os(variable).filter(|dir| !dir.is_empty()))
        .map(PathBuf::from)
}

/// Finds and resolves the target. `render` renders one Jinja string value.
pub fn load(
    profiles_dir: Option<&Path>,
    project_dir: &Path,
    profile_name: &str,
    target_override: Option<&str>,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Target, Diagnostic> {
    let dirs = search_dirs(profiles_dir, project_dir);
    let Some(path) = dirs
        .iter()
        .map(|dir| dir.join("profiles.yml"))
        .find(|path| path.is_file())
    else {
        let mut target = embedded_default(profiles_dir, &dirs, profile_name, target_override)?;
        target.project_dir = project_dir.to_path_buf();
        return Ok(target);
    };
    let display = path.to_string_lossy().to_string();
    let source = std::fs::read_to_string(&path)
        .map_err(|error| Diagnostic::error(format!("cannot read `{display}`: {error}")).in_file(&display))?;
    let mut target = resolve(&display, &source, profile_name, target_override, render)?;
    target.project_dir = project_dir.to_path_buf();
    Ok(target)
}

/// The adapter types a target may name.
const ADAPTER_TYPES: &[&str] = &["postgres", "duckdb", "spark"];

/// The target of the default DuckDB file.
pub const EMBEDDED_TARGET: &str = "dev";
/// Where the embedded default keeps its database, relative to the project.
pub const EMBEDDED_PATH: &str = "target/dev.duckdb";
/// The local lake of the embedded default target.
pub const EMBEDDED_LAKE: &str = "target/lake";
/// The Kafka brokers of the embedded default target: `$DVT_KAFKA_BOOTSTRAP`
/// (what `scripts/start-kafka.sh` prints, and profiles.yml.example reads),
/// else a broker on this machine's default port.
const EMBEDDED_KAFKA_ENV: &str = "DVT_KAFKA_BOOTSTRAP";
const EMBEDDED_KAFKA_DEFAULT: &str = "127.0.0.1:9092";
/// The schema of a DuckDB target that names none: DuckDB's own default, as
/// dbt-duckdb has it.
const DUCKDB_DEFAULT_SCHEMA: &str = "main";

/// With no `profiles.yml` anywhere, the embedded DuckDB target `dev`: a
/// fresh clone builds with nothing to copy or edit. Asking for another
/// target, or for a profiles directory that has no file, is still an error.
fn embedded_default(
    profiles_dir: Option<&Path>,
    searched: &[PathBuf],
    profile_name: &str,
    target_override: Option<&str>,
) -> Result<Target, Diagnostic> {
    let explicit_dir = profiles_dir.is_some() || profiles_dir_from_env().is_some();
    let other_target = target_override.is_some_and(|name| name != EMBEDDED_TARGET);
    if !cfg!(feature = "duckdb") || explicit_dir || other_target {
        let searched: Vec<String> = searched.iter().map(|dir| format!("`{}`", dir.display())).collect();
        return Err(
            Diagnostic::error(format!("no `profiles.yml` found (searched {})", searched.join(", "))).hint(
                "copy `profiles.yml.example` to `profiles.yml` in the project directory, or pass `--profiles-dir DIR`",
            ),
        );
    }
    let (schema, threads) = (DUCKDB_DEFAULT_SCHEMA, 4);
    let mut fields = Map::new();
    fields.insert("type".into(), Value::String("duckdb".into()));
    fields.insert("path".into(), Value::String(EMBEDDED_PATH.into()));
    fields.insert("schema".into(), Value::String(schema.into()));
    fields.insert("threads".into(), Value::from(threads));
    // A lake on this machine, so that `dvt build` exports the gold marts.
    fields.insert("lake_path".into(), Value::String(EMBEDDED_LAKE.into()));
    // And a broker, so that `dvt produce` and `dvt ingest` need no profile either.
    let kafka = std::env::var(EMBEDDED_KAFKA_ENV).unwrap_or_else(|_| EMBEDDED_KAFKA_DEFAULT.to_string());
    fields.insert("kafka_bootstrap_servers".into(), Value::String(kafka));
    Ok(Target {
        profile: profile_name.to_string(),
        name: EMBEDDED_TARGET.to_string(),
        adapter_type: "duckdb".to_string(),
        schema: schema.to_string(),
        database: duckdb_database_name("duckdb", Some(EMBEDDED_PATH)).unwrap_or_default(),
        threads,
        fields,
        source: "the embedded default".to_string(),
        unresolved: BTreeMap::new(),
        fallback_note: Some(format!(
            "No profiles.yml found; using the embedded DuckDB target `{EMBEDDED_TARGET}` at {EMBEDDED_PATH}, with the lake in {EMBEDDED_LAKE}/"
        )),
        project_dir: PathBuf::new(),
    })
}

/// Resolves `profile_name` from the text of a profiles file.
pub fn resolve(
    file: &str,
    source: &str,
    profile_name: &str,
    target_override: Option<&str>,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Target, Diagnostic> {
    let document = yaml::parse(file, source)?;
    let locate = |key: &str| {
        yaml::find_text_line(source, &format!("{key}:"), 1)
            .map(|(line, column)| Location::at(file, line, column, key.len()))
    };
    let Some(profile) = document.get(profile_name) else {
        let names: Vec<&str> = document
            .as_object()
            .map(|map| map.keys().map(String::as_str).filter(|key| *key != "config").collect())
            .unwrap_or_default();
        let first = names.first().copied().unwrap_or_default();
        let mut diagnostic =
            Diagnostic::error(format!("profile `{profile_name}` is not in `{file}`")).at_key(file, source, &[first]);
        if let Some(suggestion) = did_you_mean(profile_name, names.iter().copied()) {
            diagnostic = diagnostic.hint(format!(
                "did you mean `{suggestion}`? Or set `profile:` in the project file to match"
            ));
        } else if !names.is_empty() {
            diagnostic = diagnostic.hint(format!("profiles in this file: {}", names.join(", ")));
        }
        return Err(diagnostic);
    };
    let outputs = profile.get("outputs").and_then(Value::as_object).ok_or_else(|| {
        let diagnostic = Diagnostic::error(format!("profile `{profile_name}` has no `outputs`"));
        match locate(profile_name) {
            Some(location) => diagnostic.at(location, Some(source)),
            None => diagnostic.in_file(file),
        }
        .hint("add `outputs:` with one entry per target, and `target:` naming the default")
    })?;
    let default_target = profile
        .get("target")
        .and_then(Value::as_str)
        .map(|target| render(file, target).map_err(|error| error.at_key(file, source, &[profile_name, "target"])))
        .transpose()?;
    let target_name = match (target_override, default_target) {
        (Some(name), _) => name.to_string(),
        (None, Some(name)) => name,
        (None, None) if outputs.contains_key("dev") => "dev".to_string(),
        (None, None) => {
            return Err(
                Diagnostic::error(format!("profile `{profile_name}` names no default `target`"))
                    .at_key(file, source, &[profile_name])
                    .hint("add `target: <name>` to the profile, or pass `--target NAME`"),
            )
        }
    };
    let Some(Value::Object(raw_fields)) = outputs.get(&target_name) else {
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        let mut diagnostic = Diagnostic::error(format!("target `{target_name}` is not in profile `{profile_name}`"));
        diagnostic = match target_override {
            Some(_) => diagnostic.at_key(file, source, &[profile_name, "outputs"]),
            None => diagnostic.at_key(file, source, &[profile_name, "target"]),
        };
        diagnostic = match did_you_mean(&target_name, names.iter().copied()) {
            Some(suggestion) => diagnostic.hint(format!("did you mean `{suggestion}`?")),
            None => diagnostic.hint(format!("targets of this profile: {}", names.join(", "))),
        };
        return Err(diagnostic);
    };

    let mut fields = Map::new();
    let mut unresolved = BTreeMap::new();
    for (key, value) in raw_fields {
        let value = match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => match render(file, text) {
                Ok(rendered) => coerce(&rendered),
                // A secret that cannot be rendered (say, its env var is unset) only
                // matters when dvt connects: parse, compile and ls work without it.
                // Its template is never echoed: it may hold a literal secret.
                Err(error) if is_secret(key) => {
                    unresolved.insert(key.clone(), error.message.clone());
                    Value::Null
                }
                Err(error) => return Err(error.at_key(file, source, &[profile_name, "outputs", &target_name, key])),
            },
            other => other.clone(),
        };
        fields.insert(key.clone(), value);
    }
    let adapter_type = fields
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Diagnostic::error(format!(
                "target `{target_name}` of profile `{profile_name}` has no `type`"
            ))
            .at_key(file, source, &[profile_name, "outputs", &target_name])
            .hint("add `type: postgres`")
        })?;
    // dbt 1.10 fails every command on these: "Could not find adapter type
    // oracle!" and "'abc' is not of type 'integer'".
    if !ADAPTER_TYPES.contains(&adapter_type.as_str()) {
        return Err(Diagnostic::error(format!(
            "target `{target_name}` has the adapter type `{adapter_type}`, which dvt does not know"
        ))
        .at_key(file, source, &[profile_name, "outputs", &target_name, "type"])
        .hint("dvt's adapters are `type: postgres` and `type: duckdb`"));
    }
    if let Some(port) = fields.get("port") {
        let valid = port
            .as_u64()
            .or_else(|| port.as_str().and_then(|text| text.trim().parse().ok()));
        if valid.is_none_or(|port| port > u64::from(u16::MAX)) {
            return Err(Diagnostic::error(format!(
                "`port` of target `{target_name}` must be a port number, not `{}`",
                crate::validate::config::written(port).unwrap_or_default()
            ))
            .at_key(file, source, &[profile_name, "outputs", &target_name, "port"])
            .hint("write `port: 5432`"));
        }
    }
    let schema = fields
        .get("schema")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| (adapter_type == "duckdb").then(|| DUCKDB_DEFAULT_SCHEMA.to_string()))
        .ok_or_else(|| {
            Diagnostic::error(format!("target `{target_name}` has no `schema`"))
                .at_key(file, source, &[profile_name, "outputs", &target_name])
                .hint("add `schema: analytics`, the schema dvt builds into")
        })?;
    let database = fields
        .get("dbname")
        .or_else(|| fields.get("database"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| duckdb_database_name(&adapter_type, fields.get("path").and_then(Value::as_str)))
        .unwrap_or_default();
    let threads = match fields.get("threads") {
        None => 1,
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
            .filter(|threads| *threads > 0)
            .ok_or_else(|| {
                Diagnostic::error(format!(
                    "`threads` of target `{target_name}` must be a positive whole number"
                ))
                .at_key(file, source, &[profile_name, "outputs", &target_name, "threads"])
                .hint("write `threads: 4`, the number of nodes dvt builds at once")
            })? as usize,
    };
    Ok(Target {
        profile: profile_name.to_string(),
        name: target_name,
        adapter_type,
        schema,
        database,
        threads,
        fields,
        source: file.to_string(),
        unresolved,
        fallback_note: None,
        project_dir: PathBuf::new(),
    })
}

/// DuckDB names a database after its file (`target/dev.duckdb` is `dev`),
/// and an in-memory one `memory`.
fn duckdb_database_name(adapter_type: &str, path: Option<&str>) -> Option<String> {
    if adapter_type != "duckdb" {
        return None;
    }
    match path.unwrap_or(":memory:") {
        ":memory:" => Some("memory".to_string()),
        path => Path::new(path)
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned()),
    }
}

/// Rendered Jinja is text; numbers and booleans are turned back into values.
fn coerce(text: &str) -> Value {
    if let Ok(integer) = text.trim().parse::<i64>() {
        return Value::from(integer);
    }
    match text.trim() {
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_render(_: &str, text: &str) -> Result<String, Diagnostic> {
        Ok(text.replace("{{ env_var('PW') }}", "hunter2"))
    }

    const PROFILES: &str = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: localhost\n      user: me\n      password: \"{{ env_var('PW') }}\"\n      dbname: shop\n      schema: analytics\n      threads: 4\n";

    #[test]
    fn resolves_default_target_and_hides_password() {
        let target =
            resolve("profiles.yml", PROFILES, "shop", None, &no_render).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(target.threads, 4);
        assert_eq!(target.string("password").as_deref(), Some("hunter2"));
        let shown = format!("{target:?} {}", target.context());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(target.context().get("password").is_none());
    }

    #[test]
    fn no_profiles_file_means_the_embedded_duckdb_unless_something_else_was_asked_for() {
        let searched = [PathBuf::from("/project")];
        match embedded_default(None, &searched, "shop", None) {
            Ok(target) if cfg!(feature = "duckdb") => {
                assert_eq!(target.adapter_type, "duckdb");
                assert_eq!(target.name, "dev");
                assert_eq!(target.schema, "main");
                assert_eq!(target.string("path").as_deref(), Some(EMBEDDED_PATH));
                assert_eq!(target.string("lake_path").as_deref(), Some(EMBEDDED_LAKE));
                assert!(target
                    .string("kafka_bootstrap_servers")
                    .is_some_and(|servers| !servers.is_empty()));
                assert_eq!(
                    target.fallback_note.as_deref(),
                    Some("No profiles.yml found; using the embedded DuckDB target `dev` at target/dev.duckdb, with the lake in target/lake/")
                );
            }
            Err(error) if !cfg!(feature = "duckdb") => assert!(error.to_string().contains("no `profiles.yml`")),
            other => panic!("{other:?}"),
        }
        // An explicit folder without the file, or another target, is a
        // mistake to report rather than to paper over.
        let error = embedded_default(Some(Path::new("/elsewhere")), &searched, "shop", None)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("no `profiles.yml` found (searched `/project`)"),
            "{error}"
        );
        let error = embedded_default(None, &searched, "shop", Some("pg"))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("no `profiles.yml` found"), "{error}");
    }

    #[test]
    fn duckdb_targets_default_their_schema_and_take_the_database_name_from_the_file() {
        let profiles = "shop:\n  outputs:\n    dev:\n      type: duckdb\n      path: target/shop.duckdb\n";
        let target =
            resolve("profiles.yml", profiles, "shop", None, &no_render).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(target.schema, "main");
        assert_eq!(target.database, "shop");
    }

    #[test]
    fn unknown_target_suggests() {
        let error = resolve("profiles.yml", PROFILES, "shop", Some("deb"), &no_render)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("did you mean `dev`?"), "{error}");
    }
}
