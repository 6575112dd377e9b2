//! dbt-utils' own integration suite, run unchanged on PostgreSQL: `dvt deps`,
//! then `dvt build --full-refresh`, as dbt-core 1.10 ran it (see
//! `../shared/third_party/README.md`).
//!
//! The suite is real dbt code that nobody on this team wrote. It is read from
//! `../shared/third_party/dbt-utils`, copied into a temp directory first
//! (shared/ is read-only in CI, and `deps` and `target/` write inside the
//! project; `local: ../` must still point at the package root), and never
//! copied into the repository.
//!
//! What dbt-core built is in `dbt-utils.dbt-core-1.10.fingerprint`, one line a
//! relation: `schema.relation|type|rows|md5`, the md5 taken over the rows as
//! text in order. Every relation dvt builds must have the same type, row
//! count and md5.

#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/database.rs"]
mod database;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlx::Row;

use command::dvt_command;
use common::Server;
use database::Database;

/// Where the team's third-party material sits, beside the repository.
fn third_party() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/third_party")
}

/// Relations whose rows depend on the clock, so that no two runs agree
/// (named in the fingerprint's README).
const CLOCK_DEPENDENT: &[&str] = &["recency_time_included", "recency_time_excluded"];

/// Relations whose rows name the database they were built in (union_relations'
/// `_dbt_source_relation` column holds `"database"."schema"."table"`). The
/// shared fingerprint was taken in a database whose name it does not record,
/// so for these the md5 is taken with the database's name replaced by `DB`,
/// and the expected values come from dbt-core 1.10.23 + dbt-postgres 1.9.1
/// run on the same suite here, measured the same way.
const DATABASE_NAMING: &[(&str, u64, &str)] = &[
    (
        "test_get_relations_by_prefix_and_union",
        4,
        "1574800016a15dcc1a1393bc6ed4db6e",
    ),
    ("test_union_base", 5, "8010b71d865a1be9a9508df285ff8541"),
    (
        "test_union_exclude_base_lowercase",
        5,
        "24eec652ae9f7112a8b21277259f4f06",
    ),
    (
        "test_union_exclude_base_uppercase",
        5,
        "24eec652ae9f7112a8b21277259f4f06",
    ),
    ("test_union_where_base", 2, "809d16da91bccc598083ac2e9c3cffb2"),
];

struct Expected {
    kind: String,
    rows: u64,
    md5: String,
}

fn expected_relations() -> BTreeMap<String, Expected> {
    let path = third_party().join("dbt-utils.dbt-core-1.10.fingerprint");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let mut expected = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let [relation, kind, rows, md5] = fields[..] else {
            panic!("a fingerprint line of four fields: {line}");
        };
        expected.insert(
            relation.to_string(),
            Expected {
                kind: kind.to_string(),
                rows: rows.parse().expect("a row count"),
                md5: md5.to_string(),
            },
        );
    }
    for (name, rows, md5) in DATABASE_NAMING {
        let entry = expected
            .get_mut(&format!("dbt_utils_integration_tests_postgres.{name}"))
            .unwrap_or_else(|| panic!("{name} is in the fingerprint"));
        entry.rows = *rows;
        entry.md5 = (*md5).to_string();
    }
    expected
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read a folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// The warehouse the suite builds in: a database of its own, dropped at the end.
struct Warehouse {
    database: Database,
}

impl Warehouse {
    fn new() -> Self {
        Self {
            database: Database::new("dvt_utils"),
        }
    }

    /// Every relation in the suite's schemas: `schema.name` to (type, rows, md5).
    fn fingerprint(&self) -> BTreeMap<String, (String, u64, String)> {
        let database = &self.database;
        let mut connection = database.connection(&database.name);
        let relations = database
            .runtime
            .block_on(
                sqlx::query(
                    "select table_schema, table_name, table_type from information_schema.tables \
                     where table_schema like 'dbt_utils_integration_tests_postgres%' order by 1, 2",
                )
                .fetch_all(&mut connection),
            )
            .expect("list the relations");
        let mut found = BTreeMap::new();
        for relation in relations {
            let schema: String = relation.get(0);
            let name: String = relation.get(1);
            let kind: String = relation.get(2);
            let sql = format!(
                "select count(*), coalesce(md5(string_agg(t, E'\\n' order by t)), '') from \
                 (select replace(x::text, current_database(), 'DB') as t from \"{schema}\".\"{name}\" x) rows"
            );
            let row = database
                .runtime
                .block_on(sqlx::query(&sql).fetch_one(&mut connection))
                .unwrap_or_else(|error| panic!("fingerprint {schema}.{name}: {error}"));
            let rows: i64 = row.get(0);
            let md5: String = row.get(1);
            found.insert(format!("{schema}.{name}"), (kind, rows as u64, md5));
        }
        found
    }
}

fn profile(server: &Server, database: &str) -> String {
    format!(
        "integration_tests:\n  target: postgres\n  outputs:\n    postgres:\n      type: postgres\n      \
         host: {host}\n      port: {port}\n      user: {user}\n      \
         pass: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      dbname: {database}\n      \
         schema: dbt_utils_integration_tests_postgres\n      threads: 2\n",
        host = server.host,
        port = server.port,
        user = server.user,
    )
}

#[test]
fn dbt_utils_integration_suite_builds_what_dbt_core_built() {
    let source = third_party().join("dbt-utils");
    if !source.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI: shared/ should sit beside the clone",
            source.display()
        );
        eprintln!("skipped: {} is missing", source.display());
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let package = dir.path().join("dbt-utils");
    copy_tree(&source, &package);
    let project = package.join("integration_tests");
    let warehouse = Warehouse::new();
    std::fs::write(
        project.join("profiles.yml"),
        profile(&warehouse.database.server, &warehouse.database.name),
    )
    .expect("write profiles.yml");
    let password = warehouse.database.server.password.clone();
    let run = |arguments: &[&str]| {
        let output = dvt_command()
            .current_dir(&project)
            .env("DVT_PG_PASSWORD", &password)
            .args(arguments)
            .output()
            .expect("run dvt");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };

    let (code, output) = run(&["deps"]);
    assert_eq!(code, Some(0), "dvt deps:\n{output}");
    assert!(
        project.join("package-lock.yml").is_file(),
        "dvt deps writes package-lock.yml"
    );

    let (code, output) = run(&["build", "--full-refresh"]);
    let results_path = project.join("target/run_results.json");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(&results_path).unwrap_or_else(|error| panic!("run_results.json: {error}\n{output}")),
    )
    .expect("run_results.json is JSON");
    let mut by_status: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for result in results["results"].as_array().expect("results") {
        by_status
            .entry(result["status"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(result["unique_id"].as_str().unwrap_or("?").to_string());
    }
    let failed: Vec<String> = by_status
        .iter()
        .filter(|(status, _)| !matches!(status.as_str(), "success" | "pass"))
        .flat_map(|(status, ids)| ids.iter().map(move |id| format!("{status}: {id}")))
        .collect();
    assert!(
        failed.is_empty(),
        "nodes that did not pass:\n{}\n\n{output}",
        failed.join("\n")
    );
    assert_eq!(code, Some(0), "dvt build:\n{output}");
    let total: usize = by_status.values().map(Vec::len).sum();
    // dbt-core: 75 seeds, 5 table models, 45 view models and 112 data tests.
    assert_eq!(total, 237, "dbt-core ran 237 nodes");

    let expected = expected_relations();
    let found = warehouse.fingerprint();
    let mut differences = Vec::new();
    for (relation, expected) in &expected {
        let name = relation.rsplit('.').next().unwrap_or(relation);
        match found.get(relation) {
            None => differences.push(format!("{relation}: missing")),
            Some((kind, rows, md5)) => {
                if *kind != expected.kind || *rows != expected.rows {
                    differences.push(format!(
                        "{relation}: {kind} of {rows} rows, dbt-core built a {} of {} rows",
                        expected.kind, expected.rows
                    ));
                } else if *md5 != expected.md5 && !CLOCK_DEPENDENT.contains(&name) {
                    differences.push(format!("{relation}: other rows (md5 {md5}, dbt-core {})", expected.md5));
                }
            }
        }
    }
    for relation in found.keys().filter(|relation| !expected.contains_key(*relation)) {
        differences.push(format!("{relation}: built by dvt, not by dbt-core"));
    }
    assert!(
        differences.is_empty(),
        "relations that differ from dbt-core's:\n{}",
        differences.join("\n")
    );
}
