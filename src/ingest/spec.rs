//! The `ingest:` block of a source table: which Kafka topics feed the table,
//! in which format, and how a message becomes a row.
//!
//! ```yaml
//! sources:
//!   - name: events
//!     schema: bronze
//!     tables:
//!       - name: rental_events
//!         ingest:
//!           topics: [rental_events]        # or `topic: rental_events`
//!           format: json                    # avro and protobuf are reserved
//!           mapping: typed                  # or raw
//!           columns:                        # typed only
//!             - {name: rental_id, type: bigint, path: $.rental_id}
//!             - {name: amount, type: numeric(10,2), path: $.payment.amount}
//!           batch: {rows: 50000, latency: 1s}
//!           dead_letter: bronze.rental_events__dead_letter
//! ```
//!
//! The block may also sit under the table's `meta:` or `config:` (or
//! `config: {meta: ...}`), where dbt users keep tool-specific settings. This
//! module turns the block into an [`IngestSpec`], and every problem into a
//! [`Diagnostic`] at its line in the YAML file. It does not read messages or
//! talk to Kafka or the warehouse.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::adapter::Relation;
use crate::diagnostic::{did_you_mean, Diagnostic, Location};
use crate::duration::parse_duration;
use crate::yaml::LineIndex;

/// The keys an `ingest:` block may hold.
const KEYS: &[&str] = &[
    "topics",
    "topic",
    "lake",
    "format",
    "mapping",
    "columns",
    "batch",
    "dead_letter",
];
const COLUMN_KEYS: &[&str] = &["name", "type", "data_type", "path", "description"];
const BATCH_KEYS: &[&str] = &["rows", "latency"];
const FORMATS: &[&str] = &["json", "parquet", "avro", "protobuf"];
/// The keys of a Kafka ingest that a lake ingest (`lake:`) has no use for.
const KAFKA_ONLY_KEYS: &[&str] = &["topics", "topic", "mapping", "columns", "batch", "dead_letter"];
const MAPPINGS: &[&str] = &["raw", "typed"];
/// The type names the `typed` mapping knows, as written in YAML.
const TYPE_NAMES: &[&str] = &[
    "integer",
    "bigint",
    "numeric",
    "double",
    "double precision",
    "boolean",
    "text",
    "varchar",
    "date",
    "timestamp",
    "timestamptz",
    "jsonb",
    "uuid",
];

/// The micro-batch limits when the block sets none.
pub const DEFAULT_BATCH_ROWS: usize = 50_000;
pub const DEFAULT_BATCH_LATENCY: Duration = Duration::from_secs(1);

/// Kafka's limit on the length of a topic name.
const MAX_TOPIC_NAME_LENGTH: usize = 249;
/// PostgreSQL's limit on `varchar(n)`.
const MAX_VARCHAR_LENGTH: u32 = 10_485_760;
/// PostgreSQL's limit on the precision of `numeric(p,s)`.
const MAX_NUMERIC_PRECISION: u32 = 1000;

/// The columns every `typed` table gets after the declared ones, and that
/// declared columns may therefore not be named.
pub const TYPED_METADATA_COLUMNS: &[&str] = &["topic", "partition", "offset", "event_timestamp", "ingested_at"];

/// How one source table is fed from Kafka.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSpec {
    /// The topics, in the order written, without duplicates.
    pub topics: Vec<String>,
    pub format: Format,
    pub mapping: Mapping,
    pub batch: BatchLimits,
    /// Where messages that cannot become rows go; `None` for the default,
    /// `<schema>.<table>__dead_letter` next to the bronze table.
    pub dead_letter: Option<DeadLetterName>,
    /// For `lake: <prefix>`: the Parquet files under this prefix of the
    /// target's `s3_bucket` are loaded instead of Kafka topics (`topics` is
    /// then empty).
    pub lake: Option<String>,
    /// The block as written (after Jinja), for the manifest.
    pub declared: Value,
    /// The schema file and the line of the `ingest:` key.
    pub file: String,
    pub line: usize,
}

impl IngestSpec {
    /// The dead-letter table of a bronze table.
    pub fn dead_letter_relation(&self, bronze: &Relation) -> Relation {
        match &self.dead_letter {
            Some(name) => Relation {
                database: name.database.clone().or_else(|| bronze.database.clone()),
                schema: name.schema.clone().unwrap_or_else(|| bronze.schema.clone()),
                identifier: name.identifier.clone(),
            },
            None => bronze.with_identifier(format!("{}__dead_letter", bronze.identifier)),
        }
    }
}

/// The encoding of message payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// Parquet files in the lake (`lake:`), not Kafka messages.
    Parquet,
}

/// How a message becomes a row of the bronze table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The payload as `jsonb`, with the key, headers and Kafka metadata.
    Raw,
    /// Declared columns, each extracted from the payload by a JSON path.
    Typed(Vec<TypedColumn>),
}

/// One declared column of a `typed` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedColumn {
    pub name: String,
    pub data_type: ColumnType,
    /// Where the value is in the payload. A path that leads nowhere gives
    /// NULL, as does a JSON `null`.
    pub path: JsonPath,
    pub line: usize,
}

/// The types a `typed` column may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    BigInt,
    /// `numeric`, or `numeric(precision, scale)`.
    Numeric(Option<(u32, u32)>),
    Double,
    Boolean,
    Text,
    Varchar(u32),
    Date,
    Timestamp,
    TimestampTz,
    Jsonb,
    Uuid,
}

impl ColumnType {
    /// Reads a type as written in YAML; `None` when dvt does not know it.
    /// Common PostgreSQL spellings are accepted (`int`, `int8`, `decimal`,
    /// `float8`, `bool`, `character varying(n)`, `timestamp with time zone`).
    pub fn parse(text: &str) -> Option<ColumnType> {
        let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let (base, arguments) = match normalized.split_once('(') {
            Some((base, rest)) => {
                let arguments = rest.strip_suffix(')')?;
                let numbers: Option<Vec<u32>> = arguments
                    .split(',')
                    .map(|argument| argument.trim().parse().ok())
                    .collect();
                (base.trim().to_string(), Some(numbers?))
            }
            None => (normalized, None),
        };
        let column_type = match (base.as_str(), arguments.as_deref()) {
            ("integer" | "int" | "int4", None) => ColumnType::Integer,
            ("bigint" | "int8", None) => ColumnType::BigInt,
            ("numeric" | "decimal", None) => ColumnType::Numeric(None),
            ("numeric" | "decimal", Some(&[precision])) => ColumnType::Numeric(Some((precision, 0))),
            ("numeric" | "decimal", Some(&[precision, scale])) => ColumnType::Numeric(Some((precision, scale))),
            ("double" | "double precision" | "float8" | "float", None) => ColumnType::Double,
            ("boolean" | "bool", None) => ColumnType::Boolean,
            ("text" | "string", None) => ColumnType::Text,
            ("varchar" | "character varying", Some(&[length])) => ColumnType::Varchar(length),
            ("date", None) => ColumnType::Date,
            ("timestamp" | "timestamp without time zone", None) => ColumnType::Timestamp,
            ("timestamptz" | "timestamp with time zone", None) => ColumnType::TimestampTz,
            ("jsonb" | "json", None) => ColumnType::Jsonb,
            ("uuid", None) => ColumnType::Uuid,
            _ => return None,
        };
        Some(column_type)
    }

    /// Why the type's arguments are out of range, if they are.
    fn argument_problem(self) -> Option<String> {
        match self {
            ColumnType::Numeric(Some((precision, scale))) => {
                if !(1..=MAX_NUMERIC_PRECISION).contains(&precision) {
                    Some(format!(
                        "the precision of numeric must be between 1 and {MAX_NUMERIC_PRECISION}"
                    ))
                } else if scale > precision {
                    Some(format!(
                        "the scale of numeric({precision},{scale}) exceeds its precision"
                    ))
                } else {
                    None
                }
            }
            ColumnType::Varchar(length) if !(1..=MAX_VARCHAR_LENGTH).contains(&length) => Some(format!(
                "the length of varchar must be between 1 and {MAX_VARCHAR_LENGTH}"
            )),
            _ => None,
        }
    }

    /// The type as PostgreSQL spells it in `create table`.
    pub fn sql(self) -> String {
        match self {
            ColumnType::Integer => "integer".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::Numeric(None) => "numeric".into(),
            ColumnType::Numeric(Some((precision, scale))) => format!("numeric({precision},{scale})"),
            ColumnType::Double => "double precision".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Text => "text".into(),
            ColumnType::Varchar(length) => format!("varchar({length})"),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp".into(),
            ColumnType::TimestampTz => "timestamptz".into(),
            ColumnType::Jsonb => "jsonb".into(),
            ColumnType::Uuid => "uuid".into(),
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.sql())
    }
}

/// A JSON path of the supported subset: `$`, then any of `.key`, `[0]` and
/// `['key with spaces']` (or `["..."]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath {
    pub steps: Vec<PathStep>,
    /// The path as written.
    pub text: String,
}

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses a path; `Err` says what is wrong, with a hint.
    pub fn parse(text: &str) -> Result<JsonPath, (String, &'static str)> {
        const HINT: &str = "write paths such as `$.payment.amount`, `$.items[0]` or `$['key with spaces']`";
        let Some(mut rest) = text.trim().strip_prefix('$') else {
            return Err((format!("JSON path `{text}` must start with `$`"), HINT));
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if rest.starts_with("..") {
                return Err((
                    format!("JSON path `{text}` uses `..` (recursive descent), which dvt does not support"),
                    "name each step: `$.a.b`",
                ));
            }
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return Err((format!("JSON path `{text}` has an empty key after `.`"), HINT));
                }
                if key == "*" {
                    return Err((
                        format!("JSON path `{text}` uses a wildcard, which dvt does not support"),
                        HINT,
                    ));
                }
                if key.contains([']', ' ', '\'', '"']) {
                    return Err((
                        format!("JSON path `{text}` has the key `{key}`, which needs brackets"),
                        "write a key holding spaces, quotes or brackets as `$['my key']`",
                    ));
                }
                steps.push(PathStep::Key(key.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let (step, remaining) = parse_bracket(text, after)?;
                steps.push(step);
                rest = remaining;
            } else {
                return Err((
                    format!("JSON path `{text}` has `{rest}` where `.key` or `[...]` should be"),
                    HINT,
                ));
            }
        }
        Ok(JsonPath {
            steps,
            text: text.trim().to_string(),
        })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// The inside of `[...]`; returns the step and the text after `]`.
fn parse_bracket<'a>(path: &str, after: &'a str) -> Result<(PathStep, &'a str), (String, &'static str)> {
    let unclosed = || {
        (
            format!("JSON path `{path}` has an unclosed `[`"),
            "close it: `$.items[0]` or `$['key']`",
        )
    };
    if let Some(quote) = after.chars().next().filter(|character| matches!(character, '\'' | '"')) {
        let mut key = String::new();
        let mut characters = after[1..].char_indices();
        while let Some((index, character)) = characters.next() {
            match character {
                '\\' => match characters.next() {
                    Some((_, escaped)) => key.push(escaped),
                    None => return Err(unclosed()),
                },
                character if character == quote => {
                    let remaining = &after[1 + index + 1..];
                    let Some(remaining) = remaining.strip_prefix(']') else {
                        return Err(unclosed());
                    };
                    return Ok((PathStep::Key(key), remaining));
                }
                character => key.push(character),
            }
        }
        return Err(unclosed());
    }
    let Some(close) = after.find(']') else {
        return Err(unclosed());
    };
    let inside = after[..close].trim();
    match inside.parse::<usize>() {
        Ok(index) => Ok((PathStep::Index(index), &after[close + 1..])),
        Err(_) if inside == "*" => Err((
            format!("JSON path `{path}` uses a wildcard, which dvt does not support"),
            "extract one element, such as `$.items[0]`, or the whole array as `jsonb`",
        )),
        Err(_) if inside.starts_with('-') => Err((
            format!("JSON path `{path}` counts from the end of an array, which dvt does not support"),
            "use an index from the start, such as `[0]`, or extract the whole array as `jsonb`",
        )),
        Err(_) => Err((
            format!("JSON path `{path}` has `[{inside}]`, which is neither an index nor a quoted key"),
            "write `[0]` for an array element, or `['key']` for a key",
        )),
    }
}

/// The micro-batch limits of `dvt ingest --follow`: a batch is committed when
/// it holds `rows` messages or its first message is `latency` old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub rows: usize,
    pub latency: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            rows: DEFAULT_BATCH_ROWS,
            latency: DEFAULT_BATCH_LATENCY,
        }
    }
}

/// A dead-letter table as written: `table`, `schema.table` or
/// `database.schema.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterName {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub identifier: String,
}

/// A schema file, for pointing at lines in it.
pub struct YamlFile<'a> {
    pub path: &'a str,
    pub contents: &'a str,
    pub lines: &'a LineIndex,
}

impl YamlFile<'_> {
    /// The line of `needle` at or after line `after`, or `after` itself.
    fn line_of(&self, needle: &str, after: usize) -> usize {
        self.lines
            .find_text_line(self.contents, needle, after)
            .map_or(after, |(line, _)| line)
    }

    /// An error at `line`, underlining `needle` when the line holds it, or
    /// else the whole line.
    fn error_at(&self, line: usize, needle: &str, message: String) -> Diagnostic {
        let text = self.lines.line(self.contents, line);
        let (column, length) = match (needle.is_empty(), text.find(needle)) {
            (false, Some(offset)) => (text[..offset].chars().count() + 1, needle.chars().count()),
            _ => {
                let start = text.len() - text.trim_start().len();
                (start + 1, text.trim().chars().count())
            }
        };
        Diagnostic::error(message).at(Location::at(self.path, line, column, length), Some(self.contents))
    }
}

/// Reads an `ingest:` block (`block`, as found by
/// [`crate::render::schema::declared_ingest_block`] and with its Jinja
/// rendered). Every problem is reported, each at its line.
pub fn parse(block: &Value, file: &YamlFile<'_>, table_line: usize) -> Result<IngestSpec, Vec<Diagnostic>> {
    let block_line = file.line_of("ingest:", table_line);
    let mut parser = Parser {
        file,
        block_line,
        errors: Vec::new(),
    };
    let spec = parser.spec(block);
    match spec {
        Some(spec) if parser.errors.is_empty() => Ok(spec),
        _ => Err(parser.errors),
    }
}

struct Parser<'f, 'a> {
    file: &'f YamlFile<'a>,
    block_line: usize,
    errors: Vec<Diagnostic>,
}

impl Parser<'_, '_> {
    /// The line of `key:` inside the block.
    fn key_line(&self, key: &str) -> usize {
        self.file.line_of(&format!("{key}:"), self.block_line)
    }

    fn error(&mut self, line: usize, needle: &str, message: String, hint: &str) {
        let mut diagnostic = self.file.error_at(line, needle, message);
        if !hint.is_empty() {
            diagnostic = diagnostic.hint(hint);
        }
        self.errors.push(diagnostic);
    }

    /// An error for an unknown value, with a did-you-mean among `known`.
    fn unknown(&mut self, line: usize, what: &str, value: &str, known: &[&str], hint: &str) {
        let mut diagnostic = self.file.error_at(line, value, format!("unknown {what} `{value}`"));
        if let Some(suggestion) = did_you_mean(&value.to_lowercase(), known.iter().copied()) {
            diagnostic = diagnostic.label(format!("did you mean `{suggestion}`?"));
        }
        self.errors.push(diagnostic.hint(hint));
    }

    fn unknown_keys(&mut self, object: &Map<String, Value>, known: &[&str], line: usize, owner: &str) {
        for key in object.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let key_line = self.file.line_of(&format!("{key}:"), line);
            let mut diagnostic = self
                .file
                .error_at(key_line, key, format!("unknown key `{key}` in {owner}"));
            if let Some(suggestion) = did_you_mean(key, known.iter().copied()) {
                diagnostic = diagnostic.label(format!("did you mean `{suggestion}`?"));
            }
            let expected = known
                .iter()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.errors.push(diagnostic.hint(format!("{owner} takes {expected}")));
        }
    }

    fn spec(&mut self, block: &Value) -> Option<IngestSpec> {
        let Value::Object(object) = block else {
            self.error(
                self.block_line,
                "ingest",
                "`ingest` must be a mapping".into(),
                "write `ingest:` then `topic: <name>` and `mapping: raw` on the lines below",
            );
            return None;
        };
        self.unknown_keys(object, KEYS, self.block_line, "an ingest block");
        if let Some(prefix) = object.get("lake") {
            return self.lake(object, prefix, block);
        }
        let topics = self.topics(object);
        let format = self.format(object);
        let mapping = self.mapping(object);
        let batch = self.batch(object);
        let dead_letter = self.dead_letter(object);
        Some(IngestSpec {
            topics: topics?,
            format: format?,
            mapping: mapping?,
            batch: batch?,
            dead_letter: dead_letter?,
            lake: None,
            declared: block.clone(),
            file: self.file.path.to_string(),
            line: self.block_line,
        })
    }

    /// `lake: <prefix>`: Parquet files in the lake, loaded as they are.
    fn lake(&mut self, object: &Map<String, Value>, prefix: &Value, block: &Value) -> Option<IngestSpec> {
        let line = self.key_line("lake");
        let text = scalar_text(prefix);
        let trimmed = text.trim_matches('/');
        let mut valid = true;
        if !prefix.is_string() || trimmed.is_empty() {
            self.error(
                line,
                "lake",
                format!("`lake` must name a prefix in the lake, not `{text}`"),
                "write `lake: exports/fct_rental`, a prefix of the target's `s3_bucket`",
            );
            valid = false;
        }
        for key in KAFKA_ONLY_KEYS {
            if object.contains_key(*key) {
                let key_line = self.key_line(key);
                self.error(
                    key_line,
                    key,
                    format!("`{key}` does not apply to an ingest from the lake"),
                    "an ingest block reads either Kafka (`topics`, `mapping`) or Parquet in the lake (`lake:`); keep one",
                );
                valid = false;
            }
        }
        if let Some(format) = object.get("format") {
            let format_text = scalar_text(format);
            if !format_text.eq_ignore_ascii_case("parquet") {
                self.error(
                    self.key_line("format"),
                    &format_text,
                    format!("an ingest from the lake reads Parquet, not `{format_text}`"),
                    "write `format: parquet`, or leave `format` out",
                );
                valid = false;
            }
        }
        valid.then(|| IngestSpec {
            topics: Vec::new(),
            format: Format::Parquet,
            mapping: Mapping::Raw,
            batch: BatchLimits::default(),
            dead_letter: None,
            lake: Some(trimmed.to_string()),
            declared: block.clone(),
            file: self.file.path.to_string(),
            line: self.block_line,
        })
    }

    fn topics(&mut self, object: &Map<String, Value>) -> Option<Vec<String>> {
        let (key, names): (&str, Vec<&Value>) = match (object.get("topics"), object.get("topic")) {
            (Some(_), Some(_)) => {
                self.error(
                    self.key_line("topic"),
                    "topic",
                    "an ingest block has both `topic` and `topics`".into(),
                    "keep one: `topic: name`, or `topics: [a, b]`",
                );
                return None;
            }
            // A misspelled `topics` is already an unknown key, whose
            // did-you-mean says it all: one error, not two.
            (None, None)
                if object
                    .keys()
                    .any(|key| !KEYS.contains(&key.as_str()) && did_you_mean(key, ["topic", "topics"]).is_some()) =>
            {
                return None;
            }
            (None, None) => {
                self.error(
                    self.block_line,
                    "ingest",
                    "an ingest block names no topic".into(),
                    "add `topic: <name>`, or `topics: [a, b]`",
                );
                return None;
            }
            (Some(Value::Array(items)), None) => ("topics", items.iter().collect()),
            (Some(single), None) => ("topics", vec![single]),
            (None, Some(single)) => ("topic", vec![single]),
        };
        let line = self.key_line(key);
        if names.is_empty() {
            self.error(
                line,
                key,
                "`topics` is empty".into(),
                "name at least one topic: `topics: [rental_events]`",
            );
            return None;
        }
        let mut topics: Vec<String> = Vec::new();
        let mut valid = true;
        for name in names {
            let Some(name) = name.as_str() else {
                self.error(
                    line,
                    key,
                    format!("a topic name must be a string, not `{name}`"),
                    "quote it: `topic: \"2024\"`",
                );
                valid = false;
                continue;
            };
            let name_line = self.file.line_of(name, line);
            let legal = name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-'));
            if name.is_empty() || name.len() > MAX_TOPIC_NAME_LENGTH || !legal || name == "." || name == ".." {
                self.error(
                    name_line,
                    name,
                    format!("`{name}` is not a valid Kafka topic name"),
                    "topic names are 1 to 249 characters from `a-z`, `A-Z`, `0-9`, `.`, `_` and `-`",
                );
                valid = false;
            } else if topics.iter().any(|topic| topic == name) {
                self.error(
                    name_line,
                    name,
                    format!("topic `{name}` is listed twice"),
                    "list each topic once",
                );
                valid = false;
            } else {
                topics.push(name.to_string());
            }
        }
        valid.then_some(topics)
    }

    fn format(&mut self, object: &Map<String, Value>) -> Option<Format> {
        let Some(value) = object.get("format") else {
            return Some(Format::Json);
        };
        let line = self.key_line("format");
        let text = scalar_text(value);
        match text.to_lowercase().as_str() {
            "json" => Some(Format::Json),
            "parquet" => {
                self.error(
                    line,
                    &text,
                    "Kafka messages cannot be Parquet".into(),
                    "for Parquet files in the lake, write `lake: <prefix>` instead of `topics`",
                );
                None
            }
            "avro" | "protobuf" => {
                self.error(
                    line,
                    &text,
                    format!("format `{text}` is not supported yet"),
                    "send JSON payloads and use `format: json`; Avro and Protobuf with a schema registry are planned",
                );
                None
            }
            _ => {
                self.unknown(line, "format", &text, FORMATS, "use `format: json`");
                None
            }
        }
    }

    fn mapping(&mut self, object: &Map<String, Value>) -> Option<Mapping> {
        let line = self.key_line("mapping");
        let mapping = match object.get("mapping") {
            None => {
                self.error(
                    self.block_line,
                    "ingest",
                    "an ingest block has no `mapping`".into(),
                    "add `mapping: raw` to keep each payload as jsonb, or `mapping: typed` with `columns:`",
                );
                return None;
            }
            Some(value) => scalar_text(value),
        };
        let columns = object.get("columns").filter(|columns| !columns.is_null());
        match mapping.to_lowercase().as_str() {
            "raw" => {
                if columns.is_some() {
                    self.error(
                        self.key_line("columns"),
                        "columns",
                        "`columns` only applies to `mapping: typed`".into(),
                        "remove `columns`, or set `mapping: typed`",
                    );
                    return None;
                }
                Some(Mapping::Raw)
            }
            "typed" => {
                let Some(columns) = columns else {
                    self.error(
                        line,
                        "mapping",
                        "`mapping: typed` needs `columns`".into(),
                        "add `columns:` with `- {name: id, type: bigint, path: $.id}` entries, or use `mapping: raw`",
                    );
                    return None;
                };
                self.columns(columns).map(Mapping::Typed)
            }
            _ => {
                self.unknown(
                    line,
                    "mapping",
                    &mapping,
                    MAPPINGS,
                    "use `mapping: raw` (the payload as jsonb) or `mapping: typed` (declared columns)",
                );
                None
            }
        }
    }

    fn columns(&mut self, value: &Value) -> Option<Vec<TypedColumn>> {
        let columns_line = self.key_line("columns");
        let items = match value {
            Value::Array(items) if !items.is_empty() => items,
            _ => {
                self.error(
                    columns_line,
                    "columns",
                    "`columns` must be a non-empty list".into(),
                    "write `- {name: id, type: bigint, path: $.id}` for each column",
                );
                return None;
            }
        };
        let mut columns: Vec<TypedColumn> = Vec::new();
        let mut valid = true;
        let mut search_from = columns_line;
        for item in items {
            let Some(entry) = item.as_object() else {
                self.error(
                    columns_line,
                    "columns",
                    "each column must be a mapping with `name` and `type`".into(),
                    "write `- {name: id, type: bigint, path: $.id}`",
                );
                valid = false;
                continue;
            };
            let Some(name) = entry.get("name").map(scalar_text).filter(|name| !name.is_empty()) else {
                self.error(
                    columns_line,
                    "columns",
                    "a column has no `name`".into(),
                    "write `- {name: id, type: bigint, path: $.id}`",
                );
                valid = false;
                continue;
            };
            let line = self
                .file
                .lines
                .find_key_line(self.file.contents, "name", &name, search_from)
                .map_or_else(|| self.file.line_of(&name, search_from), |(line, _)| line);
            search_from = line + 1;
            match self.column(entry, name, line) {
                Some(column) => {
                    if columns.iter().any(|other| other.name == column.name) {
                        self.error(
                            line,
                            &column.name,
                            format!("column `{}` is declared twice", column.name),
                            "give each column its own name",
                        );
                        valid = false;
                    } else {
                        columns.push(column);
                    }
                }
                None => valid = false,
            }
        }
        valid.then_some(columns)
    }

    fn column(&mut self, entry: &Map<String, Value>, name: String, line: usize) -> Option<TypedColumn> {
        self.unknown_keys(entry, COLUMN_KEYS, line, "a typed column");
        let mut valid = true;
        if TYPED_METADATA_COLUMNS.contains(&name.as_str()) {
            self.error(
                line,
                &name,
                format!("column `{name}` clashes with the metadata column of the same name"),
                "typed tables get `topic`, `partition`, `offset`, `event_timestamp` and `ingested_at`; rename the column",
            );
            valid = false;
        }
        let data_type = match entry.get("type").or_else(|| entry.get("data_type")) {
            None => {
                self.error(
                    line,
                    &name,
                    format!("column `{name}` has no `type`"),
                    "add `type: bigint` (or integer, numeric(p,s), double, boolean, text, varchar(n), date, timestamp, timestamptz, jsonb, uuid)",
                );
                None
            }
            Some(value) => {
                let text = scalar_text(value);
                let type_line = self.file.line_of(&text, line);
                match ColumnType::parse(&text) {
                    Some(data_type) => match data_type.argument_problem() {
                        Some(problem) => {
                            self.error(type_line, &text, format!("column `{name}`: {problem}"), "");
                            None
                        }
                        None => Some(data_type),
                    },
                    None => {
                        let base = text.split('(').next().unwrap_or_default().trim().to_string();
                        let mut diagnostic = self.file.error_at(
                            type_line,
                            &text,
                            format!("column `{name}` has the unknown type `{text}`"),
                        );
                        if let Some(suggestion) = did_you_mean(&base.to_lowercase(), TYPE_NAMES.iter().copied()) {
                            diagnostic = diagnostic.label(format!("did you mean `{suggestion}`?"));
                        }
                        self.errors.push(diagnostic.hint(
                            "use integer, bigint, numeric, numeric(p,s), double, boolean, text, varchar(n), date, timestamp, timestamptz, jsonb or uuid",
                        ));
                        None
                    }
                }
            }
        };
        let path = match entry.get("path") {
            None => Some(JsonPath {
                steps: vec![PathStep::Key(name.clone())],
                text: format!("$.{name}"),
            }),
            Some(value) => {
                let text = scalar_text(value);
                let path_line = self.file.line_of(&text, line);
                match JsonPath::parse(&text) {
                    Ok(path) => Some(path),
                    Err((message, hint)) => {
                        self.error(path_line, &text, format!("column `{name}`: {message}"), hint);
                        None
                    }
                }
            }
        };
        if !valid {
            return None;
        }
        Some(TypedColumn {
            name,
            data_type: data_type?,
            path: path?,
            line,
        })
    }

    fn batch(&mut self, object: &Map<String, Value>) -> Option<BatchLimits> {
        let mut limits = BatchLimits::default();
        let Some(value) = object.get("batch").filter(|value| !value.is_null()) else {
            return Some(limits);
        };
        let line = self.key_line("batch");
        let Value::Object(batch) = value else {
            self.error(
                line,
                "batch",
                "`batch` must be a mapping".into(),
                "write `batch: {rows: 50000, latency: 1s}`",
            );
            return None;
        };
        self.unknown_keys(batch, BATCH_KEYS, line, "`batch`");
        let mut valid = true;
        if let Some(rows) = batch.get("rows") {
            match rows
                .as_u64()
                .and_then(|rows| usize::try_from(rows).ok())
                .filter(|&rows| rows > 0)
            {
                Some(rows) => limits.rows = rows,
                None => {
                    let rows_line = self.file.line_of("rows", line);
                    self.error(
                        rows_line,
                        "rows",
                        format!(
                            "`batch.rows` must be a positive whole number, not `{}`",
                            scalar_text(rows)
                        ),
                        "write `rows: 50000`",
                    );
                    valid = false;
                }
            }
        }
        if let Some(latency) = batch.get("latency") {
            let text = scalar_text(latency);
            match parse_duration(&text) {
                Some(duration) if !duration.is_zero() => limits.latency = duration,
                _ => {
                    let latency_line = self.file.line_of("latency", line);
                    self.error(
                        latency_line,
                        &text,
                        format!("`batch.latency` must be a positive duration, not `{text}`"),
                        "write a number with a unit: `500ms`, `1s`, `2m`",
                    );
                    valid = false;
                }
            }
        }
        valid.then_some(limits)
    }

    /// `Some(None)` when no dead-letter table is named; `None` on an error.
    fn dead_letter(&mut self, object: &Map<String, Value>) -> Option<Option<DeadLetterName>> {
        let Some(value) = object.get("dead_letter").filter(|value| !value.is_null()) else {
            return Some(None);
        };
        let text = scalar_text(value);
        let parts: Vec<&str> = text.split('.').map(str::trim).collect();
        if !value.is_string() || parts.iter().any(|part| part.is_empty()) || parts.len() > 3 {
            let line = self.key_line("dead_letter");
            self.error(
                line,
                &text,
                format!("`dead_letter` must name a table, not `{text}`"),
                "write `dead_letter: <table>` or `dead_letter: <schema>.<table>`",
            );
            return None;
        }
        let owned = |part: &str| part.trim_matches('"').to_string();
        let name = match parts.as_slice() {
            [identifier] => DeadLetterName {
                database: None,
                schema: None,
                identifier: owned(identifier),
            },
            [schema, identifier] => DeadLetterName {
                database: None,
                schema: Some(owned(schema)),
                identifier: owned(identifier),
            },
            [database, schema, identifier] => DeadLetterName {
                database: Some(owned(database)),
                schema: Some(owned(schema)),
                identifier: owned(identifier),
            },
            _ => return None,
        };
        Some(Some(name))
    }
}

/// A scalar's text: strings as they are, other values as JSON.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "models/sources.yml";

    /// Parses the ingest block of the first table of `yaml`; the error is
    /// every diagnostic printed.
    fn parse_yaml(yaml: &str) -> Result<IngestSpec, String> {
        let document = crate::yaml::parse(PATH, yaml).map_err(|error| error.to_string())?;
        let table = document["sources"][0]["tables"][0]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let lines = LineIndex::new(yaml);
        let file = YamlFile {
            path: PATH,
            contents: yaml,
            lines: &lines,
        };
        let table_line = file.line_of("- name: rental_events", 1);
        let (_, block) = crate::render::schema::declared_ingest_block(&table, PATH, yaml, &lines, table_line)
            .map_err(|error| error.to_string())?
            .ok_or_else(|| "no ingest block".to_string())?;
        parse(block, &file, table_line)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    }

    fn source(ingest: &str) -> String {
        let indented: String = ingest.lines().map(|line| format!("        {line}\n")).collect();
        format!("version: 2\nsources:\n  - name: events\n    schema: bronze\n    tables:\n      - name: rental_events\n{indented}")
    }

    fn error_of(ingest: &str) -> String {
        match parse_yaml(&source(ingest)) {
            Ok(spec) => panic!("expected an error, got {spec:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_lake_ingest_names_a_prefix_and_nothing_of_kafka() {
        let spec = parse_yaml(&source("ingest:\n  lake: /exports/fct_rental/\n  format: parquet")).expect("parses");
        assert_eq!(spec.lake.as_deref(), Some("exports/fct_rental"));
        assert_eq!(spec.format, Format::Parquet);
        assert!(spec.topics.is_empty());

        let error = error_of("ingest:\n  lake: exports/x\n  topics: [a]");
        assert!(
            error.contains("`topics` does not apply to an ingest from the lake"),
            "{error}"
        );
        assert!(error.contains("models/sources.yml:9"), "{error}");
        let error = error_of("ingest:\n  lake: exports/x\n  format: json");
        assert!(error.contains("reads Parquet, not `json`"), "{error}");
        let error = error_of("ingest:\n  lake: \"\"");
        assert!(error.contains("`lake` must name a prefix"), "{error}");
        let error = error_of("ingest:\n  topics: [a]\n  format: parquet\n  mapping: raw");
        assert!(error.contains("Kafka messages cannot be Parquet"), "{error}");
    }

    #[test]
    fn parses_a_typed_block() {
        let spec = parse_yaml(&source(
            "ingest:\n  topics: [rental_events]\n  format: json\n  mapping: typed\n  columns:\n    - {name: rental_id, type: bigint, path: $.rental_id}\n    - {name: amount, type: 'numeric(10, 2)', path: $.payment.amount}\n    - {name: rented_at, type: timestamptz, path: \"$['rented at']\"}\n    - {name: first_item, type: jsonb, path: '$.items[0]'}\n    - {name: customer, type: text}\n  batch: {rows: 1000, latency: 250ms}\n  dead_letter: quarantine.rental_events_bad\n",
        ))
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(spec.topics, vec!["rental_events"]);
        assert_eq!(spec.format, Format::Json);
        assert_eq!(spec.line, 7);
        assert_eq!(spec.file, PATH);
        let Mapping::Typed(columns) = &spec.mapping else {
            panic!("expected typed, got {:?}", spec.mapping)
        };
        let summary: Vec<(&str, String, &[PathStep], usize)> = columns
            .iter()
            .map(|column| {
                (
                    column.name.as_str(),
                    column.data_type.sql(),
                    column.path.steps.as_slice(),
                    column.line,
                )
            })
            .collect();
        let key = |text: &str| PathStep::Key(text.to_string());
        assert_eq!(
            summary,
            vec![
                ("rental_id", "bigint".to_string(), &[key("rental_id")][..], 12),
                (
                    "amount",
                    "numeric(10,2)".to_string(),
                    &[key("payment"), key("amount")][..],
                    13
                ),
                ("rented_at", "timestamptz".to_string(), &[key("rented at")][..], 14),
                (
                    "first_item",
                    "jsonb".to_string(),
                    &[key("items"), PathStep::Index(0)][..],
                    15
                ),
                ("customer", "text".to_string(), &[key("customer")][..], 16),
            ]
        );
        assert_eq!(
            spec.batch,
            BatchLimits {
                rows: 1000,
                latency: Duration::from_millis(250)
            }
        );
        let bronze = Relation::new("bronze", "rental_events");
        assert_eq!(
            spec.dead_letter_relation(&bronze),
            Relation::new("quarantine", "rental_events_bad")
        );
    }

    #[test]
    fn a_raw_block_gets_defaults() {
        let spec = parse_yaml(&source("ingest:\n  topic: rental_events\n  mapping: raw\n"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(spec.mapping, Mapping::Raw);
        assert_eq!(spec.batch, BatchLimits::default());
        assert_eq!(spec.dead_letter, None);
        let bronze = Relation::new("bronze", "rental_events");
        assert_eq!(
            spec.dead_letter_relation(&bronze),
            Relation::new("bronze", "rental_events__dead_letter")
        );
        assert_eq!(spec.declared["topic"], "rental_events");
    }

    #[test]
    fn the_block_may_sit_under_meta_or_config() {
        for place in ["meta", "config"] {
            let yaml = source(&format!(
                "{place}:\n  ingest:\n    topic: rental_events\n    mapping: raw\n"
            ));
            let spec = parse_yaml(&yaml).unwrap_or_else(|error| panic!("{place}: {error}"));
            assert_eq!(spec.line, 8, "{place}");
        }
        let yaml = source("config:\n  meta:\n    ingest:\n      topic: rental_events\n      mapping: raw\n");
        assert!(parse_yaml(&yaml).is_ok());
    }

    #[test]
    fn two_blocks_are_an_error() {
        let error = error_of("ingest: {topic: a, mapping: raw}\nmeta:\n  ingest: {topic: b, mapping: raw}\n");
        assert!(
            error.contains("two ingest blocks, `ingest` and `meta.ingest`"),
            "{error}"
        );
        assert!(error.contains("models/sources.yml:7:"), "{error}");
    }

    #[test]
    fn unknown_mapping_points_at_its_line_with_a_suggestion() {
        let error = error_of("ingest:\n  topic: rental_events\n  mapping: typd\n");
        insta::assert_snapshot!(error, @r"
        error: unknown mapping `typd`
         --> models/sources.yml:9:20
          |
        9 |           mapping: typd
          |                    ^^^^ did you mean `typed`?
        hint: use `mapping: raw` (the payload as jsonb) or `mapping: typed` (declared columns)
        ");
    }

    #[test]
    fn missing_topics_and_mapping_are_reported_together() {
        let error = error_of("ingest:\n  format: json\n");
        assert!(error.contains("names no topic"), "{error}");
        assert!(error.contains("has no `mapping`"), "{error}");
        assert!(error.contains("models/sources.yml:7:9"), "{error}");
        let error = error_of("ingest:\n  topics: []\n  mapping: raw\n");
        assert!(error.contains("`topics` is empty"), "{error}");
        assert!(error.contains("models/sources.yml:8:"), "{error}");
    }

    #[test]
    fn bad_topic_names_and_duplicates_are_errors() {
        let error = error_of("ingest:\n  topics: [good, 'bad topic', good]\n  mapping: raw\n");
        assert!(error.contains("`bad topic` is not a valid Kafka topic name"), "{error}");
        assert!(error.contains("topic `good` is listed twice"), "{error}");
    }

    #[test]
    fn unknown_type_suggests_a_known_one() {
        let error = error_of(
            "ingest:\n  topic: t\n  mapping: typed\n  columns:\n    - name: id\n      type: bigit\n      path: $.id\n",
        );
        insta::assert_snapshot!(error, @r"
        error: column `id` has the unknown type `bigit`
          --> models/sources.yml:12:21
           |
        12 |               type: bigit
           |                     ^^^^^ did you mean `bigint`?
        hint: use integer, bigint, numeric, numeric(p,s), double, boolean, text, varchar(n), date, timestamp, timestamptz, jsonb or uuid
        ");
    }

    #[test]
    fn bad_json_paths_are_errors_at_their_line() {
        let error = error_of(
            "ingest:\n  topic: t\n  mapping: typed\n  columns:\n    - {name: a, type: text, path: payment.amount}\n    - {name: b, type: text, path: '$..amount'}\n    - {name: c, type: text, path: '$.items[*]'}\n    - {name: d, type: text, path: \"$['x'\"}\n",
        );
        assert!(error.contains("`payment.amount` must start with `$`"), "{error}");
        assert!(error.contains("models/sources.yml:11:"), "{error}");
        assert!(error.contains("recursive descent"), "{error}");
        assert!(error.contains("models/sources.yml:12:"), "{error}");
        assert!(error.contains("wildcard"), "{error}");
        assert!(error.contains("unclosed `[`"), "{error}");
        assert!(error.contains("models/sources.yml:14:"), "{error}");
    }

    #[test]
    fn json_paths_parse_the_supported_subset() {
        let steps = |text: &str| JsonPath::parse(text).map(|path| path.steps);
        assert_eq!(steps("$"), Ok(vec![]));
        assert_eq!(
            steps("$.a['b.c'][2][\"d\\\"e\"]"),
            Ok(vec![
                PathStep::Key("a".into()),
                PathStep::Key("b.c".into()),
                PathStep::Index(2),
                PathStep::Key("d\"e".into()),
            ])
        );
        assert!(steps("$.").is_err());
        assert!(steps("$[-1]").is_err());
        assert!(steps("$[?(@.a)]").is_err());
        assert!(steps("$x").is_err());
    }

    #[test]
    fn columns_only_with_typed_and_typed_needs_columns() {
        let error = error_of("ingest:\n  topic: t\n  mapping: raw\n  columns:\n    - {name: a, type: text}\n");
        assert!(error.contains("`columns` only applies to `mapping: typed`"), "{error}");
        let error = error_of("ingest:\n  topic: t\n  mapping: typed\n");
        assert!(error.contains("`mapping: typed` needs `columns`"), "{error}");
    }

    #[test]
    fn column_problems() {
        let error = error_of(
            "ingest:\n  topic: t\n  mapping: typed\n  columns:\n    - {name: a, type: text}\n    - {name: a, type: text}\n    - {name: offset, type: bigint}\n    - {name: b}\n    - {name: c, type: 'numeric(2,5)'}\n    - {name: d, type: text, pth: $.d}\n",
        );
        assert!(error.contains("column `a` is declared twice"), "{error}");
        assert!(error.contains("models/sources.yml:12:"), "{error}");
        assert!(error.contains("`offset` clashes with the metadata column"), "{error}");
        assert!(error.contains("column `b` has no `type`"), "{error}");
        assert!(error.contains("numeric(2,5) exceeds its precision"), "{error}");
        assert!(error.contains("unknown key `pth` in a typed column"), "{error}");
        assert!(error.contains("did you mean `path`?"), "{error}");
    }

    #[test]
    fn reserved_formats_are_not_supported_yet() {
        let error = error_of("ingest:\n  topic: t\n  format: avro\n  mapping: raw\n");
        assert!(error.contains("format `avro` is not supported yet"), "{error}");
        assert!(error.contains("models/sources.yml:9:"), "{error}");
        let error = error_of("ingest:\n  topic: t\n  format: jsn\n  mapping: raw\n");
        assert!(error.contains("did you mean `json`?"), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_batches() {
        let error =
            error_of("ingest:\n  topic: t\n  mapping: raw\n  dead_leter: x\n  batch: {rows: 0, latency: soon}\n");
        assert!(error.contains("unknown key `dead_leter` in an ingest block"), "{error}");
        assert!(error.contains("did you mean `dead_letter`?"), "{error}");
        assert!(
            error.contains("`batch.rows` must be a positive whole number, not `0`"),
            "{error}"
        );
        assert!(
            error.contains("`batch.latency` must be a positive duration, not `soon`"),
            "{error}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("fast"), None);
        assert_eq!(parse_duration("1d"), None);
    }

    #[test]
    fn column_types_accept_postgres_spellings() {
        assert_eq!(ColumnType::parse("INT8"), Some(ColumnType::BigInt));
        assert_eq!(
            ColumnType::parse("decimal(12, 3)"),
            Some(ColumnType::Numeric(Some((12, 3))))
        );
        assert_eq!(ColumnType::parse("double precision"), Some(ColumnType::Double));
        assert_eq!(
            ColumnType::parse("character varying(20)"),
            Some(ColumnType::Varchar(20))
        );
        assert_eq!(
            ColumnType::parse("timestamp with time zone"),
            Some(ColumnType::TimestampTz)
        );
        assert_eq!(ColumnType::parse("varchar"), None);
        assert_eq!(ColumnType::parse("money"), None);
    }
}
