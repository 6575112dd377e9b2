//! Patterns found in public dbt projects and packages (dbt-date,
//! dbt-expectations, jaffle_shop), each in a small project of its own, built
//! by the real binary on PostgreSQL and DuckDB alike ([`matrix!`]) and read
//! back; dbt-core gives these projects the same rows.

#![cfg(feature = "duckdb")]

#[path = "support/command.rs"]
mod command;
mod common;
#[path = "support/engine.rs"]
#[expect(dead_code, reason = "Engine::pick is for other test files")]
mod engine;
#[path = "support/matrix.rs"]
#[macro_use]
mod matrix;
#[path = "support/profile.rs"]
mod profile;
#[path = "support/project.rs"]
#[expect(dead_code, reason = "Project::read is for other test files")]
mod project;
#[path = "support/run_output.rs"]
mod run_output;

use engine::Engine;
use project::Project;

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
