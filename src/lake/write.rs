//! Encodes record batches into files: Parquet (or CSV), one file per
//! hive-style partition, handed on in chunks as the encoder produces them so
//! that no whole file is ever held in memory.
//!
//! The rows arrive ordered by their partition values (the export query
//! sorts them), so at most one file is open at a time. This module does no
//! I/O: [`super::export`] uploads what it emits.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::spec::{Compression, ExportSpec, Format};

/// The name Hive gives the partition of a null (or empty) value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The alias of the `index`-th partition value column the export query adds.
pub fn partition_alias(index: usize) -> String {
    format!("__dvt_partition_{index}")
}

/// Escapes a partition value for a path segment, as Hive does: `%XX` for
/// the characters that would break a path or a `key=value` pair.
pub fn escape_partition_value(value: &str) -> String {
    if value.is_empty() {
        return NULL_PARTITION.to_string();
    }
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        let needs_escape = character.is_ascii_control()
            || matches!(
                character,
                '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
            );
        if needs_escape {
            escaped.push_str(&format!("%{:02X}", character as u32));
        } else {
            escaped.push(character);
        }
    }
    // A segment of only dots means "here" or "up" to a path.
    if escaped.chars().all(|character| character == '.') {
        escaped = escaped.replace('.', "%2E");
    }
    escaped
}

/// Reverses [`escape_partition_value`]; `None` is the null partition.
pub fn unescape_partition_value(segment: &str) -> Option<String> {
    if segment == NULL_PARTITION {
        return None;
    }
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            if let Some(byte) = segment
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                decoded.push(byte);
                index += 3;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    Some(String::from_utf8_lossy(&decoded).into_owned())
}

/// Rows that share their partition values: the values, and the rows'
/// data columns.
pub type PartitionRun = (Vec<Option<String>>, RecordBatch);

/// Where the columns of the query's rows go: which are data, and which
/// hold partition values (and under what directory names).
#[derive(Debug, Clone)]
pub struct Layout {
    data_columns: Vec<usize>,
    partition_columns: Vec<usize>,
    partition_names: Vec<String>,
    data_schema: SchemaRef,
}

impl Layout {
    /// Splits the query's schema: the `__dvt_partition_<n>` columns hold
    /// the partition values, and a column partitioned on as it is leaves
    /// the data files, as in Hive. Returns the unknown partition column, if
    /// one is not in the schema.
    pub fn new(schema: &Schema, spec: &ExportSpec) -> Result<Self, String> {
        let mut partition_columns = Vec::new();
        let mut dropped = Vec::new();
        for (index, key) in spec.partition_by.iter().enumerate() {
            let alias = partition_alias(index);
            let position = schema.index_of(&alias).map_err(|_| key.column.clone())?;
            partition_columns.push(position);
            let source = schema.index_of(&key.column).map_err(|_| key.column.clone())?;
            if key.granularity.is_none() {
                dropped.push(source);
            }
        }
        let data_columns: Vec<usize> = (0..schema.fields().len())
            .filter(|index| !partition_columns.contains(index) && !dropped.contains(index))
            .collect();
        let data_schema = Arc::new(schema.project(&data_columns).map_err(|error| error.to_string())?);
        Ok(Self {
            data_columns,
            partition_columns,
            partition_names: spec.partition_by.iter().map(|key| key.directory_name()).collect(),
            data_schema,
        })
    }

    pub fn data_schema(&self) -> SchemaRef {
        Arc::clone(&self.data_schema)
    }

    pub fn is_partitioned(&self) -> bool {
        !self.partition_columns.is_empty()
    }

    /// `name=value/...` for one row's partition values.
    pub fn directory(&self, values: &[Option<String>]) -> String {
        self.partition_names
            .iter()
            .zip(values)
            .map(|(name, value)| {
                let value = value
                    .as_deref()
                    .map_or_else(|| NULL_PARTITION.to_string(), escape_partition_value);
                format!("{}={value}", escape_partition_value(name))
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The batch cut into runs of rows that share partition values, each
    /// with those values and only the data columns.
    pub fn split(&self, batch: &RecordBatch) -> Result<Vec<PartitionRun>, String> {
        let data = batch.project(&self.data_columns).map_err(|error| error.to_string())?;
        if self.partition_columns.is_empty() {
            return Ok(vec![(Vec::new(), data)]);
        }
        let columns: Vec<_> = self
            .partition_columns
            .iter()
            .map(|index| {
                let column = batch.column(*index);
                match column.data_type() {
                    DataType::Utf8 => Ok(column.as_string::<i32>().clone()),
                    other => Err(format!("partition values must be text, got {other}")),
                }
            })
            .collect::<Result<_, _>>()?;
        let values_at = |row: usize| -> Vec<Option<String>> {
            columns
                .iter()
                .map(|column| (!column.is_null(row)).then(|| column.value(row).to_string()))
                .collect()
        };
        let same = |left: usize, right: usize| {
            columns.iter().all(|column| {
                column.is_null(left) == column.is_null(right) && column.value(left) == column.value(right)
            })
        };
        let mut runs = Vec::new();
        let mut start = 0;
        for row in 1..=batch.num_rows() {
            if row == batch.num_rows() || !same(start, row) {
                runs.push((values_at(start), data.slice(start, row - start)));
                start = row;
            }
        }
        Ok(runs)
    }
}

/// One file being encoded.
pub enum FileEncoder {
    Parquet(Box<ArrowWriter<Vec<u8>>>),
    /// CSV is written batch by batch into `encoded`, the header first.
    Csv {
        schema: SchemaRef,
        encoded: Vec<u8>,
        header_written: bool,
    },
}

impl FileEncoder {
    pub fn new(spec: &ExportSpec, schema: SchemaRef) -> Result<Self, String> {
        match spec.format {
            Format::Parquet => {
                let compression = match spec.compression {
                    Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
                    Compression::Snappy => ParquetCompression::SNAPPY,
                    Compression::None => ParquetCompression::UNCOMPRESSED,
                };
                let properties = WriterProperties::builder()
                    .set_compression(compression)
                    .set_max_row_group_row_count(Some(spec.row_group_size))
                    .set_created_by(format!("dvt version {}", env!("CARGO_PKG_VERSION")))
                    .build();
                ArrowWriter::try_new(Vec::new(), schema, Some(properties))
                    .map(|writer| FileEncoder::Parquet(Box::new(writer)))
                    .map_err(|error| error.to_string())
            }
            Format::Csv => Ok(FileEncoder::Csv {
                schema,
                encoded: Vec::new(),
                header_written: false,
            }),
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            FileEncoder::Parquet(writer) => writer.write(batch).map_err(|error| error.to_string()),
            FileEncoder::Csv {
                encoded,
                header_written,
                ..
            } => {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(!*header_written)
                    .build(std::mem::take(encoded));
                writer.write(batch).map_err(|error| error.to_string())?;
                *encoded = writer.into_inner();
                *header_written = true;
                Ok(())
            }
        }
    }

    /// The bytes encoded since the last call; the writer keeps its own
    /// count of the file's offsets, so taking them out is safe.
    pub fn take_encoded(&mut self) -> Vec<u8> {
        match self {
            FileEncoder::Parquet(writer) => std::mem::take(writer.inner_mut()),
            FileEncoder::Csv { encoded, .. } => std::mem::take(encoded),
        }
    }

    /// How many encoded bytes wait to be taken.
    pub fn encoded_len(&self) -> usize {
        match self {
            FileEncoder::Parquet(writer) => writer.inner().len(),
            FileEncoder::Csv { encoded, .. } => encoded.len(),
        }
    }

    /// Ends the file: the rest of its bytes, footer included.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            FileEncoder::Parquet(writer) => (*writer).into_inner().map_err(|error| error.to_string()),
            FileEncoder::Csv {
                schema,
                encoded,
                header_written,
            } => {
                if header_written {
                    return Ok(encoded);
                }
                // No rows: the header alone.
                let mut encoder = FileEncoder::Csv {
                    schema: Arc::clone(&schema),
                    encoded,
                    header_written,
                };
                encoder.write(&RecordBatch::new_empty(schema))?;
                Ok(encoder.take_encoded())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::spec::ExportSpec;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::Field;
    use serde_json::json;

    #[test]
    fn partition_values_escape_and_round_trip() {
        for value in [
            "plain",
            "a/b",
            "50%=half",
            "x:y?z#",
            "quote'\"",
            "..",
            "üñí code",
            "tab\there",
        ] {
            let escaped = escape_partition_value(value);
            assert!(!escaped.contains('/') && !escaped.contains('='), "{escaped}");
            assert_ne!(escaped, "..");
            assert_eq!(unescape_partition_value(&escaped).as_deref(), Some(value));
        }
        assert_eq!(escape_partition_value("a/b"), "a%2Fb");
        assert_eq!(escape_partition_value(""), NULL_PARTITION);
        assert_eq!(unescape_partition_value(NULL_PARTITION), None);
    }

    #[test]
    fn batches_split_into_runs_and_drop_plain_partition_columns() {
        let spec = ExportSpec::parse(&json!({"partition_by": ["store"]})).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("store", DataType::Utf8, true),
            Field::new(partition_alias(0), DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec![Some("a/1"), Some("a/1"), None, Some("b")])),
                Arc::new(StringArray::from(vec![Some("a/1"), Some("a/1"), None, Some("b")])),
            ],
        )
        .unwrap();
        let layout = Layout::new(&schema, &spec).unwrap();
        let runs = layout.split(&batch).unwrap();
        let shape: Vec<(String, usize, usize)> = runs
            .iter()
            .map(|(values, data)| (layout.directory(values), data.num_rows(), data.num_columns()))
            .collect();
        assert_eq!(
            shape,
            [
                ("store=a%2F1".to_string(), 2, 1),
                (format!("store={NULL_PARTITION}"), 1, 1),
                ("store=b".to_string(), 1, 1)
            ]
        );
        let unknown = ExportSpec::parse(&json!({"partition_by": ["nope"]})).unwrap();
        assert_eq!(Layout::new(&schema, &unknown).unwrap_err(), "nope");
    }

    #[test]
    fn encoded_chunks_make_a_readable_parquet_file() {
        let spec = ExportSpec::parse(&json!({"row_group_size": 2})).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
        let mut encoder = FileEncoder::new(&spec, Arc::clone(&schema)).unwrap();
        let mut file = Vec::new();
        for start in 0..5 {
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int32Array::from(vec![start * 2, start * 2 + 1]))],
            )
            .unwrap();
            encoder.write(&batch).unwrap();
            file.extend(encoder.take_encoded());
        }
        file.extend(encoder.finish().unwrap());
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 5);
        let rows: usize = reader.build().unwrap().map(|batch| batch.unwrap().num_rows()).sum();
        assert_eq!(rows, 10);
    }
}
