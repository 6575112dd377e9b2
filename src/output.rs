//! Everything dvt prints: diagnostics, progress lines and summaries, as text or
//! as one JSON object per line (`--log-format json`).
//!
//! Results a command exists to show (such as `dvt ls`) go to stdout; progress and
//! diagnostics go to stderr. Text output is plain unless the terminal supports
//! colour and `NO_COLOR` is unset.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::cli::LogFormat;
use crate::diagnostic::{Diagnostic, Severity};

pub struct Printer {
    pub format: LogFormat,
    pub quiet: bool,
    pub warn_error: bool,
    colour: bool,
    lock: Mutex<()>,
}

impl Printer {
    pub fn new(format: LogFormat, quiet: bool, warn_error: bool) -> Self {
        let colour = format == LogFormat::Text
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            && std::io::stderr().is_terminal();
        Printer {
            format,
            quiet,
            warn_error,
            colour,
            lock: Mutex::new(()),
        }
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
            LogFormat::Json => {
                let location = diagnostic.location.as_ref();
                self.json(json!({
                    "level": if diagnostic.is_error() { "error" } else { "warn" },
                    "event": "diagnostic",
                    "msg": diagnostic.message,
                    "file": location.map(|location| location.file.clone()),
                    "line": location.map(|location| location.line).filter(|line| *line > 0),
                    "column": location.map(|location| location.column).filter(|column| *column > 0),
                    "hints": diagnostic.hints,
                    "notes": diagnostic.notes,
                }));
            }
        }
    }

    /// An informational line (suppressed by `--quiet`).
    pub fn info(&self, event: &str, message: &str) {
        if self.quiet {
            return;
        }
        match self.format {
            LogFormat::Text => self.err(message),
            LogFormat::Json => self.json(json!({"level": "info", "event": event, "msg": message})),
        }
    }

    /// An informational line with structured data for JSON logs.
    pub fn event(&self, event: &str, message: &str, data: Value) {
        if self.quiet && event != "summary" {
            return;
        }
        match self.format {
            LogFormat::Text => self.err(message),
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
