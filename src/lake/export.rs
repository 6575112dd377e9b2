//! One export, end to end: rows from the warehouse as Arrow batches, encoded
//! to files, uploaded under a staging prefix, then published.
//!
//! Three stages run at once, joined by bounded channels so memory stays
//! flat: the adapter reads batches, a blocking thread encodes them, and this
//! task uploads the encoded chunks (multipart for a file larger than one
//! part). Publishing copies the staged files to their final names, then
//! writes `_dvt_manifest.json`, the commit point that lists the files of the
//! current version (and the incremental watermark), then deletes what the
//! new version replaced, and last writes `_SUCCESS`. A failure before the
//! manifest leaves the previous version as it was; multipart uploads are
//! aborted, and leftovers under `_dvt_staging/` are removed by the next
//! export. Paths starting with `_` are skipped by Parquet readers (Spark,
//! pyarrow, DuckDB's hive reader with a `*.parquet` glob).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;

use super::spec::{ExportSpec, Mode};
use super::store::{describe_error, LakeSettings};
use super::write::{partition_alias, FileEncoder, Layout};
use crate::adapter::{template_names, Adapter, AdapterError, Relation};

/// The manifest of the current version, at the root of the export.
pub const MANIFEST_FILE: &str = "_dvt_manifest.json";
/// Written last, when a version is complete, as Spark does.
pub const SUCCESS_FILE: &str = "_SUCCESS";
/// Where files are uploaded before they are published.
pub const STAGING_DIRECTORY: &str = "_dvt_staging";

/// Rows per record batch read from the warehouse.
const BATCH_ROWS: usize = 65_536;
/// Size of one multipart part; S3's minimum is 5 MiB.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one file in flight at once.
const UPLOAD_CONCURRENCY: usize = 2;
/// Encoded chunks waiting for the uploader.
const CHUNK_CHANNEL: usize = 2;

/// What to export, and where from.
pub struct ExportJob<'a> {
    pub adapter: &'a dyn Adapter,
    pub settings: &'a LakeSettings,
    pub spec: &'a ExportSpec,
    pub relation: Relation,
    /// The model's name: the default prefix.
    pub model_name: &'a str,
    /// The export node's unique id, recorded in the manifest.
    pub unique_id: &'a str,
    /// Counts the rows read, on a terminal.
    pub progress: Option<indicatif::ProgressBar>,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
    /// `s3://bucket/prefix`.
    pub location: String,
    /// The watermark the export reached (incremental mode).
    pub watermark: Option<String>,
}

/// Everything that can stop an export. None of them carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no bucket to export to")]
    NoBucket,
    #[error("`{relation}` does not exist")]
    MissingRelation { relation: String },
    #[error("{what} `{column}` is not a column of `{relation}` (it has {})", columns.join(", "))]
    UnknownColumn {
        what: &'static str,
        column: String,
        relation: String,
        columns: Vec<String>,
    },
    #[error("{message}")]
    Store { message: String, hint: String },
    #[error("reading the rows failed")]
    Warehouse(#[source] AdapterError),
    #[error("encoding the files failed: {0}")]
    Encode(String),
    #[error("the manifest `{path}` is not one dvt wrote: {reason}")]
    BadManifest { path: String, reason: String },
}

impl ExportError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ExportError::NoBucket => {
                Some("set `bucket` in the model's `export` config, or `s3_bucket` in the profile target".into())
            }
            ExportError::MissingRelation { .. } => {
                Some("build the model first: `dvt build` runs it before its export".into())
            }
            ExportError::UnknownColumn { columns, column, .. } => Some(
                crate::diagnostic::did_you_mean(column, columns.iter().map(String::as_str))
                    .map(|suggestion| format!("did you mean `{suggestion}`?"))
                    .unwrap_or_else(|| "name a column of the model in the `export` config".into()),
            ),
            ExportError::Store { hint, .. } => Some(hint.clone()),
            ExportError::BadManifest { .. } => {
                Some("point `prefix` at a folder only dvt writes to, or delete the manifest".into())
            }
            _ => None,
        }
    }
}

/// One file of a version, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the export's prefix.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub partition: BTreeMap<String, Option<String>>,
}

/// `_dvt_manifest.json`: the files of the current version, and the
/// watermark the last incremental export reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportManifest {
    pub dvt_export_version: u32,
    pub export: String,
    pub run_id: String,
    pub exported_at: String,
    pub mode: String,
    pub format: String,
    pub partition_by: Vec<String>,
    pub watermark: Option<Watermark>,
    pub rows: u64,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    pub column: String,
    pub value: String,
}

/// Where an export lives in its bucket.
struct Layouted {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The root as users see it: `s3://bucket/prefix` or a `file://` URL.
    location: String,
}

impl Layouted {
    fn child(&self, relative: &str) -> Result<Path, ExportError> {
        let joined = if self.root.as_ref().is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.root.as_ref())
        };
        Path::parse(&joined).map_err(|error| ExportError::Encode(format!("bad object path `{joined}`: {error}")))
    }

    fn relative<'p>(&self, path: &'p Path) -> &'p str {
        let full = path.as_ref();
        if self.root.as_ref().is_empty() {
            full
        } else {
            full.strip_prefix(self.root.as_ref())
                .map(|rest| rest.trim_start_matches('/'))
                .unwrap_or(full)
        }
    }
}

/// Runs one export.
pub async fn run(job: ExportJob<'_>) -> Result<ExportOutcome, ExportError> {
    let spec = job.spec;
    let bucket = spec
        .bucket
        .clone()
        .or_else(|| job.settings.bucket.clone())
        .ok_or(ExportError::NoBucket)?;
    let prefix = spec.prefix.clone().unwrap_or_else(|| job.model_name.to_string());
    let store = job.settings.open(&bucket).map_err(|diagnostic| ExportError::Store {
        message: diagnostic.message.clone(),
        hint: diagnostic
            .hints
            .first()
            .cloned()
            .unwrap_or_else(|| "check the target's lake settings".into()),
    })?;
    let lake = Layouted {
        store,
        root: Path::parse(&prefix).map_err(|error| ExportError::Store {
            message: format!("`{prefix}` is not a valid prefix: {error}"),
            hint: "use a prefix such as `gold/fct_rental`".into(),
        })?,
        location: job.settings.url(&bucket, &prefix),
    };
    let store_error = |error: object_store::Error| {
        let (message, hint) = describe_error(&error, &bucket, job.settings);
        ExportError::Store { message, hint }
    };
    // Listing the prefix checks the bucket and the credentials before any
    // row is read: S3 answers a missing bucket or a bad key here.
    lake.store
        .list_with_delimiter(Some(&lake.root))
        .await
        .map_err(store_error)?;
    let manifest_path = lake.child(MANIFEST_FILE)?;
    let previous = read_manifest(&lake, &manifest_path)
        .await
        .map_err(|error| match error {
            ManifestReadError::Store(error) => store_error(error),
            ManifestReadError::Invalid(reason) => ExportError::BadManifest {
                path: format!("s3://{bucket}/{manifest_path}"),
                reason,
            },
        })?;

    let columns = relation_columns(job.adapter, &job.relation).await?;
    for key in &spec.partition_by {
        check_column(&columns, &key.column, "partition column", &job.relation)?;
    }
    let mut watermark = None;
    if let (Mode::Incremental, Some(column)) = (spec.mode, &spec.watermark) {
        check_column(&columns, column, "watermark column", &job.relation)?;
        let after = previous
            .as_ref()
            .and_then(|manifest| manifest.watermark.clone())
            .filter(|previous| previous.column == *column)
            .map(|previous| previous.value);
        let through = highest_value(job.adapter, &job.relation, column).await?;
        let Some(through) = through else {
            return Ok(nothing_new(&lake, after));
        };
        if after.as_deref() == Some(through.as_str()) {
            return Ok(nothing_new(&lake, after));
        }
        watermark = Some((column.clone(), after, through));
    }

    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let sql = export_query(job.adapter, &job.relation, spec, watermark.as_ref())?;
    let rows = job
        .adapter
        .query_arrow(&sql, BATCH_ROWS)
        .await
        .map_err(ExportError::Warehouse)?;
    let layout = Layout::new(&rows.schema, spec).map_err(|column| ExportError::UnknownColumn {
        what: "partition column",
        column,
        relation: job.relation.to_string(),
        columns: columns.clone(),
    })?;
    let staging = format!("{STAGING_DIRECTORY}/{run_id}");
    let staged = match upload(
        &lake,
        spec,
        layout,
        rows.batches,
        &staging,
        &run_id,
        job.progress.clone(),
    )
    .await
    {
        Ok(staged) => staged,
        Err(error) => {
            delete_under(&lake, &staging).await;
            return Err(match error {
                UploadError::Store(error) => store_error(error),
                UploadError::Other(error) => error,
            });
        }
    };
    publish(&lake, &job, previous, staged, &run_id, watermark)
        .await
        .map_err(|error| match error {
            UploadError::Store(error) => store_error(error),
            UploadError::Other(error) => error,
        })
}

fn nothing_new(lake: &Layouted, watermark: Option<String>) -> ExportOutcome {
    ExportOutcome {
        rows: 0,
        files: 0,
        bytes: 0,
        location: lake.location.clone(),
        watermark,
    }
}

enum ManifestReadError {
    Store(object_store::Error),
    Invalid(String),
}

async fn read_manifest(lake: &Layouted, path: &Path) -> Result<Option<ExportManifest>, ManifestReadError> {
    let result = match lake.store.get(path).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(ManifestReadError::Store(error)),
    };
    let bytes = result.bytes().await.map_err(ManifestReadError::Store)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| ManifestReadError::Invalid(error.to_string()))
}

async fn relation_columns(adapter: &dyn Adapter, relation: &Relation) -> Result<Vec<String>, ExportError> {
    let mut connection = adapter.connection().await.map_err(ExportError::Warehouse)?;
    let columns = connection.columns(relation).await.map_err(ExportError::Warehouse)?;
    if columns.is_empty() {
        return Err(ExportError::MissingRelation {
            relation: relation.to_string(),
        });
    }
    Ok(columns.into_iter().map(|column| column.name).collect())
}

fn check_column(columns: &[String], column: &str, what: &'static str, relation: &Relation) -> Result<(), ExportError> {
    if columns.iter().any(|known| known == column) {
        Ok(())
    } else {
        Err(ExportError::UnknownColumn {
            what,
            column: column.to_string(),
            relation: relation.to_string(),
            columns: columns.to_vec(),
        })
    }
}

async fn highest_value(
    adapter: &dyn Adapter,
    relation: &Relation,
    column: &str,
) -> Result<Option<String>, ExportError> {
    let sql = crate::adapter::render_template(
        adapter.templates(),
        template_names::EXPORT_WATERMARK,
        minijinja::context! { relation => relation, column => column },
    )
    .map_err(ExportError::Warehouse)?;
    let mut connection = adapter.connection().await.map_err(ExportError::Warehouse)?;
    let result = connection.query(&sql, Some(1)).await.map_err(ExportError::Warehouse)?;
    Ok(result
        .rows
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten()))
}

fn export_query(
    adapter: &dyn Adapter,
    relation: &Relation,
    spec: &ExportSpec,
    watermark: Option<&(String, Option<String>, String)>,
) -> Result<String, ExportError> {
    let partitions: Vec<serde_json::Value> = spec
        .partition_by
        .iter()
        .enumerate()
        .map(|(index, key)| json!({"column": key.column, "granularity": key.granularity, "alias": partition_alias(index)}))
        .collect();
    let watermark =
        watermark.map(|(column, after, through)| json!({"column": column, "after": after, "through": through}));
    crate::adapter::render_template(
        adapter.templates(),
        template_names::EXPORT_QUERY,
        minijinja::context! { relation => relation, partitions => partitions, watermark => watermark },
    )
    .map_err(ExportError::Warehouse)
}

enum UploadError {
    Store(object_store::Error),
    Other(ExportError),
}

impl From<object_store::Error> for UploadError {
    fn from(error: object_store::Error) -> Self {
        UploadError::Store(error)
    }
}

/// What the encoder hands the uploader.
enum Chunk {
    Open {
        directory: String,
        values: Vec<Option<String>>,
    },
    Bytes(Vec<u8>),
    Close {
        rows: u64,
    },
}

/// A file uploaded under the staging prefix.
struct StagedFile {
    /// Relative to the staging directory, which is where it goes
    /// relative to the export's root.
    relative: String,
    rows: u64,
    bytes: u64,
    partition: BTreeMap<String, Option<String>>,
}

/// Encodes the batches on a blocking thread and uploads what it produces.
async fn upload(
    lake: &Layouted,
    spec: &ExportSpec,
    layout: Layout,
    mut batches: mpsc::Receiver<Result<arrow::record_batch::RecordBatch, AdapterError>>,
    staging: &str,
    run_id: &str,
    progress: Option<indicatif::ProgressBar>,
) -> Result<Vec<StagedFile>, UploadError> {
    let (sender, mut chunks) = mpsc::channel::<Result<Chunk, ExportError>>(CHUNK_CHANNEL);
    let encoder_spec = spec.clone();
    let encoder_layout = layout.clone();
    let encoder = tokio::task::spawn_blocking(move || {
        let result = encode(&encoder_spec, &encoder_layout, &mut batches, &sender, progress.as_ref());
        if let Err(error) = result {
            let _ = sender.blocking_send(Err(error));
        }
    });
    let partition_names: Vec<String> = spec.partition_by.iter().map(|key| key.directory_name()).collect();
    let extension = spec.format.extension();
    let mut staged = Vec::new();
    let mut current: Option<OpenFile> = None;
    let mut file_number = 0;
    let result: Result<(), UploadError> = async {
        while let Some(chunk) = chunks.recv().await {
            match chunk.map_err(UploadError::Other)? {
                Chunk::Open { directory, values } => {
                    let file_name = format!("part-{run_id}-{file_number:05}.{extension}");
                    file_number += 1;
                    let relative = if directory.is_empty() {
                        file_name
                    } else {
                        format!("{directory}/{file_name}")
                    };
                    let path = lake
                        .child(&format!("{staging}/{relative}"))
                        .map_err(UploadError::Other)?;
                    let partition = partition_names.iter().cloned().zip(values).collect();
                    current = Some(OpenFile {
                        path,
                        relative,
                        partition,
                        buffer: Vec::new(),
                        multipart: None,
                        bytes: 0,
                    });
                }
                Chunk::Bytes(bytes) => {
                    if let Some(file) = current.as_mut() {
                        file.write(lake, bytes).await?;
                    }
                }
                Chunk::Close { rows } => {
                    if let Some(file) = current.take() {
                        staged.push(file.finish(lake, rows).await?);
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        drop(chunks);
        if let Some(file) = current.take() {
            file.abort().await;
        }
        let _ = encoder.await;
        return Err(error);
    }
    encoder
        .await
        .map_err(|error| UploadError::Other(ExportError::Encode(error.to_string())))?;
    Ok(staged)
}

/// A file being uploaded: buffered until it outgrows one part, then a
/// multipart upload.
struct OpenFile {
    path: Path,
    relative: String,
    partition: BTreeMap<String, Option<String>>,
    buffer: Vec<u8>,
    multipart: Option<WriteMultipart>,
    bytes: u64,
}

impl OpenFile {
    async fn write(&mut self, lake: &Layouted, bytes: Vec<u8>) -> Result<(), UploadError> {
        self.bytes += bytes.len() as u64;
        if self.multipart.is_none() && self.buffer.len() + bytes.len() < PART_BYTES {
            self.buffer.extend_from_slice(&bytes);
            return Ok(());
        }
        if self.multipart.is_none() {
            let upload = lake.store.put_multipart(&self.path).await?;
            let mut multipart = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            multipart.put(Bytes::from(std::mem::take(&mut self.buffer)));
            self.multipart = Some(multipart);
        }
        if let Some(multipart) = self.multipart.as_mut() {
            multipart.wait_for_capacity(UPLOAD_CONCURRENCY).await?;
            multipart.put(Bytes::from(bytes));
        }
        Ok(())
    }

    async fn finish(self, lake: &Layouted, rows: u64) -> Result<StagedFile, UploadError> {
        match self.multipart {
            Some(multipart) => {
                multipart.finish().await?;
            }
            None => {
                lake.store
                    .put(&self.path, PutPayload::from(Bytes::from(self.buffer)))
                    .await?;
            }
        }
        Ok(StagedFile {
            relative: self.relative,
            rows,
            bytes: self.bytes,
            partition: self.partition,
        })
    }

    /// Aborts the multipart upload, so the store frees its parts.
    async fn abort(self) {
        if let Some(multipart) = self.multipart {
            let _ = multipart.abort().await;
        }
    }
}

/// The encoder thread: batches in, chunks of files out. Stops when the
/// uploader is gone.
fn encode(
    spec: &ExportSpec,
    layout: &Layout,
    batches: &mut mpsc::Receiver<Result<arrow::record_batch::RecordBatch, AdapterError>>,
    sender: &mpsc::Sender<Result<Chunk, ExportError>>,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), ExportError> {
    let send = |chunk: Chunk| sender.blocking_send(Ok(chunk)).is_ok();
    let mut current: Option<(Vec<Option<String>>, FileEncoder, u64)> = None;
    let close = |file: (Vec<Option<String>>, FileEncoder, u64)| -> Result<bool, ExportError> {
        let (_, encoder, rows) = file;
        let rest = encoder.finish().map_err(ExportError::Encode)?;
        Ok(send(Chunk::Bytes(rest)) && send(Chunk::Close { rows }))
    };
    while let Some(batch) = batches.blocking_recv() {
        let batch = batch.map_err(ExportError::Warehouse)?;
        if let Some(bar) = progress {
            bar.inc(batch.num_rows() as u64);
        }
        for (values, data) in layout.split(&batch).map_err(ExportError::Encode)? {
            if current.as_ref().is_some_and(|(open, ..)| *open != values) {
                if let Some(file) = current.take() {
                    if !close(file)? {
                        return Ok(());
                    }
                }
            }
            if current.is_none() {
                let encoder = FileEncoder::new(spec, layout.data_schema()).map_err(ExportError::Encode)?;
                if !send(Chunk::Open {
                    directory: layout.directory(&values),
                    values: values.clone(),
                }) {
                    return Ok(());
                }
                current = Some((values, encoder, 0));
            }
            if let Some((_, encoder, rows)) = current.as_mut() {
                encoder.write(&data).map_err(ExportError::Encode)?;
                *rows += data.num_rows() as u64;
                if encoder.encoded_len() >= PART_BYTES && !send(Chunk::Bytes(encoder.take_encoded())) {
                    return Ok(());
                }
            }
        }
    }
    match current.take() {
        Some(file) => {
            close(file)?;
        }
        // No rows: an unpartitioned export still writes one empty file, so
        // that readers see the schema.
        None if !layout.is_partitioned() => {
            let encoder = FileEncoder::new(spec, layout.data_schema()).map_err(ExportError::Encode)?;
            if send(Chunk::Open {
                directory: String::new(),
                values: Vec::new(),
            }) {
                close((Vec::new(), encoder, 0))?;
            }
        }
        None => {}
    }
    Ok(())
}

/// Moves the staged files into place and commits the new version.
async fn publish(
    lake: &Layouted,
    job: &ExportJob<'_>,
    previous: Option<ExportManifest>,
    staged: Vec<StagedFile>,
    run_id: &str,
    watermark: Option<(String, Option<String>, String)>,
) -> Result<ExportOutcome, UploadError> {
    let existing = list_published(lake).await?;
    // While files are replaced, the version is not complete.
    delete_if_present(lake, &lake.child(SUCCESS_FILE).map_err(UploadError::Other)?).await?;
    let staging = format!("{STAGING_DIRECTORY}/{run_id}");
    let mut files: Vec<ManifestFile> = match (&previous, job.spec.mode) {
        (Some(previous), Mode::Append | Mode::Incremental) => previous.files.clone(),
        _ => Vec::new(),
    };
    let mut rows = 0;
    let mut bytes = 0;
    for file in &staged {
        let from = lake
            .child(&format!("{staging}/{}", file.relative))
            .map_err(UploadError::Other)?;
        let to = lake.child(&file.relative).map_err(UploadError::Other)?;
        lake.store.copy(&from, &to).await?;
        rows += file.rows;
        bytes += file.bytes;
        files.push(ManifestFile {
            path: file.relative.clone(),
            rows: file.rows,
            bytes: file.bytes,
            partition: file.partition.clone(),
        });
    }
    let total_rows = files.iter().map(|file| file.rows).sum();
    let watermark = watermark.map(|(column, _, through)| Watermark { column, value: through });
    let manifest = ExportManifest {
        dvt_export_version: 1,
        export: job.unique_id.to_string(),
        run_id: run_id.to_string(),
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        mode: job.spec.mode.as_str().to_string(),
        format: job.spec.format.extension().to_string(),
        partition_by: job.spec.partition_by.iter().map(|key| key.directory_name()).collect(),
        watermark: watermark.clone(),
        rows: total_rows,
        files,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|error| UploadError::Other(ExportError::Encode(error.to_string())))?;
    // The commit point: readers following the manifest switch here.
    lake.store
        .put(
            &lake.child(MANIFEST_FILE).map_err(UploadError::Other)?,
            PutPayload::from(manifest_bytes),
        )
        .await?;
    // What the new version does not list is the replaced version, or the
    // leftovers of an export that stopped between copying and committing.
    let keep: BTreeSet<&str> = manifest.files.iter().map(|file| file.path.as_str()).collect();
    for path in existing {
        if !keep.contains(lake.relative(&path)) {
            delete_if_present(lake, &path).await?;
        }
    }
    delete_under(lake, STAGING_DIRECTORY).await;
    lake.store
        .put(
            &lake.child(SUCCESS_FILE).map_err(UploadError::Other)?,
            PutPayload::from(Bytes::new()),
        )
        .await?;
    Ok(ExportOutcome {
        rows,
        files: staged.len(),
        bytes,
        location: lake.location.clone(),
        watermark: watermark.map(|watermark| watermark.value),
    })
}

/// The published objects under the root: everything but the paths that
/// start with `_` (the manifest, `_SUCCESS`, staging).
async fn list_published(lake: &Layouted) -> Result<Vec<Path>, UploadError> {
    let prefix = (!lake.root.as_ref().is_empty()).then_some(&lake.root);
    let objects: Vec<object_store::ObjectMeta> = lake.store.list(prefix).try_collect().await?;
    Ok(objects
        .into_iter()
        .map(|object| object.location)
        .filter(|path| {
            !lake
                .relative(path)
                .split('/')
                .any(|segment| segment.starts_with('_') && !segment.contains('='))
        })
        .collect())
}

async fn delete_if_present(lake: &Layouted, path: &Path) -> Result<(), object_store::Error> {
    match lake.store.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Deletes every object under a directory of the root, as far as the store
/// lets it: cleanup that the next export repeats if it fails now.
async fn delete_under(lake: &Layouted, directory: &str) {
    let Ok(prefix) = lake.child(directory) else { return };
    let Ok(objects) = lake
        .store
        .list(Some(&prefix))
        .try_collect::<Vec<object_store::ObjectMeta>>()
        .await
    else {
        return;
    };
    for object in objects {
        let _ = delete_if_present(lake, &object.location).await;
    }
}
