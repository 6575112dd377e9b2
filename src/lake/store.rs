//! The lake's connection: S3 settings from the profile target, turned into
//! an `object_store` client with retries and backoff.
//!
//! Settings are flat `s3_*` keys of the target, so that `env_var()` renders
//! them and the secret ones are redacted like a password:
//!
//! ```yaml
//! s3_endpoint: http://127.0.0.1:9000     # unset: AWS
//! s3_region: us-east-1
//! s3_bucket: lake                        # default bucket of exports
//! s3_path_style: true                    # MinIO and most self-hosted stores
//! s3_access_key_id: "{{ env_var('AWS_ACCESS_KEY_ID') }}"
//! s3_secret_access_key: "{{ env_var('AWS_SECRET_ACCESS_KEY') }}"
//! s3_session_token: ...                  # optional
//! s3_max_retries: 5                      # transient errors, with backoff
//! s3_retry_timeout_seconds: 120
//! ```
//!
//! A target may instead name a folder on this machine, `lake_path:
//! target/lake` (relative to the project), where each bucket is a folder
//! (`lake_bucket`, default `lake`): the same protocol, through
//! object_store's local store, with no server. The embedded default target
//! has one.
//!
//! Without keys in the profile, the standard AWS chain applies: the
//! `AWS_*` environment variables, then the shared credentials file
//! (`~/.aws/credentials`, `AWS_PROFILE`), then web identity, ECS and
//! instance metadata. Secret values never leave this module: not in
//! errors, not in `Debug`.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

use crate::diagnostic::Diagnostic;
use crate::profile::Target;

/// The S3 settings of a target.
#[derive(Clone)]
pub struct LakeSettings {
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: Option<String>,
    pub path_style: bool,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    pub max_retries: usize,
    pub retry_timeout: Duration,
    /// Where the settings came from, for errors.
    pub source: String,
    /// `lake_path`: the folder of a local lake, instead of S3.
    pub local_root: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for LakeSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LakeSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "****"))
            .field("local_root", &self.local_root)
            .finish_non_exhaustive()
    }
}

impl LakeSettings {
    /// The target's lake: its `lake_path`, or its `s3_*` settings, or
    /// `None` when it has neither.
    pub fn from_target(target: &Target) -> Result<Option<Self>, Diagnostic> {
        let text = |key: &str| target.string(key).filter(|value| !value.trim().is_empty());
        let s3 = target.fields.keys().any(|key| key.starts_with("s3_"));
        if let Some(path) = text("lake_path") {
            if s3 {
                return Err(Diagnostic::error(format!(
                    "target `{}` sets both `lake_path` and `s3_*` settings",
                    target.name
                ))
                .in_file(&target.source)
                .hint("keep `lake_path` for a lake on this machine, or the `s3_*` settings for S3, not both"));
            }
            return Ok(Some(Self::local(target, &path, text("lake_bucket"))));
        }
        if !s3 {
            return Ok(None);
        }
        target.check_secrets()?;
        let number = |key: &str, default: u64| -> Result<u64, Diagnostic> {
            match text(key) {
                None => Ok(default),
                Some(value) => value.parse().map_err(|_| {
                    Diagnostic::error(format!(
                        "`{key}` of target `{}` must be a number, got `{value}`",
                        target.name
                    ))
                    .in_file(&target.source)
                }),
            }
        };
        let path_style = match text("s3_path_style").as_deref() {
            None => false,
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(Diagnostic::error(format!(
                    "`s3_path_style` of target `{}` must be true or false, got `{other}`",
                    target.name
                ))
                .in_file(&target.source))
            }
        };
        Ok(Some(Self {
            endpoint: text("s3_endpoint").map(|endpoint| endpoint.trim_end_matches('/').to_string()),
            region: text("s3_region").unwrap_or_else(|| "us-east-1".into()),
            bucket: text("s3_bucket"),
            path_style,
            access_key_id: text("s3_access_key_id"),
            secret_access_key: text("s3_secret_access_key"),
            session_token: text("s3_session_token"),
            max_retries: usize::try_from(number("s3_max_retries", 5)?).unwrap_or(usize::MAX),
            retry_timeout: Duration::from_secs(number("s3_retry_timeout_seconds", 120)?),
            source: target.source.clone(),
            local_root: None,
        }))
    }

    /// A lake in a folder: `path` relative to the project, `bucket` (or `lake`) a folder in it.
    fn local(target: &Target, path: &str, bucket: Option<String>) -> Self {
        let root = std::path::Path::new(path);
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            target.project_dir.join(root)
        };
        Self {
            endpoint: None,
            region: String::new(),
            bucket: Some(bucket.unwrap_or_else(|| "lake".into())),
            path_style: false,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            max_retries: 0,
            retry_timeout: Duration::ZERO,
            source: target.source.clone(),
            local_root: Some(root),
        }
    }

    /// The error for a target with no lake, for a command that needs one.
    pub fn missing(target: &Target) -> Diagnostic {
        Diagnostic::error(format!("target `{}` has no lake: no `lake_path` and no `s3_*` settings", target.name))
            .in_file(&target.source)
            .hint("add `lake_path: target/lake` to the target for a lake on this machine, or `s3_endpoint`, `s3_bucket` and the credentials (README.md, \"Exports to the lake\")")
    }

    /// Where a path of a bucket is, as shown to users: `s3://bucket/path`,
    /// or for a local lake `file:///.../bucket/path`.
    pub fn url(&self, bucket: &str, path: &str) -> String {
        match &self.local_root {
            Some(root) => format!("file://{}", root.join(bucket).join(path).display()),
            None => format!("s3://{bucket}/{path}"),
        }
    }

    /// The endpoint as shown in messages: the configured one, or AWS, or
    /// the local lake's folder.
    pub fn endpoint_shown(&self) -> String {
        if let Some(root) = &self.local_root {
            return format!("the local lake `{}`", root.display());
        }
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS S3 ({})", self.region))
    }

    /// A client for one bucket.
    pub fn open(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, Diagnostic> {
        if let Some(root) = &self.local_root {
            let folder = root.join(bucket);
            let store = std::fs::create_dir_all(&folder)
                .map_err(|error| error.to_string())
                .and_then(|()| LocalFileSystem::new_with_prefix(&folder).map_err(|error| error.to_string()))
                .map_err(|error| {
                    Diagnostic::error(format!(
                        "cannot open the local lake folder `{}`: {error}",
                        folder.display()
                    ))
                    .in_file(&self.source)
                    .hint("check `lake_path` in the target, and that dvt can write there")
                })?;
            // Empty folders left by deleted files (the staging area) go too.
            return Ok(Arc::new(store.with_automatic_cleanup(true)));
        }
        // `from_env` reads the AWS_* variables: the standard chain, which
        // the profile's own keys override.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            .with_virtual_hosted_style_request(!self.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: self.max_retries,
                retry_timeout: self.retry_timeout,
            });
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let mut keys = (self.access_key_id.clone(), self.secret_access_key.clone());
        if keys.0.is_none() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            keys = shared_credentials().unwrap_or_default();
        }
        if let (Some(access_key_id), Some(secret_access_key)) = keys {
            builder = builder
                .with_access_key_id(access_key_id)
                .with_secret_access_key(secret_access_key);
            if let Some(token) = &self.session_token {
                builder = builder.with_token(token);
            }
        }
        let store = builder.build().map_err(|error| {
            Diagnostic::error(format!(
                "cannot open bucket `{bucket}` at {}: {error}",
                self.endpoint_shown()
            ))
            .in_file(&self.source)
            .hint("check the target's `s3_*` settings")
        })?;
        Ok(Arc::new(store))
    }
}

/// The keys of the `AWS_PROFILE` (or `default`) profile in the shared
/// credentials file, `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
fn shared_credentials() -> Option<(Option<String>, Option<String>)> {
    let path = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".aws/credentials"),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    parse_credentials(&text, &profile)
}

/// One profile's keys from an INI credentials file.
fn parse_credentials(text: &str, profile: &str) -> Option<(Option<String>, Option<String>)> {
    let mut in_profile = false;
    let mut keys = (None, None);
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            in_profile = section.trim() == profile;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_profile {
            continue;
        }
        match key.trim() {
            "aws_access_key_id" => keys.0 = Some(value.trim().to_string()),
            "aws_secret_access_key" => keys.1 = Some(value.trim().to_string()),
            _ => {}
        }
    }
    (keys.0.is_some() && keys.1.is_some()).then_some(keys)
}

/// An S3 error as one line a user can act on: what failed, where, and the
/// likely cause, without any credential.
pub fn describe_error(error: &object_store::Error, bucket: &str, settings: &LakeSettings) -> (String, String) {
    use object_store::Error;
    let endpoint = settings.endpoint_shown();
    let text = error.to_string();
    let hint = match error {
        Error::NotFound { .. } if text.contains("NoSuchBucket") || text.contains("bucket") => {
            format!("create bucket `{bucket}` at {endpoint}, or set `bucket` in the export config")
        }
        Error::PermissionDenied { .. } | Error::Unauthenticated { .. } => {
            "check `s3_access_key_id` and `s3_secret_access_key` in the target (or the AWS_* variables)".to_string()
        }
        _ if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") => {
            "check `s3_access_key_id` and `s3_secret_access_key` in the target (or the AWS_* variables)".to_string()
        }
        _ if text.contains("NoSuchBucket") => {
            format!("create bucket `{bucket}` at {endpoint}, or set `bucket` in the export config")
        }
        _ if text.contains("error sending request") || text.contains("Connection refused") => {
            format!("check that the S3 server at {endpoint} is running (`s3_endpoint` in the target)")
        }
        _ => format!("check the target's `s3_*` settings and that bucket `{bucket}` exists at {endpoint}"),
    };
    (
        format!("S3 bucket `{bucket}` at {endpoint}: {}", redact(&text, settings)),
        hint,
    )
}

/// The text with any configured secret cut out, in case a server echoes it.
fn redact(text: &str, settings: &LakeSettings) -> String {
    let mut text = text.to_string();
    for secret in [&settings.secret_access_key, &settings.session_token]
        .into_iter()
        .flatten()
    {
        if !secret.is_empty() {
            text = text.replace(secret.as_str(), "****");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_profiles() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[other]\naws_access_key_id=C\naws_secret_access_key=D\n";
        assert_eq!(
            parse_credentials(text, "default"),
            Some((Some("A".into()), Some("B".into())))
        );
        assert_eq!(
            parse_credentials(text, "other"),
            Some((Some("C".into()), Some("D".into())))
        );
        assert_eq!(parse_credentials(text, "missing"), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let settings = LakeSettings {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: None,
            path_style: true,
            access_key_id: Some("minioadmin".into()),
            secret_access_key: Some("very-secret-value".into()),
            session_token: None,
            max_retries: 1,
            retry_timeout: Duration::from_secs(1),
            source: "profiles.yml".into(),
            local_root: None,
        };
        assert!(!format!("{settings:?}").contains("very-secret-value"));
        assert_eq!(redact("denied for very-secret-value", &settings), "denied for ****");
    }
}
