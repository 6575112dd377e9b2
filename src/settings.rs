//! Resolves flags, the project file and the environment into the values a
//! command runs with, and loads the project and its target. Commands call
//! [`Session::open`] and then chain the phases.

use std::path::PathBuf;

use serde_json::Map;

use crate::cli::{LogFormat, ProjectArgs};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::profile::{self, Target};
use crate::project::{self, Project};
use crate::render::jinja::{Globals, Jinja};
use crate::render::Options;

/// A loaded project with its target and invocation settings.
pub struct Session {
    pub project: Project,
    pub target: Target,
    pub options: Options,
}

impl Session {
    /// Loads the project and resolves its target. `command` is the name of the
    /// command (for `flags.WHICH`).
    pub fn open(args: &ProjectArgs, command: &str, full_refresh: bool) -> Result<Session, Diagnostics> {
        let project_dir = absolute(&args.project_dir);
        let cli_vars = parse_vars(args.vars.as_deref())?;
        let invocation_id = uuid::Uuid::new_v4().to_string();
        let run_started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

        // Config files may use env_var() and var(); a minimal environment renders them.
        let config_renderer = config_renderer(&cli_vars);
        let render = |file: &str, text: &str| -> Result<String, Diagnostic> {
            config_renderer
                .render_str(text, minijinja::Value::from(()))
                .map_err(|error| {
                    let detail = error.detail().map(str::to_owned).unwrap_or_else(|| error.to_string());
                    Diagnostic::error(format!("cannot render `{}`: {detail}", redact_template(text))).in_file(file)
                })
        };
        let mut project = project::load(&project_dir, &render)?;
        project::load_packages(&mut project, &render)?;
        let profile_name = args
            .profile
            .clone()
            .or_else(|| project.profile.clone())
            .unwrap_or_else(|| project.name.clone());
        let target = profile::load(
            args.profiles_dir.as_deref(),
            &project_dir,
            &profile_name,
            args.target.as_deref(),
            &render,
        )?;
        let options = Options {
            cli_vars,
            full_refresh,
            command: command.to_string(),
            invocation_id,
            run_started_at,
            compile: false,
        };
        Ok(Session {
            project,
            target,
            options,
        })
    }
}

/// The log format: `--log-format` (or `DVT_LOG_FORMAT`), else `github` when
/// running in GitHub Actions, which sets `GITHUB_ACTIONS=true`, else text.
pub fn log_format(flag: Option<LogFormat>) -> LogFormat {
    choose_log_format(flag, std::env::var("GITHUB_ACTIONS").ok().as_deref())
}

fn choose_log_format(flag: Option<LogFormat>, github_actions: Option<&str>) -> LogFormat {
    match (flag, github_actions) {
        (Some(format), _) => format,
        (None, Some("true")) => LogFormat::Github,
        (None, _) => LogFormat::Text,
    }
}

/// Resolves a possibly relative directory against the working directory.
pub fn absolute(path: &std::path::Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|current| current.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    // Drop `.` components so that paths shown to users read cleanly.
    joined
        .components()
        .filter(|component| !matches!(component, std::path::Component::CurDir))
        .collect()
}

pub fn parse_vars(text: Option<&str>) -> Result<Map<String, serde_json::Value>, Diagnostic> {
    let Some(text) = text else { return Ok(Map::new()) };
    match crate::yaml::parse("--vars", text)? {
        serde_json::Value::Object(vars) => Ok(vars),
        serde_json::Value::Null => Ok(Map::new()),
        _ => Err(Diagnostic::error("`--vars` must be a YAML mapping").hint("write `--vars '{name: value, other: 2}'`")),
    }
}

/// An environment with `env_var()` and `var()` for the project and profile files.
pub fn config_renderer(cli_vars: &Map<String, serde_json::Value>) -> minijinja::Environment<'static> {
    let globals = Globals {
        project_name: String::new(),
        target: serde_json::Value::Null,
        adapter_type: String::new(),
        vars: Map::new(),
        cli_vars: cli_vars.clone(),
        docs: Default::default(),
        invocation_id: String::new(),
        run_started_at: String::new(),
        full_refresh: false,
        command: String::new(),
    };
    match Jinja::new(globals, &[]) {
        Ok(jinja) => jinja.env,
        Err(_) => minijinja::Environment::new(),
    }
}

/// A template shown in an error, with literal arguments of `env_var()` defaults
/// hidden: they may be secrets.
pub fn redact_template(text: &str) -> String {
    if text.contains("env_var") && text.contains(',') {
        let name_end = text.find(',').unwrap_or(text.len());
        format!("{}, ****) }}}}", &text[..name_end])
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_actions_turns_on_annotations_unless_a_format_is_given() {
        assert_eq!(choose_log_format(None, Some("true")), LogFormat::Github);
        assert_eq!(choose_log_format(None, Some("false")), LogFormat::Text);
        assert_eq!(choose_log_format(None, None), LogFormat::Text);
        assert_eq!(choose_log_format(Some(LogFormat::Json), Some("true")), LogFormat::Json);
        assert_eq!(choose_log_format(Some(LogFormat::Text), Some("true")), LogFormat::Text);
    }
}
