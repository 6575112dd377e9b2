//! Patterns found in public dbt projects and packages (dbt-date,
//! dbt-expectations, jaffle_shop), each in a small project of its own, built
//! by the real binary on PostgreSQL and DuckDB alike ([`matrix!`]) and read
//! back; dbt-core gives these projects the same rows.

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

// dbt-date's `datetime()` and `to_compile_datetime()`, with its default
// `dbt_date:time_zone` of America/Los_Angeles: a pytz zone passed as tzinfo
// keeps the zone's first offset (local mean time, -07:53), `localize()` takes
// the offset in force (summer and winter time), `astimezone()` converts.
matrix!(pytz_named_zones_render_as_in_dbt);
fn pytz_named_zones_render_as_in_dbt(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "models/zoned.sql",
        "{% set la = modules.pytz.timezone(var('time_zone', 'America/Los_Angeles')) %}\n\
         select '{{ modules.datetime.datetime(1997, 9, 29, 6, 14, 0, tzinfo=la) }}' as constructed,\n\
         '{{ la.localize(modules.datetime.datetime(1997, 9, 29, 6, 14)) }}' as summer,\n\
         '{{ la.localize(modules.datetime.datetime(1997, 1, 29, 6, 14)) }}' as winter,\n\
         '{{ modules.datetime.datetime(2020, 1, 1, tzinfo=modules.pytz.utc).astimezone(la) }}' as converted,\n\
         '{{ la.localize(modules.datetime.datetime(2024, 3, 1)).timestamp() | int }}' as epoch\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select constructed, summer, winter, converted, epoch from analytics.zoned"),
        table(&[&[
            "1997-09-29 06:14:00-07:53",
            "1997-09-29 06:14:00-07:00",
            "1997-01-29 06:14:00-08:00",
            "2019-12-31 16:00:00-08:00",
            "1709280000",
        ]])
    );
}

// dbt-expectations' own schema.yml: a test's `enabled` rendered from the
// target (`"{{ target.type not in ['bigquery', 'spark'] }}"`) is a boolean, as
// in dbt's native rendering, and a disabled test is no node at all; strings in
// a list argument are rendered (`column_type_list: [date, "{{ type_datetime() }}"]`).
matrix!(rendered_test_configs_and_list_arguments_as_in_dbt);
fn rendered_test_configs_and_list_arguments_as_in_dbt(engine: Engine) {
    let project = Project::new("real", engine);
    project.write("models/letters.sql", "select 'a' as letter union all select 'b'\n");
    project.write(
        "models/schema.yml",
        "models:\n  - name: letters\n    columns:\n      - name: letter\n        data_tests:\n\
         \x20         - accepted_values:\n              values: [a, \"{{ 'b' }}\"]\n\
         \x20         - accepted_values:\n              name: only_a_elsewhere\n              values: [a]\n\
         \x20             config:\n                enabled: \"{{ target.type == 'bigquery' }}\"\n\
         \x20         - unique:\n              config:\n                enabled: \"{{ target.type in ['postgres', 'duckdb'] }}\"\n",
    );
    let output = project.dvt_exits(0, &["build"]);
    assert!(output.stderr.contains("PASS=3 "), "{output:?}");
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("the manifest is JSON");
    let mut tests: Vec<&str> = manifest["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|node| node["resource_type"] == "test")
        .filter_map(|node| node["name"].as_str())
        .collect();
    tests.sort_unstable();
    assert_eq!(
        tests,
        ["accepted_values_letters_letter__a___b_", "unique_letters_letter"]
    );
}

// dbt-audit-helper reads `relation.information_schema('columns')`;
// dbt-codegen matches `{{ ref(` with Python's `re`, where a brace that starts
// no repetition is a literal.
matrix!(information_schema_relations_and_python_braces_as_in_dbt);
fn information_schema_relations_and_python_braces_as_in_dbt(engine: Engine) {
    let project = Project::new("real", engine);
    project.write("models/letters.sql", "select 'a' as letter, 1 as n\n");
    project.write(
        "models/letter_columns.sql",
        "select count(*) as columns, '{{ modules.re.findall('(?x) {{\\s*ref\\(  # a ref( in {{ }}\\n', 'x {{ ref(y) }}') | length }}' as refs\n\
         from {{ ref('letters').information_schema('columns') }}\n\
         where table_name = 'letters' and table_schema = '{{ ref('letters').schema }}'\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select cast(columns as varchar), refs from analytics.letter_columns"),
        table(&[&["2", "1"]])
    );
}

// dbt-audit-helper's `{{ "lower(" if target.type == 'snowflake' }}`: a
// printed `if` with no `else` prints nothing when false, as in dbt.
matrix!(a_printed_if_without_else_prints_nothing_when_false);
fn a_printed_if_without_else_prints_nothing_when_false(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "models/cased.sql",
        "select {{ \"lower(\" if target.type == 'snowflake' }}'Ab'{{ \")\" if target.type == 'snowflake' -}} \
         as word, '{{ 'yes' if target.name == 'dev' }}' as dev\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select word, dev from analytics.cased"),
        table(&[&["Ab", "yes"]])
    );
}

// dbt-codegen's `generate_source(schema_name, ..., name=schema_name)`: a
// default sees the arguments before it, as in Jinja2; and its
// `column.fields|length` is 0 for a column without `fields`.
matrix!(macro_defaults_see_earlier_arguments_and_undefined_has_no_length);
fn macro_defaults_see_earlier_arguments_and_undefined_has_no_length(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "macros/pick.sql",
        "{% macro pick(schema_name, upper=false, name=schema_name ~ '_src') -%}\n\
         {{ return((name | upper) if upper else name) }}\n\
         {%- endmacro %}\n",
    );
    project.write(
        "models/picked.sql",
        "select '{{ pick('raw') }}' as default_name, '{{ pick('raw', name='mine') }}' as given, \
         {{ {'a': 1}.fields | length }} as fields\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select default_name, given, cast(fields as varchar) from analytics.picked"),
        table(&[&["raw_src", "mine", "0"]])
    );
}
