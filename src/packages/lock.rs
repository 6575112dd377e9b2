//! `package-lock.yml`: every package `dvt deps` resolved, transitive ones
//! included, pinned (a git commit, a hub version), with the `sha1_hash` of the
//! `packages.yml` it was resolved from.
//!
//! The file is written byte for byte as dbt writes it (PyYAML with sorted keys
//! and indented lists), so that dbt and dvt can share a project without the
//! lock file changing back and forth.

use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Diagnostics};

pub const LOCK_FILE: &str = "package-lock.yml";

/// One pinned package of the lock file.
#[derive(Debug, Clone, PartialEq)]
pub enum Locked {
    Local {
        path: String,
        name: String,
    },
    Git {
        url: String,
        revision: String,
        subdirectory: Option<String>,
        name: String,
    },
    Tarball {
        url: String,
        name: String,
    },
    Hub {
        package: String,
        version: String,
        name: String,
    },
}

impl Locked {
    pub fn name(&self) -> &str {
        match self {
            Locked::Local { name, .. }
            | Locked::Git { name, .. }
            | Locked::Tarball { name, .. }
            | Locked::Hub { name, .. } => name,
        }
    }

    fn to_value(&self) -> Value {
        let mut entry = Map::new();
        let mut put = |key: &str, value: &str| {
            entry.insert(key.to_string(), Value::String(value.to_string()));
        };
        match self {
            Locked::Local { path, name } => {
                put("local", path);
                put("name", name);
            }
            Locked::Git {
                url,
                revision,
                subdirectory,
                name,
            } => {
                put("git", url);
                put("revision", revision);
                if let Some(subdirectory) = subdirectory {
                    put("subdirectory", subdirectory);
                }
                put("name", name);
            }
            Locked::Tarball { url, name } => {
                put("tarball", url);
                put("name", name);
            }
            Locked::Hub { package, version, name } => {
                put("package", package);
                put("version", version);
                put("name", name);
            }
        }
        Value::Object(entry)
    }
}

/// The lock file's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub packages: Vec<Locked>,
    pub sha1_hash: String,
}

impl Lock {
    /// The file's text, as PyYAML's `yaml.dump` with dbt's dumper writes it.
    pub fn to_yaml(&self) -> String {
        let mut text = String::from("packages:\n");
        for package in &self.packages {
            let Value::Object(entry) = package.to_value() else {
                continue;
            };
            let mut keys: Vec<&String> = entry.keys().collect();
            keys.sort();
            for (index, key) in keys.into_iter().enumerate() {
                let prefix = if index == 0 { "  - " } else { "    " };
                let value = entry[key].as_str().unwrap_or_default();
                text.push_str(&format!("{prefix}{key}: {}\n", yaml_scalar(value)));
            }
        }
        text.push_str(&format!("sha1_hash: {}\n", yaml_scalar(&self.sha1_hash)));
        text
    }

    pub fn write(&self, project_dir: &Path) -> Result<(), Diagnostic> {
        std::fs::write(project_dir.join(LOCK_FILE), self.to_yaml())
            .map_err(|error| Diagnostic::error(format!("cannot write `{LOCK_FILE}`: {error}")).in_file(LOCK_FILE))
    }

    /// Reads the lock file in `project_dir`, if there is one.
    pub fn read(project_dir: &Path) -> Result<Option<Lock>, Diagnostics> {
        let path = project_dir.join(LOCK_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let source = std::fs::read_to_string(&path)
            .map_err(|error| Diagnostic::error(format!("cannot read `{LOCK_FILE}`: {error}")).in_file(LOCK_FILE))?;
        let document = crate::yaml::parse(LOCK_FILE, &source)?;
        let sha1_hash = document
            .get("sha1_hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut packages = Vec::new();
        let items = document
            .get("packages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in items {
            let text = |key: &str| item.get(key).map(scalar_text);
            let name = text("name").unwrap_or_default();
            let locked = if let Some(path) = text("local") {
                Locked::Local { path, name }
            } else if let Some(url) = text("git") {
                Locked::Git {
                    url,
                    revision: text("revision").unwrap_or_else(|| "HEAD".into()),
                    subdirectory: text("subdirectory"),
                    name,
                }
            } else if let Some(url) = text("tarball") {
                Locked::Tarball { url, name }
            } else if let Some(package) = text("package") {
                Locked::Hub {
                    package,
                    version: text("version").unwrap_or_default(),
                    name,
                }
            } else {
                return Err(Diagnostic::error(
                    "an entry of the lock file has no `local`, `git`, `tarball` or `package`",
                )
                .in_file(LOCK_FILE)
                .hint("run `dvt deps --upgrade` to write the lock file again")
                .into());
            };
            packages.push(locked);
        }
        Ok(Some(Lock { packages, sha1_hash }))
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A string as PyYAML writes it: plain when it reads back as the same
/// string, otherwise single-quoted.
fn yaml_scalar(text: &str) -> String {
    if needs_quotes(text) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text.to_string()
    }
}

fn needs_quotes(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return true;
    };
    let rest = &text[first.len_utf8()..];
    let indicator = "#,[]{}&*!|>'\"%@`".contains(first)
        || (matches!(first, '-' | '?' | ':') && (rest.is_empty() || rest.starts_with(' ')));
    if text != text.trim() || indicator {
        return true;
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') || text.contains('\n') {
        return true;
    }
    let lower = text.to_lowercase();
    if ["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(&lower.as_str()) {
        return true;
    }
    // Numbers (1, 1.5, 1e3, 0x1f) and dates would read back as other types.
    let numeric = text.replace('_', "");
    numeric.parse::<f64>().is_ok()
        || numeric.parse::<i64>().is_ok()
        || (text.len() >= 10
            && text.as_bytes()[4] == b'-'
            && text.as_bytes()[7] == b'-'
            && text[..4].chars().all(|character| character.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_dbt_writes() {
        let lock = Lock {
            packages: vec![
                Locked::Local {
                    path: "../sub".into(),
                    name: "sub_pkg".into(),
                },
                Locked::Hub {
                    package: "dbt-labs/dbt_utils".into(),
                    version: "1.3.0".into(),
                    name: "dbt_utils".into(),
                },
                Locked::Git {
                    url: "https://github.com/dbt-labs/dbt-audit-helper.git".into(),
                    revision: "b3b0d5ad7ddd6bc1ad6d3b12e0c4e3fd45be5fd3".into(),
                    subdirectory: None,
                    name: "audit_helper".into(),
                },
            ],
            sha1_hash: "8384c32c31b241cb1835a41fdda3a097477ae8ad".into(),
        };
        assert_eq!(
            lock.to_yaml(),
            "packages:\n  - local: ../sub\n    name: sub_pkg\n  - name: dbt_utils\n    package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - git: https://github.com/dbt-labs/dbt-audit-helper.git\n    name: audit_helper\n    revision: b3b0d5ad7ddd6bc1ad6d3b12e0c4e3fd45be5fd3\nsha1_hash: 8384c32c31b241cb1835a41fdda3a097477ae8ad\n"
        );
        let dir = tempfile::tempdir().unwrap();
        lock.write(dir.path()).unwrap();
        assert_eq!(Lock::read(dir.path()).unwrap(), Some(lock));
    }

    #[test]
    fn quotes_like_pyyaml() {
        assert_eq!(yaml_scalar("1.0"), "'1.0'");
        assert_eq!(yaml_scalar("1.3.0"), "1.3.0");
        assert_eq!(yaml_scalar("true"), "'true'");
        assert_eq!(yaml_scalar("file:///tmp/a.tar.gz"), "file:///tmp/a.tar.gz");
        assert_eq!(yaml_scalar("../"), "../");
        assert_eq!(yaml_scalar(""), "''");
    }
}
