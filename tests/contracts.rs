//! End-to-end tests of model contracts and constraints on PostgreSQL and
//! DuckDB ([`matrix!`]): an enforced contract that holds builds the table
//! with the declared types, one that does not fails with dbt's table of
//! mismatches, and each constraint becomes DDL the warehouse enforces.
//!
//! The expected messages, types and DDL effects are dbt-core 1.10.23's, from
//! `dbt run` with dbt-postgres and dbt-duckdb on the same models.

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

/// Runs one statement, returning whether the warehouse accepted it.
fn accepts(project: &Project, engine: Engine, sql: &str) -> bool {
    match engine {
        Engine::Postgres => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            project.postgres(&project.database, sql);
        }))
        .is_ok(),
        Engine::DuckDb => {
            let path = project.path().join(profile::DUCKDB_FILE);
            let connection = duckdb::Connection::open(&path).expect("open the DuckDB file");
            connection.execute_batch(sql).is_ok()
        }
    }
}

const SCHEMA: &str = "version: 2
models:
  - name: good
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: primary_key
      - name: name
        data_type: varchar(20)
      - name: amount
        data_type: numeric(10,2)
  - name: bad
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: bigint
      - name: name
        data_type: text
      - name: missing_col
        data_type: int
  - name: cons
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        expression: \"qty > 0\"
        name: qty_positive
      - type: unique
        columns: [id, code]
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: not_null
          - type: primary_key
      - name: parent_id
        data_type: integer
        constraints:
          - type: foreign_key
            to: ref('good')
            to_columns: [id]
      - name: code
        data_type: text
        constraints:
          - type: unique
          - type: check
            expression: \"code <> ''\"
      - name: qty
        data_type: int
  - name: vw
    config:
      materialized: view
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: not_null
";

fn contract_project(engine: Engine) -> Project {
    let project = Project::new("con", engine);
    project.write(
        "project.yml",
        "name: con\nprofile: con\nmodels:\n  con:\n    +materialized: table\n",
    );
    project.write("models/schema.yml", SCHEMA);
    project.write(
        "models/good.sql",
        "select 1 as id, cast('a' as text) as name, cast(2.5 as numeric(10,2)) as amount\n",
    );
    project.write(
        "models/bad.sql",
        "select 1 as id, cast('a' as text) as name, 3 as extra\n",
    );
    project.write(
        "models/cons.sql",
        "select 1 as id, 1 as parent_id, 'x' as code, 5 as qty\n",
    );
    project.write("models/vw.sql", "select 1 as id\n");
    project
}

matrix!(an_enforced_contract_checks_columns_and_builds_with_the_declared_types);
fn an_enforced_contract_checks_columns_and_builds_with_the_declared_types(engine: Engine) {
    let project = contract_project(engine);
    let output = project.dvt_exits(1, &["run"]);
    // dbt-core 1.10's error, with the types as dbt-postgres (psycopg2's
    // names) and dbt-duckdb report them.
    let expected = engine.pick(
        "| column_name | definition_type | contract_type | mismatch_reason       |\n\
         | ----------- | --------------- | ------------- | --------------------- |\n\
         | extra       | INTEGER         |               | missing in contract   |\n\
         | id          | INTEGER         | LONGINTEGER   | data type mismatch    |\n\
         | missing_col |                 | INTEGER       | missing in definition |\n",
        "| column_name | definition_type | contract_type | mismatch_reason       |\n\
         | ----------- | --------------- | ------------- | --------------------- |\n\
         | extra       | INTEGER         |               | missing in contract   |\n\
         | id          | INTEGER         | BIGINT        | data type mismatch    |\n\
         | missing_col |                 | INTEGER       | missing in definition |\n",
    );
    assert!(
        output
            .stderr
            .contains("This model has an enforced contract that failed."),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains(expected), "{}", output.stderr);
    // The failed model is not built; the others are.
    assert_eq!(
        project.rows(
            "select table_name from information_schema.tables where table_schema = 'analytics' order by table_name"
        ),
        [["cons"], ["good"], ["vw"]].map(|row| row.map(|name| Some(name.to_string())).to_vec())
    );
    // dbt creates the table with the contract's types: `text` in the
    // query, `varchar(20)` in the table (DuckDB keeps no length).
    assert_eq!(
        project.rows(
            "select data_type, cast(character_maximum_length as varchar) from information_schema.columns \
             where table_schema = 'analytics' and table_name = 'good' and column_name = 'name'"
        ),
        [[
            Some(engine.pick("character varying", "VARCHAR").to_string()),
            engine.pick(Some("20".to_string()), None)
        ]
        .to_vec()]
    );
    // A view gets dbt's warning: it cannot hold constraints.
    assert!(
        output
            .stderr
            .contains("Constraint types are not supported for view materializations"),
        "{}",
        output.stderr
    );
}

matrix!(constraints_become_ddl_the_warehouse_enforces);
fn constraints_become_ddl_the_warehouse_enforces(engine: Engine) {
    let project = contract_project(engine);
    project.dvt_exits(0, &["run", "--select", "good", "cons"]);
    let insert = |values: &str| {
        accepts(
            &project,
            engine,
            &format!("insert into analytics.cons (id, parent_id, code, qty) values ({values})"),
        )
    };
    // dbt-postgres and dbt-duckdb enforce every constraint type.
    assert!(insert("2, 1, 'y', 1"), "a row meeting every constraint");
    assert!(!insert("null, 1, 'z', 1"), "not_null");
    assert!(!insert("1, 1, 'w', 1"), "primary_key");
    assert!(!insert("3, 1, 'x', 1"), "unique");
    assert!(!insert("4, 1, '', 1"), "column check");
    assert!(!insert("5, 1, 'v', 0"), "model check `qty_positive`");
    assert!(!insert("6, 99, 'u', 1"), "foreign_key to ref('good')");
    assert_eq!(
        project.rows("select cast(count(*) as varchar) from analytics.cons"),
        [[Some("2".to_string())].to_vec()]
    );
    // The manifest carries the contract and constraints as dbt's does.
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json is JSON");
    let cons = &manifest["nodes"]["model.con.cons"];
    assert_eq!(cons["contract"]["enforced"], true);
    assert_eq!(cons["contract"]["alias_types"], true);
    assert_eq!(
        cons["constraints"][0],
        serde_json::json!({"type": "check", "name": "qty_positive", "expression": "qty > 0", "warn_unenforced": true, "warn_unsupported": true, "to": null, "to_columns": [], "columns": []})
    );
    assert_eq!(
        cons["columns"]["parent_id"]["constraints"][0],
        serde_json::json!({"type": "foreign_key", "name": null, "expression": null, "warn_unenforced": true, "warn_unsupported": true, "to": "ref('good')", "to_columns": ["id"]})
    );
    assert_eq!(cons["depends_on"]["nodes"], serde_json::json!(["model.con.good"]));
}
