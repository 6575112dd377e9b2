//! End-to-end tests of exports to the lake: the real `dvt` binary on a small
//! project, against a real PostgreSQL and the embedded DuckDB, exporting to
//! a real S3 server (s3s-fs) over HTTP on loopback.
//!
//! The shared server is the one `scripts/start-s3.sh` starts
//! (`DVT_TEST_S3_ENDPOINT`, default `http://127.0.0.1:9100`, bucket `lake`);
//! each test writes under a prefix of its own, so they run in parallel. The
//! atomicity tests start a private s3s-fs they can stop. What was exported
//! is read back with object_store and the Parquet arrow reader, never
//! through dvt's own reading code, except in the test of that code.

#![cfg(feature = "duckdb")]

#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
mod project;
#[path = "support/run_output.rs"]
mod run_output;
use run_output::Output;

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::Path as FsPath;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use sqlx::{ConnectOptions, Row};

use common::Server;
use engine::Engine;
use profile::DUCKDB_FILE;
use project::random_suffix;

const BUCKET: &str = "lake";

fn shared_endpoint() -> String {
    std::env::var("DVT_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9100".into())
}

fn store(endpoint: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id("minioadmin")
            .with_secret_access_key("minioadmin")
            .build()
            .expect("an S3 client"),
    )
}

/// A project in a temp directory with its own database and its own prefix
/// in the lake.
struct LakeProject {
    dir: tempfile::TempDir,
    engine: Engine,
    server: Server,
    database: String,
    /// Every export of the test goes under this prefix.
    prefix: String,
    endpoint: String,
    runtime: tokio::runtime::Runtime,
}

impl LakeProject {
    fn new(engine: Engine) -> Self {
        Self::with_endpoint(engine, &shared_endpoint(), "")
    }

    /// A project whose target reaches S3 at `endpoint`, with `extra` lines
    /// added to the target.
    fn with_endpoint(engine: Engine, endpoint: &str, extra: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            engine,
            server: Server::from_env(),
            database: format!("dvt_lake_{}", random_suffix()),
            prefix: format!("test-{}", random_suffix()),
            endpoint: endpoint.to_string(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime"),
        };
        project.write("project.yml", "name: lake\nprofile: lake\n");
        let warehouse = match engine {
            Engine::Postgres => {
                project.admin(&format!("create database \"{}\"", project.database));
                let profile = profile::postgres_profile("lake", &project.server, &project.database, 4);
                profile
                    .lines()
                    .skip(4)
                    .map(|line| format!("{line}\n"))
                    .collect::<String>()
            }
            Engine::DuckDb => profile::duckdb_profile("lake", 4)
                .lines()
                .skip(4)
                .map(|line| format!("{line}\n"))
                .collect::<String>(),
        };
        project.write(
            "profiles.yml",
            &format!(
                "lake:\n  target: dev\n  outputs:\n    dev:\n{warehouse}      s3_endpoint: {endpoint}\n      \
                 s3_region: us-east-1\n      s3_bucket: {BUCKET}\n      s3_path_style: true\n      \
                 s3_access_key_id: minioadmin\n      s3_secret_access_key: \"{{{{ env_var('DVT_TEST_S3_SECRET', 'minioadmin') }}}}\"\n{extra}"
            ),
        );
        project
    }

    fn path(&self) -> &FsPath {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        project::write(&self.path().join(relative), contents);
    }

    /// `COMMAND --project-dir DIR --profiles-dir DIR REST...`
    fn arguments(&self, args: &[&str]) -> Vec<std::ffi::OsString> {
        let (first, rest) = args.split_first().expect("a dvt command");
        let directory = self.path().as_os_str().to_owned();
        [
            first.into(),
            "--project-dir".into(),
            directory.clone(),
            "--profiles-dir".into(),
            directory,
        ]
        .into_iter()
        .chain(rest.iter().map(|arg| arg.into()))
        .collect()
    }

    /// The dvt process, to start in the background.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("dvt"));
        command::isolate(&mut command);
        command
            .current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password)
            .args(self.arguments(args));
        command
    }

    fn dvt(&self, args: &[&str]) -> Output {
        let output = command::dvt_command()
            .current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password)
            .args(self.arguments(args))
            .timeout(Duration::from_secs(300))
            .output()
            .expect("dvt runs");
        Output::from(output)
    }

    fn dvt_exits(&self, code: i32, args: &[&str]) -> Output {
        let output = self.dvt(args);
        assert_eq!(output.code, Some(code), "dvt {}: {output:?}", args.join(" "));
        output
    }

    fn admin(&self, sql: &str) {
        project::admin(&self.server, &self.runtime, sql).unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
    }

    /// Runs statements in the test's warehouse.
    fn execute(&self, sql: &str) {
        match self.engine {
            Engine::DuckDb => self
                .duckdb()
                .execute_batch(sql)
                .unwrap_or_else(|error| panic!("`{sql}`: {error}")),
            Engine::Postgres => self.runtime.block_on(async {
                let mut connection = self.server.options(&self.database).connect().await.expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut connection)
                    .await
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
            }),
        }
    }

    fn duckdb(&self) -> duckdb::Connection {
        duckdb::Connection::open(self.path().join(DUCKDB_FILE)).expect("open the DuckDB file")
    }

    /// The single row of a query, every value as text.
    fn row(&self, sql: &str) -> Vec<Option<String>> {
        match self.engine {
            Engine::DuckDb => {
                let connection = self.duckdb();
                let mut statement = connection
                    .prepare(sql)
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
                let columns = statement.column_count();
                let mut rows = statement.query([]).expect("query");
                let row = rows.next().expect("a row").expect("one row");
                (0..columns)
                    .map(|index| row.get::<_, Option<String>>(index).expect("a text value"))
                    .collect()
            }
            Engine::Postgres => self.runtime.block_on(async {
                let mut connection = self.server.options(&self.database).connect().await.expect("connect");
                let row = sqlx::Executor::fetch_one(&mut connection, sql)
                    .await
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
                (0..row.len())
                    .map(|index| {
                        let value = row.try_get_raw(index).expect("a column");
                        (!sqlx::ValueRef::is_null(&value))
                            .then(|| String::from_utf8_lossy(value.as_bytes().expect("text")).into_owned())
                    })
                    .collect()
            }),
        }
    }

    fn store(&self) -> Arc<dyn ObjectStore> {
        store(&self.endpoint)
    }

    /// Every object under the test's prefix (or one below it), relative to
    /// the prefix, with its size.
    fn objects(&self, below: &str) -> BTreeMap<String, u64> {
        let root = Path::from(format!("{}/{below}", self.prefix));
        let store = self.store();
        let objects: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(store.list(Some(&root)).try_collect())
            .expect("a listing");
        objects
            .into_iter()
            .map(|object| {
                let full = object.location.to_string();
                let relative = full
                    .strip_prefix(&format!("{}/", self.prefix))
                    .unwrap_or(&full)
                    .to_string();
                (relative, object.size)
            })
            .collect()
    }

    fn get(&self, relative: &str) -> bytes::Bytes {
        let store = self.store();
        let path = Path::parse(format!("{}/{relative}", self.prefix)).expect("a path");
        self.runtime
            .block_on(async { store.get(&path).await?.bytes().await })
            .unwrap_or_else(|error| panic!("get {relative}: {error}"))
    }

    fn manifest(&self, export: &str) -> Value {
        serde_json::from_slice(&self.get(&format!("{export}/_dvt_manifest.json"))).expect("a JSON manifest")
    }

    /// The rows of every file the export's manifest lists, read with the
    /// Parquet arrow reader.
    fn read_export(&self, export: &str) -> Vec<RecordBatch> {
        let manifest = self.manifest(export);
        let mut batches = Vec::new();
        for file in manifest["files"].as_array().expect("files") {
            let path = file["path"].as_str().expect("a path");
            batches.extend(read_parquet(self.get(&format!("{export}/{path}"))));
        }
        batches
    }
}

impl Drop for LakeProject {
    fn drop(&mut self) {
        command::keep_artifacts(self.path());
        if self.engine == Engine::Postgres {
            if let Err(error) = project::drop_database(&self.server, &self.runtime, &self.database) {
                eprintln!("could not drop `{}`: {error}", self.database);
            }
        }
    }
}

fn read_parquet(bytes: bytes::Bytes) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(bytes)
        .expect("a Parquet file")
        .build()
        .expect("a reader")
        .map(|batch| batch.expect("a batch"))
        .collect()
}

/// The rows of a table with every type the export maps, on either engine:
/// `(sql, expected Arrow type per column)`.
fn typed_table(engine: Engine, rows: u32) -> String {
    let pick = |postgres: &str, duckdb: &str| engine.pick(postgres, duckdb).to_string();
    format!(
        "create schema if not exists raw;
         create table raw.typed as
         select
             cast(i as bigint) as id,
             cast(i % 100 as smallint) as small,
             cast(i as integer) as qty,
             cast(i as double precision) / 7 as ratio,
             cast(i * 1.25 as numeric(12,2)) as price,
             {amount} as amount,
             date '2024-01-01' + cast(i % 400 as integer) as day,
             time '00:00:00' + {seconds} as at_time,
             timestamp '2024-01-01 00:00:00' + {minutes} as created,
             cast(timestamp '2024-01-01 00:00:00' + {minutes} as timestamptz) as created_tz,
             i % 3 = 0 as flag,
             case when i % 10 = 0 then null else 'name ' || cast(i as varchar) || ' ü/\"' end as name,
             {document} as doc,
             {list} as tags,
             {uuid} as key
         from generate_series(1, {rows}) as g(i)",
        amount = pick(
            "cast(i as numeric) / 3",
            "cast(cast(i as decimal(38,10)) / 3 as decimal(38,10))"
        ),
        seconds = pick("i * interval '1 second'", "to_seconds(i)"),
        minutes = pick("i * interval '1 minute'", "to_minutes(i)"),
        // DuckDB's json extension would be downloaded; its JSON is text here.
        document = pick("jsonb_build_object('i', i)", "'{\"i\": ' || cast(i as varchar) || '}'"),
        list = pick(
            "case when i % 7 = 0 then null else array[i, i + 1] end",
            "case when i % 7 = 0 then null else [cast(i as integer), cast(i + 1 as integer)] end"
        ),
        uuid = "gen_random_uuid()",
    )
}

/// A checksum of one column: non-null values, and a sum over them.
fn arrow_checksum(column: &ArrayRef) -> (i64, String) {
    let count = (column.len() - column.null_count()) as i64;
    let valid = |index: usize| column.is_valid(index);
    let sum = match column.data_type() {
        DataType::Int16 => primitive_sum::<Int16Type>(column),
        DataType::Int32 => primitive_sum::<Int32Type>(column),
        DataType::Int64 => primitive_sum::<Int64Type>(column),
        DataType::Float32 => format!(
            "{:.3}",
            column
                .as_primitive::<Float32Type>()
                .iter()
                .flatten()
                .map(f64::from)
                .sum::<f64>()
        ),
        DataType::Float64 => format!(
            "{:.3}",
            column.as_primitive::<Float64Type>().iter().flatten().sum::<f64>()
        ),
        DataType::Decimal128(..) => primitive_sum::<Decimal128Type>(column),
        DataType::Date32 => primitive_sum::<Date32Type>(column),
        DataType::Time64(TimeUnit::Microsecond) => primitive_sum::<Time64MicrosecondType>(column),
        DataType::Timestamp(TimeUnit::Microsecond, _) => primitive_sum::<TimestampMicrosecondType>(column),
        DataType::Boolean => column
            .as_boolean()
            .iter()
            .flatten()
            .filter(|flag| *flag)
            .count()
            .to_string(),
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .flatten()
            .map(|text| text.chars().count() as i128)
            .sum::<i128>()
            .to_string(),
        DataType::List(_) => (0..column.len())
            .filter(|index| valid(*index))
            .map(|index| column.as_list::<i32>().value(index).len() as i128)
            .sum::<i128>()
            .to_string(),
        DataType::FixedSizeBinary(16) => {
            let uuids = column.as_fixed_size_binary();
            (0..uuids.len())
                .filter(|index| valid(*index))
                .map(|index| i128::from(format!("{:02x}", uuids.value(index)[0]).as_bytes()[0]))
                .sum::<i128>()
                .to_string()
        }
        other => panic!("no checksum for {other}"),
    };
    (count, sum)
}

/// The sum of a column of integers (or of their raw values: days, microseconds, scaled decimals).
fn primitive_sum<T: ArrowPrimitiveType>(column: &ArrayRef) -> String
where
    i128: From<T::Native>,
{
    column
        .as_primitive::<T>()
        .iter()
        .flatten()
        .map(i128::from)
        .sum::<i128>()
        .to_string()
}

/// The same checksums, computed by the warehouse.
fn warehouse_checksums(project: &LakeProject, engine: Engine) -> Vec<(i64, String)> {
    let pick = |postgres: &str, duckdb: &str| engine.pick(postgres, duckdb).to_string();
    let micros = |column: &str| {
        pick(
            &format!("cast(extract(epoch from {column}) * 1000000 as bigint)"),
            &format!("epoch_us({column})"),
        )
    };
    let expressions = [
        "id".to_string(),
        "small".into(),
        "qty".into(),
        "round(cast(sum(ratio) as numeric), 3)".into(),
        "cast(price * 100 as bigint)".into(),
        "cast(round(amount * 10000000000) as bigint)".into(),
        "day - date '1970-01-01'".into(),
        pick(
            "cast(extract(epoch from at_time) * 1000000 as bigint)",
            "epoch_us(date '1970-01-01' + at_time)",
        ),
        micros("created"),
        micros("created_tz"),
        "case when flag then 1 else 0 end".into(),
        "length(name)".into(),
        "length(cast(doc as varchar))".into(),
        pick("cardinality(tags)", "len(tags)"),
        "ascii(substr(cast(key as varchar), 1, 1))".into(),
    ];
    let columns = [
        "id",
        "small",
        "qty",
        "ratio",
        "price",
        "amount",
        "day",
        "at_time",
        "created",
        "created_tz",
        "flag",
        "name",
        "doc",
        "tags",
        "key",
    ];
    let select: Vec<String> = expressions
        .iter()
        .zip(columns)
        .map(|(expression, column)| {
            let sum = if expression.starts_with("round(cast(sum") {
                expression.clone()
            } else {
                format!("sum({expression})")
            };
            format!("cast(count({column}) as varchar), cast({sum} as varchar)")
        })
        .collect();
    let row = project.row(&format!("select {} from analytics.typed_out", select.join(", ")));
    row.chunks(2)
        .map(|pair| {
            let count = pair[0].as_deref().unwrap_or("0").parse().expect("a count");
            let sum = pair[1].clone().unwrap_or_default();
            // Floats compare at three decimals; integers as they are.
            let sum = match sum.split_once('.') {
                Some((whole, fraction)) if !fraction.is_empty() => {
                    format!("{whole}.{:0<3}", &fraction[..fraction.len().min(3)])
                }
                _ => sum,
            };
            (count, sum)
        })
        .collect()
}

fn round_trip(engine: Engine) {
    let project = LakeProject::new(engine);
    project.execute(&typed_table(engine, 5000));
    project.write("models/typed_out.sql", "select * from raw.typed");
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: typed_out\n    config:\n      materialized: table\n      export:\n        \
             prefix: {}/typed\n        row_group_size: 1000\n    columns:\n      - name: id\n        tests: [unique, not_null]\n",
            project.prefix
        ),
    );
    let output = project.dvt_exits(0, &["build"]);
    // The export runs after its model and the model's tests.
    let lines: Vec<&str> = output.stderr.lines().collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {output:?}"))
    };
    assert!(
        position("export of analytics.typed_out") > position("unique_typed_out_id"),
        "{output:?}"
    );
    assert!(output.stderr.contains("OK exported"), "{output:?}");
    assert!(output.stderr.contains("EXPORT 5000 rows, 1 file"), "{output:?}");

    let batches = project.read_export("typed");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 5000);
    let schema = batches[0].schema();
    let utc = Some(Arc::from("UTC"));
    let expected = [
        DataType::Int64,
        DataType::Int16,
        DataType::Int32,
        DataType::Float64,
        DataType::Decimal128(12, 2),
        DataType::Decimal128(38, 10),
        DataType::Date32,
        DataType::Time64(TimeUnit::Microsecond),
        DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(TimeUnit::Microsecond, utc),
        DataType::Boolean,
        DataType::Utf8,
        DataType::Utf8,
        DataType::Int32, // the element type of the list
        engine.pick(DataType::FixedSizeBinary(16), DataType::Utf8),
    ];
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::List(element) => element.data_type().clone(),
            other => other.clone(),
        })
        .collect();
    assert_eq!(types, expected, "{schema:#?}");
    assert!(matches!(
        schema.field_with_name("tags").map(|field| field.data_type()),
        Ok(DataType::List(_))
    ));
    let combined = arrow::compute::concat_batches(&schema, &batches).expect("one batch");
    let exported: Vec<(i64, String)> = combined.columns().iter().map(arrow_checksum).collect();
    let expected_checksums = warehouse_checksums(&project, engine);
    for ((field, exported), warehouse) in schema.fields().iter().zip(&exported).zip(&expected_checksums) {
        // DuckDB exports a uuid as text: its checksum is the first
        // character's code, as the warehouse computes it.
        let exported = if field.name() == "key" && engine == Engine::DuckDb {
            let first_characters: i128 = combined
                .column_by_name("key")
                .expect("key")
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(|text| i128::from(text.as_bytes()[0]))
                .sum();
            (exported.0, first_characters.to_string())
        } else {
            exported.clone()
        };
        assert_eq!(&exported, warehouse, "checksum of column `{}`", field.name());
    }
    // The Parquet file records JSON and (on PostgreSQL) UUID logical types.
    let manifest = project.manifest("typed");
    let file = manifest["files"][0]["path"].as_str().expect("a file").to_string();
    let metadata = ParquetRecordBatchReaderBuilder::try_new(project.get(&format!("typed/{file}")))
        .expect("a Parquet file")
        .metadata()
        .clone();
    let logical = |name: &str| {
        metadata
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .find(|column| column.name() == name)
            .and_then(|column| column.logical_type_ref().cloned())
    };
    if engine == Engine::Postgres {
        assert_eq!(logical("doc"), Some(parquet::basic::LogicalType::Json));
        assert_eq!(logical("key"), Some(parquet::basic::LogicalType::Uuid));
    }
    assert_eq!(metadata.num_row_groups(), 5, "row_group_size: 1000");
    // The published version is complete and nothing is left in staging.
    let objects = project.objects("typed");
    assert!(objects.contains_key("typed/_SUCCESS"), "{objects:?}");
    assert!(!objects.keys().any(|key| key.contains("_dvt_staging")), "{objects:?}");
}
matrix!(round_trip);

fn partitions_with_special_characters(engine: Engine) {
    let project = LakeProject::new(engine);
    let categories = ["a/b", "50%", "x=y", "ü ñ", "dot.", "#hash?"];
    let values: Vec<String> = categories
        .iter()
        .enumerate()
        .map(|(index, category)| format!("({index}, '{category}', date '2024-0{}-15')", index % 2 + 1))
        .chain(["(100, null, date '2024-03-01')".to_string()])
        .collect();
    project.execute(&format!(
        "create schema if not exists raw; create table raw.items as select * from (values {}) as t(id, category, day)",
        values.join(", ")
    ));
    project.write("models/items.sql", "select * from raw.items");
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: items\n    config:\n      materialized: table\n      export:\n        \
             prefix: {}/items\n        partition_by: [category, {{column: day, granularity: month}}]\n",
            project.prefix
        ),
    );
    project.dvt_exits(0, &["build"]);
    let objects = project.objects("items");
    let directories: Vec<String> = objects
        .keys()
        .filter(|key| key.ends_with(".parquet"))
        .map(|key| {
            key.rsplit_once('/')
                .map(|(directory, _)| directory.to_string())
                .unwrap_or_default()
        })
        .collect();
    let expected: std::collections::BTreeSet<String> = [
        "items/category=%23hash%3F/day_month=2024-02",
        "items/category=50%25/day_month=2024-02",
        "items/category=__HIVE_DEFAULT_PARTITION__/day_month=2024-03",
        "items/category=a%2Fb/day_month=2024-01",
        "items/category=dot./day_month=2024-01",
        "items/category=x%3Dy/day_month=2024-01",
        "items/category=ü ñ/day_month=2024-02",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(
        directories.into_iter().collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    // The partition column leaves the files, as in Hive; the cut date stays.
    let batches = project.read_export("items");
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    assert_eq!(names, ["id", "day"]);
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);

    // Read back into the warehouse by `dvt ingest`, from a source that
    // points at the lake: the partition values come back as they were.
    project.write(
        "models/lake.yml",
        &format!(
            "version: 2\nsources:\n  - name: lake\n    schema: bronze\n    tables:\n      - name: items\n        \
             ingest:\n          lake: {}/items\n",
            project.prefix
        ),
    );
    for _ in 0..2 {
        // The second load replaces the rows of the first.
        let output = project.dvt_exits(0, &["ingest", "--select", "source:lake.items"]);
        assert!(
            output
                .stderr
                .contains("Loaded 7 rows into \"bronze\".\"items\" from 7 Parquet files"),
            "{output:?}"
        );
    }
    assert_eq!(
        project.row("select cast(count(*) as varchar) from bronze.items"),
        [Some("7".to_string())]
    );
    let categories_of = |table: &str| {
        project.row(&format!(
            "select string_agg(coalesce(category, 'NULL'), '|' order by id) from {table}"
        ))
    };
    let (original, back) = (categories_of("raw.items"), categories_of("bronze.items"));
    assert_eq!(original, back);
    assert_eq!(
        project.row("select cast(count(*) as varchar) from bronze.items where day_month = '2024-01'"),
        [Some("3".to_string())]
    );
}
matrix!(partitions_with_special_characters);

fn incremental_writes_only_new_partitions(engine: Engine) {
    let project = LakeProject::new(engine);
    project.execute(&format!(
        "create schema if not exists raw;
         create table raw.events as
         select cast(i as integer) as id, timestamp '2024-01-01' + {} as happened_at
         from generate_series(0, 40) as g(i)",
        engine.pick("i * interval '1 day'", "to_days(cast(i as integer))")
    ));
    project.write("models/events.sql", "select * from raw.events");
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: events\n    config:\n      materialized: table\n      export:\n        \
             prefix: {}/events\n        mode: incremental\n        watermark: happened_at\n        \
             partition_by: [{{column: happened_at, granularity: month}}]\n",
            project.prefix
        ),
    );
    project.dvt_exits(0, &["run"]);
    let first = project.dvt_exits(0, &["export"]);
    assert!(first.stderr.contains("EXPORT 41 rows, 2 files"), "{first:?}");
    let before = project.objects("events");
    let first_files: Vec<&String> = before.keys().filter(|key| key.ends_with(".parquet")).collect();
    assert_eq!(first_files.len(), 2, "{before:?}");

    // New rows in a new month: only that partition gets a file.
    project.execute(&format!(
        "insert into raw.events
         select cast(i as integer), timestamp '2024-03-10' + {} from generate_series(1, 5) as g(i)",
        engine.pick("i * interval '1 hour'", "to_hours(i)")
    ));
    project.dvt_exits(0, &["run"]);
    let second = project.dvt_exits(0, &["export", "--select", "events"]);
    assert!(second.stderr.contains("EXPORT 5 rows, 1 file"), "{second:?}");
    let after = project.objects("events");
    let new_files: Vec<&String> = after
        .keys()
        .filter(|key| key.ends_with(".parquet") && !before.contains_key(*key))
        .collect();
    assert_eq!(new_files.len(), 1, "{after:?}");
    assert!(
        new_files[0].starts_with("events/happened_at_month=2024-03/"),
        "{new_files:?}"
    );
    for file in &first_files {
        assert_eq!(after.get(*file), before.get(*file), "{file} is unchanged");
    }
    let manifest = project.manifest("events");
    assert_eq!(manifest["rows"], 46);
    assert_eq!(manifest["files"].as_array().map(Vec::len), Some(3));
    assert!(
        manifest["watermark"]["value"]
            .as_str()
            .is_some_and(|value| value.starts_with("2024-03-10 05:00:00")),
        "{manifest}"
    );
    // Nothing new: nothing written.
    let third = project.dvt_exits(0, &["export"]);
    assert!(third.stderr.contains("EXPORT 0 rows, 0 files"), "{third:?}");
    assert_eq!(project.objects("events").len(), after.len());
}
matrix!(incremental_writes_only_new_partitions);

#[test]
fn bad_export_config_points_at_the_line() {
    let project = LakeProject::new(Engine::DuckDb);
    project.write("models/orders.sql", "select 1 as id");
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    config:\n      export:\n        prefix: x\n        format: orc\n",
    );
    let output = project.dvt_exits(2, &["export"]);
    assert!(
        output
            .stderr
            .contains("`format` must be one of parquet, csv, not `orc`"),
        "{output:?}"
    );
    assert!(output.stderr.contains("models/schema.yml:7"), "{output:?}");
}

#[test]
fn unknown_partition_column_names_the_columns() {
    let project = LakeProject::new(Engine::DuckDb);
    project.write("models/orders.sql", "select 1 as id, 'a' as status");
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: orders\n    config:\n      materialized: table\n      export:\n        \
             prefix: {}/orders\n        partition_by: [stauts]\n",
            project.prefix
        ),
    );
    let output = project.dvt_exits(1, &["build"]);
    assert!(
        output.stdout.contains("partition column `stauts` is not a column of")
            || output.stderr.contains("partition column `stauts` is not a column of"),
        "{output:?}"
    );
    assert!(
        output.stderr.contains("did you mean `status`?") || output.stdout.contains("did you mean `status`?"),
        "{output:?}"
    );
}

#[test]
fn s3_errors_name_the_bucket_and_never_the_secret() {
    let project = LakeProject::new(Engine::DuckDb);
    project.write("models/orders.sql", "select 1 as id");
    // A name of its own, so that no other run can have made it.
    let bucket = format!("no-such-bucket-{}", random_suffix());
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: orders\n    config:\n      materialized: table\n      export:\n        \
             bucket: {bucket}\n"
        ),
    );
    project.dvt_exits(0, &["run"]);
    let output = project.dvt_exits(1, &["export", "--log-format", "json"]);
    assert!(output.stderr.contains(&format!("S3 bucket `{bucket}`")), "{output:?}");
    assert!(
        output.stderr.contains(&format!("create bucket `{bucket}`")),
        "{output:?}"
    );

    let secret = "not-the-right-secret-4711";
    let mut command = project.command(&["export"]);
    command.env("DVT_TEST_S3_SECRET", secret);
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    config:\n      materialized: table\n      export: {}\n",
    );
    let output = command.output().expect("dvt runs");
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{everything}");
    assert!(everything.contains("s3_secret_access_key"), "{everything}");
    for artifact in ["target/manifest.json", "target/run_results.json"] {
        let text = std::fs::read_to_string(project.path().join(artifact)).expect("an artifact");
        assert!(!text.contains(secret), "{artifact} holds the secret");
    }
    assert!(!everything.contains(secret), "{everything}");
}

/// A private s3s-fs that a test can stop and start again.
struct PrivateS3 {
    data: tempfile::TempDir,
    port: u16,
    process: Option<Child>,
}

impl PrivateS3 {
    fn start() -> Self {
        let data = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir_all(data.path().join(BUCKET)).expect("the bucket");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            data,
            port,
            process: None,
        };
        server.resume();
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn resume(&mut self) {
        let process = std::process::Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", "minioadmin", "--secret-key", "minioadmin"])
            .arg(self.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs runs (bash scripts/start-s3.sh installs it)");
        self.process = Some(process);
        // Up when it accepts a connection.
        wait_for(
            || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            "s3s-fs to listen",
        );
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// The multipart parts on the server's disk.
    fn uploaded_parts(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.data.path())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.starts_with(".upload_id-"))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `condition` holds; gives up after two minutes.
fn wait_for(condition: impl Fn() -> bool, what: &str) {
    for _ in 0..1200 {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gave up waiting for {what}");
}

/// The files the manifest lists, and that each exists with its size.
fn assert_version_intact(project: &LakeProject, export: &str, rows: u64) {
    let manifest = project.manifest(export);
    assert_eq!(manifest["rows"], rows, "{manifest}");
    let objects = project.objects(export);
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|file| format!("{export}/{}", file["path"].as_str().expect("a path")))
        .collect();
    for file in &listed {
        assert!(objects.contains_key(file), "{file} is missing: {objects:?}");
    }
    let published: Vec<&String> = objects
        .keys()
        .filter(|key| !key.split('/').any(|segment| segment.starts_with('_')))
        .collect();
    assert_eq!(
        published.len(),
        listed.len(),
        "only the listed files are published: {objects:?}"
    );
    let read: usize = project.read_export(export).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(read as u64, rows);
}

#[test]
fn an_interrupted_export_leaves_the_previous_version() {
    let mut s3 = PrivateS3::start();
    let project = LakeProject::with_endpoint(
        Engine::Postgres,
        &s3.endpoint(),
        "      s3_max_retries: 1\n      s3_retry_timeout_seconds: 2\n",
    );
    project.execute(
        "create schema if not exists analytics; create table analytics.big as select i as id from generate_series(1, 200) as g(i)",
    );
    project.write(
        "models/wide.sql",
        "select id, md5(cast(id as text)) || md5(cast(id * 7 as text)) as payload from analytics.big",
    );
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: wide\n    config:\n      materialized: table\n      export:\n        \
             prefix: {}/wide\n        compression: none\n",
            project.prefix
        ),
    );
    project.dvt_exits(0, &["build"]);
    assert_version_intact(&project, "wide", 200);

    // A table of about 130 MB, so that the export uploads several parts.
    project.execute("insert into analytics.big select i from generate_series(201, 2000000) as g(i)");
    project.dvt_exits(0, &["run"]);

    // 1. The server goes away in the middle of the upload.
    let export = project
        .command(&["export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dvt");
    wait_for(|| !s3.uploaded_parts().is_empty(), "a part to be uploaded");
    s3.stop();
    let output = export.wait_with_output().expect("dvt ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ERROR exporting"), "{stderr}");
    s3.resume();
    assert_version_intact(&project, "wide", 200);

    // 2. The process is killed in the middle of the upload.
    let parts_before = s3.uploaded_parts();
    let mut export = project
        .command(&["export"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dvt");
    wait_for(
        || !s3.uploaded_parts().is_subset(&parts_before),
        "a part to be uploaded",
    );
    export.kill().expect("kill dvt");
    export.wait().expect("dvt ends");
    assert_version_intact(&project, "wide", 200);

    // The next export publishes the new version and clears what the
    // interrupted ones left in staging.
    project.dvt_exits(0, &["export"]);
    assert_version_intact(&project, "wide", 2_000_000);
    assert!(!project.objects("wide").keys().any(|key| key.contains("_dvt_staging")));
}

/// Every file under `folder`, relative to it, with its size.
fn files_under(folder: &FsPath) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap_or_else(|error| panic!("{}: {error}", current.display())) {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(folder).expect("under the folder");
                let size = std::fs::metadata(&path)
                    .map(|metadata| metadata.len())
                    .unwrap_or_default();
                found.insert(relative.display().to_string(), size);
            }
        }
    }
    found
}

// A target with `lake_path:` instead of `s3_*` exports to a folder by the
// same protocol, with no server: the files under `<bucket>/<prefix>/`, the
// manifest listing each with its size, `_SUCCESS`, and nothing left of the
// staging area; a second export replaces the first; a source with
// `ingest: {lake: ...}` reads it back.
fn local_lake_exports_and_reads_back(engine: Engine) {
    let project = LakeProject::new(engine);
    let profile = std::fs::read_to_string(project.path().join("profiles.yml")).expect("read profiles.yml");
    let mut local: String = profile
        .lines()
        .filter(|line| !line.trim_start().starts_with("s3_"))
        .map(|line| format!("{line}\n"))
        .collect();
    local.push_str("      lake_path: local_lake\n");
    project.write("profiles.yml", &local);
    project.write(
        "models/items.sql",
        "select 1 as id, 'a' as name union all select 2, 'b' union all select 3, 'c'\n",
    );
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: items\n    config:\n      export:\n        prefix: gold/items\n\
         sources:\n  - name: back\n    schema: bronze\n    tables:\n      - name: items\n        \
         ingest:\n          lake: gold/items\n",
    );
    let folder = project.path().join("local_lake/lake/gold/items");
    for command in ["build", "export"] {
        let output = project.dvt_exits(0, &[command]);
        assert!(output.stderr.contains("file://"), "{output:?}");
        let files = files_under(&folder);
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(folder.join("_dvt_manifest.json")).expect("the manifest is written"))
                .expect("the manifest is JSON");
        assert_eq!(manifest["rows"], 3, "{manifest}");
        let listed = manifest["files"].as_array().expect("files");
        for file in listed {
            let path = file["path"].as_str().expect("a path");
            assert_eq!(files.get(path), file["bytes"].as_u64().as_ref(), "{path} in {files:?}");
        }
        assert!(files.contains_key("_SUCCESS"), "{files:?}");
        assert!(
            files.keys().all(|file| !file.starts_with("_dvt_staging")),
            "the staging area is gone: {files:?}"
        );
        let published = files.keys().filter(|file| !file.starts_with('_')).count();
        assert_eq!(
            published,
            listed.len(),
            "only the listed files are published: {files:?}"
        );
    }
    project.dvt_exits(0, &["ingest", "--select", "source:back.items"]);
    assert_eq!(
        project.row("select cast(count(*) as varchar) from bronze.items"),
        [Some("3".to_string())]
    );
}
matrix!(local_lake_exports_and_reads_back);
