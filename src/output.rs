//! Everything dvt prints: diagnostics, progress lines and summaries, as text,
//! as one JSON object per line (`--log-format json`), or as text with GitHub
//! Actions annotations (`--log-format github`).
//!
//! Results a command exists to show (such as `dvt ls`) go to stdout; progress and
//! diagnostics go to stderr. Text output is plain unless the terminal supports
//! colour and `NO_COLOR` is unset.
//!
//! GitHub reads workflow commands such as `::error file=F,line=L::message`
//! from a step's output and shows each as an annotation on the line of the
//! pull request. Their paths must be relative to the repository, so a project
//! in a subfolder gets that folder as a prefix (see [`Printer::set_project_dir`]).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use crate::cli::LogFormat;
use crate::diagnostic::{Diagnostic, Location, Severity};

pub struct Printer {
    pub format: LogFormat,
    pub quiet: bool,
    pub warn_error: bool,
    colour: bool,
    lock: Mutex<()>,
    /// The project directory relative to the repository, with a trailing
    /// `/`, for annotation paths; empty at the root.
    annotation_prefix: OnceLock<String>,
    /// The progress bars on the terminal, once one is shown.
    bars: OnceLock<indicatif::MultiProgress>,
}

/// The format of the process's printer, for output that cannot reach it,
/// such as Jinja's `log()` (see [`template_log`]).
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// What a progress bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    Bytes,
    Messages,
    Rows,
}

impl Printer {
    /// A progress bar on stderr, of `total` units when known (else a
    /// counter), when stderr is a terminal and the text format is on; `None`
    /// otherwise, and the caller prints its progress lines instead, so
    /// `--log-format json` and logs are unchanged.
    pub fn progress_bar(
        &self,
        total: Option<u64>,
        unit: ProgressUnit,
        message: String,
    ) -> Option<indicatif::ProgressBar> {
        if self.quiet || self.format != LogFormat::Text || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return None;
        }
        let (count, rate) = match unit {
            ProgressUnit::Bytes => ("{bytes}/{total_bytes}", "{bytes_per_sec}"),
            // indicatif's `per_sec` shows fractions of a message; the count says enough.
            ProgressUnit::Messages => ("{human_pos}/{human_len} messages", ""),
            ProgressUnit::Rows => ("{human_pos}/{human_len} rows", ""),
        };
        let template = match total {
            Some(_) => format!("{{msg}} [{{bar:40}}] {count} {rate} eta {{eta}}"),
            None => format!(
                "{{spinner}} {{msg}} {} {rate}",
                count.split('/').next().unwrap_or_default()
            ),
        };
        let bar = total.map_or_else(indicatif::ProgressBar::new_spinner, indicatif::ProgressBar::new);
        let style = indicatif::ProgressStyle::with_template(&template)
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(message);
        // Bars of nodes running at once stack, with the lines printed above them.
        Some(self.bars.get_or_init(indicatif::MultiProgress::new).add(bar))
    }

    pub fn new(format: LogFormat, quiet: bool, warn_error: bool) -> Self {
        let colour = format == LogFormat::Text
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            && std::io::stderr().is_terminal();
        let _ = FORMAT.set(format);
        Printer {
            format,
            quiet,
            warn_error,
            colour,
            lock: Mutex::new(()),
            annotation_prefix: OnceLock::new(),
            bars: OnceLock::new(),
        }
    }

    /// Records where the project is, so that annotations name files relative
    /// to the repository: `$GITHUB_WORKSPACE`, or else the working directory.
    pub fn set_project_dir(&self, project_dir: &Path) {
        let root = std::env::var_os("GITHUB_WORKSPACE")
            .filter(|root| !root.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_dir().ok());
        let prefix = root
            .map(|root| annotation_prefix(&root, project_dir))
            .unwrap_or_default();
        let _ = self.annotation_prefix.set(prefix);
    }

    /// Prints a diagnostic. Under `--warn-error` a warning prints as an error.
    pub fn diagnostic(&self, diagnostic: &Diagnostic) {
        let mut diagnostic = diagnostic.clone();
        if self.warn_error && diagnostic.severity == Severity::Warning {
            diagnostic.severity = Severity::Error;
        }
        match self.format {
            LogFormat::Text => {
                let text = diagnostic.to_string();
                let text = if self.colour {
                    let (prefix, colour) = match diagnostic.severity {
                        Severity::Error => ("error:", "\x1b[1;31m"),
                        Severity::Warning => ("warning:", "\x1b[1;33m"),
                    };
                    text.replacen(prefix, &format!("{colour}{prefix}\x1b[0m"), 1)
                } else {
                    text
                };
                self.err(text.trim_end());
            }
            LogFormat::Github => {
                self.err(diagnostic.to_string().trim_end());
                self.annotate(
                    diagnostic.severity,
                    diagnostic.location.as_ref(),
                    &annotation_text(&diagnostic),
                );
            }
            LogFormat::Json => {
                let location = diagnostic.location.as_ref();
                self.json(json!({
                    "level": if diagnostic.is_error() { "error" } else { "warn" },
                    "event": "diagnostic",
                    "msg": diagnostic.message,
                    "file": location.map(|location| location.file.clone()),
                    "line": location.map(|location| location.line).filter(|line| *line > 0),
                    "column": location.map(|location| location.column).filter(|column| *column > 0),
                    "label": diagnostic.label,
                    "hints": diagnostic.hints,
                    "notes": diagnostic.notes,
                }));
            }
        }
    }

    /// Prints the diagnostic of a failed node. Its annotation points at the
    /// node's own file (`location`) when the diagnostic points elsewhere, such
    /// as at the compiled SQL under `target/`, which is not in the repository.
    pub fn node_diagnostic(&self, diagnostic: &Diagnostic, location: &Location) {
        let elsewhere = diagnostic.location.as_ref().is_none_or(|own| own.file != location.file);
        if self.format != LogFormat::Github || !elsewhere {
            self.diagnostic(diagnostic);
            return;
        }
        let mut diagnostic = diagnostic.clone();
        if self.warn_error && diagnostic.severity == Severity::Warning {
            diagnostic.severity = Severity::Error;
        }
        self.err(diagnostic.to_string().trim_end());
        self.annotate(diagnostic.severity, Some(location), &annotation_text(&diagnostic));
    }

    /// A GitHub Actions annotation, under `--log-format github` only; other
    /// formats print the same facts their own way.
    pub fn annotate(&self, severity: Severity, location: Option<&Location>, message: &str) {
        if self.format != LogFormat::Github {
            return;
        }
        let prefix = self.annotation_prefix.get().map_or("", String::as_str);
        self.err(&annotation(severity, location, prefix, message));
    }

    /// An informational line (suppressed by `--quiet`).
    pub fn info(&self, event: &str, message: &str) {
        if self.quiet {
            return;
        }
        match self.format {
            LogFormat::Text | LogFormat::Github => self.err(message),
            LogFormat::Json => self.json(json!({"level": "info", "event": event, "msg": message})),
        }
    }

    /// An informational line with structured data for JSON logs.
    pub fn event(&self, event: &str, message: &str, data: Value) {
        if self.quiet && event != "summary" {
            return;
        }
        match self.format {
            LogFormat::Text | LogFormat::Github => self.err(message),
            LogFormat::Json => {
                let mut object = json!({"level": "info", "event": event, "msg": message});
                if let (Some(target), Value::Object(extra)) = (object.as_object_mut(), data) {
                    target.extend(extra);
                }
                self.json(object);
            }
        }
    }

    /// A result line on stdout.
    pub fn result(&self, line: &str) {
        let _guard = self.lock.lock();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
    }

    pub fn colour(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn err(&self, text: &str) {
        let _guard = self.lock.lock();
        // Above the progress bars, when there are any.
        if let Some(bars) = self.bars.get() {
            if bars.println(text).is_ok() {
                return;
            }
        }
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    fn json(&self, mut value: Value) {
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "ts".into(),
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
        }
        self.err(&value.to_string());
    }
}

/// A message from a template (`log()`, `print()`, `exceptions.warn()`),
/// printed in the process's log format so that JSON logs stay one object per
/// line.
pub fn template_log(level: &str, message: &str) {
    let format = FORMAT.get().copied().unwrap_or(LogFormat::Text);
    let line = match format {
        LogFormat::Json => json!({
            "level": level,
            "event": "template_log",
            "msg": message,
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .to_string(),
        LogFormat::Github if level == "warn" => {
            format!(
                "warning: {message}\n{}",
                annotation(Severity::Warning, None, "", message)
            )
        }
        _ if level == "warn" => format!("warning: {message}"),
        _ => message.to_string(),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Jinja's `print()`: the text on stdout, as Python's `print` writes it in
/// dbt, whatever the log format.
pub fn template_print(message: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{message}");
}

/// The text of an annotation: the message, then the label, notes and hints
/// on lines of their own.
fn annotation_text(diagnostic: &Diagnostic) -> String {
    let mut text = diagnostic.message.clone();
    if let Some(label) = &diagnostic.label {
        text.push_str(&format!("\n{label}"));
    }
    for note in &diagnostic.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    for hint in &diagnostic.hints {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

/// `::error file=F,line=L,col=C,title=dvt::message`, or `::warning ...`,
/// with the parts a location lacks left out.
pub fn annotation(severity: Severity, location: Option<&Location>, prefix: &str, message: &str) -> String {
    let command = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let Some(location) = location {
        properties.push(format!(
            "file={}",
            escape_property(&format!("{prefix}{}", location.file))
        ));
        if location.line > 0 {
            properties.push(format!("line={}", location.line));
            if location.column > 0 {
                properties.push(format!("col={}", location.column));
            }
        }
    }
    properties.push("title=dvt".to_string());
    format!("::{command} {}::{}", properties.join(","), escape_data(message))
}

/// Escapes an annotation's message as GitHub's toolkit does: `%`, `\r`, `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (a file name, a title): as [`escape_data`], and
/// `:` and `,`, which would end the property.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The project directory relative to `root`, with forward slashes and a
/// trailing `/`; empty when it is `root` itself or outside it.
fn annotation_prefix(root: &Path, project_dir: &Path) -> String {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let (root, project_dir) = (canonical(root), canonical(project_dir));
    match project_dir.strip_prefix(&root) {
        Ok(relative) if !relative.as_os_str().is_empty() => {
            format!("{}/", relative.to_string_lossy().replace('\\', "/"))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_github_requires() {
        assert_eq!(escape_data("100% done\r\nnext: a, b"), "100%25 done%0D%0Anext: a, b");
        assert_eq!(escape_property("dir:a,b%\n"), "dir%3Aa%2Cb%25%0A");
        let location = Location::at("models/odd, name:1.sql", 7, 35, 4);
        assert_eq!(
            annotation(Severity::Error, Some(&location), "", "expected `)`, found: 50%\nhint: check it"),
            "::error file=models/odd%2C name%3A1.sql,line=7,col=35,title=dvt::expected `)`, found: 50%25%0Ahint: check it"
        );
    }

    #[test]
    fn annotations_leave_out_what_is_unknown() {
        assert_eq!(
            annotation(
                Severity::Warning,
                Some(&Location::file("models/a.sql")),
                "sub/",
                "careful"
            ),
            "::warning file=sub/models/a.sql,title=dvt::careful"
        );
        assert_eq!(
            annotation(Severity::Error, None, "", "no project"),
            "::error title=dvt::no project"
        );
    }

    #[test]
    fn a_project_in_a_subfolder_prefixes_annotation_paths() {
        let root = tempfile::tempdir().expect("a temp dir");
        let project = root.path().join("analytics");
        std::fs::create_dir_all(&project).expect("create the project dir");
        assert_eq!(annotation_prefix(root.path(), &project), "analytics/");
        assert_eq!(annotation_prefix(root.path(), root.path()), "");
        assert_eq!(annotation_prefix(&project, root.path()), "");
    }
}
