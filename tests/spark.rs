//! Spark over Spark Connect, the third adapter, end to end: the real `dvt`
//! binary against the Spark Connect server that `scripts/start-spark.sh`
//! starts on 127.0.0.1 (`DVT_TEST_SPARK`, `host:port`, default
//! `127.0.0.1:15002`), the same JVM for every test of the run.
//!
//! Spark has one catalog for every client of the server, so each test
//! builds into schemas of its own (`dvt_t_<random>_*`), dropped when it
//! ends. Where Spark differs from PostgreSQL, the test says so and why.

#[path = "support/background.rs"]
mod background;
#[path = "support/command.rs"]
mod command;
#[path = "support/deps.rs"]
mod deps;
#[path = "support/example.rs"]
mod example;

mod common;
#[path = "support/database.rs"]
mod database;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use dvt::adapter::spark::{Endpoints, SparkAdapter, SparkConfig};
use dvt::adapter::{Adapter, AdapterError};
use serde_json::Value;

use common::Server;
use database::Database;

/// The test server's address.
fn spark_address() -> (String, u16) {
    let address = std::env::var("DVT_TEST_SPARK").unwrap_or_else(|_| "127.0.0.1:15002".to_string());
    let (host, port) = address.rsplit_once(':').unwrap_or((address.as_str(), "15002"));
    (host.to_string(), port.parse().unwrap_or(15002))
}

/// The schemas of one test on the shared Spark server, dropped when it
/// ends, even when it panics.
struct SparkSchemas {
    /// The target schema; dvt's default `generate_schema_name` adds
    /// `_<custom>` to it.
    prefix: String,
    runtime: tokio::runtime::Runtime,
}

impl SparkSchemas {
    fn new() -> Self {
        Self {
            prefix: format!("dvt_t_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime"),
        }
    }

    async fn adapter() -> Result<Arc<SparkAdapter>, AdapterError> {
        let (host, port) = spark_address();
        let endpoints = Endpoints {
            host,
            port,
            use_ssl: false,
            token: None,
            cluster_id: None,
        };
        let mut config = SparkConfig::new(endpoints, "default");
        config.threads = 2;
        Ok(Arc::new(SparkAdapter::connect(config).await?))
    }

    /// The rows of a query, as text.
    fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.runtime.block_on(async {
            let adapter = Self::adapter()
                .await
                .unwrap_or_else(|error| panic!("connect to Spark (bash scripts/start-spark.sh): {error}"));
            let result = async { adapter.connection().await?.query(sql, None).await }.await;
            adapter.close().await;
            result.unwrap_or_else(|error| panic!("`{sql}`: {error}")).rows
        })
    }

    fn count(&self, schema: &str, identifier: &str) -> i64 {
        let rows = self.rows(&format!("select count(*) from \"{schema}\".\"{identifier}\""));
        rows.first()
            .and_then(|row| row.first().cloned().flatten())
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("no count of {schema}.{identifier}: {rows:?}"))
    }

    /// A `type: spark` target named `spark`, into these schemas.
    fn target(&self, extra: &str) -> String {
        let (host, port) = spark_address();
        format!(
            "    spark:\n      type: spark\n      method: connect\n      host: {host}\n      port: {port}\n      \
             schema: {prefix}\n      threads: 4\n{extra}",
            prefix = self.prefix
        )
    }
}

impl SparkSchemas {
    /// A project named `name` in a temp directory, its profile's target
    /// the `spark` of [`Self::target`].
    fn project(&self, name: &str) -> SparkProject {
        let project = SparkProject(tempfile::tempdir().expect("a temp dir"));
        project.write("project.yml", &format!("name: {name}\nprofile: {name}\n"));
        project.write(
            "profiles.yml",
            &format!("{name}:\n  target: spark\n  outputs:\n{}", self.target("")),
        );
        project
    }
}

/// A test project's folder, removed when dropped.
struct SparkProject(tempfile::TempDir);

impl SparkProject {
    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("create {}: {error}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    }
}

impl Drop for SparkSchemas {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let dropped = self.runtime.block_on(async move {
            let adapter = Self::adapter().await?;
            let mut connection = adapter.connection().await?;
            let schemas = connection
                .query(&format!("show schemas like '{prefix}*'"), None)
                .await?;
            for schema in schemas
                .rows
                .into_iter()
                .filter_map(|row| row.into_iter().next().flatten())
            {
                connection
                    .execute(&format!("drop schema if exists \"{schema}\" cascade"))
                    .await?;
            }
            drop(connection);
            adapter.close().await;
            Ok::<_, AdapterError>(())
        });
        if let Err(error) = dropped {
            eprintln!("could not drop the Spark schemas `{}*`: {error}", self.prefix);
        }
    }
}

/// The PostgreSQL side of a comparison: a database of its own.
struct PostgresDatabase(Database);

impl PostgresDatabase {
    fn new() -> Self {
        Self(Database::new("dvt_spark_pg"))
    }

    fn target(&self) -> String {
        format!(
            "    pg:\n      type: postgres\n      host: {host}\n      port: {port}\n      user: {user}\n      \
             password: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      dbname: {name}\n      \
             schema: analytics\n      threads: 4\n",
            host = self.0.server.host,
            port = self.0.server.port,
            user = self.0.server.user,
            name = self.0.name,
        )
    }

    fn count(&self, schema: &str, identifier: &str) -> i64 {
        let mut connection = self.0.connection(&self.0.name);
        let (count,): (i64,) = self
            .0
            .runtime
            .block_on(
                sqlx::query_as(&format!("select count(*) from \"{schema}\".\"{identifier}\""))
                    .fetch_one(&mut connection),
            )
            .unwrap_or_else(|error| panic!("count {schema}.{identifier}: {error}"));
        count
    }
}

/// Runs dvt in `dir`; returns its exit code and what it printed.
fn dvt(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = command::dvt_command()
        .args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .env("DVT_PG_PASSWORD", Server::from_env().password)
        // A Spark server that stops answering fails the test, not the whole CI run.
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .expect("run dvt");
    command::keep_artifacts(dir);
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("parse {}: {error}", path.display()))
}

/// `(schema, identifier)` of every model, seed and snapshot a run built,
/// by unique id, from its `run_results.json` and `manifest.json`.
fn built_relations(dir: &Path) -> BTreeMap<String, (String, String)> {
    let manifest = read_json(&dir.join("target/manifest.json"));
    let results = read_json(&dir.join("target/run_results.json"));
    let mut built = BTreeMap::new();
    for result in results["results"].as_array().into_iter().flatten() {
        let id = result["unique_id"].as_str().unwrap_or_default();
        let node = &manifest["nodes"][id];
        let relational = matches!(node["resource_type"].as_str(), Some("model" | "seed" | "snapshot"));
        if relational && result["status"] == "success" && node["config"]["materialized"] != "ephemeral" {
            let name = node["alias"].as_str().or(node["name"].as_str()).unwrap_or_default();
            let schema = node["schema"].as_str().unwrap_or_default();
            built.insert(id.to_string(), (schema.to_string(), name.to_string()));
        }
    }
    built
}

/// The example project builds unchanged on Spark, with the row count of
/// every model and seed equal to PostgreSQL's, its tests passing, and its
/// exports written to a local lake from Spark's Arrow batches.
///
/// The snapshot is left out on both: its legacy `target_schema: snapshots`
/// is one schema for every run on the shared Spark server, and a
/// snapshot's later runs update rows, which parquet tables cannot (Spark
/// needs delta or iceberg for `update`).
#[test]
fn example_project_builds_with_postgres_row_counts() {
    let spark = SparkSchemas::new();
    let postgres = PostgresDatabase::new();
    let root = tempfile::tempdir().expect("a temp dir");
    let profile = |target: &str, outputs: &str| format!("dvdrental:\n  target: {target}\n  outputs:\n{outputs}");
    let runs = [
        ("pg", profile("pg", &postgres.target())),
        ("spark", profile("spark", &spark.target("      lake_path: lake\n"))),
    ];
    let mut dirs = BTreeMap::new();
    for (target, profiles) in &runs {
        let dir = root.path().join(target);
        example::copy_example_project(&dir);
        std::fs::write(dir.join("profiles.yml"), profiles).expect("write profiles.yml");
        let (code, output) = dvt(&dir, &["build", "--exclude", "customer_addresses+"]);
        assert_eq!(code, 0, "dvt build on {target}:\n{output}");
        assert!(output.contains("ERROR=0"), "{target}:\n{output}");
        dirs.insert(*target, dir);
    }

    let on_postgres = built_relations(&dirs["pg"]);
    let on_spark = built_relations(&dirs["spark"]);
    assert_eq!(
        on_spark.keys().collect::<Vec<_>>(),
        on_postgres.keys().collect::<Vec<_>>(),
        "the same models and seeds are built"
    );
    assert!(on_spark.len() > 30, "{on_spark:?}");
    let counts = |count: &dyn Fn(&str, &str) -> i64, relations: &BTreeMap<String, (String, String)>| {
        relations
            .iter()
            .map(|(id, (schema, name))| (id.clone(), count(schema, name)))
            .collect::<BTreeMap<_, _>>()
    };
    let postgres_counts = counts(&|schema, name| postgres.count(schema, name), &on_postgres);
    let spark_counts = counts(&|schema, name| spark.count(schema, name), &on_spark);
    assert_eq!(spark_counts, postgres_counts);
    // Every row of the seed files (README: 16,044 rentals).
    assert_eq!(postgres_counts["seed.dvdrental.rental"], 16_044);
    assert_eq!(postgres_counts["model.dvdrental.fct_rental"], 16_044);

    // The exports, streamed from Spark's Arrow batches into the local lake.
    let fct_rental = dirs["spark"].join("lake/lake/gold/fct_rental");
    let manifest = read_json(&fct_rental.join("_dvt_manifest.json"));
    assert_eq!(
        manifest["rows"].as_i64(),
        Some(postgres_counts["model.dvdrental.fct_rental"]),
        "{manifest}"
    );
    assert!(fct_rental.join("_SUCCESS").is_file());
}

/// Every materialization on Spark, built twice: a view, a table swapped in
/// under a new name, an ephemeral model, an incremental `append` and an
/// `insert_overwrite` of the partitions its new rows fall in, a seed
/// uploaded as Arrow batches, and a test whose failures are stored. A
/// `merge` on parquet tables is refused before anything runs: Spark
/// merges only into delta, iceberg or hudi tables.
#[test]
fn materializations_seeds_and_stored_failures() {
    let spark = SparkSchemas::new();
    let project = spark.project("sparkling");
    let path = project.path();
    project.write(
        "seeds/people.csv",
        "id,name,joined,score\n1,Ann,2024-01-01,1.5\n2,,2024-01-02,\n3,\"O'Brien, Pat\",2024-02-01,3\n",
    );
    project.write("models/people_view.sql", "select * from {{ ref('people') }}\n");
    project.write(
        "models/named.sql",
        "{{ config(materialized='ephemeral') }}\nselect id, name from {{ ref('people') }} where name is not null\n",
    );
    project.write(
        "models/people_table.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('named') }}\n",
    );
    project.write(
        "models/appended.sql",
        "{{ config(materialized='incremental') }}\nselect id, joined from {{ ref('people') }}\n\
         {% if is_incremental() %}where id > (select max(id) - 2 from {{ this }}){% endif %}\n",
    );
    project.write(
        "models/overwritten.sql",
        "{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['month']) }}\n\
         select id, date_format(joined, 'yyyy-MM') as month from {{ ref('people') }}\n\
         {% if is_incremental() %}where joined >= date'2024-02-01'{% endif %}\n",
    );
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: people_view\n    columns:\n      - name: name\n        tests:\n          \
         - not_null:\n              config:\n                store_failures: true\n                severity: warn\n",
    );

    for run in 1..=2 {
        let (code, output) = dvt(path, &["build"]);
        assert_eq!(code, 0, "run {run}:\n{output}");
        assert!(
            output.contains("WARN=1"),
            "the not_null test warns on run {run}:\n{output}"
        );
    }
    let schema = &spark.prefix;
    let sorted = |sql: &str| {
        let mut rows = spark.rows(sql);
        rows.sort();
        rows
    };
    let text = |values: &[&str]| values.iter().map(|value| Some(value.to_string())).collect::<Vec<_>>();
    // The seed's empty fields are null, as PostgreSQL's COPY reads them;
    // its types are inferred as dbt infers them.
    assert_eq!(
        sorted(&format!(
            "select id, name, cast(joined as string), score from \"{schema}\".\"people\""
        )),
        vec![
            text(&["1", "Ann", "2024-01-01", "1.5"]),
            vec![Some("2".into()), None, Some("2024-01-02".into()), None],
            text(&["3", "O'Brien, Pat", "2024-02-01", "3.0"]),
        ]
    );
    assert_eq!(spark.count(schema, "people_view"), 3);
    assert_eq!(spark.count(schema, "people_table"), 2);
    // Append: the second run added ids 2 and 3 again (its filter keeps id > 1).
    assert_eq!(spark.count(schema, "appended"), 5);
    // Insert overwrite: the second run replaced February's partition with
    // the same row, and kept January's.
    assert_eq!(
        sorted(&format!(
            "select month, count(*) from \"{schema}\".\"overwritten\" group by month"
        )),
        vec![text(&["2024-01", "2"]), text(&["2024-02", "1"])]
    );
    // The failing rows of the test, stored in the schema `<target>_dbt_test__audit`.
    let audit = format!("{schema}_dbt_test__audit");
    assert_eq!(spark.count(&audit, "not_null_people_view_name"), 1);

    project.write(
        "models/merged.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id') }}\nselect 1 as id\n",
    );
    let (code, output) = dvt(path, &["run", "--select", "merged"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(
            "incremental strategy `merge` needs a table format that supports it, and `file_format` is `parquet`"
        ),
        "{output}"
    );
}

/// `dvt show`, `dvt docs generate` (the catalog from `show tables` and
/// `describe table`) and a query's error, mapped back to the model's line.
#[test]
fn show_catalog_and_errors() {
    let spark = SparkSchemas::new();
    let project = spark.project("shown");
    let path = project.path();
    project.write(
        "models/numbers.sql",
        "{{ config(materialized='table') }}\nselect id, cast(id * 1.5 as decimal(6,2)) as half\n\
         from (select 1 as id union all select 2 union all select 3) as ids\n",
    );
    let (code, output) = dvt(path, &["run"]);
    assert_eq!(code, 0, "{output}");
    let (code, output) = dvt(path, &["show", "--select", "numbers", "--limit", "2"]);
    assert_eq!(code, 0, "{output}");
    let shown = ["1.50", "3.00", "4.50"]
        .iter()
        .filter(|value| output.contains(*value))
        .count();
    assert_eq!(shown, 2, "two of the three rows:\n{output}");

    let (code, output) = dvt(path, &["docs", "generate"]);
    assert_eq!(code, 0, "{output}");
    let catalog = read_json(&path.join("target/catalog.json"));
    let numbers = &catalog["nodes"]["model.shown.numbers"];
    assert_eq!(numbers["columns"]["half"]["type"], "decimal(6,2)", "{numbers}");
    assert_eq!(numbers["metadata"]["type"], "BASE TABLE", "{numbers}");

    project.write(
        "models/broken.sql",
        "select id,\n    no_such_column\nfrom {{ ref('numbers') }}\n",
    );
    let (code, output) = dvt(path, &["run", "--select", "broken"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("UNRESOLVED_COLUMN"), "{output}");
    assert!(output.contains("models/broken.sql:2:5"), "{output}");
}

/// Ctrl-C interrupts the session's running operation on the server
/// (Spark Connect's `Interrupt`), and the table built before stays.
#[test]
fn ctrl_c_interrupts_the_running_query() {
    let spark = SparkSchemas::new();
    let project = spark.project("stopped");
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 'old' as version\n",
    );
    let (code, output) = dvt(project.path(), &["run"]);
    assert_eq!(code, 0, "{output}");
    // A trillion rows: hours on this server, unless interrupted. Its
    // pre-hook marks that the node has started, which is after dvt
    // listens for Ctrl-C.
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table', pre_hook='create table if not exists \"{{ this.schema }}\".\"slow_started\" as select 1 as id') }}\n\
         select 2 as id, cast(sum(hash(a.id, b.id)) as string) as version\n\
         from range(0, 1000000) as a cross join range(0, 1000000) as b\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dvt"));
    command::isolate(&mut command);
    command
        .args(["run", "--project-dir"])
        .arg(project.path())
        .arg("--profiles-dir")
        .arg(project.path());
    let mut dvt = background::Background::spawn(command);
    let started = std::time::Instant::now();
    let marker = format!("show tables in \"{}\" like 'slow_started'", spark.prefix);
    while spark.rows(&marker).is_empty() {
        if started.elapsed() > std::time::Duration::from_secs(60) || dvt.has_exited() {
            panic!("the model never started:\n{}", dvt.kill_hard());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // If the query has not reached the server yet, dvt interrupts again
    // until the node ends, so the operation is stopped whenever it starts.
    dvt.interrupt();
    let (code, stderr) = dvt.finish(std::time::Duration::from_secs(120));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("OPERATION_CANCELED"), "{stderr}");
    assert!(stderr.contains("Cancelled."), "{stderr}");
    assert_eq!(
        spark.rows(&format!("select id, version from \"{}\".\"slow\"", spark.prefix)),
        [[Some("1".to_string()), Some("old".to_string())]]
    );
}

/// The token is sent (the local server takes any) but never printed: not by
/// `dvt debug`, nor in what a run prints or writes.
#[test]
fn the_token_is_never_printed() {
    let secret = "dapi-s3cr3t-spark-token";
    let spark = SparkSchemas::new();
    let project = spark.project("tokened");
    let profile = format!(
        "tokened:\n  target: spark\n  outputs:\n{}",
        spark.target("      token: \"{{ env_var('DVT_TEST_SPARK_TOKEN') }}\"\n")
    );
    project.write("profiles.yml", &profile);
    project.write("models/one.sql", "select 1 as id\n");
    let mut printed = String::new();
    for args in [&["debug"][..], &["run"][..]] {
        let output = command::dvt_command()
            .args(args)
            .arg("--project-dir")
            .arg(project.path())
            .arg("--profiles-dir")
            .arg(project.path())
            .env("DVT_TEST_SPARK_TOKEN", secret)
            .timeout(std::time::Duration::from_secs(300))
            .output()
            .expect("run dvt");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "dvt {args:?}:\n{text}");
        printed.push_str(&text);
    }
    assert!(printed.contains("token: ****"), "{printed}");
    assert!(!printed.contains(secret), "{printed}");
    for file in walk(&project.path().join("target")) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "the token is in {}",
            file.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .flatten()
        .filter(|entry| !entry.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect()
}
