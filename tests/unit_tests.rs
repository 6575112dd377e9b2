//! End-to-end tests of dbt's unit tests: `unit_tests:` in schema YAML, run
//! by `dvt test` and first in `dvt build`, on PostgreSQL and DuckDB alike
//! ([`matrix!`]).
//!
//! The fixture is the project dbt-core 1.10.23 (dbt-postgres 1.9.1,
//! dbt-duckdb 1.9.6) was run on to get the expected statuses and messages:
//! a seed, a view on it (`stg_customers`), an incremental model with a var
//! and an env var (`customer_tiers`) and a view on that (`downstream`), and
//! one unit test per behaviour. Each PostgreSQL test has a database of its
//! own, dropped when done; each DuckDB test a file in its temp directory.

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

use std::collections::BTreeMap;

use engine::Engine;
use fixture::Project;
use serde_json::Value;

const UNIT_TESTS: &str = r#"version: 2
unit_tests:
  - name: test_tiers_dict
    description: tiers by score
    model: customer_tiers
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('stg_customers')
        rows:
          - {id: 1, name: a, score: 5}
          - {id: 2, name: b, score: 15}
    expect:
      rows:
        - {id: 1, tier: low}
        - {id: 2, tier: high}
  - name: test_tiers_fail
    model: customer_tiers
    config:
      tags: [failing]
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('stg_customers')
        rows:
          - {id: 1, name: a, score: 5}
          - {id: 2, name: b, score: 15}
          - {id: 3, name: c, score: 30}
    expect:
      rows:
        - {id: 1, tier: high}
        - {id: 2, tier: high}
        - {id: 4, tier: low}
  - name: test_tiers_csv
    model: customer_tiers
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('stg_customers')
        format: csv
        rows: |
          id,name,score
          1,a,5
          2,b,15
    expect:
      format: csv
      rows: |
        id,tier
        1,low
        2,high
  - name: test_tiers_sql
    model: customer_tiers
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('stg_customers')
        format: sql
        rows: |
          select 1 as id, 'a' as name, 5 as score, cast(null as date) as created_at
    expect:
      format: sql
      rows: |
        select 1 as id, 'a' as name, 'low' as tier, 'none' as env_name
  - name: test_tiers_fixture
    model: customer_tiers
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('stg_customers')
        format: csv
        fixture: tier_input
    expect:
      format: sql
      fixture: tier_expected
  - name: test_tiers_incremental
    model: customer_tiers
    overrides:
      macros:
        is_incremental: true
    given:
      - input: ref('stg_customers')
        rows:
          - {id: 1, name: a, score: 5}
          - {id: 2, name: b, score: 15}
          - {id: 3, name: c, score: 30}
      - input: this
        format: sql
        rows: select 1 as id
    expect:
      rows:
        - {id: 2, tier: high}
        - {id: 3, tier: high}
  - name: test_tiers_overrides
    model: customer_tiers
    overrides:
      macros:
        is_incremental: false
      vars:
        threshold: 100
      env_vars:
        TIER_ENV: prod
    given:
      - input: ref('stg_customers')
        rows:
          - {id: 1, score: 50}
    expect:
      rows:
        - {id: 1, tier: low, env_name: prod}
"#;

/// dbt-core's message for `test_tiers_fail`, on both adapters: row 1's tier
/// differs, row 2 is the context, row 3 is only actual, row 4 only expected.
const FAIL_MESSAGE: &str =
    "\n\nactual differs from expected:\n\n@@ ,id,tier\r\n→  ,1 ,high→low\r\n   ,2 ,high\r\n+++,3 ,high\r\n---,4 ,low\r\n\n";

fn tiers_project(engine: Engine) -> Project {
    let project = Project::new("unit", engine);
    project.write("project.yml", "name: unit\nprofile: unit\nvars:\n  threshold: 10\n");
    project.write(
        "seeds/raw_customers.csv",
        "id,name,score,created_at\n1,alice,5,2024-01-01\n2,bob,20,2024-02-01\n",
    );
    project.write(
        "models/stg_customers.sql",
        "select id, name, score, cast(created_at as date) as created_at from {{ ref('raw_customers') }}\n",
    );
    project.write(
        "models/customer_tiers.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\n\
         select id, name,\n  case when score >= {{ var('threshold') }} then 'high' else 'low' end as tier,\n  \
         '{{ env_var('TIER_ENV', 'none') }}' as env_name\nfrom {{ ref('stg_customers') }}\n\
         {% if is_incremental() %}\nwhere id > (select max(id) from {{ this }})\n{% endif %}\n",
    );
    project.write("models/downstream.sql", "select * from {{ ref('customer_tiers') }}\n");
    project.write("models/unit_tests.yml", UNIT_TESTS);
    project.write("tests/fixtures/tier_input.csv", "id,name,score\n1,a,5\n2,b,\n3,c,50\n");
    project.write(
        "tests/fixtures/tier_expected.sql",
        "select 1 as id, 'a' as name, 'low' as tier, 'none' as env_name\nunion all\n\
         select 2, 'b', 'low', 'none'\nunion all\nselect 3, 'c', 'high', 'none'\n",
    );
    project
}

/// Status, failures and message of each result in `run_results.json`.
fn results(project: &Project) -> BTreeMap<String, (String, Value, Value)> {
    let run_results: Value = serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    run_results["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            (
                result["unique_id"].as_str().unwrap_or_default().to_string(),
                (
                    result["status"].as_str().unwrap_or_default().to_string(),
                    result["failures"].clone(),
                    result["message"].clone(),
                ),
            )
        })
        .collect()
}

fn unit_id(name: &str) -> String {
    format!("unit_test.unit.customer_tiers.{name}")
}

matrix!(unit_tests_pass_in_every_format_and_with_overrides);
fn unit_tests_pass_in_every_format_and_with_overrides(engine: Engine) {
    let project = tiers_project(engine);
    // dbt types dict and csv rows from the input relation's columns, so the
    // inputs are built first, as for dbt.
    project.dvt_exits(0, &["seed"]);
    project.dvt_exits(0, &["run", "--select", "stg_customers"]);
    let output = project.dvt_exits(0, &["test", "--select", "test_type:unit", "--exclude", "tag:failing"]);
    let results = results(&project);
    // As dbt-core 1.10 on both adapters: each passes with 0 failures.
    // - dict: given and expected rows as mappings, expect over its columns only;
    // - csv: inline CSV text, values cast to the columns' types;
    // - sql: the input's query as is, and the expected query over every column;
    // - fixture: `tests/fixtures/tier_input.csv` (an empty value is null, so
    //   b's score is null and its tier low) and `tier_expected.sql`;
    // - incremental: `is_incremental: true` with `this` given, so the filter
    //   on `max(id)` of `this` keeps ids 2 and 3;
    // - overrides: `threshold: 100` makes a score of 50 low, and TIER_ENV prints.
    for name in [
        "test_tiers_csv",
        "test_tiers_dict",
        "test_tiers_fixture",
        "test_tiers_incremental",
        "test_tiers_overrides",
        "test_tiers_sql",
    ] {
        assert_eq!(
            results.get(&unit_id(name)),
            Some(&("pass".to_string(), Value::from(0), Value::Null)),
            "{name}: {output:?}"
        );
    }
    assert_eq!(results.len(), 6, "{results:?}");
    // dbt's progress line names the model and the test.
    assert!(
        output.stderr.contains("PASS customer_tiers::test_tiers_dict"),
        "{output:?}"
    );
    // The model itself was never built: unit tests need no upstream data.
    assert!(!project
        .read("target/run_results.json")
        .contains("model.unit.customer_tiers"));
}

matrix!(a_failing_unit_test_prints_the_differing_rows_as_dbt_does);
fn a_failing_unit_test_prints_the_differing_rows_as_dbt_does(engine: Engine) {
    let project = tiers_project(engine);
    project.dvt_exits(0, &["seed"]);
    project.dvt_exits(0, &["run", "--select", "stg_customers"]);
    let output = project.dvt_exits(1, &["test", "--select", "test_tiers_fail"]);
    // dbt-core 1.10's result: `fail` with 1 failure and daff's diff of the
    // sorted rows as the message, byte for byte (`\r\n` line ends included).
    assert_eq!(
        results(&project).get(&unit_id("test_tiers_fail")),
        Some(&("fail".to_string(), Value::from(1), Value::from(FAIL_MESSAGE)))
    );
    // And its printed summary.
    assert!(
        output
            .stderr
            .contains("Failure in unit_test test_tiers_fail (models/unit_tests.yml)"),
        "{output:?}"
    );
    for line in [
        "@@ ,id,tier",
        "→  ,1 ,high→low",
        "   ,2 ,high",
        "+++,3 ,high",
        "---,4 ,low",
    ] {
        assert!(output.stderr.contains(line), "`{line}` in {output:?}");
    }
    assert!(
        output.stderr.contains("FAIL 1 customer_tiers::test_tiers_fail"),
        "{output:?}"
    );
}

matrix!(build_runs_unit_tests_first_and_a_failure_skips_the_model);
fn build_runs_unit_tests_first_and_a_failure_skips_the_model(engine: Engine) {
    let project = tiers_project(engine);
    // Only the dict test and the failing one, as in dbt's run of this fixture.
    let two: String = UNIT_TESTS
        .split("  - name: test_tiers_csv")
        .next()
        .unwrap_or_default()
        .to_string();
    project.write("models/unit_tests.yml", &two);
    project.dvt_exits(1, &["build"]);
    let results = results(&project);
    // dbt-core 1.10's `build` of this project: the seed and the view on it
    // build, the unit tests of customer_tiers run after its parents, the
    // failing one fails, and the model, its other unit test and the model
    // built on it are skipped.
    assert_eq!(results["seed.unit.raw_customers"].0, "success");
    assert_eq!(results["model.unit.stg_customers"].0, "success");
    assert_eq!(
        results[&unit_id("test_tiers_fail")],
        ("fail".to_string(), Value::from(1), Value::from(FAIL_MESSAGE))
    );
    // dbt runs a model's unit tests one after another and skips the rest
    // after a failure; dvt runs them in unique-id order, so the dict test
    // (before `fail`) passes here, where dbt's order is a set's.
    assert_eq!(results[&unit_id("test_tiers_dict")].0, "pass");
    assert_eq!(results["model.unit.customer_tiers"].0, "skipped");
    assert_eq!(results["model.unit.downstream"].0, "skipped");
    assert_eq!(results.len(), 6, "{results:?}");
    // Once the unit tests pass, build builds the model.
    project.write(
        "models/unit_tests.yml",
        &two.replace("- {id: 4, tier: low}", "- {id: 3, tier: high}")
            .replace("{id: 1, tier: high}", "{id: 1, tier: low}"),
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(results_of(&project, "model.unit.downstream"), "success");
    assert_eq!(
        project.rows("select cast(count(*) as varchar) from analytics.downstream"),
        vec![vec![Some("2".to_string())]]
    );
}

fn results_of(project: &Project, id: &str) -> String {
    results(project)
        .get(id)
        .map(|result| result.0.clone())
        .unwrap_or_default()
}

matrix!(an_input_that_does_not_exist_fails_as_in_dbt);
fn an_input_that_does_not_exist_fails_as_in_dbt(engine: Engine) {
    let project = tiers_project(engine);
    // Nothing built: dbt reads the input's columns from the warehouse and
    // fails with this message when the relation is missing.
    let output = project.dvt_exits(1, &["test", "--select", "test_tiers_dict"]);
    let message = results(&project)[&unit_id("test_tiers_dict")].2.to_string();
    assert!(
        message.contains("Not able to get columns for unit test 'stg_customers' from relation")
            && message.contains("because the relation doesn't exist"),
        "{message}: {output:?}"
    );
    // A `sql` input needs no relation: that test runs without anything built.
    project.dvt_exits(0, &["test", "--select", "test_tiers_sql"]);
}

matrix!(unit_tests_are_resources_listed_and_selected_as_in_dbt);
fn unit_tests_are_resources_listed_and_selected_as_in_dbt(engine: Engine) {
    let project = tiers_project(engine);
    // `dbt ls --resource-type unit_test` prints `unit_test:<package>.<name>`.
    let output = project.dvt_exits(0, &["ls", "--resource-type", "unit_test"]);
    let listed: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("unit_test:"))
        .collect();
    assert_eq!(
        listed,
        [
            "unit_test:unit.test_tiers_csv",
            "unit_test:unit.test_tiers_dict",
            "unit_test:unit.test_tiers_fail",
            "unit_test:unit.test_tiers_fixture",
            "unit_test:unit.test_tiers_incremental",
            "unit_test:unit.test_tiers_overrides",
            "unit_test:unit.test_tiers_sql",
        ]
    );
    // Selecting the model selects its unit tests, as dbt's indirect selection.
    let output = project.dvt_exits(0, &["ls", "--select", "customer_tiers"]);
    assert!(output.stdout.contains("unit_test:unit.test_tiers_dict"), "{output:?}");
    // In an intersection the model brings its unit tests, as dbt's eager
    // indirect selection expands each criterion first: dbt-core 1.10's
    // `ls --select customer_tiers,test_type:unit` lists the model's 7.
    let output = project.dvt_exits(0, &["ls", "--select", "customer_tiers,test_type:unit"]);
    assert_eq!(output.stdout.lines().count(), 7, "{output:?}");
    assert!(
        output.stdout.lines().all(|line| line.starts_with("unit_test:unit.")),
        "{output:?}"
    );
    let output = project.dvt_exits(0, &["ls", "--select", "stg_customers,test_type:unit"]);
    assert_eq!(output.stdout.trim(), "", "{output:?}");
    // By name and tag, as dbt selects them.
    let output = project.dvt_exits(0, &["ls", "--select", "tag:failing"]);
    assert_eq!(
        output
            .stdout
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.contains("profiles.yml"))
            .collect::<Vec<_>>(),
        ["unit_test:unit.test_tiers_fail"]
    );
    // manifest.json lists them under `unit_tests` in dbt's shape.
    project.dvt_exits(0, &["parse"]);
    let manifest: Value = serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json");
    let entry = &manifest["unit_tests"][unit_id("test_tiers_dict")];
    assert_eq!(entry["resource_type"], "unit_test");
    assert_eq!(entry["model"], "customer_tiers");
    assert_eq!(entry["path"], "unit_tests.yml");
    assert_eq!(entry["original_file_path"], "models/unit_tests.yml");
    assert_eq!(
        entry["fqn"],
        serde_json::json!(["unit", "customer_tiers", "test_tiers_dict"])
    );
    assert_eq!(
        entry["depends_on"]["nodes"],
        serde_json::json!(["model.unit.customer_tiers"])
    );
    assert_eq!(
        entry["config"],
        serde_json::json!({"tags": [], "meta": {}, "enabled": true})
    );
    assert_eq!(
        entry["overrides"]["macros"],
        serde_json::json!({"is_incremental": false})
    );
    assert_eq!(entry["given"][0]["input"], "ref('stg_customers')");
    assert_eq!(entry["given"][0]["format"], "dict");
    // A csv fixture's rows are read into mappings, an empty value null.
    let fixture = &manifest["unit_tests"][unit_id("test_tiers_fixture")];
    assert_eq!(fixture["given"][0]["fixture"], "tier_input");
    assert_eq!(
        fixture["given"][0]["rows"][1],
        serde_json::json!({"id": "2", "name": "b", "score": null})
    );
    assert!(manifest["nodes"].get(unit_id("test_tiers_dict")).is_none());
    assert_eq!(
        manifest["child_map"]["model.unit.customer_tiers"]
            .as_array()
            .map(|children| children
                .iter()
                .filter(|child| child.as_str().is_some_and(|id| id.starts_with("unit_test.")))
                .count()),
        Some(7)
    );
}

/// A root project whose installed package `pkg` has unit tests, and whose
/// project file configures unit tests by folder and by package.
fn package_project(engine: Engine) -> Project {
    let project = Project::new("unit", engine);
    project.write(
        "project.yml",
        "name: root\nprofile: unit\nunit_tests:\n  root:\n    +tags: [root_tag]\n    +meta: {owner: root}\n    \
         sub:\n      +enabled: false\n  pkg:\n    +tags: [from_root]\n",
    );
    project.write(
        "dbt_packages/pkg/dbt_project.yml",
        "name: pkg\nversion: '1.0'\nunit_tests:\n  pkg:\n    +tags: [pkg_own]\n    +meta: {level: pkg}\n",
    );
    project.write("dbt_packages/pkg/models/pkg_model.sql", "select 1 as id, 'a' as name\n");
    project.write(
        "dbt_packages/pkg/models/pkg_child.sql",
        "select id * 2 as doubled from {{ ref('pkg_model') }}\n",
    );
    project.write(
        "dbt_packages/pkg/models/schema.yml",
        "version: 2\nunit_tests:\n  - name: pkg_doubles\n    model: pkg_child\n    given:\n      \
         - input: ref('pkg_model')\n        rows: [{id: 2}]\n    expect:\n      rows: [{doubled: 4}]\n  \
         - name: pkg_fails\n    model: pkg_child\n    config:\n      tags: [inline]\n    given:\n      \
         - input: ref('pkg_model')\n        rows: [{id: 2}]\n    expect:\n      rows: [{doubled: 5}]\n",
    );
    for (folder, model, test) in [
        ("models", "root_model", "root_plus"),
        ("models/sub", "sub_model", "sub_plus"),
    ] {
        project.write(
            &format!("{folder}/{model}.sql"),
            "select id + 1 as plus from {{ ref('pkg_model') }}\n",
        );
        let config = if test == "root_plus" {
            "    config:\n      tags: [own]\n      meta: {x: 1}\n"
        } else {
            ""
        };
        project.write(
            &format!("{folder}/schema.yml"),
            &format!(
                "version: 2\nunit_tests:\n  - name: {test}\n    model: {model}\n{config}    given:\n      \
                 - input: ref('pkg_model')\n        rows: [{{id: 2}}]\n    expect:\n      rows: [{{plus: 3}}]\n"
            ),
        );
    }
    project
}

matrix!(unit_tests_of_packages_run_and_the_project_file_configures_them);
fn unit_tests_of_packages_run_and_the_project_file_configures_them(engine: Engine) {
    let project = package_project(engine);
    // dbt-core 1.10 reads the unit tests of installed packages too, as nodes
    // of their package, and lists and runs them by default.
    let output = project.dvt_exits(0, &["ls", "--resource-type", "unit_test"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        [
            "unit_test:pkg.pkg_doubles",
            "unit_test:pkg.pkg_fails",
            "unit_test:root.root_plus"
        ],
        "{output:?}"
    );
    // dbt's configs, from its manifest.json on the same project: the
    // project's `unit_tests:` tree, then the YAML `config:`, then (for a
    // package) the root project's `unit_tests: pkg:` tree; tags add up,
    // meta merges, and `sub: +enabled: false` disables `sub_plus`.
    project.dvt_exits(0, &["parse"]);
    let manifest: Value = serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json");
    let unit_tests = &manifest["unit_tests"];
    assert_eq!(
        unit_tests
            .as_object()
            .map(|tests| tests.keys().cloned().collect::<Vec<_>>()),
        Some(vec![
            "unit_test.pkg.pkg_child.pkg_doubles".to_string(),
            "unit_test.pkg.pkg_child.pkg_fails".to_string(),
            "unit_test.root.root_model.root_plus".to_string(),
        ])
    );
    let config = |id: &str| unit_tests[id]["config"].clone();
    assert_eq!(
        config("unit_test.pkg.pkg_child.pkg_doubles"),
        serde_json::json!({"tags": ["pkg_own", "from_root"], "meta": {"level": "pkg"}, "enabled": true})
    );
    assert_eq!(
        config("unit_test.pkg.pkg_child.pkg_fails"),
        serde_json::json!({"tags": ["pkg_own", "inline", "from_root"], "meta": {"level": "pkg"}, "enabled": true})
    );
    assert_eq!(
        config("unit_test.root.root_model.root_plus"),
        serde_json::json!({"tags": ["root_tag", "own"], "meta": {"owner": "root", "x": 1}, "enabled": true})
    );
    let package_test = &unit_tests["unit_test.pkg.pkg_child.pkg_fails"];
    assert_eq!(package_test["package_name"], "pkg");
    assert_eq!(package_test["original_file_path"], "models/schema.yml");
    assert_eq!(package_test["path"], "schema.yml");
    assert_eq!(
        package_test["fqn"],
        serde_json::json!(["pkg", "pkg_child", "pkg_fails"])
    );
    assert_eq!(
        package_test["depends_on"]["nodes"],
        serde_json::json!(["model.pkg.pkg_child"])
    );
    // Selected by the tags the trees give.
    let output = project.dvt_exits(0, &["ls", "--select", "tag:from_root"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        ["unit_test:pkg.pkg_doubles", "unit_test:pkg.pkg_fails"]
    );

    // `dbt build` runs the package's unit tests: the failing one fails the
    // build and skips its model; the root project's passes and builds its
    // model. (Whether dbt also skips `pkg_doubles` depends on which of the
    // two it happens to run first, so that one is not pinned.)
    let output = project.dvt_exits(1, &["build"]);
    let results = results(&project);
    let status = |id: &str| results.get(id).map(|result| result.0.as_str());
    assert_eq!(status("unit_test.pkg.pkg_child.pkg_fails"), Some("fail"));
    assert_eq!(status("model.pkg.pkg_child"), Some("skipped"));
    assert_eq!(status("unit_test.root.root_model.root_plus"), Some("pass"));
    assert_eq!(status("model.root.root_model"), Some("success"));
    assert_eq!(status("model.root.sub_model"), Some("success"));
    assert_eq!(status("unit_test.root.sub_model.sub_plus"), None);
    // The failure names the schema file relative to its package, as dbt does.
    assert!(
        output
            .stderr
            .contains("Failure in unit_test pkg_fails (models/schema.yml)"),
        "{output:?}"
    );
    // And `dbt test` runs them too.
    project.dvt_exits(1, &["test"]);
    assert_eq!(results_of(&project, "unit_test.pkg.pkg_child.pkg_doubles"), "pass");
}

/// Malformed unit tests are errors before anything connects, at their line.
#[test]
fn malformed_unit_tests_are_errors_at_their_line() {
    let project = tiers_project(Engine::DuckDb);
    let cases = [
        (
            "  - name: bad_model\n    model: customer_tier\n    given: []\n    expect: {rows: []}\n",
            "unable to find model `unit.customer_tier` for unit test `bad_model`",
            "models/bad.yml:4",
            "did you mean `customer_tiers`?",
        ),
        (
            "  - name: bad_fixture\n    model: stg_customers\n    given:\n      - input: ref('raw_customers')\n        format: csv\n        fixture: no_such_file\n    expect: {rows: []}\n",
            "File not found for fixture 'no_such_file' in unit tests in models/bad.yml",
            "models/bad.yml:8",
            "`tests/fixtures/`",
        ),
        (
            "  - name: bad_rows\n    model: stg_customers\n    given:\n      - input: ref('raw_customers')\n        rows: {id: 1}\n    expect: {rows: []}\n",
            "Unit test bad_rows has input rows which do not match format dict",
            "models/bad.yml:7",
            "list of mappings",
        ),
    ];
    for (entry, message, location, hint) in cases {
        project.write("models/bad.yml", &format!("version: 2\nunit_tests:\n{entry}"));
        let output = project.dvt_exits(2, &["parse"]);
        assert!(output.stderr.contains(message), "`{message}` in {output:?}");
        assert!(output.stderr.contains(location), "`{location}` in {output:?}");
        assert!(output.stderr.contains(hint), "`{hint}` in {output:?}");
    }
}
