//! Integration tests of the adapters and the materializations, as one
//! matrix: each test is written once against `dyn Adapter` and runs as
//! `<name>::postgres`, against a real PostgreSQL, and `<name>::duckdb`, on
//! the embedded DuckDB. What only PostgreSQL has (roles and grants,
//! materialized views, `pg_sleep`) is tested there alone.
//!
//! On PostgreSQL each test creates its own database, named
//! `dvt_test_<random>`, through the admin connection in `DVT_TEST_PG_URL`
//! (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`), and
//! drops it when done, so the tests run in parallel. On DuckDB each test has
//! a database file in a temp directory of its own.
//!
//! The warehouse is read back through the adapter's own `query`, which
//! gives every value as text.

// The matrix needs the embedded DuckDB, which `--no-default-features` leaves out.
#![cfg(feature = "duckdb")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

use dvt::adapter::duckdb::{DuckDbAdapter, DuckDbConfig};
use dvt::adapter::{
    count_failures, load_seed, materialize, Adapter, AdapterError, ColumnInfo, Materialization, ModelBuild,
    OnSchemaChange, PostgresAdapter, PostgresConfig, Relation, RelationKind, SeedBuild, SeedColumn,
};

mod common;
#[path = "support/engine.rs"]
mod engine;
use engine::Engine;

use common::Server;

/// Adapter-test helpers on the shared server description.
trait AdapterServer {
    fn admin_options(&self) -> PgConnectOptions;
    async fn admin(&self, sql: &str);
    fn config(&self, database: &str, threads: u32) -> PostgresConfig;
}

impl AdapterServer for Server {
    fn admin_options(&self) -> PgConnectOptions {
        self.options(&self.admin_database)
    }

    async fn admin(&self, sql: &str) {
        let mut connection = self
            .admin_options()
            .connect()
            .await
            .unwrap_or_else(|error| panic!("admin connection: {error}"));
        sqlx::raw_sql(sql)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
    }

    fn config(&self, database: &str, threads: u32) -> PostgresConfig {
        let mut config = PostgresConfig::new(
            self.host.clone(),
            self.user.clone(),
            self.password.clone(),
            database,
            "analytics",
        );
        config.port = self.port;
        config.threads = threads;
        config
    }
}

/// Runs the async test function `name(engine: Engine)` on both adapters, as
/// `name::postgres` and `name::duckdb`, each on two runtime workers.
macro_rules! matrix {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Engine::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn duckdb() {
                super::$name(super::Engine::DuckDb).await;
            }
        }
    };
}

/// A database of one's own. On PostgreSQL it is dropped (with any roles
/// the test made) when the test ends, even when it panics; a DuckDB file
/// goes with its temp directory.
struct TestDatabase {
    server: Server,
    name: String,
    roles: Vec<String>,
    adapter: Arc<dyn Adapter>,
    /// The DuckDB file's folder; `None` on PostgreSQL.
    duckdb_dir: Option<tempfile::TempDir>,
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl TestDatabase {
    /// A PostgreSQL database.
    async fn new(threads: u32) -> Self {
        Self::on(Engine::Postgres, threads).await
    }

    async fn on(engine: Engine, threads: u32) -> Self {
        let server = Server::from_env();
        let name = format!("dvt_test_{}", random_suffix());
        if engine == Engine::DuckDb {
            let dir = tempfile::tempdir().expect("a temp dir");
            let mut config = DuckDbConfig::new(dir.path().join("test.duckdb"), "analytics");
            config.threads = threads;
            let adapter = DuckDbAdapter::open(config)
                .await
                .unwrap_or_else(|error| panic!("open DuckDB: {error}"));
            return Self {
                server,
                name,
                roles: Vec::new(),
                adapter: Arc::new(adapter),
                duckdb_dir: Some(dir),
            };
        }
        server.admin(&format!("create database \"{name}\"")).await;
        let adapter = PostgresAdapter::connect(server.config(&name, threads))
            .await
            .unwrap_or_else(|error| panic!("connect to `{name}`: {error}"));
        Self {
            server,
            name,
            roles: Vec::new(),
            adapter: Arc::new(adapter),
            duckdb_dir: None,
        }
    }

    async fn create_role(&mut self) -> String {
        let role = format!("dvt_test_role_{}", random_suffix());
        self.server.admin(&format!("create role \"{role}\"")).await;
        self.roles.push(role.clone());
        role
    }

    async fn execute(&self, sql: &str) {
        let mut connection = self.connection().await;
        connection
            .execute(sql)
            .await
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    }

    async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut connection = self.connection().await;
        connection
            .query(sql, None)
            .await
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
            .rows
    }

    async fn kind(&self, relation: &Relation) -> Option<RelationKind> {
        let mut connection = self.connection().await;
        connection
            .relation_kind(relation)
            .await
            .unwrap_or_else(|error| panic!("kind of {relation}: {error}"))
    }

    async fn columns(&self, relation: &Relation) -> Vec<ColumnInfo> {
        let mut connection = self.connection().await;
        connection
            .columns(relation)
            .await
            .unwrap_or_else(|error| panic!("columns of {relation}: {error}"))
    }

    async fn connection(&self) -> Box<dyn dvt::adapter::Connection> {
        self.adapter
            .connection()
            .await
            .unwrap_or_else(|error| panic!("connection: {error}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.duckdb_dir.is_some() {
            return;
        }
        let server = self.server.clone();
        let name = self.name.clone();
        let roles = self.roles.clone();
        // Drop cannot await, and the test's runtime may be shutting down,
        // so the cleanup gets a thread and a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                server
                    .admin(&format!("drop database if exists \"{name}\" with (force)"))
                    .await;
                for role in roles {
                    server.admin(&format!("drop role if exists \"{role}\"")).await;
                }
            });
        });
        let _joined = cleanup.join();
    }
}

fn relation(identifier: &str) -> Relation {
    Relation::new("analytics", identifier)
}

/// Expected rows, written as text the way PostgreSQL prints values.
fn table(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| row.iter().map(|value| value.map(str::to_string)).collect())
        .collect()
}

fn column_names(columns: &[ColumnInfo]) -> Vec<&str> {
    columns.iter().map(|column| column.name.as_str()).collect()
}

async fn build(adapter: &dyn Adapter, build: &ModelBuild<'_>) -> String {
    materialize(adapter, build)
        .await
        .unwrap_or_else(|error| panic!("build {}: {error}", build.relation))
        .message
}

fn csv(chunks: &[&str]) -> BoxStream<'static, Result<Vec<u8>, AdapterError>> {
    let chunks: Vec<Result<Vec<u8>, AdapterError>> = chunks.iter().map(|chunk| Ok(chunk.as_bytes().to_vec())).collect();
    stream::iter(chunks).boxed()
}

fn seed_build(identifier: &str, columns: &[(&str, &str)]) -> SeedBuild {
    SeedBuild {
        relation: relation(identifier),
        columns: columns
            .iter()
            .map(|(name, data_type)| SeedColumn {
                name: name.to_string(),
                data_type: data_type.to_string(),
            })
            .collect(),
        full_refresh: false,
        pre_hooks: Vec::new(),
        post_hooks: Vec::new(),
        grants: BTreeMap::new(),
        render_hooks: None,
    }
}

matrix!(view_replace_keeps_dependent_view);
async fn view_replace_keeps_dependent_view(engine: Engine) {
    let database = TestDatabase::on(engine, 2).await;
    let adapter = &*database.adapter;
    let base = relation("base");
    let dependent = relation("dependent");

    let first = ModelBuild::new(base.clone(), Materialization::View, "select 1 as id, 'a'::text as name");
    assert_eq!(build(adapter, &first).await, "CREATE VIEW");
    database
        .execute("create view analytics.dependent as select * from analytics.base")
        .await;

    let same_columns = ModelBuild::new(base.clone(), Materialization::View, "select 2 as id, 'b'::text as name");
    assert_eq!(build(adapter, &same_columns).await, "CREATE VIEW");
    assert_eq!(
        database.rows("select id, name from analytics.dependent").await,
        table(&[&[Some("2"), Some("b")]])
    );

    // On PostgreSQL a removed column cannot be replaced in place (SQLSTATE
    // 42P16): the view is dropped with its dependents and created again.
    // DuckDB binds views when they are read, so it replaces in place and
    // the dependent view stays.
    let fewer_columns = ModelBuild::new(base.clone(), Materialization::View, "select 3 as id;");
    assert_eq!(build(adapter, &fewer_columns).await, "CREATE VIEW");
    assert_eq!(
        database.kind(&dependent).await,
        engine.pick(None, Some(RelationKind::View))
    );
    assert_eq!(
        database.rows("select * from analytics.base").await,
        table(&[&[Some("3")]])
    );
}

matrix!(view_replaces_a_table_in_the_way);
async fn view_replaces_a_table_in_the_way(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    database.execute("create schema analytics").await;
    database.execute("create table analytics.in_the_way (x int)").await;
    let model = ModelBuild::new(relation("in_the_way"), Materialization::View, "select 'view' as x");
    build(&*database.adapter, &model).await;
    assert_eq!(database.kind(&relation("in_the_way")).await, Some(RelationKind::View));
}

matrix!(table_swap_is_atomic_for_concurrent_reader);
async fn table_swap_is_atomic_for_concurrent_reader(engine: Engine) {
    let database = TestDatabase::on(engine, 3).await;
    let adapter = Arc::clone(&database.adapter);
    let target = relation("big");
    let sql = "select g as id, md5(g::text) as digest from generate_series(1, 50000) as numbers(g)";
    let model = ModelBuild::new(target.clone(), Materialization::Table, sql);
    assert_eq!(build(&*adapter, &model).await, "SELECT 50000");

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let adapter = Arc::clone(&adapter);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut connection = adapter.connection().await?;
            let mut counts = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let result = connection.query("select count(*) from analytics.big", None).await?;
                counts.push(result.rows[0][0].clone());
            }
            Ok::<_, AdapterError>(counts)
        })
    };

    // A leftover from a crashed run must not get in the way.
    database
        .execute("create view analytics.big__dvt_tmp as select 1 as leftover")
        .await;
    for _ in 0..5 {
        assert_eq!(build(&*adapter, &model).await, "SELECT 50000");
    }
    stop.store(true, Ordering::Relaxed);
    let counts = reader
        .await
        .unwrap_or_else(|error| panic!("reader task: {error}"))
        .unwrap_or_else(|error| panic!("a read failed during the swaps: {error}"));

    assert!(counts.len() >= 5, "only {} reads", counts.len());
    assert!(
        counts.iter().all(|count| count.as_deref() == Some("50000")),
        "a reader saw a partial table: {counts:?}"
    );
    assert_eq!(database.kind(&relation("big__dvt_tmp")).await, None);
    assert_eq!(database.kind(&relation("big__dvt_backup")).await, None);
}

matrix!(table_failure_leaves_old_table_and_points_at_the_error);
async fn table_failure_leaves_old_table_and_points_at_the_error(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    let adapter = &*database.adapter;
    let target = relation("stable");
    let good = ModelBuild::new(
        target.clone(),
        Materialization::Table,
        "select g as id from generate_series(1, 3) as numbers(g)",
    );
    build(adapter, &good).await;

    let broken_sql = "select id,\n       missing_column\nfrom generate_series(1, 3) as numbers(id)";
    let broken = ModelBuild::new(target.clone(), Materialization::Table, broken_sql);
    let error = materialize(adapter, &broken)
        .await
        .err()
        .unwrap_or_else(|| panic!("a missing column must fail the build"));
    assert_eq!(error.sqlstate(), Some("42703"), "{error}");
    let database_error = error
        .database_error()
        .unwrap_or_else(|| panic!("no server error in {error:?}"));
    assert_eq!(database_error.position_in(broken_sql), Some((2, 8)));

    assert_eq!(
        database.rows("select count(*) from analytics.stable").await,
        table(&[&[Some("3")]])
    );
    assert_eq!(database.kind(&relation("stable__dvt_tmp")).await, None);
    assert_eq!(database.kind(&relation("stable__dvt_backup")).await, None);
}

/// Runs an incremental model with a composite unique key over three loads
/// and returns each run's message and the table afterwards.
async fn run_incremental(engine: Engine, strategy: &str) -> (Vec<String>, Vec<Vec<Option<String>>>, TestDatabase) {
    let database = TestDatabase::on(engine, 1).await;
    let adapter = &*database.adapter;
    database.execute("create schema analytics").await;
    database
        .execute("create table analytics.source (a int, b text, value int)")
        .await;
    let loads = [
        "insert into analytics.source values (1, 'x', 10), (1, 'y', 20)",
        "truncate analytics.source; insert into analytics.source values (1, 'x', 11), (2, 'x', 30)",
        "truncate analytics.source; insert into analytics.source values (2, 'x', 31), (3, 'z', 40)",
    ];
    let mut model = ModelBuild::new(
        relation("events"),
        Materialization::Incremental,
        "select a, b, value from analytics.source",
    );
    model.incremental_strategy = Some(strategy.to_string());
    model.unique_key = vec!["a".to_string(), "b".to_string()];
    let mut messages = Vec::new();
    for load in loads {
        database.execute(load).await;
        messages.push(build(adapter, &model).await);
    }
    let rows = database
        .rows("select a, b, value from analytics.events order by a, b, value")
        .await;
    (messages, rows, database)
}

matrix!(incremental_append_keeps_every_row);
async fn incremental_append_keeps_every_row(engine: Engine) {
    let (messages, rows, _database) = run_incremental(engine, "append").await;
    assert_eq!(messages, ["SELECT 2", "INSERT 0 2", "INSERT 0 2"]);
    assert_eq!(
        rows,
        table(&[
            &[Some("1"), Some("x"), Some("10")],
            &[Some("1"), Some("x"), Some("11")],
            &[Some("1"), Some("y"), Some("20")],
            &[Some("2"), Some("x"), Some("30")],
            &[Some("2"), Some("x"), Some("31")],
            &[Some("3"), Some("z"), Some("40")],
        ])
    );
}

matrix!(incremental_merge_upserts_on_composite_key);
async fn incremental_merge_upserts_on_composite_key(engine: Engine) {
    let (messages, rows, database) = run_incremental(engine, "merge").await;
    assert_eq!(messages, ["SELECT 2", "MERGE 2", "MERGE 2"]);
    assert_eq!(
        rows,
        table(&[
            &[Some("1"), Some("x"), Some("11")],
            &[Some("1"), Some("y"), Some("20")],
            &[Some("2"), Some("x"), Some("31")],
            &[Some("3"), Some("z"), Some("40")],
        ])
    );

    // A full refresh rebuilds from the current source alone.
    let mut model = ModelBuild::new(
        relation("events"),
        Materialization::Incremental,
        "select a, b, value from analytics.source",
    );
    model.incremental_strategy = Some("merge".to_string());
    model.unique_key = vec!["a".to_string(), "b".to_string()];
    model.full_refresh = true;
    assert_eq!(build(&*database.adapter, &model).await, "SELECT 2");
    assert_eq!(
        database
            .rows("select a, b, value from analytics.events order by a, b")
            .await,
        table(&[&[Some("2"), Some("x"), Some("31")], &[Some("3"), Some("z"), Some("40")],])
    );
}

matrix!(incremental_delete_insert_replaces_on_composite_key);
async fn incremental_delete_insert_replaces_on_composite_key(engine: Engine) {
    let (messages, rows, _database) = run_incremental(engine, "delete+insert").await;
    assert_eq!(messages, ["SELECT 2", "INSERT 0 2", "INSERT 0 2"]);
    assert_eq!(
        rows,
        table(&[
            &[Some("1"), Some("x"), Some("11")],
            &[Some("1"), Some("y"), Some("20")],
            &[Some("2"), Some("x"), Some("31")],
            &[Some("3"), Some("z"), Some("40")],
        ])
    );
}

matrix!(incremental_rejects_unknown_strategy);
async fn incremental_rejects_unknown_strategy(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    let mut model = ModelBuild::new(relation("t"), Materialization::Incremental, "select 1 as a");
    model.incremental_strategy = Some("insert_overwrite".to_string());
    let error = materialize(&*database.adapter, &model).await.err();
    assert!(
        matches!(&error, Some(AdapterError::UnsupportedStrategy { strategy }) if strategy == "insert_overwrite"),
        "{error:?}"
    );
}

/// Builds `changing` from one row, then runs it again with a column
/// removed (`name`), one retyped (`amount`: integer to numeric) and one
/// added (`flag`).
async fn run_schema_change(engine: Engine, mode: OnSchemaChange) -> (Result<String, AdapterError>, TestDatabase) {
    let database = TestDatabase::on(engine, 1).await;
    let mut model = ModelBuild::new(
        relation("changing"),
        Materialization::Incremental,
        "select 1 as id, 'a'::text as name, 10 as amount",
    );
    model.on_schema_change = mode;
    build(&*database.adapter, &model).await;
    model.sql = "select 2 as id, 20::numeric as amount, true as flag";
    let result = materialize(&*database.adapter, &model)
        .await
        .map(|response| response.message);
    (result, database)
}

const CHANGING_ROWS: &str = "select * from analytics.changing order by id";

matrix!(on_schema_change_ignore_loads_shared_columns);
async fn on_schema_change_ignore_loads_shared_columns(engine: Engine) {
    let (result, database) = run_schema_change(engine, OnSchemaChange::Ignore).await;
    assert_eq!(result.ok().as_deref(), Some("INSERT 0 1"));
    let columns = database.columns(&relation("changing")).await;
    assert_eq!(column_names(&columns), ["id", "name", "amount"]);
    assert_eq!(
        database.rows(CHANGING_ROWS).await,
        table(&[&[Some("1"), Some("a"), Some("10")], &[Some("2"), None, Some("20")],])
    );
}

matrix!(on_schema_change_fail_lists_the_changes);
async fn on_schema_change_fail_lists_the_changes(engine: Engine) {
    let (result, database) = run_schema_change(engine, OnSchemaChange::Fail).await;
    match result {
        Err(AdapterError::SchemaChanged {
            added,
            removed,
            changed,
            ..
        }) => {
            assert_eq!(added, ["flag"]);
            assert_eq!(removed, ["name"]);
            // Each as the warehouse spells it; DuckDB's bare `numeric` is
            // `decimal(18,3)`.
            let (old, new) = engine.pick(("integer", "numeric"), ("INTEGER", "DECIMAL(18,3)"));
            assert_eq!(changed, [("amount".to_string(), old.to_string(), new.to_string())]);
        }
        other => panic!("expected a schema change error, got {other:?}"),
    }
    assert_eq!(
        database.rows(CHANGING_ROWS).await,
        table(&[&[Some("1"), Some("a"), Some("10")]])
    );
}

matrix!(on_schema_change_append_new_columns_adds_them);
async fn on_schema_change_append_new_columns_adds_them(engine: Engine) {
    let (result, database) = run_schema_change(engine, OnSchemaChange::AppendNewColumns).await;
    assert_eq!(result.ok().as_deref(), Some("INSERT 0 1"));
    let columns = database.columns(&relation("changing")).await;
    assert_eq!(column_names(&columns), ["id", "name", "amount", "flag"]);
    assert_eq!(columns[2].data_type, engine.pick("integer", "INTEGER"));
    assert_eq!(
        database.rows(CHANGING_ROWS).await,
        table(&[
            &[Some("1"), Some("a"), Some("10"), None],
            &[Some("2"), None, Some("20"), Some(engine.pick("t", "true"))],
        ])
    );
}

matrix!(on_schema_change_sync_all_columns_adds_drops_and_retypes);
async fn on_schema_change_sync_all_columns_adds_drops_and_retypes(engine: Engine) {
    let (result, database) = run_schema_change(engine, OnSchemaChange::SyncAllColumns).await;
    assert_eq!(result.ok().as_deref(), Some("INSERT 0 1"));
    let columns = database.columns(&relation("changing")).await;
    assert_eq!(column_names(&columns), ["id", "amount", "flag"]);
    assert_eq!(columns[1].data_type, engine.pick("numeric", "DECIMAL(18,3)"));
    let (ten, twenty) = engine.pick(("10", "20"), ("10.000", "20.000"));
    assert_eq!(
        database.rows(CHANGING_ROWS).await,
        table(&[
            &[Some("1"), Some(ten), None],
            &[Some("2"), Some(twenty), Some(engine.pick("t", "true"))],
        ])
    );
}

#[tokio::test]
async fn materialized_view_creates_refreshes_and_rebuilds() {
    let database = TestDatabase::new(1).await;
    let adapter = &*database.adapter;
    database.execute("create schema analytics").await;
    database
        .execute("create table analytics.orders (id int); insert into analytics.orders values (1), (2)")
        .await;
    let target = relation("order_stats");
    let mut model = ModelBuild::new(
        target.clone(),
        Materialization::MaterializedView,
        "select count(*) as orders from analytics.orders",
    );
    assert_eq!(build(adapter, &model).await, "SELECT 1");
    assert_eq!(database.kind(&target).await, Some(RelationKind::MaterializedView));

    database.execute("insert into analytics.orders values (3)").await;
    assert_eq!(build(adapter, &model).await, "REFRESH MATERIALIZED VIEW");
    assert_eq!(
        database.rows("select * from analytics.order_stats").await,
        table(&[&[Some("3")]])
    );

    model.sql = "select count(*) as orders, max(id) as latest from analytics.orders";
    assert_eq!(build(adapter, &model).await, "SELECT 1");
    assert_eq!(
        database.rows("select orders, latest from analytics.order_stats").await,
        table(&[&[Some("3"), Some("3")]])
    );
    assert_eq!(database.kind(&relation("order_stats__dvt_tmp")).await, None);
    assert_eq!(database.kind(&relation("order_stats__dvt_backup")).await, None);

    model.full_refresh = true;
    assert_eq!(build(adapter, &model).await, "SELECT 1");
}

#[tokio::test]
async fn hooks_and_grants_share_the_build_transaction() {
    let mut database = TestDatabase::new(1).await;
    let role = database.create_role().await;
    let adapter = Arc::clone(&database.adapter);
    database.execute("create schema analytics").await;
    database.execute("create table analytics.audit (event text)").await;
    let target = relation("hooked");
    let mut model = ModelBuild::new(
        target.clone(),
        Materialization::Table,
        "select g as id from generate_series(1, 3) as numbers(g)",
    );
    model.pre_hooks = vec!["insert into analytics.audit values ('pre')".to_string()];
    model.post_hooks = vec!["insert into analytics.audit select 'post ' || count(*) from analytics.hooked".to_string()];
    model.grants = BTreeMap::from([("select".to_string(), vec![role.clone()])]);
    build(&*adapter, &model).await;

    assert_eq!(
        database.rows("select event from analytics.audit order by event").await,
        table(&[&[Some("post 3")], &[Some("pre")]])
    );
    let privilege = format!(
        "select has_table_privilege('{role}', 'analytics.hooked', 'select'), \
                has_table_privilege('{role}', 'analytics.hooked', 'insert')"
    );
    assert_eq!(database.rows(&privilege).await, table(&[&[Some("t"), Some("f")]]));

    // A failing post-hook undoes the whole build, pre-hook included.
    model.sql = "select g as id from generate_series(1, 10) as numbers(g)";
    model.post_hooks = vec!["select 1 / 0".to_string()];
    let error = materialize(&*adapter, &model).await.err();
    assert_eq!(error.as_ref().and_then(AdapterError::sqlstate), Some("22012"));
    assert_eq!(
        database.rows("select count(*) from analytics.hooked").await,
        table(&[&[Some("3")]])
    );
    assert_eq!(
        database.rows("select count(*) from analytics.audit").await,
        table(&[&[Some("2")]])
    );

    // Grants apply to views too.
    let view = ModelBuild {
        grants: BTreeMap::from([("select".to_string(), vec![role.clone()])]),
        ..ModelBuild::new(relation("granted_view"), Materialization::View, "select 1 as x")
    };
    build(&*adapter, &view).await;
    let view_privilege = format!("select has_table_privilege('{role}', 'analytics.granted_view', 'select')");
    assert_eq!(database.rows(&view_privilege).await, table(&[&[Some("t")]]));
}

matrix!(seed_reload_keeps_dependent_view);
async fn seed_reload_keeps_dependent_view(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    let adapter = &*database.adapter;
    let seed = seed_build("countries", &[("id", "integer"), ("name", "text")]);
    let response = load_seed(adapter, &seed, csv(&["id,name\n1,Fr", "ance\n2,\"Ita, ly\"\n"]))
        .await
        .unwrap_or_else(|error| panic!("first load: {error}"));
    assert_eq!(response.message, "INSERT 2");
    database
        .execute("create view analytics.country_count as select count(*) as n from analytics.countries")
        .await;

    let response = load_seed(adapter, &seed, csv(&["id,name\n1,France\n2,Italy\n3,\n"]))
        .await
        .unwrap_or_else(|error| panic!("reload: {error}"));
    assert_eq!(response.rows_affected, Some(3));
    assert_eq!(
        database.rows("select n from analytics.country_count").await,
        table(&[&[Some("3")]])
    );
    assert_eq!(
        database
            .rows("select id, name from analytics.countries order by id")
            .await,
        table(&[
            &[Some("1"), Some("France")],
            &[Some("2"), Some("Italy")],
            &[Some("3"), None],
        ])
    );

    // New columns: the table is dropped and created again. PostgreSQL
    // drops the view with it; DuckDB, which binds views when they are read,
    // keeps it.
    let renamed = seed_build("countries", &[("id", "integer"), ("label", "text")]);
    load_seed(adapter, &renamed, csv(&["id,label\n7,Spain\n"]))
        .await
        .unwrap_or_else(|error| panic!("reload with new columns: {error}"));
    assert_eq!(
        database.kind(&relation("country_count")).await,
        engine.pick(None, Some(RelationKind::View))
    );
    assert_eq!(
        database.rows("select id, label from analytics.countries").await,
        table(&[&[Some("7"), Some("Spain")]])
    );
}

matrix!(seed_copy_failure_leaves_old_table_intact);
async fn seed_copy_failure_leaves_old_table_intact(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    let adapter = &*database.adapter;
    let mut seed = seed_build("amounts", &[("id", "integer"), ("amount", "numeric(10,1)")]);
    load_seed(adapter, &seed, csv(&["id,amount\n1,1.5\n2,2.5\n"]))
        .await
        .unwrap_or_else(|error| panic!("first load: {error}"));
    let old_rows = table(&[&[Some("1"), Some("1.5")], &[Some("2"), Some("2.5")]]);
    let current = "select id, amount from analytics.amounts order by id";

    // Bad data: the server rejects the copy after the truncate.
    let error = load_seed(adapter, &seed, csv(&["id,amount\n3,3.5\nfour,4.5\n"]))
        .await
        .err();
    assert_eq!(error.as_ref().and_then(AdapterError::sqlstate), Some("22P02"));
    assert_eq!(database.rows(current).await, old_rows);

    // The same on a full refresh, after the drop and create.
    seed.full_refresh = true;
    let error = load_seed(adapter, &seed, csv(&["id,amount\nfive,5\n"])).await.err();
    assert_eq!(error.as_ref().and_then(AdapterError::sqlstate), Some("22P02"));
    assert_eq!(database.rows(current).await, old_rows);

    // The data source itself failing midway.
    let failing: BoxStream<'static, Result<Vec<u8>, AdapterError>> = stream::iter(vec![
        Ok(b"id,amount\n6,6\n".to_vec()),
        Err(AdapterError::SeedInput {
            relation: "analytics.amounts".to_string(),
            source: "disk on fire".into(),
        }),
    ])
    .boxed();
    let error = load_seed(adapter, &seed, failing).await.err();
    assert!(matches!(error, Some(AdapterError::SeedInput { .. })), "{error:?}");
    assert_eq!(database.rows(current).await, old_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_running_cancels_a_sleeping_query() {
    let database = TestDatabase::new(2).await;
    let adapter = Arc::clone(&database.adapter);
    let sleeper = {
        let adapter = Arc::clone(&adapter);
        tokio::spawn(async move {
            let mut connection = adapter.connection().await?;
            connection.execute("select pg_sleep(30)").await
        })
    };
    let started = Instant::now();
    let active = format!(
        "select count(*) from pg_stat_activity \
         where datname = '{}' and query = 'select pg_sleep(30)' and state = 'active'",
        database.name
    );
    while database.rows(&active).await != table(&[&[Some("1")]]) {
        assert!(started.elapsed() < Duration::from_secs(10), "sleep never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    adapter
        .cancel_running()
        .await
        .unwrap_or_else(|error| panic!("cancel: {error}"));
    let result = tokio::time::timeout(Duration::from_secs(10), sleeper)
        .await
        .unwrap_or_else(|_| panic!("the sleep was not cancelled"))
        .unwrap_or_else(|error| panic!("sleeper task: {error}"));
    let error = result.err();
    assert!(error.as_ref().is_some_and(AdapterError::is_cancelled), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

matrix!(parallel_builds_of_dependent_views_and_schemas_succeed);
async fn parallel_builds_of_dependent_views_and_schemas_succeed(engine: Engine) {
    let database = TestDatabase::on(engine, 4).await;
    let adapter: Arc<dyn Adapter> = database.adapter.clone();
    // A chain and a fan: every view depends on `view_0`, half on their
    // neighbour too, so replacements contend for the same catalog rows.
    let sql_of = |index: usize| {
        if index == 0 {
            "select 1 as id".to_string()
        } else if index % 2 == 0 {
            format!(
                "select v.id from analytics.view_0 as v join analytics.view_{} as w using (id)",
                index - 1
            )
        } else {
            "select id from analytics.view_0".to_string()
        }
    };
    for index in 0..16 {
        let sql = sql_of(index);
        let model = ModelBuild::new(relation(&format!("view_{index}")), Materialization::View, &sql);
        materialize(&*adapter, &model)
            .await
            .unwrap_or_else(|error| panic!("view_{index}: {error}"));
    }
    for _round in 0..3 {
        let mut tasks = Vec::new();
        for index in 0..16 {
            let view_adapter = Arc::clone(&adapter);
            let sql = sql_of(index);
            tasks.push(tokio::spawn(async move {
                let model = ModelBuild::new(
                    Relation::new("analytics", format!("view_{index}")),
                    Materialization::View,
                    &sql,
                );
                materialize(&*view_adapter, &model).await
            }));
            // Each new schema is raced for by several tasks.
            let schema_adapter = Arc::clone(&adapter);
            tasks.push(tokio::spawn(async move {
                let mut connection = schema_adapter.connection().await?;
                connection
                    .create_schema_if_missing(&format!("raced_{}", index % 3))
                    .await?;
                Ok(dvt::adapter::AdapterResponse::command("CREATE SCHEMA"))
            }));
        }
        for task in tasks {
            task.await
                .unwrap_or_else(|error| panic!("task: {error}"))
                .unwrap_or_else(|error| panic!("parallel build: {error}"));
        }
    }
    assert_eq!(
        database.rows("select count(*) from analytics.view_15").await,
        table(&[&[Some("1")]])
    );
    assert_eq!(
        database
            .rows("select count(*) from information_schema.schemata where schema_name like 'raced_%'")
            .await,
        table(&[&[Some("3")]])
    );
}

matrix!(query_returns_text_columns_and_honours_limit);
async fn query_returns_text_columns_and_honours_limit(engine: Engine) {
    let database = TestDatabase::on(engine, 1).await;
    let mut connection = database.connection().await;
    let result = connection
        .query(
            "select 1 as a, null::text as b, 2.50::numeric as c \
             union all select 2, 'y', 3 order by a;",
            Some(1),
        )
        .await
        .unwrap_or_else(|error| panic!("query: {error}"));
    assert_eq!(result.columns, ["a", "b", "c"]);
    assert_eq!(
        result.rows,
        table(&[&[Some("1"), None, Some(engine.pick("2.50", "2.500"))]])
    );

    let empty = connection
        .query("select 1 as only_column where false", None)
        .await
        .unwrap_or_else(|error| panic!("empty query: {error}"));
    assert_eq!(empty.columns, ["only_column"]);
    assert!(empty.rows.is_empty());
    // The pool holds one connection, which the data test needs.
    drop(connection);

    let failures = count_failures(&*database.adapter, "select * from generate_series(1, 4)")
        .await
        .unwrap_or_else(|error| panic!("test count: {error}"));
    assert_eq!(failures, 4);
}

#[tokio::test]
async fn password_never_appears_in_errors_or_debug() {
    let server = Server::from_env();
    let secret = format!("wrong-{}", random_suffix());
    let mut config = server.config(&server.admin_database, 1);
    config.password = secret.clone();
    let config_debug = format!("{config:?}");
    assert!(!config_debug.contains(&secret), "{config_debug}");

    let error = PostgresAdapter::connect(config)
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong password must not connect"));
    let mut rendered = format!("{error}\n{error:?}");
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        rendered.push_str(&format!("\n{inner}\n{inner:?}"));
        cause = inner.source();
    }
    assert!(!rendered.contains(&secret), "{rendered}");
    assert!(rendered.contains("could not connect to"), "{rendered}");

    // A role whose password is unique, so any echo of it would be found.
    let mut database = TestDatabase::new(1).await;
    let role = database.create_role().await;
    let role_secret = format!("secret-{}", random_suffix());
    server
        .admin(&format!("alter role \"{role}\" login password '{role_secret}'"))
        .await;
    let mut role_config = server.config(&database.name, 1);
    role_config.user = role;
    role_config.password = role_secret.clone();
    let adapter = PostgresAdapter::connect(role_config)
        .await
        .unwrap_or_else(|error| panic!("connect as the new role: {error}"));
    let mut connection = adapter
        .connection()
        .await
        .unwrap_or_else(|error| panic!("connection: {error}"));
    let error = connection
        .execute("select * from no_such_table")
        .await
        .err()
        .unwrap_or_else(|| panic!("a missing table must fail"));
    let adapter_debug = format!("{adapter:?}\n{error}\n{error:?}");
    assert!(!adapter_debug.contains(&role_secret), "{adapter_debug}");
    assert!(adapter_debug.contains("<redacted>"), "{adapter_debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocked_build_runs_again() {
    let database = TestDatabase::new(2).await;
    database.execute("create schema analytics").await;
    database
        .execute("create table analytics.lock_a (x int); create table analytics.lock_b (x int)")
        .await;
    // Two builds that take the same locks in opposite orders: the server
    // aborts one with `deadlock detected` (40P01), and dvt must run that
    // build's whole transaction again rather than fail it.
    let lock_in_order = |first: &str, second: &str| {
        format!(
            "lock table analytics.{first} in exclusive mode; \
             select pg_sleep(0.3); \
             lock table analytics.{second} in exclusive mode"
        )
    };
    let mut tasks = Vec::new();
    for (identifier, hook) in [
        ("first", lock_in_order("lock_a", "lock_b")),
        ("second", lock_in_order("lock_b", "lock_a")),
    ] {
        let adapter = Arc::clone(&database.adapter);
        tasks.push(tokio::spawn(async move {
            let mut model = ModelBuild::new(
                Relation::new("analytics", identifier),
                Materialization::Table,
                "select 1 as id",
            );
            model.pre_hooks = vec![hook];
            materialize(&*adapter, &model).await
        }));
    }
    for task in tasks {
        let response = task
            .await
            .unwrap_or_else(|error| panic!("task: {error}"))
            .unwrap_or_else(|error| panic!("a deadlocked build was not run again: {error}"));
        assert_eq!(response.message, "SELECT 1");
    }
}
