//! Resolves flags, the project file, the profile and the environment into
//! the typed [`Settings`] a command runs with, once, before any phase runs.
//! Commands call [`Settings::resolve`] and hand the result to
//! [`crate::pipeline::prepare`].
//!
//! What the command line asked for is an [`Invocation`]: it is what
//! `run_results.json` records under `args`, and what `dvt retry` reads back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::cli::{ExecArgs, LogFormat, ProjectArgs, SelectArgs};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::Selection;
use crate::profile::{self, Target};
use crate::project::{self, Project};
use crate::render::jinja::{Globals, Jinja};
use crate::render::Options;

/// The flags of one invocation, in the order `run_results.json` records
/// them under `args`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Invocation {
    /// The command (`flags.WHICH`).
    pub which: String,
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub full_refresh: bool,
    /// `--threads`, when given.
    pub threads: Option<usize>,
    pub fail_fast: bool,
    pub store_failures: bool,
    pub state: Option<PathBuf>,
    pub defer: bool,
    /// `--vars`, as written.
    pub vars: Option<String>,
    pub target: Option<String>,
    pub profile: Option<String>,
    /// `--empty`.
    pub empty: bool,
    /// `--selector`.
    #[serde(default)]
    pub selector: Option<String>,
    /// `--event-time-start` and `--event-time-end`, as dbt records them
    /// (`2024-01-01T00:00:00`).
    #[serde(default)]
    pub event_time_start: Option<String>,
    #[serde(default)]
    pub event_time_end: Option<String>,
}

impl Default for Invocation {
    fn default() -> Self {
        Self {
            which: "build".into(),
            select: Vec::new(),
            exclude: Vec::new(),
            full_refresh: false,
            threads: None,
            fail_fast: false,
            store_failures: false,
            state: None,
            defer: false,
            vars: None,
            target: None,
            profile: None,
            empty: false,
            selector: None,
            event_time_start: None,
            event_time_end: None,
        }
    }
}

impl Invocation {
    /// A command that takes the project flags only.
    pub fn new(which: &str, project: &ProjectArgs) -> Self {
        Self {
            which: which.to_string(),
            vars: project.vars.clone(),
            target: project.target.clone(),
            profile: project.profile.clone(),
            ..Self::default()
        }
    }

    /// A command that also selects nodes.
    pub fn selecting(which: &str, project: &ProjectArgs, selection: &SelectArgs) -> Self {
        Self {
            select: selection.select.clone(),
            exclude: selection.exclude.clone(),
            state: selection.state.clone(),
            selector: selection.selector.clone(),
            ..Self::new(which, project)
        }
    }

    /// `seed`, `run`, `test`, `build` and `export`.
    pub fn executing(which: &str, args: &ExecArgs) -> Self {
        Self {
            full_refresh: args.full_refresh,
            threads: args.threads,
            fail_fast: args.fail_fast,
            store_failures: args.store_failures,
            defer: args.defer,
            empty: args.empty,
            event_time_start: args.event_time_start.clone(),
            event_time_end: args.event_time_end.clone(),
            ..Self::selecting(which, &args.project, &args.selection)
        }
    }

    /// The selectors and `--state` of this invocation.
    pub fn selection(&self) -> Selection {
        Selection {
            select: self.select.clone(),
            exclude: self.exclude.clone(),
            state: self.state.clone(),
            selector: None,
        }
    }
}

/// What `dvt retry` runs again: the nodes that failed or were skipped, and
/// every node the last run had, for `--defer`.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    pub again: BTreeSet<String>,
    pub built_before: BTreeSet<String>,
}

/// Everything a command runs with, resolved and validated once: the loaded
/// project and target, the selection, threads and the run flags.
pub struct Settings {
    pub session: Session,
    /// The flags, as `run_results.json` records them.
    pub invocation: Invocation,
    pub selection: Selection,
    /// `--threads`, else (for `dvt retry`) the last run's, else the target's.
    pub threads: usize,
    pub full_refresh: bool,
    pub defer: bool,
    pub fail_fast: bool,
    pub store_failures: bool,
    /// For `dvt retry`: the nodes to run instead of a selection.
    pub retry: Option<Retry>,
    /// What bounds microbatch models' batches.
    pub microbatch: crate::microbatch::Window,
}

impl Settings {
    /// Loads the project and its target for `invocation`, and resolves the
    /// rest. `threads` is the `--threads` flag; `invocation.threads` is the
    /// recorded value (the last run's, for a retry), used when the flag is
    /// absent, and the target's `threads` after that.
    pub fn resolve(
        project: &ProjectArgs,
        mut invocation: Invocation,
        threads: Option<usize>,
    ) -> Result<Settings, Diagnostics> {
        let mut session = Session::open(project, &invocation.which, invocation.full_refresh)?;
        // What templates see of the flags (`flags.STORE_FAILURES`, `should_store_failures()`).
        session.options.store_failures = invocation.store_failures;
        session.options.fail_fast = invocation.fail_fast;
        session.options.empty = invocation.empty;
        let threads = threads.or(invocation.threads).unwrap_or(session.target.threads);
        let mut microbatch = event_time_window(&mut invocation)?;
        microbatch.started_at = chrono::DateTime::parse_from_rfc3339(&session.options.run_started_at)
            .ok()
            .map(|time| time.with_timezone(&chrono::Utc));
        let mut selection = invocation.selection();
        selection.selector = yaml_selector(&session.project.dir, &invocation)?;
        Ok(Settings {
            microbatch,
            selection,
            threads,
            full_refresh: invocation.full_refresh,
            defer: invocation.defer,
            fail_fast: invocation.fail_fast,
            store_failures: invocation.store_failures,
            retry: None,
            session,
            invocation,
        })
    }
}

/// The YAML selector a command runs with, as dbt chooses it: `--selector`
/// (over --select and --exclude), else with neither of those the selector
/// of `selectors.yml` that is `default: true`.
fn yaml_selector(project_dir: &Path, invocation: &Invocation) -> Result<Option<crate::select::Expr>, Diagnostics> {
    let selecting = !invocation.select.is_empty() || !invocation.exclude.is_empty();
    if invocation.selector.is_none() && selecting {
        return Ok(None);
    }
    let selectors = crate::selectors::Selectors::load(project_dir)?;
    let name = match (&invocation.selector, &selectors.default) {
        (Some(name), _) => name,
        (None, Some(default)) if !matches!(invocation.which.as_str(), "retry" | "run-operation" | "debug") => default,
        _ => return Ok(None),
    };
    Ok(Some(selectors.expression(name)?))
}

/// `--event-time-start` and `--event-time-end`, checked as dbt checks them
/// (both or neither, start before end) and recorded in `invocation` as dbt
/// writes them.
fn event_time_window(invocation: &mut Invocation) -> Result<crate::microbatch::Window, Diagnostics> {
    let parse = |flag: &str, text: &Option<String>| -> Result<Option<chrono::DateTime<chrono::Utc>>, Diagnostic> {
        let Some(text) = text else { return Ok(None) };
        crate::microbatch::batch::parse_time(text).map(Some).ok_or_else(|| {
            Diagnostic::error(format!("`--{flag} {text}` is not a date or datetime"))
                .hint("write `2024-01-01`, `2024-01-01T06:00:00` or `2024-01-01 06:00:00`")
        })
    };
    let start = parse("event-time-start", &invocation.event_time_start)?;
    let end = parse("event-time-end", &invocation.event_time_end)?;
    let problem = match (start, end) {
        (Some(_), None) => Some("The flag `--event-time-start` was specified, but `--event-time-end` was not. When specifying `--event-time-start`, `--event-time-end` must also be present."),
        (None, Some(_)) => Some("The flag `--event-time-end` was specified, but `--event-time-start` was not. When specifying `--event-time-end`, `--event-time-start` must also be present."),
        (Some(start), Some(end)) if start >= end => Some("Value for `--event-time-start` must be less than `--event-time-end`"),
        _ => None,
    };
    if let Some(problem) = problem {
        return Err(Diagnostic::error(problem).into());
    }
    let recorded = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%dT%H:%M:%S").to_string();
    invocation.event_time_start = start.map(recorded);
    invocation.event_time_end = end.map(recorded);
    Ok(crate::microbatch::Window {
        start,
        end,
        ..Default::default()
    })
}

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

        // The profile is rendered with env_var() and var(); the project file
        // also sees its target, as in dbt (`+schema: "{{ target.name }}_mart"`),
        // so the profile is loaded first, named by the project file's raw
        // `profile` (or `name`) key.
        let profile_renderer = config_renderer(&cli_vars, serde_json::Value::Null);
        let render_profile = |file: &str, text: &str| render_config(&profile_renderer, file, text);
        let profile_name = match args
            .profile
            .clone()
            .or_else(|| project::peek_profile_name(&project_dir))
        {
            Some(name) => name,
            None => {
                let project = project::load(&project_dir, &render_profile)?;
                project.profile.clone().unwrap_or_else(|| project.name.clone())
            }
        };
        let target = profile::load(
            args.profiles_dir.as_deref(),
            &project_dir,
            &profile_name,
            args.target.as_deref(),
            &render_profile,
        )?;
        let project_renderer = config_renderer(&cli_vars, target.context());
        let render_project = |file: &str, text: &str| render_config(&project_renderer, file, text);
        let mut project = project::load(&project_dir, &render_project)?;
        project::load_packages(&mut project, &render_project)?;
        let options = Options {
            cli_vars,
            full_refresh,
            command: command.to_string(),
            invocation_id,
            run_started_at,
            compile: false,
            store_failures: false,
            fail_fast: false,
            empty: false,
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

/// Renders one string of the project or profile file.
fn render_config(renderer: &minijinja::Environment<'static>, file: &str, text: &str) -> Result<String, Diagnostic> {
    renderer.render_str(text, minijinja::Value::from(())).map_err(|error| {
        let detail = error.detail().map(str::to_owned).unwrap_or_else(|| error.to_string());
        Diagnostic::error(format!("cannot render `{}`: {detail}", redact_template(text))).in_file(file)
    })
}

/// An environment with `env_var()`, `var()` and `target` for the project and
/// profile files.
pub fn config_renderer(
    cli_vars: &Map<String, serde_json::Value>,
    target: serde_json::Value,
) -> minijinja::Environment<'static> {
    let globals = Globals {
        project_name: String::new(),
        target,
        adapter_type: String::new(),
        vars: Map::new(),
        cli_vars: cli_vars.clone(),
        docs: Default::default(),
        invocation_id: String::new(),
        run_started_at: String::new(),
        full_refresh: false,
        store_failures: false,
        fail_fast: false,
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
