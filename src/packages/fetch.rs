//! Getting a package's files: a `git` checkout with the `git` command line as
//! dbt runs it, a tarball downloaded (http, https or file URLs) and unpacked, and
//! HTTP GETs for dbt Hub's API.
//!
//! It owns the network and the subprocesses; it knows nothing of lock files or
//! version ranges. Every error says what was being fetched and what to do.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fetch that failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot run `git` for `{url}`: {source}")]
    GitMissing {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {command}` failed for `{url}`: {stderr}")]
    Git {
        url: String,
        command: String,
        stderr: String,
    },
    #[error("cannot download `{url}`: {detail}")]
    Download { url: String, detail: String },
    #[error("cannot unpack `{url}`: {detail}")]
    Unpack { url: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether the failure looks like no network (or no such host), for a hint
    /// that says so.
    pub fn is_network(&self) -> bool {
        match self {
            FetchError::Download { detail, .. } => {
                let detail = detail.to_lowercase();
                ["connect", "dns", "resolve", "timed out", "network", "unreachable"]
                    .iter()
                    .any(|word| detail.contains(word))
            }
            FetchError::Git { stderr, .. } => {
                let stderr = stderr.to_lowercase();
                [
                    "could not resolve host",
                    "unable to access",
                    "connection",
                    "network is unreachable",
                ]
                .iter()
                .any(|word| stderr.contains(word))
            }
            _ => false,
        }
    }
}

pub fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn git(cwd: &Path, url: &str, arguments: &[&str]) -> Result<String, FetchError> {
    let output = Command::new("git")
        .args(arguments)
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|source| FetchError::GitMissing {
            url: url.to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(FetchError::Git {
            url: url.to_string(),
            command: arguments.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .chars()
            .all(|character| matches!(character, '0'..='9' | 'a'..='f'))
}

/// A shallow clone of `url` at `revision` into `downloads/<dirname>`, as dbt's
/// `clone_and_checkout` does it (a sparse checkout of `subdirectory` when one is
/// given). Returns the checkout's path (the subdirectory when given) and the
/// commit it is at.
pub fn git_checkout(
    downloads: &Path,
    dirname: &str,
    url: &str,
    revision: &str,
    subdirectory: Option<&str>,
) -> Result<(PathBuf, String), FetchError> {
    let checkout = downloads.join(dirname);
    if checkout.exists() {
        std::fs::remove_dir_all(&checkout).map_err(io_error(&checkout))?;
    }
    let mut clone = vec!["clone", "--depth", "1"];
    if subdirectory.is_some() {
        clone.extend(["--filter=blob:none", "--sparse"]);
    }
    if revision != "HEAD" && !is_commit(revision) {
        clone.extend(["--branch", revision]);
    }
    clone.extend([url, dirname]);
    git(downloads, url, &clone)?;
    if let Some(subdirectory) = subdirectory {
        git(&checkout, url, &["sparse-checkout", "set", subdirectory])?;
    }
    if revision != "HEAD" {
        if is_commit(revision) {
            git(&checkout, url, &["fetch", "origin", "--depth", "1", revision])?;
            git(&checkout, url, &["reset", "--hard", revision])?;
        } else {
            let tags = git(&checkout, url, &["tag", "--list"])?;
            let spec = if tags.lines().any(|tag| tag == revision) {
                format!("tags/{revision}")
            } else {
                format!("origin/{revision}")
            };
            git(&checkout, url, &["reset", "--hard", &spec])?;
        }
    }
    let sha = git(&checkout, url, &["rev-parse", "HEAD"])?;
    let path = match subdirectory {
        Some(subdirectory) => checkout.join(subdirectory),
        None => checkout,
    };
    Ok((path, sha))
}

/// The bytes at `url`: `file://` URLs and plain paths are read from disk,
/// `http(s)://` fetched, with a few retries as dbt makes.
pub fn download(url: &str) -> Result<Vec<u8>, FetchError> {
    if let Some(path) = url.strip_prefix("file://") {
        let path = Path::new(path);
        return std::fs::read(path).map_err(|error| FetchError::Download {
            url: url.to_string(),
            detail: error.to_string(),
        });
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(FetchError::Download {
            url: url.to_string(),
            detail: "only http://, https:// and file:// URLs are supported".into(),
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| FetchError::Download {
            url: url.to_string(),
            detail: error.to_string(),
        })?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|error| FetchError::Download {
                url: url.to_string(),
                detail: error.to_string(),
            })?;
        let mut last_error = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            match client.get(url).send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => return Ok(bytes.to_vec()),
                    Err(error) => last_error = error_chain(&error),
                },
                // A status is an answer: retrying it will not help.
                Ok(response) => {
                    return Err(FetchError::Download {
                        url: url.to_string(),
                        detail: format!("the server answered {}", response.status()),
                    })
                }
                Err(error) => last_error = error_chain(&error),
            }
        }
        Err(FetchError::Download {
            url: url.to_string(),
            detail: last_error,
        })
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Unpacks a `.tar.gz` into `destination`, which must not exist yet, and
/// returns its one top-level folder, as dbt requires a package tarball to have.
pub fn untar(url: &str, bytes: &[u8], destination: &Path) -> Result<PathBuf, FetchError> {
    let unpack_error = |detail: String| FetchError::Unpack {
        url: url.to_string(),
        detail,
    };
    std::fs::create_dir_all(destination).map_err(io_error(destination))?;
    let decoder = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(decoder);
    archive
        .unpack(destination)
        .map_err(|error| unpack_error(error.to_string()))?;
    let entries: Vec<PathBuf> = std::fs::read_dir(destination)
        .map_err(io_error(destination))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    match entries.as_slice() {
        [single] if single.is_dir() => Ok(single.clone()),
        _ => Err(unpack_error(
            "a package tarball must hold exactly one folder, with the package's files inside it".into(),
        )),
    }
}

/// Moves `from` to `to`, copying when they are on different file systems.
pub fn move_dir(from: &Path, to: &Path) -> Result<(), FetchError> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to)?;
    std::fs::remove_dir_all(from).map_err(io_error(from))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), FetchError> {
    std::fs::create_dir_all(to).map_err(io_error(to))?;
    for entry in std::fs::read_dir(from).map_err(io_error(from))? {
        let entry = entry.map_err(io_error(from))?;
        let target = to.join(entry.file_name());
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        if file_type.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(io_error(&target))?;
        }
    }
    Ok(())
}

/// Removes a file, a symlink or a folder at `path`, if there is one.
pub fn remove(path: &Path) -> Result<(), FetchError> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path).map_err(io_error(path)),
        Ok(_) => std::fs::remove_file(path).map_err(io_error(path)),
        Err(_) => Ok(()),
    }
}

/// Links `link` to the folder `target`, as dbt installs a `local:` package;
/// where symlinks are not available, copies it.
pub fn symlink_dir(target: &Path, link: &Path) -> Result<(), FetchError> {
    #[cfg(unix)]
    {
        if std::os::unix::fs::symlink(target, link).is_ok() {
            return Ok(());
        }
    }
    copy_dir(target, link)
}
