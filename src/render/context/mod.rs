//! dbt's Jinja context: the objects and functions dbt's templates and packages
//! rely on, with dbt's semantics, shared by parse time, compile time and run
//! time, and by every adapter.
//!
//! - `relation`: dbt's Relation, what `ref()`, `source()` and `this` return,
//!   and `api.Relation`.
//! - `column`: dbt's Column, `api.Column`, and what the adapter returns for a
//!   relation's columns.
//! - `methods`: Python's list, dict and string methods, with lists and dicts
//!   that templates change in place.
//! - `helpers`: `fromjson`, `tojson`, `fromyaml`, `toyaml`, `zip`, `set`,
//!   `local_md5`, `exceptions`.
//! - `set`: Python's set, which compares without order.
//! - `modules`: `modules.datetime`, `re`, `pytz` and `itertools`.
//! - `macros`: Jinja's `kwargs` and `varargs` in macros.
//! - [`warehouse`]: the bridge to the warehouse that `statement`,
//!   `run_query`, `load_result` and `adapter`'s live methods use at run time.
//! - [`table`]: the agate-like table those queries return.
//!
//! The renderer in `render/jinja.rs` calls [`install`] on its environment and
//! keeps what depends on the project (`ref`, `config`, `var`, macros). The
//! warehouse itself is reached only through [`warehouse::Warehouse`], which
//! the executor implements.

pub mod column;
pub mod graph;
mod helpers;
pub mod macros;
pub mod methods;
pub mod modules;
pub mod relation;
mod set;
pub mod table;
#[cfg(test)]
mod test_render;
pub mod warehouse;

use minijinja::value::Value;
use minijinja::Environment;

pub use column::{Column, ColumnClass};
pub use helpers::from_json;
pub use modules::DateTime;
pub use relation::{Policy, Relation, RelationClass, RelationType};

/// The dbt-core version dvt's templates see as `dbt_version`, which packages
/// compare with their `require-dbt-version`.
pub const DBT_VERSION: &str = "1.10.0";

/// dbt's `flags`: the invocation's settings under their dbt names. A flag
/// dvt does not have is undefined, which `{% if flags.X %}` reads as false.
pub fn flags(globals: &super::jinja::Globals) -> Value {
    Value::from_iter([
        ("FULL_REFRESH", Value::from(globals.full_refresh)),
        ("WHICH", Value::from(globals.command.as_str())),
        ("STORE_FAILURES", Value::from(globals.store_failures)),
        ("WARN_ERROR", Value::from(false)),
        ("FAIL_FAST", Value::from(globals.fail_fast)),
        ("DEBUG", Value::from(false)),
        ("USE_COLORS", Value::from(false)),
        ("INTROSPECT", Value::from(true)),
        ("PARTIAL_PARSE", Value::from(false)),
        ("STATIC_PARSER", Value::from(true)),
        ("EMPTY", Value::from(false)),
        ("QUIET", Value::from(false)),
        ("SEND_ANONYMOUS_USAGE_STATS", Value::from(false)),
        ("WRITE_JSON", Value::from(true)),
        ("INDIRECT_SELECTION", Value::from("eager")),
        ("LOG_FORMAT", Value::from("default")),
        ("PRINTER_WIDTH", Value::from(80)),
        ("VERSION_CHECK", Value::from(true)),
        ("TARGET_PATH", Value::from(())),
        ("INVOCATION_COMMAND", Value::from(format!("dvt {}", globals.command))),
    ])
}

/// Adds the context that does not depend on the project to `env`: Python's
/// methods and mutable literals, the helpers, `modules` and `api`.
pub fn install(env: &mut Environment<'static>) {
    env.add_function(methods::LIST_FUNCTION, methods::list_function);
    env.add_function(methods::DICT_FUNCTION, methods::dict_function);
    env.add_function("dict", methods::dict_constructor);
    env.add_function("list", methods::list_filter);
    env.add_filter("list", methods::list_filter);
    env.add_filter("length", methods::length_filter);
    env.add_filter("count", methods::length_filter);
    env.add_filter("int", methods::int_filter);
    env.add_filter("float", methods::float_filter);
    env.add_filter("round", methods::round_filter);
    env.set_unknown_method_callback(methods::unknown_method);
    helpers::install(env);
    modules::install(env);
    env.add_global(
        "api",
        Value::from_iter([
            ("Relation", Value::from_object(RelationClass)),
            ("Column", Value::from_object(ColumnClass)),
        ]),
    );
}
