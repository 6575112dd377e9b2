//! End-to-end tests of dbt's modelling features beyond plain models:
//! `--empty`, model versions, the `microbatch` incremental strategy and
//! `dvt clone`. The real binary on small projects, on PostgreSQL and DuckDB
//! alike ([`matrix!`]). Every expected value was read from dbt-core 1.10.23
//! (dbt-postgres 1.9, dbt-duckdb 1.9) run on the same fixture; each test
//! says which of dbt's behaviours it pins.

#![cfg(feature = "duckdb")]

#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/engine.rs"]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
mod project;
#[path = "support/run_output.rs"]
mod run_output;

use engine::Engine;
use fixture::Project;

fn table(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| row.iter().map(|value| Some(value.to_string())).collect())
        .collect()
}

/// The columns of `analytics.<relation>`, in order.
fn columns(project: &Project, relation: &str) -> Vec<String> {
    project
        .rows(&format!(
            "select cast(column_name as varchar) from information_schema.columns \
             where table_schema = 'analytics' and table_name = '{relation}' order by ordinal_position"
        ))
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect()
}

fn count(project: &Project, relation: &str) -> String {
    project.rows(&format!("select cast(count(*) as varchar) from analytics.{relation}"))[0][0]
        .clone()
        .unwrap_or_default()
}

fn empty_fixture(engine: Engine) -> Project {
    let project = Project::new("empty", engine);
    project.write("seeds/people.csv", "id,name\n1,a\n2,b\n");
    project.write(
        "models/stg.sql",
        "select id, name, id * 2 as doubled from {{ ref('people') }}\n",
    );
    project.write(
        "models/eph.sql",
        "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('stg') }}\n",
    );
    // No alias after a ref: under --empty dbt-postgres renders every ref as
    // an aliased subquery, and `from (...) _dbt_limit_subq_stg s` is a
    // syntax error there, in dbt as in dvt.
    project.write(
        "models/fct.sql",
        "{{ config(materialized='table') }}\n\
         select id, doubled from {{ ref('stg') }} join {{ ref('eph') }} using (id)\n",
    );
    project.write(
        "models/from_source.sql",
        "select * from {{ source('raw', 'people') }}\n",
    );
    project.write(
        "models/schema.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: analytics\n    tables:\n      - name: people\n\
         models:\n  - name: fct\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n",
    );
    project
}

matrix!(empty_builds_every_model_with_no_rows_and_its_columns);
/// dbt's `--empty`: every ref and source (ephemeral CTEs too, but not
/// `this`) reads `(select * from X where false limit 0)`, aliased
/// `_dbt_limit_subq_<table>` on PostgreSQL and unaliased on DuckDB
/// (dbt-duckdb's `require_alias = False`); seeds still load every row and
/// tests run on the empty models and pass.
fn empty_builds_every_model_with_no_rows_and_its_columns(engine: Engine) {
    let project = empty_fixture(engine);
    project.dvt_exits(0, &["seed"]);
    project.dvt_exits(0, &["build", "--empty"]);
    assert_eq!(count(&project, "people"), "2");
    for model in ["stg", "fct", "from_source"] {
        assert_eq!(count(&project, model), "0", "{model}");
    }
    assert_eq!(columns(&project, "stg"), ["id", "name", "doubled"]);
    assert_eq!(columns(&project, "fct"), ["id", "doubled"]);
    assert_eq!(columns(&project, "from_source"), ["id", "name"]);
    let compiled = project.read("target/run/empty/models/fct.sql");
    let database = engine.pick(project.database.clone(), "warehouse".to_string());
    let stg = format!("(select * from \"{database}\".\"analytics\".\"stg\" where false limit 0)");
    let cte = "(select * from __dbt__cte__eph where false limit 0)";
    let expected = match engine {
        Engine::Postgres => [
            format!("select id from {stg} _dbt_limit_subq_stg\n"),
            format!("select id, doubled from {stg} _dbt_limit_subq_stg join {cte} _dbt_limit_subq___dbt__cte__eph using (id)"),
        ],
        Engine::DuckDb => [
            format!("select id from {stg}\n"),
            format!("select id, doubled from {stg} join {cte} using (id)"),
        ],
    };
    for fragment in expected {
        assert!(compiled.contains(&fragment), "{fragment}\nnot in\n{compiled}");
    }

    // Without --empty the same models read their rows again.
    project.dvt_exits(0, &["run"]);
    assert_eq!(count(&project, "fct"), "2");
    // `dvt compile --empty` compiles the same subqueries, as dbt's compile --empty.
    project.dvt_exits(0, &["compile", "--empty", "--select", "stg"]);
    let stg_sql = project.read("target/compiled/empty/models/stg.sql");
    assert!(stg_sql.contains("where false limit 0)"), "{stg_sql}");
}

fn versions_fixture(engine: Engine) -> Project {
    let project = Project::new("versions", engine);
    project.write(
        "models/dim_customers.sql",
        "select 1 as id, 'a' as name, 'x' as country\n",
    );
    project.write("models/dim_customers_v1.sql", "select 1 as id, 'a' as name\n");
    project.write(
        "models/customers_v3_file.sql",
        "select 1 as id, 'a' as name, 'x' as country, 3 as extra\n",
    );
    project.write(
        "models/uses.sql",
        "select * from {{ ref('dim_customers') }}\nunion all select id, name, country from {{ ref('dim_customers', v=3) }}\n",
    );
    project.write(
        "models/uses_old.sql",
        "select * from {{ ref('dim_customers', version=1) }}\n",
    );
    project.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: dim_customers\n    latest_version: 2\n    config:\n      materialized: table\n    columns:\n      - name: id\n        data_tests: [not_null]\n      - name: name\n      - name: country\n    versions:\n      - v: 1\n        deprecation_date: 2020-01-01\n        columns:\n          - include: all\n            exclude: [country]\n      - v: 2\n      - v: 3\n        defined_in: customers_v3_file\n        config:\n          alias: customers_next\n        columns:\n          - include: '*'\n          - name: extra\n",
    );
    project
}

fn json(project: &Project, relative: &str) -> serde_json::Value {
    serde_json::from_str(&project.read(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

matrix!(model_versions_build_as_dbt_names_them);
/// dbt's model versions: one node per version, `model.<pkg>.<name>.v<v>`,
/// named like the model, with `v<v>` ending its fqn; the relation is
/// `<name>_v<v>` unless `alias` is set; v2 (the latest) lives in the
/// unsuffixed file; an unpinned ref reads the latest version; columns follow
/// include/exclude and each version gets its own tests
/// (`not_null_dim_customers_v1_id`); the manifest has `version`,
/// `latest_version` and `deprecation_date`, and refs their `version`. dbt's
/// warnings for a version past its deprecation date and a ref to it.
fn model_versions_build_as_dbt_names_them(engine: Engine) {
    let project = versions_fixture(engine);
    let output = project.dvt_exits(0, &["build"]);
    let printed = format!("{}{}", output.stdout, output.stderr);
    assert!(
        printed.contains(
            "Model dim_customers.v1 has passed its deprecation date of 2020-01-01T00:00:00+00:00. \
             This model should be disabled or removed."
        ),
        "{printed}"
    );
    assert!(
        printed.contains(
            "While compiling 'uses_old': Found a reference to dim_customers.v1, which was deprecated on \
             '2020-01-01T00:00:00+00:00'. A new version of 'dim_customers' is available. Migrate now: \
             {{ ref('versions', 'dim_customers', v='2') }}."
        ),
        "{printed}"
    );
    assert_eq!(columns(&project, "dim_customers_v1"), ["id", "name"]);
    assert_eq!(columns(&project, "dim_customers_v2"), ["id", "name", "country"]);
    assert_eq!(columns(&project, "customers_next"), ["id", "name", "country", "extra"]);
    assert_eq!(count(&project, "uses"), "2");
    assert_eq!(count(&project, "uses_old"), "1");

    let manifest = json(&project, "target/manifest.json");
    let nodes = &manifest["nodes"];
    let v1 = &nodes["model.versions.dim_customers.v1"];
    assert_eq!(v1["name"], "dim_customers");
    assert_eq!(v1["alias"], "dim_customers_v1");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["latest_version"], 2);
    assert_eq!(v1["deprecation_date"], "2020-01-01T00:00:00+00:00");
    assert_eq!(v1["fqn"], serde_json::json!(["versions", "dim_customers", "v1"]));
    let column_names = |node: &serde_json::Value| -> Vec<String> {
        node["columns"]
            .as_object()
            .map(|columns| columns.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(column_names(v1), ["id", "name"]);
    let v2 = &nodes["model.versions.dim_customers.v2"];
    assert_eq!(v2["original_file_path"], "models/dim_customers.sql");
    assert_eq!(v2["deprecation_date"], serde_json::Value::Null);
    let v3 = &nodes["model.versions.dim_customers.v3"];
    assert_eq!(v3["alias"], "customers_next");
    assert_eq!(v3["original_file_path"], "models/customers_v3_file.sql");
    assert_eq!(column_names(v3), ["country", "extra", "id", "name"]);
    assert_eq!(
        nodes["model.versions.uses"]["depends_on"]["nodes"],
        serde_json::json!(["model.versions.dim_customers.v2", "model.versions.dim_customers.v3"])
    );
    assert_eq!(
        nodes["model.versions.uses_old"]["refs"],
        serde_json::json!([{"name": "dim_customers", "package": null, "version": 1}])
    );
    for version in ["v1", "v2", "v3"] {
        let test = nodes
            .as_object()
            .and_then(|nodes| {
                nodes
                    .iter()
                    .find(|(id, _)| id.starts_with(&format!("test.versions.not_null_dim_customers_{version}_id.")))
            })
            .map(|(_, test)| test.clone())
            .unwrap_or_else(|| panic!("no not_null test of {version}"));
        assert_eq!(test["attached_node"], format!("model.versions.dim_customers.{version}"));
    }
}

matrix!(model_versions_are_selected_by_rank_and_name);
/// dbt's `version:` selector (`latest`, `prerelease` after the latest,
/// `old` before it) and selection by name with `.v<v>` (`ls` prints fqns).
fn model_versions_are_selected_by_rank_and_name(engine: Engine) {
    let project = versions_fixture(engine);
    let ls = |selector: &str| -> Vec<String> {
        let output = project.dvt_exits(0, &["ls", "--resource-type", "model", "--select", selector]);
        output.stdout.lines().map(str::to_owned).collect()
    };
    assert_eq!(ls("version:latest"), ["versions.dim_customers.v2"]);
    assert_eq!(ls("version:prerelease"), ["versions.dim_customers.v3"]);
    assert_eq!(ls("version:old"), ["versions.dim_customers.v1"]);
    assert_eq!(ls("dim_customers.v3"), ["versions.dim_customers.v3"]);
    assert_eq!(
        ls("dim_customers"),
        [
            "versions.dim_customers.v1",
            "versions.dim_customers.v2",
            "versions.dim_customers.v3"
        ]
    );
}

matrix!(an_unknown_version_is_an_error_at_the_ref);
/// dbt fails a ref to a version the model lacks; dvt points at the call and
/// names the YAML file and line declaring the versions.
fn an_unknown_version_is_an_error_at_the_ref(engine: Engine) {
    let project = versions_fixture(engine);
    project.write("models/uses_old.sql", "select * from {{ ref('dim_customers', v=9) }}\n");
    let output = project.dvt_exits(2, &["compile"]);
    assert!(
        output
            .stderr
            .contains("refers to version 9 of model `dim_customers`, which has no such version"),
        "{output:?}"
    );
    assert!(output.stderr.contains("models/uses_old.sql:1"), "{output:?}");
    assert!(output.stderr.contains("declared in models/schema.yml:3"), "{output:?}");
}

matrix!(clone_creates_views_of_the_state_relations);
/// dbt's clone on PostgreSQL and DuckDB (no zero-copy clone): every model
/// and seed of the state manifest becomes a view `select * from` its state
/// relation; one that already exists is left alone (`No-op`, success)
/// unless `--full-refresh`; run_results.json records `which: clone`.
fn clone_creates_views_of_the_state_relations(engine: Engine) {
    let project = Project::new("cloning", engine);
    project.write("seeds/people.csv", "id,name\n1,a\n2,b\n");
    project.write("models/stg.sql", "select id, name from {{ ref('people') }}\n");
    project.write(
        "models/fct.sql",
        "{{ config(materialized='table') }}\nselect id from {{ ref('stg') }}\n",
    );
    project.write(
        "models/eph.sql",
        "{{ config(materialized='ephemeral') }}\nselect 1 as x\n",
    );
    // The "production" run builds into schema prod.
    project.write(
        "project.yml",
        "name: cloning\nprofile: cloning\nmodels:\n  +schema: prod\nseeds:\n  +schema: prod\n",
    );
    project.dvt_exits(0, &["build"]);
    std::fs::rename(project.path().join("target"), project.path().join("prod-target"))
        .unwrap_or_else(|error| panic!("{error}"));
    project.write("project.yml", "name: cloning\nprofile: cloning\n");
    // One relation is already there in development.
    project.execute("create schema if not exists analytics; create table analytics.fct as select 42 as id");
    project.dvt_exits(0, &["clone", "--state", "prod-target"]);
    let kinds = project.rows(
        "select cast(table_name as varchar), cast(table_type as varchar) from information_schema.tables \
         where table_schema = 'analytics' order by table_name",
    );
    assert_eq!(
        kinds,
        table(&[&["fct", "BASE TABLE"], &["people", "VIEW"], &["stg", "VIEW"]])
    );
    assert_eq!(
        project.rows("select cast(id as varchar) from analytics.fct"),
        table(&[&["42"]])
    );
    assert_eq!(count(&project, "people"), "2");
    let results = json(&project, "target/run_results.json");
    assert_eq!(results["args"]["which"], "clone");
    let fct = results["results"]
        .as_array()
        .and_then(|results| results.iter().find(|result| result["unique_id"] == "model.cloning.fct"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(fct["status"], "success");
    assert_eq!(fct["message"], "No-op");

    project.dvt_exits(0, &["clone", "--state", "prod-target", "--full-refresh"]);
    let kinds = project.rows(
        "select cast(table_name as varchar), cast(table_type as varchar) from information_schema.tables \
         where table_schema = 'analytics' order by table_name",
    );
    assert_eq!(kinds, table(&[&["fct", "VIEW"], &["people", "VIEW"], &["stg", "VIEW"]]));
    assert_eq!(
        project.rows("select cast(id as varchar) from analytics.fct order by id"),
        table(&[&["1"], &["2"]])
    );

    // dbt's CloneTask runs in its `Independent` mode, on a graph without
    // edges: a clone that fails (its state relation is gone) skips nothing,
    // and the model built on it is cloned all the same. dbt-core 1.10 on
    // this project: `ERROR=1` (stg), `PASS=2` (people and fct), `SKIP=0`.
    project.execute("drop view analytics_prod.stg cascade");
    let output = project.dvt_exits(1, &["clone", "--state", "prod-target", "--full-refresh"]);
    let results = json(&project, "target/run_results.json");
    let statuses: Vec<(String, String)> = results["results"]
        .as_array()
        .map(|results| {
            let mut statuses: Vec<(String, String)> = results
                .iter()
                .map(|result| {
                    (
                        result["unique_id"].as_str().unwrap_or_default().to_string(),
                        result["status"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            statuses.sort();
            statuses
        })
        .unwrap_or_default();
    assert_eq!(
        statuses,
        [
            ("model.cloning.fct", "success"),
            ("model.cloning.stg", "error"),
            ("seed.cloning.people", "success"),
        ]
        .map(|(id, status)| (id.to_string(), status.to_string())),
        "{output:?}"
    );
}

/// dbt renders the project file's configs natively: jaffle-shop's seeds are
/// `+enabled: "{{ var('load_source_data', false) }}"`, which is the boolean
/// `False` by default and `True` with `--vars '{load_source_data: true}'`
/// (dbt-core 1.10 lists its seeds only then). dvt took the rendered text
/// `"True"` for a string and failed.
#[test]
fn a_rendered_project_config_is_a_native_value_as_in_dbt() {
    let project = Project::new("native", Engine::DuckDb);
    project.write(
        "project.yml",
        "name: native\nprofile: native\nseeds:\n  native:\n    +enabled: \"{{ var('load_source_data', false) }}\"\n",
    );
    project.write("seeds/raw_people.csv", "id\n1\n");
    project.write("models/people.sql", "select 1 as id\n");
    let output = project.dvt_exits(0, &["ls"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        ["native.people"],
        "{output:?}"
    );
    let output = project.dvt_exits(0, &["ls", "--vars", "{load_source_data: true}"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        ["native.people", "native.raw_people"],
        "{output:?}"
    );
}

const EVENTS: &str = "id,occurred_at,amount\n1,2024-01-01 03:00:00,10\n2,2024-01-01 23:59:59,20\n\
                      3,2024-01-02 00:00:00,30\n4,2024-01-03 12:00:00,40\n5,2024-01-05 08:00:00,50\n";

/// Events with an `event_time`, and a daily microbatch model on them that
/// records which batch built each row.
fn microbatch_fixture(engine: Engine) -> Project {
    let project = Project::new("micro", engine);
    project.write("seeds/events.csv", EVENTS);
    project.write(
        "seeds/seeds.yml",
        "seeds:\n  - name: events\n    config:\n      event_time: occurred_at\n      column_types: {occurred_at: timestamp}\n",
    );
    project.write(
        "models/daily.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='id',\n\
         event_time='occurred_at', batch_size='day', begin='2024-01-01', lookback=1) }}\n\
         select id, occurred_at, amount * 2 as doubled,\n\
         '{{ model.batch.id if model.batch else \"none\" }}' as batch_id from {{ ref('events') }}\n",
    );
    project.dvt_exits(0, &["seed"]);
    project
}

fn daily_rows(project: &Project) -> Vec<Vec<Option<String>>> {
    project.rows("select cast(id as varchar), cast(doubled as varchar), batch_id from analytics.daily order by id")
}

// dbt-core 1.10.23 with dbt-postgres on this fixture, `dbt run
// --event-time-start 2024-01-01 --event-time-end 2024-01-06`: five daily
// batches (`Batch 1 of 5 ... [SELECT 2]`, then `MERGE 1`, `MERGE 1`,
// `MERGE 0`, `MERGE 1`), each row built by the batch of its day (a row at
// midnight is the next day's), each ref read as `(select * from ... where
// occurred_at >= '2024-01-02 00:00:00+00:00' and occurred_at < '2024-01-03
// 00:00:00+00:00') _dbt_et_filter_subq_events`, each batch's SQL in
// `daily/daily_<day>.sql`, and `batch_results` in run_results.json. Then
// a run bounded to one day rebuilds that day's batch only. dbt-duckdb 1.9
// refuses the strategy; dvt replaces the batch's window there, which gives
// the same rows.
matrix!(microbatch_builds_one_window_at_a_time_as_dbt_does);
fn microbatch_builds_one_window_at_a_time_as_dbt_does(engine: Engine) {
    let project = microbatch_fixture(engine);
    let output = project.dvt_exits(
        0,
        &[
            "run",
            "--event-time-start",
            "2024-01-01",
            "--event-time-end",
            "2024-01-06",
        ],
    );
    let stderr = output.stderr.clone();
    for line in [
        "Batch 1 of 5 OK created batch 2024-01-01 of analytics.daily",
        "Batch 5 of 5 OK created batch 2024-01-05",
    ] {
        assert!(stderr.contains(line), "`{line}` in:\n{stderr}");
    }
    assert_eq!(
        daily_rows(&project),
        table(&[
            &["1", "20", "20240101"],
            &["2", "40", "20240101"],
            &["3", "60", "20240102"],
            &["4", "80", "20240103"],
            &["5", "100", "20240105"],
        ])
    );
    let compiled = project.read("target/run/micro/models/daily/daily_2024-01-02.sql");
    let filter = "occurred_at >= '2024-01-02 00:00:00+00:00' and occurred_at < '2024-01-03 00:00:00+00:00')";
    assert!(compiled.contains(filter), "{compiled}");
    assert_eq!(
        compiled.contains("_dbt_et_filter_subq_events"),
        engine == Engine::Postgres,
        "{compiled}"
    );
    let results = json(&project, "target/run_results.json");
    let result = &results["results"][0];
    assert_eq!(result["status"], "success");
    assert_eq!(result["message"], "SUCCESS");
    assert_eq!(result["batch_results"]["failed"], serde_json::json!([]));
    assert_eq!(
        result["batch_results"]["successful"][1],
        serde_json::json!(["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00"])
    );
    assert_eq!(results["args"]["event_time_start"], "2024-01-01T00:00:00");

    // The source changes on the 2nd: only that batch is built again.
    project.write(
        "seeds/events.csv",
        &format!("{EVENTS}6,2024-01-02 10:00:00,60\n").replace("3,2024-01-02 00:00:00,30", "3,2024-01-02 00:00:00,35"),
    );
    project.dvt_exits(0, &["seed"]);
    project.write(
        "models/daily.sql",
        &project.read("models/daily.sql").replace("amount * 2", "amount * 3"),
    );
    project.dvt_exits(
        0,
        &[
            "run",
            "--event-time-start",
            "2024-01-02",
            "--event-time-end",
            "2024-01-03",
        ],
    );
    assert_eq!(
        daily_rows(&project),
        table(&[
            &["1", "20", "20240101"],
            &["2", "40", "20240101"],
            &["3", "105", "20240102"],
            &["4", "80", "20240103"],
            &["5", "100", "20240105"],
            &["6", "180", "20240102"],
        ])
    );
}

// dbt-core 1.10.23 on PostgreSQL, a model whose batch of 2024-01-03 fails:
// the other three are built (`1 of 2 PARTIALLY created sql microbatch model
// ... [PARTIAL SUCCESS (3/4)]`), the model's child is skipped, the exit
// code is 1, and `batch_results` lists the failed batch; `dbt retry` then
// builds that batch alone (`Batch 1 of 1 START batch 2024-01-03`) and the
// model succeeds, with all four batches successful.
matrix!(a_failed_batch_is_a_partial_success_and_retry_builds_it_alone);
fn a_failed_batch_is_a_partial_success_and_retry_builds_it_alone(engine: Engine) {
    let project = microbatch_fixture(engine);
    project.write(
        "models/daily.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='id',\n\
         event_time='occurred_at', batch_size='day', begin='2024-01-01') }}\n\
         select id, occurred_at,\n\
         {% if model.batch and model.batch.id == var('failing_day', '20240103') %}cast('oops' as integer){% else %}amount{% endif %} as a\n\
         from {{ ref('events') }}\n",
    );
    project.write("models/child.sql", "select * from {{ ref('daily') }}\n");
    let window = ["--event-time-start", "2024-01-01", "--event-time-end", "2024-01-05"];
    let output = project.dvt_exits(1, &[&["run"][..], &window[..]].concat());
    let stderr = output.stderr.clone();
    assert!(
        stderr.contains("Batch 3 of 4 ERROR creating batch 2024-01-03"),
        "{stderr}"
    );
    assert!(
        stderr.contains("PARTIALLY created sql microbatch model analytics.daily"),
        "{stderr}"
    );
    assert!(stderr.contains("[PARTIAL SUCCESS (3/4) in"), "{stderr}");
    let results = json(&project, "target/run_results.json");
    let status = |id: &str| -> String {
        results["results"]
            .as_array()
            .and_then(|results| results.iter().find(|result| result["unique_id"] == id))
            .map(|result| result["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert_eq!(status("model.micro.daily"), "partial success");
    assert_eq!(status("model.micro.child"), "skipped");
    assert_eq!(
        results["results"][0]["batch_results"]["failed"],
        serde_json::json!([["2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"]])
    );
    assert_eq!(count(&project, "daily"), "3");

    let output = project.dvt_exits(0, &["retry", "--vars", "{failing_day: none}"]);
    let stderr = output.stderr.clone();
    assert!(stderr.contains("Batch 1 of 1 OK created batch 2024-01-03"), "{stderr}");
    let results = json(&project, "target/run_results.json");
    let daily = results["results"]
        .as_array()
        .and_then(|results| results.iter().find(|result| result["unique_id"] == "model.micro.daily"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(daily["status"], "success");
    assert_eq!(daily["batch_results"]["successful"].as_array().map(Vec::len), Some(4));
    assert_eq!(count(&project, "daily"), "4");
    assert_eq!(count(&project, "child"), "4");
}

// dbt-core 1.10.23's checks: a microbatch model without `begin` fails to
// parse; `--event-time-start` needs `--event-time-end` (dbt's message);
// dbt-postgres merges a batch on its `unique_key` and raises without one,
// on the first batch that merges.
matrix!(microbatch_misconfigurations_fail_as_in_dbt);
fn microbatch_misconfigurations_fail_as_in_dbt(engine: Engine) {
    let project = microbatch_fixture(engine);
    let output = project.dvt_exits(2, &["run", "--event-time-start", "2024-01-01"]);
    assert!(
        output.stderr.contains("`--event-time-end` must also be present"),
        "{output:?}"
    );
    project.write(
        "models/daily.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='occurred_at', batch_size='day') }}\n\
         select * from {{ ref('events') }}\n",
    );
    let output = project.dvt_exits(2, &["run"]);
    let stderr = output.stderr.clone();
    assert!(stderr.contains("must provide a `begin`"), "{stderr}");
    assert!(stderr.contains("models/daily.sql:1:"), "{stderr}");
    project.write(
        "models/daily.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='occurred_at',\n\
         batch_size='day', begin='2024-01-01') }}\nselect * from {{ ref('events') }}\n",
    );
    let window = [
        "run",
        "--event-time-start",
        "2024-01-01",
        "--event-time-end",
        "2024-01-03",
    ];
    match engine {
        Engine::Postgres => {
            let output = project.dvt_exits(1, &window);
            let stderr = output.stderr.clone();
            assert!(
                stderr.contains("dbt-postgres 'microbatch' requires a `unique_key` config"),
                "{stderr}"
            );
        }
        Engine::DuckDb => {
            project.dvt_exits(0, &window);
            assert_eq!(count(&project, "daily"), "3");
        }
    }
}
