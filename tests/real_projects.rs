//! Patterns found in public dbt projects and packages (dbt-date,
//! dbt-expectations, jaffle_shop, dbt-audit-helper, dbt-project-evaluator,
//! jaffle-shop-expand), each in a small project of its own, built
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

/// The status `target/run_results.json` records for `unique_id`.
fn result_status(project: &Project, unique_id: &str) -> Option<serde_json::Value> {
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json is JSON");
    results["results"]
        .as_array()
        .and_then(|results| results.iter().find(|result| result["unique_id"] == unique_id))
        .map(|result| result["status"].clone())
}

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

// dbt-project-evaluator's `max_depth_dag: "{{ 9 if target.type in [...] else
// -1 }}"` in its own project file, read by its models as `var(...) | int`:
// a var holding Jinja is rendered when it is read, to a string, as dbt's
// `get_rendered_var` does (a package's vars and the root project's alike);
// Jinja2's `int` and `float` filters give their default for what they
// cannot read instead of failing, and its `round` takes a method
// (`| round(0, 'ceil')`) and rounds half to even, as Python does.
matrix!(vars_render_when_read_and_int_reads_what_it_can);
fn vars_render_when_read_and_int_reads_what_it_can(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "project.yml",
        "name: real\nprofile: real\nvars:\n  root_depth: \"{{ 2 if target.type == 'bigquery' else 3 }}\"\n",
    );
    project.write(
        "dbt_packages/evaluator/dbt_project.yml",
        "name: evaluator\nvars:\n  max_depth: \"{{ 9 if target.type in ['bigquery', 'spark'] else -1 }}\"\n",
    );
    project.write(
        "dbt_packages/evaluator/models/depths.sql",
        "select {{ var('max_depth') | int }} as package_depth, '{{ var('max_depth') }}' as printed, \
         {{ var('root_depth') | int + 1 }} as root_depth, {{ 'n/a' | int }} as unreadable, \
         {{ '2.9' | int }} as truncated, {{ 'x' | int(7) }} as given_default, {{ '1.5' | float * 2 }} as doubled, \
         {{ (7 / 3) | round(0, 'ceil') | int }} as batches, '{{ 2.5 | round }}' as half_even\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows(
            "select cast(package_depth as varchar), printed, cast(root_depth as varchar), \
             cast(unreadable as varchar), cast(truncated as varchar), cast(given_default as varchar), \
             cast(doubled as varchar), cast(batches as varchar), half_even from analytics.depths"
        ),
        table(&[&["-1", "-1", "4", "0", "2", "7", "3.0", "3", "2.0"]])
    );
}

// dbt-project-evaluator's recursive DAG paths: dbt's `array_construct`,
// `array_append` and `array_concat`, with an empty array typed.
matrix!(array_macros_as_in_dbt);
fn array_macros_as_in_dbt(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "models/paths.sql",
        "select array_to_string({{ dbt.array_append(dbt.array_construct([\"'a'\"]), \"'b'\") }}, '>') as appended, \
         array_to_string({{ dbt.array_concat(dbt.array_construct([\"'a'\", \"'b'\"]), dbt.array_construct([\"'c'\"])) }}, '>') as concatenated, \
         array_to_string({{ array_construct([], 'integer') }}, '>') as empty\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select appended, concatenated, empty from analytics.paths"),
        table(&[&["a>b", "a>b>c", ""]])
    );
}

// dbt-audit-helper's unit tests override `audit_helper._get_comparison_bounds`,
// which the package's own macros call (it would query the inputs' relations,
// which a unit test does not have): as in dbt, the override is what the call
// returns at any depth, by its package-qualified name.
matrix!(a_unit_test_overrides_a_package_macro_inside_the_package);
fn a_unit_test_overrides_a_package_macro_inside_the_package(engine: Engine) {
    let project = Project::new("real", engine);
    project.write("dbt_packages/helper/dbt_project.yml", "name: helper\n");
    project.write(
        "dbt_packages/helper/macros/bounded.sql",
        "{% macro bounds(relation) %}{% if execute %}{{ exceptions.raise_compiler_error('bounds() queries ' ~ relation) }}{% endif %}\
         {{ return({'low': 0, 'high': 0}) }}{% endmacro %}\n\
         {% macro bounded(relation) %}{% set limits = helper.bounds(relation) %}\
         select * from {{ relation }} where n between {{ limits['low'] }} and {{ limits['high'] }}{% endmacro %}\n",
    );
    project.write(
        "models/numbers.sql",
        "select 1 as n union all select 2 union all select 3\n",
    );
    project.write("models/middle.sql", "{{ helper.bounded(ref('numbers')) }}\n");
    project.write(
        "models/unit.yml",
        "unit_tests:\n  - name: middle_only\n    model: middle\n    overrides:\n      macros:\n\
         \x20       helper.bounds: {low: 2, high: 2}\n    given:\n      - input: ref('numbers')\n\
         \x20       rows: [{n: 1}, {n: 2}, {n: 3}]\n    expect:\n      rows: [{n: 2}]\n",
    );
    let output = project.dvt_exits(1, &["build"]);
    // The model itself calls the real macro, which fails; its unit test passes.
    let status = |id: &str| result_status(&project, id);
    assert_eq!(
        status("unit_test.real.middle.middle_only"),
        Some("pass".into()),
        "{output:?}"
    );
    assert_eq!(status("model.real.middle"), Some("error".into()), "{output:?}");
}

// jaffle-shop-expand's `dbt ls`: sources are listed as
// `source:<package>.<source>.<table>` and exposures as
// `exposure:<package>.<name>`, whatever folder declares them, and analyses
// only when asked for (`--resource-type analysis` or `all`).
#[test]
fn ls_lists_sources_exposures_and_analyses_as_dbt_does() {
    let project = Project::new("real", Engine::DuckDb);
    project.write("models/marts/orders.sql", "select 1 as id\n");
    project.write("analyses/revenue.sql", "select * from {{ ref('orders') }}\n");
    project.write(
        "models/marts/sources.yml",
        "sources:\n  - name: ecom\n    tables:\n      - name: raw_orders\n\
         exposures:\n  - name: portal\n    type: application\n    owner: {name: ops}\n    depends_on: [ref('orders')]\n",
    );
    let output = project.dvt_exits(0, &["ls"]);
    assert_eq!(
        output.stdout.lines().collect::<Vec<_>>(),
        // In order of unique id, as dbt lists them.
        [
            "exposure:real.portal",
            "real.marts.orders",
            "source:real.ecom.raw_orders"
        ],
        "{output:?}"
    );
    let output = project.dvt_exits(0, &["ls", "--resource-type", "analysis"]);
    assert_eq!(output.stdout.lines().collect::<Vec<_>>(), ["real.analysis.revenue"]);
    let output = project.dvt_exits(0, &["ls", "--resource-type", "all"]);
    assert_eq!(output.stdout.lines().count(), 4, "{output:?}");
}

// dbt-project-evaluator's graph tables: a package model's post-hook calls
// the package's own macro unqualified and reads the package's vars, as the
// package's nodes do everywhere in dbt.
matrix!(a_package_models_hooks_see_the_packages_macros);
fn a_package_models_hooks_see_the_packages_macros(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "dbt_packages/evaluator/dbt_project.yml",
        "name: evaluator\nvars:\n  batch: \"{{ 2 if target.type == 'bigquery' else 3 }}\"\n",
    );
    project.write(
        "dbt_packages/evaluator/macros/fill.sql",
        "{% macro fill(relation) %}insert into {{ relation }} values ({{ var('batch') | int }}){% endmacro %}\n",
    );
    project.write(
        "dbt_packages/evaluator/models/resources.sql",
        "{{ config(materialized='table', post_hook=\"{{ fill(this) }}\") }}\nselect 1 as n\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select cast(n as varchar) from analytics.resources order by n"),
        table(&[&["1"], &["3"]])
    );
}

// jaffle-shop-expand's `cast(... as {{ dbt.type_float() }})`: dbt-duckdb keeps
// dbt's `float`, which is 4 bytes on DuckDB, so its columns are `FLOAT` there
// (and 8-byte `double precision` on PostgreSQL).
matrix!(type_float_is_dbts_float_on_each_adapter);
fn type_float_is_dbts_float_on_each_adapter(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "models/ratios.sql",
        "select cast(0.1 as {{ dbt.type_float() }}) as ratio\n",
    );
    project.dvt_exits(0, &["build"]);
    let expected = match engine {
        Engine::Postgres => "double precision",
        Engine::DuckDb => "FLOAT",
    };
    assert_eq!(
        project.rows(
            "select data_type from information_schema.columns where table_name = 'ratios' and column_name = 'ratio'"
        ),
        table(&[&[expected]])
    );
}

// dbt-project-evaluator reads the project from `graph`: a model's `access`
// (`protected` unless set), `group`, MetricFlow `time_spine` (none unless
// declared), dbt's default `on_schema_change`, and a test's macros named as
// dbt names its own (`macro.dbt.test_unique`). Its fake models are ephemeral
// files holding a bare `{{ ref() }}` or only a comment, which dbt never runs
// alone and so never checks; and a test argument that is one `{{ ... }}` is
// its value (`values: "{{ var('model_types') }}"` is the var's list).
matrix!(graph_nodes_carry_what_dbt_project_evaluator_reads);
fn graph_nodes_carry_what_dbt_project_evaluator_reads(engine: Engine) {
    let project = Project::new("real", engine);
    project.write(
        "project.yml",
        "name: real\nprofile: real\nvars:\n  kinds: [daily, weekly]\n",
    );
    project.write(
        "models/all_days.sql",
        "select 'daily' as kind union all select 'weekly'\n",
    );
    project.write(
        "models/fake_root.sql",
        "{{ config(materialized='ephemeral') }}\n-- no SQL at all\n",
    );
    project.write(
        "models/fake_ref.sql",
        "{{ config(materialized='ephemeral') }}\n{{ ref('all_days') }}\n",
    );
    project.write(
        "models/schema.yml",
        "groups:\n  - name: finance\n    owner: {name: ops}\n\
         models:\n  - name: all_days\n    time_spine:\n      standard_granularity_column: kind\n\
         \x20   config: {access: public, group: finance}\n    columns:\n      - name: kind\n\
         \x20       data_tests:\n          - unique\n          - accepted_values:\n              values: \"{{ var('kinds') }}\"\n",
    );
    project.write(
        "models/graph_facts.sql",
        "{% if execute %}{% set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list %}\
         {% set spines = models | rejectattr('time_spine', 'none') | map(attribute='name') | join(',') %}\
         {% set days = graph.nodes['model.real.all_days'] %}\
         {% set unique = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test') \
         | selectattr('name', 'equalto', 'unique_all_days_kind') | first %}\
         select '{{ spines }}' as spines, '{{ days.access }}' as access, '{{ days.group }}' as model_group, \
         '{{ graph.nodes['model.real.fake_ref'].access }}' as default_access, \
         '{{ days.config.on_schema_change }}' as on_schema_change, \
         '{{ unique.depends_on.macros | join(',') }}' as test_macros\n\
         {% else %}select 1 as not_parsed{% endif %}\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows(
            "select spines, access, model_group, default_access, on_schema_change, test_macros from analytics.graph_facts"
        ),
        table(&[&["all_days", "public", "finance", "protected", "ignore", "macro.dbt.test_unique"]])
    );
}

// dbt-codegen's `get_models` reads `graph` in a package's macro, which the
// project's own code never names: the graph is built for it all the same.
matrix!(a_package_macro_reading_the_graph_sees_the_models);
fn a_package_macro_reading_the_graph_sees_the_models(engine: Engine) {
    let project = Project::new("real", engine);
    project.write("dbt_packages/codegen/dbt_project.yml", "name: codegen\n");
    project.write(
        "dbt_packages/codegen/macros/get_models.sql",
        "{% macro get_models(prefix) %}{% set names = [] %}{% for node in graph.nodes.values() \
         | selectattr('resource_type', 'equalto', 'model') %}{% if node.name.startswith(prefix) %}\
         {% do names.append(node.name) %}{% endif %}{% endfor %}{{ return(names | sort | join(',')) }}{% endmacro %}\n",
    );
    project.write("models/model_a.sql", "select 1 as id\n");
    project.write(
        "models/listed.sql",
        "select '{% if execute %}{{ codegen.get_models('model_') }}{% endif %}' as models\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select models from analytics.listed"),
        table(&[&["model_a"]])
    );
}

// dbt 1.10's `build` lists exposures (dbt-project-evaluator's `exposure_1`):
// `NO-OP` once what they depend on is built and tested, skipped when a test
// of it failed, and counted in the summary's `NO-OP=`.
matrix!(build_lists_exposures_as_no_ops);
fn build_lists_exposures_as_no_ops(engine: Engine) {
    let project = Project::new("real", engine);
    project.write("models/orders.sql", "select 1 as id union all select 1\n");
    project.write("models/customers.sql", "select 1 as id\n");
    project.write(
        "models/schema.yml",
        "models:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique]\n\
         exposures:\n  - name: portal\n    type: application\n    owner: {name: ops}\n    depends_on: [ref('customers')]\n\
         \x20 - name: dashboard\n    type: dashboard\n    owner: {name: ops}\n    depends_on: [ref('orders')]\n",
    );
    let output = project.dvt_exits(1, &["build"]);
    assert!(
        output
            .stderr
            .contains("Done. PASS=2 WARN=0 ERROR=1 SKIP=1 NO-OP=1 TOTAL=5"),
        "{output:?}"
    );
    assert!(output.stderr.contains(" NO-OP exposure portal "), "{output:?}");
    let status = |id: &str| result_status(&project, id);
    assert_eq!(status("exposure.real.portal"), Some("no-op".into()));
    assert_eq!(status("exposure.real.dashboard"), Some("skipped".into()));
    // `run` has no exposures to list.
    let output = project.dvt_exits(0, &["run"]);
    assert!(output.stderr.contains("NO-OP=0 TOTAL=2"), "{output:?}");
}
