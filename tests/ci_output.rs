//! CI output of real runs against PostgreSQL: the JUnit report of `dvt test`
//! and `dvt build`, and the annotations of nodes that fail at run time.
//!
//! As in `tests/exec.rs`, each test creates its own database, named
//! `dvt_ci_<random>`, through the admin connection in `DVT_TEST_PG_URL`
//! (default `postgres://postgres:postgres@127.0.0.1:5432/postgres`), and drops
//! it when done, even on panic, so the tests run in parallel. The offline
//! side (compile checks, `--log-format github` and `json` on errors) is in
//! `tests/cli.rs`.

#[path = "support/command.rs"]
mod command;
use std::path::Path;
use std::time::Duration;

mod common;
#[expect(dead_code, reason = "the DuckDB profile is not used here")]
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
mod project;

use common::Server;
use profile::postgres_profile;

/// A project in a temp directory with a database of its own, dropped with it.
struct Project {
    dir: tempfile::TempDir,
    server: Server,
    database: String,
    runtime: tokio::runtime::Runtime,
}

struct Output {
    code: Option<i32>,
    stderr: String,
}

impl Project {
    fn new() -> Self {
        let server = Server::from_env();
        let database = format!("dvt_ci_{}", project::random_suffix());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let project = Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            server,
            database,
            runtime,
        };
        project.admin(&format!("create database \"{}\"", project.database));
        project.write("project.yml", "name: ci\nprofile: ci\n");
        project.write(
            "profiles.yml",
            &postgres_profile("ci", &project.server, &project.database, 1),
        );
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        project::write(&self.path().join(relative), contents);
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap_or_else(|error| panic!("read {relative}: {error}"))
    }

    fn admin(&self, sql: &str) {
        project::admin(&self.server, &self.runtime, sql).unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
    }

    /// Runs `dvt <args> --project-dir .. --profiles-dir ..` and checks the exit code.
    fn dvt_exits(&self, code: i32, args: &[&str]) -> Output {
        let mut dvt = command::dvt_command();
        dvt.current_dir(self.path())
            .env("DVT_PG_PASSWORD", &self.server.password);
        let output = dvt
            .args(args)
            .arg("--project-dir")
            .arg(self.path())
            .arg("--profiles-dir")
            .arg(self.path())
            .timeout(Duration::from_secs(120))
            .output()
            .expect("dvt runs");
        let output = Output {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_eq!(output.code, Some(code), "dvt {}: {}", args.join(" "), output.stderr);
        output
    }

    /// Filters for snapshots: durations become `[TIME]`.
    fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r#"time="[0-9]+\.[0-9]+""#, r#"time="[TIME]""#);
        settings.add_filter(r"in [0-9]+\.[0-9]+s", "in [TIME]");
        settings
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // Never panic here: this may run while a failed test unwinds.
        if let Err(error) = project::drop_database(&self.server, &self.runtime, &self.database) {
            eprintln!("could not drop test database `{}`: {error}", self.database);
        }
    }
}

/// A small project whose tests pass, fail, warn and error.
fn tested_project() -> Project {
    let project = Project::new();
    project.write(
        "models/people.sql",
        "select * from (values (1, 'ann'), (2, 'bob'), (3, 'bob'), (4, null)) as people (id, first_name)\n",
    );
    project.write(
        "models/people.yml",
        "version: 2\nmodels:\n  - name: people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n      \
         - name: first_name\n        tests:\n          - not_null\n          - unique:\n              config:\n                \
         severity: warn\n",
    );
    // A singular test that fails in the warehouse, not in dvt's checks.
    project.write("tests/assert_people_match_legacy.sql", "select * from legacy_people\n");
    project
}

/// `dvt test --junit`: one case per test, failures and errors with their
/// messages, a warning as a passing case with its message.
#[test]
fn junit_report_of_a_test_run() {
    let project = tested_project();
    project.dvt_exits(0, &["run"]);
    let output = project.dvt_exits(1, &["test", "--junit", "reports/junit.xml"]);
    let report = project.read("reports/junit.xml");
    assert!(
        report.contains(r#"<testsuites name="dvt test" tests="5" failures="1" errors="1""#),
        "{report}"
    );
    // No temporary file is left next to the report.
    let leftovers: Vec<String> = std::fs::read_dir(project.path().join("reports"))
        .expect("the reports folder")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "junit.xml")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(output.stderr.contains("FAIL 1"), "{}", output.stderr);
    project.settings().bind(|| insta::assert_snapshot!(report));
}

/// Under `--log-format github`, a failing test and an erroring test are
/// annotated on their own lines: the YAML entry and the singular test's file.
#[test]
fn failed_tests_are_annotated_at_their_source() {
    let project = tested_project();
    project.dvt_exits(0, &["run"]);
    let output = project.dvt_exits(1, &["test", "--log-format", "github"]);
    let annotations: Vec<&str> = output.stderr.lines().filter(|line| line.starts_with("::")).collect();
    project
        .settings()
        .bind(|| insta::assert_snapshot!(annotations.join("\n")));
}

/// `dvt build --junit`: a model that errors, and the model and tests it
/// skips, are reported as `<error>` and `<skipped/>`.
#[test]
fn junit_report_of_a_build_with_skipped_nodes() {
    let project = Project::new();
    project.write("models/broken.sql", "select id from no_such_table\n");
    project.write("models/broken_child.sql", "select id from {{ ref('broken') }}\n");
    project.write("models/healthy.sql", "select 1 as id\n");
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: broken_child\n    columns:\n      - name: id\n        tests: [not_null]\n",
    );
    project.dvt_exits(1, &["build", "--junit", "junit.xml"]);
    let report = project.read("junit.xml");
    project.settings().bind(|| insta::assert_snapshot!(report));
}
