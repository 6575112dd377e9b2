//! Decodes PostgreSQL's binary `COPY ... TO STDOUT (FORMAT binary)` stream
//! into Arrow record batches, for exports to the lake.
//!
//! It owns the type mapping from PostgreSQL to Arrow and the wire format of
//! each supported type. It does not talk to the server: [`super::postgres`]
//! describes the query, starts the copy and feeds the bytes in. A column of
//! a type without a binary decoder here is selected as `::text` instead, so
//! every query can be exported.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, ListArray, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

/// Precision and scale given to `numeric` without a type modifier, which has
/// none of its own: 28 integer and 10 fractional digits. Values with more
/// fractional digits are rounded half away from zero.
pub const UNCONSTRAINED_NUMERIC: (u8, i8) = (38, 10);

/// Microseconds between the Unix epoch and PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH_MICROSECONDS: i64 = 946_684_800_000_000;
/// Days between the Unix epoch and PostgreSQL's.
const POSTGRES_EPOCH_DAYS: i32 = 10_957;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A column as the catalog describes it: `pg_attribute` of a view over the
/// query.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    /// The element type of an array type, `0` otherwise.
    pub element_oid: u32,
}

/// A type with a binary decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    Int16,
    Int32,
    Int64,
    /// `oid`: an unsigned 32-bit number, widened.
    Oid,
    Float32,
    Float64,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Text,
    Json,
    /// `jsonb`: a version byte, then the JSON text.
    Jsonb,
    Uuid,
    Bytes,
}

impl Scalar {
    /// The decoder for a type, by its OID and type modifier; `None` when the
    /// column must be read as text.
    pub fn for_type(type_oid: u32, type_modifier: i32) -> Option<Self> {
        Some(match type_oid {
            16 => Scalar::Bool,
            17 => Scalar::Bytes,
            20 => Scalar::Int64,
            21 => Scalar::Int16,
            23 => Scalar::Int32,
            26 => Scalar::Oid,
            19 | 25 | 1042 | 1043 => Scalar::Text,
            114 => Scalar::Json,
            3802 => Scalar::Jsonb,
            700 => Scalar::Float32,
            701 => Scalar::Float64,
            1082 => Scalar::Date,
            1083 => Scalar::Time,
            1114 => Scalar::Timestamp,
            1184 => Scalar::TimestampTz,
            2950 => Scalar::Uuid,
            1700 => {
                let (precision, scale) = numeric_precision_scale(type_modifier)?;
                Scalar::Decimal { precision, scale }
            }
            _ => return None,
        })
    }

    fn data_type(self) -> DataType {
        match self {
            Scalar::Bool => DataType::Boolean,
            Scalar::Int16 => DataType::Int16,
            Scalar::Int32 => DataType::Int32,
            Scalar::Int64 | Scalar::Oid => DataType::Int64,
            Scalar::Float32 => DataType::Float32,
            Scalar::Float64 => DataType::Float64,
            Scalar::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Scalar::Date => DataType::Date32,
            Scalar::Time => DataType::Time64(TimeUnit::Microsecond),
            Scalar::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Scalar::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Scalar::Text | Scalar::Json | Scalar::Jsonb => DataType::Utf8,
            Scalar::Uuid => DataType::FixedSizeBinary(16),
            Scalar::Bytes => DataType::Binary,
        }
    }

    /// The Arrow field, with the canonical extension type that makes the
    /// Parquet writer record JSON and UUID logical types.
    fn field(self, name: &str) -> Field {
        let field = Field::new(name, self.data_type(), true);
        match self {
            Scalar::Json | Scalar::Jsonb => field.with_extension_type(arrow_schema::extension::Json::default()),
            Scalar::Uuid => field.with_extension_type(arrow_schema::extension::Uuid),
            _ => field,
        }
    }
}

/// `numeric(p, s)` from its type modifier; the unconstrained default when
/// there is none, and `None` (read as text) when it does not fit 128 bits
/// or has a negative scale.
fn numeric_precision_scale(type_modifier: i32) -> Option<(u8, i8)> {
    if type_modifier < 4 {
        return Some(UNCONSTRAINED_NUMERIC);
    }
    let packed = type_modifier - 4;
    let precision = (packed >> 16) & 0xffff;
    let scale = packed & 0xffff;
    if precision > 38 || scale > precision {
        return None;
    }
    Some((u8::try_from(precision).ok()?, i8::try_from(scale).ok()?))
}

/// How one output column is read: a scalar or a one-dimensional array of
/// one, or as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnPlan {
    Scalar(Scalar),
    List(Scalar),
    /// Selected as `::text`.
    Text,
}

impl ColumnPlan {
    pub fn for_column(column: &PgColumn) -> Self {
        if let Some(scalar) = Scalar::for_type(column.type_oid, column.type_modifier) {
            return ColumnPlan::Scalar(scalar);
        }
        if column.element_oid != 0 {
            // An array's type modifier is its element's.
            if let Some(scalar) = Scalar::for_type(column.element_oid, column.type_modifier) {
                return ColumnPlan::List(scalar);
            }
        }
        ColumnPlan::Text
    }

    /// Whether the query must cast the column to text.
    pub fn needs_text_cast(self) -> bool {
        self == ColumnPlan::Text
    }

    fn field(self, name: &str) -> Field {
        match self {
            ColumnPlan::Scalar(scalar) => scalar.field(name),
            ColumnPlan::List(scalar) => Field::new(name, DataType::List(Arc::new(scalar.field("element"))), true),
            ColumnPlan::Text => Field::new(name, DataType::Utf8, true),
        }
    }
}

/// What went wrong in the copy stream.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the COPY stream does not start with PostgreSQL's binary signature")]
    Signature,
    #[error("the COPY stream ended in the middle of a row")]
    Truncated,
    #[error("a row has {found} fields where the query has {expected} columns")]
    FieldCount { expected: usize, found: usize },
    #[error("column `{column}`: {message}")]
    Value { column: String, message: String },
}

/// Turns the bytes of a binary COPY into record batches of `batch_rows` rows.
pub struct Decoder {
    schema: SchemaRef,
    plans: Vec<ColumnPlan>,
    builders: Vec<ColumnBuilder>,
    batch_rows: usize,
    rows: usize,
    /// Bytes of an incomplete row (or header) carried to the next chunk.
    pending: Vec<u8>,
    header_read: bool,
    finished: bool,
}

impl Decoder {
    pub fn new(columns: &[PgColumn], batch_rows: usize) -> Self {
        let plans: Vec<ColumnPlan> = columns.iter().map(ColumnPlan::for_column).collect();
        let fields: Vec<Field> = columns
            .iter()
            .zip(&plans)
            .map(|(column, plan)| plan.field(&column.name))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch_rows = batch_rows.max(1);
        let builders = plans
            .iter()
            .zip(schema.fields())
            .map(|(plan, field)| ColumnBuilder::new(*plan, field, batch_rows))
            .collect();
        Self {
            schema,
            plans,
            builders,
            batch_rows,
            rows: 0,
            pending: Vec::new(),
            header_read: false,
            finished: false,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// How each column is read, in order.
    pub fn plans(&self) -> &[ColumnPlan] {
        &self.plans
    }

    /// Decodes one chunk of the stream; every batch completed on the way is
    /// passed to `emit`.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        emit: &mut dyn FnMut(RecordBatch) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        if self.pending.is_empty() {
            let consumed = self.decode_rows(chunk, emit)?;
            self.pending.extend_from_slice(&chunk[consumed..]);
        } else {
            self.pending.extend_from_slice(chunk);
            let pending = std::mem::take(&mut self.pending);
            let consumed = self.decode_rows(&pending, emit)?;
            self.pending = pending[consumed..].to_vec();
        }
        Ok(())
    }

    /// The last, partial batch, once the stream has ended.
    pub fn finish(mut self) -> Result<Option<RecordBatch>, DecodeError> {
        if !self.pending.is_empty() || !self.finished {
            return Err(DecodeError::Truncated);
        }
        if self.rows == 0 {
            return Ok(None);
        }
        self.flush().map(Some)
    }

    /// Decodes the complete rows at the start of `bytes`; returns how many
    /// bytes they took.
    fn decode_rows(
        &mut self,
        bytes: &[u8],
        emit: &mut dyn FnMut(RecordBatch) -> Result<(), DecodeError>,
    ) -> Result<usize, DecodeError> {
        let mut position = 0;
        if !self.header_read {
            // Signature, flags, then an extension area of a given length.
            if bytes.len() < SIGNATURE.len() + 8 {
                return Ok(0);
            }
            if &bytes[..SIGNATURE.len()] != SIGNATURE {
                return Err(DecodeError::Signature);
            }
            let extension = read_i32(&bytes[SIGNATURE.len() + 4..]) as usize;
            let header = SIGNATURE.len() + 8 + extension;
            if bytes.len() < header {
                return Ok(0);
            }
            position = header;
            self.header_read = true;
        }
        while !self.finished {
            let Some(length) = row_length(&bytes[position..]) else {
                break;
            };
            let row = &bytes[position..position + length];
            position += length;
            let fields = read_i16(row);
            if fields == -1 {
                self.finished = true;
                break;
            }
            if fields as usize != self.builders.len() {
                return Err(DecodeError::FieldCount {
                    expected: self.builders.len(),
                    found: fields.max(0) as usize,
                });
            }
            let mut offset = 2;
            for (index, builder) in self.builders.iter_mut().enumerate() {
                let size = read_i32(&row[offset..]);
                offset += 4;
                let value = if size < 0 {
                    None
                } else {
                    let value = &row[offset..offset + size as usize];
                    offset += size as usize;
                    Some(value)
                };
                builder.append(value).map_err(|message| DecodeError::Value {
                    column: self.schema.field(index).name().clone(),
                    message,
                })?;
            }
            self.rows += 1;
            if self.rows == self.batch_rows {
                let batch = self.flush()?;
                emit(batch)?;
            }
        }
        Ok(position)
    }

    fn flush(&mut self) -> Result<RecordBatch, DecodeError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(ColumnBuilder::finish).collect();
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|error| DecodeError::Value {
            column: String::new(),
            message: error.to_string(),
        })
    }
}

/// The length of the complete row (or trailer) at the start of `bytes`, or
/// `None` when the row is not complete yet.
fn row_length(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 2 {
        return None;
    }
    let fields = read_i16(bytes);
    if fields == -1 {
        return Some(2);
    }
    let mut offset = 2;
    for _ in 0..fields.max(0) {
        if bytes.len() < offset + 4 {
            return None;
        }
        let size = read_i32(&bytes[offset..]);
        offset += 4;
        if size > 0 {
            offset += size as usize;
        }
    }
    (bytes.len() >= offset).then_some(offset)
}

fn read_i16(bytes: &[u8]) -> i16 {
    i16::from_be_bytes([bytes[0], bytes[1]])
}

fn read_i32(bytes: &[u8]) -> i32 {
    i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn read_i64(bytes: &[u8]) -> i64 {
    let mut array = [0; 8];
    array.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(array)
}

/// Checks a value's length for a fixed-size type.
fn exact<const N: usize>(value: &[u8]) -> Result<[u8; N], String> {
    value
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", value.len()))
}

/// An Arrow builder for one column.
enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder, Scalar),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, Option<Arc<str>>),
    Text(StringBuilder, Scalar),
    Uuid(FixedSizeBinaryBuilder),
    Bytes(BinaryBuilder),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        validity: NullBufferBuilder,
        elements: Box<ColumnBuilder>,
    },
}

impl ColumnBuilder {
    fn new(plan: ColumnPlan, field: &Field, capacity: usize) -> Self {
        match plan {
            ColumnPlan::Scalar(scalar) => Self::scalar(scalar, capacity),
            ColumnPlan::Text => Self::scalar(Scalar::Text, capacity),
            ColumnPlan::List(scalar) => {
                let DataType::List(element_field) = field.data_type() else {
                    unreachable!("a list plan has a list field")
                };
                let mut offsets = Vec::with_capacity(capacity + 1);
                offsets.push(0);
                ColumnBuilder::List {
                    field: Arc::clone(element_field),
                    offsets,
                    validity: NullBufferBuilder::new(capacity),
                    elements: Box::new(Self::scalar(scalar, capacity)),
                }
            }
        }
    }

    fn scalar(scalar: Scalar, capacity: usize) -> Self {
        match scalar {
            Scalar::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            Scalar::Int16 => ColumnBuilder::Int16(Int16Builder::with_capacity(capacity)),
            Scalar::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            Scalar::Int64 | Scalar::Oid => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity), scalar),
            Scalar::Float32 => ColumnBuilder::Float32(Float32Builder::with_capacity(capacity)),
            Scalar::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            Scalar::Decimal { precision, scale } => {
                ColumnBuilder::Decimal(Decimal128Builder::with_capacity(capacity), precision, scale)
            }
            Scalar::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            Scalar::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            Scalar::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), None),
            Scalar::TimestampTz => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), Some("UTC".into()))
            }
            Scalar::Text | Scalar::Json | Scalar::Jsonb => {
                ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16), scalar)
            }
            Scalar::Uuid => ColumnBuilder::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            Scalar::Bytes => ColumnBuilder::Bytes(BinaryBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    fn append(&mut self, value: Option<&[u8]>) -> Result<(), String> {
        let Some(value) = value else {
            self.append_null();
            return Ok(());
        };
        match self {
            ColumnBuilder::Bool(builder) => builder.append_value(exact::<1>(value)?[0] != 0),
            ColumnBuilder::Int16(builder) => builder.append_value(i16::from_be_bytes(exact(value)?)),
            ColumnBuilder::Int32(builder) => builder.append_value(i32::from_be_bytes(exact(value)?)),
            ColumnBuilder::Int64(builder, Scalar::Oid) => {
                builder.append_value(i64::from(u32::from_be_bytes(exact(value)?)))
            }
            ColumnBuilder::Int64(builder, _) => builder.append_value(i64::from_be_bytes(exact(value)?)),
            ColumnBuilder::Float32(builder) => builder.append_value(f32::from_be_bytes(exact(value)?)),
            ColumnBuilder::Float64(builder) => builder.append_value(f64::from_be_bytes(exact(value)?)),
            ColumnBuilder::Decimal(builder, precision, scale) => {
                builder.append_value(decode_numeric(value, *precision, *scale)?)
            }
            ColumnBuilder::Date(builder) => {
                let days = i32::from_be_bytes(exact(value)?);
                // `infinity` and `-infinity` are the extreme values.
                builder.append_value(days.saturating_add(POSTGRES_EPOCH_DAYS))
            }
            ColumnBuilder::Time(builder) => builder.append_value(i64::from_be_bytes(exact(value)?)),
            ColumnBuilder::Timestamp(builder, _) => {
                let microseconds = read_i64(&exact::<8>(value)?);
                builder.append_value(microseconds.saturating_add(POSTGRES_EPOCH_MICROSECONDS))
            }
            ColumnBuilder::Text(builder, scalar) => {
                let text = match scalar {
                    Scalar::Jsonb => value
                        .split_first()
                        .filter(|(version, _)| **version == 1)
                        .map(|(_, text)| text)
                        .ok_or("unknown jsonb version")?,
                    _ => value,
                };
                builder.append_value(std::str::from_utf8(text).map_err(|error| error.to_string())?)
            }
            ColumnBuilder::Uuid(builder) => builder
                .append_value(exact::<16>(value)?)
                .map_err(|error| error.to_string())?,
            ColumnBuilder::Bytes(builder) => builder.append_value(value),
            ColumnBuilder::List {
                offsets,
                validity,
                elements,
                ..
            } => {
                let count = append_array(value, elements)?;
                let last = *offsets.last().unwrap_or(&0);
                offsets.push(last + count);
                validity.append_non_null();
            }
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Bool(builder) => builder.append_null(),
            ColumnBuilder::Int16(builder) => builder.append_null(),
            ColumnBuilder::Int32(builder) => builder.append_null(),
            ColumnBuilder::Int64(builder, _) => builder.append_null(),
            ColumnBuilder::Float32(builder) => builder.append_null(),
            ColumnBuilder::Float64(builder) => builder.append_null(),
            ColumnBuilder::Decimal(builder, ..) => builder.append_null(),
            ColumnBuilder::Date(builder) => builder.append_null(),
            ColumnBuilder::Time(builder) => builder.append_null(),
            ColumnBuilder::Timestamp(builder, _) => builder.append_null(),
            ColumnBuilder::Text(builder, _) => builder.append_null(),
            ColumnBuilder::Uuid(builder) => builder.append_null(),
            ColumnBuilder::Bytes(builder) => builder.append_null(),
            ColumnBuilder::List { offsets, validity, .. } => {
                let last = *offsets.last().unwrap_or(&0);
                offsets.push(last);
                validity.append_null();
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Int16(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Int32(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Int64(builder, _) => Arc::new(builder.finish()),
            ColumnBuilder::Float32(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Float64(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Decimal(builder, precision, scale) => Arc::new(
                builder
                    .finish()
                    .with_precision_and_scale(*precision, *scale)
                    .unwrap_or_else(|_| unreachable!("precision and scale were checked")),
            ),
            ColumnBuilder::Date(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Time(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Timestamp(builder, zone) => Arc::new(builder.finish().with_timezone_opt(zone.clone())),
            ColumnBuilder::Text(builder, _) => Arc::new(builder.finish()),
            ColumnBuilder::Uuid(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Bytes(builder) => Arc::new(builder.finish()),
            ColumnBuilder::List {
                field,
                offsets,
                validity,
                elements,
            } => {
                let values = elements.finish();
                let finished = std::mem::replace(offsets, vec![0]);
                let array = ListArray::new(
                    Arc::clone(field),
                    OffsetBuffer::new(finished.into()),
                    values,
                    validity.finish(),
                );
                Arc::new(array)
            }
        }
    }
}

/// Appends the elements of a binary array value; returns how many.
fn append_array(value: &[u8], elements: &mut ColumnBuilder) -> Result<i32, String> {
    if value.len() < 12 {
        return Err("array value is too short".into());
    }
    let dimensions = read_i32(value);
    if dimensions == 0 {
        return Ok(0);
    }
    if dimensions != 1 {
        return Err(format!(
            "arrays of {dimensions} dimensions cannot be exported; unnest them or cast the column to text in the model"
        ));
    }
    let count = read_i32(&value[12..]);
    let mut offset = 20;
    for _ in 0..count {
        let size = read_i32(value.get(offset..).ok_or("array value is truncated")?);
        offset += 4;
        if size < 0 {
            elements.append(None)?;
        } else {
            let end = offset + size as usize;
            elements.append(Some(value.get(offset..end).ok_or("array value is truncated")?))?;
            offset = end;
        }
    }
    Ok(count)
}

/// A binary `numeric` as an integer scaled by `10^scale`, rounded half away
/// from zero.
fn decode_numeric(value: &[u8], precision: u8, scale: i8) -> Result<i128, String> {
    if value.len() < 8 {
        return Err("numeric value is too short".into());
    }
    let digit_count = read_i16(value) as usize;
    let weight = i32::from(read_i16(&value[2..]));
    let sign = u16::from_be_bytes([value[4], value[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("`NaN` cannot be stored as a decimal; filter it out or cast the column".into()),
        _ => return Err("an infinite numeric cannot be stored as a decimal; filter it out or cast the column".into()),
    }
    if value.len() < 8 + 2 * digit_count {
        return Err("numeric value is truncated".into());
    }
    let overflow = || format!("value does not fit decimal({precision},{scale}); cast the column to a wider numeric");
    let mut unscaled: i128 = 0;
    for index in 0..digit_count {
        let digit = i128::from(read_i16(&value[8 + 2 * index..]));
        unscaled = unscaled
            .checked_mul(10_000)
            .and_then(|shifted| shifted.checked_add(digit))
            .ok_or_else(overflow)?;
    }
    // The digits read are worth 10000^(weight - digit_count + 1) each.
    let exponent = 4 * (weight - digit_count as i32 + 1) + i32::from(scale);
    let mut result = if exponent >= 0 {
        10_i128
            .checked_pow(exponent as u32)
            .and_then(|factor| unscaled.checked_mul(factor))
            .ok_or_else(overflow)?
    } else {
        let divisor = 10_i128.checked_pow((-exponent) as u32);
        match divisor {
            Some(divisor) => {
                let quotient = unscaled / divisor;
                let remainder = unscaled % divisor;
                if remainder >= divisor - remainder {
                    quotient + 1
                } else {
                    quotient
                }
            }
            None => 0,
        }
    };
    if result >= 10_i128.pow(u32::from(precision)) {
        return Err(overflow());
    }
    if sign == 0x4000 {
        result = -result;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    fn numeric(digits: &[i16], weight: i16, negative: bool, display_scale: u16) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(digits.len() as i16).to_be_bytes());
        bytes.extend_from_slice(&weight.to_be_bytes());
        bytes.extend_from_slice(&(if negative { 0x4000_u16 } else { 0 }).to_be_bytes());
        bytes.extend_from_slice(&display_scale.to_be_bytes());
        for digit in digits {
            bytes.extend_from_slice(&digit.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numerics_scale_and_round() {
        // 12345.6789 = [1, 2345, 6789], weight 1
        let value = numeric(&[1, 2345, 6789], 1, false, 4);
        assert_eq!(decode_numeric(&value, 10, 2), Ok(1_234_568));
        assert_eq!(decode_numeric(&value, 10, 4), Ok(123_456_789));
        let negative = numeric(&[1, 2345, 6789], 1, true, 4);
        assert_eq!(decode_numeric(&negative, 10, 2), Ok(-1_234_568));
        // 0.05 = [500], weight -1
        assert_eq!(decode_numeric(&numeric(&[500], -1, false, 2), 5, 2), Ok(5));
        // 20000 = [2], weight 1
        assert_eq!(decode_numeric(&numeric(&[2], 1, false, 0), 10, 2), Ok(2_000_000));
        assert!(decode_numeric(&numeric(&[2], 1, false, 0), 4, 2).is_err());
    }

    #[test]
    fn type_modifiers_give_precision_and_scale() {
        // numeric(10,2): ((10 << 16) | 2) + 4
        assert_eq!(numeric_precision_scale((10 << 16 | 2) + 4), Some((10, 2)));
        assert_eq!(numeric_precision_scale(-1), Some(UNCONSTRAINED_NUMERIC));
        assert_eq!(numeric_precision_scale((60 << 16) + 4), None);
    }

    fn row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut bytes = (fields.len() as i16).to_be_bytes().to_vec();
        for field in fields {
            match field {
                Some(value) => {
                    bytes.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    bytes.extend_from_slice(value);
                }
                None => bytes.extend_from_slice(&(-1_i32).to_be_bytes()),
            }
        }
        bytes
    }

    #[test]
    fn a_stream_split_anywhere_decodes_to_the_same_batches() {
        let columns = [
            PgColumn {
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1,
                element_oid: 0,
            },
            PgColumn {
                name: "tags".into(),
                type_oid: 1009,
                type_modifier: -1,
                element_oid: 25,
            },
        ];
        let mut stream = SIGNATURE.to_vec();
        stream.extend_from_slice(&[0; 8]);
        let mut array = Vec::new();
        for part in [1_i32, 0, 25, 2, 1] {
            array.extend_from_slice(&part.to_be_bytes());
        }
        array.extend_from_slice(&1_i32.to_be_bytes());
        array.extend_from_slice(b"a");
        array.extend_from_slice(&(-1_i32).to_be_bytes());
        for id in 0..5_i32 {
            let tags: Option<&[u8]> = if id == 3 { None } else { Some(&array) };
            stream.extend(row(&[Some(&id.to_be_bytes()), tags]));
        }
        stream.extend_from_slice(&(-1_i16).to_be_bytes());
        for split in [1, 7, 19, 23, stream.len()] {
            let mut decoder = Decoder::new(&columns, 2);
            let mut batches = Vec::new();
            for chunk in stream.chunks(split) {
                decoder
                    .feed(chunk, &mut |batch| {
                        batches.push(batch);
                        Ok(())
                    })
                    .unwrap();
            }
            batches.extend(decoder.finish().unwrap());
            let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
            assert_eq!(sizes, [2, 2, 1], "split every {split} bytes");
            let tags = batches[1].column(1).as_list::<i32>();
            assert!(tags.is_null(1));
            assert_eq!(tags.value(0).len(), 2);
            assert_eq!(tags.value(0).as_string::<i32>().value(0), "a");
        }
    }

    #[test]
    fn a_stream_cut_short_is_an_error() {
        let columns = [PgColumn {
            name: "id".into(),
            type_oid: 23,
            type_modifier: -1,
            element_oid: 0,
        }];
        let mut stream = SIGNATURE.to_vec();
        stream.extend_from_slice(&[0; 8]);
        stream.extend(row(&[Some(&7_i32.to_be_bytes())]));
        let mut decoder = Decoder::new(&columns, 10);
        decoder.feed(&stream[..stream.len() - 1], &mut |_| Ok(())).unwrap();
        assert!(matches!(decoder.finish(), Err(DecodeError::Truncated)));
    }
}
