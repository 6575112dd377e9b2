//! User-facing diagnostics: one error or warning that names a file, a line and a
//! column, shows the source line with a caret under the problem, and may carry a
//! hint. Every phase converts its own typed errors into a [`Diagnostic`] at the
//! boundary, so that the CLI prints them all the same way.
//!
//! This module does not decide *what* is wrong; it only knows how to point at it.

use std::fmt;
use std::path::Path;

/// Where a problem is: a project-relative file, and optionally a 1-based line and
/// column with the length of the underlined span.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub length: usize,
}

impl Location {
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: 0,
            column: 0,
            length: 0,
        }
    }

    pub fn at(file: impl Into<String>, line: usize, column: usize, length: usize) -> Self {
        Location {
            file: file.into(),
            line,
            column,
            length,
        }
    }

    /// The location of byte `offset` in `source`, underlining `length` bytes.
    pub fn from_offset(file: impl Into<String>, source: &str, offset: usize, length: usize) -> Self {
        let (line, column) = line_column(source, offset);
        Location {
            file: file.into(),
            line,
            column,
            length,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(source: &str, mut offset: usize) -> usize {
    while offset > 0 && !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, ready to print. Boxed, so that `Result<_, Diagnostic>` stays
/// small; fields are reached through `Deref`.
#[derive(Debug, Clone)]
pub struct Diagnostic(Box<DiagnosticData>);

impl std::ops::Deref for Diagnostic {
    type Target = DiagnosticData;

    fn deref(&self) -> &DiagnosticData {
        &self.0
    }
}

impl std::ops::DerefMut for Diagnostic {
    fn deref_mut(&mut self) -> &mut DiagnosticData {
        &mut self.0
    }
}

#[derive(Debug, Clone)]
pub struct DiagnosticData {
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// The text of the offending line, captured when the diagnostic was made so
    /// that printing needs no file access.
    pub source_line: Option<String>,
    /// A short note printed after the caret.
    pub label: Option<String>,
    pub hints: Vec<String>,
    /// Further notes, such as the members of a cycle.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic(Box::new(DiagnosticData {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            source_line: None,
            label: None,
            hints: Vec::new(),
            notes: Vec::new(),
        }))
    }

    pub fn warning(message: impl Into<String>) -> Self {
        let mut diagnostic = Diagnostic::error(message);
        diagnostic.severity = Severity::Warning;
        diagnostic
    }

    /// Points at a location whose source text is `source` (the whole file).
    pub fn at(mut self, location: Location, source: Option<&str>) -> Self {
        if let Some(source) = source {
            if location.line > 0 {
                self.source_line = source.lines().nth(location.line - 1).map(str::to_owned);
            }
        }
        self.location = Some(location);
        self
    }

    /// Points at the key at `path` of the YAML text `source` (of `file`),
    /// or at its first line when the key is not there, so that the message
    /// always has a line to show.
    pub fn at_key(self, file: &str, source: &str, path: &[&str]) -> Self {
        let (line, column) = crate::yaml::key_position(source, path).unwrap_or((1, 1));
        let length = path.last().map_or(1, |key| key.chars().count());
        self.at(Location::at(file, line, column, length), Some(source))
    }

    /// A diagnostic that has no line yet pointed at the first `needle` in
    /// `source` (the text of `file`); one with a line keeps it.
    pub fn or_at_text(self, file: &str, source: &str, needle: &str) -> Self {
        if self.location.as_ref().is_some_and(|location| location.line > 0) {
            return self;
        }
        match crate::yaml::find_text_line(source, needle, 1) {
            Some((line, column)) => self.at(Location::at(file, line, column, needle.chars().count()), Some(source)),
            None => self,
        }
    }

    /// Points at a whole file, with no line.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.location = Some(Location::file(file));
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, or just the file, for one-line formats such as JSON
    /// logs and CI annotations.
    pub fn location_text(&self) -> Option<String> {
        self.location.as_ref().map(|location| {
            if location.line == 0 {
                location.file.clone()
            } else {
                format!("{}:{}:{}", location.file, location.line, location.column)
            }
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(formatter, "{kind}: {}", self.message)?;
        if let Some(location) = &self.location {
            let gutter_width = location.line.max(1).to_string().len();
            let pad = " ".repeat(gutter_width);
            if let Some(text) = self.location_text() {
                writeln!(formatter, "{pad}--> {text}")?;
            }
            if let (Some(line), true) = (&self.source_line, location.line > 0) {
                let line = line.replace('\t', "    ");
                writeln!(formatter, "{pad} |")?;
                writeln!(formatter, "{} | {}", location.line, line)?;
                let caret_start = location.column.saturating_sub(1);
                let available = line.chars().count().saturating_sub(caret_start).max(1);
                let carets = "^".repeat(location.length.clamp(1, available));
                let label = self
                    .label
                    .as_deref()
                    .map(|label| format!(" {label}"))
                    .unwrap_or_default();
                writeln!(formatter, "{pad} | {}{carets}{label}", " ".repeat(caret_start))?;
            } else if let Some(label) = &self.label {
                writeln!(formatter, "{pad} = {label}")?;
            }
        } else if let Some(label) = &self.label {
            writeln!(formatter, "  = {label}")?;
        }
        for note in &self.notes {
            writeln!(formatter, "note: {note}")?;
        }
        for hint in &self.hints {
            writeln!(formatter, "hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics found in one phase. Loading and rendering keep going after
/// the first problem so that a user sees every broken file at once.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(formatter)?;
            }
            write!(formatter, "{diagnostic}")?;
        }
        let errors = self.0.iter().filter(|diagnostic| diagnostic.is_error()).count();
        if errors > 1 {
            write!(formatter, "\n{errors} errors")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

/// The closest candidate to `name` by edit distance, when close enough to be a
/// likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score > 0.8
            && best.is_none_or(|(best_score, best_name)| {
                score > best_score || (score == best_score && candidate < best_name)
            })
        {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// A path shown to users: relative to the project directory, with forward slashes.
pub fn display_path(project_dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(project_dir).unwrap_or(path);
    relative.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let source = "select *\nfrom {{ ref('stg_rentals') }}\n";
        let offset = source.find("ref(").unwrap_or_default();
        let diagnostic = Diagnostic::error("model `fct_rental` refers to unknown model `stg_rentals`")
            .at(
                Location::from_offset("models/fct_rental.sql", source, offset, 18),
                Some(source),
            )
            .label("did you mean `stg_rental`?");
        insta::assert_snapshot!(diagnostic.to_string(), @r"
        error: model `fct_rental` refers to unknown model `stg_rentals`
         --> models/fct_rental.sql:2:9
          |
        2 | from {{ ref('stg_rentals') }}
          |         ^^^^^^^^^^^^^^^^^^ did you mean `stg_rental`?
        ");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_column("", 0), (1, 1));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("stg_rentals", ["stg_rental", "dim_film"]),
            Some("stg_rental")
        );
        assert_eq!(did_you_mean("zzz", ["stg_rental", "dim_film"]), None);
    }
}
