//! dbt's Jinja context through dvt's renderer: templates and macros as dbt
//! packages write them, rendered in parse and compile mode. The fixture
//! project `tests/fixtures/jinja_context` covers the same ground end to end
//! through `dvt compile` (see `cli.rs`).

use std::collections::BTreeMap;

use dvt::render::jinja::{jinja_diagnostic_with, Globals, Jinja, Mode, Scope};
use minijinja::Value;
use serde_json::Map;

fn globals() -> Globals {
    Globals {
        project_name: "shop".to_string(),
        target: serde_json::json!({"type": "postgres", "name": "dev", "schema": "analytics", "database": "shop"}),
        adapter_type: "postgres".to_string(),
        vars: Map::new(),
        cli_vars: Map::new(),
        docs: BTreeMap::new(),
        invocation_id: "00000000-0000-0000-0000-000000000000".to_string(),
        run_started_at: "2024-05-06T07:08:09.000010Z".to_string(),
        full_refresh: true,
        store_failures: false,
        fail_fast: false,
        command: "build".to_string(),
    }
}

fn jinja(macros: &[(&str, &str)]) -> Jinja {
    let globals = globals();
    let macros: Vec<(String, String)> = macros
        .iter()
        .map(|(path, source)| (path.to_string(), source.to_string()))
        .collect();
    match Jinja::new(globals, &macros) {
        Ok(jinja) => jinja,
        Err(diagnostics) => panic!("the macros do not load: {diagnostics:?}"),
    }
}

fn render_in(jinja: &Jinja, mode: Mode, source: &str) -> Result<String, minijinja::Error> {
    let scope = Scope::new(mode, "analytics", "shop");
    let (result, _) = jinja.render("models/check.sql", source, scope, Value::from(()));
    result
}

fn render(jinja: &Jinja, source: &str) -> String {
    render_in(jinja, Mode::Parse, source).unwrap_or_else(|error| panic!("`{source}` does not render: {error:#}"))
}

#[test]
fn relations_from_ref_and_api_behave_as_dbt_relations() {
    let jinja = jinja(&[(
        "macros/relations.sql",
        "{% macro same(relation) %}{{ return(relation) }}{% endmacro %}{% macro describe(relation) %}{{ relation.schema }}.{{ relation.identifier }}{% endmacro %}",
    )]);
    assert_eq!(
        render(
            &jinja,
            "{{ ref('orders') }} {{ ref('orders').database }} {{ ref('orders').name }}"
        ),
        r#""shop"."analytics"."orders" shop orders"#
    );
    assert_eq!(
        render(&jinja, "{{ same(ref('orders')) == ref('orders') }} {{ describe(ref('orders')) }} {{ same(ref('orders')) is none }}"),
        "True analytics.orders False"
    );
    assert_eq!(
        render(&jinja, "{{ api.Relation.create(database='db', schema='s', identifier='t', type='view').is_view }} {{ api.Relation.create(schema='s', identifier='t') }}"),
        r#"True "s"."t""#
    );
    assert_eq!(
        render(
            &jinja,
            "{{ source('raw', 'payments').incorporate(path={'identifier': 'p2'}) }}"
        ),
        r#""shop"."raw"."p2""#
    );
}

#[test]
fn lists_and_dicts_change_in_place_across_macros() {
    let jinja = jinja(&[(
        "macros/collect.sql",
        "{% macro collect(items) %}{% for item in ['a', 'b'] %}{% do items.append(item) %}{% endfor %}{{ return(items) }}{% endmacro %}\n{% macro remember(state) %}{% do state.update({'seen': true}) %}{% endmacro %}",
    )]);
    assert_eq!(
        render(
            &jinja,
            "{% set items = [] %}{% set returned = collect(items) %}{{ items | join(',') }} {{ returned | length }}"
        ),
        "a,b 2"
    );
    assert_eq!(
        render(
            &jinja,
            "{% set state = {} %}{% do remember(state) %}{{ state.seen }} {{ state.get('other', 'none') }}"
        ),
        "True none"
    );
}

#[test]
fn macros_take_extra_arguments_through_kwargs_and_varargs() {
    let jinja = jinja(&[(
        "macros/extra.sql",
        "{% macro proportion(model, group_by_columns=[]) %}{{ kwargs.get('at_least', 0) }}-{{ kwargs.at_most }}-{{ varargs | length }}-{{ group_by_columns | length }}{% endmacro %}",
    ), (
        // In another file, so that the call goes through dvt's macro lookup;
        // a call to a macro of the same file is minijinja's own and takes no
        // extra arguments.
        "macros/outer.sql",
        "{% macro outer(model) %}{{ proportion(model, **kwargs) }}{% endmacro %}",
    )]);
    assert_eq!(
        render(&jinja, "{{ proportion('m', at_least=0.5, at_most=1) }}"),
        "0.5-1-0-0"
    );
    assert_eq!(render(&jinja, "{{ proportion('m', ['a'], 'extra') }}"), "0--1-1");
    assert_eq!(render(&jinja, "{{ outer('m', at_most=2) }}"), "0-2-0-0");
    let (result, _) = jinja.call(
        "proportion",
        &[Value::from(minijinja::value::Kwargs::from_iter([
            ("model", Value::from("m")),
            ("at_least", Value::from(0.9)),
        ]))],
        Scope::new(Mode::Compile, "analytics", "shop"),
        Value::from(()),
    );
    assert_eq!(result.unwrap_or_else(|error| panic!("{error:#}")), "0.9--0-0");
}

/// A package's generic test called by its qualified name, as a test node is
/// instantiated, gets its extra arguments in `kwargs` (dbt_utils'
/// `not_null_proportion(at_least=...)`).
#[test]
fn a_package_macro_called_by_its_qualified_name_takes_kwargs() {
    let packages = dvt::render::jinja::PackageMacros {
        files: vec![(
            "pkg".to_string(),
            "dbt_packages/pkg/macros/proportion.sql".to_string(),
            "{% test proportion(model) %}{{ kwargs.get('at_least') }}{% endtest %}".to_string(),
        )],
        ..Default::default()
    };
    let jinja = match Jinja::with_packages(globals(), &[], &packages) {
        Ok(jinja) => jinja,
        Err(diagnostics) => panic!("the macros do not load: {diagnostics:?}"),
    };
    let kwargs = minijinja::value::Kwargs::from_iter([("model", Value::from("m")), ("at_least", Value::from(0.95))]);
    let (result, _) = jinja.call(
        "pkg.test_proportion",
        &[Value::from(kwargs)],
        Scope::new(Mode::Compile, "analytics", "shop"),
        Value::from(()),
    );
    assert_eq!(result.unwrap_or_else(|error| panic!("{error:#}")), "0.95");
}

/// dbt_utils' `generate_series` calls `get_powers_of_two` of the same file,
/// which returns from inside a loop: the value is the inner macro's, not the
/// outer one's.
#[test]
fn return_from_a_macro_of_the_same_file_returns_to_its_caller() {
    let jinja = jinja(&[(
        "macros/series.sql",
        "{% macro powers(n) %}{% for _ in range(1, 10) %}{% if n <= 2 ** loop.index %}{{ return(loop.index) }}{% endif %}{% endfor %}{% endmacro %}\n{% macro series(n) %}{% set power = powers(n) %}select {{ power }} as power{% endmacro %}",
    )]);
    assert_eq!(render(&jinja, "{{ series(10) }}"), "select 4 as power");
    // A call block to a macro of the same file still passes its caller.
    let jinja = self::jinja(&[(
        "macros/wrap.sql",
        "{% macro wrap() %}({{ caller() }}){% endmacro %}\n{% macro use_wrap() %}{% call wrap() %}inner{% endcall %}{% endmacro %}",
    )]);
    assert_eq!(render(&jinja, "{{ use_wrap() }}"), "(inner)");
}

#[test]
fn context_values_as_dbt_has_them() {
    let jinja = jinja(&[]);
    assert_eq!(
        render(&jinja, "{{ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') }} {{ run_started_at.year }} {{ invocation_id }} {{ dbt_version }}"),
        "2024-05-06 07:08:09.000010 2024 00000000-0000-0000-0000-000000000000 1.10.0"
    );
    assert_eq!(
        render(&jinja, "{{ flags.FULL_REFRESH }} {{ flags.WHICH }} {{ flags.STORE_FAILURES }} {{ graph.nodes | length }} {{ graph.sources.values() | list | length }}"),
        "True build False 0 0"
    );
    assert_eq!(
        render(&jinja, "{% if flags.NOT_A_FLAG %}yes{% else %}no{% endif %}"),
        "no"
    );
}

#[test]
fn raise_compiler_error_points_at_the_call_in_the_macro_file() {
    let macro_source = "{% macro check(value) %}\n  {% if not value %}\n    {{ exceptions.raise_compiler_error('`value` must be set') }}\n  {% endif %}\n{% endmacro %}";
    let jinja = jinja(&[("macros/check.sql", macro_source)]);
    let source = "select 1\n{{ check(false) }}";
    let error = render_in(&jinja, Mode::Compile, source).map(|_| ()).err();
    let Some(error) = error else {
        panic!("`check(false)` must fail")
    };
    let diagnostic = jinja_diagnostic_with(&error, "models/check.sql", source, &|name| jinja.macro_source(name));
    assert!(
        diagnostic.message.contains("`value` must be set"),
        "{}",
        diagnostic.message
    );
    let location = diagnostic
        .location
        .clone()
        .unwrap_or_else(|| panic!("no location: {diagnostic:?}"));
    assert_eq!(
        (location.file.as_str(), location.line),
        ("macros/check.sql", 3),
        "{diagnostic:?}"
    );
}
