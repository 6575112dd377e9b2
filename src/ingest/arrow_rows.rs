//! Bronze rows as Arrow columns, for DuckDB's appender: where PostgreSQL
//! reads the CSV of [`super::mapping`] with `COPY`, DuckDB takes a record
//! batch of typed arrays and appends it in the open transaction
//! ([`crate::adapter::Connection::append_arrow`]).
//!
//! Each bronze column gets the Arrow type of its table type where the value
//! is already known exactly: `integer`, `bigint`, `double precision` and
//! `boolean` from the checked JSON value, the metadata columns from the
//! message, `event_timestamp` and `ingested_at` as microseconds in UTC
//! (`timestamptz`). `text`, `varchar(n)`, `jsonb` (DuckDB's `varchar`) and
//! `uuid` are strings; so are `numeric(p,s)`, `date`, `timestamp` and
//! `timestamptz` of a typed mapping, which DuckDB casts to the column's type
//! on append as its CSV reader did, so their rounding and time-zone rules
//! are DuckDB's own.
//!
//! A row is converted to [`Cell`]s first and appended only when every value
//! converted, so a value that does not fit leaves the builders untouched and
//! the message goes to the dead letter.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The Arrow type a bronze column is built as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Int32,
    Int64,
    Float64,
    Boolean,
    /// Microseconds since the epoch, in UTC (`timestamptz`).
    TimestampUtc,
}

impl CellKind {
    fn data_type(self) -> DataType {
        match self {
            CellKind::Text => DataType::Utf8,
            CellKind::Int32 => DataType::Int32,
            CellKind::Int64 => DataType::Int64,
            CellKind::Float64 => DataType::Float64,
            CellKind::Boolean => DataType::Boolean,
            CellKind::TimestampUtc => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// One value of a row, of its column's [`CellKind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Int32(i32),
    Int64(i64),
    Float64(f64),
    Boolean(bool),
    /// Microseconds since the epoch.
    TimestampUtc(i64),
}

impl Cell<'_> {
    /// A checked value's text as a cell of `kind`; `Err` says why it does
    /// not convert, in words that follow "value `x`".
    pub fn parse(kind: CellKind, text: &str) -> Result<Self, String> {
        let trimmed = text.trim_matches(|character: char| character.is_ascii_whitespace());
        match kind {
            CellKind::Text => Ok(Cell::Text(Cow::Owned(text.to_string()))),
            CellKind::Int32 => trimmed
                .parse()
                .map(Cell::Int32)
                .map_err(|_| "is not an integer in range".to_string()),
            CellKind::Int64 => trimmed
                .parse()
                .map(Cell::Int64)
                .map_err(|_| "is not a bigint in range".to_string()),
            CellKind::Float64 => trimmed
                .parse()
                .map(Cell::Float64)
                .map_err(|_| "is not a double precision number".to_string()),
            CellKind::Boolean => parse_boolean(trimmed)
                .map(Cell::Boolean)
                .ok_or_else(|| "is not a boolean".to_string()),
            CellKind::TimestampUtc => Err("is not a timestamp in microseconds".to_string()),
        }
    }
}

/// PostgreSQL's boolean input (`t`, `tr`, ..., `yes`, `on`, `1` and their
/// opposites), of text [`crate::seed::ValueCheck`] has accepted.
fn parse_boolean(text: &str) -> Option<bool> {
    let lowercase = text.to_ascii_lowercase();
    let matches_prefix = |word: &str| !lowercase.is_empty() && word.starts_with(lowercase.as_str());
    if lowercase == "on" || lowercase == "1" || matches_prefix("true") || matches_prefix("yes") {
        Some(true)
    } else if lowercase == "0"
        || (lowercase.len() >= 2 && matches_prefix("off"))
        || matches_prefix("false")
        || matches_prefix("no")
    {
        Some(false)
    } else {
        None
    }
}

#[derive(Debug)]
enum Builder {
    Text(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    TimestampUtc(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: CellKind) -> Self {
        match kind {
            CellKind::Text => Builder::Text(StringBuilder::new()),
            CellKind::Int32 => Builder::Int32(Int32Builder::new()),
            CellKind::Int64 => Builder::Int64(Int64Builder::new()),
            CellKind::Float64 => Builder::Float64(Float64Builder::new()),
            CellKind::Boolean => Builder::Boolean(BooleanBuilder::new()),
            CellKind::TimestampUtc => Builder::TimestampUtc(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
        }
    }

    /// Appends `cell`; a cell of another kind than the column's appends
    /// NULL (the encoder never builds one).
    fn append(&mut self, cell: &Cell<'_>) {
        match (self, cell) {
            (Builder::Text(builder), Cell::Text(text)) => builder.append_value(text),
            (Builder::Int32(builder), Cell::Int32(value)) => builder.append_value(*value),
            (Builder::Int64(builder), Cell::Int64(value)) => builder.append_value(*value),
            (Builder::Float64(builder), Cell::Float64(value)) => builder.append_value(*value),
            (Builder::Boolean(builder), Cell::Boolean(value)) => builder.append_value(*value),
            (Builder::TimestampUtc(builder), Cell::TimestampUtc(value)) => builder.append_value(*value),
            (Builder::Text(builder), _) => builder.append_null(),
            (Builder::Int32(builder), _) => builder.append_null(),
            (Builder::Int64(builder), _) => builder.append_null(),
            (Builder::Float64(builder), _) => builder.append_null(),
            (Builder::Boolean(builder), _) => builder.append_null(),
            (Builder::TimestampUtc(builder), _) => builder.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(builder) => Arc::new(builder.finish()),
            Builder::Int32(builder) => Arc::new(builder.finish()),
            Builder::Int64(builder) => Arc::new(builder.finish()),
            Builder::Float64(builder) => Arc::new(builder.finish()),
            Builder::Boolean(builder) => Arc::new(builder.finish()),
            Builder::TimestampUtc(builder) => Arc::new(builder.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Builder::Text(builder) => builder.len(),
            Builder::Int32(builder) => builder.len(),
            Builder::Int64(builder) => builder.len(),
            Builder::Float64(builder) => builder.len(),
            Builder::Boolean(builder) => builder.len(),
            Builder::TimestampUtc(builder) => builder.len(),
        }
    }
}

/// The bronze rows of one batch, column by column.
#[derive(Debug)]
pub struct ArrowRows {
    schema: Arc<Schema>,
    builders: Vec<Builder>,
}

impl ArrowRows {
    /// Empty columns named `names`, of `kinds`.
    pub fn new(names: &[String], kinds: &[CellKind]) -> Self {
        let fields: Vec<Field> = names
            .iter()
            .zip(kinds)
            .map(|(name, kind)| Field::new(name, kind.data_type(), true))
            .collect();
        Self {
            schema: Arc::new(Schema::new(fields)),
            builders: kinds.iter().map(|kind| Builder::new(*kind)).collect(),
        }
    }

    /// Appends one row, a cell per column.
    pub fn push(&mut self, cells: &[Cell<'_>]) {
        for (builder, cell) in self.builders.iter_mut().zip(cells) {
            builder.append(cell);
        }
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.builders.first().map_or(0, Builder::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column names, in append order.
    pub fn column_names(&self) -> Vec<String> {
        self.schema.fields().iter().map(|field| field.name().clone()).collect()
    }

    /// The rows as one record batch.
    pub fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        RecordBatch::try_new(self.schema, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, BooleanArray, Int32Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn rows_become_typed_columns() {
        let names = ["name", "count", "flag", "at"].map(String::from);
        let mut rows = ArrowRows::new(
            &names,
            &[
                CellKind::Text,
                CellKind::Int32,
                CellKind::Boolean,
                CellKind::TimestampUtc,
            ],
        );
        rows.push(&[
            Cell::Text("a".into()),
            Cell::Int32(7),
            Cell::Boolean(true),
            Cell::TimestampUtc(1_000_000),
        ]);
        rows.push(&[Cell::Null, Cell::Null, Cell::Null, Cell::Null]);
        assert_eq!(rows.len(), 2);
        let batch = rows.finish().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(batch.num_rows(), 2);
        let text = batch.column(0).as_any().downcast_ref::<StringArray>();
        assert_eq!(text.map(|array| array.value(0)), Some("a"));
        assert_eq!(text.map(|array| array.is_null(1)), Some(true));
        let count = batch.column(1).as_any().downcast_ref::<Int32Array>();
        assert_eq!(count.map(|array| array.value(0)), Some(7));
        let flag = batch.column(2).as_any().downcast_ref::<BooleanArray>();
        assert_eq!(flag.map(|array| array.value(0)), Some(true));
        let at = batch.column(3).as_any().downcast_ref::<TimestampMicrosecondArray>();
        assert_eq!(at.map(|array| array.value(0)), Some(1_000_000));
        assert_eq!(
            batch.schema().field(3).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }

    #[test]
    fn checked_text_parses_as_postgresql_reads_it() {
        assert_eq!(Cell::parse(CellKind::Int32, " 42 "), Ok(Cell::Int32(42)));
        assert_eq!(
            Cell::parse(CellKind::Int64, "-9000000000"),
            Ok(Cell::Int64(-9_000_000_000))
        );
        assert_eq!(Cell::parse(CellKind::Float64, "1.5e3"), Ok(Cell::Float64(1500.0)));
        assert!(Cell::parse(CellKind::Int32, "3000000000").is_err());
        for (text, value) in [
            ("t", true),
            ("TRUE", true),
            ("ye", true),
            ("on", true),
            ("1", true),
            ("f", false),
            ("no", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(parse_boolean(text), Some(value), "{text}");
        }
        assert_eq!(parse_boolean("o"), None);
        assert_eq!(parse_boolean("maybe"), None);
    }
}
