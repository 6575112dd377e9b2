//! `Project`: a dvt project in a temp directory with a database of its own
//! (`dvt_<name>_<random>` on PostgreSQL, dropped when done; a file in the temp
//! directory on DuckDB), run with the real binary and read back with the
//! drivers, every value cast to text in the query. The including file brings
//! in `common`, `command`, `engine`, `profile`, `project` and `run_output`.

use std::path::Path;
use std::time::Duration;

use sqlx::{ConnectOptions, Row};

use super::common::Server;
use super::engine::Engine;
use super::run_output::Output;
use super::{command, profile, project};

/// A project in a temp directory with a database of its own.
pub struct Project {
    dir: tempfile::TempDir,
    engine: Engine,
    pub server: Server,
    pub database: String,
    runtime: tokio::runtime::Runtime,
}

impl Project {
    /// A project and profile called `name`, on `engine`.
    pub fn new(name: &str, engine: Engine) -> Self {
        let server = Server::from_env();
        let database = format!("dvt_{name}_{}", project::random_suffix());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let project = Project {
            dir: tempfile::tempdir().expect("a temp dir"),
            engine,
            server,
            database,
            runtime,
        };
        project.write("project.yml", &format!("name: {name}\nprofile: {name}\n"));
        match engine {
            Engine::Postgres => {
                project.postgres(
                    &project.server.admin_database.clone(),
                    &format!("create database \"{}\"", project.database),
                );
                project.write(
                    "profiles.yml",
                    &profile::postgres_profile(name, &project.server, &project.database, 2),
                );
            }
            Engine::DuckDb => project.write("profiles.yml", &profile::duckdb_profile(name, 2)),
        }
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        project::write(&self.path().join(relative), contents);
    }

    pub fn read(&self, relative: &str) -> String {
        let path = self.path().join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
    }

    /// Runs `dvt <command> --project-dir .. --profiles-dir .. <rest>` and
    /// checks its exit code.
    pub fn dvt_exits(&self, code: i32, args: &[&str]) -> Output {
        // A command group's subcommand comes before the flags: `source freshness`.
        let split = if matches!(args.first(), Some(&"source") | Some(&"docs")) {
            2
        } else {
            1
        };
        let (command, rest) = args.split_at(split.min(args.len()));
        let directory = self.path().display().to_string();
        let output: Output = command::dvt_command()
            .current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password)
            .args(command)
            .args(["--project-dir", &directory, "--profiles-dir", &directory])
            .args(rest)
            .timeout(Duration::from_secs(120))
            .output()
            .expect("dvt runs")
            .into();
        assert_eq!(output.code, Some(code), "dvt {}: {output:?}", args.join(" "));
        output
    }

    pub fn postgres(&self, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        self.runtime.block_on(async {
            let mut connection = self
                .server
                .options(database)
                .connect()
                .await
                .unwrap_or_else(|error| panic!("connect to `{database}`: {error}"));
            let rows = sqlx::Executor::fetch_all(&mut connection, sql)
                .await
                .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|index| row.get::<Option<String>, _>(index))
                        .collect()
                })
                .collect()
        })
    }

    /// Runs statements that return no rows (DDL, inserts).
    #[allow(dead_code, reason = "not every test binary changes the warehouse itself")]
    pub fn execute(&self, sql: &str) {
        match self.engine {
            Engine::Postgres => {
                self.postgres(&self.database, sql);
            }
            Engine::DuckDb => {
                let path = self.path().join(profile::DUCKDB_FILE);
                let connection =
                    duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
                connection
                    .execute_batch(sql)
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
            }
        }
    }

    /// The rows of a query whose every column is text.
    #[allow(dead_code, reason = "not every test binary reads rows back")]
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self.engine {
            Engine::Postgres => self.postgres(&self.database, sql),
            Engine::DuckDb => {
                let path = self.path().join(profile::DUCKDB_FILE);
                let connection =
                    duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
                let mut statement = connection
                    .prepare(sql)
                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
                let mut rows = statement.query([]).unwrap_or_else(|error| panic!("`{sql}`: {error}"));
                let count = rows.as_ref().map_or(0, |statement| statement.column_count());
                let mut result = Vec::new();
                while let Some(row) = rows.next().unwrap_or_else(|error| panic!("`{sql}`: {error}")) {
                    result.push(
                        (0..count)
                            .map(|index| {
                                row.get::<_, Option<String>>(index)
                                    .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
                            })
                            .collect(),
                    );
                }
                result
            }
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        command::keep_artifacts(self.path());
        if self.engine == Engine::Postgres {
            // Never panics: this may run while a failed test unwinds.
            let _ = project::drop_database(&self.server, &self.runtime, &self.database);
        }
    }
}
