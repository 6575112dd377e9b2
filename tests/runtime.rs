//! End-to-end tests of run-time Jinja: `run_query`, `statement` and
//! `load_result`, `adapter`'s live methods, hooks rendered as they run, and
//! `execute`, which is false offline and true while a node runs. The real
//! binary on a small project, on PostgreSQL and DuckDB alike ([`matrix!`]).
//!
//! Each PostgreSQL test has a database of its own (`dvt_runtime_<random>`),
//! dropped when done; each DuckDB test a file in its temp directory. Results
//! are read back with the drivers, every value cast to text in the query.

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

fn table(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| row.iter().map(|value| Some(value.to_string())).collect())
        .collect()
}

matrix!(run_query_generates_sql_from_the_warehouse);
fn run_query_generates_sql_from_the_warehouse(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write("seeds/methods.csv", "method,weight\ncard,2\ncash,1\ngift,3\n");
    // The columns of the model come from the seed's rows; typed values do
    // arithmetic, and the table reads by column, by row and by name.
    project.write(
        "models/by_method.sql",
        "{% set methods = run_query('select method, weight from ' ~ ref('methods') ~ ' order by method') %}\n\
         select 1 as id\n\
         {%- if execute %}\n\
         {%- for method in methods.columns[0].values() %}, '{{ method }}' as {{ method }}_name{% endfor %}\n\
         {%- for row in methods.rows %}, {{ row['weight'] * 10 }} as {{ row.method }}_weight{% endfor %}\n\
         , {{ methods.rows | length }} as method_count, '{{ methods.column_names | join('+') }}' as names\n\
         {%- set dated = run_query(\"select cast('2024-02-29' as date) as d, cast('2024-02-29 13:45:00' as timestamp) as t\") %}\n\
         , '{{ dated.rows[0].d.year }} {{ dated.rows[0].t.strftime('%H%M') }}' as dated\n\
         {%- endif %}\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows(
            "select cast(card_name as varchar), cast(gift_weight as varchar), cast(method_count as varchar), names, \
             dated from analytics.by_method"
        ),
        table(&[&["card", "30", "3", "method+weight", "2024 1345"]])
    );
    // The SQL that ran, with the warehouse's data in it.
    let ran = project.read("target/run/runtime/models/by_method.sql");
    assert!(ran.contains("'cash' as cash_name"), "{ran}");
}

matrix!(statement_and_load_result_keep_the_response_and_rows);
fn statement_and_load_result_keep_the_response_and_rows(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write(
        "models/counted.sql",
        "{% call statement('numbers', fetch_result=True) %}\n\
         select 7 as n union all select 8\n\
         {% endcall %}\n\
         {% set result = load_result('numbers') %}\n\
         {% if execute %}\n\
         select {{ result['data'] | length }} as row_count, {{ result['table'].columns['n'].values() | sum }} as total,\n\
         '{{ result['response'].code }}' as code, {{ result['data'][1][0] }} as last\n\
         {% else %}\n\
         select 0 as row_count, 0 as total, 'parse' as code, 0 as last\n\
         {% endif %}\n",
    );
    project.dvt_exits(0, &["run"]);
    assert_eq!(
        project.rows(
            "select cast(row_count as varchar), cast(total as varchar), code, cast(last as varchar) \
             from analytics.counted"
        ),
        table(&[&["2", "15", "SELECT", "8"]])
    );
}

matrix!(adapter_methods_read_and_change_the_warehouse);
fn adapter_methods_read_and_change_the_warehouse(engine: Engine) {
    let project = Project::new("runtime", engine);
    // dbt-utils' integration suite drops a seed in its own post-hook, to
    // test macros on a relation that does not exist.
    project.write(
        "project.yml",
        "name: runtime\nprofile: runtime\nseeds:\n  runtime:\n    dropped:\n      \
         +post-hook: \"{% do adapter.drop_relation(this.incorporate(type='table')) %}\"\n",
    );
    project.write("seeds/people.csv", "id,name,height\n1,Ann,1.7\n");
    project.write("seeds/leftover.csv", "id\n1\n");
    project.write("seeds/dropped.csv", "id\n1\n");
    // get_columns_in_relation on a seed (Column objects), get_relation on
    // what exists and what does not, list_relations_without_caching, and
    // drop_relation in a model's pre-hook, which renders when it runs.
    project.write(
        "models/described.sql",
        "{{ config(materialized='table', pre_hook=\"{% do adapter.drop_relation(adapter.get_relation(this.database, this.schema, 'leftover')) %}\") }}\n\
         {% set columns = adapter.get_columns_in_relation(ref('people')) %}\n\
         {% set missing = adapter.get_relation(database=this.database, schema=this.schema, identifier='dropped') %}\n\
         {% set found = adapter.get_relation(this.database, this.schema, 'people') %}\n\
         {% set listed = adapter.list_relations_without_caching(this) %}\n\
         select '{{ columns | map(attribute='name') | join(',') }}' as names,\n\
         '{% for column in columns if column.is_number() %}{{ column.quoted }}{% endfor %}' as numbers,\n\
         '{% if missing is none %}none{% endif %}' as missing,\n\
         '{{ found.identifier if found else '' }} {{ found.type if found else '' }}' as found,\n\
         '{{ listed | map(attribute='identifier') | sort | join(',') }}' as listed\n\
         -- {{ ref('leftover') }} {{ ref('dropped') }}\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select names, numbers, missing, found, listed from analytics.described"),
        table(&[&[
            "id,name,height",
            "\"id\"\"height\"",
            "none",
            "people table",
            "leftover,people"
        ]])
    );
    // The pre-hook dropped one seed's table, the post-hook the other's.
    let remaining = project.rows(
        "select cast(count(*) as varchar) from information_schema.tables \
         where table_schema = 'analytics' and table_name in ('leftover', 'dropped')",
    );
    assert_eq!(remaining, table(&[&["0"]]));
}

matrix!(execute_is_true_when_compiling_and_running_and_compile_connects_only_when_asked);
fn execute_is_true_when_compiling_and_running_and_compile_connects_only_when_asked(engine: Engine) {
    let project = Project::new("runtime", engine);
    let source = "{% set rows = run_query('select 1 as one') %}\n\
         select '{% if execute %}yes{% else %}no{% endif %}' as executed,\n\
         '{% if rows is none %}none{% else %}{{ rows.rows[0][0] }}{% endif %}' as result\n";
    project.write("models/phase.sql", source);
    // As dbt's compile: `execute` is true and the query runs.
    project.dvt_exits(0, &["compile"]);
    let compiled = project.read("target/compiled/runtime/models/phase.sql");
    assert!(compiled.contains("'yes' as executed,\n'1' as result"), "{compiled}");
    project.dvt_exits(0, &["run"]);
    assert_eq!(
        project.rows("select executed, result from analytics.phase"),
        table(&[&["yes", "1"]])
    );
    // Parsing never runs it, and a compile whose Jinja asks nothing of the
    // warehouse does not connect: it works with an unreachable one.
    let unreachable = match engine {
        Engine::Postgres => project
            .read("profiles.yml")
            .replace(&format!("port: {}", project.server.port), "port: 1"),
        Engine::DuckDb => project
            .read("profiles.yml")
            .replace(DUCKDB_FILE, "missing/directory/warehouse.duckdb"),
    };
    project.write("profiles.yml", &unreachable);
    project.dvt_exits(0, &["parse"]);
    project.write(
        "models/phase.sql",
        "select '{% if execute %}yes{% endif %}' as executed\n",
    );
    project.dvt_exits(0, &["compile"]);
    let compiled = project.read("target/compiled/runtime/models/phase.sql");
    assert!(compiled.contains("'yes' as executed"), "{compiled}");
}

matrix!(a_project_materialization_builds_the_model_with_its_hooks);
fn a_project_materialization_builds_the_model_with_its_hooks(engine: Engine) {
    let project = Project::new("runtime", engine);
    let adapter = engine.pick("postgres", "duckdb");
    project.write(
        "project.yml",
        "name: runtime\nprofile: runtime\n\
         on-run-start:\n  - \"create schema if not exists audit\"\n  \
         - \"create table if not exists audit.counts (n integer)\"\n",
    );
    // The adapter's own block comes before the default one, which fails.
    project.write(
        "macros/insert_only.sql",
        &format!(
            "{{% materialization insert_only, default %}}\n\
             {{{{ exceptions.raise_compiler_error('the default materialization ran') }}}}\n\
             {{% endmaterialization %}}\n\n\
             {{% materialization insert_only, adapter='{adapter}', supported_languages=['sql'] %}}\n\
             {{%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}}\n\
             {{{{ run_hooks(pre_hooks, inside_transaction=False) }}}}\n\
             {{{{ run_hooks(pre_hooks, inside_transaction=True) }}}}\n\
             {{% if existing is none %}}\n\
             {{% call statement('main') %}}create table {{{{ this }}}} as {{{{ sql }}}}{{% endcall %}}\n\
             {{% else %}}\n\
             {{% call statement('main') %}}insert into {{{{ this }}}} {{{{ sql }}}}{{% endcall %}}\n\
             {{% endif %}}\n\
             {{{{ run_hooks(post_hooks, inside_transaction=True) }}}}\n\
             {{{{ adapter.commit() }}}}\n\
             {{{{ return({{'relations': [this]}}) }}}}\n\
             {{% endmaterialization %}}\n"
        ),
    );
    project.write(
        "models/appended.sql",
        "{{ config(materialized='insert_only', post_hook='insert into audit.counts select count(*) from {{ this }}') }}\n\
         select 1 as n union all select 2 union all select 3\n",
    );
    project.dvt_exits(0, &["run"]);
    project.dvt_exits(0, &["run"]);
    assert_eq!(
        project.rows("select cast(count(*) as varchar) from analytics.appended"),
        table(&[&["6"]])
    );
    assert_eq!(
        project.rows("select cast(n as varchar) from audit.counts order by n"),
        table(&[&["3"], &["6"]])
    );
}

matrix!(hooks_outside_the_transaction_run_before_it_begins_and_after_it_commits);
fn hooks_outside_the_transaction_run_before_it_begins_and_after_it_commits(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write(
        "project.yml",
        "name: runtime\nprofile: runtime\non-run-start:\n  - \"create schema if not exists audit\"\n  \
         - \"create sequence if not exists audit.positions\"\n  \
         - \"create table if not exists audit.events (position integer default nextval('audit.positions'), event text)\"\n",
    );
    // PostgreSQL refuses `vacuum` inside a transaction block, so it passes
    // only after the commit.
    let after = engine.pick("vacuum analytics.hooked", "select 1");
    project.write(
        "models/hooked.sql",
        &format!(
            "{{{{ config(materialized='table', pre_hook=[before_begin(\"insert into audit.events (event) values ('before')\"), \
             \"insert into audit.events (event) values ('pre')\"], post_hook=[\"insert into audit.events (event) values ('post')\", \
             after_commit(\"insert into audit.events (event) values ('after')\"), after_commit('{after}')]) }}}}\n\
             select 1 as n\n"
        ),
    );
    project.dvt_exits(0, &["run"]);
    assert_eq!(
        project.rows("select event from audit.events order by position"),
        table(&[&["before"], &["pre"], &["post"], &["after"]])
    );
}

matrix!(relations_found_by_a_query_are_unioned_as_dbt_utils_does);
fn relations_found_by_a_query_are_unioned_as_dbt_utils_does(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write("seeds/part_1.csv", "id\n1\n");
    project.write("seeds/part_2.csv", "id\n2\n");
    // As dbt_utils' get_relations_by_pattern and union_relations: nothing
    // while parsing (the model's SQL is empty then), a query of the catalog,
    // api.Relation.create for each row, then the columns of each.
    project.write(
        "macros/union_of.sql",
        "{% macro union_of(pattern) %}\n\
         {%- if not execute %}{{ return('') }}{% endif -%}\n\
         {%- set found = run_query(\"select table_schema, table_name from information_schema.tables \
         where table_schema = '\" ~ target.schema ~ \"' and table_name like '\" ~ pattern ~ \"' order by table_name\") -%}\n\
         {%- set relations = [] -%}\n\
         {%- for row in found.rows -%}\n\
         {%- do relations.append(api.Relation.create(schema=row.table_schema, identifier=row.table_name)) -%}\n\
         {%- endfor -%}\n\
         {%- for relation in relations %}\n\
         select '{{ relation.identifier }}' as source, {{ adapter.get_columns_in_relation(relation) | map(attribute='quoted') | join(', ') }} from {{ relation }}\n\
         {%- if not loop.last %} union all{% endif %}\n\
         {%- endfor %}\n\
         {% endmacro %}\n",
    );
    project.write(
        "models/unioned.sql",
        "-- {{ ref('part_1') }} {{ ref('part_2') }}\n{{ union_of('part_%') }}\n",
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select source, cast(id as varchar) from analytics.unioned order by id"),
        table(&[&["part_1", "1"], &["part_2", "2"]])
    );
}

matrix!(a_custom_materialization_uses_dbts_helper_macros);
fn a_custom_materialization_uses_dbts_helper_macros(engine: Engine) {
    let project = Project::new("runtime", engine);
    // A table built under another name and swapped in, with the helpers of
    // dbt's global project that materializations call.
    project.write(
        "macros/swap_table.sql",
        "{% materialization swap_table, default %}\n\
         {%- set existing = load_cached_relation(this) -%}\n\
         {%- set intermediate = make_intermediate_relation(this) -%}\n\
         {%- set backup = make_backup_relation(this, 'table') -%}\n\
         {{ drop_relation_if_exists(load_cached_relation(intermediate)) }}\n\
         {{ drop_relation_if_exists(load_cached_relation(backup)) }}\n\
         {% call statement('main') %}{{ get_create_table_as_sql(False, intermediate, sql) }}{% endcall %}\n\
         {% if existing is not none %}{{ adapter.rename_relation(existing, backup) }}{% endif %}\n\
         {{ adapter.rename_relation(intermediate, this) }}\n\
         {{ adapter.commit() }}\n\
         {{ drop_relation_if_exists(load_cached_relation(backup)) }}\n\
         {{ return({'relations': [this]}) }}\n\
         {% endmaterialization %}\n",
    );
    project.write(
        "models/swapped.sql",
        "{{ config(materialized='swap_table') }}\nselect {{ var('n') }} as n\n",
    );
    project.dvt_exits(0, &["run", "--vars", "{n: 1}"]);
    project.dvt_exits(0, &["run", "--vars", "{n: 2}"]);
    assert_eq!(
        project.rows("select cast(n as varchar) from analytics.swapped"),
        table(&[&["2"]])
    );
    assert_eq!(
        project.rows(
            "select cast(count(*) as varchar) from information_schema.tables \
             where table_schema = 'analytics' and table_name like 'swapped_%'"
        ),
        table(&[&["0"]])
    );
}

matrix!(a_failing_run_query_is_reported_at_the_call_in_the_model);
fn a_failing_run_query_is_reported_at_the_call_in_the_model(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write(
        "models/reads_missing.sql",
        "select 1 as id\n{% set rows = run_query('select * from no_such_table') %}\n",
    );
    let output = project.dvt_exits(1, &["run"]);
    let stderr = &output.stderr;
    // The error is the model's to fix: it points at its call of run_query(),
    // not into dvt's own `statement` macro.
    assert!(stderr.contains("no_such_table"), "{stderr}");
    assert!(stderr.contains("--> models/reads_missing.sql:2:15"), "{stderr}");
    assert!(!stderr.contains("dvt/macros/statement.sql"), "{stderr}");
}

matrix!(templates_see_the_store_failures_and_fail_fast_flags);
fn templates_see_the_store_failures_and_fail_fast_flags(engine: Engine) {
    let project = Project::new("runtime", engine);
    // dbt's `flags` and `should_store_failures()` follow the command line.
    project.write(
        "models/flagged.sql",
        "select '{{ flags.STORE_FAILURES }} {{ should_store_failures() }} {{ flags.FAIL_FAST }}' as seen\n",
    );
    project.dvt_exits(0, &["build", "--store-failures", "--fail-fast"]);
    assert_eq!(
        project.rows("select seen from analytics.flagged"),
        table(&[&["True True True"]])
    );
    project.dvt_exits(0, &["build"]);
    assert_eq!(
        project.rows("select seen from analytics.flagged"),
        table(&[&["False False False"]])
    );
}

// `dvt run-operation`, as dbt-core 1.10.23 behaves on the same macros
// (dbt-postgres 1.9 and dbt-duckdb 1.9): `--args` become keyword
// arguments (defaults fill the rest), the statements' effects are kept even
// when the macro then fails, a raised error exits 1, an unknown macro or
// keyword argument... and YAML that is not a mapping exit as usage errors,
// and run_results.json holds one `macro.<package>.<name>` result.
matrix!(run_operation_calls_a_macro_with_its_arguments);
fn run_operation_calls_a_macro_with_its_arguments(engine: Engine) {
    let project = Project::new("runtime", engine);
    project.write(
        "macros/ops.sql",
        "{% macro make_table(name, n=3) %}\n\
         {% do run_query('create schema if not exists ' ~ target.schema) %}\n\
         {% do run_query('create table ' ~ target.schema ~ '.' ~ name ~ ' as select ' ~ n ~ ' as n') %}\n\
         {% do log('made ' ~ name, info=True) %}\n\
         {% endmacro %}\n\
         {% macro make_then_fail() %}\n\
         {% do run_query('create table ' ~ target.schema ~ '.kept as select 1 as n') %}\n\
         {{ exceptions.raise_compiler_error('it broke after the create') }}\n\
         {% endmacro %}\n\
         {% macro shout(words) %}{% do print(words | upper ~ '|' ~ (words is string)) %}{% endmacro %}\n",
    );
    project.dvt_exits(0, &["run-operation", "make_table", "--args", "{name: made, n: 5}"]);
    project.dvt_exits(0, &["run-operation", "runtime.make_table", "--args", "name: defaulted"]);
    assert_eq!(
        project.rows("select cast(m.n as varchar), cast(d.n as varchar) from analytics.made m, analytics.defaulted d"),
        table(&[&["5", "3"]])
    );
    let results: serde_json::Value = serde_json::from_str(&project.read("target/run_results.json")).unwrap();
    let result = &results["results"][0];
    assert_eq!(result["unique_id"], "macro.runtime.make_table");
    assert_eq!(result["status"], "success");
    assert_eq!(result["failures"], 0);

    // dbt's print() is Python's: stdout.
    let printed = project.dvt_exits(0, &["run-operation", "shout", "--args", "{words: hi}"]);
    assert!(printed.stdout.contains("HI|True"), "{}", printed.stdout);
    assert!(!printed.stderr.contains("HI|True"), "{}", printed.stderr);

    // dbt exits 1 and keeps the table made before the error.
    let failed = project.dvt_exits(1, &["run-operation", "make_then_fail"]);
    assert!(failed.stderr.contains("it broke after the create"), "{}", failed.stderr);
    assert!(failed.stderr.contains("macros/ops.sql:8"), "{}", failed.stderr);
    assert_eq!(
        project.rows("select cast(n as varchar) from analytics.kept"),
        table(&[&["1"]])
    );
    let results: serde_json::Value = serde_json::from_str(&project.read("target/run_results.json")).unwrap();
    assert_eq!(results["results"][0]["status"], "error");
    assert_eq!(results["results"][0]["unique_id"], "macro.runtime.make_then_fail");

    let unknown = project.dvt_exits(2, &["run-operation", "make_tabel"]);
    assert!(
        unknown.stderr.contains("no macro named `make_tabel`"),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("did you mean `make_table`?"),
        "{}",
        unknown.stderr
    );
    let not_a_mapping = project.dvt_exits(2, &["run-operation", "make_table", "--args", "[1, 2]"]);
    assert!(
        not_a_mapping.stderr.contains("`--args` must be a YAML mapping"),
        "{}",
        not_a_mapping.stderr
    );
    let extra = project.dvt_exits(1, &["run-operation", "make_table", "--args", "{name: x, zz: 2}"]);
    assert!(extra.stderr.contains("zz"), "{}", extra.stderr);
}
