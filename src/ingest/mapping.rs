//! From Kafka messages to rows: each message becomes a row of the bronze
//! table or, when it cannot, a row of the dead-letter table. Both are encoded
//! straight into the CSV that PostgreSQL's `COPY ... (format csv, header
//! true)` reads, in chunks of about a megabyte. For DuckDB the bronze rows
//! are built as Arrow columns instead ([`super::arrow_rows`]), which its
//! appender takes; its dead letters stay CSV.
//!
//! The guarantee this module gives the loader: **a row it encodes never makes
//! the `COPY` fail.** Everything PostgreSQL would reject is caught here and
//! routed to the dead letter with the reason: a payload that is not UTF-8 or
//! not JSON, a `\u0000` escape (PostgreSQL's `text` and `jsonb` cannot hold
//! NUL), a number beyond double precision in `jsonb`, and in the `typed`
//! mapping every value that does not fit its declared type. Nothing is
//! dropped: the dead letter keeps the key and payload bytes as they came.
//!
//! The bronze tables:
//!
//! - `raw`: `payload jsonb, key text, headers jsonb, topic, partition,
//!   "offset", event_timestamp timestamptz, ingested_at timestamptz`.
//!   `headers` is an object of header name to value; a value that is not
//!   UTF-8 text is written as its bytes in hex, `"\\x..."`, as PostgreSQL
//!   prints `bytea`. A tombstone (no payload) keeps a NULL payload. A key that
//!   is not UTF-8 text goes to the dead letter, since `key` is `text`.
//! - `typed`: the declared columns, then `topic, partition, "offset",
//!   event_timestamp, ingested_at`. A path that leads nowhere, or to a JSON
//!   `null`, gives NULL. A value is converted as PostgreSQL's `->>` and the
//!   type's input function would: a number column takes a JSON number or a
//!   string holding one, `text` takes any value (objects and arrays as JSON
//!   text), dates and timestamps take ISO 8601 strings, `jsonb` takes any
//!   value. A `timestamptz` without an offset is read in the session's time
//!   zone, as PostgreSQL reads it. A tombstone goes to the dead letter.
//!
//! `event_timestamp` is the Kafka message timestamp; it is NULL when the
//! message has none or it lies outside the years 1970 to 9999.
//!
//! Parsing is lazy: the `typed` mapping walks the payload once with serde,
//! borrowing every value, descending only into the keys a path names and
//! skipping the rest unparsed; no row allocates unless a string holds
//! escapes.
//!
//! This module does not talk to Kafka or to the warehouse.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::arrow_rows::{ArrowRows, Cell, CellKind};
use super::spec::{ColumnType, Mapping, PathStep, TypedColumn};
use crate::seed::{write_copy_text, ValueCheck};

/// Rows are handed to `COPY` in chunks of about this many bytes.
const CHUNK_SIZE: usize = 1024 * 1024;
/// Values longer than this are shortened in dead-letter errors.
const MAX_DISPLAYED_VALUE_CHARS: usize = 60;
/// A typed mapping with at most this many distinct paths extracts without
/// allocating.
const INLINE_SLOTS: usize = 32;
/// The last millisecond of year 9999; later message timestamps are NULL.
const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

/// One Kafka message, borrowed from the consumer.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the Unix epoch, as Kafka records it.
    pub timestamp: Option<i64>,
    pub key: Option<&'a [u8]>,
    /// `None` for a tombstone.
    pub payload: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
}

/// A column of a table this module writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    pub name: String,
    /// As PostgreSQL spells it in `create table`.
    pub data_type: String,
    pub not_null: bool,
}

impl TableColumn {
    fn new(name: &str, data_type: &str, not_null: bool) -> Self {
        Self {
            name: name.to_string(),
            data_type: data_type.to_string(),
            not_null,
        }
    }
}

/// The columns of every dead-letter table, in `COPY` order.
pub fn dead_letter_columns() -> Vec<TableColumn> {
    vec![
        TableColumn::new("topic", "text", true),
        TableColumn::new("partition", "integer", true),
        TableColumn::new("offset", "bigint", true),
        TableColumn::new("key", "bytea", false),
        TableColumn::new("payload", "bytea", false),
        TableColumn::new("error", "text", true),
        TableColumn::new("event_timestamp", "timestamptz", false),
        TableColumn::new("failed_at", "timestamptz", true),
    ]
}

/// The metadata columns that end every bronze row.
fn metadata_columns() -> [TableColumn; 5] {
    [
        TableColumn::new("topic", "text", true),
        TableColumn::new("partition", "integer", true),
        TableColumn::new("offset", "bigint", true),
        TableColumn::new("event_timestamp", "timestamptz", false),
        TableColumn::new("ingested_at", "timestamptz", true),
    ]
}

/// The SQL dialect bronze tables are created and loaded in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Postgres,
    /// DuckDB: JSON columns are text (`varchar`), and `bytea` (DuckDB's
    /// `blob`) is read from text with an escape per byte, `\x0a\x1b`, where
    /// PostgreSQL reads one prefix, `\x0a1b`.
    DuckDb,
    /// Spark, whose strings are `string` and whose timestamps are instants
    /// shown in the session's zone. dvt creates bronze tables there (so that
    /// the models on an ingested source build), but does not ingest into it.
    Spark,
}

impl Dialect {
    /// The dialect of an adapter type (`postgres`, `duckdb`, `spark`).
    pub fn of(adapter_kind: &str) -> Self {
        match adapter_kind {
            "duckdb" => Dialect::DuckDb,
            "spark" => Dialect::Spark,
            _ => Dialect::Postgres,
        }
    }

    /// A column type of [`TableColumn::data_type`] as this dialect spells it.
    pub fn column_type(self, data_type: &str) -> &str {
        match (self, data_type) {
            (Dialect::DuckDb, "jsonb") => "varchar",
            (Dialect::Spark, "jsonb" | "text" | "json") => "string",
            (Dialect::Spark, "bytea") => "binary",
            (Dialect::Spark, "timestamptz" | "timestamp with time zone") => "timestamp",
            _ => data_type,
        }
    }
}

/// A [`Mapping`] prepared for encoding: built once per source table, used for
/// every batch.
#[derive(Debug)]
pub struct Mapper {
    kind: Kind,
    columns: Vec<TableColumn>,
    /// The Arrow type of each column, for DuckDB's appender.
    cell_kinds: Vec<CellKind>,
    dialect: Dialect,
}

#[derive(Debug)]
enum Kind {
    Raw,
    Typed(TypedPlan),
}

#[derive(Debug)]
struct TypedPlan {
    columns: Vec<PlannedColumn>,
    /// Every distinct path, merged into one tree from `$`.
    root: PathNode,
    slot_count: usize,
}

#[derive(Debug)]
struct PlannedColumn {
    name: String,
    data_type: ColumnType,
    sql_type: String,
    /// The check of the value's text, for the types `seed` knows.
    check: Option<ValueCheck>,
    path: String,
    slot: usize,
    /// The Arrow type the value is appended as.
    cell_kind: CellKind,
}

/// A node of the path tree: the steps below it, and the slot that receives
/// the value here when a path ends here.
#[derive(Debug, Default)]
struct PathNode {
    children: Vec<(PathStep, PathNode)>,
    slot: Option<usize>,
}

impl PathNode {
    /// The slot of `steps`, adding the path (and a slot) when new.
    fn insert(&mut self, steps: &[PathStep], slot_count: &mut usize) -> usize {
        let Some((first, rest)) = steps.split_first() else {
            return *self.slot.get_or_insert_with(|| {
                *slot_count += 1;
                *slot_count - 1
            });
        };
        let index = match self.children.iter().position(|(step, _)| step == first) {
            Some(index) => index,
            None => {
                self.children.push((first.clone(), PathNode::default()));
                self.children.len() - 1
            }
        };
        self.children[index].1.insert(rest, slot_count)
    }
}

impl Mapper {
    pub fn new(mapping: &Mapping) -> Self {
        match mapping {
            Mapping::Raw => {
                let mut columns = vec![
                    TableColumn::new("payload", "jsonb", false),
                    TableColumn::new("key", "text", false),
                    TableColumn::new("headers", "jsonb", false),
                ];
                columns.extend(metadata_columns());
                let mut cell_kinds = vec![CellKind::Text; 3];
                cell_kinds.extend(METADATA_CELL_KINDS);
                Self {
                    kind: Kind::Raw,
                    columns,
                    cell_kinds,
                    dialect: Dialect::Postgres,
                }
            }
            Mapping::Typed(declared) => Self::typed(declared),
        }
    }

    /// The mapper for a warehouse of `dialect` (PostgreSQL's by default).
    pub fn for_dialect(mapping: &Mapping, dialect: Dialect) -> Self {
        Self {
            dialect,
            ..Self::new(mapping)
        }
    }

    fn typed(declared: &[TypedColumn]) -> Self {
        let mut root = PathNode::default();
        let mut slot_count = 0;
        let mut planned = Vec::with_capacity(declared.len());
        let mut columns = Vec::with_capacity(declared.len() + 5);
        for column in declared {
            let sql_type = column.data_type.sql();
            let check = match column.data_type {
                ColumnType::Text | ColumnType::Jsonb | ColumnType::Uuid => None,
                other => ValueCheck::for_type(&other.sql()),
            };
            planned.push(PlannedColumn {
                name: column.name.clone(),
                data_type: column.data_type,
                sql_type: sql_type.clone(),
                check,
                path: column.path.text.clone(),
                slot: root.insert(&column.path.steps, &mut slot_count),
                cell_kind: cell_kind_of(column.data_type),
            });
            columns.push(TableColumn {
                name: column.name.clone(),
                data_type: sql_type,
                not_null: false,
            });
        }
        columns.extend(metadata_columns());
        let mut cell_kinds: Vec<CellKind> = planned.iter().map(|column| column.cell_kind).collect();
        cell_kinds.extend(METADATA_CELL_KINDS);
        Self {
            kind: Kind::Typed(TypedPlan {
                columns: planned,
                root,
                slot_count,
            }),
            columns,
            cell_kinds,
            dialect: Dialect::Postgres,
        }
    }

    /// The bronze table's columns, in `COPY` order.
    pub fn columns(&self) -> &[TableColumn] {
        &self.columns
    }

    /// The bronze table's column names, in `COPY` order.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|column| column.name.clone()).collect()
    }

    /// A new batch; `ingested_at` fills `ingested_at` (and the dead letter's
    /// `failed_at`) of every row in it.
    pub fn batch(&self, ingested_at: DateTime<Utc>) -> BatchEncoder<'_> {
        let names = self.column_names();
        BatchEncoder {
            mapper: self,
            arrow: (self.dialect == Dialect::DuckDb).then(|| ArrowRows::new(&names, &self.cell_kinds)),
            ingested_at_micros: ingested_at.timestamp_micros(),
            rows: CsvChunks::new(&names),
            dead_letters: CsvChunks::new(
                &dead_letter_columns()
                    .into_iter()
                    .map(|column| column.name)
                    .collect::<Vec<_>>(),
            ),
            ingested_at: ingested_at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string(),
            offsets: Vec::new(),
            messages: 0,
        }
    }
}

/// Where [`BatchEncoder::push`] sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    Row,
    /// To the dead letter, for this reason.
    DeadLetter(String),
}

/// The next offset to consume of one partition, after a batch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    /// The lowest offset in the batch.
    pub first_offset: i64,
    /// One past the highest offset in the batch.
    pub next_offset: i64,
}

/// A batch being encoded: push messages, then [`finish`](Self::finish).
pub struct BatchEncoder<'m> {
    mapper: &'m Mapper,
    /// DuckDB's bronze rows, in place of `rows`.
    arrow: Option<ArrowRows>,
    ingested_at_micros: i64,
    rows: CsvChunks,
    dead_letters: CsvChunks,
    ingested_at: String,
    offsets: Vec<PartitionOffset>,
    messages: usize,
}

/// A batch ready to load: CSV chunks, each list starting with its header row,
/// and the offsets it covers.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    /// CSV for the bronze table; empty when `row_count` is 0 or the rows
    /// are in `arrow_rows`.
    pub rows: Vec<Vec<u8>>,
    /// The bronze rows as Arrow columns, for DuckDB's appender; `None` for
    /// PostgreSQL and when `row_count` is 0.
    pub arrow_rows: Option<ArrowRows>,
    pub row_count: u64,
    /// CSV for the dead-letter table; empty when `dead_letter_count` is 0.
    pub dead_letters: Vec<Vec<u8>>,
    pub dead_letter_count: u64,
    /// Per partition, sorted by topic and partition.
    pub offsets: Vec<PartitionOffset>,
}

impl BatchEncoder<'_> {
    /// Encodes one message as a bronze row or a dead-letter row.
    pub fn push(&mut self, message: &Message<'_>) -> Routed {
        self.messages += 1;
        self.track_offset(message);
        if self.arrow.is_some() {
            return self.push_arrow(message);
        }
        let start = self.rows.row_start();
        let result = match &self.mapper.kind {
            Kind::Raw => write_raw_row(&mut self.rows.current, message),
            Kind::Typed(plan) => write_typed_row(&mut self.rows.current, plan, message),
        };
        match result {
            Ok(()) => {
                let buffer = &mut self.rows.current;
                write_metadata(buffer, message);
                buffer.push(b',');
                buffer.extend_from_slice(self.ingested_at.as_bytes());
                self.rows.end_row();
                Routed::Row
            }
            Err(error) => {
                self.rows.current.truncate(start);
                self.dead_letter(message, error)
            }
        }
    }

    /// As [`push`](Self::push), into the Arrow columns.
    fn push_arrow(&mut self, message: &Message<'_>) -> Routed {
        let mut cells = Vec::with_capacity(self.mapper.cell_kinds.len());
        let result = match &self.mapper.kind {
            Kind::Raw => raw_cells(&mut cells, message),
            Kind::Typed(plan) => typed_cells(&mut cells, plan, message),
        };
        match (result, self.arrow.as_mut()) {
            (Ok(()), Some(arrow)) => {
                cells.extend(metadata_cells(message, self.ingested_at_micros));
                arrow.push(&cells);
                Routed::Row
            }
            (Ok(()), None) => self.dead_letter(message, "the batch has no Arrow columns".to_string()),
            (Err(error), _) => self.dead_letter(message, error),
        }
    }

    fn dead_letter(&mut self, message: &Message<'_>, error: String) -> Routed {
        write_dead_letter(
            &mut self.dead_letters.current,
            message,
            &error,
            &self.ingested_at,
            self.mapper.dialect,
        );
        self.dead_letters.end_row();
        Routed::DeadLetter(error)
    }

    /// Messages pushed so far.
    pub fn len(&self) -> usize {
        self.messages
    }

    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    pub fn finish(self) -> EncodedBatch {
        let mut offsets = self.offsets;
        offsets.sort();
        let (rows, csv_row_count) = self.rows.finish();
        let (dead_letters, dead_letter_count) = self.dead_letters.finish();
        let arrow_rows = self.arrow.filter(|arrow| !arrow.is_empty());
        let row_count = match &arrow_rows {
            Some(arrow) => arrow.len() as u64,
            None => csv_row_count,
        };
        EncodedBatch {
            rows,
            arrow_rows,
            row_count,
            dead_letters,
            dead_letter_count,
            offsets,
        }
    }

    fn track_offset(&mut self, message: &Message<'_>) {
        // Batches hold few partitions, and runs of one; the last entry is
        // the likely one.
        let found = self
            .offsets
            .iter_mut()
            .rev()
            .find(|entry| entry.partition == message.partition && entry.topic == message.topic);
        match found {
            Some(entry) => {
                entry.first_offset = entry.first_offset.min(message.offset);
                entry.next_offset = entry.next_offset.max(message.offset + 1);
            }
            None => self.offsets.push(PartitionOffset {
                topic: message.topic.to_string(),
                partition: message.partition,
                first_offset: message.offset,
                next_offset: message.offset + 1,
            }),
        }
    }
}

/// CSV text in chunks; the first chunk starts with the header row.
struct CsvChunks {
    chunks: Vec<Vec<u8>>,
    current: Vec<u8>,
    header_length: usize,
    rows: u64,
}

impl CsvChunks {
    fn new(names: &[String]) -> Self {
        let mut current = Vec::with_capacity(CHUNK_SIZE + 64 * 1024);
        for (index, name) in names.iter().enumerate() {
            if index > 0 {
                current.push(b',');
            }
            write_copy_text(&mut current, name.as_bytes());
        }
        current.push(b'\n');
        Self {
            chunks: Vec::new(),
            header_length: current.len(),
            current,
            rows: 0,
        }
    }

    fn row_start(&self) -> usize {
        self.current.len()
    }

    fn end_row(&mut self) {
        self.current.push(b'\n');
        self.rows += 1;
        if self.current.len() >= CHUNK_SIZE {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK_SIZE + 64 * 1024));
            self.chunks.push(full);
        }
    }

    fn finish(mut self) -> (Vec<Vec<u8>>, u64) {
        if self.rows == 0 {
            return (Vec::new(), 0);
        }
        let only_header = self.chunks.is_empty() && self.current.len() == self.header_length;
        if !self.current.is_empty() && !only_header {
            self.chunks.push(self.current);
        }
        (self.chunks, self.rows)
    }
}

fn write_raw_row(buffer: &mut Vec<u8>, message: &Message<'_>) -> Result<(), String> {
    let (payload, key, headers) = raw_values(message)?;
    if let Some(payload) = payload {
        write_copy_text(buffer, payload.as_bytes());
    }
    buffer.push(b',');
    if let Some(key) = key {
        write_copy_text(buffer, key.as_bytes());
    }
    buffer.push(b',');
    write_copy_text(buffer, headers.as_bytes());
    buffer.push(b',');
    Ok(())
}

/// The `raw` cells before the metadata: payload, key and headers.
fn raw_cells<'a>(cells: &mut Vec<Cell<'a>>, message: &Message<'a>) -> Result<(), String> {
    let (payload, key, headers) = raw_values(message)?;
    let text = |value: Option<&'a str>| value.map_or(Cell::Null, |text| Cell::Text(Cow::Borrowed(text)));
    cells.extend([text(payload), text(key), Cell::Text(headers)]);
    Ok(())
}

/// The payload, key and headers of a `raw` row, checked.
#[allow(clippy::type_complexity)]
fn raw_values<'a>(message: &Message<'a>) -> Result<(Option<&'a str>, Option<&'a str>, Cow<'a, str>), String> {
    let payload = match message.payload {
        None => None,
        Some(payload) => {
            let text = std::str::from_utf8(payload).map_err(|error| format!("payload is not UTF-8 text: {error}"))?;
            check_jsonb(text).map_err(|error| match error.classify() {
                serde_json::error::Category::Data => format!("payload cannot be stored as jsonb: {error}"),
                _ => format!("payload is not valid JSON: {error}"),
            })?;
            Some(text)
        }
    };
    let key = match message.key {
        None => None,
        Some(key) => {
            let key = text_bytes(key).map_err(|problem| format!("key {problem}, and the `key` column is text"))?;
            Some(std::str::from_utf8(key).unwrap_or_default())
        }
    };
    Ok((payload, key, headers_json(message.headers)?))
}

/// The bytes, when they are UTF-8 text without NUL; else what is wrong.
fn text_bytes(bytes: &[u8]) -> Result<&[u8], &'static str> {
    if std::str::from_utf8(bytes).is_err() {
        Err("is not UTF-8 text")
    } else if bytes.contains(&0) {
        Err("holds a NUL byte, which PostgreSQL text cannot store")
    } else {
        Ok(bytes)
    }
}

/// The headers as a JSON object.
fn headers_json(headers: &[(&str, Option<&[u8]>)]) -> Result<Cow<'static, str>, String> {
    if headers.is_empty() {
        return Ok(Cow::Borrowed("{}"));
    }
    let mut json = String::with_capacity(64);
    json.push('{');
    for (index, (name, value)) in headers.iter().enumerate() {
        if name.contains('\0') {
            return Err("a header name holds a NUL byte, which PostgreSQL jsonb cannot store".into());
        }
        if index > 0 {
            json.push(',');
        }
        push_json_string(&mut json, name);
        json.push(':');
        match value {
            None => json.push_str("null"),
            Some(value) => match text_bytes(value) {
                Ok(text) => push_json_string(&mut json, std::str::from_utf8(text).unwrap_or_default()),
                Err(_) => {
                    let mut hex = Vec::with_capacity(2 + value.len() * 2);
                    write_hex(&mut hex, value);
                    push_json_string(&mut json, std::str::from_utf8(&hex).unwrap_or_default());
                }
            },
        }
    }
    json.push('}');
    Ok(Cow::Owned(json))
}

/// Appends `text` as a JSON string literal.
fn push_json_string(json: &mut String, text: &str) {
    json.push('"');
    for character in text.chars() {
        match character {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                json.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => json.push(other),
        }
    }
    json.push('"');
}

fn write_typed_row(buffer: &mut Vec<u8>, plan: &TypedPlan, message: &Message<'_>) -> Result<(), String> {
    with_slots(plan, message, |slots| {
        for column in &plan.columns {
            if let Some(value) = typed_value(column, slots[column.slot])? {
                write_copy_text(buffer, value.as_bytes());
            }
            buffer.push(b',');
        }
        Ok(())
    })
}

/// The typed cells before the metadata, a cell per declared column.
fn typed_cells<'a>(cells: &mut Vec<Cell<'a>>, plan: &TypedPlan, message: &Message<'a>) -> Result<(), String> {
    with_slots(plan, message, |slots| {
        for column in &plan.columns {
            let cell = match typed_value(column, slots[column.slot])? {
                None => Cell::Null,
                Some(value) if column.cell_kind == CellKind::Text => Cell::Text(value),
                Some(value) => Cell::parse(column.cell_kind, &value).map_err(|reason| {
                    format!(
                        "column `{}` ({}) at `{}`: value `{}` {reason}",
                        column.name,
                        column.sql_type,
                        column.path,
                        shorten(&value)
                    )
                })?,
            };
            cells.push(cell);
        }
        Ok(())
    })
}

/// Extracts the plan's paths from the payload of `message` and hands their
/// values, a slot each, to `use_slots`.
fn with_slots<'a, T>(
    plan: &TypedPlan,
    message: &Message<'a>,
    use_slots: impl FnOnce(&[Option<&'a RawValue>]) -> Result<T, String>,
) -> Result<T, String> {
    let payload = message
        .payload
        .ok_or_else(|| "the message has no payload (a tombstone), and the mapping is typed".to_string())?;
    let text = std::str::from_utf8(payload).map_err(|error| format!("payload is not UTF-8 text: {error}"))?;
    let mut inline: [Option<&RawValue>; INLINE_SLOTS] = [None; INLINE_SLOTS];
    let mut spilled: Vec<Option<&RawValue>>;
    let slots: &mut [Option<&RawValue>] = if plan.slot_count <= INLINE_SLOTS {
        &mut inline[..plan.slot_count]
    } else {
        spilled = vec![None; plan.slot_count];
        &mut spilled
    };
    extract(text, &plan.root, slots).map_err(|error| format!("payload is not valid JSON: {error}"))?;
    use_slots(slots)
}

/// Walks `json` once, storing the value at the end of each path of the tree
/// in its slot. Fails when `json` is not one valid JSON value.
fn extract<'de>(json: &'de str, root: &PathNode, slots: &mut [Option<&'de RawValue>]) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    NodeSeed { node: root, slots }.deserialize(&mut deserializer)?;
    deserializer.end()
}

struct NodeSeed<'t, 's, 'de> {
    node: &'t PathNode,
    slots: &'s mut [Option<&'de RawValue>],
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let Some(slot) = self.node.slot else {
            return deserializer.deserialize_any(NodeVisitor {
                node: self.node,
                slots: self.slots,
            });
        };
        let raw: &'de RawValue = serde::Deserialize::deserialize(deserializer)?;
        self.slots[slot] = Some(raw);
        if !self.node.children.is_empty() {
            // A path ends here and others go deeper: read those from the
            // captured text, which borrows from the payload as well.
            let mut inner = serde_json::Deserializer::from_str(raw.get());
            let visitor = NodeVisitor {
                node: self.node,
                slots: self.slots,
            };
            inner.deserialize_any(visitor).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

struct NodeVisitor<'t, 's, 'de> {
    node: &'t PathNode,
    slots: &'s mut [Option<&'de RawValue>],
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        while let Some(child) = map.next_key_seed(KeySeed { children })? {
            match child {
                Some(index) => map.next_value_seed(NodeSeed {
                    node: &children[index].1,
                    slots: &mut *self.slots,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        let mut position = 0;
        loop {
            let child = children
                .iter()
                .find(|(step, _)| matches!(step, PathStep::Index(index) if *index == position));
            let more = match child {
                Some((_, node)) => sequence
                    .next_element_seed(NodeSeed {
                        node,
                        slots: &mut *self.slots,
                    })?
                    .is_some(),
                None => sequence.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            position += 1;
        }
    }

    // A scalar where a path expects an object or array: the path leads
    // nowhere, which gives NULL.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Matches an object key against the keys of a node's children without
/// allocating; yields the child's index.
struct KeySeed<'t> {
    children: &'t [(PathStep, PathNode)],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self
            .children
            .iter()
            .position(|(step, _)| matches!(step, PathStep::Key(name) if name == key)))
    }
}

/// Checks that JSON text is one valid value PostgreSQL's `jsonb` accepts:
/// no `\u0000` escape, and numbers within double precision.
fn check_jsonb(text: &str) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    JsonbCheck.deserialize(&mut deserializer)?;
    deserializer.end()
}

#[derive(Clone, Copy)]
struct JsonbCheck;

impl<'de> DeserializeSeed<'de> for JsonbCheck {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // `deserialize_any` makes serde_json decode every string (checking
        // escapes and surrogates) and parse every number (checking range).
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonbCheck {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        while sequence.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<(), E> {
        // Borrowed: no escapes, and raw control bytes are not valid JSON.
        Ok(())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if text.contains('\0') {
            return Err(E::custom(
                "it holds `\\u0000`, which PostgreSQL cannot store in jsonb or text",
            ));
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A JSON string decoded, borrowed when it holds no escapes.
struct DecodedString<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for DecodedString<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor;
        impl<'de> Visitor<'de> for StringVisitor {
            type Value = DecodedString<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(DecodedString(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(DecodedString(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(StringVisitor)
    }
}

/// What kind of JSON value a raw value is, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Null,
    Boolean,
    Number,
    String,
    Object,
    Array,
}

impl JsonKind {
    fn of(raw: &str) -> JsonKind {
        match raw.as_bytes().first() {
            Some(b'n') => JsonKind::Null,
            Some(b't' | b'f') => JsonKind::Boolean,
            Some(b'"') => JsonKind::String,
            Some(b'{') => JsonKind::Object,
            Some(b'[') => JsonKind::Array,
            _ => JsonKind::Number,
        }
    }

    fn described(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Object => "an object",
            JsonKind::Array => "an array",
        }
    }
}

/// The checked text of a typed column's value, as `COPY` reads it; `None`
/// for NULL.
fn typed_value<'a>(column: &PlannedColumn, raw: Option<&'a RawValue>) -> Result<Option<Cow<'a, str>>, String> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let text = raw.get();
    let kind = JsonKind::of(text);
    let mismatch = |reason: &str| {
        format!(
            "column `{}` ({}) at `{}`: value `{}` {reason}",
            column.name,
            column.sql_type,
            column.path,
            shorten(text)
        )
    };
    if kind == JsonKind::Null {
        return Ok(None);
    }
    let value: Cow<'a, str> = match (column.data_type, kind) {
        (ColumnType::Jsonb, _) => {
            check_jsonb(text).map_err(|error| mismatch(&format!("cannot be stored as jsonb: {error}")))?;
            Cow::Borrowed(text)
        }
        // As `->>` gives them: a string decoded, anything else as JSON text.
        (_, JsonKind::String) => {
            let decoded = serde_json::from_str::<DecodedString<'a>>(text)
                .map_err(|error| mismatch(&format!("is not a valid JSON string: {error}")))?;
            if decoded.0.contains('\0') {
                return Err(mismatch("holds `\\u0000`, which PostgreSQL cannot store in text"));
            }
            decoded.0
        }
        (ColumnType::Text | ColumnType::Varchar(_), _) => Cow::Borrowed(text),
        (ColumnType::Integer | ColumnType::BigInt | ColumnType::Numeric(_) | ColumnType::Double, JsonKind::Number)
        | (ColumnType::Boolean, JsonKind::Boolean) => Cow::Borrowed(text),
        (ColumnType::Boolean, JsonKind::Number) if matches!(text, "0" | "1") => Cow::Borrowed(text),
        (ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz, JsonKind::Number) => {
            return Err(mismatch(&format!(
                "is a number; send {} as ISO 8601 text, such as \"2024-01-31T08:30:00Z\"",
                column.sql_type
            )))
        }
        _ => return Err(mismatch(&format!("is {}, not {}", kind.described(), column.sql_type))),
    };
    if let Some(check) = column.check {
        check
            .check(value.as_bytes(), &column.sql_type)
            .map_err(|reason| mismatch(&reason))?;
    }
    if column.data_type == ColumnType::Uuid && !is_uuid(&value) {
        return Err(mismatch("is not a valid uuid"));
    }
    Ok(Some(value))
}

/// The Arrow kinds of the metadata columns ([`metadata_columns`]).
const METADATA_CELL_KINDS: [CellKind; 5] = [
    CellKind::Text,
    CellKind::Int32,
    CellKind::Int64,
    CellKind::TimestampUtc,
    CellKind::TimestampUtc,
];

/// The Arrow kind a typed column is appended as: the exact types parsed
/// here, the rest as text that DuckDB casts to the column's type.
fn cell_kind_of(data_type: ColumnType) -> CellKind {
    match data_type {
        ColumnType::Integer => CellKind::Int32,
        ColumnType::BigInt => CellKind::Int64,
        ColumnType::Double => CellKind::Float64,
        ColumnType::Boolean => CellKind::Boolean,
        ColumnType::Numeric(_)
        | ColumnType::Text
        | ColumnType::Varchar(_)
        | ColumnType::Date
        | ColumnType::Timestamp
        | ColumnType::TimestampTz
        | ColumnType::Jsonb
        | ColumnType::Uuid => CellKind::Text,
    }
}

/// The metadata cells that end every bronze row ([`write_metadata`] and
/// `ingested_at`).
fn metadata_cells<'a>(message: &Message<'a>, ingested_at_micros: i64) -> [Cell<'a>; 5] {
    let event_timestamp = match message.timestamp {
        Some(milliseconds) if (0..=MAX_TIMESTAMP_MS).contains(&milliseconds) => Cell::TimestampUtc(milliseconds * 1000),
        _ => Cell::Null,
    };
    [
        Cell::Text(Cow::Borrowed(message.topic)),
        Cell::Int32(message.partition),
        Cell::Int64(message.offset),
        event_timestamp,
        Cell::TimestampUtc(ingested_at_micros),
    ]
}

/// The forms PostgreSQL's `uuid` input accepts: 32 hex digits, optionally
/// in groups separated by `-` after every fourth digit, optionally in braces.
fn is_uuid(text: &str) -> bool {
    let inner = text
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or(text);
    let mut digits = 0;
    let mut previous_was_hyphen = true;
    for byte in inner.bytes() {
        if byte.is_ascii_hexdigit() {
            digits += 1;
            previous_was_hyphen = false;
        } else if byte == b'-' && !previous_was_hyphen && digits % 4 == 0 && digits < 32 {
            previous_was_hyphen = true;
        } else {
            return false;
        }
    }
    digits == 32 && !previous_was_hyphen
}

/// A value for an error message: at most [`MAX_DISPLAYED_VALUE_CHARS`].
fn shorten(text: &str) -> String {
    let mut shortened: String = text
        .chars()
        .take(MAX_DISPLAYED_VALUE_CHARS)
        .map(|character| if character == '\0' { '\u{FFFD}' } else { character })
        .collect();
    if text.chars().nth(MAX_DISPLAYED_VALUE_CHARS).is_some() {
        shortened.push_str("...");
    }
    shortened
}

/// `topic,partition,offset,event_timestamp` (without `ingested_at`).
fn write_metadata(buffer: &mut Vec<u8>, message: &Message<'_>) {
    write_copy_text(buffer, message.topic.as_bytes());
    buffer.push(b',');
    write_integer(buffer, i64::from(message.partition));
    buffer.push(b',');
    write_integer(buffer, message.offset);
    buffer.push(b',');
    if let Some(milliseconds) = message.timestamp {
        write_timestamp_ms(buffer, milliseconds);
    }
}

fn write_dead_letter(buffer: &mut Vec<u8>, message: &Message<'_>, error: &str, failed_at: &str, dialect: Dialect) {
    let write_bytes = match dialect {
        Dialect::Postgres | Dialect::Spark => write_hex,
        Dialect::DuckDb => write_escaped_bytes,
    };
    write_copy_text(buffer, message.topic.as_bytes());
    buffer.push(b',');
    write_integer(buffer, i64::from(message.partition));
    buffer.push(b',');
    write_integer(buffer, message.offset);
    buffer.push(b',');
    if let Some(key) = message.key {
        write_bytes(buffer, key);
    }
    buffer.push(b',');
    if let Some(payload) = message.payload {
        write_bytes(buffer, payload);
    }
    buffer.push(b',');
    if error.contains('\0') {
        write_copy_text(buffer, error.replace('\0', "\u{FFFD}").as_bytes());
    } else {
        write_copy_text(buffer, error.as_bytes());
    }
    buffer.push(b',');
    if let Some(milliseconds) = message.timestamp {
        write_timestamp_ms(buffer, milliseconds);
    }
    buffer.push(b',');
    buffer.extend_from_slice(failed_at.as_bytes());
}

/// Bytes in `bytea`'s hex input form, `\x0a1b...`; never needs CSV quotes.
fn write_hex(buffer: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    buffer.reserve(2 + bytes.len() * 2);
    buffer.extend_from_slice(b"\\x");
    for &byte in bytes {
        buffer.push(DIGITS[usize::from(byte >> 4)]);
        buffer.push(DIGITS[usize::from(byte & 0x0f)]);
    }
}

/// Bytes as DuckDB reads a `blob` from text, an escape per byte,
/// `\x0a\x1b...`, which never needs CSV quotes; no bytes are a quoted empty
/// field, which the `COPY` reads as an empty blob rather than NULL.
fn write_escaped_bytes(buffer: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    if bytes.is_empty() {
        buffer.extend_from_slice(b"\"\"");
        return;
    }
    buffer.reserve(bytes.len() * 4);
    for &byte in bytes {
        buffer.extend_from_slice(b"\\x");
        buffer.push(DIGITS[usize::from(byte >> 4)]);
        buffer.push(DIGITS[usize::from(byte & 0x0f)]);
    }
}

fn write_integer(buffer: &mut Vec<u8>, value: i64) {
    let mut digits = [0u8; 20];
    let mut position = digits.len();
    let mut remaining = value.unsigned_abs();
    loop {
        position -= 1;
        digits[position] = b'0' + (remaining % 10) as u8;
        remaining /= 10;
        if remaining == 0 {
            break;
        }
    }
    if value < 0 {
        buffer.push(b'-');
    }
    buffer.extend_from_slice(&digits[position..]);
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm+00`; nothing
/// (NULL) outside 1970 to 9999, such as Kafka's `-1` for no timestamp.
fn write_timestamp_ms(buffer: &mut Vec<u8>, milliseconds: i64) {
    if !(0..=MAX_TIMESTAMP_MS).contains(&milliseconds) {
        return;
    }
    let days = milliseconds / 86_400_000;
    let in_day = milliseconds % 86_400_000;
    let (year, month, day) = civil_from_days(days);
    let mut text = [0u8; 26];
    let mut put = |start: usize, value: i64, width: usize| {
        let mut remaining = value;
        for index in (start..start + width).rev() {
            text[index] = b'0' + (remaining % 10) as u8;
            remaining /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, in_day / 3_600_000, 2);
    put(14, in_day / 60_000 % 60, 2);
    put(17, in_day / 1000 % 60, 2);
    put(20, in_day % 1000, 3);
    for (index, separator) in [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':'), (19, b'.')] {
        text[index] = separator;
    }
    text[23..].copy_from_slice(b"+00");
    buffer.extend_from_slice(&text);
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), for days at or after the epoch.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::spec::JsonPath;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-02-01T10:00:00.5Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_default()
    }

    const INGESTED: &str = "2024-02-01 10:00:00.500000+00";

    fn message(payload: Option<&[u8]>) -> Message<'_> {
        Message {
            topic: "rental_events",
            partition: 2,
            offset: 41,
            timestamp: Some(1_706_689_800_123),
            key: Some(b"r-1"),
            payload,
            headers: &[],
        }
    }

    fn typed(columns: &[(&str, &str, &str)]) -> Mapper {
        let columns = columns
            .iter()
            .enumerate()
            .map(|(index, (name, data_type, path))| TypedColumn {
                name: name.to_string(),
                data_type: ColumnType::parse(data_type).unwrap_or_else(|| panic!("type {data_type}")),
                path: JsonPath::parse(path).unwrap_or_else(|(error, _)| panic!("{error}")),
                line: index + 1,
            })
            .collect();
        Mapper::new(&Mapping::Typed(columns))
    }

    #[test]
    fn duckdb_rows_are_typed_arrow_columns_and_a_dead_letter_leaves_them_whole() {
        use arrow::array::{Array, BooleanArray, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray};
        let mapper = Mapper {
            dialect: Dialect::DuckDb,
            ..typed(&[
                ("id", "bigint", "$.id"),
                ("quantity", "integer", "$.quantity"),
                ("returned", "boolean", "$.returned"),
                ("amount", "numeric(10,2)", "$.amount"),
            ])
        };
        let mut batch = mapper.batch(at());
        let good = br#"{"id": 7, "quantity": "3", "returned": "yes", "amount": 1.5}"#;
        // `quantity` fails after `id` converted: no cell of it may remain.
        let bad = br#"{"id": 8, "quantity": 3000000000}"#;
        assert_eq!(batch.push(&message(Some(good))), Routed::Row);
        assert!(matches!(batch.push(&message(Some(bad))), Routed::DeadLetter(_)));
        assert_eq!(batch.push(&message(Some(br#"{}"#))), Routed::Row);
        let encoded = batch.finish();
        assert!(encoded.rows.is_empty());
        assert_eq!((encoded.row_count, encoded.dead_letter_count), (2, 1));
        assert!(!encoded.dead_letters.is_empty());
        let rows = encoded
            .arrow_rows
            .map(|rows| rows.finish().unwrap_or_else(|error| panic!("{error}")))
            .unwrap_or_else(|| panic!("no Arrow rows"));
        assert_eq!(rows.num_rows(), 2);
        let column = |name: &str| rows.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
        let id = column("id")
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|array| (array.value(0), array.is_null(1)));
        assert_eq!(id, Some((7, true)));
        let quantity = column("quantity")
            .as_any()
            .downcast_ref::<Int32Array>()
            .map(|array| array.value(0));
        assert_eq!(quantity, Some(3));
        let returned = column("returned")
            .as_any()
            .downcast_ref::<BooleanArray>()
            .map(|array| array.value(0));
        assert_eq!(returned, Some(true));
        let amount = column("amount")
            .as_any()
            .downcast_ref::<StringArray>()
            .map(|array| array.value(0).to_string());
        assert_eq!(amount.as_deref(), Some("1.5"));
        let offset = column("offset")
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|array| array.value(0));
        assert_eq!(offset, Some(41));
        let timestamps = |name: &str| {
            column(name)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .map(|array| array.value(0))
        };
        assert_eq!(timestamps("event_timestamp"), Some(1_706_689_800_123_000));
        assert_eq!(timestamps("ingested_at"), Some(at().timestamp_micros()));
    }

    /// Encodes the messages; returns the bronze CSV and the dead-letter CSV
    /// as text.
    fn encode(mapper: &Mapper, messages: &[Message<'_>]) -> (String, String) {
        let mut batch = mapper.batch(at());
        for message in messages {
            batch.push(message);
        }
        let encoded = batch.finish();
        let text = |chunks: Vec<Vec<u8>>| String::from_utf8(chunks.concat()).unwrap_or_else(|error| panic!("{error}"));
        (text(encoded.rows), text(encoded.dead_letters))
    }

    /// The one data row of a CSV text.
    fn only_row(csv: &str) -> &str {
        let mut lines = csv.splitn(2, '\n');
        lines.next();
        lines.next().unwrap_or_default().trim_end_matches('\n')
    }

    /// The bronze value of one typed column for `payload`, or the
    /// dead-letter error.
    fn typed_value(data_type: &str, payload: &str) -> Result<String, String> {
        let mapper = typed(&[("value", data_type, "$.value")]);
        let mut batch = mapper.batch(at());
        let routed = batch.push(&message(Some(payload.as_bytes())));
        let encoded = batch.finish();
        match routed {
            Routed::Row => {
                let csv = String::from_utf8(encoded.rows.concat()).unwrap_or_default();
                let row = only_row(&csv).to_string();
                let suffix = format!(",rental_events,2,41,2024-01-31 08:30:00.123+00,{INGESTED}");
                Ok(row.strip_suffix(&suffix).unwrap_or(&row).to_string())
            }
            Routed::DeadLetter(error) => Err(error),
        }
    }

    #[test]
    fn raw_rows_hold_payload_key_headers_and_metadata() {
        let mapper = Mapper::new(&Mapping::Raw);
        assert_eq!(
            mapper.column_names(),
            vec![
                "payload",
                "key",
                "headers",
                "topic",
                "partition",
                "offset",
                "event_timestamp",
                "ingested_at"
            ]
        );
        let headers: &[(&str, Option<&[u8]>)] =
            &[("trace", Some(b"abc")), ("bin", Some(&[0xff, 0x00])), ("none", None)];
        let mut first = message(Some(br#"{"rental_id": 7, "note": "a, \"b\"\nc"}"#));
        first.headers = headers;
        let mut tombstone = message(None);
        tombstone.key = None;
        tombstone.timestamp = Some(-1);
        let (rows, dead) = encode(&mapper, &[first, tombstone]);
        assert_eq!(dead, "");
        assert_eq!(
            rows,
            format!(
                "payload,key,headers,topic,partition,offset,event_timestamp,ingested_at\n\
                 \"{{\"\"rental_id\"\": 7, \"\"note\"\": \"\"a, \\\"\"b\\\"\"\\nc\"\"}}\",r-1,\
                 \"{{\"\"trace\"\":\"\"abc\"\",\"\"bin\"\":\"\"\\\\xff00\"\",\"\"none\"\":null}}\",\
                 rental_events,2,41,2024-01-31 08:30:00.123+00,{INGESTED}\n\
                 ,,{{}},rental_events,2,41,,{INGESTED}\n"
            )
        );
    }

    #[test]
    fn raw_csv_reads_back_as_the_same_values() {
        let payload = "{\"text\": \"line one\\nline two, \\\"quoted\\\" \\\\. end\", \"\\\\.\": 1}";
        let mapper = Mapper::new(&Mapping::Raw);
        let (rows, _) = encode(&mapper, &[message(Some(payload.as_bytes()))]);
        let mut reader = csv::ReaderBuilder::new().from_reader(rows.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap_or_default();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][0], payload);
        assert_eq!(&records[0][1], "r-1");
    }

    #[test]
    fn raw_poison_messages_go_to_the_dead_letter_with_their_bytes() {
        let mapper = Mapper::new(&Mapping::Raw);
        let cases: &[(&[u8], &str)] = &[
            (b"{\"a\": 1", "payload is not valid JSON: EOF while parsing an object"),
            (b"{\"a\": 1} trailing", "payload is not valid JSON: trailing characters"),
            (b"not json", "payload is not valid JSON: expected ident"),
            (b"{\"a\": \"\xff\"}", "payload is not UTF-8 text"),
            (
                b"{\"a\": \"x\\u0000y\"}",
                "payload cannot be stored as jsonb: it holds `\\u0000`",
            ),
            (
                b"{\"a\\u0000\": 1}",
                "payload cannot be stored as jsonb: it holds `\\u0000`",
            ),
            (b"{\"a\": 1e400}", "payload is not valid JSON: number out of range"),
            (
                b"{\"a\": \"\\ud800\"}",
                "payload is not valid JSON: unexpected end of hex escape",
            ),
            (
                b"{\"a\": \"tab\there\"}",
                "payload is not valid JSON: control character",
            ),
            (b"{\"a\": 1}\x00", "payload is not valid JSON: trailing characters"),
        ];
        for (payload, expected) in cases {
            let mut batch = mapper.batch(at());
            let routed = batch.push(&message(Some(payload)));
            let Routed::DeadLetter(error) = routed else {
                panic!("{} should be a dead letter", String::from_utf8_lossy(payload));
            };
            assert!(error.starts_with(expected), "{error} should start with {expected}");
            let encoded = batch.finish();
            assert_eq!((encoded.row_count, encoded.dead_letter_count), (0, 1));
            assert!(encoded.rows.is_empty());
            let dead = String::from_utf8(encoded.dead_letters.concat()).unwrap_or_default();
            let mut hex = Vec::new();
            write_hex(&mut hex, payload);
            let hex = String::from_utf8(hex).unwrap_or_default();
            assert!(
                dead.starts_with(&format!(
                    "topic,partition,offset,key,payload,error,event_timestamp,failed_at\nrental_events,2,41,\\x722d31,{hex},"
                )),
                "{dead}"
            );
            assert!(
                dead.ends_with(&format!(",2024-01-31 08:30:00.123+00,{INGESTED}\n")),
                "{dead}"
            );
            assert!(!dead.contains('\0'));
        }
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text_not_nul() {
        let mapper = Mapper::new(&Mapping::Raw);
        let mut batch = mapper.batch(at());
        assert_eq!(batch.push(&message(Some(br#"{"path": "C:\\u0000"}"#))), Routed::Row);
    }

    #[test]
    fn a_raw_key_that_is_not_text_is_a_dead_letter() {
        let mapper = Mapper::new(&Mapping::Raw);
        for key in [&b"\xff\xfe"[..], &b"a\0b"[..]] {
            let mut with_key = message(Some(b"{}"));
            with_key.key = Some(key);
            let mut batch = mapper.batch(at());
            let Routed::DeadLetter(error) = batch.push(&with_key) else {
                panic!("key {key:?} should be a dead letter");
            };
            assert!(error.starts_with("key "), "{error}");
        }
        let mut empty_key = message(Some(b"{}"));
        empty_key.key = Some(b"");
        let (rows, _) = encode(&mapper, &[empty_key]);
        assert!(only_row(&rows).starts_with("{},\"\",{},"), "{rows}");
    }

    #[test]
    fn typed_rows_extract_paths_and_end_with_metadata() {
        let mapper = typed(&[
            ("rental_id", "bigint", "$.rental_id"),
            ("amount", "numeric(10,2)", "$.payment.amount"),
            ("currency", "text", "$.payment['currency code']"),
            ("first_item", "text", "$.items[1]"),
            ("payment", "jsonb", "$.payment"),
            ("rented_at", "timestamptz", "$.rented_at"),
            ("missing", "integer", "$.nowhere.at.all"),
            ("nothing", "text", "$.nothing"),
        ]);
        assert_eq!(
            mapper.column_names(),
            vec![
                "rental_id",
                "amount",
                "currency",
                "first_item",
                "payment",
                "rented_at",
                "missing",
                "nothing",
                "topic",
                "partition",
                "offset",
                "event_timestamp",
                "ingested_at"
            ]
        );
        let payload = br#"{"rental_id": 16050, "items": ["a", "b\"c"], "nothing": null,
            "payment": {"amount": 4.99, "currency code": "EUR"}, "rented_at": "2024-01-31T08:30:00Z", "extra": [1, {"x": 2}]}"#;
        let (rows, dead) = encode(&mapper, &[message(Some(payload))]);
        assert_eq!(dead, "");
        assert_eq!(
            only_row(&rows),
            format!(
                "16050,4.99,EUR,\"b\"\"c\",\"{{\"\"amount\"\": 4.99, \"\"currency code\"\": \"\"EUR\"\"}}\",\
                 2024-01-31T08:30:00Z,,,rental_events,2,41,2024-01-31 08:30:00.123+00,{INGESTED}"
            )
        );
    }

    #[test]
    fn each_type_takes_its_values() {
        let accepted: &[(&str, &str, &str)] = &[
            ("integer", "42", "42"),
            ("integer", "\"-7\"", "-7"),
            ("bigint", "9007199254740993", "9007199254740993"),
            ("numeric(10,2)", "12345678.994", "12345678.994"),
            ("numeric", "1.5e3", "1.5e3"),
            ("numeric", "\"3.25\"", "3.25"),
            ("double", "1.5e300", "1.5e300"),
            ("double", "\"NaN\"", "NaN"),
            ("boolean", "true", "true"),
            ("boolean", "\"yes\"", "yes"),
            ("boolean", "0", "0"),
            ("text", "\"plain\"", "plain"),
            ("text", "\"\"", "\"\""),
            ("text", "\"a\\nb, c\"", "\"a\nb, c\""),
            ("text", "12.50", "12.50"),
            ("text", "false", "false"),
            ("text", "[1, 2]", "\"[1, 2]\""),
            ("varchar(3)", "\"abc\"", "abc"),
            ("varchar(3)", "\"ééé\"", "ééé"),
            ("date", "\"2024-02-29\"", "2024-02-29"),
            ("timestamp", "\"2024-01-31 08:30:00.25\"", "2024-01-31 08:30:00.25"),
            (
                "timestamptz",
                "\"2024-01-31T08:30:00+01:00\"",
                "2024-01-31T08:30:00+01:00",
            ),
            ("jsonb", "{\"a\": [1, null]}", "\"{\"\"a\"\": [1, null]}\""),
            ("jsonb", "\"text\"", "\"\"\"text\"\"\""),
            ("jsonb", "7", "7"),
            (
                "uuid",
                "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            ),
            (
                "uuid",
                "\"{A0EEBC999C0B4EF8BB6D6BB9BD380A11}\"",
                "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}",
            ),
            ("integer", "null", ""),
        ];
        for (data_type, value, expected) in accepted {
            let payload = format!("{{\"value\": {value}}}");
            assert_eq!(
                typed_value(data_type, &payload).as_deref(),
                Ok(*expected),
                "{data_type} from {value}"
            );
        }
    }

    #[test]
    fn type_mismatches_go_to_the_dead_letter() {
        let rejected: &[(&str, &str, &str)] = &[
            ("integer", "4.5", "is not a valid integer"),
            ("integer", "3000000000", "is out of range for integer"),
            ("integer", "\"four\"", "is not a valid integer"),
            ("integer", "true", "is a boolean, not integer"),
            ("bigint", "{\"a\": 1}", "is an object, not bigint"),
            ("numeric(5,2)", "1234.5", "does not fit numeric(5,2)"),
            ("double", "\"1e400\"", "is out of range for double precision"),
            ("boolean", "2", "is a number, not boolean"),
            ("boolean", "\"maybe\"", "is not a valid boolean"),
            (
                "varchar(3)",
                "\"abcd\"",
                "is 4 characters long, but varchar(3) holds at most 3",
            ),
            ("date", "\"2023-02-29\"", "is not a valid date"),
            ("date", "\"2024-01-31T08:00:00\"", "has a time of day"),
            ("timestamp", "\"2024-01-31T08:00:00Z\"", "has a UTC offset"),
            (
                "timestamptz",
                "1706689800",
                "is a number; send timestamptz as ISO 8601 text",
            ),
            ("uuid", "\"not-a-uuid\"", "is not a valid uuid"),
            ("uuid", "12", "is a number, not uuid"),
            ("text", "\"nul \\u0000 here\"", "holds `\\u0000`"),
            ("jsonb", "{\"a\": \"\\u0000\"}", "cannot be stored as jsonb"),
        ];
        for (data_type, value, expected) in rejected {
            let payload = format!("{{\"value\": {value}}}");
            let error = typed_value(data_type, &payload).err().unwrap_or_default();
            assert!(
                error.starts_with("column `value` (") && error.contains(expected),
                "{data_type} from {value}: `{error}` should contain `{expected}`"
            );
        }
    }

    #[test]
    fn typed_mismatch_errors_name_the_column_path_and_value() {
        let error = typed_value("numeric(10,2)", "{\"value\": \"abc\"}")
            .err()
            .unwrap_or_default();
        assert_eq!(
            error,
            "column `value` (numeric(10,2)) at `$.value`: value `\"abc\"` is not a valid numeric(10,2)"
        );
    }

    #[test]
    fn typed_poison_and_tombstones_go_to_the_dead_letter() {
        let mapper = typed(&[("value", "text", "$.value")]);
        for (payload, expected) in [
            (Some(&b"{\"value\": 1,}"[..]), "payload is not valid JSON"),
            (
                Some(&b"{\"value\": 1} {}"[..]),
                "payload is not valid JSON: trailing characters",
            ),
            (Some(&b"\xff"[..]), "payload is not UTF-8 text"),
            (None, "the message has no payload (a tombstone)"),
        ] {
            let mut batch = mapper.batch(at());
            let Routed::DeadLetter(error) = batch.push(&message(payload)) else {
                panic!("{payload:?} should be a dead letter");
            };
            assert!(error.starts_with(expected), "{error}");
        }
    }

    #[test]
    fn a_path_through_a_scalar_or_past_an_array_is_null() {
        for payload in [r#"{"a": 5}"#, r#"{"a": {"b": [1]}}"#, r#"[1, 2]"#, r#""text""#] {
            let mapper = typed(&[("value", "text", "$.a.b[3]")]);
            let (rows, dead) = encode(&mapper, &[message(Some(payload.as_bytes()))]);
            assert_eq!(dead, "", "{payload}");
            assert!(only_row(&rows).starts_with(",rental_events,"), "{payload}: {rows}");
        }
    }

    #[test]
    fn paths_sharing_a_prefix_and_a_repeated_key_read_the_last_value() {
        let mapper = typed(&[
            ("outer", "jsonb", "$.a"),
            ("inner", "integer", "$.a.b"),
            ("same", "integer", "$.a.b"),
            ("whole", "jsonb", "$"),
        ]);
        let payload = br#"{"a": {"b": 1}, "a": {"b": 2}}"#;
        let (rows, _) = encode(&mapper, &[message(Some(payload))]);
        assert!(
            only_row(&rows).starts_with(
                "\"{\"\"b\"\": 2}\",2,2,\"{\"\"a\"\": {\"\"b\"\": 1}, \"\"a\"\": {\"\"b\"\": 2}}\",rental_events,"
            ),
            "{rows}"
        );
    }

    #[test]
    fn offsets_track_each_partition_and_come_out_sorted() {
        let mapper = Mapper::new(&Mapping::Raw);
        let mut batch = mapper.batch(at());
        for (topic, partition, offset) in [("b", 0, 5), ("a", 1, 10), ("a", 1, 11), ("b", 0, 6), ("a", 0, 3)] {
            let mut next = message(Some(b"{}"));
            next.topic = topic;
            next.partition = partition;
            next.offset = offset;
            batch.push(&next);
        }
        assert_eq!(batch.len(), 5);
        let offsets: Vec<(String, i32, i64, i64)> = batch
            .finish()
            .offsets
            .into_iter()
            .map(|offset| (offset.topic, offset.partition, offset.first_offset, offset.next_offset))
            .collect();
        assert_eq!(
            offsets,
            vec![("a".into(), 0, 3, 4), ("a".into(), 1, 10, 12), ("b".into(), 0, 5, 7)]
        );
    }

    /// Not timed: exercises the encoding path at batch size, so that a
    /// regression shows up as a slow test. `DVT_INGEST_BENCH=1` prints the
    /// rate, which means something only in an optimized build.
    #[test]
    fn a_large_batch_is_chunked_with_one_header() {
        let payloads: Vec<String> = (0..60_000)
            .map(|index| {
                format!(
                    r#"{{"rental_id":{index},"customer_id":{},"inventory_id":{},"staff_id":2,"payment":{{"amount":{}.99,"currency":"EUR"}},"rented_at":"2024-01-31T08:30:{:02}Z","store":"Lethbridge \"main\""}}"#,
                    index % 599,
                    index % 4581,
                    index % 11,
                    index % 60
                )
            })
            .collect();
        let mappers = [
            Mapper::new(&Mapping::Raw),
            typed(&[
                ("rental_id", "bigint", "$.rental_id"),
                ("customer_id", "integer", "$.customer_id"),
                ("amount", "numeric(10,2)", "$.payment.amount"),
                ("rented_at", "timestamptz", "$.rented_at"),
                ("store", "text", "$.store"),
            ]),
        ];
        for mapper in &mappers {
            let started = std::time::Instant::now();
            let mut batch = mapper.batch(at());
            for (offset, payload) in payloads.iter().enumerate() {
                let mut next = message(Some(payload.as_bytes()));
                next.offset = offset as i64;
                batch.push(&next);
            }
            let encoded = batch.finish();
            let elapsed = started.elapsed();
            if std::env::var_os("DVT_INGEST_BENCH").is_some() {
                eprintln!(
                    "{} messages in {elapsed:?}: {:.0} messages/s",
                    payloads.len(),
                    payloads.len() as f64 / elapsed.as_secs_f64()
                );
            }
            assert_eq!((encoded.row_count, encoded.dead_letter_count), (60_000, 0));
            assert!(encoded.rows.len() > 1, "{} chunks", encoded.rows.len());
            let header = mapper.column_names().join(",") + "\n";
            assert!(encoded.rows[0].starts_with(header.as_bytes()));
            for chunk in &encoded.rows[1..] {
                assert!(!chunk.starts_with(header.as_bytes()));
                assert_eq!(chunk.last(), Some(&b'\n'));
            }
            let total_lines: usize = encoded
                .rows
                .iter()
                .map(|chunk| chunk.iter().filter(|&&byte| byte == b'\n').count())
                .sum();
            assert_eq!(total_lines, 60_001);
            assert_eq!(encoded.offsets[0].next_offset, 60_000);
        }
    }

    #[test]
    fn timestamps_are_formatted_in_utc_or_left_null() {
        let format = |milliseconds: i64| {
            let mut buffer = Vec::new();
            write_timestamp_ms(&mut buffer, milliseconds);
            String::from_utf8(buffer).unwrap_or_default()
        };
        assert_eq!(format(0), "1970-01-01 00:00:00.000+00");
        assert_eq!(format(1_706_689_800_123), "2024-01-31 08:30:00.123+00");
        assert_eq!(format(1_709_164_799_999), "2024-02-28 23:59:59.999+00");
        assert_eq!(format(1_709_251_199_000), "2024-02-29 23:59:59.000+00");
        assert_eq!(format(951_782_400_000), "2000-02-29 00:00:00.000+00");
        assert_eq!(format(MAX_TIMESTAMP_MS), "9999-12-31 23:59:59.999+00");
        assert_eq!(format(MAX_TIMESTAMP_MS + 1), "");
        assert_eq!(format(-1), "");
        for milliseconds in [0, 86_399_999, 1_000_000_000_000, 4_102_444_800_000, 1_234_567_890_123] {
            let expected = DateTime::from_timestamp_millis(milliseconds)
                .map(|time| time.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string())
                .unwrap_or_default();
            assert_eq!(format(milliseconds), expected);
        }
    }

    #[test]
    fn integers_and_uuids() {
        let format = |value: i64| {
            let mut buffer = Vec::new();
            write_integer(&mut buffer, value);
            String::from_utf8(buffer).unwrap_or_default()
        };
        for value in [0, 7, -7, 1_000_000, i64::MIN, i64::MAX] {
            assert_eq!(format(value), value.to_string());
        }
        assert!(is_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
        assert!(is_uuid("a0eebc999c0b4ef8bb6d6bb9bd380a11"));
        assert!(is_uuid("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"));
        assert!(!is_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"));
        assert!(!is_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-"));
        assert!(!is_uuid("-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
        assert!(!is_uuid("a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11"));
    }

    /// The poison-message corpus, `tests/fixtures/malformed/kafka/`: every
    /// message goes to the dead letter under both mappings, with a reason
    /// that says what is wrong (and where, for JSON that does not parse);
    /// none panics. The reasons are snapshotted.
    #[test]
    fn poison_messages_of_the_corpus_go_to_the_dead_letter_with_a_reason() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed/kafka");
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "the corpus holds {} messages", files.len());
        let typed = typed(&[
            ("rental_id", "bigint", "$.rental_id"),
            ("amount", "numeric(10,2)", "$.amount"),
            ("title", "text", "$.title"),
        ]);
        let raw = Mapper::new(&Mapping::Raw);
        let mut report = String::new();
        for file in &files {
            let payload = std::fs::read(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            for (mapping, mapper) in [("typed", &typed), ("raw", &raw)] {
                let mut batch = mapper.batch(at());
                let routed = batch.push(&message(Some(&payload)));
                let reason = match routed {
                    Routed::DeadLetter(reason) => reason,
                    // Valid JSON that only a typed mapping rejects is stored as
                    // is by the raw one; a typed mapping reads only its paths,
                    // so nesting past them is no concern of it.
                    Routed::Row => "(stored)".to_string(),
                };
                assert!(!reason.trim().is_empty(), "{name}: an empty reason");
                report.push_str(&format!("{name} ({mapping}): {reason}\n"));
            }
        }
        insta::assert_snapshot!(report);
    }

    /// Property tests: a JSON path and a payload of any bytes never panic;
    /// a path written in bracket form parses back to its steps; and a value
    /// placed at a path in a payload is what the typed mapping extracts.
    /// `PROPTEST_CASES` runs more (`bench/fuzz.sh`).
    mod fuzz {
        use super::*;
        use crate::ingest::spec::PathStep;
        use proptest::prelude::*;

        fn steps() -> impl Strategy<Value = Vec<PathStep>> {
            prop::collection::vec(
                prop_oneof![
                    "\\PC{1,8}".prop_map(PathStep::Key),
                    (0usize..4).prop_map(PathStep::Index),
                ],
                1..5,
            )
        }

        /// `steps` as a path in bracket form, escaping quotes and backslashes.
        fn written(steps: &[PathStep]) -> String {
            let mut text = "$".to_string();
            for step in steps {
                match step {
                    PathStep::Key(key) => {
                        text.push_str(&format!("['{}']", key.replace('\\', "\\\\").replace('\'', "\\'")))
                    }
                    PathStep::Index(index) => text.push_str(&format!("[{index}]")),
                }
            }
            text
        }

        /// A payload holding `leaf` at `steps`.
        fn payload(steps: &[PathStep], leaf: serde_json::Value) -> serde_json::Value {
            steps.iter().rev().fold(leaf, |inner, step| match step {
                PathStep::Key(key) => serde_json::json!({ key.clone(): inner }),
                PathStep::Index(index) => {
                    let mut items = vec![serde_json::Value::Null; *index];
                    items.push(inner);
                    serde_json::Value::Array(items)
                }
            })
        }

        /// The first field of the one row of an encoded batch.
        fn first_field(rows: &[Vec<u8>]) -> Option<String> {
            let bytes = rows.concat();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(bytes.as_slice());
            let record = reader.records().next()?.ok()?;
            record.get(0).map(str::to_owned)
        }

        fn extract(path: &str, data_type: &str, payload: &[u8]) -> (Routed, Option<String>) {
            let mapper = typed(&[("value", data_type, path)]);
            let mut batch = mapper.batch(at());
            let routed = batch.push(&message(Some(payload)));
            let encoded = batch.finish();
            (routed, first_field(&encoded.rows))
        }

        proptest! {
            #[test]
            fn fuzz_json_path_parse_never_panics(text in "\\PC{0,30}") {
                let _ = JsonPath::parse(&text);
            }

            #[test]
            fn fuzz_json_path_brackets_never_panic(text in "\\$[\\[\\]'\"\\\\.a-c0-9 ]{0,20}") {
                let _ = JsonPath::parse(&text);
            }

            #[test]
            fn fuzz_json_path_round_trips(steps in steps()) {
                let text = written(&steps);
                let parsed = JsonPath::parse(&text).map_err(|(error, _)| TestCaseError::fail(error))?;
                prop_assert_eq!(parsed.steps, steps, "{}", text);
            }

            #[test]
            fn fuzz_mapping_never_panics(path in steps(), payload in prop::collection::vec(any::<u8>(), 0..60)) {
                let path = written(&path);
                let _ = extract(&path, "text", &payload);
                let _ = extract(&path, "bigint", &payload);
            }

            #[test]
            fn fuzz_mapping_extracts_what_was_placed(steps in steps(), text in "[ -~]{0,16}", number in any::<i64>()) {
                let path = written(&steps);
                let document = payload(&steps, serde_json::Value::from(text.clone()));
                let (routed, field) = extract(&path, "text", document.to_string().as_bytes());
                prop_assert!(matches!(routed, Routed::Row), "{:?} for {}", routed, document);
                // An empty string is NULL's spelling in COPY's CSV only when unquoted.
                prop_assert_eq!(field.unwrap_or_default(), text);
                let document = payload(&steps, serde_json::Value::from(number));
                let (routed, field) = extract(&path, "bigint", document.to_string().as_bytes());
                prop_assert!(matches!(routed, Routed::Row), "{:?} for {}", routed, document);
                prop_assert_eq!(field, Some(number.to_string()));
            }
        }
    }
}
