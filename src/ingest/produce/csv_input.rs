//! CSV rows as JSON objects for `dvt produce --csv`: the header names the
//! fields; an empty field is null, `true`/`false` (any case) a boolean, a
//! field in JSON's number grammar a number with its digits kept as written,
//! and anything else a string. Numbers with a leading zero (`00501`) stay
//! strings, so that codes keep their zeros.
//!
//! A file is checked whole before the first message is sent, so a ragged
//! row or bad UTF-8 produces nothing and is reported with its line.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::record::{is_json_number, Record};
use crate::diagnostic::{did_you_mean, Diagnostic, Location};

/// A checked CSV file and the messages of its rows.
pub struct CsvInput {
    path: PathBuf,
    /// The path as printed in messages.
    display: String,
    headers: Vec<String>,
    rows: u64,
}

impl CsvInput {
    /// Reads `path` through once, checking that it has a header of unique
    /// names, that every row has as many fields, and that it is UTF-8; and
    /// that `key`, when given, is one of its columns.
    pub fn check(path: &Path, key: Option<&str>) -> Result<Self, Diagnostic> {
        let display = path.display().to_string();
        let mut reader = open(path, &display)?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|error| csv_error(&display, path, &error))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.is_empty() || headers.iter().all(String::is_empty) {
            return Err(Diagnostic::error(format!("`{display}` has no header row"))
                .in_file(&display)
                .hint("the first line of the file names the fields of each JSON message, e.g. `rental_id,amount`"));
        }
        for (index, name) in headers.iter().enumerate() {
            if name.is_empty() {
                return Err(header_error(
                    &display,
                    path,
                    format!("column {} of the header has no name", index + 1),
                ));
            }
            if headers[..index].contains(name) {
                return Err(header_error(&display, path, format!("the header names `{name}` twice")));
            }
        }
        if let Some(key) = key {
            if !headers.iter().any(|name| name == key) {
                let mut diagnostic = header_error(&display, path, format!("the key field `{key}` is not a column"));
                diagnostic = match did_you_mean(key, headers.iter().map(String::as_str)) {
                    Some(suggestion) => diagnostic.hint(format!("did you mean `--key {suggestion}`?")),
                    None => diagnostic.hint(format!("the columns are: {}", headers.join(", "))),
                };
                return Err(diagnostic);
            }
        }
        let mut record = csv::StringRecord::new();
        let mut rows = 0;
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => rows += 1,
                Ok(false) => break,
                Err(error) => return Err(csv_error(&display, path, &error)),
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            display,
            headers,
            rows,
        })
    }

    /// How many rows the file holds.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// The rows, from the first, each written into a record.
    pub fn rows_reader(&self) -> Result<CsvRows<'_>, Diagnostic> {
        let mut reader = open(&self.path, &self.display)?;
        // Skip the header, checked already.
        reader
            .headers()
            .map_err(|error| csv_error(&self.display, &self.path, &error))?;
        Ok(CsvRows {
            input: self,
            reader,
            row: csv::StringRecord::new(),
        })
    }
}

/// Reads the rows of a checked file.
pub struct CsvRows<'a> {
    input: &'a CsvInput,
    reader: csv::Reader<File>,
    row: csv::StringRecord,
}

impl CsvRows<'_> {
    /// Writes the next row into `record`; false at the end of the file.
    pub fn write_next(&mut self, record: &mut Record) -> Result<bool, Diagnostic> {
        let more = self
            .reader
            .read_record(&mut self.row)
            .map_err(|error| csv_error(&self.input.display, &self.input.path, &error))?;
        if !more {
            return Ok(false);
        }
        record.begin();
        for (name, field) in self.input.headers.iter().zip(self.row.iter()) {
            write_field(record, name, field);
        }
        record.end();
        Ok(true)
    }
}

/// One CSV field as a JSON value, typed as the module says.
fn write_field(record: &mut Record, name: &str, field: &str) {
    if field.is_empty() {
        record.null(name);
    } else if field.eq_ignore_ascii_case("true") {
        record.boolean(name, true);
    } else if field.eq_ignore_ascii_case("false") {
        record.boolean(name, false);
    } else if is_json_number(field) {
        record.number_text(name, field);
    } else {
        record.text(name, field);
    }
}

fn open(path: &Path, display: &str) -> Result<csv::Reader<File>, Diagnostic> {
    let file = File::open(path).map_err(|error| {
        Diagnostic::error(format!("cannot open the CSV file `{display}`: {error}"))
            .hint("pass `--csv FILE` with a path relative to the current directory, or an absolute one")
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(file))
}

/// A problem with the header, pointing at line 1.
fn header_error(display: &str, path: &Path, message: String) -> Diagnostic {
    Diagnostic::error(format!("`{display}`: {message}"))
        .at(Location::at(display, 1, 1, 0), first_lines(path, 1).as_deref())
}

/// The error of the csv reader, naming the line of the row.
fn csv_error(display: &str, path: &Path, error: &csv::Error) -> Diagnostic {
    let line = error.position().map_or(0, |position| position.line() as usize);
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "line {line} of `{display}` has {len} field{}, but the header has {expected_len}",
            if *len == 1 { "" } else { "s" }
        ),
        csv::ErrorKind::Utf8 { .. } => format!("line {line} of `{display}` is not valid UTF-8"),
        csv::ErrorKind::Io(io) => format!("cannot read `{display}`: {io}"),
        _ => format!("cannot read `{display}`: {error}"),
    };
    let diagnostic = Diagnostic::error(message);
    let diagnostic = if line > 0 {
        diagnostic.at(Location::at(display, line, 1, 0), first_lines(path, line).as_deref())
    } else {
        diagnostic.in_file(display)
    };
    match error.kind() {
        csv::ErrorKind::UnequalLengths { .. } => diagnostic.hint(
            "quote fields that contain the delimiter (`\"a, b\"`), and give every row as many fields as the header",
        ),
        _ => diagnostic,
    }
}

/// The first `lines` lines of the file, lossily decoded, to show the
/// offending one (`Diagnostic::at` picks it).
fn first_lines(path: &Path, lines: usize) -> Option<String> {
    use std::io::BufRead;
    let file = File::open(path).ok()?;
    let mut text = String::new();
    for line in std::io::BufReader::new(file).split(b'\n').take(lines) {
        let line = line.ok()?;
        text.push_str(String::from_utf8_lossy(&line).trim_end_matches('\r'));
        text.push('\n');
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("rows.csv");
        std::fs::write(&path, text).expect("write the CSV");
        (dir, path)
    }

    fn messages(input: &CsvInput, key: Option<&str>) -> Vec<(Option<String>, String)> {
        let mut rows = input.rows_reader().expect("open");
        let mut record = Record::new(key);
        let mut messages = Vec::new();
        while rows.write_next(&mut record).expect("a row") {
            messages.push((record.key().map(str::to_string), record.payload().to_string()));
        }
        messages
    }

    #[test]
    fn rows_become_typed_json_objects() {
        let (_dir, path) = write(
            b"id,amount,zip,note,active,when,score\n\
              1,4.99,00501,\"a, \"\"quoted\"\" note\",true,2005-05-24 22:53:30,-1.5e3\n\
              2,,0,,FALSE,,7\n",
        );
        let input = CsvInput::check(&path, Some("zip")).expect("a valid file");
        assert_eq!(input.rows(), 2);
        let messages = messages(&input, Some("zip"));
        assert_eq!(
            messages,
            vec![
                (
                    Some("00501".to_string()),
                    r#"{"id":1,"amount":4.99,"zip":"00501","note":"a, \"quoted\" note","active":true,"when":"2005-05-24 22:53:30","score":-1.5e3}"#
                        .to_string()
                ),
                (
                    Some("0".to_string()),
                    r#"{"id":2,"amount":null,"zip":0,"note":null,"active":false,"when":null,"score":7}"#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_ragged_row_is_reported_with_its_line_before_anything_is_sent() {
        let (_dir, path) = write(b"id,amount\n1,4.99\n2,0.99\n3\n4,2.99\n");
        let error = CsvInput::check(&path, None).err().expect("a ragged file fails");
        let text = error.to_string();
        assert!(text.contains("line 4 of `"), "{text}");
        assert!(text.contains("has 1 field, but the header has 2"), "{text}");
        assert!(text.contains("4 | 3\n"), "the row is shown: {text}");
        assert_eq!(error.location.as_ref().map(|location| location.line), Some(4));
    }

    #[test]
    fn bad_headers_keys_and_encodings_are_named() {
        let (_dir, path) = write(b"id,id\n1,2\n");
        let text = CsvInput::check(&path, None).err().expect("fails").to_string();
        assert!(text.contains("the header names `id` twice"), "{text}");

        let (_dir, path) = write(b"rental_id,amount\n1,2\n");
        let text = CsvInput::check(&path, Some("rentalid"))
            .err()
            .expect("fails")
            .to_string();
        assert!(text.contains("the key field `rentalid` is not a column"), "{text}");
        assert!(text.contains("did you mean `--key rental_id`?"), "{text}");

        let (_dir, path) = write(b"id,name\n1,ok\n2,\xff\xfe\n");
        let text = CsvInput::check(&path, None).err().expect("fails").to_string();
        assert!(
            text.contains("line 3 of `") && text.contains("is not valid UTF-8"),
            "{text}"
        );

        let (_dir, path) = write(b"");
        let text = CsvInput::check(&path, None).err().expect("fails").to_string();
        assert!(text.contains("has no header row"), "{text}");

        let missing = std::env::temp_dir().join("dvt-no-such-file.csv");
        let text = CsvInput::check(&missing, None).err().expect("fails").to_string();
        assert!(
            text.contains("cannot open the CSV file") && text.contains("dvt-no-such-file.csv"),
            "{text}"
        );
    }
}
