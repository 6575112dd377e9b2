//! Arrow record batches as the text rows of [`QueryResult`](super::QueryResult),
//! for the adapters whose driver answers in Arrow (DuckDB, Spark): values
//! printed the way PostgreSQL prints them where the two differ only in form,
//! and zoned timestamps labelled UTC.

use std::sync::Arc;

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::ValueType;

/// The zone a zoned timestamp is labelled with in Arrow exports.
pub(crate) const UTC_ZONE: &str = "UTC";

/// The zone a zoned timestamp is labelled with before it is printed as
/// text: Arrow's formatter reads named zones only with its `chrono-tz`
/// feature, which dvt does not build, so a named zone printed nothing.
pub(crate) const UTC_OFFSET: &str = "+00:00";

/// The schema with every zoned timestamp labelled UTC (`zone`, a name or an
/// offset): DuckDB and Spark name the session's time zone, but the values
/// are UTC instants either way.
pub(crate) fn utc_schema(schema: &arrow::datatypes::SchemaRef, zone: &str) -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Timestamp(unit, Some(_)) => field
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(*unit, Some(zone.into()))),
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A batch under [`utc_schema`]; relabelling a time zone is a cast that
/// keeps the values.
pub(crate) fn relabel(
    batch: RecordBatch,
    schema: &arrow::datatypes::SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// The kind of value an Arrow column holds.
pub(crate) fn value_type(data_type: &arrow::datatypes::DataType) -> ValueType {
    use arrow::datatypes::DataType;
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ValueType::Integer,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => ValueType::Number,
        DataType::Boolean => ValueType::Boolean,
        DataType::Date32 | DataType::Date64 => ValueType::Date,
        DataType::Timestamp(..) => ValueType::Timestamp,
        _ => ValueType::Text,
    }
}

/// Every value as text, the way PostgreSQL prints it where the two differ
/// only in form: timestamps with a space, not a `T`.
pub(crate) fn text_rows(batches: &[RecordBatch], limit: Option<usize>) -> Vec<Vec<Option<String>>> {
    let options = FormatOptions::new()
        .with_null("")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"));
    let mut rows = Vec::new();
    for batch in batches {
        // A zoned timestamp (DuckDB's or Spark's `current_timestamp`, `timestamptz`
        // columns) prints in UTC with its offset, `2026-12-04 00:48:48.3938+00:00`.
        let schema = utc_schema(&batch.schema(), UTC_OFFSET);
        let relabelled = relabel(batch.clone(), &schema);
        let batch = relabelled.as_ref().unwrap_or(batch);
        let formatters: Vec<Option<ArrayFormatter<'_>>> = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options).ok())
            .collect();
        for index in 0..batch.num_rows() {
            if limit.is_some_and(|limit| rows.len() >= limit) {
                return rows;
            }
            let row = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(column, formatter)| {
                    if column.is_null(index) {
                        None
                    } else {
                        formatter.as_ref().map(|formatter| formatter.value(index).to_string())
                    }
                })
                .collect();
            rows.push(row);
        }
    }
    rows
}
