//! The CSV side of `dvt seed`: reading a seed file, inferring a PostgreSQL
//! type for every column, validating user type overrides, and re-encoding the
//! rows for `COPY <table> (<columns>) FROM STDIN (FORMAT csv)`.
//!
//! Loading a seed takes two streaming passes over the file, so memory stays
//! flat however large the seed is:
//!
//! 1. [`prepare`] reads every row, checks its shape and encoding, infers the
//!    column types and validates every value against a `column_types`
//!    override. A seed that passes `prepare` cannot make the `COPY` fail half
//!    way because of a value dvt could have checked up front.
//! 2. [`encode_copy_csv`] reads the file again and hands the rows to a sink as
//!    PostgreSQL-ready CSV chunks.
//!
//! Inference rules, in the order they are tried for each column (the first
//! type that fits every non-null value wins): `integer`, `bigint`, `numeric`,
//! `boolean`, `date`, `timestamp`, `timestamptz`, `text`. Empty fields are
//! NULL and take no part in inference. Unlike dbt, dvt keeps a column as
//! `text` when a value would not survive the trip into a number unchanged:
//! a leading zero (`02134`), a leading `+` (`+4420...`), `NaN` or `inf`.
//! `0`/`1` are numbers, not booleans. Naive timestamps mixed with offset
//! timestamps make a column `text`, because reading the naive ones in the
//! session time zone would silently guess.
//!
//! This module owns no SQL and no connection: creating the table and running
//! the `COPY` belong to the adapter.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::NaiveDate;
use csv::ByteRecord;

/// The size of the chunks [`encode_copy_csv`] passes to its sink.
const CHUNK_SIZE: usize = 1024 * 1024;

/// The read buffer of the CSV reader; large enough to keep system calls rare.
const READ_BUFFER_SIZE: usize = 256 * 1024;

/// Values longer than this are shortened in error messages.
const MAX_DISPLAYED_VALUE_CHARS: usize = 60;

/// The longest field dbt's CSV reader takes: Python's `csv.field_size_limit()`,
/// in characters (dbt 1.10: "CSV contains a field longer than the maximum
/// length of 131072 characters").
pub const MAX_FIELD_CHARS: usize = 131_072;

/// PostgreSQL rejects a numeric exponent beyond this (`NUMERIC_MAX_PRECISION`).
const MAX_NUMERIC_EXPONENT: i64 = 1000;

/// How a seed file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOptions {
    /// The field delimiter of the input file.
    pub delimiter: u8,
    /// User overrides: column name (matched case-insensitively) to SQL type
    /// text, such as `varchar(10)`, `numeric(10,2)` or `text`.
    pub column_types: BTreeMap<String, String>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            column_types: BTreeMap::new(),
        }
    }
}

/// The type dvt infers for a column from its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InferredType {
    Integer,
    BigInt,
    Numeric,
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    Text,
}

impl InferredType {
    /// The PostgreSQL type name used in `create table`.
    pub fn postgres_type(&self) -> &'static str {
        match self {
            InferredType::Integer => "integer",
            InferredType::BigInt => "bigint",
            // dbt-postgres loads a number with decimals as `float8`
            // (`convert_number_type`), so the same seed gives the same table.
            InferredType::Numeric => "double precision",
            InferredType::Boolean => "boolean",
            InferredType::Date => "date",
            InferredType::Timestamp => "timestamp without time zone",
            InferredType::TimestampTz => "timestamp with time zone",
            InferredType::Text => "text",
        }
    }

    /// The narrowest type that holds values of both types.
    fn widen(self, other: InferredType) -> InferredType {
        use InferredType::{BigInt, Date, Integer, Numeric, Text, Timestamp};
        match (self, other) {
            _ if self == other => self,
            (Integer | BigInt | Numeric, Integer | BigInt | Numeric) => self.max(other),
            (Date | Timestamp, Date | Timestamp) => Timestamp,
            _ => Text,
        }
    }
}

impl fmt::Display for InferredType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.postgres_type())
    }
}

/// One column of a prepared seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedColumn {
    /// The header name, with surrounding whitespace removed.
    pub name: String,
    /// The `column_types` override, as written, if there is one.
    pub column_type: Option<String>,
    /// What the values alone suggest, even when an override applies.
    pub inferred: InferredType,
}

impl SeedColumn {
    /// The SQL type for `create table`: the override if there is one,
    /// otherwise the inferred type as `spell` names it in the warehouse's
    /// dialect (such as `Adapter::seed_type`).
    pub fn data_type(&self, spell: impl Fn(InferredType) -> &'static str) -> String {
        self.column_type
            .clone()
            .unwrap_or_else(|| spell(self.inferred).to_string())
    }
}

/// The result of the validating first pass over a seed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSeed {
    pub columns: Vec<SeedColumn>,
    /// Data rows, not counting the header.
    pub row_count: u64,
    /// Bytes in the file; the total that `progress` counts up to.
    pub byte_len: u64,
    /// What dbt accepts in silence or with a warning of agate's, and dvt
    /// loads as dbt does, but says.
    pub warnings: Vec<SeedWarning>,
}

/// Something in a seed file that loads, as dbt loads it, but is likely a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedWarning {
    pub line: u64,
    /// The 1-based field of that line the warning is about.
    pub field: usize,
    pub message: String,
    pub hint: String,
}

/// Everything that can go wrong while reading a seed file.
///
/// Each message names the file and, where there is one, the line; every
/// problem in the file itself ends with a `hint:` line saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("could not read seed file `{path}`{}", describe_optional_line(*.line))]
    Io {
        path: String,
        line: Option<u64>,
        #[source]
        source: io::Error,
    },

    #[error("{path}:{line}: could not parse the CSV in seed file `{path}`")]
    Csv {
        path: String,
        line: u64,
        #[source]
        source: csv::Error,
    },

    #[error(
        "seed file `{path}`: delimiter `{}` cannot be used\n\
         hint: choose a single ASCII character other than a quote or a line break, such as `,`, `;`, `|` or a tab",
        char::from(*.delimiter).escape_debug()
    )]
    InvalidDelimiter { path: String, delimiter: u8 },

    #[error(
        "{path}:{line}: seed file `{path}` is empty\n\
         hint: the first line must be a header naming the columns, such as `id,name`"
    )]
    Empty { path: String, line: u64 },

    #[error(
        "{path}:{line}: column {column} has an empty name in the header\n\
         hint: give every column a name; a delimiter at the end of the header line also makes an empty column"
    )]
    EmptyColumnName { path: String, line: u64, column: usize },

    #[error(
        "{path}:{line}: column {column} `{column_name}` has the same name as column {first_column} `{first_name}`\n\
         hint: rename one of them; names are compared ignoring case because PostgreSQL folds unquoted names to lower case"
    )]
    DuplicateColumnName {
        path: String,
        line: u64,
        column: usize,
        column_name: String,
        first_column: usize,
        first_name: String,
    },

    #[error(
        "{path}:{line}: field {column} is longer than {MAX_FIELD_CHARS} characters, the most dbt's CSV reader takes\n\
         hint: check for a quote that is never closed, or keep such long values out of seeds"
    )]
    FieldTooLarge { path: String, line: u64, column: usize },

    #[error(
        "{path}:1: seed file `{path}` is UTF-16 (it starts with a UTF-16 byte-order mark)\n\
         hint: save the file as UTF-8, for example with `iconv -f utf-16 -t utf-8`"
    )]
    Utf16 { path: String },

    #[error(
        "{path}:{line}: row has {found} fields but the header has {expected} columns\n\
         hint: quote values that contain the delimiter `{}`, and check for a missing or extra delimiter",
        char::from(*.delimiter).escape_debug()
    )]
    RaggedRow {
        path: String,
        line: u64,
        expected: usize,
        found: usize,
        delimiter: u8,
    },

    #[error(
        "{path}:{line}: {} is not valid UTF-8 (first invalid byte at offset {byte_offset} of the file)\n\
         hint: save the file as UTF-8, for example with `iconv -f latin1 -t utf-8`",
        describe_column(*.column, .column_name.as_deref())
    )]
    InvalidUtf8 {
        path: String,
        line: u64,
        column: usize,
        /// `None` when the bad bytes are in the header itself.
        column_name: Option<String>,
        byte_offset: u64,
    },

    /// Boxed because it is much larger than the other variants.
    #[error(transparent)]
    InvalidValue(Box<InvalidValueError>),

    #[error(
        "{path}:{line}: column_types names column `{key}`, which is not in the header of `{path}`\n\
         hint: {hint}"
    )]
    UnknownOverrideColumn {
        path: String,
        line: u64,
        key: String,
        hint: String,
    },

    #[error(
        "{path}:{line}: column_types sets the type of column `{column_name}` twice, as `{first_key}` and as `{second_key}`\n\
         hint: keep one of the two entries; column names are matched ignoring case"
    )]
    ConflictingOverrides {
        path: String,
        line: u64,
        column_name: String,
        first_key: String,
        second_key: String,
    },

    #[error(
        "seed file `{path}` changed while it was being loaded\n\
         hint: run `dvt seed` again once nothing is writing to the file"
    )]
    ChangedDuringLoad { path: String },
}

/// A value that does not fit the `column_types` override of its column.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}:{line}: value `{value}` in column `{column_name}` (column {column}) {reason}\n\
     hint: {hint}"
)]
pub struct InvalidValueError {
    pub path: String,
    pub line: u64,
    pub column: usize,
    pub column_name: String,
    /// The offending value, shortened and with control characters escaped.
    pub value: String,
    /// The `column_types` override the value was checked against.
    pub data_type: String,
    pub reason: String,
    pub hint: String,
}

impl SeedError {
    /// The project-relative path of the seed file.
    pub fn path(&self) -> &str {
        match self {
            SeedError::Io { path, .. }
            | SeedError::Csv { path, .. }
            | SeedError::InvalidDelimiter { path, .. }
            | SeedError::Empty { path, .. }
            | SeedError::EmptyColumnName { path, .. }
            | SeedError::DuplicateColumnName { path, .. }
            | SeedError::RaggedRow { path, .. }
            | SeedError::InvalidUtf8 { path, .. }
            | SeedError::UnknownOverrideColumn { path, .. }
            | SeedError::ConflictingOverrides { path, .. }
            | SeedError::FieldTooLarge { path, .. }
            | SeedError::ChangedDuringLoad { path }
            | SeedError::Utf16 { path } => path,
            SeedError::InvalidValue(error) => &error.path,
        }
    }

    /// The 1-based physical line of the file the error points at, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            SeedError::Io { line, .. } => *line,
            SeedError::Csv { line, .. }
            | SeedError::Empty { line, .. }
            | SeedError::EmptyColumnName { line, .. }
            | SeedError::DuplicateColumnName { line, .. }
            | SeedError::RaggedRow { line, .. }
            | SeedError::InvalidUtf8 { line, .. }
            | SeedError::UnknownOverrideColumn { line, .. }
            | SeedError::ConflictingOverrides { line, .. }
            | SeedError::FieldTooLarge { line, .. } => Some(*line),
            SeedError::Utf16 { .. } => Some(1),
            SeedError::InvalidValue(error) => Some(error.line),
            SeedError::InvalidDelimiter { .. } | SeedError::ChangedDuringLoad { .. } => None,
        }
    }

    /// The 1-based column index the error points at, if any.
    pub fn column(&self) -> Option<usize> {
        match self {
            SeedError::EmptyColumnName { column, .. }
            | SeedError::DuplicateColumnName { column, .. }
            | SeedError::InvalidUtf8 { column, .. }
            | SeedError::FieldTooLarge { column, .. } => Some(*column),
            SeedError::InvalidValue(error) => Some(error.column),
            _ => None,
        }
    }
}

fn describe_optional_line(line: Option<u64>) -> String {
    match line {
        Some(line) => format!(" (at line {line})"),
        None => String::new(),
    }
}

fn describe_column(column: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("column `{name}` (column {column})"),
        None => format!("header field {column}"),
    }
}

/// Pass 1: read the whole file, validate it and infer the column types.
///
/// `display_path` is the project-relative path used in errors.
pub fn prepare(path: &Path, display_path: &str, options: &SeedOptions) -> Result<PreparedSeed, SeedError> {
    let mut source = SeedReader::open(path, display_path, options.delimiter)?;
    let names = source.read_header()?;
    let header_line = source.field_line(0);
    let overrides = resolve_overrides(&names, &options.column_types, display_path, header_line)?;
    let checks: Vec<Option<TypeCheck>> = overrides
        .iter()
        .map(|data_type| data_type.as_deref().and_then(TypeCheck::parse))
        .collect();

    let mut inferred: Vec<Option<InferredType>> = vec![None; names.len()];
    let mut row_count: u64 = 0;
    let mut last_record = None;
    while source.read_row(&names)? {
        for (index, value) in source.record.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            if let Some(check) = &checks[index] {
                if let Err(rejection) = check.validate(value) {
                    let data_type = overrides[index].as_deref().unwrap_or_default();
                    return Err(source.invalid_value(index, &names[index], value, data_type, rejection));
                }
            }
            let state = &mut inferred[index];
            *state = match *state {
                Some(InferredType::Text) => continue,
                Some(current) => Some(current.widen(classify(value))),
                None => Some(classify(value)),
            };
        }
        row_count += 1;
        last_record = Some(source.span);
    }
    if let Some(warning) = last_record.and_then(|span| source.unclosed_quote(span)) {
        source.warnings.push(warning);
    }

    let columns = names
        .into_iter()
        .zip(overrides)
        .zip(inferred)
        .map(|((name, column_type), inferred)| SeedColumn {
            name,
            column_type,
            // A column with no values at all is an integer, as agate's type
            // tester (Integer first) makes it for dbt on every adapter.
            inferred: inferred.unwrap_or(InferredType::Integer),
        })
        .collect();
    Ok(PreparedSeed {
        columns,
        row_count,
        byte_len: source.bytes_consumed(),
        warnings: source.warnings,
    })
}

/// Pass 2: stream the rows re-encoded for `COPY ... FROM STDIN (FORMAT csv)`
/// with PostgreSQL's defaults: no header, comma delimiter, `"` quotes, NULL as
/// an unquoted empty field.
///
/// Non-null values are quoted only when they need it. An empty string cannot
/// occur, because an empty field is NULL. `sink` receives chunks of about
/// 1 MiB; `progress` receives the number of input bytes consumed so far,
/// ending with [`PreparedSeed::byte_len`]. Returns the number of rows written.
///
/// Run the `COPY` in a transaction: if the file changed since [`prepare`],
/// this fails with [`SeedError::ChangedDuringLoad`] after some chunks may
/// already have been sent.
pub fn encode_copy_csv(
    path: &Path,
    display_path: &str,
    prepared: &PreparedSeed,
    options: &SeedOptions,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), SeedError>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, SeedError> {
    let changed = || SeedError::ChangedDuringLoad {
        path: display_path.to_string(),
    };
    let mut source = SeedReader::open(path, display_path, options.delimiter)?;
    let names = source.read_header()?;
    let header_matches = names.len() == prepared.columns.len()
        && names
            .iter()
            .zip(&prepared.columns)
            .all(|(name, column)| *name == column.name);
    if !header_matches {
        return Err(changed());
    }

    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_SIZE + READ_BUFFER_SIZE);
    let mut rows_written: u64 = 0;
    while source.read_row(&names)? {
        for (index, value) in source.record.iter().enumerate() {
            if index > 0 {
                buffer.push(b',');
            }
            write_copy_value(&mut buffer, value);
        }
        buffer.push(b'\n');
        rows_written += 1;
        if buffer.len() >= CHUNK_SIZE {
            sink(&buffer)?;
            buffer.clear();
            progress(source.bytes_consumed());
        }
    }
    if !buffer.is_empty() {
        sink(&buffer)?;
    }
    let byte_len = source.bytes_consumed();
    if rows_written != prepared.row_count || byte_len != prepared.byte_len {
        return Err(changed());
    }
    progress(byte_len);
    Ok(rows_written)
}

/// Appends one non-header field in PostgreSQL's CSV dialect. An empty
/// value is written bare, which `COPY` reads as NULL; use
/// [`write_copy_text`] for a value that must stay an empty string.
fn write_copy_value(buffer: &mut Vec<u8>, value: &[u8]) {
    // `\.` alone on a line ends COPY data, so it is quoted as well.
    let needs_quotes =
        value.starts_with(b"\\.") || value.iter().any(|&byte| matches!(byte, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        buffer.extend_from_slice(value);
        return;
    }
    buffer.push(b'"');
    for part in value.split_inclusive(|&byte| byte == b'"') {
        buffer.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            buffer.push(b'"');
        }
    }
    buffer.push(b'"');
}

/// Appends one non-NULL field: as [`write_copy_value`], except that an
/// empty value is written as `""`, which `COPY` reads as an empty string.
pub(crate) fn write_copy_text(buffer: &mut Vec<u8>, value: &[u8]) {
    if value.is_empty() {
        buffer.extend_from_slice(b"\"\"");
    } else {
        write_copy_value(buffer, value);
    }
}

/// Matches `column_types` keys to header columns, returning the override (if
/// any) of each column in header order.
fn resolve_overrides(
    names: &[String],
    column_types: &BTreeMap<String, String>,
    display_path: &str,
    header_line: u64,
) -> Result<Vec<Option<String>>, SeedError> {
    let lowercase_names: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    let mut overrides: Vec<Option<String>> = vec![None; names.len()];
    let mut matched_keys: Vec<Option<&str>> = vec![None; names.len()];
    for (key, data_type) in column_types {
        let lowercase_key = key.trim().to_lowercase();
        let Some(index) = lowercase_names.iter().position(|name| *name == lowercase_key) else {
            return Err(SeedError::UnknownOverrideColumn {
                path: display_path.to_string(),
                line: header_line,
                key: key.clone(),
                hint: unknown_column_hint(&lowercase_key, names),
            });
        };
        if let Some(first_key) = matched_keys[index] {
            return Err(SeedError::ConflictingOverrides {
                path: display_path.to_string(),
                line: header_line,
                column_name: names[index].clone(),
                first_key: first_key.to_string(),
                second_key: key.clone(),
            });
        }
        matched_keys[index] = Some(key);
        overrides[index] = Some(data_type.trim().to_string());
    }
    Ok(overrides)
}

fn unknown_column_hint(lowercase_key: &str, names: &[String]) -> String {
    let lowercase: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    let closest = crate::diagnostic::did_you_mean(lowercase_key, lowercase.iter().map(String::as_str))
        .and_then(|found| lowercase.iter().position(|name| name == found))
        .map(|index| &names[index]);
    match closest {
        Some(name) => format!("did you mean `{name}`?"),
        None => {
            let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            format!("the columns are {}", listed.join(", "))
        }
    }
}

/// Where the current record lies in the file, for error messages.
#[derive(Debug, Clone, Copy, Default)]
struct RecordSpan {
    /// Offset just after the previous record (skipped blank lines included).
    start_byte: u64,
    /// Offset just after this record's terminator.
    end_byte: u64,
    /// 1 + the number of `\n` bytes before `end_byte`.
    end_line: u64,
}

/// A CSV reader over one seed file that checks shape and encoding and can say
/// on which physical line a field starts.
struct SeedReader<'a> {
    path: &'a Path,
    display_path: &'a str,
    delimiter: u8,
    reader: csv::Reader<File>,
    record: ByteRecord,
    span: RecordSpan,
    warnings: Vec<SeedWarning>,
}

/// agate's name for an unnamed column `index` (0-based), as dbt's seeds get
/// it: `a` to `z`, then `aa`, `bb`, ... (`agate.utils.letter_name`).
fn letter_name(index: usize) -> String {
    let letter = char::from(b'a' + (index % 26) as u8);
    letter.to_string().repeat(index / 26 + 1)
}

impl<'a> SeedReader<'a> {
    fn open(path: &'a Path, display_path: &'a str, delimiter: u8) -> Result<Self, SeedError> {
        if matches!(delimiter, b'"' | b'\n' | b'\r') || !delimiter.is_ascii() {
            return Err(SeedError::InvalidDelimiter {
                path: display_path.to_string(),
                delimiter,
            });
        }
        let file = File::open(path).map_err(|source| SeedError::Io {
            path: display_path.to_string(),
            line: None,
            source,
        })?;
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(READ_BUFFER_SIZE)
            .from_reader(file);
        Ok(Self {
            path,
            display_path,
            delimiter,
            reader,
            record: ByteRecord::new(),
            span: RecordSpan::default(),
            warnings: Vec::new(),
        })
    }

    fn bytes_consumed(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Reads the next record into `self.record`; `false` at the end of the file.
    fn read(&mut self) -> Result<bool, SeedError> {
        let start_byte = self.reader.position().byte();
        let result = self.reader.read_byte_record(&mut self.record);
        let position = self.reader.position();
        self.span = RecordSpan {
            start_byte,
            end_byte: position.byte(),
            end_line: position.line(),
        };
        result.map_err(|error| {
            let path = self.display_path.to_string();
            let line = self.span.end_line;
            if !error.is_io_error() {
                return SeedError::Csv {
                    path,
                    line,
                    source: error,
                };
            }
            let source = match error.into_kind() {
                csv::ErrorKind::Io(source) => source,
                // `is_io_error` guarantees the arm above.
                kind => io::Error::other(format!("{kind:?}")),
            };
            SeedError::Io {
                path,
                line: Some(line),
                source,
            }
        })
    }

    /// Reads the header and returns the trimmed, checked column names.
    fn read_header(&mut self) -> Result<Vec<String>, SeedError> {
        if !self.read()? {
            return Err(SeedError::Empty {
                path: self.display_path.to_string(),
                line: 1,
            });
        }
        if self.record.as_slice().starts_with(&[0xFF, 0xFE]) || self.record.as_slice().starts_with(&[0xFE, 0xFF]) {
            return Err(SeedError::Utf16 {
                path: self.display_path.to_string(),
            });
        }
        self.check_field_sizes()?;
        self.check_utf8(None)?;
        let mut names: Vec<String> = Vec::with_capacity(self.record.len());
        let mut lowercase_names: Vec<String> = Vec::with_capacity(self.record.len());
        for (index, field) in self.record.iter().enumerate() {
            let text = String::from_utf8_lossy(field);
            let text = if index == 0 {
                text.trim_start_matches('\u{feff}')
            } else {
                &text
            };
            let mut name = text.trim().to_string();
            let line = self.field_line(index);
            if name.is_empty() {
                // A header that is one empty field is a blank first line in
                // disguise, such as a lone `""`.
                if self.record.len() == 1 {
                    return Err(SeedError::EmptyColumnName {
                        path: self.display_path.to_string(),
                        line,
                        column: index + 1,
                    });
                }
                // dbt 1.10 loads it, named by agate's letter (UnnamedColumnWarning).
                name = letter_name(index);
                self.warnings.push(SeedWarning {
                    line,
                    field: index + 1,
                    message: format!("column {} has no name in the header; it is loaded as `{name}`, as dbt names it", index + 1),
                    hint: "name the column in the header; a delimiter at the end of the header line also makes an empty column".into(),
                });
            }
            // dbt 1.10 loads a repeated name with agate's suffix, `id_2`
            // (DuplicateColumnWarning).
            let written = name.clone();
            let mut repeats = 0;
            while names.contains(&name) {
                name = format!("{written}_{}", repeats + 2);
                repeats += 1;
            }
            if repeats > 0 {
                self.warnings.push(SeedWarning {
                    line,
                    field: index + 1,
                    message: format!(
                        "column {} repeats the name `{written}`; it is loaded as `{name}`, as dbt names it",
                        index + 1
                    ),
                    hint: "give every column a name of its own in the header".into(),
                });
            }
            let lowercase_name = name.to_lowercase();
            if let Some(first) = lowercase_names.iter().position(|seen| *seen == lowercase_name) {
                return Err(SeedError::DuplicateColumnName {
                    path: self.display_path.to_string(),
                    line: self.field_line(index),
                    column: index + 1,
                    column_name: name,
                    first_column: first + 1,
                    first_name: names[first].clone(),
                });
            }
            lowercase_names.push(lowercase_name);
            names.push(name);
        }
        Ok(names)
    }

    /// Reads the next data row and checks its width and encoding.
    fn read_row(&mut self, names: &[String]) -> Result<bool, SeedError> {
        if !self.read()? {
            return Ok(false);
        }
        if self.record.len() != names.len() {
            return Err(SeedError::RaggedRow {
                path: self.display_path.to_string(),
                line: self.field_line(0),
                expected: names.len(),
                found: self.record.len(),
                delimiter: self.delimiter,
            });
        }
        self.check_field_sizes()?;
        self.check_utf8(Some(names))?;
        Ok(true)
    }

    /// A quote the last record opens and never closes: its field runs to the
    /// end of the file. dbt 1.10 loads that as one row, without a word; the
    /// file is read the same way, with a warning.
    fn unclosed_quote(&self, span: RecordSpan) -> Option<SeedWarning> {
        let raw = read_file_range(self.path, span.start_byte, span.end_byte).ok()?;
        let mut open = None;
        for (offset, byte) in raw.iter().enumerate() {
            if *byte == b'"' {
                open = if open.is_some() { None } else { Some(offset) };
            }
        }
        let opened = open?;
        let line = span.end_line.saturating_sub(count_newlines(&raw[opened..]));
        let field = raw[..opened]
            .iter()
            .rev()
            .take_while(|byte| **byte != b'\n')
            .filter(|byte| **byte == self.delimiter)
            .count()
            + 1;
        Some(SeedWarning {
            line,
            field,
            message: "this quote is never closed: the field runs to the end of the file, as dbt reads it".into(),
            hint: "close the quote, and write a quote inside a quoted value twice (`\"\"`)".into(),
        })
    }

    /// Rejects a field longer than dbt's CSV reader takes ([`MAX_FIELD_CHARS`]).
    fn check_field_sizes(&self) -> Result<(), SeedError> {
        let too_long = |field: &[u8]| {
            field.len() > MAX_FIELD_CHARS && String::from_utf8_lossy(field).chars().count() > MAX_FIELD_CHARS
        };
        match self.record.iter().position(too_long) {
            Some(index) => Err(SeedError::FieldTooLarge {
                path: self.display_path.to_string(),
                line: self.field_line(index),
                column: index + 1,
            }),
            None => Ok(()),
        }
    }

    fn check_utf8(&self, names: Option<&[String]>) -> Result<(), SeedError> {
        // Validating the whole record at once is much faster than field by
        // field; a field boundary inside a character is caught separately.
        let whole_record_is_valid = std::str::from_utf8(self.record.as_slice()).is_ok()
            && self
                .record
                .iter()
                .all(|field| field.first().is_none_or(|&byte| !is_utf8_continuation(byte)));
        if whole_record_is_valid {
            return Ok(());
        }
        let index = self
            .record
            .iter()
            .position(|field| std::str::from_utf8(field).is_err())
            .unwrap_or(0);
        let (line, byte_offset) = match self.locate_invalid_utf8() {
            Ok(Some(location)) => location,
            _ => (self.field_line(index), self.span.start_byte),
        };
        Err(SeedError::InvalidUtf8 {
            path: self.display_path.to_string(),
            line,
            column: index + 1,
            column_name: names.and_then(|names| names.get(index)).cloned(),
            byte_offset,
        })
    }

    /// Re-reads the raw bytes of the current record to find the exact line
    /// and file offset of its first invalid UTF-8 byte.
    fn locate_invalid_utf8(&self) -> io::Result<Option<(u64, u64)>> {
        let raw = read_file_range(self.path, self.span.start_byte, self.span.end_byte)?;
        let Err(error) = std::str::from_utf8(&raw) else {
            return Ok(None);
        };
        let valid_up_to = error.valid_up_to();
        let newlines_after = count_newlines(&raw[valid_up_to..]);
        let line = self.span.end_line.saturating_sub(newlines_after);
        Ok(Some((line, self.span.start_byte + valid_up_to as u64)))
    }

    /// The 1-based physical line on which field `index` of the current record
    /// starts.
    ///
    /// The csv crate's record positions point before skipped blank lines and
    /// before the `\n` of a CRLF, so the line is worked out backwards from the
    /// end of the record instead: the reader's line count there, minus the
    /// terminating `\n` (if that is what ended the record), minus the line
    /// breaks inside this and later fields. Only called on the error path.
    fn field_line(&self, index: usize) -> u64 {
        let span = self.span;
        let ends_with_newline = span.end_byte > span.start_byte
            && read_file_byte(self.path, span.end_byte - 1).is_ok_and(|byte| byte == b'\n');
        let last_line = span.end_line - u64::from(ends_with_newline);
        let newlines_from_field: u64 = self.record.iter().skip(index).map(count_newlines).sum();
        last_line.saturating_sub(newlines_from_field).max(1)
    }

    fn invalid_value(
        &self,
        index: usize,
        column_name: &str,
        value: &[u8],
        data_type: &str,
        rejection: Rejection,
    ) -> SeedError {
        let (reason, hint) = rejection.explain(data_type);
        SeedError::InvalidValue(Box::new(InvalidValueError {
            path: self.display_path.to_string(),
            line: self.field_line(index),
            column: index + 1,
            column_name: column_name.to_string(),
            value: display_value(value),
            data_type: data_type.to_string(),
            reason,
            hint,
        }))
    }
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&byte| byte == b'\n').count() as u64
}

fn read_file_byte(path: &Path, offset: u64) -> io::Result<u8> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut byte = [0u8; 1];
    file.read_exact(&mut byte)?;
    Ok(byte[0])
}

fn read_file_range(path: &Path, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(end.saturating_sub(start)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A value made safe to show inside backticks on one line.
fn display_value(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut shown: String = text
        .chars()
        .take(MAX_DISPLAYED_VALUE_CHARS)
        .map(|character| {
            if character.is_control() {
                character.escape_debug().to_string()
            } else {
                character.to_string()
            }
        })
        .collect();
    if text.chars().count() > MAX_DISPLAYED_VALUE_CHARS {
        shown.push('…');
    }
    shown
}

/// The most specific type of one non-empty value.
fn classify(value: &[u8]) -> InferredType {
    match value.first() {
        Some(b'0'..=b'9' | b'-') => classify_number(value)
            .or_else(|| classify_temporal(value, false))
            .unwrap_or(InferredType::Text),
        Some(b't' | b'T' | b'f' | b'F')
            if value.eq_ignore_ascii_case(b"true") || value.eq_ignore_ascii_case(b"false") =>
        {
            InferredType::Boolean
        }
        _ => InferredType::Text,
    }
}

/// `integer`, `bigint` or `numeric` for a number written the way PostgreSQL
/// would print it back: an optional `-`, no leading zero, digits on both sides
/// of a decimal point, and an optional exponent.
fn classify_number(value: &[u8]) -> Option<InferredType> {
    let digits_start = usize::from(value.first() == Some(&b'-'));
    let mut index = digits_start;
    while value.get(index).is_some_and(u8::is_ascii_digit) {
        index += 1;
    }
    let integer_digits = index - digits_start;
    if integer_digits == 0 || (integer_digits > 1 && value[digits_start] == b'0') {
        return None;
    }
    if index == value.len() {
        // Eighteen digits always fit an i64, so they are summed without checks.
        if integer_digits <= 18 {
            let magnitude = value[digits_start..]
                .iter()
                .fold(0i64, |total, &digit| total * 10 + i64::from(digit - b'0'));
            let number = if digits_start == 1 { -magnitude } else { magnitude };
            return Some(if i32::try_from(number).is_ok() {
                InferredType::Integer
            } else {
                InferredType::BigInt
            });
        }
        let fits_bigint = std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .is_some();
        return Some(if fits_bigint {
            InferredType::BigInt
        } else {
            InferredType::Numeric
        });
    }
    if value[index] == b'.' {
        index += 1;
        let fraction_start = index;
        while value.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        if index == fraction_start {
            return None;
        }
    }
    if index < value.len() {
        let exponent = parse_exponent(&value[index..])?;
        if exponent.abs() > MAX_NUMERIC_EXPONENT {
            return None;
        }
    }
    Some(InferredType::Numeric)
}

/// Parses `e12`, `E-3` or `e+7`, saturating very large exponents.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (first, rest) = text.split_first()?;
    if !first.eq_ignore_ascii_case(&b'e') {
        return None;
    }
    let (negative, digits) = match rest.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |total, &digit| {
        total.saturating_mul(10).saturating_add(i64::from(digit - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// `date` for `YYYY-MM-DD`; `timestamp` for `YYYY-MM-DD HH:MM:SS[.fff]` (or
/// with `T`); `timestamptz` for a timestamp followed by `Z` or `±HH[:MM]`.
///
/// Inference needs the seconds, as agate (dbt's seed reader) does: it reads
/// `2021-01-01 00:00` as text. A `column_types` timestamp accepts a value
/// without them (`seconds_optional`), as PostgreSQL does, which is what dbt
/// hands such a value to.
fn classify_temporal(value: &[u8], seconds_optional: bool) -> Option<InferredType> {
    let date = value.get(..10)?;
    let year = parse_digits(&date[0..4])?;
    let month = parse_digits(&date[5..7])?;
    let day = parse_digits(&date[8..10])?;
    // PostgreSQL has no year zero.
    if date[4] != b'-' || date[7] != b'-' || year == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if value.len() == 10 {
        return Some(InferredType::Date);
    }

    if !matches!(value[10], b' ' | b'T') {
        return None;
    }
    let time = value.get(11..16)?;
    let hour = parse_digits(&time[0..2])?;
    let minute = parse_digits(&time[3..5])?;
    if time[2] != b':' || hour > 23 || minute > 59 {
        return None;
    }
    let mut index = 16;
    if value.get(index) == Some(&b':') {
        let second = parse_digits(value.get(17..19)?)?;
        if second > 59 {
            return None;
        }
        index = 19;
    } else if !seconds_optional {
        return None;
    }
    if index == 19 && value.get(index) == Some(&b'.') {
        index += 1;
        let fraction_start = index;
        while value.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        if index == fraction_start {
            return None;
        }
    }
    let zone = &value[index..];
    if zone.is_empty() {
        Some(InferredType::Timestamp)
    } else if is_utc_offset(zone) {
        Some(InferredType::TimestampTz)
    } else {
        None
    }
}

/// `Z`, `+HH`, `+HH:MM` or `+HHMM` (or with `-`), within PostgreSQL's range.
fn is_utc_offset(zone: &[u8]) -> bool {
    if zone.eq_ignore_ascii_case(b"z") {
        return true;
    }
    let Some((sign, rest)) = zone.split_first() else {
        return false;
    };
    if !matches!(sign, b'+' | b'-') {
        return false;
    }
    let (hours, minutes) = match rest.len() {
        2 => (rest, None),
        4 => (&rest[0..2], Some(&rest[2..4])),
        5 if rest[2] == b':' => (&rest[0..2], Some(&rest[3..5])),
        _ => return false,
    };
    let hours_valid = parse_digits(hours).is_some_and(|hours| hours <= 15);
    let minutes_valid = minutes.is_none_or(|minutes| parse_digits(minutes).is_some_and(|minutes| minutes <= 59));
    hours_valid && minutes_valid
}

/// A short run of ASCII digits as a number.
fn parse_digits(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |total, &digit| total * 10 + u32::from(digit - b'0')),
    )
}

/// How the values of a column with a recognised `column_types` override are
/// checked, so that PostgreSQL will accept every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeCheck {
    SmallInt,
    Integer,
    BigInt,
    /// `precision_and_scale` is `None` for unconstrained `numeric`.
    Numeric {
        precision_and_scale: Option<(i64, i64)>,
    },
    Real,
    DoublePrecision,
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    /// `varchar(n)` and `char(n)`.
    MaxChars(usize),
}

/// Whether a value fits a SQL type as PostgreSQL's input function would
/// accept it: the checks of `column_types` overrides, shared with `dvt
/// ingest`, which validates extracted JSON values before they reach `COPY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueCheck(TypeCheck);

impl ValueCheck {
    /// The check for a SQL type, or `None` when dvt leaves the values of
    /// that type to PostgreSQL (`text`, `uuid`, `jsonb`, ...).
    pub(crate) fn for_type(data_type: &str) -> Option<Self> {
        TypeCheck::parse(data_type).map(ValueCheck)
    }

    /// `Err` says why the value does not fit, in words that follow "value
    /// `x`", such as "is out of range for integer".
    pub(crate) fn check(self, value: &[u8], data_type: &str) -> Result<(), String> {
        self.0
            .validate(value)
            .map_err(|rejection| rejection.explain(data_type).0)
    }
}

/// Why a value does not fit an overridden type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    Syntax(TypeCheck),
    OutOfRange,
    TooManyIntegerDigits(i64),
    TooLong { length: usize, max: usize },
    DropsTime,
    DropsOffset,
}

impl Rejection {
    /// The reason (to follow "value `x` in column `y`") and the hint.
    fn explain(self, data_type: &str) -> (String, String) {
        match self {
            Rejection::Syntax(check) => (
                format!("is not a valid {data_type}"),
                format!(
                    "{}; fix the value, or set this column to `text` in column_types",
                    check.expected_format()
                ),
            ),
            Rejection::OutOfRange => (
                format!("is out of range for {data_type}"),
                "choose a wider type in column_types, such as `bigint` or `numeric`".to_string(),
            ),
            Rejection::TooManyIntegerDigits(allowed) => (
                format!(
                    "does not fit {data_type}, which allows {} digits before the decimal point",
                    allowed.max(0)
                ),
                "raise the precision in column_types, such as `numeric(18,2)`, or use `numeric`".to_string(),
            ),
            Rejection::TooLong { length, max } => (
                format!("is {length} characters long, but {data_type} holds at most {max}"),
                "choose a longer length in column_types, or use `text`".to_string(),
            ),
            Rejection::DropsTime => (
                format!("has a time of day, which {data_type} would silently drop"),
                "use `timestamp` in column_types, or remove the time from the value".to_string(),
            ),
            Rejection::DropsOffset => (
                format!("has a UTC offset, which {data_type} would silently ignore"),
                "use `timestamp with time zone` in column_types, or remove the offset".to_string(),
            ),
        }
    }
}

impl TypeCheck {
    /// Recognises the SQL type text of an override; `None` means dvt leaves
    /// the values to PostgreSQL (`text`, `uuid`, `jsonb`, ...).
    fn parse(data_type: &str) -> Option<TypeCheck> {
        let normalized = normalize_type(data_type);
        let (base, arguments) = match normalized.find('(') {
            Some(open) => {
                let close = normalized.find(')')?;
                let arguments: Vec<&str> = normalized.get(open + 1..close)?.split(',').collect();
                let base = format!("{}{}", &normalized[..open], normalized.get(close + 1..)?);
                (base, Some(arguments))
            }
            None => (normalized, None),
        };
        let numbers: Option<Vec<i64>> = arguments
            .as_ref()
            .map(|arguments| arguments.iter().filter_map(|argument| argument.parse().ok()).collect());
        let check = match (base.as_str(), numbers.as_deref()) {
            ("smallint" | "int2", None) => TypeCheck::SmallInt,
            ("integer" | "int" | "int4", None) => TypeCheck::Integer,
            ("bigint" | "int8", None) => TypeCheck::BigInt,
            ("numeric" | "decimal", None) => TypeCheck::Numeric {
                precision_and_scale: None,
            },
            ("numeric" | "decimal", Some(&[precision])) => TypeCheck::Numeric {
                precision_and_scale: Some((precision, 0)),
            },
            ("numeric" | "decimal", Some(&[precision, scale])) => TypeCheck::Numeric {
                precision_and_scale: Some((precision, scale)),
            },
            ("real" | "float4", None) => TypeCheck::Real,
            ("float", Some(&[precision])) if (1..=24).contains(&precision) => TypeCheck::Real,
            ("double precision" | "float8" | "float", None) | ("float", Some(_)) => TypeCheck::DoublePrecision,
            ("boolean" | "bool", None) => TypeCheck::Boolean,
            ("date", None) => TypeCheck::Date,
            ("timestamp" | "timestamp without time zone", _) => TypeCheck::Timestamp,
            ("timestamptz" | "timestamp with time zone", _) => TypeCheck::TimestampTz,
            ("char" | "character" | "bpchar", None) => TypeCheck::MaxChars(1),
            ("varchar" | "character varying" | "char" | "character" | "bpchar", Some(&[length])) => {
                TypeCheck::MaxChars(usize::try_from(length).ok()?)
            }
            _ => return None,
        };
        // Arguments that are not all numbers (or an array type) are left to
        // PostgreSQL to judge.
        let all_arguments_numeric = match (&arguments, &numbers) {
            (Some(arguments), Some(numbers)) => arguments.len() == numbers.len(),
            _ => true,
        };
        (all_arguments_numeric && !data_type.contains('[')).then_some(check)
    }

    fn expected_format(self) -> &'static str {
        match self {
            TypeCheck::SmallInt | TypeCheck::Integer | TypeCheck::BigInt => {
                "write integers as digits with an optional sign, such as `-42`"
            }
            TypeCheck::Numeric { .. } => "write numbers such as `-12.5` or `1.5e3`",
            TypeCheck::Real | TypeCheck::DoublePrecision => {
                "write numbers such as `-12.5`, `1.5e3` or `NaN`"
            }
            TypeCheck::Boolean => {
                "write booleans as `true`/`false` (or `t`/`f`, `yes`/`no`, `on`/`off`, `1`/`0`)"
            }
            TypeCheck::Date => "write dates as `YYYY-MM-DD`, such as `2024-01-31`",
            TypeCheck::Timestamp => {
                "write timestamps as `YYYY-MM-DD HH:MM:SS[.ffffff]`, such as `2024-01-31 08:30:00`"
            }
            TypeCheck::TimestampTz => {
                "write timestamps as `YYYY-MM-DD HH:MM:SS[.ffffff]` with an optional offset, such as `2024-01-31 08:30:00+01:00`"
            }
            TypeCheck::MaxChars(_) => "shorten the value",
        }
    }

    fn validate(self, value: &[u8]) -> Result<(), Rejection> {
        if let TypeCheck::MaxChars(max) = self {
            // PostgreSQL accepts an over-long value when the excess is spaces.
            let significant = value.trim_ascii_end();
            let length = significant.iter().filter(|&&byte| !is_utf8_continuation(byte)).count();
            return if length <= max {
                Ok(())
            } else {
                Err(Rejection::TooLong { length, max })
            };
        }
        // PostgreSQL ignores surrounding whitespace for all other checked types.
        let trimmed = value.trim_ascii();
        let syntax = Rejection::Syntax(self);
        match self {
            TypeCheck::SmallInt => check_integer(trimmed, i64::from(i16::MIN), i64::from(i16::MAX)),
            TypeCheck::Integer => check_integer(trimmed, i64::from(i32::MIN), i64::from(i32::MAX)),
            TypeCheck::BigInt => check_integer(trimmed, i64::MIN, i64::MAX),
            TypeCheck::Numeric { precision_and_scale } => check_numeric(trimmed, precision_and_scale).ok_or(syntax)?,
            TypeCheck::Real => check_float(trimmed, true).ok_or(syntax)?,
            TypeCheck::DoublePrecision => check_float(trimmed, false).ok_or(syntax)?,
            TypeCheck::Boolean => {
                let lowercase = trimmed.to_ascii_lowercase();
                let accepted = matches!(
                    lowercase.as_slice(),
                    b"t" | b"tr"
                        | b"tru"
                        | b"true"
                        | b"y"
                        | b"ye"
                        | b"yes"
                        | b"on"
                        | b"1"
                        | b"f"
                        | b"fa"
                        | b"fal"
                        | b"fals"
                        | b"false"
                        | b"n"
                        | b"no"
                        | b"of"
                        | b"off"
                        | b"0"
                );
                accepted.then_some(()).ok_or(syntax)
            }
            TypeCheck::Date | TypeCheck::Timestamp | TypeCheck::TimestampTz => {
                if trimmed.eq_ignore_ascii_case(b"infinity") || trimmed.eq_ignore_ascii_case(b"-infinity") {
                    return Ok(());
                }
                match (self, classify_temporal(trimmed, true)) {
                    (_, None) => Err(syntax),
                    (TypeCheck::Date, Some(InferredType::Date)) => Ok(()),
                    (TypeCheck::Date, Some(_)) => Err(Rejection::DropsTime),
                    (TypeCheck::Timestamp, Some(InferredType::TimestampTz)) => Err(Rejection::DropsOffset),
                    _ => Ok(()),
                }
            }
            TypeCheck::MaxChars(_) => Ok(()),
        }
    }
}

/// Lower case, single spaces, no spaces around parentheses and commas.
fn normalize_type(data_type: &str) -> String {
    let words: Vec<&str> = data_type.split_whitespace().collect();
    words
        .join(" ")
        .to_lowercase()
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(", ", ",")
}

fn check_integer(value: &[u8], minimum: i64, maximum: i64) -> Result<(), Rejection> {
    let digits = value
        .strip_prefix(b"-")
        .or_else(|| value.strip_prefix(b"+"))
        .unwrap_or(value);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Rejection::Syntax(TypeCheck::Integer));
    }
    let number = std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or(Rejection::OutOfRange)?;
    if (minimum..=maximum).contains(&number) {
        Ok(())
    } else {
        Err(Rejection::OutOfRange)
    }
}

/// `None` for a syntax error; otherwise whether the value fits the
/// precision and scale after PostgreSQL rounds it.
fn check_numeric(value: &[u8], precision_and_scale: Option<(i64, i64)>) -> Option<Result<(), Rejection>> {
    let unsigned = value
        .strip_prefix(b"-")
        .or_else(|| value.strip_prefix(b"+"))
        .unwrap_or(value);
    if unsigned.eq_ignore_ascii_case(b"nan") {
        return Some(Ok(()));
    }
    if unsigned.eq_ignore_ascii_case(b"infinity") || unsigned.eq_ignore_ascii_case(b"inf") {
        return Some(match precision_and_scale {
            None => Ok(()),
            Some(_) => Err(Rejection::OutOfRange),
        });
    }
    let mantissa_end = unsigned
        .iter()
        .position(|byte| byte.eq_ignore_ascii_case(&b'e'))
        .unwrap_or(unsigned.len());
    let (mantissa, exponent_text) = unsigned.split_at(mantissa_end);
    let exponent = if exponent_text.is_empty() {
        0
    } else {
        parse_exponent(exponent_text)?
    };
    if exponent.abs() > MAX_NUMERIC_EXPONENT {
        return None;
    }
    let (integer_part, fraction_part) = match mantissa.iter().position(|&byte| byte == b'.') {
        Some(point) => (&mantissa[..point], &mantissa[point + 1..]),
        None => (mantissa, &b""[..]),
    };
    let all_digits = integer_part.iter().chain(fraction_part).all(u8::is_ascii_digit);
    if !all_digits || integer_part.len() + fraction_part.len() == 0 {
        return None;
    }
    let Some((precision, scale)) = precision_and_scale else {
        return Some(Ok(()));
    };

    // The value is `digits × 10^(exponent - fraction length)`. PostgreSQL
    // rounds it (half away from zero) to `scale` fractional digits and then
    // requires it to be below 10^(precision - scale).
    let digits: Vec<u8> = integer_part.iter().chain(fraction_part).copied().collect();
    let significant = match digits.iter().position(|&digit| digit != b'0') {
        Some(first) => &digits[first..],
        None => return Some(Ok(())),
    };
    let allowed_integer_digits = precision - scale;
    let length = significant.len() as i64;
    // The power of ten of the most significant digit.
    let top = length - 1 + exponent - fraction_part.len() as i64;
    if top < -scale {
        // Rounds to zero or to 10^-scale, which always fits.
        return Some(Ok(()));
    }
    let kept = usize::try_from((top + scale + 1).min(length)).unwrap_or(significant.len());
    let rounds_up = significant.get(kept).is_some_and(|&digit| digit >= b'5');
    let carries = rounds_up && significant[..kept].iter().all(|&digit| digit == b'9');
    let rounded_top = top + i64::from(carries);
    Some(if rounded_top < allowed_integer_digits {
        Ok(())
    } else {
        Err(Rejection::TooManyIntegerDigits(allowed_integer_digits))
    })
}

/// `None` for a syntax error; otherwise whether the value is in range.
fn check_float(value: &[u8], single_precision: bool) -> Option<Result<(), Rejection>> {
    let text = std::str::from_utf8(value).ok()?;
    let unsigned = text.trim_start_matches(['+', '-']);
    let is_special = ["nan", "inf", "infinity"]
        .iter()
        .any(|special| unsigned.eq_ignore_ascii_case(special));
    // Rust also parses forms PostgreSQL rejects, such as `+nan`, so only the
    // plain decimal syntax is handed to it.
    if !is_special {
        let bytes = unsigned.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-'))
            && bytes.iter().any(u8::is_ascii_digit);
        if !well_formed {
            return None;
        }
    }
    let (is_infinite, is_zero) = if single_precision {
        let number: f32 = text.parse().ok()?;
        (number.is_infinite(), number == 0.0)
    } else {
        let number: f64 = text.parse().ok()?;
        (number.is_infinite(), number == 0.0)
    };
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or_default();
    let written_as_zero = !mantissa.bytes().any(|byte| (b'1'..=b'9').contains(&byte));
    let overflows = is_infinite && !is_special;
    let underflows = is_zero && !written_as_zero;
    Some(if overflows || underflows {
        Err(Rejection::OutOfRange)
    } else {
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_seed(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("create temp file");
        file.write_all(contents).expect("write temp file");
        file.flush().expect("flush temp file");
        file
    }

    fn prepare_with(contents: &[u8], options: &SeedOptions) -> Result<PreparedSeed, SeedError> {
        let file = write_seed(contents);
        prepare(file.path(), "seeds/test.csv", options)
    }

    fn prepare_ok(contents: &[u8]) -> PreparedSeed {
        prepare_with(contents, &SeedOptions::default()).expect("seed prepares")
    }

    fn inferred_types(contents: &str) -> Vec<InferredType> {
        prepare_ok(contents.as_bytes())
            .columns
            .iter()
            .map(|column| column.inferred)
            .collect()
    }

    fn with_overrides(pairs: &[(&str, &str)]) -> SeedOptions {
        SeedOptions {
            column_types: pairs
                .iter()
                .map(|(name, data_type)| (name.to_string(), data_type.to_string()))
                .collect(),
            ..SeedOptions::default()
        }
    }

    fn encode_with(contents: &[u8], options: &SeedOptions) -> (Vec<u8>, u64, Vec<u64>) {
        let file = write_seed(contents);
        let prepared = prepare(file.path(), "seeds/test.csv", options).expect("seed prepares");
        let mut output = Vec::new();
        let mut progress_reports = Vec::new();
        let rows = encode_copy_csv(
            file.path(),
            "seeds/test.csv",
            &prepared,
            options,
            &mut |chunk| {
                output.extend_from_slice(chunk);
                Ok(())
            },
            &mut |bytes| progress_reports.push(bytes),
        )
        .expect("seed encodes");
        (output, rows, progress_reports)
    }

    use InferredType::{BigInt, Boolean, Date, Integer, Numeric, Text, Timestamp, TimestampTz};

    #[test]
    fn infers_integer_bigint_and_numeric() {
        let types = inferred_types(
            "small,big,decimal,exponent,huge\n\
             1,2147483648,1.5,1e5,12345678901234567890\n\
             -2147483648,-3,-0.25,2.5E-3,1\n\
             0,0,0.5,-1,2\n",
        );
        assert_eq!(types, vec![Integer, BigInt, Numeric, Numeric, Numeric]);
    }

    #[test]
    fn integer_column_is_promoted_to_bigint_by_a_single_large_value() {
        let mut contents = String::from("id\n");
        for number in 0..100 {
            contents.push_str(&format!("{number}\n"));
        }
        contents.push_str("9223372036854775807\n");
        assert_eq!(inferred_types(&contents), vec![BigInt]);
        assert_eq!(inferred_types("id\n2147483647\n-2147483648\n"), vec![Integer]);
        assert_eq!(inferred_types("id\n-2147483649\n"), vec![BigInt]);
    }

    #[test]
    fn leading_zero_or_plus_keeps_a_column_text() {
        let types = inferred_types("zip,code,amount,phone,padded\n02134,0,0.5,+4420,00.5\n10001,7,-0.25,44,1\n");
        assert_eq!(types, vec![Text, Integer, Numeric, Text, Text]);
        assert_eq!(inferred_types("zip\n10001\n-007\n"), vec![Text]);
    }

    #[test]
    fn nan_infinity_and_malformed_numbers_are_text() {
        for value in [
            "NaN",
            "inf",
            "-Infinity",
            "1.",
            ".5",
            "1e",
            "1e2000",
            "1_000",
            "0x1A",
            "1,5",
        ] {
            let contents = format!("value\n\"{value}\"\n");
            assert_eq!(inferred_types(&contents), vec![Text], "value `{value}`");
        }
    }

    #[test]
    fn booleans_are_true_or_false_in_any_case_but_not_digits() {
        let types = inferred_types("flag,digits,yes_no\ntrue,1,yes\nFALSE,0,no\nTrue,1,yes\n");
        assert_eq!(types, vec![Boolean, Integer, Text]);
    }

    #[test]
    fn infers_dates_and_rejects_impossible_ones() {
        assert_eq!(inferred_types("day\n2024-02-29\n1999-12-31\n"), vec![Date]);
        assert_eq!(inferred_types("day\n2023-02-29\n"), vec![Text]);
        assert_eq!(inferred_types("day\n0000-01-01\n"), vec![Text]);
        assert_eq!(inferred_types("day\n2024-1-5\n"), vec![Text]);
    }

    #[test]
    fn mixed_dates_and_timestamps_are_timestamp() {
        let types = inferred_types(
            "at,with_t,fraction\n\
             2024-01-31,2024-01-31T08:30:00,2024-01-31 08:30:00.123456\n\
             2024-02-01 23:59:59,2024-01-31,2024-01-31 08:30:00\n",
        );
        assert_eq!(types, vec![Timestamp, Timestamp, Timestamp]);
        assert_eq!(inferred_types("at\n2024-01-31 24:00:00\n"), vec![Text]);
        assert_eq!(inferred_types("at\n2024-01-31 08:30\n"), vec![Text]);
    }

    #[test]
    fn infers_timestamptz_from_z_and_offsets() {
        let types = inferred_types(
            "at\n2024-01-31T08:30:00Z\n2024-01-31 08:30:00+02\n2024-01-31 08:30:00.5-05:30\n2024-01-31 08:30:00+0100\n",
        );
        assert_eq!(types, vec![TimestampTz]);
        assert_eq!(inferred_types("at\n2024-01-31 08:30:00+2\n"), vec![Text]);
    }

    #[test]
    fn mixing_naive_and_offset_timestamps_or_unrelated_types_gives_text() {
        let types = inferred_types(
            "naive_and_offset,date_and_offset,number_and_bool,number_and_date\n\
             2024-01-31 08:30:00,2024-01-31,1,1\n\
             2024-01-31 08:30:00Z,2024-01-31 08:30:00Z,true,2024-01-31\n",
        );
        assert_eq!(types, vec![Text, Text, Text, Text]);
    }

    #[test]
    fn empty_fields_are_null_and_do_not_affect_inference() {
        let prepared = prepare_ok(b"id,amount,nothing\n1,,\n,2.5,\n3,,\n");
        let types: Vec<InferredType> = prepared.columns.iter().map(|column| column.inferred).collect();
        // dbt-core 1.10 seeds a column with no values as `integer` on
        // PostgreSQL and DuckDB alike (agate tries Integer first).
        assert_eq!(types, vec![Integer, Numeric, Integer]);
        assert_eq!(prepared.row_count, 3);
        assert_eq!(
            prepared.columns[2].data_type(|inferred| inferred.postgres_type()),
            "integer"
        );
        assert_eq!(
            prepared.columns[1].data_type(|inferred| inferred.postgres_type()),
            "double precision"
        );
    }

    #[test]
    fn header_names_are_trimmed_and_a_bom_is_dropped() {
        let prepared = prepare_ok(b"\xef\xbb\xbf id , Name \n1,a\n");
        let names: Vec<&str> = prepared.columns.iter().map(|column| column.name.as_str()).collect();
        assert_eq!(names, vec!["id", "Name"]);
        assert_eq!(prepared.byte_len, 19);
    }

    #[test]
    fn header_only_file_has_no_rows_and_integer_columns() {
        // dbt-core 1.10 seeds a header-only file's columns as `integer`.
        let prepared = prepare_ok(b"a,b\n");
        assert_eq!(prepared.row_count, 0);
        assert!(prepared.columns.iter().all(|column| column.inferred == Integer));
    }

    #[test]
    fn duplicate_header_names_are_an_error_ignoring_case() {
        let error = prepare_with(b"id,name,ID\n1,a,2\n", &SeedOptions::default()).unwrap_err();
        match error {
            SeedError::DuplicateColumnName {
                line,
                column,
                first_column,
                ..
            } => assert_eq!((line, column, first_column), (1, 3, 1)),
            other => panic!("unexpected error: {other}"),
        }
    }

    /// The line and field of each warning.
    fn warned_at(prepared: &PreparedSeed) -> Vec<(u64, usize)> {
        prepared
            .warnings
            .iter()
            .map(|warning| (warning.line, warning.field))
            .collect()
    }

    /// dbt 1.10 loads these with agate's names (`b`, `id_2`) and a warning
    /// of agate's; so does dvt, warning on the header line.
    #[test]
    fn empty_and_repeated_header_names_load_with_dbts_names() {
        let prepared = prepare_ok(b"id,  ,name\n1,2,3\n");
        let names: Vec<&str> = prepared.columns.iter().map(|column| column.name.as_str()).collect();
        assert_eq!(names, ["id", "b", "name"]);
        assert_eq!(warned_at(&prepared), [(1, 2)]);
        let prepared = prepare_ok(b"id,name,id,id\n1,2,3,4\n");
        let names: Vec<&str> = prepared.columns.iter().map(|column| column.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "id_2", "id_3"]);
        assert_eq!(prepared.warnings.len(), 2);
        assert_eq!(letter_name(0), "a");
        assert_eq!(letter_name(27), "bb");
    }

    /// dbt 1.10 loads `1,"a` and what follows as one row; dvt warns where the quote opens.
    #[test]
    fn an_unclosed_quote_runs_to_the_end_with_a_warning() {
        let prepared = prepare_ok(b"id,name\n1,\"a\n2,b\n");
        assert_eq!(prepared.row_count, 1);
        assert_eq!(warned_at(&prepared), [(2, 2)]);
        assert!(prepare_ok(b"id,name\n1,\"a \"\"b\"\"\"\n").warnings.is_empty());
    }

    #[test]
    fn empty_file_is_an_error() {
        for contents in [&b""[..], b"\n\n", b"\xef\xbb\xbf"] {
            let error = prepare_with(contents, &SeedOptions::default()).unwrap_err();
            assert!(matches!(error, SeedError::Empty { line: 1, .. }), "{error}");
            assert!(error.to_string().contains("hint: the first line must be a header"));
        }
    }

    #[test]
    fn missing_file_is_an_io_error_with_source() {
        let directory = tempfile::tempdir().expect("create temp dir");
        let missing = directory.path().join("missing.csv");
        let error = prepare(&missing, "seeds/missing.csv", &SeedOptions::default()).unwrap_err();
        assert!(matches!(&error, SeedError::Io { line: None, .. }), "{error}");
        let source = std::error::Error::source(&error).expect("io error kept as source");
        assert!(source.downcast_ref::<io::Error>().is_some());
        assert_eq!(error.path(), "seeds/missing.csv");
    }

    #[test]
    fn ragged_row_reports_the_physical_line_after_multi_line_fields() {
        let contents = b"id,note\n1,\"first\nsecond\nthird\"\n2,plain\n\n3,too,many\n";
        let error = prepare_with(contents, &SeedOptions::default()).unwrap_err();
        match &error {
            SeedError::RaggedRow {
                line, expected, found, ..
            } => assert_eq!((*line, *expected, *found), (7, 2, 3)),
            other => panic!("unexpected error: {other}"),
        }
        assert!(error
            .to_string()
            .starts_with("seeds/test.csv:7: row has 3 fields but the header has 2 columns"));
    }

    #[test]
    fn ragged_row_line_is_right_with_crlf_and_no_final_newline() {
        let contents = b"id,note\r\n1,\"a\r\nb\"\r\n\r\n2";
        let error = prepare_with(contents, &SeedOptions::default()).unwrap_err();
        assert!(
            matches!(error, SeedError::RaggedRow { line: 5, found: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn invalid_utf8_reports_line_column_and_byte_offset() {
        let contents = b"id,name\n1,\"multi\nline\"\n2,caf\xe9\n";
        let error = prepare_with(contents, &SeedOptions::default()).unwrap_err();
        match &error {
            SeedError::InvalidUtf8 {
                line,
                column,
                column_name,
                byte_offset,
                ..
            } => {
                assert_eq!((*line, *column), (4, 2));
                assert_eq!(column_name.as_deref(), Some("name"));
                assert_eq!(*byte_offset, 28);
                assert_eq!(contents[*byte_offset as usize], 0xe9);
            }
            other => panic!("unexpected error: {other}"),
        }
        assert!(error.to_string().contains("hint: save the file as UTF-8"));
    }

    #[test]
    fn invalid_utf8_split_across_fields_is_caught() {
        // Each field alone is invalid, though the two concatenated are `é`.
        let error = prepare_with(b"a,b\n\xc3,\xa9\n", &SeedOptions::default()).unwrap_err();
        assert!(
            matches!(
                error,
                SeedError::InvalidUtf8 {
                    line: 2,
                    column: 1,
                    byte_offset: 4,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn invalid_utf8_in_the_header_is_an_error() {
        let error = prepare_with(b"id,n\xffme\n1,2\n", &SeedOptions::default()).unwrap_err();
        assert!(
            matches!(
                error,
                SeedError::InvalidUtf8 {
                    line: 1,
                    column: 2,
                    column_name: None,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn custom_delimiters_are_read_and_written_as_commas() {
        for delimiter in [b';', b'|'] {
            let separator = char::from(delimiter);
            let contents = format!(
                "id{separator}amount{separator}note\n1{separator}1.5{separator}a,b\n2{separator}{separator}c\n"
            );
            let options = SeedOptions {
                delimiter,
                ..SeedOptions::default()
            };
            let prepared = prepare_with(contents.as_bytes(), &options).expect("seed prepares");
            let types: Vec<InferredType> = prepared.columns.iter().map(|column| column.inferred).collect();
            assert_eq!(types, vec![Integer, Numeric, Text]);
            let (output, rows, _) = encode_with(contents.as_bytes(), &options);
            assert_eq!(rows, 2);
            assert_eq!(String::from_utf8(output).expect("utf-8"), "1,1.5,\"a,b\"\n2,,c\n");
        }
    }

    #[test]
    fn invalid_delimiter_is_an_error() {
        let options = SeedOptions {
            delimiter: b'"',
            ..SeedOptions::default()
        };
        let error = prepare_with(b"a\n1\n", &options).unwrap_err();
        assert!(
            matches!(error, SeedError::InvalidDelimiter { delimiter: b'"', .. }),
            "{error}"
        );
    }

    #[test]
    fn copy_csv_output_quotes_only_when_needed() {
        let contents = "id,text,other\n\
                        1,plain,\n\
                        2,\"with, comma\",\"say \"\"hi\"\"\"\n\
                        3,\"two\nlines\",  spaced  \n\
                        4,,\\.\n\
                        5,\"cr\rhere\",é\n";
        let (output, rows, progress) = encode_with(contents.as_bytes(), &SeedOptions::default());
        assert_eq!(rows, 5);
        assert_eq!(
            String::from_utf8(output).expect("utf-8"),
            "1,plain,\n\
             2,\"with, comma\",\"say \"\"hi\"\"\"\n\
             3,\"two\nlines\",  spaced  \n\
             4,,\"\\.\"\n\
             5,\"cr\rhere\",é\n"
        );
        assert_eq!(progress.last().copied(), Some(contents.len() as u64));
    }

    #[test]
    fn copy_csv_output_is_chunked_and_reports_progress() {
        let mut contents = String::from("id,payload\n");
        for number in 0..40_000 {
            contents.push_str(&format!("{number},{}\n", "x".repeat(70)));
        }
        let file = write_seed(contents.as_bytes());
        let options = SeedOptions::default();
        let prepared = prepare(file.path(), "seeds/big.csv", &options).expect("seed prepares");
        assert_eq!(prepared.byte_len, contents.len() as u64);
        let mut chunk_sizes = Vec::new();
        let mut total = Vec::new();
        let mut progress = Vec::new();
        let rows = encode_copy_csv(
            file.path(),
            "seeds/big.csv",
            &prepared,
            &options,
            &mut |chunk| {
                chunk_sizes.push(chunk.len());
                total.extend_from_slice(chunk);
                Ok(())
            },
            &mut |bytes| progress.push(bytes),
        )
        .expect("seed encodes");
        assert_eq!(rows, 40_000);
        assert!(chunk_sizes.len() >= 2, "chunks: {chunk_sizes:?}");
        assert!(chunk_sizes[..chunk_sizes.len() - 1]
            .iter()
            .all(|size| (CHUNK_SIZE..CHUNK_SIZE + 1024).contains(size)));
        assert_eq!(total, contents.as_bytes()["id,payload\n".len()..]);
        assert!(progress.windows(2).all(|pair| pair[0] < pair[1]), "{progress:?}");
        assert_eq!(progress.last().copied(), Some(prepared.byte_len));
    }

    #[test]
    fn sink_errors_stop_encoding() {
        let file = write_seed(b"id\n1\n");
        let options = SeedOptions::default();
        let prepared = prepare(file.path(), "seeds/test.csv", &options).expect("seed prepares");
        let result = encode_copy_csv(
            file.path(),
            "seeds/test.csv",
            &prepared,
            &options,
            &mut |_| {
                Err(SeedError::ChangedDuringLoad {
                    path: "sink".to_string(),
                })
            },
            &mut |_| {},
        );
        assert!(matches!(result, Err(SeedError::ChangedDuringLoad { path }) if path == "sink"));
    }

    #[test]
    fn encoding_a_file_that_changed_since_prepare_is_an_error() {
        let mut file = write_seed(b"id\n1\n2\n");
        let options = SeedOptions::default();
        let prepared = prepare(file.path(), "seeds/test.csv", &options).expect("seed prepares");
        file.write_all(b"3\n").expect("append");
        file.flush().expect("flush");
        let result = encode_copy_csv(
            file.path(),
            "seeds/test.csv",
            &prepared,
            &options,
            &mut |_| Ok(()),
            &mut |_| {},
        );
        assert!(matches!(result, Err(SeedError::ChangedDuringLoad { .. })), "{result:?}");
    }

    #[test]
    fn overrides_are_matched_ignoring_case_and_win_over_inference() {
        let options = with_overrides(&[("ZIP", "varchar(5)"), ("Amount", "numeric(10,2)")]);
        let prepared = prepare_with(b"zip,amount,id\n02134,1.5,1\n", &options).expect("seed prepares");
        let data_types: Vec<String> = prepared
            .columns
            .iter()
            .map(|column| column.data_type(|inferred| inferred.postgres_type()))
            .collect();
        assert_eq!(data_types, vec!["varchar(5)", "numeric(10,2)", "integer"]);
        assert_eq!(prepared.columns[0].inferred, Text);
        assert_eq!(prepared.columns[1].inferred, Numeric);
    }

    #[test]
    fn override_validation_reports_line_and_column() {
        let options = with_overrides(&[("amount", "numeric")]);
        let contents = b"id,note,amount\n1,\"two\nlines\",1.5\n2,ok,abc\n";
        let error = prepare_with(contents, &options).unwrap_err();
        let SeedError::InvalidValue(invalid) = &error else {
            panic!("unexpected error: {error}");
        };
        assert_eq!((invalid.line, invalid.column), (4, 3));
        assert_eq!(
            (
                invalid.column_name.as_str(),
                invalid.value.as_str(),
                invalid.data_type.as_str()
            ),
            ("amount", "abc", "numeric")
        );
        let message = error.to_string();
        assert!(
            message.starts_with(
                "seeds/test.csv:4: value `abc` in column `amount` (column 3) is not a valid numeric\nhint: "
            ),
            "{message}"
        );
        assert_eq!(error.line(), Some(4));
        assert_eq!(error.column(), Some(3));
    }

    #[test]
    fn override_error_line_points_inside_a_multi_line_record() {
        let options = with_overrides(&[("id", "integer")]);
        let error = prepare_with(b"note,id\n\"a\nb\nc\",x\n", &options).unwrap_err();
        assert!(
            matches!(error, SeedError::InvalidValue(_)) && error.line() == Some(4) && error.column() == Some(2),
            "{error}"
        );
    }

    #[test]
    fn integer_overrides_check_range() {
        let options = with_overrides(&[("small", "smallint"), ("big", "int8")]);
        assert!(prepare_with(b"small,big\n 32767 ,-9223372036854775808\n+007,0\n", &options).is_ok());
        let error = prepare_with(b"small,big\n32768,1\n", &options).unwrap_err();
        assert!(error.to_string().contains("is out of range for smallint"), "{error}");
        let error = prepare_with(b"small,big\n1,9223372036854775808\n", &options).unwrap_err();
        assert!(
            matches!(error, SeedError::InvalidValue(_)) && error.column() == Some(2),
            "{error}"
        );
        let error = prepare_with(b"small,big\n1.5,1\n", &options).unwrap_err();
        assert!(error.to_string().contains("is not a valid smallint"), "{error}");
    }

    #[test]
    fn numeric_overrides_check_precision_after_rounding() {
        let options = with_overrides(&[("amount", "NUMERIC( 5 , 2 )")]);
        assert!(prepare_with(b"amount\n999.994\n-123.45\n0.001\n1.5e2\nNaN\n", &options).is_ok());
        for value in ["999.995", "1000", "1e3", "Infinity"] {
            let contents = format!("amount\n{value}\n");
            let error = prepare_with(contents.as_bytes(), &options).unwrap_err();
            assert!(
                matches!(error, SeedError::InvalidValue(_)) && error.line() == Some(2),
                "value `{value}`: {error}"
            );
        }
        let unconstrained = with_overrides(&[("amount", "decimal")]);
        assert!(prepare_with(b"amount\n+.5\n5.\n-Infinity\n1e1000\n", &unconstrained).is_ok());
        assert!(prepare_with(b"amount\n1e1001\n", &unconstrained).is_err());
    }

    #[test]
    fn float_overrides_accept_special_values_and_reject_overflow() {
        let options = with_overrides(&[("ratio", "double precision"), ("small", "real")]);
        assert!(prepare_with(b"ratio,small\nNaN,-inf\n1e300,3.4e38\n", &options).is_ok());
        assert!(prepare_with(b"ratio,small\n1,1e39\n", &options).is_err());
        assert!(prepare_with(b"ratio,small\n1e-400,1\n", &options).is_err());
        assert!(prepare_with(b"ratio,small\nabc,1\n", &options).is_err());
    }

    // dbt-utils' `data_test_sequential_timestamps` seed: `2021-01-01 00:00`
    // under `column_types: {my_timestamp: timestamp}`, which dbt-core loads.
    #[test]
    fn timestamp_overrides_accept_values_without_seconds() {
        let options = with_overrides(&[("at", "timestamp"), ("at_tz", "timestamptz")]);
        assert!(prepare_with(
            b"at,at_tz
2021-01-01 00:00,2021-01-01 00:00+02
",
            &options
        )
        .is_ok());
        assert!(prepare_with(
            b"at,at_tz
2021-01-01 00:60,2021-01-01 00:00
",
            &options
        )
        .is_err());
        assert!(prepare_with(
            b"at,at_tz
2021-01-01 00:00:,2021-01-01 00:00
",
            &options
        )
        .is_err());
    }

    #[test]
    fn boolean_override_accepts_postgres_spellings() {
        let options = with_overrides(&[("flag", "bool")]);
        let prepared = prepare_with(b"flag\n1\n0\nyes\nOFF\nt\n", &options).expect("seed prepares");
        assert_eq!(
            prepared.columns[0].data_type(|inferred| inferred.postgres_type()),
            "bool"
        );
        assert_eq!(prepared.columns[0].inferred, Text);
        let error = prepare_with(b"flag\n1\nmaybe\n", &options).unwrap_err();
        assert!(
            matches!(error, SeedError::InvalidValue(_)) && error.line() == Some(3),
            "{error}"
        );
    }

    #[test]
    fn date_and_timestamp_overrides_refuse_silent_truncation() {
        let date = with_overrides(&[("day", "date")]);
        assert!(prepare_with(b"day\n2024-01-31\ninfinity\n", &date).is_ok());
        let error = prepare_with(b"day\n2024-01-31 10:00:00\n", &date).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("has a time of day, which date would silently drop"),
            "{error}"
        );
        let error = prepare_with(b"day\n31/01/2024\n", &date).unwrap_err();
        assert!(error.to_string().contains("is not a valid date"), "{error}");

        let timestamp = with_overrides(&[("at", "timestamp(3) without time zone")]);
        assert!(prepare_with(b"at\n2024-01-31\n2024-01-31T10:00:00.5\n", &timestamp).is_ok());
        let error = prepare_with(b"at\n2024-01-31 10:00:00+02\n", &timestamp).unwrap_err();
        assert!(error.to_string().contains("has a UTC offset"), "{error}");

        let timestamptz = with_overrides(&[("at", "timestamptz")]);
        assert!(prepare_with(
            b"at\n2024-01-31\n2024-01-31 10:00:00\n2024-01-31 10:00:00Z\n",
            &timestamptz
        )
        .is_ok());
    }

    #[test]
    fn varchar_override_checks_length_in_characters() {
        let options = with_overrides(&[("code", "character varying(3)")]);
        assert!(prepare_with("code\nabc\néé\nab   \n".as_bytes(), &options).is_ok());
        let error = prepare_with(b"code\nabcd\n", &options).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is 4 characters long, but character varying(3) holds at most 3"),
            "{error}"
        );
        let single = with_overrides(&[("code", "char")]);
        assert!(prepare_with(b"code\nab\n", &single).is_err());
    }

    #[test]
    fn unrecognised_override_types_are_not_validated() {
        let options = with_overrides(&[("id", "uuid"), ("tags", "integer[]"), ("note", "varchar")]);
        let prepared = prepare_with(b"id,tags,note\nnot-a-uuid,{1},anything\n", &options).expect("seed prepares");
        assert_eq!(
            prepared.columns[1].data_type(|inferred| inferred.postgres_type()),
            "integer[]"
        );
    }

    #[test]
    fn unknown_override_column_suggests_the_closest_name() {
        let options = with_overrides(&[("amout", "numeric")]);
        let error = prepare_with(b"id,amount\n1,2\n", &options).unwrap_err();
        assert!(
            matches!(&error, SeedError::UnknownOverrideColumn { key, line: 1, .. } if key == "amout"),
            "{error}"
        );
        assert!(error.to_string().ends_with("hint: did you mean `amount`?"), "{error}");

        let options = with_overrides(&[("zzz", "numeric")]);
        let error = prepare_with(b"id,amount\n1,2\n", &options).unwrap_err();
        assert!(
            error.to_string().ends_with("hint: the columns are `id`, `amount`"),
            "{error}"
        );
    }

    #[test]
    fn two_overrides_for_one_column_are_an_error() {
        let options = with_overrides(&[("ID", "bigint"), ("id", "integer")]);
        let error = prepare_with(b"id\n1\n", &options).unwrap_err();
        assert!(matches!(error, SeedError::ConflictingOverrides { .. }), "{error}");
    }

    #[test]
    fn long_values_are_shortened_in_errors() {
        let options = with_overrides(&[("id", "integer")]);
        let contents = format!("id\n\"{}\nx\"\n", "y".repeat(100));
        let error = prepare_with(contents.as_bytes(), &options).unwrap_err();
        let SeedError::InvalidValue(invalid) = error else {
            panic!("unexpected error: {error}");
        };
        assert_eq!(invalid.value, format!("{}…", "y".repeat(60)));
        assert_eq!(display_value(b"a\nb"), "a\\nb");
    }

    /// Property tests: reading any bytes never panics, and a value of each
    /// inferred type, printed and read again, keeps its type, alone in a
    /// column or in a written CSV. `PROPTEST_CASES` runs more (`bench/fuzz.sh`).
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// A value printed as a CSV writer would, with the type it must be inferred as.
        fn typed_value() -> impl Strategy<Value = (String, InferredType)> {
            let date = || (1i32..=9999, 1u32..=12, 1u32..=28);
            prop_oneof![
                any::<i32>().prop_map(|number| (number.to_string(), InferredType::Integer)),
                any::<i64>()
                    .prop_filter("outside i32", |number| i32::try_from(*number).is_err())
                    .prop_map(|number| (number.to_string(), InferredType::BigInt)),
                (any::<i64>(), 0u32..1_000_000, prop::option::of(-300i32..300)).prop_map(
                    |(whole, fraction, exponent)| {
                        let exponent = exponent.map(|exponent| format!("e{exponent}")).unwrap_or_default();
                        (format!("{whole}.{fraction}{exponent}"), InferredType::Numeric)
                    }
                ),
                prop_oneof![Just("true"), Just("false"), Just("TRUE"), Just("False")]
                    .prop_map(|text| (text.to_string(), InferredType::Boolean)),
                date().prop_map(|(year, month, day)| (format!("{year:04}-{month:02}-{day:02}"), InferredType::Date)),
                (date(), 0u32..24, 0u32..60, 0u32..60, any::<bool>()).prop_map(
                    |((year, month, day), hour, minute, second, t)| {
                        let separator = if t { 'T' } else { ' ' };
                        (
                            format!("{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}"),
                            InferredType::Timestamp,
                        )
                    }
                ),
                (date(), 0u32..24, 0u32..60, -12i32..=14).prop_map(|((year, month, day), hour, minute, offset)| {
                    let zone = if offset == 0 {
                        "Z".to_string()
                    } else {
                        format!("{offset:+03}:00")
                    };
                    (
                        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:00{zone}"),
                        InferredType::TimestampTz,
                    )
                }),
                "[a-zA-Z][a-zA-Z ,\"']{0,12}"
                    .prop_filter("not a boolean", |text| !text.eq_ignore_ascii_case("true")
                        && !text.eq_ignore_ascii_case("false"))
                    .prop_map(|text| (text, InferredType::Text)),
            ]
        }

        proptest! {
            #[test]
            fn fuzz_seed_classify_never_panics(value in prop::collection::vec(any::<u8>(), 0..40)) {
                let _ = classify(&value);
                let _ = classify_temporal(&value, true);
            }

            #[test]
            fn fuzz_seed_prepare_never_panics(contents in prop::collection::vec(prop_oneof![
                Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'1'), Just(b'a'), Just(0xFF), Just(0xC3), any::<u8>()
            ], 0..200)) {
                let _ = prepare_with(&contents, &SeedOptions::default());
            }

            #[test]
            fn fuzz_seed_value_keeps_its_type((value, inferred) in typed_value()) {
                prop_assert_eq!(classify(value.as_bytes()), inferred, "`{}`", value);
            }

            #[test]
            fn fuzz_seed_csv_keeps_column_types(columns in prop::collection::vec(
                (typed_value(), prop::collection::vec(typed_value(), 0..5)), 1..5
            )) {
                // Each column holds values of one type: its first value's,
                // repeated with other values of that type where they agree.
                let columns: Vec<(InferredType, Vec<String>)> = columns
                    .into_iter()
                    .map(|((first, inferred), others)| {
                        let mut values = vec![first];
                        values.extend(others.into_iter().filter(|(_, other)| *other == inferred).map(|(value, _)| value));
                        (inferred, values)
                    })
                    .collect();
                let rows = columns.iter().map(|(_, values)| values.len()).max().unwrap_or(0);
                let mut writer = csv::Writer::from_writer(Vec::new());
                let header: Vec<String> = (0..columns.len()).map(|index| format!("c{index}")).collect();
                writer.write_record(&header).map_err(|error| TestCaseError::fail(error.to_string()))?;
                for row in 0..rows {
                    let record: Vec<&str> = columns
                        .iter()
                        .map(|(_, values)| values.get(row).map_or("", String::as_str))
                        .collect();
                    writer.write_record(&record).map_err(|error| TestCaseError::fail(error.to_string()))?;
                }
                let contents = writer.into_inner().map_err(|error| TestCaseError::fail(error.to_string()))?;
                let prepared = prepare_with(&contents, &SeedOptions::default())
                    .map_err(|error| TestCaseError::fail(format!("{error}\n{}", String::from_utf8_lossy(&contents))))?;
                prop_assert_eq!(prepared.row_count, rows as u64);
                let inferred: Vec<InferredType> = prepared.columns.iter().map(|column| column.inferred).collect();
                let expected: Vec<InferredType> = columns.iter().map(|(inferred, _)| *inferred).collect();
                prop_assert_eq!(inferred, expected, "{}", String::from_utf8_lossy(&contents));
            }
        }
    }
}
