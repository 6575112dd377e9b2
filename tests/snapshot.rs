//! End-to-end tests of snapshots (`dvt snapshot`, and snapshots in `dvt
//! build`): the SCD type 2 history kept over several runs, on PostgreSQL
//! and DuckDB alike ([`matrix!`]).
//!
//! The fixture, its three states of the source and the expected tables
//! come from dbt-core 1.10.23 with dbt-postgres and dbt-duckdb run on the
//! same project (`dbt snapshot` after each state): both adapters gave the
//! same rows. Times dbt takes from the clock (the snapshot's time, under the
//! `check` strategy and for deletes) read `run1`, `run2`, `run3`: the run
//! they fall in. Everything else is dbt's exact value, the `dbt_scd_id`
//! hashes included.

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
use profile::DUCKDB_FILE;

const PROJECT_YML: &str = "name: snapfix\nprofile: snapfix\nsnapshots:\n  snapfix:\n    +tags: [\"history\"]\n";

/// Five legacy blocks over `raw.people`: the timestamp strategy with each
/// hard-delete mode, the check strategy on every column and on a list with
/// renamed meta columns and `dbt_valid_to_current`.
const PEOPLE_SNAPSHOTS: &str = "\
{% snapshot people_ts %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ source('raw', 'people') }}
{% endsnapshot %}

{% snapshot people_ts_invalidate %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=true) }}
select * from {{ source('raw', 'people') }}
{% endsnapshot %}

{% snapshot people_ts_new_record %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ source('raw', 'people') }}
{% endsnapshot %}

{% snapshot people_check_all %}
{{ config(target_schema='snapshots', unique_key='id', strategy='check', check_cols='all', hard_deletes='invalidate') }}
select * from {{ source('raw', 'people') }}
{% endsnapshot %}

{% snapshot people_check_email %}
{{ config(
    target_schema='snapshots',
    unique_key='id',
    strategy='check',
    check_cols=['email'],
    snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to', 'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'snapshotted_at'},
    dbt_valid_to_current=\"cast('9999-12-31' as timestamp)\"
) }}
select id, name, email from {{ source('raw', 'people') }}
{% endsnapshot %}
";

/// A dbt 1.9 YAML snapshot with a composite key and `new_record`; its
/// `schema` goes through generate_schema_name (`analytics_history`), unlike
/// the blocks' legacy `target_schema`, used as written.
const SNAPSHOTS_YML: &str = "\
sources:
  - name: raw
    schema: raw
    tables:
      - name: people
      - name: lines
snapshots:
  - name: lines_ts
    relation: source('raw', 'lines')
    config:
      schema: history
      unique_key: [order_id, line_no]
      strategy: timestamp
      updated_at: updated_at
      hard_deletes: new_record
";

/// The source before the first run.
const STATE_1: &str = "
create schema if not exists raw;
create table raw.people (id integer, name varchar, email varchar, updated_at timestamp);
insert into raw.people values
  (1, 'ann', 'ann@a.example', cast('2024-01-01 00:00:00' as timestamp)),
  (2, 'bob', 'bob@b.example', cast('2024-01-01 00:00:00' as timestamp)),
  (3, 'cy', 'cy@c.example', cast('2024-01-01 00:00:00' as timestamp));
create table raw.lines (order_id integer, line_no integer, qty integer, updated_at timestamp);
insert into raw.lines values
  (1, 1, 5, cast('2024-01-01 00:00:00' as timestamp)),
  (1, 2, 3, cast('2024-01-01 00:00:00' as timestamp)),
  (2, 1, 7, cast('2024-01-01 00:00:00' as timestamp));
";

/// Before the second run: person 1 updated, 2 deleted, 3 unchanged, 4 new;
/// line (1, 2) updated, (2, 1) deleted, (1, 1) unchanged.
const STATE_2: &str = "
update raw.people set email = 'ann@new.example', updated_at = cast('2024-02-01 00:00:00' as timestamp) where id = 1;
delete from raw.people where id = 2;
insert into raw.people values (4, 'dee', 'dee@d.example', cast('2024-02-01 00:00:00' as timestamp));
update raw.lines set qty = 4, updated_at = cast('2024-02-01 00:00:00' as timestamp) where order_id = 1 and line_no = 2;
delete from raw.lines where order_id = 2 and line_no = 1;
";

/// Before the third run: person 2 and line (2, 1) come back, and the source
/// has a new column.
const STATE_3: &str = "
insert into raw.people values (2, 'bob', 'bob@back.example', cast('2024-03-01 00:00:00' as timestamp));
alter table raw.people add column tier varchar;
update raw.people set tier = 'gold' where id = 2;
insert into raw.lines values (2, 1, 8, cast('2024-03-01 00:00:00' as timestamp));
";

fn apply(project: &Project, engine: Engine, sql: &str) {
    match engine {
        Engine::Postgres => {
            project.postgres(&project.database, sql);
        }
        Engine::DuckDb => {
            let path = project.path().join(DUCKDB_FILE);
            let connection = duckdb::Connection::open(&path).unwrap_or_else(|error| panic!("open: {error}"));
            connection
                .execute_batch(sql)
                .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
        }
    }
}

/// The warehouse's clock, as the snapshot's time is taken.
fn now(project: &Project) -> String {
    project.rows("select cast(cast(now() as timestamp) as varchar)")[0][0]
        .clone()
        .unwrap_or_default()
}

/// A timestamp column as text, or the run its clock time falls in.
fn labelled(column: &str, runs: &[String]) -> String {
    let mut cases = format!("case when {column} is null then null when {column} >= cast('9000-01-01' as timestamp) then cast({column} as varchar)");
    for (index, start) in runs.iter().enumerate().rev() {
        cases.push_str(&format!(
            " when {column} >= cast('{start}' as timestamp) then 'run{}'",
            index + 1
        ));
    }
    cases.push_str(&format!(" else cast({column} as varchar) end"));
    cases
}

/// A snapshot table read back in order, times labelled; the scd id is shown
/// when it is dbt's md5 of the key and a data `updated_at`, and else named
/// for what it hashes.
fn history(
    project: &Project,
    table: &str,
    keys: &[&str],
    columns: &[&str],
    meta: [&str; 4],
    runs: &[String],
) -> Vec<Vec<Option<String>>> {
    let [scd_id, updated_at, valid_from, valid_to] = meta;
    let key_text: Vec<String> = keys
        .iter()
        .map(|key| format!("coalesce(cast({key} as varchar), '')"))
        .collect();
    let key_hash = format!(
        "md5({} || '|' || coalesce(cast({updated_at} as varchar), ''))",
        key_text.join(" || '|' || ")
    );
    let mut select: Vec<String> = columns
        .iter()
        .map(|column| format!("cast({column} as varchar)"))
        .collect();
    select.push(format!(
        "case when {scd_id} = {key_hash} and {updated_at} < cast('{}' as timestamp) then {scd_id} \
         when {scd_id} = {key_hash} then 'md5(key|snapshot time)' else 'other' end",
        runs[0]
    ));
    for column in [updated_at, valid_from, valid_to] {
        select.push(labelled(column, runs));
    }
    let deleted = if columns.contains(&"dbt_is_deleted") {
        ", dbt_is_deleted"
    } else {
        ""
    };
    project.rows(&format!(
        "select {} from {table} order by {}, {valid_from}{deleted}",
        select.join(", "),
        keys.join(", ")
    ))
}

fn table(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| row.iter().map(|value| value.map(str::to_owned)).collect())
        .collect()
}

fn column_names(project: &Project, schema: &str, table: &str) -> Vec<String> {
    project
        .rows(&format!(
            "select cast(column_name as varchar) from information_schema.columns \
             where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
        ))
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect()
}

const JAN: Option<&str> = Some("2024-01-01 00:00:00");
const FEB: Option<&str> = Some("2024-02-01 00:00:00");
const MAR: Option<&str> = Some("2024-03-01 00:00:00");
const CURRENT: Option<&str> = Some("9999-12-31 00:00:00");
const RUN1: Option<&str> = Some("run1");
const RUN2: Option<&str> = Some("run2");
const RUN3: Option<&str> = Some("run3");
const CLOCK_HASH: Option<&str> = Some("md5(key|snapshot time)");
const OTHER_HASH: Option<&str> = Some("other");

matrix!(snapshots_keep_the_history_dbt_keeps);
fn snapshots_keep_the_history_dbt_keeps(engine: Engine) {
    let project = Project::new("snapfix", engine);
    project.write("project.yml", PROJECT_YML);
    project.write("snapshots/people.sql", PEOPLE_SNAPSHOTS);
    project.write("snapshots/_snapshots.yml", SNAPSHOTS_YML);
    // A model on a snapshot: `dvt build` runs the snapshot first.
    project.write(
        "models/current_people.sql",
        "select id, email from {{ ref('people_ts') }} where dbt_valid_to is null\n",
    );
    let mut runs = Vec::new();
    for (index, state) in [STATE_1, STATE_2, STATE_3].into_iter().enumerate() {
        apply(&project, engine, state);
        runs.push(now(&project));
        let output = if index < 2 {
            project.dvt_exits(0, &["snapshot"])
        } else {
            project.dvt_exits(0, &["build"])
        };
        assert!(
            output.stderr.contains("OK snapshotted snapshots.people_ts "),
            "{output:?}"
        );
    }

    // Timestamp, hard deletes ignored: the deleted person stays current
    // until it comes back, newer, and is closed at its new updated_at; the
    // new column is added and only the new version has a value.
    let people = ["id", "name", "email", "updated_at", "tier"];
    let meta = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"];
    assert_eq!(
        column_names(&project, "snapshots", "people_ts"),
        [
            "id",
            "name",
            "email",
            "updated_at",
            "dbt_scd_id",
            "dbt_updated_at",
            "dbt_valid_from",
            "dbt_valid_to",
            "tier"
        ]
    );
    let hashes = [
        Some("8bd6037542377309505ab720e545f24e"),
        Some("2e82cee106c704e5a20fc8fbc5618f48"),
        Some("f8e4dcba7004839b9c5b44a77923cd0a"),
        Some("1f96aee791fde0d8444856be50e489a2"),
        Some("36d97e6f161bf778b28647771ac013ae"),
        Some("d7dca5374327b22f4249cf80d33a6ac2"),
    ];
    let timestamp_rows = |bob_closed: Option<&'static str>| {
        table(&[
            &[
                Some("1"),
                Some("ann"),
                Some("ann@a.example"),
                JAN,
                None,
                hashes[0],
                JAN,
                JAN,
                FEB,
            ],
            &[
                Some("1"),
                Some("ann"),
                Some("ann@new.example"),
                FEB,
                None,
                hashes[1],
                FEB,
                FEB,
                None,
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@b.example"),
                JAN,
                None,
                hashes[2],
                JAN,
                JAN,
                bob_closed,
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@back.example"),
                MAR,
                Some("gold"),
                hashes[3],
                MAR,
                MAR,
                None,
            ],
            &[
                Some("3"),
                Some("cy"),
                Some("cy@c.example"),
                JAN,
                None,
                hashes[4],
                JAN,
                JAN,
                None,
            ],
            &[
                Some("4"),
                Some("dee"),
                Some("dee@d.example"),
                FEB,
                None,
                hashes[5],
                FEB,
                FEB,
                None,
            ],
        ])
    };
    assert_eq!(
        history(&project, "snapshots.people_ts", &["id"], &people, meta, &runs),
        timestamp_rows(MAR)
    );
    // invalidate_hard_deletes: the deleted person is closed at the second run.
    assert_eq!(
        history(
            &project,
            "snapshots.people_ts_invalidate",
            &["id"],
            &people,
            meta,
            &runs
        ),
        timestamp_rows(RUN2)
    );

    // new_record: closed at the second run, with a tombstone version
    // (dbt_is_deleted 'True', its scd id an md5 of the closed one's and the
    // time), itself closed by the reinserted row's updated_at.
    assert_eq!(
        column_names(&project, "snapshots", "people_ts_new_record"),
        [
            "id",
            "name",
            "email",
            "updated_at",
            "dbt_scd_id",
            "dbt_updated_at",
            "dbt_valid_from",
            "dbt_valid_to",
            "dbt_is_deleted",
            "tier"
        ]
    );
    let with_deleted = ["id", "name", "email", "updated_at", "tier", "dbt_is_deleted"];
    let f = Some("False");
    assert_eq!(
        history(
            &project,
            "snapshots.people_ts_new_record",
            &["id"],
            &with_deleted,
            meta,
            &runs
        ),
        table(&[
            &[
                Some("1"),
                Some("ann"),
                Some("ann@a.example"),
                JAN,
                None,
                f,
                hashes[0],
                JAN,
                JAN,
                FEB
            ],
            &[
                Some("1"),
                Some("ann"),
                Some("ann@new.example"),
                FEB,
                None,
                f,
                hashes[1],
                FEB,
                FEB,
                None
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@b.example"),
                JAN,
                None,
                f,
                hashes[2],
                JAN,
                JAN,
                RUN2
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@back.example"),
                MAR,
                Some("gold"),
                f,
                hashes[3],
                MAR,
                MAR,
                None
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@b.example"),
                JAN,
                None,
                Some("True"),
                OTHER_HASH,
                RUN2,
                RUN2,
                MAR
            ],
            &[
                Some("3"),
                Some("cy"),
                Some("cy@c.example"),
                JAN,
                None,
                f,
                hashes[4],
                JAN,
                JAN,
                None
            ],
            &[
                Some("4"),
                Some("dee"),
                Some("dee@d.example"),
                FEB,
                None,
                f,
                hashes[5],
                FEB,
                FEB,
                None
            ],
        ])
    );

    // check_cols all, invalidate: versions dated by the snapshot's time; a
    // new source column counts as a change of every current row.
    assert_eq!(
        history(&project, "snapshots.people_check_all", &["id"], &people, meta, &runs),
        table(&[
            &[
                Some("1"),
                Some("ann"),
                Some("ann@a.example"),
                JAN,
                None,
                CLOCK_HASH,
                RUN1,
                RUN1,
                RUN2
            ],
            &[
                Some("1"),
                Some("ann"),
                Some("ann@new.example"),
                FEB,
                None,
                CLOCK_HASH,
                RUN2,
                RUN2,
                RUN3
            ],
            &[
                Some("1"),
                Some("ann"),
                Some("ann@new.example"),
                FEB,
                None,
                CLOCK_HASH,
                RUN3,
                RUN3,
                None
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@b.example"),
                JAN,
                None,
                CLOCK_HASH,
                RUN1,
                RUN1,
                RUN2
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@back.example"),
                MAR,
                Some("gold"),
                CLOCK_HASH,
                RUN3,
                RUN3,
                None
            ],
            &[
                Some("3"),
                Some("cy"),
                Some("cy@c.example"),
                JAN,
                None,
                CLOCK_HASH,
                RUN1,
                RUN1,
                RUN3
            ],
            &[
                Some("3"),
                Some("cy"),
                Some("cy@c.example"),
                JAN,
                None,
                CLOCK_HASH,
                RUN3,
                RUN3,
                None
            ],
            &[
                Some("4"),
                Some("dee"),
                Some("dee@d.example"),
                FEB,
                None,
                CLOCK_HASH,
                RUN2,
                RUN2,
                RUN3
            ],
            &[
                Some("4"),
                Some("dee"),
                Some("dee@d.example"),
                FEB,
                None,
                CLOCK_HASH,
                RUN3,
                RUN3,
                None
            ],
        ])
    );

    // check_cols [email], renamed meta columns, dbt_valid_to_current: current
    // rows hold 9999-12-31; the deleted (ignored) person stays current until
    // its email changes.
    assert_eq!(
        column_names(&project, "snapshots", "people_check_email"),
        [
            "id",
            "name",
            "email",
            "scd_id",
            "snapshotted_at",
            "valid_from",
            "valid_to"
        ]
    );
    assert_eq!(
        history(
            &project,
            "snapshots.people_check_email",
            &["id"],
            &["id", "name", "email"],
            ["scd_id", "snapshotted_at", "valid_from", "valid_to"],
            &runs
        ),
        table(&[
            &[
                Some("1"),
                Some("ann"),
                Some("ann@a.example"),
                CLOCK_HASH,
                RUN1,
                RUN1,
                RUN2
            ],
            &[
                Some("1"),
                Some("ann"),
                Some("ann@new.example"),
                CLOCK_HASH,
                RUN2,
                RUN2,
                CURRENT
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@b.example"),
                CLOCK_HASH,
                RUN1,
                RUN1,
                RUN3
            ],
            &[
                Some("2"),
                Some("bob"),
                Some("bob@back.example"),
                CLOCK_HASH,
                RUN3,
                RUN3,
                CURRENT
            ],
            &[
                Some("3"),
                Some("cy"),
                Some("cy@c.example"),
                CLOCK_HASH,
                RUN1,
                RUN1,
                CURRENT
            ],
            &[
                Some("4"),
                Some("dee"),
                Some("dee@d.example"),
                CLOCK_HASH,
                RUN2,
                RUN2,
                CURRENT
            ],
        ])
    );

    // The YAML snapshot: a composite key, new_record.
    let lines = ["order_id", "line_no", "qty", "updated_at", "dbt_is_deleted"];
    assert_eq!(
        history(
            &project,
            "analytics_history.lines_ts",
            &["order_id", "line_no"],
            &lines,
            meta,
            &runs
        ),
        table(&[
            &[
                Some("1"),
                Some("1"),
                Some("5"),
                JAN,
                f,
                Some("42617eb3a49357952064f121d7578566"),
                JAN,
                JAN,
                None
            ],
            &[
                Some("1"),
                Some("2"),
                Some("3"),
                JAN,
                f,
                Some("f7b0f83d1016854e273298cc112baebb"),
                JAN,
                JAN,
                FEB
            ],
            &[
                Some("1"),
                Some("2"),
                Some("4"),
                FEB,
                f,
                Some("0b1b0e5ff0e720ffaf68801ed3c51b5e"),
                FEB,
                FEB,
                None
            ],
            &[
                Some("2"),
                Some("1"),
                Some("7"),
                JAN,
                f,
                Some("4b37c131d0277600c9c2bf1a6078bc6b"),
                JAN,
                JAN,
                RUN2
            ],
            &[
                Some("2"),
                Some("1"),
                Some("8"),
                MAR,
                f,
                Some("40d86c2626f4330f274d4c9e9b2da612"),
                MAR,
                MAR,
                None
            ],
            &[
                Some("2"),
                Some("1"),
                Some("7"),
                JAN,
                Some("True"),
                OTHER_HASH,
                RUN2,
                RUN2,
                MAR
            ],
        ])
    );

    // The model built on the snapshot in the same `dvt build`.
    assert_eq!(
        project.rows("select cast(id as varchar), email from analytics.current_people order by id"),
        table(&[
            &[Some("1"), Some("ann@new.example")],
            &[Some("2"), Some("bob@back.example")],
            &[Some("3"), Some("cy@c.example")],
            &[Some("4"), Some("dee@d.example")],
        ])
    );
    let results: serde_json::Value = serde_json::from_str(&project.read("target/run_results.json")).unwrap_or_default();
    let snapshot = results["results"]
        .as_array()
        .and_then(|results| {
            results
                .iter()
                .find(|result| result["unique_id"] == "snapshot.snapfix.people_ts")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(snapshot["status"], "success", "{results}");
    // As dbt-postgres reports the last statement: the two new versions.
    assert_eq!(snapshot["adapter_response"]["rows_affected"], 1, "{snapshot}");
}

matrix!(snapshots_are_nodes_of_their_own);
fn snapshots_are_nodes_of_their_own(engine: Engine) {
    let project = Project::new("snapfix", engine);
    project.write("project.yml", PROJECT_YML);
    project.write("snapshots/people.sql", PEOPLE_SNAPSHOTS);
    project.write("snapshots/_snapshots.yml", SNAPSHOTS_YML);
    project.write(
        "models/current_people.sql",
        "select id, email from {{ ref('people_ts') }} where dbt_valid_to is null\n",
    );
    let listed = project.dvt_exits(0, &["ls", "--select", "resource_type:snapshot"]);
    assert_eq!(
        listed.stdout.lines().collect::<Vec<_>>(),
        [
            "snapfix.lines_ts",
            "snapfix.people.people_check_all",
            "snapfix.people.people_check_email",
            "snapfix.people.people_ts",
            "snapfix.people.people_ts_invalidate",
            "snapfix.people.people_ts_new_record",
        ],
        "{listed:?}"
    );
    let downstream = project.dvt_exits(0, &["ls", "--select", "people_ts+"]);
    assert_eq!(
        downstream.stdout.lines().collect::<Vec<_>>(),
        ["snapfix.current_people", "snapfix.people.people_ts"],
        "{downstream:?}"
    );
    project.dvt_exits(0, &["parse"]);
    let manifest: serde_json::Value = serde_json::from_str(&project.read("target/manifest.json")).unwrap_or_default();
    // dbt-core 1.10's manifest for the same project.
    let legacy = &manifest["nodes"]["snapshot.snapfix.people_check_email"];
    assert_eq!(legacy["resource_type"], "snapshot");
    assert_eq!(legacy["path"], "people.sql");
    assert_eq!(legacy["original_file_path"], "snapshots/people.sql");
    assert_eq!(legacy["schema"], "snapshots");
    assert_eq!(
        legacy["fqn"],
        serde_json::json!(["snapfix", "people", "people_check_email"])
    );
    assert_eq!(legacy["config"]["materialized"], "snapshot");
    assert_eq!(legacy["config"]["tags"], serde_json::json!(["history"]));
    assert_eq!(
        legacy["depends_on"]["nodes"],
        serde_json::json!(["source.snapfix.raw.people"])
    );
    let yaml = &manifest["nodes"]["snapshot.snapfix.lines_ts"];
    assert_eq!(yaml["path"], "_snapshots.yml/lines_ts.sql");
    assert_eq!(yaml["original_file_path"], "snapshots/_snapshots.yml");
    assert_eq!(yaml["schema"], "analytics_history");
    assert_eq!(yaml["fqn"], serde_json::json!(["snapfix", "lines_ts"]));
    assert_eq!(yaml["raw_code"], "select * from {{ source('raw', 'lines') }}");
    assert_eq!(yaml["patch_path"], "snapfix://snapshots/_snapshots.yml");
    assert_eq!(
        manifest["nodes"]["model.snapfix.current_people"]["depends_on"]["nodes"],
        serde_json::json!(["snapshot.snapfix.people_ts"])
    );
}

matrix!(a_malformed_snapshot_config_names_its_file_and_line);
fn a_malformed_snapshot_config_names_its_file_and_line(engine: Engine) {
    let project = Project::new("snapfix", engine);
    project.write("project.yml", PROJECT_YML);
    project.write(
        "snapshots/broken.sql",
        "-- a check snapshot without check_cols\n{% snapshot broken %}\n{{ config(unique_key='id', strategy='check') }}\nselect 1 as id\n{% endsnapshot %}\n",
    );
    let output = project.dvt_exits(2, &["parse"]);
    assert!(
        output
            .stderr
            .contains("snapshot `broken`: a snapshot with the `check` strategy must set `check_cols`"),
        "{output:?}"
    );
    assert!(output.stderr.contains("snapshots/broken.sql:3:"), "{output:?}");
    assert!(output.stderr.contains("hint: write `check_cols: all`"), "{output:?}");

    project.write("snapshots/broken.sql", "");
    project.write(
        "snapshots/_snapshots.yml",
        "snapshots:\n  - name: yaml_broken\n    relation: ref('people')\n    config:\n      unique_key: id\n      strategy: timestamp\n      updated_at: updated_at\n      hard_deletes: purge\n",
    );
    project.write("models/people.sql", "select 1 as id, now() as updated_at\n");
    let output = project.dvt_exits(2, &["parse"]);
    assert!(
        output.stderr.contains("invalid setting for `hard_deletes`: \"purge\""),
        "{output:?}"
    );
    assert!(output.stderr.contains("snapshots/_snapshots.yml:8:"), "{output:?}");
}

matrix!(a_source_column_that_widens_is_widened_in_the_snapshot);
/// dbt's snapshot calls `expand_target_column_types` from its staging table:
/// a string column whose source grew longer (`varchar(10)` to `varchar(50)`,
/// `char(2)` to `char(5)`) becomes `character varying(<size>)`, added anew,
/// copied and renamed, so it moves to the end; other types (`int` to
/// `bigint`) are left alone. dbt-postgres 1.9 gave exactly these columns; on
/// DuckDB, whose strings have no length, dbt-duckdb changes nothing and the
/// long value fits.
fn a_source_column_that_widens_is_widened_in_the_snapshot(engine: Engine) {
    let project = Project::new("snapwide", engine);
    project.write("project.yml", "name: snapwide\nprofile: snapwide\n");
    project.write(
        "snapshots/people.sql",
        "{% snapshot people_snap %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='check', check_cols='all') }}\n\
         select * from raw.people\n{% endsnapshot %}\n",
    );
    apply(
        &project,
        engine,
        "create schema raw; create table raw.people (id int, name varchar(10), code numeric(4,1), tag char(2), note text); \
         insert into raw.people values (1, 'short', 1.5, 'ab', 'x');",
    );
    project.dvt_exits(0, &["snapshot"]);
    let widen = engine.pick(
        "alter table raw.people alter column name type varchar(50), alter column tag type char(5), alter column id type bigint;",
        "alter table raw.people alter name type varchar(50); alter table raw.people alter tag type varchar(5);",
    );
    apply(
        &project,
        engine,
        &format!("{widen} insert into raw.people values (2, 'a much longer name than ten', 12.5, 'abcde', 'y');"),
    );
    project.dvt_exits(0, &["snapshot"]);
    assert_eq!(
        project.rows("select cast(id as varchar), name, cast(tag as varchar) from snapshots.people_snap order by id"),
        table(&[
            &[Some("1"), Some("short"), Some("ab")],
            &[Some("2"), Some("a much longer name than ten"), Some("abcde")]
        ])
    );
    let meta = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"];
    let expected: Vec<&str> = match engine {
        Engine::Postgres => ["id", "code", "note"]
            .into_iter()
            .chain(meta)
            .chain(["name", "tag"])
            .collect(),
        Engine::DuckDb => ["id", "name", "code", "tag", "note"].into_iter().chain(meta).collect(),
    };
    assert_eq!(column_names(&project, "snapshots", "people_snap"), expected);
    if engine == Engine::Postgres {
        assert_eq!(
            project.rows(
                "select data_type::text, character_maximum_length::text from information_schema.columns \
                 where table_schema = 'snapshots' and table_name = 'people_snap' and column_name in ('name', 'tag', 'id') \
                 order by column_name"
            ),
            table(&[
                &[Some("integer"), None],
                &[Some("character varying"), Some("50")],
                &[Some("character varying"), Some("5")]
            ])
        );
    }
}
