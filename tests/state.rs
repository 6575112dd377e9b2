//! State comparison (`--state`, `state:` selectors), `--defer` and `dvt diff`,
//! end to end: the real binary on the `state_base` and `state_changed` fixtures
//! (offline), and on the example project against PostgreSQL.
//!
//! `state_changed` is `state_base` after a pull request that makes one change of
//! every kind:
//! - body: `stg_orders` gains a filter, and the seed `raw_stores` a row
//! - whitespace only, which is no change: `stg_customers` is reformatted
//! - configs: `dim_customers` gains a tag in YAML
//! - macros: `cents_to_dollars`, which `stg_payments` calls, now rounds
//! - contract: a data type of `fct_orders` changes; `customer_revenue` reads it
//! - relation: `dim_stores` gets an alias
//! - new: `order_counts`
//!
//! The base is compiled with the `prod` target (schema `prod`) and the pull
//! request with `dev` (schema `analytics`), so deferred refs are easy to tell
//! apart, and a changed target alone must not count as a change.

#[path = "support/tree.rs"]
mod tree;

#[path = "support/command.rs"]
mod command;
#[path = "support/deps.rs"]
mod deps;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use tree::copy_tree;

use serde_json::Value;
use sqlx::{ConnectOptions, Row};
use tempfile::TempDir;

mod common;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `dvt <args> --project-dir . --profiles-dir .` in `dir`.
fn dvt(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command::dvt_command();
    command.current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .args(args)
        .args(["--project-dir", ".", "--profiles-dir", "."])
        .output()
        .expect("run dvt")
}

/// Runs dvt and insists that it succeeds.
fn dvt_ok(dir: &Path, args: &[&str]) -> Output {
    let output = dvt(dir, args, &[]);
    assert!(
        output.status.success(),
        "dvt {} failed:\n{}{}",
        args.join(" "),
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// `base/` (state_base, compiled with the prod target) and `changed/`
/// (state_changed), side by side, so that `--state ../base/target` reads the
/// same in every run.
struct Workspace {
    root: TempDir,
}

impl Workspace {
    fn new() -> Self {
        let root = TempDir::new().expect("create a temporary directory");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures");
        for (fixture, name) in [("state_base", "base"), ("state_changed", "changed")] {
            copy_tree(&fixtures.join(fixture), &root.path().join(name), &["target"]);
        }
        let workspace = Workspace { root };
        dvt_ok(&workspace.base(), &["compile", "--target", "prod"]);
        workspace
    }

    fn base(&self) -> PathBuf {
        self.root.path().join("base")
    }

    fn changed(&self) -> PathBuf {
        self.root.path().join("changed")
    }

    fn read(&self, relative: &str) -> String {
        let path = self.root.path().join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
    }

    /// The names `dvt ls --select <selector>` prints for the pull request.
    fn ls(&self, selector: &str) -> BTreeSet<String> {
        let output = dvt_ok(
            &self.changed(),
            &[
                "ls",
                "--output",
                "name",
                "--state",
                "../base/target",
                "--select",
                selector,
            ],
        );
        text(&output.stdout).lines().map(str::to_owned).collect()
    }

    /// The SQL `dvt compile <args>` writes for `fct_orders` in the pull request.
    fn compiled_fct_orders(&self, args: &[&str]) -> String {
        let mut all = vec!["compile"];
        all.extend_from_slice(args);
        dvt_ok(&self.changed(), &all);
        self.read("changed/target/compiled/shop/models/marts/fct_orders.sql")
    }
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// Each kind of change selects exactly the nodes it changed, with their tests
/// (selected indirectly, as always). As in dbt, a new node counts as modified
/// in every way.
#[test]
fn each_kind_of_change_selects_exactly_the_changed_nodes() {
    let workspace = Workspace::new();
    let stg_orders_tests = ["unique_stg_orders_order_id", "not_null_stg_orders_order_id"];
    let fct_orders_tests = ["unique_fct_orders_order_id", "not_null_fct_orders_order_id"];
    let body = [&["stg_orders", "raw_stores", "order_counts"][..], &stg_orders_tests].concat();
    // The model whose contract changed, and the model reading it.
    let contract = [
        &["fct_orders", "customer_revenue", "order_counts"][..],
        &fct_orders_tests,
    ]
    .concat();
    let all = [
        &[
            "stg_orders",
            "raw_stores",
            "dim_customers",
            "stg_payments",
            "fct_orders",
            "customer_revenue",
            "dim_stores",
            "order_counts",
        ][..],
        &stg_orders_tests,
        &fct_orders_tests,
    ]
    .concat();
    let cases: &[(&str, &[&str])] = &[
        ("state:modified.body", &body),
        ("state:modified.configs", &["dim_customers", "order_counts"]),
        ("state:modified.macros", &["stg_payments", "order_counts"]),
        ("state:modified.contract", &contract),
        ("state:modified.relation", &["dim_stores", "order_counts"]),
        ("state:new", &["order_counts"]),
        ("state:modified", &all),
        ("state:modified,resource_type:seed", &["raw_stores"]),
    ];
    for (selector, expected) in cases {
        assert_eq!(workspace.ls(selector), names(expected), "--select {selector}");
    }
    // Only whitespace changed in stg_customers.
    assert!(!workspace.ls("state:modified").contains("stg_customers"));
    assert!(workspace.ls("state:old").contains("stg_customers"));
    assert!(workspace.ls("state:unmodified").contains("stg_customers"));
}

/// `state:modified+` selects the changed nodes and every descendant, tests and
/// exposures included, and nothing upstream of them.
#[test]
fn state_modified_plus_selects_the_changed_nodes_and_their_children() {
    let workspace = Workspace::new();
    let expected = names(&[
        // body, and downstream
        "stg_orders",
        "unique_stg_orders_order_id",
        "not_null_stg_orders_order_id",
        "order_counts",
        "raw_stores",
        "stg_stores",
        "dim_stores",
        // configs, macros and contract, and downstream
        "dim_customers",
        "stg_payments",
        "fct_orders",
        "unique_fct_orders_order_id",
        "not_null_fct_orders_order_id",
        "customer_revenue",
        "revenue_dashboard",
    ]);
    assert_eq!(workspace.ls("state:modified+"), expected);
    // Per kind: the relation change has no children; the body change has many.
    assert_eq!(
        workspace.ls("state:modified.relation+"),
        names(&["dim_stores", "order_counts"])
    );
    assert_eq!(
        workspace.ls("state:modified.configs+"),
        names(&["dim_customers", "customer_revenue", "revenue_dashboard", "order_counts"])
    );
    assert_eq!(
        workspace.ls("+state:modified.macros,resource_type:seed"),
        // stg_payments' seed, and the seed under the new order_counts.
        names(&["raw_payments", "raw_orders"])
    );
}

/// The base compared with its own manifest, written for another target, has
/// no changes: relations that differ only by target schema are not a change.
#[test]
fn an_unchanged_project_has_no_changes() {
    let workspace = Workspace::new();
    let output = dvt_ok(
        &workspace.base(),
        &[
            "ls",
            "--state",
            "target",
            "--select",
            "state:modified",
            "--output",
            "name",
        ],
    );
    assert_eq!(text(&output.stdout), "");
    let output = dvt_ok(&workspace.base(), &["diff", "--state", "target"]);
    assert_eq!(
        text(&output.stdout),
        "No changes compared with `target/manifest.json`.\n"
    );
}

#[test]
fn diff_lists_changes_and_their_downstream_impact() {
    let workspace = Workspace::new();
    let output = dvt_ok(&workspace.changed(), &["diff", "--state", "../base/target"]);
    insta::assert_snapshot!("diff_text", text(&output.stdout));
    let output = dvt_ok(
        &workspace.changed(),
        &["diff", "--state", "../base/target", "--format", "markdown"],
    );
    insta::assert_snapshot!("diff_markdown", text(&output.stdout));
}

/// With `--defer`, refs to unselected nodes read the base's relations; selected
/// nodes, and nodes the base lacks, resolve as usual.
#[test]
fn defer_resolves_unselected_refs_to_the_base_relations() {
    let workspace = Workspace::new();
    let state = ["--state", "../base/target"];

    let sql = workspace.compiled_fct_orders(&["--select", "fct_orders"]);
    assert!(sql.contains(r#"from "dvt_fixture"."analytics"."stg_orders""#), "{sql}");

    let sql = workspace.compiled_fct_orders(&["--select", "fct_orders", "--defer", state[0], state[1]]);
    assert!(sql.contains(r#"from "dvt_fixture"."prod"."stg_orders" as o"#), "{sql}");
    assert!(
        sql.contains(r#"join "dvt_fixture"."prod"."stg_payments" as p"#),
        "{sql}"
    );

    // stg_orders is selected, so it is built in this run and read from there.
    let sql = workspace.compiled_fct_orders(&["--select", "stg_orders+", "--defer", state[0], state[1]]);
    assert!(
        sql.contains(r#"from "dvt_fixture"."analytics"."stg_orders" as o"#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"join "dvt_fixture"."prod"."stg_payments" as p"#),
        "{sql}"
    );

    // A node the base does not have is read from this run.
    let mut manifest: Value = serde_json::from_str(&workspace.read("base/target/manifest.json")).expect("JSON");
    manifest["nodes"]
        .as_object_mut()
        .expect("nodes")
        .remove("model.shop.stg_payments")
        .expect("stg_payments is in the base");
    std::fs::write(
        workspace.base().join("target/manifest.json"),
        serde_json::to_vec(&manifest).expect("serialise"),
    )
    .expect("write the manifest");
    let sql = workspace.compiled_fct_orders(&["--select", "fct_orders", "--defer", state[0], state[1]]);
    assert!(sql.contains(r#"from "dvt_fixture"."prod"."stg_orders" as o"#), "{sql}");
    assert!(
        sql.contains(r#"join "dvt_fixture"."analytics"."stg_payments" as p"#),
        "{sql}"
    );
}

/// `--defer` and `state:` selectors need `--state`, and a missing manifest is
/// named.
#[test]
fn state_flags_explain_what_is_missing() {
    let workspace = Workspace::new();
    let changed = workspace.changed();

    let output = dvt(&changed, &["compile", "--defer", "--select", "fct_orders"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--state <DIR>"),
        "{}",
        text(&output.stderr)
    );

    let output = dvt(&changed, &["ls", "--select", "state:modified+"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr)
            .starts_with("error: selector `state:modified+` compares with another run, but no `--state` was given"),
        "{}",
        text(&output.stderr)
    );

    let output = dvt(&changed, &["diff", "--state", "../prod"], &[]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(text(&output.stderr), @r"
    error: no manifest to compare with: `../prod/manifest.json` does not exist
    hint: point `--state` at the target directory of the run to compare with (it holds `manifest.json`), for example a copy of production's `target/`
    ");
}

// ---------------------------------------------------------------------------
// The example project against PostgreSQL

/// A database of its own, dropped when done, even on panic.
struct Database {
    server: common::Server,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let database = Database {
            server: common::Server::from_env(),
            name: format!("dvt_state_{}", &suffix[..12]),
            runtime,
        };
        database.admin(&format!("create database \"{}\"", database.name));
        database
    }

    fn admin(&self, sql: &str) {
        self.runtime
            .block_on(async {
                let mut connection = self.server.options(&self.server.admin_database).connect().await?;
                sqlx::raw_sql(sql).execute(&mut connection).await
            })
            .unwrap_or_else(|error| panic!("admin `{sql}`: {error}"));
    }

    /// The first column of every row of `sql`, as text.
    fn strings(&self, sql: &str) -> BTreeSet<String> {
        self.runtime
            .block_on(async {
                let mut connection = self.server.options(&self.name).connect().await?;
                sqlx::query(sql).fetch_all(&mut connection).await
            })
            .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect()
    }

    /// A profile for the example project with a `prod` and a `pr` target.
    fn profiles(&self) -> String {
        let target = |schema: &str| {
            format!(
                "    {schema}:\n      type: postgres\n      host: {host}\n      port: {port}\n      user: {user}\n      \
                 password: \"{{{{ env_var('DVT_PG_PASSWORD') }}}}\"\n      dbname: {database}\n      \
                 schema: {schema}\n      threads: 4\n",
                host = self.server.host,
                port = self.server.port,
                user = self.server.user,
                database = self.name,
            )
        };
        format!(
            "dvdrental:\n  target: pr\n  outputs:\n{}{}",
            target("prod"),
            target("pr")
        )
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Never panic here: this may run while a failed test unwinds.
        let sql = format!("drop database if exists \"{}\" with (force)", self.name);
        let dropped = self.runtime.block_on(async {
            let mut connection = self.server.options(&self.server.admin_database).connect().await?;
            sqlx::raw_sql(&sql).execute(&mut connection).await
        });
        if let Err(error) = dropped {
            eprintln!("could not drop test database `{}`: {error}", self.name);
        }
    }
}

/// The unique ids in `run_results.json`, with their statuses.
fn run_results(project: &Path) -> Vec<(String, String)> {
    let path = project.join("target/run_results.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let results: Value = serde_json::from_str(&text).expect("run_results.json is JSON");
    results["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            (
                result["unique_id"].as_str().unwrap_or_default().to_string(),
                result["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Issue 8's "done when": production is built from the example project; a pull
/// request edits one staging model; `dvt diff` lists it with its descendants,
/// and `dvt build --select state:modified+ --defer` builds only those, reading
/// everything else from production.
#[test]
fn a_pull_request_editing_one_staging_model_builds_only_it_and_its_descendants() {
    let database = Database::new();
    let password = database.server.password.clone();
    let env = [("DVT_PG_PASSWORD", password.as_str())];
    let run = |dir: &Path, args: &[&str]| {
        let output = dvt(dir, args, &env);
        assert!(
            output.status.success(),
            "dvt {}:\n{}{}",
            args.join(" "),
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = TempDir::new().expect("create a temporary directory");
    let project = workspace.path().join("project");
    copy_tree(
        root,
        &project,
        &[".git", "cargo-target", "target", "src", "bench", "profiles.yml", "logs"],
    );
    std::fs::write(project.join("profiles.yml"), database.profiles()).expect("write profiles.yml");
    deps::install_packages(&project);

    // Production: a full build, and its manifest kept as the CI artifact would be.
    run(&project, &["build", "--target", "prod"]);
    let production = workspace.path().join("prod-manifest");
    std::fs::create_dir_all(&production).expect("create the state directory");
    std::fs::copy(project.join("target/manifest.json"), production.join("manifest.json")).expect("copy the manifest");

    // The pull request.
    let model = project.join("models/staging/stg_category.sql");
    let sql = std::fs::read_to_string(&model).expect("read stg_category.sql");
    assert!(sql.starts_with("select\n"), "{sql}");
    std::fs::write(&model, sql.replacen("select", "select distinct", 1)).expect("edit stg_category.sql");
    let state = production.to_str().expect("a UTF-8 path");

    let diff = run(&project, &["diff", "--state", state]);
    let descendants = [
        "dim_film",
        "kpi_late_returns",
        "kpi_revenue_by_category_month",
        "rental_kpi_dashboard",
    ];
    assert!(diff.contains("model  stg_category  modified: body\n"), "{diff}");
    for name in descendants {
        assert!(diff.contains(name), "`{name}` is missing from the diff:\n{diff}");
    }
    assert!(diff.contains("0 new, 1 modified, 0 removed"), "{diff}");
    assert!(
        !diff.contains("fct_rental,"),
        "fct_rental is upstream, not downstream:\n{diff}"
    );

    let listed = run(
        &project,
        &[
            "ls",
            "--select",
            "state:modified+",
            "--state",
            state,
            "--resource-type",
            "model",
            "seed",
            "test",
            // dbt 1.10's `build` lists exposures too, as no-ops.
            "exposure",
            "--output",
            "json",
        ],
    );
    let expected: BTreeSet<String> = listed
        .lines()
        .map(|line| {
            let resource: Value = serde_json::from_str(line).expect("a JSON line");
            resource["unique_id"].as_str().expect("a unique_id").to_string()
        })
        .collect();

    run(
        &project,
        &["build", "--select", "state:modified+", "--defer", "--state", state],
    );
    let results = run_results(&project);
    let built: BTreeSet<String> = results.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(built, expected);
    let models: BTreeSet<&str> = built
        .iter()
        .filter_map(|id| id.strip_prefix("model.dvdrental."))
        .collect();
    assert_eq!(
        models,
        BTreeSet::from([
            "stg_category",
            "dim_film",
            "kpi_late_returns",
            "kpi_revenue_by_category_month"
        ])
    );
    assert!(
        built.iter().any(|id| id.starts_with("test.")),
        "no tests ran: {built:?}"
    );
    for (id, status) in &results {
        assert!(
            matches!(status.as_str(), "success" | "pass" | "no-op"),
            "{id}: {status}"
        );
    }

    // Only the pull request's nodes were built in its schemas...
    let tables = database.strings(
        "select table_schema || '.' || table_name from information_schema.tables \
         where split_part(table_schema, '_', 1) = 'pr'",
    );
    assert_eq!(
        tables,
        BTreeSet::from([
            "pr_staging.stg_category".to_string(),
            "pr_marts.dim_film".to_string(),
            "pr_marts.kpi_late_returns".to_string(),
            "pr_marts.kpi_revenue_by_category_month".to_string(),
        ])
    );
    // ...and they read what they did not build from production.
    let ran = std::fs::read_to_string(project.join("target/run/dvdrental/models/marts/kpi/kpi_late_returns.sql"))
        .expect("read the SQL that ran");
    assert!(ran.contains(r#""prod_marts"."fct_rental""#), "{ran}");
    assert!(ran.contains(r#""pr_marts"."dim_film""#), "{ran}");

    // A retry defers as the run did: to production for what that run did
    // not build, and to this target for what it did.
    let results_path = project.join("target/run_results.json");
    let mut results: Value =
        serde_json::from_str(&std::fs::read_to_string(&results_path).expect("read run_results.json")).expect("JSON");
    for result in results["results"].as_array_mut().expect("results") {
        if result["unique_id"] == "model.dvdrental.kpi_late_returns" {
            result["status"] = Value::from("error");
        }
    }
    std::fs::write(&results_path, serde_json::to_vec(&results).expect("serialise")).expect("write run_results.json");
    std::fs::remove_file(project.join("target/run/dvdrental/models/marts/kpi/kpi_late_returns.sql"))
        .expect("remove the SQL that ran");
    run(&project, &["retry"]);
    assert_eq!(
        run_results(&project),
        [("model.dvdrental.kpi_late_returns".to_string(), "success".to_string())]
    );
    let ran = std::fs::read_to_string(project.join("target/run/dvdrental/models/marts/kpi/kpi_late_returns.sql"))
        .expect("read the SQL that ran");
    assert!(ran.contains(r#""prod_marts"."fct_rental""#), "{ran}");
    assert!(ran.contains(r#""pr_marts"."dim_film""#), "{ran}");
}

// ---------------------------------------------------------------------------
// The GitHub Actions workflow

/// The ready workflow parses, has the steps docs/ci.md describes, and uses
/// only flags dvt has.
#[test]
fn the_ci_workflow_runs_a_state_build_with_flags_dvt_has() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = ".github/workflows/dvt-ci.yml";
    let source = std::fs::read_to_string(root.join(path)).expect("read the workflow");
    let workflow = dvt::yaml::parse(path, &source).unwrap_or_else(|error| panic!("{path}: {}", error.message));
    let job = &workflow["jobs"]["pull-request"];
    assert_eq!(job["services"]["postgres"]["image"], "postgres:15");
    let steps = job["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|step| step["run"].as_str()).collect();
    let uses: Vec<&str> = steps.iter().filter_map(|step| step["uses"].as_str()).collect();
    let build = runs
        .iter()
        .find(|run| run.contains("state:modified+"))
        .expect("a step builds state:modified+");
    let flags = [
        "--select state:modified+",
        "--defer",
        "--state prod/",
        "--log-format github",
        "--junit target/junit.xml",
    ];
    for flag in flags {
        assert!(build.contains(flag), "`{flag}` is missing from:\n{build}");
    }
    assert!(runs.iter().any(|run| run.contains("gh run download")));
    assert!(runs
        .iter()
        .any(|run| run.contains("dvt diff --profile ci --state prod/ --format markdown")));
    assert!(uses
        .iter()
        .any(|action| action.starts_with("mikepenz/action-junit-report@")));
    assert!(uses
        .iter()
        .any(|action| action.starts_with("marocchino/sticky-pull-request-comment@")));

    // Every flag the workflow passes is one dvt accepts.
    for (command, flags) in [
        (
            "build",
            &["--defer", "--state", "--junit", "--profile", "--target", "--select"][..],
        ),
        ("diff", &["--state", "--format", "--profile"][..]),
    ] {
        let help = dvt(root, &[command, "--help"], &[]);
        let help = text(&help.stdout);
        for flag in flags {
            assert!(help.contains(flag), "`dvt {command}` has no `{flag}`:\n{help}");
        }
        assert!(help.contains("github"), "`--log-format github` is missing:\n{help}");
    }
}
