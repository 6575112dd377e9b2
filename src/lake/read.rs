//! Reading the lake back: the Parquet files under a prefix (those the
//! export manifest lists, or else every `*.parquet` file outside `_` paths)
//! loaded into a warehouse table, hive partition values included as text
//! columns.
//!
//! Files are fetched one at a time to a temporary file and read with the
//! Parquet reader batch by batch, then streamed to the adapter's CSV copy,
//! so memory stays flat. It does not decide when to load: `dvt ingest` (or
//! a test) calls [`load`].

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchReader, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::export::{ExportManifest, MANIFEST_FILE};
use super::write::unescape_partition_value;
use crate::adapter::{template_names, Adapter, AdapterError, Relation};

/// What went wrong reading the lake.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("S3: {0}")]
    Store(#[from] object_store::Error),
    #[error("no Parquet files under `{prefix}`")]
    Empty { prefix: String },
    #[error("`{path}`: {message}")]
    File { path: String, message: String },
    #[error("the files under `{prefix}` have different columns: `{first}` and `{other}`")]
    SchemaMismatch {
        prefix: String,
        first: String,
        other: String,
    },
    #[error("column `{column}` of type {data_type} cannot be loaded; {hint}")]
    UnsupportedType {
        column: String,
        data_type: String,
        hint: &'static str,
    },
    #[error("loading into the warehouse failed")]
    Warehouse(#[source] AdapterError),
}

/// The Parquet files of a prefix, in a stable order: the manifest's, or a
/// listing.
pub async fn parquet_files(store: &dyn ObjectStore, prefix: &Path) -> Result<Vec<Path>, ReadError> {
    let manifest_path = prefix.clone().join(MANIFEST_FILE);
    match store.get(&manifest_path).await {
        Ok(result) => {
            let bytes = result.bytes().await?;
            let manifest: ExportManifest = serde_json::from_slice(&bytes).map_err(|error| ReadError::File {
                path: manifest_path.to_string(),
                message: error.to_string(),
            })?;
            return manifest
                .files
                .iter()
                .filter(|file| file.path.ends_with(".parquet"))
                .map(|file| {
                    Path::parse(format!("{prefix}/{}", file.path)).map_err(|error| ReadError::File {
                        path: file.path.clone(),
                        message: error.to_string(),
                    })
                })
                .collect();
        }
        Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let mut files: Vec<Path> = store
        .list(Some(prefix))
        .map_ok(|object| object.location)
        .try_filter(|path| {
            let relative = path.as_ref().strip_prefix(prefix.as_ref()).unwrap_or(path.as_ref());
            let hidden = relative
                .split('/')
                .any(|segment| segment.starts_with('_') && !segment.contains('=') || segment.starts_with('.'));
            futures::future::ready(!hidden && relative.ends_with(".parquet"))
        })
        .try_collect()
        .await?;
    files.sort();
    Ok(files)
}

/// The hive partition values in a file's path below the prefix.
pub fn partition_values(prefix: &Path, file: &Path) -> Vec<(String, Option<String>)> {
    let relative = file.as_ref().strip_prefix(prefix.as_ref()).unwrap_or(file.as_ref());
    relative
        .split('/')
        .filter_map(|segment| segment.split_once('='))
        .map(|(name, value)| {
            (
                unescape_partition_value(name).unwrap_or_default(),
                unescape_partition_value(value),
            )
        })
        .collect()
}

/// How many rows were loaded, and from how many files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub rows: u64,
    pub files: usize,
}

/// Loads the Parquet files under `prefix` into `table`, which is created
/// (replacing one of the same name) from the files' schema plus a text
/// column per hive partition key.
pub async fn load(
    adapter: &dyn Adapter,
    store: &dyn ObjectStore,
    prefix: &Path,
    table: &Relation,
) -> Result<Loaded, ReadError> {
    let files = parquet_files(store, prefix).await?;
    if files.is_empty() {
        return Err(ReadError::Empty {
            prefix: prefix.to_string(),
        });
    }
    let mut schema: Option<SchemaRef> = None;
    let mut connection = adapter.connection().await.map_err(ReadError::Warehouse)?;
    let mut rows = 0;
    for file in &files {
        let local = fetch(store, file).await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(local.reopen().map_err(|error| ReadError::File {
            path: file.to_string(),
            message: error.to_string(),
        })?)
        .and_then(|builder| builder.with_batch_size(65_536).build())
        .map_err(|error| ReadError::File {
            path: file.to_string(),
            message: error.to_string(),
        })?;
        let partitions = partition_values(prefix, file);
        let file_schema = with_partitions(&reader.schema(), &partitions);
        match &schema {
            None => {
                create_table(connection.as_mut(), adapter, table, &file_schema).await?;
                schema = Some(Arc::clone(&file_schema));
            }
            Some(first) if first.fields() != file_schema.fields() => {
                return Err(ReadError::SchemaMismatch {
                    prefix: prefix.to_string(),
                    first: files[0].to_string(),
                    other: file.to_string(),
                })
            }
            Some(_) => {}
        }
        let columns: Vec<String> = file_schema.fields().iter().map(|field| field.name().clone()).collect();
        let path = file.to_string();
        let chunks = futures::stream::iter(reader).map(move |batch| {
            let batch = batch.map_err(|error| AdapterError::SeedInput {
                relation: path.clone(),
                source: error.into(),
            })?;
            let batch =
                add_partition_columns(&batch, &file_schema, &partitions).map_err(|error| AdapterError::SeedInput {
                    relation: path.clone(),
                    source: error.into(),
                })?;
            csv_chunk(&batch).map_err(|error| AdapterError::SeedInput {
                relation: path.clone(),
                source: error.into(),
            })
        });
        let header = futures::stream::once(futures::future::ready(Ok(csv_header(&columns))));
        rows += connection
            .copy_in_csv(table, &columns, header.chain(chunks).boxed())
            .await
            .map_err(ReadError::Warehouse)?;
    }
    Ok(Loaded {
        rows,
        files: files.len(),
    })
}

/// Downloads an object to a temporary file, chunk by chunk.
async fn fetch(store: &dyn ObjectStore, file: &Path) -> Result<tempfile::NamedTempFile, ReadError> {
    let io_error = |error: std::io::Error| ReadError::File {
        path: file.to_string(),
        message: error.to_string(),
    };
    let mut local = tempfile::NamedTempFile::new().map_err(io_error)?;
    let mut stream = store.get(file).await?.into_stream();
    while let Some(chunk) = stream.next().await {
        local.write_all(&chunk?).map_err(io_error)?;
    }
    local.flush().map_err(io_error)?;
    Ok(local)
}

fn with_partitions(schema: &SchemaRef, partitions: &[(String, Option<String>)]) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|field| field.as_ref().clone()).collect();
    for (name, _) in partitions {
        if schema.index_of(name).is_err() {
            fields.push(Field::new(name, DataType::Utf8, true));
        }
    }
    Arc::new(Schema::new(fields))
}

fn add_partition_columns(
    batch: &RecordBatch,
    schema: &SchemaRef,
    partitions: &[(String, Option<String>)],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (name, value) in partitions {
        if batch.schema().index_of(name).is_err() {
            columns.push(Arc::new(StringArray::from(vec![value.clone(); batch.num_rows()])));
        }
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
}

fn csv_header(columns: &[String]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(columns);
    writer.into_inner().unwrap_or_default()
}

fn csv_chunk(batch: &RecordBatch) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(false)
        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.f".into())
        .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.f%:z".into())
        .build(Vec::new());
    writer.write(batch)?;
    Ok(writer.into_inner())
}

/// The SQL type of an Arrow type, spelled the way both PostgreSQL and
/// DuckDB read it.
fn sql_type(field: &Field) -> Result<String, ReadError> {
    Ok(match field.data_type() {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "integer".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::UInt64 => "numeric(20,0)".into(),
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
            format!("numeric({precision},{scale})")
        }
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(
            TimeUnit::Second | TimeUnit::Millisecond | TimeUnit::Microsecond | TimeUnit::Nanosecond,
            Some(_),
        ) => "timestamp with time zone".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
        other => {
            return Err(ReadError::UnsupportedType {
                column: field.name().clone(),
                data_type: other.to_string(),
                hint: "the lake reader loads scalar columns; flatten lists, structs and binary in the exporting model",
            })
        }
    })
}

async fn create_table(
    connection: &mut dyn crate::adapter::Connection,
    adapter: &dyn Adapter,
    table: &Relation,
    schema: &Schema,
) -> Result<(), ReadError> {
    let columns: Vec<serde_json::Value> = schema
        .fields()
        .iter()
        .map(|field| Ok(serde_json::json!({"name": field.name(), "data_type": sql_type(field)?})))
        .collect::<Result<_, ReadError>>()?;
    let render = |name: &'static str, context: minijinja::Value| {
        crate::adapter::render_template(adapter.templates(), name, context).map_err(ReadError::Warehouse)
    };
    let drop = render(
        template_names::DROP_RELATION,
        minijinja::context! { relation => table, kind => "table" },
    )?;
    let create = render(
        template_names::SEED_CREATE,
        minijinja::context! { relation => table, columns => columns },
    )?;
    connection
        .create_schema_if_missing(&table.schema)
        .await
        .map_err(ReadError::Warehouse)?;
    for sql in [drop, create] {
        connection.execute(&sql).await.map_err(ReadError::Warehouse)?;
    }
    Ok(())
}
