//! dbt Hub (hub.getdbt.com): the registry `package:` entries come from.
//!
//! It owns the API's JSON (`api/v1/index.json`, the list of packages, and
//! `api/v1/<namespace>/<name>.json`, every version with its tarball, its own
//! packages and its `require_dbt_version`), and choosing a version for a set of
//! requirements exactly as `dbt deps` does. `DBT_PACKAGE_HUB_URL` points it at
//! another hub, as it does dbt. The HTTP itself is [`super::fetch::download`];
//! [`Registry`] lets tests answer from recorded JSON instead.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::version::{self, Specifier};

/// The dbt version dvt behaves as, for `require_dbt_version`.
pub const DBT_VERSION: &str = "1.10.0";

/// Where hub JSON comes from.
pub trait Registry {
    /// The list of every package (`namespace/name`).
    fn index(&self) -> Result<Vec<String>, HubError>;
    /// The JSON of one package, with every version.
    fn package(&self, name: &str) -> Result<Value, HubError>;
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("cannot reach dbt Hub at `{url}`: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("dbt Hub's answer for `{name}` is not what dbt expects: {detail}")]
    Malformed { name: String, detail: String },
    #[error("package `{0}` was not found on dbt Hub")]
    NotFound(String),
    #[error("no version of `{package}` satisfies every requirement: {}", requirements.join(" and "))]
    Conflict { package: String, requirements: Vec<String> },
    #[error("no version of `{package}` matches `{range}` (installable versions: {})", available.join(", "))]
    NoMatch {
        package: String,
        range: String,
        available: Vec<String>,
    },
}

/// The real hub, over HTTP; answers are kept for the run, as dbt memoises them.
pub struct HubRegistry {
    base_url: String,
    cache: Mutex<HashMap<String, Value>>,
}

impl Default for HubRegistry {
    fn default() -> Self {
        let base_url = std::env::var("DBT_PACKAGE_HUB_URL").unwrap_or_else(|_| "https://hub.getdbt.com/".into());
        HubRegistry {
            base_url,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl HubRegistry {
    fn get(&self, name: &str) -> Result<Value, HubError> {
        if let Some(found) = self.cache.lock().ok().and_then(|cache| cache.get(name).cloned()) {
            return Ok(found);
        }
        let url = format!("{}api/v1/{name}.json", self.base_url);
        let bytes = super::fetch::download(&url).map_err(|error| HubError::Unreachable {
            url: url.clone(),
            detail: error.to_string(),
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|error| HubError::Malformed {
            name: name.to_string(),
            detail: error.to_string(),
        })?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_string(), value.clone());
        }
        Ok(value)
    }
}

impl Registry for HubRegistry {
    fn index(&self) -> Result<Vec<String>, HubError> {
        match self.get("index")? {
            Value::Array(items) => Ok(items.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
            _ => Err(HubError::Malformed {
                name: "index".into(),
                detail: "expected a list of package names".into(),
            }),
        }
    }

    fn package(&self, name: &str) -> Result<Value, HubError> {
        if !self.index()?.iter().any(|known| known == name) {
            return Err(HubError::NotFound(name.to_string()));
        }
        self.get(name)
    }
}

/// One requirement on a hub package, and who made it (for conflict errors).
#[derive(Debug, Clone)]
pub struct Requirement {
    pub versions: Vec<String>,
    /// `packages.yml:3`, or `dbt-labs/dbt_utils 1.3.0`.
    pub origin: String,
}

/// The version chosen for a package, and what it needs.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub package: String,
    pub version: String,
    /// The newest installable version, for the "update available" note.
    pub latest: String,
    /// The package's project name (`dbt_utils`).
    pub name: String,
    pub tarball: String,
    /// The package's own `packages:` entries, as the hub lists them.
    pub packages: Vec<Value>,
}

/// The version of `package` that dbt would choose for all of `requirements`:
/// the ranges intersected, then the highest version compatible with dbt 1.10
/// (pre-releases only when asked for or named).
pub fn resolve(
    registry: &dyn Registry,
    package: &str,
    requirements: &[Requirement],
    install_prerelease: bool,
) -> Result<Pinned, HubError> {
    let json = registry.package(package)?;
    let malformed = |detail: &str| HubError::Malformed {
        name: package.to_string(),
        detail: detail.to_string(),
    };
    let versions = json
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("no `versions`"))?;
    let mut specifiers = Vec::new();
    for requirement in requirements {
        for text in &requirement.versions {
            specifiers.push(Specifier::parse(text).map_err(|error| malformed(&error.to_string()))?);
        }
    }
    let range = version::reduce(&specifiers).map_err(|_| HubError::Conflict {
        package: package.to_string(),
        requirements: requirements
            .iter()
            .map(|requirement| format!("`{}` ({})", requirement.versions.join(", "), requirement.origin))
            .collect(),
    })?;
    let dbt = Specifier::parse(DBT_VERSION).map_err(|error| malformed(&error.to_string()))?;
    let compatible: Vec<&str> = versions
        .iter()
        .filter(|(_, info)| {
            let required: Vec<Specifier> = match info.get("require_dbt_version") {
                Some(Value::String(text)) => Specifier::parse(text).into_iter().collect(),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|text| Specifier::parse(text).ok())
                    .collect(),
                _ => Vec::new(),
            };
            version::satisfies(&dbt, &required)
        })
        .map(|(version, _)| version.as_str())
        .collect();
    let prerelease = install_prerelease || specifiers.iter().any(|specifier| specifier.prerelease.is_some());
    let installable = version::filter_installable(&compatible, prerelease);
    let target = version::resolve_to_specific_version(&range, &installable).ok_or_else(|| HubError::NoMatch {
        package: package.to_string(),
        range: range.to_string(),
        available: installable.iter().map(|version| version.to_string()).collect(),
    })?;
    let info = &versions[target];
    Ok(Pinned {
        package: package.to_string(),
        version: target.to_string(),
        latest: installable
            .last()
            .map_or_else(|| target.to_string(), |latest| latest.to_string()),
        name: info
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("a version without `name`"))?
            .to_string(),
        tarball: info
            .pointer("/downloads/tarball")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("a version without `downloads.tarball`"))?
            .to_string(),
        packages: info
            .get("packages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    })
}

/// The metadata of one exact version, as installing from a lock file needs.
pub fn pinned(registry: &dyn Registry, package: &str, version: &str) -> Result<Pinned, HubError> {
    let requirement = Requirement {
        versions: vec![version.to_string()],
        origin: "package-lock.yml".into(),
    };
    resolve(
        registry,
        package,
        &[requirement],
        Specifier::parse(version).is_ok_and(|version| version.prerelease.is_some()),
    )
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Hub answers in the shape hub.getdbt.com gives them (every field dbt
    /// reads, a few versions of each package), kept in `testdata/`.
    pub struct Recorded;

    pub const DBT_UTILS: &str = include_str!("testdata/dbt-labs_dbt_utils.json");
    pub const DBT_DATE: &str = include_str!("testdata/calogica_dbt_date.json");
    pub const DBT_EXPECTATIONS: &str = include_str!("testdata/calogica_dbt_expectations.json");

    impl Registry for Recorded {
        fn index(&self) -> Result<Vec<String>, HubError> {
            Ok(vec![
                "dbt-labs/dbt_utils".into(),
                "calogica/dbt_date".into(),
                "calogica/dbt_expectations".into(),
            ])
        }

        fn package(&self, name: &str) -> Result<Value, HubError> {
            let text = match name {
                "dbt-labs/dbt_utils" => DBT_UTILS,
                "calogica/dbt_date" => DBT_DATE,
                "calogica/dbt_expectations" => DBT_EXPECTATIONS,
                _ => return Err(HubError::NotFound(name.to_string())),
            };
            serde_json::from_str(text).map_err(|error| HubError::Malformed {
                name: name.into(),
                detail: error.to_string(),
            })
        }
    }

    fn requirement(versions: &[&str], origin: &str) -> Requirement {
        Requirement {
            versions: versions.iter().map(|version| version.to_string()).collect(),
            origin: origin.into(),
        }
    }

    #[test]
    fn resolves_the_highest_version_in_range() {
        let pinned = resolve(
            &Recorded,
            "dbt-labs/dbt_utils",
            &[requirement(&[">=1.0.0", "<2.0.0"], "packages.yml:2")],
            false,
        )
        .unwrap();
        assert_eq!(pinned.version, "1.3.0");
        assert_eq!(pinned.name, "dbt_utils");
        assert_eq!(
            pinned.tarball,
            "https://codeload.github.com/dbt-labs/dbt-utils/tar.gz/1.3.0"
        );
        // 1.3.1-b1 is a pre-release: not chosen unless asked for.
        assert_eq!(pinned.latest, "1.3.0");
        let prerelease = resolve(
            &Recorded,
            "dbt-labs/dbt_utils",
            &[requirement(&[">=1.0.0", "<2.0.0"], "packages.yml:2")],
            true,
        )
        .unwrap();
        assert_eq!(prerelease.version, "1.3.1-b1");
    }

    #[test]
    fn skips_versions_for_another_dbt() {
        // 0.8.6 requires dbt <1.0.0; 0.9.6 is the newest 0.x that works with 1.10.
        let pinned = resolve(&Recorded, "dbt-labs/dbt_utils", &[requirement(&["<1.0.0"], "x")], false).unwrap();
        assert_eq!(pinned.version, "0.9.6");
    }

    #[test]
    fn transitive_requirements_intersect_and_conflicts_name_both() {
        let expectations = resolve(
            &Recorded,
            "calogica/dbt_expectations",
            &[requirement(&[">=0.10.0", "<0.11.0"], "packages.yml:4")],
            false,
        )
        .unwrap();
        assert_eq!(expectations.version, "0.10.4");
        let date_requirement = &expectations.packages[0];
        assert_eq!(date_requirement["package"], "calogica/dbt_date");
        let versions: Vec<&str> = date_requirement["version"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let date = resolve(
            &Recorded,
            "calogica/dbt_date",
            &[requirement(&versions, "calogica/dbt_expectations 0.10.4")],
            false,
        )
        .unwrap();
        assert_eq!(date.version, "0.10.1");
        let error = resolve(
            &Recorded,
            "calogica/dbt_date",
            &[
                requirement(&["0.9.2"], "packages.yml:6"),
                requirement(&versions, "calogica/dbt_expectations 0.10.4"),
            ],
            false,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`0.9.2` (packages.yml:6)"), "{message}");
        assert!(
            message.contains("`>=0.10.0, <0.11.0` (calogica/dbt_expectations 0.10.4)"),
            "{message}"
        );
    }

    #[test]
    fn unknown_packages_and_ranges_without_versions_are_errors() {
        let error = resolve(&Recorded, "nobody/nothing", &[requirement(&["1.0.0"], "x")], false).unwrap_err();
        assert!(matches!(error, HubError::NotFound(_)));
        let error = resolve(&Recorded, "dbt-labs/dbt_utils", &[requirement(&[">5.0.0"], "x")], false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no version of `dbt-labs/dbt_utils` matches `>5.0.0`"),
            "{error}"
        );
    }
}
