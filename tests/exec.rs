//! End-to-end tests of `dvt seed`, `run`, `test`, `build`, `show` and `retry`:
//! the real binary on a small project in a temp directory, against a real
//! PostgreSQL server and the embedded DuckDB.
//!
//! The tests of materializations, seeds and data tests are one matrix: each
//! is written once with [`matrix!`] and runs as `<name>::postgres` and
//! `<name>::duckdb`, so a behaviour added for one adapter is checked on the
//! other. What only one warehouse has (roles and grants, materialized views,
//! server-side cancel) is tested on that one alone.
//!
//! On PostgreSQL each test creates its own database, named
//! `dvt_exec_<random>`, through the admin connection in `DVT_TEST_PG_URL`
//! (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`), and drops
//! it (and any role it made) when done, even on panic, so the tests run in
//! parallel. On DuckDB the database is a file in the project's temp
//! directory.
//!
//! The warehouse is checked with the drivers directly (sqlx, the duckdb
//! crate), independent of dvt's own adapters, and the run with
//! `target/run_results.json`.

// The matrix needs the embedded DuckDB, which `--no-default-features` leaves out.
#![cfg(feature = "duckdb")]

#[path = "support/background.rs"]
mod background;
#[path = "support/command.rs"]
mod command;
#[path = "support/deps.rs"]
mod deps;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Row};

mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
use engine::Engine;
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
mod project;
#[path = "support/run_output.rs"]
mod run_output;
#[path = "support/tree.rs"]
mod tree;
use run_output::Output;

use background::Background;
use common::Server;
use profile::{duckdb_profile, postgres_profile, DUCKDB_FILE};
use project::random_suffix;

/// A project in a temp directory with a database of its own. On
/// PostgreSQL the database (and every role the test made) is dropped when
/// this is dropped, even when the test panics.
struct Project {
    dir: tempfile::TempDir,
    engine: Engine,
    server: Server,
    database: String,
    roles: Vec<String>,
    runtime: tokio::runtime::Runtime,
}

const PROJECT_YML: &str = "name: exec\nprofile: exec\n";

impl Project {
    /// A project on PostgreSQL.
    fn new() -> Self {
        Self::on(Engine::Postgres)
    }

    fn on(engine: Engine) -> Self {
        let server = Server::from_env();
        let database = format!("dvt_exec_{}", random_suffix());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let project = Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            engine,
            server,
            database,
            roles: Vec::new(),
            runtime,
        };
        project.write("project.yml", PROJECT_YML);
        match engine {
            Engine::Postgres => {
                project.admin(&format!("create database \"{}\"", project.database));
                project.write(
                    "profiles.yml",
                    &postgres_profile("exec", &project.server, &project.database, 4),
                );
            }
            Engine::DuckDb => project.write("profiles.yml", &duckdb_profile("exec", 4)),
        }
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        self.write_bytes(relative, contents.as_bytes());
    }

    fn write_bytes(&self, relative: &str, contents: &[u8]) {
        project::write(&self.path().join(relative), contents);
    }

    /// Arguments that every command needs.
    fn project_arguments(&self) -> Vec<String> {
        vec![
            "--project-dir".into(),
            self.path().display().to_string(),
            "--profiles-dir".into(),
            self.path().display().to_string(),
        ]
    }

    /// The environment of a dvt process: the password the profile reads, no
    /// colour, and none of the caller's dvt settings.
    fn environment(&self, command: &mut std::process::Command) {
        command::isolate(command);
        command
            .current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password);
    }

    /// Runs `dvt <command> --project-dir .. --profiles-dir .. <rest>`.
    fn dvt(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a dvt command");
        let mut dvt = command::dvt_command();
        dvt.current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password);
        let output = dvt
            .arg(command)
            .args(self.project_arguments())
            .args(rest)
            .timeout(Duration::from_secs(120))
            .output()
            .expect("dvt runs");
        Output::from(output)
    }

    /// Runs dvt and checks its exit code, printing everything when it differs.
    fn dvt_exits(&self, code: i32, args: &[&str]) -> Output {
        let output = self.dvt(args);
        assert_eq!(output.code, Some(code), "dvt {}: {output:?}", args.join(" "));
        output
    }

    fn connect(&self, database: &str) -> PgConnection {
        self.runtime
            .block_on(self.server.options(database).connect())
            .unwrap_or_else(|error| panic!("connect to `{database}`: {error}"))
    }

    fn admin(&self, sql: &str) {
        project::admin(&self.server, &self.runtime, sql).unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
    }

    /// Runs statements in the test database.
    fn execute(&self, sql: &str) {
        if self.engine == Engine::DuckDb {
            self.duckdb()
                .execute_batch(sql)
                .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
            return;
        }
        let mut connection = self.connect(&self.database);
        self.runtime
            .block_on(sqlx::raw_sql(sql).execute(&mut connection))
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    }

    /// The DuckDB file, opened for one check; it must be closed again
    /// before dvt runs, which locks the file.
    fn duckdb(&self) -> duckdb::Connection {
        let path = self.path().join(DUCKDB_FILE);
        duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()))
    }

    /// The rows of a query, every value as PostgreSQL prints it.
    fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        if self.engine == Engine::DuckDb {
            return duckdb_rows(&self.duckdb(), sql);
        }
        let mut connection = self.connect(&self.database);
        // A query without arguments goes by the simple protocol, which
        // returns every value as text.
        let rows = self
            .runtime
            .block_on(sqlx::Executor::fetch_all(&mut connection, sql))
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|index| {
                        let value = row.try_get_raw(index).expect("a column");
                        if sqlx::ValueRef::is_null(&value) {
                            None
                        } else {
                            Some(String::from_utf8_lossy(value.as_bytes().expect("text")).into_owned())
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// A one-value query.
    fn value(&self, sql: &str) -> Option<String> {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "`{sql}` returned {rows:?}");
        rows[0][0].clone()
    }

    /// `pg_class.relkind` of `schema.name`: `r` table, `v` view, `m`
    /// materialized view; `None` when there is no such relation.
    fn kind(&self, schema: &str, name: &str) -> Option<String> {
        if self.engine == Engine::DuckDb {
            let rows = self.rows(&format!(
                "select 'r' from duckdb_tables() where schema_name = '{schema}' and table_name = '{name}' \
                 union all select 'v' from duckdb_views() where schema_name = '{schema}' and view_name = '{name}'"
            ));
            return rows.first().and_then(|row| row[0].clone());
        }
        let rows = self.rows(&format!(
            "select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = '{schema}' and c.relname = '{name}'"
        ));
        rows.first().and_then(|row| row[0].clone())
    }

    /// Marks a table with a comment, which stays while the table is
    /// emptied and refilled and goes when it is dropped and created again.
    /// (DuckDB numbers tables anew each time it opens a file, so an oid
    /// would not tell.)
    fn mark_table(&self, schema: &str, name: &str) {
        self.execute(&format!("comment on table {schema}.{name} is 'marked'"));
    }

    /// Whether the table still has the comment of [`Self::mark_table`].
    fn is_marked(&self, schema: &str, name: &str) -> bool {
        let comment = match self.engine {
            Engine::Postgres => self.value(&format!(
                "select obj_description('{schema}.{name}'::regclass, 'pg_class')"
            )),
            Engine::DuckDb => self.value(&format!(
                "select comment from duckdb_tables() where schema_name = '{schema}' and table_name = '{name}'"
            )),
        };
        comment.as_deref() == Some("marked")
    }

    /// `(column, data type)` of a relation, in order, with the type in
    /// lower case as `information_schema` spells it.
    fn column_types(&self, schema: &str, name: &str) -> Vec<(String, String)> {
        self.rows(&format!(
            "select cast(column_name as varchar), lower(cast(data_type as varchar)) from information_schema.columns \
             where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
        ))
        .into_iter()
        .map(|row| (row[0].clone().unwrap_or_default(), row[1].clone().unwrap_or_default()))
        .collect()
    }

    fn create_role(&mut self) -> String {
        let role = format!("dvt_exec_role_{}", random_suffix());
        self.admin(&format!("create role \"{role}\""));
        self.roles.push(role.clone());
        role
    }

    fn run_results(&self) -> Value {
        let path = self.path().join("target/run_results.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
    }

    /// The status of every node in `run_results.json`, by name: the last
    /// part of a model's or seed's unique id, the name part of a test's.
    fn statuses(&self) -> BTreeMap<String, String> {
        results_by_name(&self.run_results())
            .into_iter()
            .map(|(name, result)| (name, result["status"].as_str().unwrap_or_default().to_string()))
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if self.engine == Engine::DuckDb {
            // The file goes with the temp directory.
            return;
        }
        // Never panic here: this may run while a failed test unwinds.
        let drop_everything = project::drop_database(&self.server, &self.runtime, &self.database).and_then(|()| {
            self.roles.iter().try_for_each(|role| {
                project::admin(&self.server, &self.runtime, &format!("drop role if exists \"{role}\""))
            })
        });
        if let Err(error) = drop_everything {
            eprintln!("could not drop test database `{}`: {error}", self.database);
        }
    }
}

/// The rows of a DuckDB query, every value as PostgreSQL would print it:
/// booleans as `t` and `f`, timestamps with a space and no trailing zeros.
fn duckdb_rows(connection: &duckdb::Connection, sql: &str) -> Vec<Vec<Option<String>>> {
    use duckdb::types::{TimeUnit, Value as DuckValue};
    let mut statement = connection
        .prepare(sql)
        .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    let mut rows = statement.query([]).unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    let count = rows.as_ref().map_or(0, |statement| statement.column_count());
    let mut result = Vec::new();
    while let Some(row) = rows.next().unwrap_or_else(|error| panic!("`{sql}`: {error}")) {
        let values = (0..count)
            .map(|index| {
                let value: DuckValue = row.get(index).unwrap_or_else(|error| panic!("`{sql}`: {error}"));
                let timestamp = |micros: i64| {
                    let text = chrono::DateTime::from_timestamp_micros(micros)
                        .expect("a timestamp in range")
                        .naive_utc()
                        .format("%Y-%m-%d %H:%M:%S%.6f")
                        .to_string();
                    text.trim_end_matches('0').trim_end_matches('.').to_string()
                };
                match value {
                    DuckValue::Null => None,
                    DuckValue::Boolean(flag) => Some(if flag { "t" } else { "f" }.to_string()),
                    DuckValue::TinyInt(number) => Some(number.to_string()),
                    DuckValue::SmallInt(number) => Some(number.to_string()),
                    DuckValue::Int(number) => Some(number.to_string()),
                    DuckValue::BigInt(number) => Some(number.to_string()),
                    DuckValue::HugeInt(number) => Some(number.to_string()),
                    DuckValue::UTinyInt(number) => Some(number.to_string()),
                    DuckValue::USmallInt(number) => Some(number.to_string()),
                    DuckValue::UInt(number) => Some(number.to_string()),
                    DuckValue::UBigInt(number) => Some(number.to_string()),
                    DuckValue::Float(number) => Some(number.to_string()),
                    DuckValue::Double(number) => Some(number.to_string()),
                    DuckValue::Decimal(number) => Some(number.to_string()),
                    DuckValue::Text(text) => Some(text),
                    DuckValue::Date32(days) => Some(
                        (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")
                            + chrono::Duration::days(i64::from(days)))
                        .to_string(),
                    ),
                    DuckValue::Timestamp(TimeUnit::Microsecond, micros) => Some(timestamp(micros)),
                    DuckValue::Timestamp(TimeUnit::Millisecond, millis) => Some(timestamp(millis * 1000)),
                    DuckValue::Timestamp(TimeUnit::Second, seconds) => Some(timestamp(seconds * 1_000_000)),
                    other => panic!("`{sql}`: cast {other:?} to varchar in the test's SQL"),
                }
            })
            .collect();
        result.push(values);
    }
    result
}

/// The entries of `run_results.json` by node name (see [`Project::statuses`]).
fn results_by_name(run_results: &Value) -> BTreeMap<String, Value> {
    run_results["results"]
        .as_array()
        .expect("run_results.json has results")
        .iter()
        .map(|result| {
            let unique_id = result["unique_id"].as_str().expect("a unique_id");
            let parts: Vec<&str> = unique_id.split('.').collect();
            let name = if parts.first() == Some(&"test") {
                parts[2]
            } else {
                parts[parts.len() - 1]
            };
            (name.to_string(), result.clone())
        })
        .collect()
}

/// Expected statuses, for comparing with [`Project::statuses`].
fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, status)| ((*name).to_string(), (*status).to_string()))
        .collect()
}

/// Expected rows, written as text the way PostgreSQL prints values.
fn table(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| row.iter().map(|value| value.map(str::to_string)).collect())
        .collect()
}

fn types(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, data_type)| ((*name).to_string(), (*data_type).to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// Seeds

matrix!(seed_infers_column_types_end_to_end);
fn seed_infers_column_types_end_to_end(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "seeds/kinds.csv",
        "id,postal_code,big,amount,flag,day,happened_at,happened_at_tz,note,nothing\n\
         1,02134,3000000000,1.5,true,2024-01-02,2024-01-02 03:04:05,2024-01-02 03:04:05+02,hello,\n\
         2,10001,7,-2,FALSE,2024-02-29,2024-02-29T23:59:59.5,2024-02-29 01:02:03Z,,\n",
    );
    let output = project.dvt_exits(0, &["seed"]);
    assert!(output.stderr.contains("INSERT 2"), "{output:?}");

    assert_eq!(
        project.column_types("analytics", "kinds"),
        types(&[
            ("id", "integer"),
            ("postal_code", engine.pick("text", "varchar")),
            ("big", "bigint"),
            // dbt-postgres and dbt-duckdb load a number with decimals as a
            // double (`convert_number_type`); DuckDB's bare `decimal` would
            // round to three places.
            ("amount", engine.pick("double precision", "double")),
            ("flag", "boolean"),
            ("day", "date"),
            ("happened_at", engine.pick("timestamp without time zone", "timestamp")),
            ("happened_at_tz", "timestamp with time zone"),
            ("note", engine.pick("text", "varchar")),
            // A column with no values is an integer, as dbt-core seeds it.
            ("nothing", "integer"),
        ])
    );
    let utc = engine.pick("set time zone 'UTC'; ", "");
    let offset = engine.pick("+00", "");
    assert_eq!(
        project.rows(&format!(
            "{utc}select id, postal_code, big, amount, flag, day, happened_at, happened_at_tz, note, nothing \
             from analytics.kinds order by id"
        )),
        table(&[
            &[
                Some("1"),
                Some("02134"),
                Some("3000000000"),
                Some("1.5"),
                Some("t"),
                Some("2024-01-02"),
                Some("2024-01-02 03:04:05"),
                Some(format!("2024-01-02 01:04:05{offset}").as_str()),
                Some("hello"),
                None,
            ],
            &[
                Some("2"),
                Some("10001"),
                Some("7"),
                Some("-2"),
                Some("f"),
                Some("2024-02-29"),
                Some("2024-02-29 23:59:59.5"),
                Some(format!("2024-02-29 01:02:03{offset}").as_str()),
                None,
                None,
            ],
        ])
    );
    let results = results_by_name(&project.run_results());
    assert_eq!(results["kinds"]["status"], "success");
    assert_eq!(results["kinds"]["adapter_response"]["rows_affected"], 2);
}

matrix!(seed_column_types_and_delimiter_come_from_config);
fn seed_column_types_and_delimiter_come_from_config(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "project.yml",
        &format!("{PROJECT_YML}seeds:\n  exec:\n    prices:\n      +column_types:\n        code: varchar(10)\n        price: numeric(6,2)\n"),
    );
    project.write(
        "seeds/_seeds.yml",
        "version: 2\nseeds:\n  - name: semicolons\n    config:\n      delimiter: \";\"\n  - name: shouting\n    config:\n      quote_columns: false\n",
    );
    project.write("seeds/prices.csv", "code,price\n007,1.5\nA1,20\n");
    project.write("seeds/shouting.csv", "CustomerID,Name\n1,x\n");
    project.write("seeds/semicolons.csv", "id;label\n1;a,b\n2;\"c;d\"\n");
    project.dvt_exits(0, &["seed"]);

    assert_eq!(
        project.rows(
            "select cast(column_name as varchar), lower(cast(data_type as varchar)), \
             cast(character_maximum_length as integer), cast(numeric_precision as integer), \
             cast(numeric_scale as integer) \
             from information_schema.columns where table_name = 'prices' order by ordinal_position"
        ),
        match engine {
            Engine::Postgres => table(&[
                &[Some("code"), Some("character varying"), Some("10"), None, None],
                &[Some("price"), Some("numeric"), None, Some("6"), Some("2")],
            ]),
            // DuckDB keeps no length for varchar.
            Engine::DuckDb => table(&[
                &[Some("code"), Some("varchar"), None, None, None],
                &[Some("price"), Some("decimal(6,2)"), None, Some("6"), Some("2")],
            ]),
        }
    );
    assert_eq!(
        project.rows("select code, price from analytics.prices order by code"),
        table(&[&[Some("007"), Some("1.50")], &[Some("A1"), Some("20.00")]])
    );
    // `quote_columns: false` leaves names as PostgreSQL folds unquoted ones.
    assert_eq!(
        project.column_types("analytics", "shouting"),
        types(&[("customerid", "integer"), ("name", engine.pick("text", "varchar"))])
    );
    assert_eq!(
        project.column_types("analytics", "semicolons"),
        types(&[("id", "integer"), ("label", engine.pick("text", "varchar"))])
    );
    assert_eq!(
        project.rows("select id, label from analytics.semicolons order by id"),
        table(&[&[Some("1"), Some("a,b")], &[Some("2"), Some("c;d")]])
    );

    // Reseeding keeps the table when the server spells an overridden type
    // differently (`varchar(10)` is `character varying(10)`).
    project.mark_table("analytics", "prices");
    project.dvt_exits(0, &["seed", "--select", "prices"]);
    assert!(project.is_marked("analytics", "prices"));

    // A value that changes an inferred type builds the table anew rather
    // than failing the copy into the old column type.
    project.write("seeds/semicolons.csv", "id;label\nA-1;a,b\nB-2;c\n");
    project.dvt_exits(0, &["seed", "--select", "semicolons"]);
    assert_eq!(
        project.column_types("analytics", "semicolons"),
        types(&[
            ("id", engine.pick("text", "varchar")),
            ("label", engine.pick("text", "varchar"))
        ])
    );
    project.write("seeds/semicolons.csv", "id;label\n1;a,b\n2;\"c;d\"\n");
    project.dvt_exits(0, &["seed", "--select", "semicolons"]);

    // The error points at the bad field, split by the seed's own delimiter
    // (it once split by commas whatever the delimiter, and pointed past
    // the end of the line).
    // It is found before dvt connects: exit code 2.
    project.write_bytes("seeds/semicolons.csv", b"id;label\n1;a,b\n2;caf\xe9\n");
    let output = project.dvt_exits(2, &["seed", "--select", "semicolons"]);
    assert!(output.stderr.contains("--> seeds/semicolons.csv:3:3\n"), "{output:?}");
    assert_eq!(
        project.rows("select id, label from analytics.semicolons order by id"),
        table(&[&[Some("1"), Some("a,b")], &[Some("2"), Some("c;d")]])
    );
}

matrix!(reseeding_keeps_dependent_views_and_full_refresh_recreates_the_table);
fn reseeding_keeps_dependent_views_and_full_refresh_recreates_the_table(engine: Engine) {
    let project = Project::on(engine);
    project.write("seeds/letters.csv", "id,letter\n1,a\n2,b\n");
    project.write(
        "models/upper_letters.sql",
        "select id, upper(letter) as letter from {{ ref('letters') }}",
    );
    project.dvt_exits(0, &["build"]);
    project.mark_table("analytics", "letters");

    project.write("seeds/letters.csv", "id,letter\n1,x\n2,y\n3,z\n");
    project.dvt_exits(0, &["seed"]);
    assert_eq!(project.kind("analytics", "upper_letters").as_deref(), Some("v"));
    assert_eq!(
        project.rows("select id, letter from analytics.upper_letters order by id"),
        table(&[
            &[Some("1"), Some("X")],
            &[Some("2"), Some("Y")],
            &[Some("3"), Some("Z")]
        ])
    );
    assert!(
        project.is_marked("analytics", "letters"),
        "a plain reseed empties and refills the same table"
    );

    // A full refresh builds the table anew, so a new override takes effect.
    project.write(
        "seeds/_seeds.yml",
        "version: 2\nseeds:\n  - name: letters\n    config:\n      column_types:\n        id: bigint\n",
    );
    project.dvt_exits(0, &["seed", "--full-refresh"]);
    assert!(
        !project.is_marked("analytics", "letters"),
        "--full-refresh recreates the table"
    );
    assert_eq!(
        project.column_types("analytics", "letters"),
        types(&[("id", "bigint"), ("letter", engine.pick("text", "varchar"))])
    );
    assert_eq!(
        project.value("select count(*) from analytics.letters").as_deref(),
        Some("3")
    );
}

matrix!(broken_seeds_name_file_and_line_and_leave_the_table_untouched);
fn broken_seeds_name_file_and_line_and_leave_the_table_untouched(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "seeds/_seeds.yml",
        "version: 2\nseeds:\n  - name: orders\n    config:\n      column_types:\n        quantity: integer\n",
    );
    project.write("seeds/orders.csv", "id,quantity,note\n1,5,first\n2,7,second\n");
    project.dvt_exits(0, &["seed"]);
    let good_rows = table(&[
        &[Some("1"), Some("5"), Some("first")],
        &[Some("2"), Some("7"), Some("second")],
    ]);

    let broken: [(&str, &[u8], &str); 3] = [
        (
            "a ragged row",
            b"id,quantity,note\n1,5,first\n2,7,second,extra\n",
            "row has 4 fields",
        ),
        (
            "bad UTF-8",
            b"id,quantity,note\n1,5,first\n2,7,caf\xe9\n",
            "not valid UTF-8",
        ),
        (
            "a bad value for the overridden type",
            b"id,quantity,note\n1,5,first\n2,seven,second\n",
            "`seven`",
        ),
    ];
    // Each is found by the first pass before dvt connects (issue 17): exit
    // code 2, and no node runs.
    for (case, csv, message) in broken {
        project.write_bytes("seeds/orders.csv", csv);
        let output = project.dvt_exits(2, &["seed"]);
        assert!(output.stderr.contains(message), "{case}: {output:?}");
        assert!(
            output.stderr.contains("seeds/orders.csv:3"),
            "{case} names file:line: {output:?}"
        );
        assert_eq!(
            project.rows("select id, quantity, note from analytics.orders order by id"),
            good_rows,
            "{case}: the table keeps its rows"
        );
        assert!(!output.stderr.contains("Running with dvt"), "{case}: {output:?}");
    }
}

// ---------------------------------------------------------------------------
// Tests

/// A model with one row that breaks most rules, for the test tests.
const PEOPLE_SQL: &str = "select * from (values \
    (1, 'ann', 'lee', 'red'), \
    (2, 'bob', 'ray', 'blue'), \
    (3, 'bob', 'ray', 'green'), \
    (4, null, 'kim', 'red') \
) as people(id, first_name, last_name, colour)";

matrix!(tests_pass_fail_and_warn);
fn tests_pass_fail_and_warn(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/people.sql", PEOPLE_SQL);
    project.write(
        "models/people.yml",
        "version: 2\nmodels:\n  - name: people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n      \
         - name: first_name\n        tests:\n          - not_null\n          - unique:\n              config:\n                \
         severity: warn\n",
    );
    project.dvt_exits(0, &["run"]);

    let output = project.dvt_exits(1, &["test"]);
    assert_eq!(
        project.statuses(),
        statuses(&[
            ("not_null_people_first_name", "fail"),
            ("not_null_people_id", "pass"),
            ("unique_people_first_name", "warn"),
            ("unique_people_id", "pass"),
        ])
    );
    let results = results_by_name(&project.run_results());
    assert_eq!(results["not_null_people_first_name"]["failures"], 1);
    assert_eq!(results["unique_people_first_name"]["failures"], 1);
    assert_eq!(results["unique_people_id"]["failures"], 0);
    assert!(
        output.stderr.contains("Got 1 result, configured to fail if != 0"),
        "{output:?}"
    );
    let compiled = "target/run/exec/models/people.yml/not_null_people_first_name.sql";
    assert!(
        output.stderr.contains(&format!("compiled code at {compiled}")),
        "{output:?}"
    );
    let sql = std::fs::read_to_string(project.path().join(compiled)).expect("the compiled test is written");
    assert!(sql.contains("first_name is null"), "{sql}");

    // A warning alone does not fail the command.
    let output = project.dvt_exits(0, &["test", "--select", "unique_people_first_name", "unique_people_id"]);
    assert!(output.stderr.contains("WARN 1"), "{output:?}");
    assert_eq!(
        project.statuses(),
        statuses(&[("unique_people_first_name", "warn"), ("unique_people_id", "pass")])
    );

    // As in dbt, --warn-error makes the warning fail.
    let output = project.dvt_exits(1, &["test", "--select", "unique_people_first_name", "--warn-error"]);
    assert!(output.stderr.contains("FAIL 1"), "{output:?}");
    assert_eq!(project.statuses(), statuses(&[("unique_people_first_name", "fail")]));
}

matrix!(test_thresholds_where_and_limit);
fn test_thresholds_where_and_limit(engine: Engine) {
    let project = Project::on(engine);
    // Ten rows, of which ids 1..=5 are "bad".
    project.write(
        "models/numbers.sql",
        "select id, id <= 5 as bad from generate_series(1, 10) as numbers(id)",
    );
    project.write(
        "macros/not_bad.sql",
        "{% test not_bad(model, column_name) %}\nselect * from {{ model }} where {{ column_name }}\n{% endtest %}\n",
    );
    let test = |name: &str, config: &str| {
        format!("          - not_bad:\n              name: {name}\n              config:\n{config}")
    };
    let tests = [
        // fail_calc is what the thresholds see: 1 + 2 + 3 + 4 + 5.
        test(
            "sums_ids",
            "                fail_calc: \"sum(id)\"\n                error_if: \">14\"\n",
        ),
        // A sum over no rows is null, which counts as no failure.
        test(
            "sums_nothing",
            "                fail_calc: \"sum(id)\"\n                where: \"id > 100\"\n",
        ),
        test(
            "warns_between",
            "                warn_if: \">1\"\n                error_if: \">10\"\n",
        ),
        test("errors_above", "                error_if: \">3\"\n"),
        test(
            "passes_below",
            "                warn_if: \">10\"\n                error_if: \">10\"\n",
        ),
        test("filtered_by_where", "                where: \"id > 3\"\n"),
        test("cut_by_limit", "                limit: 2\n"),
        test(
            "warns_by_severity",
            "                severity: warn\n                error_if: \">100\"\n",
        ),
    ];
    project.write(
        "models/numbers.yml",
        &format!(
            "version: 2\nmodels:\n  - name: numbers\n    columns:\n      - name: bad\n        tests:\n{}",
            tests.concat()
        ),
    );
    project.dvt_exits(0, &["run"]);
    project.dvt_exits(1, &["test"]);
    let results = results_by_name(&project.run_results());
    let outcome = |name: &str| {
        let result = results
            .get(name)
            .unwrap_or_else(|| panic!("no result for `{name}` in {results:?}"));
        (
            result["status"].as_str().unwrap_or_default().to_string(),
            result["failures"].as_u64(),
        )
    };
    assert_eq!(outcome("sums_ids"), ("fail".into(), Some(15)));
    assert_eq!(outcome("sums_nothing"), ("pass".into(), Some(0)));
    assert_eq!(outcome("warns_between"), ("warn".into(), Some(5)));
    assert_eq!(outcome("errors_above"), ("fail".into(), Some(5)));
    assert_eq!(outcome("passes_below"), ("pass".into(), Some(5)));
    assert_eq!(outcome("filtered_by_where"), ("fail".into(), Some(2)));
    assert_eq!(outcome("cut_by_limit"), ("fail".into(), Some(2)));
    assert_eq!(outcome("warns_by_severity"), ("warn".into(), Some(5)));
}

matrix!(store_failures_writes_the_failing_rows_to_the_audit_schema);
fn store_failures_writes_the_failing_rows_to_the_audit_schema(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/people.sql", PEOPLE_SQL);
    project.write(
        "models/people.yml",
        "version: 2\nmodels:\n  - name: people\n    columns:\n      - name: colour\n        tests:\n          \
         - accepted_values:\n              values: ['red', 'blue']\n              config:\n                \
         store_failures: true\n",
    );
    project.dvt_exits(0, &["run"]);
    let output = project.dvt_exits(1, &["test"]);
    let audit = "analytics_dbt_test__audit";
    let name = "accepted_values_people_colour__red__blue";
    assert!(
        output
            .stderr
            .contains(&format!("failing rows stored in \"{audit}\".\"{name}\"")),
        "{output:?}"
    );
    assert_eq!(project.kind(audit, name).as_deref(), Some("r"));
    assert_eq!(
        project.rows(&format!("select value_field, n_records from {audit}.{name}")),
        table(&[&[Some("green"), Some("1")]])
    );
}

matrix!(tests_on_seeds_sources_expressions_relationships_and_custom_tests);
fn tests_on_seeds_sources_expressions_relationships_and_custom_tests(engine: Engine) {
    let project = Project::on(engine);
    project.execute(
        "create schema raw; create table raw.events (id integer, kind text); \
         insert into raw.events values (1, 'click'), (2, null), (3, 'view')",
    );
    project.write("seeds/parents.csv", "id,name\n1,one\n2,two\n2,deux\n");
    project.write("models/people.sql", PEOPLE_SQL);
    project.write(
        "models/children.sql",
        "select * from (values (10, 1), (11, 2), (12, 9)) as children(id, parent_id)",
    );
    project.write(
        "macros/is_even.sql",
        "{% test is_even(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} % 2 <> 0\n{% endtest %}\n",
    );
    project.write(
        "tests/no_people_named_zed.sql",
        "select * from {{ ref('people') }} where first_name = 'zed'",
    );
    project.write(
        "tests/every_event_has_a_kind.sql",
        "select * from {{ source('raw', 'events') }} where kind is null",
    );
    project.write(
        "seeds/_seeds.yml",
        "version: 2\nseeds:\n  - name: parents\n    columns:\n      - name: id\n        tests: [unique, not_null]\n",
    );
    project.write(
        "models/schema.yml",
        r#"version: 2
sources:
  - name: raw
    tables:
      - name: events
        columns:
          - name: id
            tests: [unique]
          - name: kind
            tests: [not_null]
models:
  - name: people
    columns:
      - name: "first_name || '_' || last_name"
        tests: [unique]
      - name: id
        tests:
          - accepted_values:
              values: [1, 2, 3]
              quote: false
          - is_even
  - name: children
    columns:
      - name: parent_id
        tests:
          - relationships:
              to: ref('parents')
              field: id
"#,
    );
    project.dvt_exits(1, &["build"]);
    let statuses = project.statuses();
    let results = results_by_name(&project.run_results());
    // Matched by the parts of their names, as long as one test matches:
    // how a generated name spells a source or a boolean is not what this
    // test is about.
    let expect = |parts: &[&str], status: &str, failures: u64| {
        let matching: Vec<(&String, &Value)> = results
            .iter()
            .filter(|(name, _)| parts.iter().all(|part| name.contains(part)))
            .collect();
        let [(name, result)] = matching.as_slice() else {
            panic!("{} results named like {parts:?} in {statuses:?}", matching.len());
        };
        assert_eq!(result["status"], status, "`{name}`: {result}");
        assert_eq!(result["failures"], failures, "`{name}`: {result}");
    };
    assert_eq!(results.len(), 13, "3 nodes and 10 tests: {statuses:?}");
    // On a seed.
    expect(&["unique_parents_id"], "fail", 1);
    expect(&["not_null_parents_id"], "pass", 0);
    // On a source.
    expect(&["unique", "raw_events_id"], "pass", 0);
    expect(&["not_null", "raw_events_kind"], "fail", 1);
    // On a column expression: bob ray appears twice.
    expect(&["unique_people_first_name"], "fail", 1);
    // accepted_values with unquoted numbers: 4 is not accepted.
    expect(&["accepted_values_people_id"], "fail", 1);
    // A custom generic test from `{% test %}`: 1 and 3 are odd.
    expect(&["is_even_people_id"], "fail", 2);
    // relationships: parent 9 does not exist.
    expect(&["relationships_children_parent_id__id__ref_parents_"], "fail", 1);
    // Singular tests.
    expect(&["no_people_named_zed"], "pass", 0);
    expect(&["every_event_has_a_kind"], "fail", 1);
    let quoted = std::fs::read_dir(project.path().join("target/run/exec/models/schema.yml"))
        .expect("compiled tests")
        .filter_map(Result::ok)
        .find(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("accepted_values_people_id")
        })
        .map(|entry| std::fs::read_to_string(entry.path()).expect("readable"))
        .expect("the compiled accepted_values test");
    assert!(
        quoted.contains("(1, 2, 3)"),
        "quote: false leaves numbers bare: {quoted}"
    );
}

// ---------------------------------------------------------------------------
// Scheduling and exit codes

matrix!(a_failing_model_skips_only_its_descendants);
fn a_failing_model_skips_only_its_descendants(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/broken.sql", "select * from no_such_table");
    project.write("models/broken_child.sql", "select * from {{ ref('broken') }}");
    project.write(
        "models/broken_grandchild.sql",
        "select * from {{ ref('broken_child') }}",
    );
    project.write(
        "models/healthy.sql",
        "{{ config(materialized='table') }}\nselect 1 as id",
    );
    project.write(
        "models/healthy_child.sql",
        "select id + 1 as id from {{ ref('healthy') }}",
    );
    let output = project.dvt_exits(1, &["run"]);
    assert_eq!(
        project.statuses(),
        statuses(&[
            ("broken", "error"),
            ("broken_child", "skipped"),
            ("broken_grandchild", "skipped"),
            ("healthy", "success"),
            ("healthy_child", "success"),
        ])
    );
    assert!(output.stderr.contains("no_such_table"), "{output:?}");
    let results = results_by_name(&project.run_results());
    let skip_message = results["broken_grandchild"]["message"].as_str().unwrap_or_default();
    assert!(skip_message.contains("model.exec.broken"), "{skip_message}");
    assert_eq!(
        project.value("select id from analytics.healthy_child").as_deref(),
        Some("2")
    );
    assert_eq!(project.kind("analytics", "broken_child"), None);
}

matrix!(fail_fast_stops_the_remaining_nodes);
fn fail_fast_stops_the_remaining_nodes(engine: Engine) {
    let project = Project::on(engine);
    // With one thread, nodes start in order of name among equals.
    project.write("models/a_broken.sql", "select * from no_such_table");
    project.write("models/z_independent.sql", "select 1 as id");
    let output = project.dvt_exits(1, &["run", "--threads", "1", "--fail-fast"]);
    assert!(output.stderr.contains("--fail-fast"), "{output:?}");
    assert_eq!(
        project.statuses(),
        statuses(&[("a_broken", "error"), ("z_independent", "skipped")])
    );
    assert_eq!(project.kind("analytics", "z_independent"), None);
}

matrix!(build_skips_the_children_of_a_model_whose_test_fails);
fn build_skips_the_children_of_a_model_whose_test_fails(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/tested.sql", "select * from (values (1), (null)) as t(id)");
    project.write("models/tested_child.sql", "select * from {{ ref('tested') }}");
    project.write("models/unrelated.sql", "select 1 as id");
    project.write("models/warned.sql", "select * from (values (1), (1)) as t(id)");
    project.write("models/warned_child.sql", "select * from {{ ref('warned') }}");
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: tested\n    columns:\n      - name: id\n        tests: [not_null]\n  \
         - name: warned\n    columns:\n      - name: id\n        tests:\n          - unique:\n              \
         config:\n                severity: warn\n",
    );
    project.dvt_exits(1, &["build"]);
    assert_eq!(
        project.statuses(),
        statuses(&[
            ("not_null_tested_id", "fail"),
            ("tested", "success"),
            ("tested_child", "skipped"),
            ("unique_warned_id", "warn"),
            ("unrelated", "success"),
            ("warned", "success"),
            ("warned_child", "success"),
        ])
    );
    assert_eq!(project.kind("analytics", "tested_child"), None);
    assert_eq!(project.kind("analytics", "warned_child").as_deref(), Some("v"));

    // A retry runs the test and the child, and the child still waits for
    // the test, though the tested model is not run again (it once built
    // the child next to the failing test).
    project.dvt_exits(1, &["retry"]);
    assert_eq!(
        project.statuses(),
        statuses(&[("not_null_tested_id", "fail"), ("tested_child", "skipped")])
    );
    assert_eq!(project.kind("analytics", "tested_child"), None);
}

matrix!(a_project_error_exits_with_code_two);
fn a_project_error_exits_with_code_two(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/orphan.sql", "select * from {{ ref('missing_model') }}");
    let output = project.dvt_exits(2, &["run"]);
    assert!(output.stderr.contains("missing_model"), "{output:?}");
    assert!(output.stderr.contains("models/orphan.sql"), "{output:?}");
    assert!(!project.path().join("target/run_results.json").exists());
}

// ---------------------------------------------------------------------------
// Retry

matrix!(retry_reruns_only_what_failed_or_was_skipped);
fn retry_reruns_only_what_failed_or_was_skipped(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/broken.sql", "select * from no_such_table");
    project.write(
        "models/broken_child.sql",
        "select id * {{ var('factor') }} as id from {{ ref('broken') }}",
    );
    project.write("models/healthy.sql", "select 1 as id");
    project.dvt_exits(1, &["run", "--vars", "{factor: 10}"]);
    assert_eq!(
        project.statuses(),
        statuses(&[("broken", "error"), ("broken_child", "skipped"), ("healthy", "success")])
    );

    // The retry renders with the vars of the last run (it once forgot them,
    // and every var() without a default failed).
    project.write("models/broken.sql", "select 4 as id");
    let output = project.dvt_exits(0, &["retry"]);
    assert!(output.stderr.contains("2 nodes"), "{output:?}");
    assert_eq!(
        project.statuses(),
        statuses(&[("broken", "success"), ("broken_child", "success")])
    );
    assert_eq!(
        project.value("select id from analytics.broken_child").as_deref(),
        Some("40")
    );
    assert_eq!(project.run_results()["args"]["which"], "run");

    let output = project.dvt_exits(0, &["retry"]);
    assert!(output.stderr.contains("Nothing to retry"), "{output:?}");
}

// ---------------------------------------------------------------------------
// Cancellation

/// Starts `dvt <args>` on `project` in the background.
fn background(project: &Project, args: &[&str]) -> Background {
    let (command, rest) = args.split_first().expect("a dvt command");
    let mut dvt = std::process::Command::new(env!("CARGO_BIN_EXE_dvt"));
    project.environment(&mut dvt);
    dvt.arg(command).args(project.project_arguments()).args(rest);
    Background::spawn(dvt)
}

/// How many statements of the test database's other sessions are running
/// a query that contains `text`.
fn running_queries(project: &Project, text: &str) -> String {
    project
        .value(&format!(
            "select count(*)::text from pg_stat_activity where datname = '{}' and state = 'active' \
             and pid <> pg_backend_pid() and strpos(query, '{}') > 0",
            project.database,
            text.replace('\'', "''")
        ))
        .unwrap_or_default()
}

/// Waits until the server runs a statement containing `text`.
fn wait_for_query(project: &Project, dvt: &mut Background, text: &str) {
    let started = Instant::now();
    while running_queries(project, text) == "0" {
        if started.elapsed() > Duration::from_secs(30) || dvt.has_exited() {
            panic!("`{text}` never showed in pg_stat_activity:\n{}", dvt.kill_hard());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_cancels_the_running_query_and_keeps_the_previous_table() {
    let project = Project::new();
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 'old' as version",
    );
    project.dvt_exits(0, &["run"]);

    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 2 as id, 'new' as version from (select pg_sleep(30)) as sleeping",
    );
    let mut dvt = background(&project, &["run"]);
    wait_for_query(&project, &mut dvt, "pg_sleep(30)");
    dvt.interrupt();
    let (code, stderr) = dvt.finish(Duration::from_secs(15));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Cancelling"), "{stderr}");
    assert!(stderr.contains("Cancelled."), "{stderr}");

    // The cancel went through before dvt exited, but the backend may take
    // a moment to notice.
    let started = Instant::now();
    while running_queries(&project, "pg_sleep(30)") != "0" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sleep is still running on the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_cancelled_and_intact(
        &project,
        "select relname::text from pg_class where relname like '%\\_\\_dvt\\_%'",
    );
}

/// After a cancelled build of `slow`: the previous table is there whole,
/// `leftovers` (a query for temporary or backup relations) finds nothing,
/// and the run results say the model was cancelled.
fn assert_cancelled_and_intact(project: &Project, leftovers: &str) {
    assert_eq!(
        project.rows("select id, version from analytics.slow"),
        table(&[&[Some("1"), Some("old")]])
    );
    assert_eq!(
        project.rows(leftovers),
        Vec::<Vec<Option<String>>>::new(),
        "no temporary or backup relation is left"
    );
    let results = results_by_name(&project.run_results());
    assert_eq!(results["slow"]["status"], "error");
    assert!(
        results["slow"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("cancelled"),
        "{}",
        results["slow"]
    );
}

#[test]
fn ctrl_c_interrupts_the_running_duckdb_query_and_keeps_the_previous_table() {
    let project = Project::on(Engine::DuckDb);
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 'old' as version",
    );
    project.dvt_exits(0, &["run"]);

    // The pre-hook writes a file when the build starts; then the query
    // filters a hundred billion rows, far longer than the test waits. (A
    // bare count of a range DuckDB answers at once, from its cardinality.)
    let marker = project.path().join("started.csv");
    project.write(
        "models/slow.sql",
        &format!(
            "{{{{ config(materialized='table', pre_hook=\"copy (select 1 as started) to '{}'\") }}}}\n\
             select 2 as id, 'new' as version from (select count(*) from range(100000000000) as numbers(i) where i % 7 = 3) as spinning",
            marker.display()
        ),
    );
    let mut dvt = background(&project, &["run"]);
    let started = Instant::now();
    while !marker.exists() {
        if started.elapsed() > Duration::from_secs(30) || dvt.has_exited() {
            panic!("the slow model never started:\n{}", dvt.kill_hard());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    dvt.interrupt();
    let (code, stderr) = dvt.finish(Duration::from_secs(15));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Cancelled."), "{stderr}");
    assert_cancelled_and_intact(
        &project,
        "select table_name from duckdb_tables() where table_name like '%dvt_%'",
    );
}

/// The first Ctrl-C promised "press Ctrl-C again to force", but the second
/// was swallowed, and dvt waited for a query that ignored the cancel.
#[test]
fn a_second_ctrl_c_forces_the_exit() {
    let project = Project::new();
    // A hook that shrugs off every cancel and goes on sleeping (dvt
    // cancels again until the node ends).
    project.write(
        "models/stubborn.sql",
        "{{ config(materialized='table', pre_hook=\"do $$ begin loop begin perform pg_sleep(30); \
         exception when query_canceled then null; end; end loop; end $$\") }}\nselect 1 as id",
    );
    let mut dvt = background(&project, &["run"]);
    wait_for_query(&project, &mut dvt, "pg_sleep(30)");
    dvt.interrupt();
    dvt.wait_for_line("Cancelling", Duration::from_secs(15));
    dvt.interrupt();
    let (code, stderr) = dvt.finish(Duration::from_secs(15));
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("Stopping now"), "{stderr}");
    assert_eq!(project.kind("analytics", "stubborn"), None);
}

// ---------------------------------------------------------------------------
// Materializations

matrix!(incremental_merge_over_two_runs);
fn incremental_merge_over_two_runs(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "models/customers.sql",
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\n\
         select * from (values\n\
         {% if var('batch') == 1 %}(1, 'ann', 10), (2, 'bob', 20)\n\
         {% else %}(2, 'bobby', 25), (3, 'cy', 30){% endif %}\n\
         ) as customers(id, name, score)",
    );
    project.dvt_exits(0, &["run", "--vars", "{batch: 1}"]);
    let output = project.dvt_exits(0, &["run", "--vars", "{batch: 2}"]);
    assert!(output.stderr.contains("MERGE 2"), "{output:?}");
    assert_eq!(
        project.rows("select id, name, score from analytics.customers order by id"),
        table(&[
            &[Some("1"), Some("ann"), Some("10")],
            &[Some("2"), Some("bobby"), Some("25")],
            &[Some("3"), Some("cy"), Some("30")],
        ])
    );
    let results = results_by_name(&project.run_results());
    assert_eq!(results["customers"]["adapter_response"]["rows_affected"], 2);
}

matrix!(is_incremental_holds_on_later_runs_until_a_full_refresh);
fn is_incremental_holds_on_later_runs_until_a_full_refresh(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "models/batches.sql",
        "{{ config(materialized='incremental') }}\n\
         select {{ var('batch') }} as batch, \
         {% if is_incremental() %}'incremental'{% else %}'full'{% endif %} as mode\n\
         {% if is_incremental() %}where {{ var('batch') }} > (select max(batch) from {{ this }}){% endif %}",
    );
    project.dvt_exits(0, &["run", "--vars", "{batch: 1}"]);
    project.dvt_exits(0, &["run", "--vars", "{batch: 2}"]);
    // The filter on `this` keeps an old batch out.
    project.dvt_exits(0, &["run", "--vars", "{batch: 1}"]);
    assert_eq!(
        project.rows("select batch, mode from analytics.batches order by batch"),
        table(&[&[Some("1"), Some("full")], &[Some("2"), Some("incremental")]])
    );
    project.dvt_exits(0, &["run", "--vars", "{batch: 3}", "--full-refresh"]);
    assert_eq!(
        project.rows("select batch, mode from analytics.batches order by batch"),
        table(&[&[Some("3"), Some("full")]])
    );
}

matrix!(on_schema_change_fail_stops_with_a_clear_message);
fn on_schema_change_fail_stops_with_a_clear_message(engine: Engine) {
    let project = Project::on(engine);
    let model = |columns: &str| {
        format!("{{{{ config(materialized='incremental', on_schema_change='fail') }}}}\nselect {columns}")
    };
    project.write("models/events.sql", &model("1 as id"));
    project.dvt_exits(0, &["run"]);
    project.write("models/events.sql", &model("2 as id, 'extra' as added_column"));
    let output = project.dvt_exits(1, &["run"]);
    assert!(output.stderr.contains("added_column"), "{output:?}");
    assert!(output.stderr.contains("on_schema_change"), "{output:?}");
    assert_eq!(project.column_types("analytics", "events"), types(&[("id", "integer")]));
    assert_eq!(project.rows("select id from analytics.events"), table(&[&[Some("1")]]));
}

matrix!(ephemeral_models_are_inlined_not_created);
fn ephemeral_models_are_inlined_not_created(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "models/doubled.sql",
        "{{ config(materialized='ephemeral') }}\nselect n * 2 as n from generate_series(1, 3) as numbers(n)",
    );
    project.write("models/summed.sql", "select sum(n) as total from {{ ref('doubled') }}");
    project.dvt_exits(0, &["run"]);
    assert_eq!(project.kind("analytics", "doubled"), None);
    assert_eq!(
        project
            .value("select cast(total as varchar) from analytics.summed")
            .as_deref(),
        Some("12")
    );
    assert_eq!(project.statuses(), statuses(&[("summed", "success")]));
    let definition = project
        .value(engine.pick(
            "select pg_get_viewdef('analytics.summed'::regclass)",
            "select sql from duckdb_views() where view_name = 'summed'",
        ))
        .unwrap_or_default();
    assert!(!definition.contains("doubled\""), "{definition}");
}

#[test]
fn materialized_views_are_created_and_rebuilt() {
    let project = Project::new();
    project.write(
        "models/totals.sql",
        "{{ config(materialized='materialized_view') }}\nselect {{ var('total') }} as total",
    );
    project.dvt_exits(0, &["run", "--vars", "{total: 5}"]);
    assert_eq!(project.kind("analytics", "totals").as_deref(), Some("m"));
    assert_eq!(
        project.value("select total::text from analytics.totals").as_deref(),
        Some("5")
    );
    let output = project.dvt_exits(0, &["run", "--vars", "{total: 5}"]);
    assert!(output.stderr.contains("REFRESH MATERIALIZED VIEW"), "{output:?}");
    project.dvt_exits(0, &["run", "--vars", "{total: 7}"]);
    assert_eq!(project.kind("analytics", "totals").as_deref(), Some("m"));
    assert_eq!(
        project.value("select total::text from analytics.totals").as_deref(),
        Some("7")
    );
}

matrix!(model_and_project_hooks_run_in_order);
fn model_and_project_hooks_run_in_order(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "project.yml",
        &format!(
            "{PROJECT_YML}on-run-start:\n  - \"create schema if not exists audit\"\n  \
             - \"create sequence if not exists audit.positions\"\n  \
             - \"create table if not exists audit.events \
             (position integer default nextval('audit.positions'), event text)\"\n\
             on-run-end:\n  - \"insert into audit.events (event) values ('end')\"\n"
        ),
    );
    project.write(
        "models/hooked.sql",
        "{{ config(materialized='table',\n\
         pre_hook=\"insert into audit.events (event) values ('pre {{ this }}')\",\n\
         post_hook=\"insert into audit.events (event) select 'post ' || count(*) from {{ this }}\") }}\n\
         select n from generate_series(1, 3) as numbers(n)",
    );
    project.dvt_exits(0, &["run"]);
    // `this` renders as in dbt: database, schema and identifier.
    let database = project.value("select current_database()").unwrap_or_default();
    let pre = format!("pre \"{database}\".\"analytics\".\"hooked\"");
    assert_eq!(
        project.rows("select event from audit.events order by position"),
        table(&[&[Some(pre.as_str())], &[Some("post 3")], &[Some("end")]])
    );
}

#[test]
fn grants_are_applied_to_the_configured_role() {
    let mut project = Project::new();
    let role = project.create_role();
    project.write(
        "models/granted_table.sql",
        &format!("{{{{ config(materialized='table', grants={{'select': ['{role}']}}) }}}}\nselect 1 as id"),
    );
    project.write(
        "models/granted_view.sql",
        &format!("{{{{ config(grants={{'select': ['{role}']}}) }}}}\nselect 1 as id"),
    );
    project.write("models/private.sql", "select 1 as id");
    project.dvt_exits(0, &["run"]);
    let privilege = |name: &str| {
        project.value(&format!(
            "select has_table_privilege('{role}', 'analytics.{name}', 'select')::text"
        ))
    };
    assert_eq!(privilege("granted_table").as_deref(), Some("true"));
    assert_eq!(privilege("granted_view").as_deref(), Some("true"));
    assert_eq!(privilege("private").as_deref(), Some("false"));
    // A rebuilt table gets the grant again.
    project.dvt_exits(0, &["run", "--select", "granted_table"]);
    assert_eq!(privilege("granted_table").as_deref(), Some("true"));
}

// ---------------------------------------------------------------------------
// show

matrix!(show_prints_the_first_rows_of_a_model_or_inline_sql);
fn show_prints_the_first_rows_of_a_model_or_inline_sql(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "models/fruits.sql",
        "select * from (values (1, 'apple'), (2, 'banana'), (3, 'cherry')) as fruits(id, name) order by id",
    );
    project.dvt_exits(0, &["run"]);

    let output = project.dvt_exits(0, &["show", "--select", "fruits", "--limit", "2"]);
    let lines: Vec<&str> = output.stdout.lines().filter(|line| line.starts_with('|')).collect();
    assert_eq!(lines.len(), 4, "a header, a rule and two rows: {output:?}");
    assert!(lines[0].contains("id") && lines[0].contains("name"), "{output:?}");
    assert!(lines[2].contains("apple") && lines[3].contains("banana"), "{output:?}");
    assert!(!output.stdout.contains("cherry"), "{output:?}");

    let output = project.dvt_exits(
        0,
        &["show", "--inline", "select name from {{ ref('fruits') }} where id = 3"],
    );
    assert!(output.stdout.contains("cherry"), "{output:?}");
    assert!(!output.stdout.contains("apple"), "{output:?}");
}

// ---------------------------------------------------------------------------
// Artifacts and logs

matrix!(run_results_record_every_node);
fn run_results_record_every_node(engine: Engine) {
    let project = Project::on(engine);
    project.write("seeds/codes.csv", "code\n1\n2\n3\n");
    project.write(
        "models/code_table.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('codes') }}",
    );
    project.write("models/broken.sql", "select * from no_such_table");
    project.write("models/broken_child.sql", "select * from {{ ref('broken') }}");
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: code_table\n    columns:\n      - name: code\n        tests:\n          \
         - accepted_values:\n              values: [1, 2]\n              quote: false\n",
    );
    project.dvt_exits(1, &["build"]);
    let run_results = project.run_results();
    assert!(run_results["elapsed_time"].is_number());
    assert_eq!(run_results["args"]["which"], "build");
    let results = results_by_name(&run_results);
    // dbt spells the boolean of `quote: false` in the test's name `False`.
    let test_name = results
        .keys()
        .find(|name| name.starts_with("accepted_values_code_table_code__"))
        .cloned()
        .unwrap_or_else(|| panic!("no accepted_values test in {results:?}"));
    let names: Vec<&str> = results.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [test_name.as_str(), "broken", "broken_child", "code_table", "codes"]
    );
    for (name, result) in &results {
        for key in [
            "status",
            "timing",
            "execution_time",
            "adapter_response",
            "message",
            "failures",
        ] {
            assert!(result.get(key).is_some(), "`{name}` has no `{key}`: {result}");
        }
        let executed = result["status"] != "skipped";
        assert_eq!(
            result["timing"].as_array().is_some_and(|timing| !timing.is_empty()),
            executed,
            "`{name}` timing: {result}"
        );
        if executed {
            assert!(result["timing"][0]["started_at"].is_string(), "{result}");
            assert!(result["timing"][0]["completed_at"].is_string(), "{result}");
        }
    }
    let codes = &results["codes"];
    assert_eq!(codes["status"], "success");
    assert_eq!(codes["adapter_response"]["rows_affected"], 3);
    let code_table = &results["code_table"];
    assert_eq!(code_table["adapter_response"]["rows_affected"], 3);
    assert_eq!(code_table["message"], "SELECT 3");
    let test = &results[&test_name];
    assert_eq!(test["status"], "fail");
    assert_eq!(test["failures"], 1);
    assert!(
        test["message"].as_str().unwrap_or_default().contains("Got 1 result"),
        "{test}"
    );
    let broken = &results["broken"];
    assert_eq!(broken["status"], "error");
    assert!(
        broken["message"].as_str().unwrap_or_default().contains("no_such_table"),
        "{broken}"
    );
    assert_eq!(results["broken_child"]["status"], "skipped");
    assert!(results["broken_child"]["failures"].is_null());
}

matrix!(json_logs_are_one_object_per_line_with_a_summary);
fn json_logs_are_one_object_per_line_with_a_summary(engine: Engine) {
    let project = Project::on(engine);
    project.write("models/one.sql", "select 1 as id");
    project.write("models/broken.sql", "select * from no_such_table");
    let output = project.dvt_exits(1, &["run", "--log-format", "json"]);
    let events: Vec<Value> = output
        .stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let event: Value =
                serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}\n{output:?}"));
            assert!(event.is_object(), "{line}");
            event
        })
        .collect();
    let summary = events
        .iter()
        .find(|event| event["event"] == "summary" && event.get("total").is_some())
        .unwrap_or_else(|| panic!("no summary event: {output:?}"));
    assert_eq!(summary["pass"], 1);
    assert_eq!(summary["error"], 1);
    assert_eq!(summary["total"], 2);
    let finished: Vec<&Value> = events
        .iter()
        .filter(|event| event["event"] == "node_finished")
        .collect();
    assert_eq!(finished.len(), 2, "{output:?}");
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "diagnostic" && event["level"] == "error"),
        "{output:?}"
    );
}

// ---------------------------------------------------------------------------
// DuckDB alone

#[test]
fn materialized_views_are_refused_on_duckdb_with_what_to_do_instead() {
    let project = Project::on(Engine::DuckDb);
    project.write(
        "models/totals.sql",
        "{{ config(materialized='materialized_view') }}\nselect 1 as total",
    );
    let output = project.dvt_exits(1, &["run"]);
    assert!(
        output
            .stderr
            .contains("materialized: materialized_view is not supported on duckdb; use `materialized: table`"),
        "{output:?}"
    );
    assert_eq!(project.kind("analytics", "totals"), None);
}

#[test]
fn a_database_file_held_by_another_process_is_named_with_what_to_do() {
    let project = Project::on(Engine::DuckDb);
    project.write("models/one.sql", "select 1 as id");
    project.dvt_exits(0, &["run"]);
    // DuckDB locks the file for the process that opens it: this one.
    let holder = project.duckdb();
    let output = project.dvt(&["run"]);
    drop(holder);
    // As on PostgreSQL, a warehouse dvt cannot reach is exit code 2.
    assert_eq!(output.code, Some(2), "{output:?}");
    assert!(output.stderr.contains("could not connect to"), "{output:?}");
    assert!(
        output
            .stderr
            .contains(&format!("another process has `{DUCKDB_FILE}` open")),
        "{output:?}"
    );
}

/// The repository's example project, copied without its build output or
/// the developer's own `profiles.yml`.
fn example_project_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    tree::copy_tree(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        dir.path(),
        &["target", "cargo-target", "profiles.yml", "src", "bench", ".git", "logs"],
    );
    deps::install_packages(dir.path());
    dir
}

#[test]
fn the_example_project_builds_on_the_embedded_default_with_no_profile() {
    let project = example_project_copy();
    let home = tempfile::tempdir().expect("an empty home");
    let mut dvt = command::dvt_command();
    let output = dvt
        .arg("build")
        .current_dir(project.path())
        .env("HOME", home.path())
        .timeout(Duration::from_secs(300))
        .output()
        .expect("dvt runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("No profiles.yml found; using the embedded DuckDB target `dev` at target/dev.duckdb"),
        "{stderr}"
    );
    // The default target's lake is a folder, so the gold marts are exported.
    for export in [
        "gold/fct_rental",
        "gold/fct_payment",
        "gold/kpi_revenue_by_category_month",
    ] {
        let folder = project.path().join("target/lake/lake").join(export);
        for file in ["_dvt_manifest.json", "_SUCCESS"] {
            assert!(
                folder.join(file).is_file(),
                "{} in:\n{stderr}",
                folder.join(file).display()
            );
        }
    }
    // DuckDB reads the lake back with its parquet extension, compiled in, so
    // nothing is downloaded (this machine has no internet).
    let output = command::dvt_command()
        .args(["show", "--inline"])
        .arg("select count(*) as exported from read_parquet('target/lake/lake/gold/fct_rental/**/*.parquet')")
        .current_dir(project.path())
        .env("HOME", home.path())
        .timeout(Duration::from_secs(120))
        .output()
        .expect("dvt runs");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{shown}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(shown.contains("16044"), "{shown}");
    // One warn-severity test fails on purpose; everything else passes.
    assert!(stderr.contains("ERROR=0 SKIP=0"), "{stderr}");
    // Its unit tests ran first and passed, as they do under dbt-core 1.10
    // with dbt-duckdb and dbt-postgres.
    for unit_test in [
        "PASS fct_rental::rental_durations_give_days_late_and_the_late_fee",
        "PASS kpi_customer_rfm::rfm_scores_rank_customers_and_name_their_segment",
    ] {
        assert!(stderr.contains(unit_test), "{unit_test} in {stderr}");
    }
    assert!(stderr.contains("WARN=1"), "{stderr}");
    assert!(project.path().join("target/dev.duckdb").is_file());
    let connection = duckdb::Connection::open(project.path().join("target/dev.duckdb")).expect("the file opens");
    let rows = duckdb_rows(
        &connection,
        "select count(*), cast(sum(amount) as varchar) from main_marts.fct_payment",
    );
    assert_eq!(
        rows,
        vec![vec![Some("14566".to_string()), Some("59945.64".to_string())]]
    );
    drop(connection);

    // The docs read DuckDB's catalog: columns, types and row counts.
    let output = command::dvt_command()
        .args(["docs", "generate"])
        .current_dir(project.path())
        .env("HOME", home.path())
        .timeout(Duration::from_secs(120))
        .output()
        .expect("dvt runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let catalog: Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("target/catalog.json")).expect("catalog.json is written"),
    )
    .expect("catalog.json is JSON");
    let payments = &catalog["nodes"]["model.dvdrental.fct_payment"];
    assert_eq!(payments["metadata"]["type"], "BASE TABLE", "{payments}");
    assert_eq!(payments["columns"]["amount"]["type"], "DECIMAL(10,2)", "{payments}");
    assert_eq!(payments["stats"]["num_rows"]["value"], 14566, "{payments}");
    assert_eq!(
        catalog["nodes"]["model.dvdrental.stg_payment"]["metadata"]["type"],
        "VIEW"
    );
}

/// README's main command, `bash scripts/demo.sh`, on a copy of the example
/// project with the debug binaries (`DVT_BIN_DIR`): a broker of its own,
/// events produced and ingested into bronze, the build with its tests and
/// exports, an export read back, the docs, the broker stopped, a summary.
/// The second run replays the topic's log with 300 more events, and only
/// those are loaded.
#[test]
fn the_main_job_runs_the_whole_pipeline_and_a_second_run_loads_only_new_events() {
    let project = example_project_copy();
    let home = tempfile::tempdir().expect("an empty home");
    let dvt = assert_cmd::cargo::cargo_bin("dvt");
    let bin_dir = dvt.parent().expect("the binaries' folder");
    let run = || {
        let mut demo = std::process::Command::new("bash");
        command::isolate(&mut demo);
        demo.arg("scripts/demo.sh")
            .current_dir(project.path())
            .env("HOME", home.path())
            .env("DVT_BIN_DIR", bin_dir)
            .env("DVT_DEMO_EVENTS", "300")
            .env_remove("DVT_KAFKA_BOOTSTRAP");
        let output = assert_cmd::Command::from_std(demo)
            .timeout(Duration::from_secs(600))
            .output()
            .expect("the demo runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
        stdout
    };
    let summary_line = |stdout: &str, label: &str| -> String {
        let summary = &stdout[stdout
            .find("==> Summary")
            .unwrap_or_else(|| panic!("no summary in:\n{stdout}"))..];
        summary
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{summary}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };

    // Each run adds 300 events to the topic's log, and loads only those.
    let events = |stdout: &str, in_topic: usize| {
        assert_eq!(
            summary_line(stdout, "events produced"),
            format!("events produced 300 new this run, {in_topic} in the topic")
        );
        assert_eq!(
            summary_line(stdout, "events in bronze"),
            format!("events in bronze {in_topic} (each once; 300 loaded this run), 0 dead letters; {in_topic} in silver_rental_events")
        );
    };
    let first = run();
    events(&first, 300);
    // One warn-severity test of the example fails on purpose.
    let done = first.lines().find(|line| line.starts_with("Done.")).unwrap_or_default();
    assert!(done.contains("WARN=1 ERROR=0 SKIP=0"), "{first}");
    assert!(
        first.contains(
            "fct_rental: 16044 rows read back from target/lake/lake/gold/fct_rental/ (16044 in the warehouse)"
        ),
        "{first}"
    );
    assert!(project.path().join("target/docs/index.html").is_file());
    let broker = std::fs::read_to_string(project.path().join("target/demo/kafka/pid"));
    assert!(broker.is_err(), "the demo stops the broker it started: {broker:?}");

    events(&run(), 600);
}

#[test]
fn debug_reports_the_embedded_duckdb_version() {
    let project = Project::on(Engine::DuckDb);
    let output = project.dvt_exits(0, &["debug"]);
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(text.contains("target: dev (type duckdb)"), "{output:?}");
    assert!(text.contains("connection: OK (DuckDB v"), "{output:?}");
    assert!(text.contains("(embedded)"), "{output:?}");
}

matrix!(run_creates_the_bronze_table_of_an_ingested_source_before_the_first_ingest);
fn run_creates_the_bronze_table_of_an_ingested_source_before_the_first_ingest(engine: Engine) {
    let project = Project::on(engine);
    project.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: events\n    schema: bronze\n    tables:\n      - name: clicks\n        \
         ingest:\n          topics: [clicks]\n          format: json\n          mapping: raw\n      - name: orders\n        \
         ingest:\n          topics: [orders]\n          mapping: typed\n          columns:\n            \
         - {name: order_id, type: bigint, path: $.id}\n",
    );
    project.write(
        "models/click_count.sql",
        "select count(*) as clicks, count(payload) as payloads from {{ source('events', 'clicks') }}",
    );
    project.dvt_exits(0, &["run"]);
    assert_eq!(
        project.rows("select clicks, payloads from analytics.click_count"),
        table(&[&[Some("0"), Some("0")]])
    );
    // The raw mapping's columns, with JSON as text where there is no jsonb.
    let columns: BTreeMap<String, String> = project.column_types("bronze", "clicks").into_iter().collect();
    assert_eq!(
        columns.get("payload").map(String::as_str),
        Some(engine.pick("jsonb", "varchar"))
    );
    assert_eq!(columns.get("offset").map(String::as_str), Some("bigint"));
    assert!(columns.contains_key("ingested_at"), "{columns:?}");
    assert!(project
        .column_types("bronze", "clicks__dead_letter")
        .iter()
        .any(|(name, _)| name == "error"));
    // No model reads `orders`: its table is left alone.
    assert!(project.column_types("bronze", "orders").is_empty());

    // A bronze table without the mapping's columns is an error naming the source.
    project.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: events\n    schema: bronze\n    tables:\n      - name: clicks\n        \
         ingest:\n          topics: [clicks]\n          mapping: typed\n          columns:\n            \
         - {name: click_id, type: bigint, path: $.id}\n",
    );
    project.write(
        "models/click_count.sql",
        "select count(*) as clicks from {{ source('events', 'clicks') }}",
    );
    let output = project.dvt_exits(2, &["run"]);
    assert!(output.stderr.contains("source.exec.events.clicks"), "{output:?}");
    assert!(output.stderr.contains("`click_id`"), "{output:?}");
}
