//! Packages: other dbt projects a project installs and uses, as `dbt deps` does.
//!
//! `packages.yml` is read by [`spec`]; [`resolve`] turns its entries, and the
//! entries of every package they bring (transitively), into one pinned package
//! each: local folders, git commits, tarballs, and dbt Hub versions chosen by
//! [`hub`] with dbt's version rules ([`version`]). [`lock`] writes the result to
//! `package-lock.yml`, and [`install`] puts each package in
//! `packages-install-path` (`dbt_packages/`), a `local:` package as a symlink.
//! The network and subprocesses are in [`fetch`].
//!
//! Loading an installed package as a project of its own is
//! [`crate::project::load_packages`]; this module ends at the folder on disk.

pub mod fetch;
pub mod hub;
pub mod lock;
pub mod spec;
pub mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use fetch::FetchError;
use hub::{Registry, Requirement};
use lock::Locked;
use spec::{Entry, PackagesFile, Source};

/// Renders a Jinja string of a packages file (`env_var()`, `var()`).
pub type Render<'a> = &'a dyn Fn(&str, &str) -> Result<String, Diagnostic>;

/// What a resolution or install reports along the way.
pub trait Progress {
    fn info(&self, message: &str);
    fn warning(&self, diagnostic: Diagnostic);
}

/// A package not pinned yet: the requirements on it, merged across every
/// project that asks for it (dbt's "unpinned package").
#[derive(Debug, Clone)]
enum Unpinned {
    Local {
        path: String,
    },
    Git {
        url: String,
        url_unrendered: String,
        revisions: Vec<String>,
        warn_unpinned: bool,
        subdirectory: Option<String>,
    },
    Tarball {
        url: String,
        url_unrendered: String,
        name: String,
    },
    Hub {
        package: String,
        requirements: Vec<Requirement>,
        install_prerelease: bool,
    },
}

impl Unpinned {
    fn from_entry(entry: &Entry, origin: &str) -> Unpinned {
        match &entry.source {
            Source::Local { path } => Unpinned::Local { path: path.clone() },
            Source::Git {
                url,
                url_unrendered,
                revision,
                warn_unpinned,
                subdirectory,
            } => Unpinned::Git {
                url: url.clone(),
                url_unrendered: url_unrendered.clone(),
                revisions: revision.iter().cloned().collect(),
                warn_unpinned: *warn_unpinned,
                subdirectory: subdirectory.clone(),
            },
            Source::Tarball {
                url,
                url_unrendered,
                name,
            } => Unpinned::Tarball {
                url: url.clone(),
                url_unrendered: url_unrendered.clone(),
                name: name.clone(),
            },
            Source::Hub {
                package,
                versions,
                install_prerelease,
            } => Unpinned::Hub {
                package: package.clone(),
                requirements: vec![Requirement {
                    versions: versions.clone(),
                    origin: origin.to_string(),
                }],
                install_prerelease: *install_prerelease,
            },
        }
    }

    /// The names this package may be listed under: a git URL with and without
    /// `.git` is one package.
    fn names(&self) -> Vec<String> {
        match self {
            Unpinned::Local { path } => vec![path.clone()],
            Unpinned::Git { url, subdirectory, .. } => {
                let other = match url.strip_suffix(".git") {
                    Some(stripped) => stripped.to_string(),
                    None => format!("{url}.git"),
                };
                match subdirectory {
                    Some(subdirectory) => vec![format!("{url}/{subdirectory}"), format!("{other}/{subdirectory}")],
                    None => vec![url.clone(), other],
                }
            }
            Unpinned::Tarball { url, .. } => vec![url.clone()],
            Unpinned::Hub { package, .. } => vec![package.clone()],
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Unpinned::Local { .. } => "local",
            Unpinned::Git { .. } => "git",
            Unpinned::Tarball { .. } => "tarball",
            Unpinned::Hub { .. } => "hub",
        }
    }

    fn incorporate(&mut self, other: Unpinned) -> Result<(), String> {
        match (self, other) {
            (Unpinned::Local { .. }, Unpinned::Local { .. }) | (Unpinned::Tarball { .. }, Unpinned::Tarball { .. }) => {
                Ok(())
            }
            (
                Unpinned::Git {
                    revisions,
                    warn_unpinned,
                    ..
                },
                Unpinned::Git {
                    revisions: more,
                    warn_unpinned: other_warn,
                    ..
                },
            ) => {
                revisions.extend(more);
                *warn_unpinned = *warn_unpinned && other_warn;
                Ok(())
            }
            (Unpinned::Hub { requirements, .. }, Unpinned::Hub { requirements: more, .. }) => {
                requirements.extend(more);
                Ok(())
            }
            (mine, other) => Err(format!(
                "package `{}` is asked for both as a {} package and as a {} package",
                mine.names()[0],
                mine.kind(),
                other.kind()
            )),
        }
    }
}

/// Packages by the name they were first listed under, in the order listed.
#[derive(Default)]
struct Listing {
    packages: Vec<(String, Unpinned)>,
}

impl Listing {
    fn position(&self, package: &Unpinned) -> Option<usize> {
        let names = package.names();
        self.packages.iter().position(|(key, _)| names.contains(key))
    }

    fn incorporate(&mut self, package: Unpinned) -> Result<usize, String> {
        match self.position(&package) {
            Some(index) => {
                self.packages[index].1.incorporate(package)?;
                Ok(index)
            }
            None => {
                self.packages.push((package.names()[0].clone(), package));
                Ok(self.packages.len() - 1)
            }
        }
    }
}

/// A package pinned, with what is needed to install it.
#[derive(Debug, Clone)]
struct Metadata {
    name: String,
    locked: Locked,
    /// Its own packages file, for the next round.
    packages: Option<PackagesFile>,
    origin: String,
}

/// Everything a resolution or install needs from its surroundings.
pub struct Context<'a> {
    /// The root project's folder (`local:` paths are relative to it, as in dbt).
    pub project_dir: &'a Path,
    pub project_name: &'a str,
    /// Where downloads and checkouts go until they are installed.
    pub downloads: &'a Path,
    pub registry: &'a dyn Registry,
    pub render: Render<'a>,
    pub progress: &'a dyn Progress,
}

/// Resolves the root project's packages and theirs, as `dbt deps` does when it
/// writes the lock file: round after round, each package's requirements merged
/// with what was already asked of it, then pinned.
pub fn resolve(context: &Context, file: &PackagesFile) -> Result<Vec<Locked>, Diagnostics> {
    let mut listing = Listing::default();
    let mut pending: Vec<Unpinned> = file
        .entries
        .iter()
        .map(|entry| Unpinned::from_entry(entry, &format!("{}:{}", file.file, entry.line)))
        .collect();
    let mut cache: BTreeMap<String, Metadata> = BTreeMap::new();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        if rounds > 64 {
            return Err(Diagnostic::error("packages depend on each other in a cycle")
                .in_file(&file.file)
                .into());
        }
        let mut next = Vec::new();
        for package in pending {
            let index = listing
                .incorporate(package)
                .map_err(|message| Diagnostic::error(message).in_file(&file.file))?;
            let metadata = pin(context, &listing.packages[index].1, &mut cache, file)?;
            if let Some(packages) = &metadata.packages {
                next.extend(packages.entries.iter().map(|entry| {
                    // A hub package's requirements come from the hub, not a file.
                    let origin = match packages.file.as_str() {
                        "" => format!("required by {}", metadata.origin),
                        file => format!("{}'s {file}:{}", metadata.origin, entry.line),
                    };
                    Unpinned::from_entry(entry, &origin)
                }));
            }
        }
        pending = next;
    }
    let mut locked = Vec::new();
    let mut seen = BTreeMap::new();
    for (_, package) in &listing.packages {
        let metadata = pin(context, package, &mut cache, file)?;
        if metadata.name == context.project_name {
            return Err(Diagnostic::error(format!(
                "package `{}` has the same name as the root project",
                metadata.origin
            ))
            .in_file(&file.file)
            .hint("a project cannot install itself; remove the entry")
            .into());
        }
        if let Some(previous) = seen.insert(metadata.name.clone(), metadata.origin.clone()) {
            return Err(Diagnostic::error(format!(
                "`{previous}` and `{}` are both the package `{}`",
                metadata.origin, metadata.name
            ))
            .in_file(&file.file)
            .hint("keep one of them in packages.yml")
            .into());
        }
        locked.push(metadata.locked);
    }
    Ok(locked)
}

/// Pins one package and reads its metadata: its project name and its own
/// packages. Results are kept by what was pinned, so a git repository is
/// cloned once per revision.
fn pin(
    context: &Context,
    package: &Unpinned,
    cache: &mut BTreeMap<String, Metadata>,
    file: &PackagesFile,
) -> Result<Metadata, Diagnostics> {
    let key = match package {
        Unpinned::Git { revisions, .. } => format!("{}@{}", package.names()[0], revisions.join(",")),
        Unpinned::Hub { requirements, .. } => format!(
            "{}@{}",
            package.names()[0],
            requirements
                .iter()
                .flat_map(|requirement| requirement.versions.iter().cloned())
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.names()[0].clone(),
    };
    if let Some(found) = cache.get(&key) {
        return Ok(found.clone());
    }
    let origin = package.names()[0].clone();
    let fail = |error: FetchError| fetch_diagnostic(&origin, &error, file);
    let metadata = match package {
        Unpinned::Local { path } => {
            let folder = context.project_dir.join(path);
            let (name, packages) = read_project(&folder, &origin, context.render).map_err(|errors| {
                // A missing folder is the entry's to fix: point at its path.
                let text = std::fs::read_to_string(context.project_dir.join(&file.file)).unwrap_or_default();
                Diagnostics(
                    errors
                        .0
                        .into_iter()
                        .map(|error| error.or_at_text(&file.file, &text, path))
                        .collect(),
                )
            })?;
            Metadata {
                locked: Locked::Local {
                    path: path.clone(),
                    name: name.clone(),
                },
                name,
                packages,
                origin,
            }
        }
        Unpinned::Git {
            url,
            url_unrendered,
            revisions,
            warn_unpinned,
            subdirectory,
        } => {
            let mut requested: Vec<&String> = revisions.iter().collect();
            requested.sort();
            requested.dedup();
            let revision = match requested.as_slice() {
                [] => "HEAD".to_string(),
                [one] => (*one).clone(),
                _ => {
                    return Err(Diagnostic::error(format!(
                        "git package `{origin}` is asked for at several revisions: {}",
                        requested
                            .iter()
                            .map(|revision| format!("`{revision}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .in_file(&file.file)
                    .hint("ask for one revision of it everywhere")
                    .into())
                }
            };
            if matches!(revision.as_str(), "HEAD" | "main" | "master") && *warn_unpinned {
                context.progress.warning(
                    Diagnostic::warning(format!(
                        "the git package `{url}` is not pinned (revision `{revision}`): it can change under you"
                    ))
                    .in_file(&file.file)
                    .hint("add `revision:` with a tag or commit, or `warn-unpinned: false`"),
                );
            }
            let dirname = format!("git_{}", short_hash(&origin));
            let (path, sha) = fetch::git_checkout(context.downloads, &dirname, url, &revision, subdirectory.as_deref())
                .map_err(fail)?;
            let (name, packages) = read_project(&path, &origin, context.render)?;
            Metadata {
                locked: Locked::Git {
                    url: url_unrendered.clone(),
                    revision: sha,
                    subdirectory: subdirectory.clone(),
                    name: name.clone(),
                },
                name,
                packages,
                origin,
            }
        }
        Unpinned::Tarball {
            url,
            url_unrendered,
            name,
        } => {
            let folder = download_tarball(context.downloads, url, name).map_err(fail)?;
            let (_, packages) = read_project(&folder, &origin, context.render)?;
            Metadata {
                locked: Locked::Tarball {
                    url: url_unrendered.clone(),
                    name: name.clone(),
                },
                name: name.clone(),
                packages,
                origin,
            }
        }
        Unpinned::Hub {
            package: name,
            requirements,
            install_prerelease,
        } => {
            let pinned = hub::resolve(context.registry, name, requirements, *install_prerelease)
                .map_err(|error| hub_diagnostic(name, &error, file))?;
            let document = serde_json::json!({ "packages": pinned.packages });
            let packages = spec::parse("", "", &document, context.render)?;
            Metadata {
                locked: Locked::Hub {
                    package: name.clone(),
                    version: pinned.version.clone(),
                    name: pinned.name.clone(),
                },
                name: pinned.name,
                packages: (!packages.entries.is_empty()).then_some(packages),
                origin: format!("{name} {}", pinned.version),
            }
        }
    };
    cache.insert(key, metadata.clone());
    Ok(metadata)
}

fn short_hash(text: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A package folder's project name and its own packages file.
fn read_project(folder: &Path, origin: &str, render: Render) -> Result<(String, Option<PackagesFile>), Diagnostics> {
    let config = folder.join("dbt_project.yml");
    let config = if config.is_file() {
        config
    } else {
        folder.join("project.yml")
    };
    let source = std::fs::read_to_string(&config).map_err(|_| {
        Diagnostic::error(format!(
            "package `{origin}` has no `dbt_project.yml` at `{}`",
            folder.display()
        ))
        .hint("every package (and each package it lists) must be a dbt project with a `dbt_project.yml`")
    })?;
    let file = config.display().to_string();
    let document = crate::yaml::parse(&file, &source)?;
    let name = document
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Diagnostic::error(format!("package `{origin}` has no `name`")).in_file(&file))?
        .to_string();
    let packages = spec::read(folder, render)?;
    Ok((name, packages))
}

fn download_tarball(downloads: &Path, url: &str, name: &str) -> Result<PathBuf, FetchError> {
    let bytes = fetch::download(url)?;
    let destination = downloads.join(format!("{name}_untarred"));
    fetch::remove(&destination)?;
    fetch::untar(url, &bytes, &destination)
}

fn fetch_diagnostic(origin: &str, error: &FetchError, file: &PackagesFile) -> Diagnostics {
    let mut diagnostic = Diagnostic::error(format!("cannot fetch package `{origin}`: {error}")).in_file(&file.file);
    diagnostic = if error.is_network() {
        diagnostic.hint(format!(
            "`dvt deps` needs the network for `{origin}`: check the connection or proxy and run `dvt deps` again, or point packages.yml at a `local:` copy"
        ))
    } else {
        match error {
            FetchError::GitMissing { .. } => diagnostic.hint("install git and make sure `git` is on the PATH"),
            _ => diagnostic.hint("check the URL and revision in packages.yml, then run `dvt deps` again"),
        }
    };
    diagnostic.into()
}

fn hub_diagnostic(package: &str, error: &hub::HubError, file: &PackagesFile) -> Diagnostics {
    let message = match error {
        hub::HubError::Unreachable { .. } | hub::HubError::Malformed { .. } => {
            format!("cannot resolve package `{package}`: {error}")
        }
        _ => error.to_string(),
    };
    let diagnostic = Diagnostic::error(message).in_file(&file.file);
    match error {
        hub::HubError::Unreachable { .. } => diagnostic.hint(
            "`dvt deps` needs the network to resolve dbt Hub packages: check the connection or proxy (or set DBT_PACKAGE_HUB_URL) and run `dvt deps` again",
        ),
        hub::HubError::NotFound(_) => diagnostic.hint("check the spelling; Hub names are `namespace/name`, such as `dbt-labs/dbt_utils`"),
        hub::HubError::Conflict { .. } => diagnostic.hint("widen one of the ranges so that they overlap"),
        hub::HubError::NoMatch { .. } => diagnostic.hint("pick a range that includes a published version"),
        hub::HubError::Malformed { .. } => diagnostic,
    }
    .into()
}

/// Installs every locked package into `install_dir`, emptied first.
pub fn install(context: &Context, packages: &[Locked], install_dir: &Path) -> Result<(), Diagnostics> {
    let file = PackagesFile {
        file: lock::LOCK_FILE.to_string(),
        entries: Vec::new(),
    };
    fetch::remove(install_dir).map_err(|error| fetch_diagnostic("dbt_packages", &error, &file))?;
    std::fs::create_dir_all(install_dir)
        .map_err(|error| Diagnostic::error(format!("cannot create `{}`: {error}", install_dir.display())))?;
    for package in packages {
        let destination = install_dir.join(package.name());
        let render = |text: &str| (context.render)(lock::LOCK_FILE, text);
        let installed_from = match package {
            Locked::Local { path, .. } => {
                let source = context.project_dir.join(path);
                let source = source.canonicalize().map_err(|error| {
                    Diagnostic::error(format!("local package `{path}` cannot be read: {error}"))
                        .in_file(lock::LOCK_FILE)
                        .hint("check the `local:` path in packages.yml; it is relative to the project folder")
                })?;
                context.progress.info(&format!("Installing {path}"));
                fetch::symlink_dir(&source, &destination).map_err(|error| fetch_diagnostic(path, &error, &file))?;
                format!("<local @ {path}>")
            }
            Locked::Git {
                url,
                revision,
                subdirectory,
                name,
            } => {
                let url = render(url)?;
                context.progress.info(&format!("Installing {url}"));
                let (path, _) = fetch::git_checkout(
                    context.downloads,
                    &format!("install_{name}"),
                    &url,
                    revision,
                    subdirectory.as_deref(),
                )
                .map_err(|error| fetch_diagnostic(&url, &error, &file))?;
                fetch::move_dir(&path, &destination).map_err(|error| fetch_diagnostic(&url, &error, &file))?;
                format!("revision {revision}")
            }
            Locked::Tarball { url, name } => {
                let url = render(url)?;
                context.progress.info(&format!("Installing {name}"));
                let folder = download_tarball(context.downloads, &url, name)
                    .map_err(|error| fetch_diagnostic(&url, &error, &file))?;
                fetch::move_dir(&folder, &destination).map_err(|error| fetch_diagnostic(&url, &error, &file))?;
                format!("tarball (url: {url})")
            }
            Locked::Hub {
                package: hub_name,
                version,
                name,
            } => {
                context.progress.info(&format!("Installing {hub_name}"));
                let pinned = hub::pinned(context.registry, hub_name, version)
                    .map_err(|error| hub_diagnostic(hub_name, &error, &file))?;
                let folder = download_tarball(context.downloads, &pinned.tarball, name)
                    .map_err(|error| fetch_diagnostic(hub_name, &error, &file))?;
                fetch::move_dir(&folder, &destination).map_err(|error| fetch_diagnostic(hub_name, &error, &file))?;
                if pinned.latest != *version {
                    context
                        .progress
                        .info(&format!("  Updated version available: {}", pinned.latest));
                } else {
                    context.progress.info("  Up to date!");
                }
                format!("version {version}")
            }
        };
        context.progress.info(&format!("Installed from {installed_from}"));
    }
    Ok(())
}

/// The packages a project asks for that are not installed, by the name a macro
/// call would use, for the error at such a call.
pub fn missing(file: &PackagesFile, installed: &[String]) -> Vec<(String, Location)> {
    file.entries
        .iter()
        .map(|entry| (entry.likely_name(), Location::at(&file.file, entry.line, 1, 1)))
        .filter(|(name, _)| !installed.contains(name))
        .collect()
}
