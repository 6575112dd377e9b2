//! End-to-end tests of packages: `dvt deps` installing `local:`, `git:` (a
//! repository made here with the `git` command line, read through `file://`)
//! and `tarball:` (a `file://` archive) packages and writing
//! `package-lock.yml`, then projects using them: namespaced macro calls, a
//! package's generic test in YAML and `adapter.dispatch` with a `dispatch:`
//! search order, a package's sources, singular tests and analyses with
//! dbt's ids and paths, built on PostgreSQL and DuckDB. The errors: a macro of a
//! package that is not installed, a bad `packages.yml`, and dbt Hub with no
//! network.

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

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;
use engine::Engine;
use project::write;
use sqlx::{ConnectOptions, Row};

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap_or_else(|error| panic!("run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

struct Dvt {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn dvt(project: &Path, args: &[&str], env: &[(&str, &str)]) -> Dvt {
    let mut command = command::dvt_command();
    command
        .args(args)
        .arg("--project-dir")
        .arg(project)
        .current_dir(project)
        .env("DVT_PG_PASSWORD", Server::from_env().password)
        .timeout(std::time::Duration::from_secs(120));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("dvt runs");
    Dvt {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn dvt_ok(project: &Path, args: &[&str]) -> Dvt {
    let output = dvt(project, args, &[]);
    assert_eq!(
        output.code,
        Some(0),
        "dvt {}:\n{}\n{}",
        args.join(" "),
        output.stdout,
        output.stderr
    );
    output
}

/// The packages of one test: a local folder, a git repository with a tag and
/// a later commit, a repository holding a package in a subdirectory, and a
/// tarball, each a dbt project of its own.
struct Sources {
    dir: tempfile::TempDir,
}

impl Sources {
    fn new() -> Sources {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();

        let local = root.join("local_pkg");
        write(
            &local.join("dbt_project.yml"),
            "name: local_pkg\nversion: '1.0'\nconfig-version: 2\nvars:\n  word: own\n  only_here: p\nmodels:\n  local_pkg:\n    +materialized: view\n    +schema: pkg\n",
        );
        write(
            &local.join("models/pkg_model.sql"),
            // A package's own macros need no namespace in its own nodes.
            "select {{ greet() }} as greeting, '{{ var(\"word\") }}' as word, '{{ var(\"only_here\") }}' as only_here\n",
        );
        write(
            &local.join("macros/greet.sql"),
            "{% macro greet() %}'hello'{% endmacro %}\n\
             {% macro fee(days) %}{{ return(adapter.dispatch('fee', 'local_pkg')(days)) }}{% endmacro %}\n\
             {% macro default__fee(days) %}({{ days }} * 10){% endmacro %}\n\
             {% macro postgres__fee(days) %}({{ days }} * 100){% endmacro %}\n",
        );
        write(
            &local.join("models/schema.yml"),
            "version: 2\nmodels:\n  - name: pkg_model\n    columns:\n      - name: greeting\n        tests: [not_null]\n",
        );
        write(
            &local.join("tests/generic/at_most.sql"),
            "{% test at_most(model, column_name, value) %}\nselect * from {{ model }} where {{ column_name }} > {{ value }}\n{% endtest %}\n",
        );

        let repository = root.join("git_pkg");
        write(
            &repository.join("dbt_project.yml"),
            "name: git_pkg\nversion: '1.0'\nconfig-version: 2\n",
        );
        write(
            &repository.join("macros/version.sql"),
            "{% macro version() %}1{% endmacro %}\n",
        );
        run(&repository, "git", &["init", "--quiet", "--initial-branch=main"]);
        run(&repository, "git", &["add", "."]);
        run(&repository, "git", &["commit", "--quiet", "-m", "v1"]);
        run(&repository, "git", &["tag", "v1.0.0"]);
        write(
            &repository.join("macros/version.sql"),
            "{% macro version() %}2{% endmacro %}\n",
        );
        run(&repository, "git", &["commit", "--quiet", "-am", "v2"]);

        let monorepo = root.join("monorepo");
        write(&monorepo.join("README.md"), "packages live below\n");
        write(
            &monorepo.join("nested/dbt_project.yml"),
            "name: nested_pkg\nversion: '1.0'\nconfig-version: 2\n",
        );
        write(
            &monorepo.join("nested/macros/n.sql"),
            "{% macro n() %}7{% endmacro %}\n",
        );
        run(&monorepo, "git", &["init", "--quiet", "--initial-branch=main"]);
        run(&monorepo, "git", &["add", "."]);
        run(&monorepo, "git", &["commit", "--quiet", "-m", "first"]);

        let unpacked = root.join("tarball_src/tar_pkg-1.0");
        write(
            &unpacked.join("dbt_project.yml"),
            "name: tar_pkg\nversion: '1.0'\nconfig-version: 2\n",
        );
        write(&unpacked.join("macros/t.sql"), "{% macro t() %}3{% endmacro %}\n");
        run(
            &root.join("tarball_src"),
            "tar",
            &["czf", "../tar_pkg.tar.gz", "tar_pkg-1.0"],
        );
        Sources { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self, name: &str) -> String {
        format!("file://{}", self.path(name).display())
    }

    fn sha(&self, repository: &str, revision: &str) -> String {
        run(&self.path(repository), "git", &["rev-parse", revision])
    }

    /// `packages.yml` asking for all four.
    fn packages_yml(&self) -> String {
        format!(
            "packages:\n  - local: {}\n  - git: \"{}\"\n    revision: v1.0.0\n  - git: \"{}\"\n    subdirectory: nested\n    warn-unpinned: false\n  - tarball: \"{}\"\n    name: tar_pkg\n",
            self.path("local_pkg").display(),
            self.url("git_pkg"),
            self.url("monorepo"),
            self.url("tar_pkg.tar.gz"),
        )
    }
}

fn project(dir: &Path, packages_yml: &str) -> PathBuf {
    let project = dir.join("proj");
    write(&project.join("project.yml"), "name: proj\nprofile: proj\n");
    write(&project.join("packages.yml"), packages_yml);
    project
}

#[test]
fn deps_installs_local_git_and_tarball_packages_and_pins_them_in_the_lock_file() {
    let sources = Sources::new();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(workspace.path(), &sources.packages_yml());
    let output = dvt_ok(&project, &["deps"]);
    assert!(output.stderr.contains("Installed from revision"), "{}", output.stderr);

    let installed = project.join("dbt_packages");
    // A local package is a symlink to its folder, as dbt installs it.
    let link = std::fs::read_link(installed.join("local_pkg")).expect("local_pkg is a symlink");
    assert_eq!(
        link,
        sources.path("local_pkg").canonicalize().expect("the local package")
    );
    // The git package at its tag, not at the later commit.
    let version = std::fs::read_to_string(installed.join("git_pkg/macros/version.sql")).expect("git_pkg installed");
    assert!(version.contains("%}1{%"), "{version}");
    assert!(installed.join("nested_pkg/macros/n.sql").is_file());
    assert!(!installed.join("nested_pkg/README.md").exists());
    assert!(installed.join("tar_pkg/macros/t.sql").is_file());

    let lock = std::fs::read_to_string(project.join("package-lock.yml")).expect("package-lock.yml");
    let expected_start = format!(
        "packages:\n  - local: {}\n    name: local_pkg\n  - git: {}\n    name: git_pkg\n    revision: {}\n  - git: {}\n    name: nested_pkg\n    revision: {}\n    subdirectory: nested\n  - name: tar_pkg\n    tarball: {}\nsha1_hash: ",
        sources.path("local_pkg").display(),
        sources.url("git_pkg"),
        sources.sha("git_pkg", "v1.0.0^{commit}"),
        sources.url("monorepo"),
        sources.sha("monorepo", "HEAD"),
        sources.url("tar_pkg.tar.gz"),
    );
    assert!(lock.starts_with(&expected_start), "{lock}\n---\n{expected_start}");

    // With the lock file in place, a new commit is not picked up; `--upgrade`
    // resolves again.
    let first = sources.sha("monorepo", "HEAD");
    write(
        &sources.path("monorepo/nested/macros/n.sql"),
        "{% macro n() %}8{% endmacro %}\n",
    );
    run(
        &sources.path("monorepo"),
        "git",
        &["commit", "--quiet", "-am", "second"],
    );
    dvt_ok(&project, &["deps"]);
    assert!(std::fs::read_to_string(project.join("package-lock.yml"))
        .expect("lock")
        .contains(&first));
    let n = std::fs::read_to_string(installed.join("nested_pkg/macros/n.sql")).expect("nested_pkg");
    assert!(n.contains("%}7{%"), "{n}");
    dvt_ok(&project, &["deps", "--upgrade"]);
    let lock = std::fs::read_to_string(project.join("package-lock.yml")).expect("lock");
    assert!(lock.contains(&sources.sha("monorepo", "HEAD")), "{lock}");
    let n = std::fs::read_to_string(installed.join("nested_pkg/macros/n.sql")).expect("nested_pkg");
    assert!(n.contains("%}8{%"), "{n}");
}

/// A database of its own on PostgreSQL (dropped at the end), or a DuckDB file.
struct Warehouse {
    engine: Engine,
    server: Server,
    database: String,
    runtime: tokio::runtime::Runtime,
}

impl Warehouse {
    fn new(engine: Engine, project: &Path) -> Warehouse {
        let server = Server::from_env();
        let database = format!("dvt_pkg_{}", project::random_suffix());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let warehouse = Warehouse {
            engine,
            server,
            database,
            runtime,
        };
        let profile = match engine {
            Engine::Postgres => {
                warehouse.admin(&format!("create database \"{}\"", warehouse.database));
                profile::postgres_profile("proj", &warehouse.server, &warehouse.database, 2)
            }
            Engine::DuckDb => profile::duckdb_profile("proj", 2),
        };
        write(&project.join("profiles.yml"), &profile);
        warehouse
    }

    fn admin(&self, sql: &str) {
        project::admin(&self.server, &self.runtime, sql).unwrap_or_else(|error| panic!("`{sql}`: {error}"));
    }

    /// The first row of a query, every value as text.
    fn row(&self, project: &Path, sql: &str) -> Vec<String> {
        match self.engine {
            Engine::DuckDb => {
                let connection =
                    duckdb::Connection::open(project.join(profile::DUCKDB_FILE)).expect("open the DuckDB file");
                let mut statement = connection.prepare(sql).expect("prepare");
                let mut rows = statement.query([]).expect("query");
                let row = rows.next().expect("a row").expect("one row");
                (0..row.as_ref().column_count())
                    .map(|index| row.get::<_, String>(index).expect("a text value"))
                    .collect()
            }
            Engine::Postgres => self.runtime.block_on(async {
                let mut connection = self.server.options(&self.database).connect().await.expect("connect");
                let row = sqlx::query(sql).fetch_one(&mut connection).await.expect("query");
                (0..row.len()).map(|index| row.get::<String, _>(index)).collect()
            }),
        }
    }
}

impl Drop for Warehouse {
    fn drop(&mut self) {
        if self.engine == Engine::Postgres {
            let _ = project::drop_database(&self.server, &self.runtime, &self.database);
        }
    }
}

/// Namespaced macros of three kinds of package and of the root project, a
/// package's generic test from YAML, and `adapter.dispatch` following the
/// root project's `dispatch:` order, built on the warehouse.
fn packages_are_used_by_the_project(engine: Engine) {
    let sources = Sources::new();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(workspace.path(), &sources.packages_yml());
    write(
        &project.join("project.yml"),
        // The root project's config of a package's models wins over the package's.
        "name: proj\nprofile: proj\ndispatch:\n  - macro_namespace: local_pkg\n    search_order: [proj, local_pkg]\n\
         models:\n  local_pkg:\n    +materialized: table\n\
         vars:\n  local_pkg:\n    word: root\n",
    );
    // The root project overrides the package's `fee` on DuckDB only.
    write(
        &project.join("macros/own.sql"),
        "{% macro own() %}'mine'{% endmacro %}\n{% macro duckdb__fee(days) %}({{ days }} * 1000){% endmacro %}\n",
    );
    write(
        &project.join("models/m.sql"),
        "{{ config(materialized='table') }}\nselect (select greeting from {{ ref('local_pkg', 'pkg_model') }}) as greeting,\n    {{ git_pkg.version() }} as git_version,\n    {{ nested_pkg.n() }} + {{ tar_pkg.t() }} as ten,\n    {{ proj.own() }} as own,\n    {{ local_pkg.fee(2) }} as fee\n",
    );
    write(
        &project.join("models/schema.yml"),
        "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: fee\n        tests:\n          - local_pkg.at_most:\n              value: 5000\n",
    );
    let warehouse = Warehouse::new(engine, &project);
    dvt_ok(&project, &["deps"]);
    let output = dvt_ok(&project, &["build"]);
    let printed = format!("{}{}", output.stdout, output.stderr);
    assert!(printed.contains("local_pkg_at_most_m_fee__5000"), "{printed}");

    let row = warehouse.row(
        &project,
        "select greeting, cast(git_version as varchar), cast(ten as varchar), own, cast(fee as varchar) from analytics.m",
    );
    let fee = engine.pick("200", "2000");
    // A package's node reads the root project's vars scoped to the package
    // first, then the package's own.
    assert_eq!(
        warehouse.row(&project, "select word, only_here from analytics_pkg.pkg_model"),
        ["root", "p"]
    );
    assert_eq!(row, ["hello", "1", "10", "mine", fee]);

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("target/manifest.json")).expect("manifest.json"))
            .expect("JSON");
    let tests: Vec<&serde_json::Value> = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|node| node["resource_type"] == "test" && node["package_name"] == "proj")
        .collect();
    assert_eq!(tests.len(), 1, "{tests:?}");
    // A test in the package's own schema YAML belongs to the package.
    let package_test = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .iter()
        .find(|(id, _)| id.starts_with("test.local_pkg.not_null_pkg_model_greeting."))
        .map(|(_, node)| node)
        .expect("the package's test");
    assert_eq!(
        package_test["fqn"],
        serde_json::json!(["local_pkg", "not_null_pkg_model_greeting"])
    );
    assert_eq!(tests[0]["name"], "local_pkg_at_most_m_fee__5000");
    assert_eq!(tests[0]["test_metadata"]["namespace"], "local_pkg");
    assert_eq!(tests[0]["depends_on"]["macros"][0], "macro.local_pkg.test_at_most");
    // The package's model, named and configured as dbt does it.
    let package_model = &manifest["nodes"]["model.local_pkg.pkg_model"];
    assert_eq!(package_model["package_name"], "local_pkg");
    assert_eq!(package_model["fqn"], serde_json::json!(["local_pkg", "pkg_model"]));
    assert_eq!(package_model["config"]["materialized"], "table");
    assert_eq!(package_model["schema"], "analytics_pkg");
    assert_eq!(
        manifest["nodes"]["model.proj.m"]["depends_on"]["nodes"],
        serde_json::json!(["model.local_pkg.pkg_model"])
    );
    assert!(manifest["macros"]
        .as_object()
        .expect("macros")
        .contains_key("macro.git_pkg.version"));
}

matrix!(packages_are_used_by_the_project);

/// A package's sources, singular tests, analyses and snapshots folder, loaded
/// as dbt loads them: the sources are the package's (`source.inner.raw.events`)
/// and the root project's `sources:` tree and `overrides:` configure them, a root model's
/// `source()` finds them, the package's singular test runs under `dvt build`,
/// and the manifest gives package-relative paths, as dbt-core 1.10 writes them.
fn package_sources_tests_and_analyses_are_the_packages(engine: Engine) {
    use serde_json::json;
    let workspace = tempfile::tempdir().expect("a temp dir");
    let inner = workspace.path().join("inner");
    write(
        &inner.join("dbt_project.yml"),
        "name: inner\nversion: '1.0'\nconfig-version: 2\n",
    );
    write(
        &inner.join("models/staging/src.yml"),
        "version: 2\nsources:\n  - name: raw\n    schema: nowhere\n    tables:\n      - name: events\n      - name: users\n\
         exposures:\n  - name: events_dashboard\n    type: dashboard\n    owner: {email: a@b.c}\n    depends_on: [ref('stg_events')]\n",
    );
    write(
        &inner.join("models/staging/stg_events.sql"),
        "select * from {{ source('raw', 'events') }}\n",
    );
    write(
        &inner.join("macros/twice.sql"),
        "{% macro twice(x) %}({{ x }} * 2){% endmacro %}\n",
    );
    write(
        &inner.join("tests/no_negative_events.sql"),
        "select * from {{ ref('stg_events') }} where id < 0\n",
    );
    write(
        &inner.join("analyses/event_count.sql"),
        "select count(*) from {{ ref('stg_events') }}\n",
    );
    // dvt has no snapshots yet: a package with some must still load.
    write(
        &inner.join("snapshots/snap.sql"),
        "{% snapshot snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect 1 as id\n{% endsnapshot %}\n",
    );
    // A second package declaring a source of the same names: each package's
    // nodes find their own first, as dbt searches.
    let other = workspace.path().join("other");
    write(
        &other.join("dbt_project.yml"),
        "name: other\nversion: '1.0'\nconfig-version: 2\n",
    );
    write(
        &other.join("models/src.yml"),
        "version: 2\nsources:\n  - name: raw\n    schema: analytics\n    tables:\n      - name: events\n        identifier: other_events\n",
    );
    write(
        &other.join("models/from_other.sql"),
        "select * from {{ source('raw', 'events') }}\n",
    );
    let project = project(
        workspace.path(),
        &format!(
            "packages:\n  - local: {}\n  - local: {}\n",
            inner.display(),
            other.display()
        ),
    );
    write(
        &project.join("project.yml"),
        "name: proj\nprofile: proj\nsources:\n  inner:\n    staging:\n      raw:\n        users:\n          +enabled: false\n",
    );
    // The root project points the package's source at its seed, as dbt's
    // `overrides:` does.
    write(
        &project.join("models/overrides.yml"),
        "version: 2\nsources:\n  - name: raw\n    overrides: inner\n    schema: analytics\n    tables:\n      - name: events\n        identifier: raw_events\n",
    );
    write(&project.join("seeds/other_events.csv"), "id\n3\n");
    write(&project.join("seeds/raw_events.csv"), "id,kind\n1,click\n2,view\n");
    write(
        &project.join("models/m.sql"),
        "select {{ inner.twice('id') }} as doubled from {{ source('raw', 'events') }}\n",
    );
    let _warehouse = Warehouse::new(engine, &project);
    dvt_ok(&project, &["deps"]);
    dvt_ok(&project, &["seed"]);
    let output = dvt_ok(&project, &["build"]);
    let printed = format!("{}{}", output.stdout, output.stderr);
    assert!(printed.contains("no_negative_events"), "{printed}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("target/run_results.json")).expect("run_results.json"),
    )
    .expect("JSON");
    let test_result = results["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|result| result["unique_id"] == "test.inner.no_negative_events")
        .expect("the package's singular test ran");
    assert_eq!(test_result["status"], "pass");
    // Compiled SQL goes below the package's name, as in dbt.
    dvt_ok(&project, &["compile"]);
    assert!(project
        .join("target/compiled/inner/models/staging/stg_events.sql")
        .is_file());

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("target/manifest.json")).expect("manifest.json"))
            .expect("JSON");
    let fields = |node: &serde_json::Value| {
        (
            node["package_name"].clone(),
            node["fqn"].clone(),
            node["path"].clone(),
            node["original_file_path"].clone(),
        )
    };
    // What dbt-core 1.10 writes for the same project.
    assert_eq!(
        fields(&manifest["sources"]["source.inner.raw.events"]),
        (
            json!("inner"),
            json!(["inner", "staging", "raw", "events"]),
            json!("models/staging/src.yml"),
            json!("models/staging/src.yml")
        )
    );
    assert_eq!(manifest["sources"]["source.inner.raw.events"]["schema"], "analytics");
    assert_eq!(
        manifest["sources"]["source.inner.raw.events"]["identifier"],
        "raw_events"
    );
    assert!(
        manifest["sources"].get("source.inner.raw.users").is_none(),
        "disabled by the root project: {}",
        manifest["sources"]
    );
    // A package's exposure is the package's too.
    assert_eq!(
        fields(&manifest["exposures"]["exposure.inner.events_dashboard"]),
        (
            json!("inner"),
            json!(["inner", "staging", "events_dashboard"]),
            json!("models/staging/src.yml"),
            json!("models/staging/src.yml")
        )
    );
    assert_eq!(
        fields(&manifest["nodes"]["model.inner.stg_events"]),
        (
            json!("inner"),
            json!(["inner", "staging", "stg_events"]),
            json!("staging/stg_events.sql"),
            json!("models/staging/stg_events.sql")
        )
    );
    assert_eq!(
        fields(&manifest["nodes"]["test.inner.no_negative_events"]),
        (
            json!("inner"),
            json!(["inner", "no_negative_events"]),
            json!("no_negative_events.sql"),
            json!("tests/no_negative_events.sql")
        )
    );
    assert_eq!(
        fields(&manifest["nodes"]["analysis.inner.event_count"]),
        (
            json!("inner"),
            json!(["inner", "analysis", "event_count"]),
            json!("analysis/event_count.sql"),
            json!("analyses/event_count.sql")
        )
    );
    assert_eq!(
        manifest["macros"]["macro.inner.twice"]["original_file_path"],
        "macros/twice.sql"
    );
    assert_eq!(
        manifest["nodes"]["model.proj.m"]["depends_on"]["nodes"],
        json!(["source.inner.raw.events"])
    );
    assert_eq!(
        manifest["nodes"]["model.inner.stg_events"]["depends_on"]["nodes"],
        json!(["source.inner.raw.events"])
    );
    let other_model = &manifest["nodes"]["model.other.from_other"];
    assert_eq!(other_model["depends_on"]["nodes"], json!(["source.other.raw.events"]));
    let compiled = other_model["compiled_code"].as_str().expect("compiled");
    assert!(compiled.contains("other_events"), "{compiled}");
}

matrix!(package_sources_tests_and_analyses_are_the_packages);

#[test]
fn a_macro_of_a_package_that_is_not_installed_is_an_error_at_the_call() {
    let sources = Sources::new();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(workspace.path(), &sources.packages_yml());
    write(
        &project.join("models/m.sql"),
        "select\n  {{ git_pkg.version() }} as v\n",
    );
    let output = dvt(&project, &["compile"], &[]);
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("models/m.sql:2:6"), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("`git_pkg.version` is a macro of the package `git_pkg`, which is not installed"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("run `dvt deps`"), "{}", output.stderr);
}

#[test]
fn a_bad_packages_yml_points_at_its_line() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(
        workspace.path(),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: \">=1.0.0\"\n  - git: https://example.com/x.git\n    revison: v1\n",
    );
    let output = dvt(&project, &["deps"], &[]);
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("unknown key `revison` in a `git:` package"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("packages.yml:5:5"), "{}", output.stderr);
    assert!(output.stderr.contains("did you mean `revision`?"), "{}", output.stderr);
}

#[test]
fn dbt_hub_without_a_network_says_what_to_do() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(
        workspace.path(),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    // Nothing listens on port 9 of loopback: as with no network, the
    // connection is refused.
    let output = dvt(&project, &["deps"], &[("DBT_PACKAGE_HUB_URL", "http://127.0.0.1:9/")]);
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("cannot reach dbt Hub"), "{}", output.stderr);
    assert!(
        output.stderr.contains("dvt deps` needs the network"),
        "{}",
        output.stderr
    );
    assert!(!project.join("package-lock.yml").exists());
}

/// A tiny dbt Hub on loopback: every request for `/path` is answered with the
/// file `root/path`, or 404.
fn serve(root: PathBuf) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/');
            let response = match std::fs::read(root.join(path)) {
                Ok(body) => {
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    response.extend(body);
                    response
                }
                Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    port
}

/// A hub with two packages: `test-ns/alpha`, whose versions need
/// `test-ns/beta` `>=0.2.0, <0.3.0`, and `beta` itself.
fn hub() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let port = serve(dir.path().to_path_buf());
    let base = format!("http://127.0.0.1:{port}/");
    let version = |package: &str, number: &str, packages: &str| -> String {
        let unpacked = dir.path().join(format!("src/{package}-{number}"));
        write(
            &unpacked.join("dbt_project.yml"),
            format!("name: {package}\nversion: '{number}'\nconfig-version: 2\n"),
        );
        write(
            &unpacked.join(format!("macros/{package}.sql")),
            format!("{{% macro which() %}}'{package} {number}'{{% endmacro %}}\n"),
        );
        std::fs::create_dir_all(dir.path().join("tarballs")).expect("create tarballs/");
        run(
            &dir.path().join("src"),
            "tar",
            &[
                "czf",
                &format!("../tarballs/{package}-{number}.tar.gz"),
                &format!("{package}-{number}"),
            ],
        );
        format!(
            "\"{number}\": {{\"id\": \"test-ns/{package}/{number}\", \"name\": \"{package}\", \"version\": \"{number}\", \
             \"packages\": {packages}, \"require_dbt_version\": [\">=1.3.0\", \"<2.0.0\"], \"works_with\": [], \
             \"downloads\": {{\"tarball\": \"{base}tarballs/{package}-{number}.tar.gz\", \"format\": \"tgz\", \"sha1\": \"\"}}}}"
        )
    };
    let beta_range = "[{\"package\": \"test-ns/beta\", \"version\": [\">=0.2.0\", \"<0.3.0\"]}]";
    let alpha: Vec<String> = ["1.0.0", "1.1.0", "2.0.0"]
        .iter()
        .map(|number| version("alpha", number, beta_range))
        .collect();
    let beta: Vec<String> = ["0.1.0", "0.2.0", "0.2.5", "0.3.0"]
        .iter()
        .map(|number| version("beta", number, "[]"))
        .collect();
    write(
        &dir.path().join("api/v1/index.json"),
        "[\"test-ns/alpha\", \"test-ns/beta\"]",
    );
    for (package, versions) in [("alpha", alpha), ("beta", beta)] {
        write(
            &dir.path().join(format!("api/v1/test-ns/{package}.json")),
            format!(
                "{{\"name\": \"{package}\", \"namespace\": \"test-ns\", \"versions\": {{{}}}}}",
                versions.join(", ")
            ),
        );
    }
    (dir, base)
}

#[test]
fn hub_packages_resolve_with_their_own_packages_and_conflicts_name_both_requirements() {
    let (_hub, base) = hub();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(
        workspace.path(),
        "packages:\n  - package: test-ns/alpha\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    let environment = [("DBT_PACKAGE_HUB_URL", base.as_str())];
    let output = dvt(&project, &["deps"], &environment);
    assert_eq!(output.code, Some(0), "{}\n{}", output.stdout, output.stderr);
    let lock = std::fs::read_to_string(project.join("package-lock.yml")).expect("package-lock.yml");
    assert!(
        lock.starts_with(
            "packages:\n  - name: alpha\n    package: test-ns/alpha\n    version: 1.1.0\n  - name: beta\n    package: test-ns/beta\n    version: 0.2.5\nsha1_hash: "
        ),
        "{lock}"
    );
    let beta = std::fs::read_to_string(project.join("dbt_packages/beta/macros/beta.sql")).expect("beta installed");
    assert!(beta.contains("beta 0.2.5"), "{beta}");
    assert!(project.join("dbt_packages/alpha/dbt_project.yml").is_file());

    // The root project asks for a beta that alpha's range excludes.
    write(
        &project.join("packages.yml"),
        "packages:\n  - package: test-ns/alpha\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - package: test-ns/beta\n    version: 0.3.0\n",
    );
    let output = dvt(&project, &["deps"], &environment);
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("no version of `test-ns/beta` satisfies every requirement"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("`0.3.0` (packages.yml:4)"), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("`>=0.2.0, <0.3.0` (required by test-ns/alpha 1.1.0)"),
        "{}",
        output.stderr
    );
}

#[test]
fn deps_never_empties_a_folder_outside_the_project() {
    let sources = Sources::new();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let project = project(workspace.path(), &sources.packages_yml());
    write(
        &project.join("project.yml"),
        "name: proj\nprofile: proj\npackages-install-path: ..\n",
    );
    let output = dvt(&project, &["deps"], &[]);
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("refusing to install packages into `..`"),
        "{}",
        output.stderr
    );
    assert!(project.join("packages.yml").is_file());
    assert!(!project.join("package-lock.yml").exists());
}
