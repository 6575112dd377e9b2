//! The bridge from Jinja to the warehouse: what `statement`, `run_query`,
//! `load_result` and `adapter`'s live methods (`get_relation`,
//! `get_columns_in_relation`, `drop_relation`, ...) run their SQL on.
//!
//! dbt renders a node twice. While parsing, `execute` is false and these
//! calls do nothing. While running, `execute` is true and they talk to the
//! warehouse on the node's own connection, inside its transaction when it
//! has one. minijinja calls functions synchronously, so the executor (which
//! is async) implements [`Warehouse`] on the node's connection and installs
//! it on the rendering thread with [`with_warehouse`] for the length of one
//! render; the methods block that thread on the async connection. Where no
//! warehouse is installed (parsing, the offline checks, `dvt compile`),
//! `execute` is false, queries return empty results and relations are not
//! found, as in dbt's parse.
//!
//! This module does not own Relation or Column objects; it only reads the
//! `database`, `schema`, `identifier` and `type` of the relations it is
//! given.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, ErrorKind, State};

use super::table::Table;
use super::{Column, Relation, RelationType};
use crate::adapter::{self, template_names, AdapterError, AdapterResponse, ColumnInfo, QueryResult, RelationKind};
use crate::render::jinja::with_scope;

/// What Jinja can do with the warehouse while a node runs. Each method
/// blocks the calling thread until the warehouse answers.
pub trait Warehouse: Send + Sync {
    /// Runs SQL. With `auto_begin`, a transaction is begun first unless one
    /// is open. With `fetch`, the rows come back too; otherwise the result
    /// is empty.
    fn execute(&self, sql: &str, auto_begin: bool, fetch: bool)
        -> Result<(AdapterResponse, QueryResult), AdapterError>;

    /// Begins a transaction unless one is open.
    fn begin(&self) -> Result<(), AdapterError>;

    /// Commits the open transaction, if there is one.
    fn commit(&self) -> Result<(), AdapterError>;

    /// What the relation is, or `None` when it does not exist.
    fn relation_kind(&self, relation: &adapter::Relation) -> Result<Option<RelationKind>, AdapterError>;

    /// The relation's columns in order; empty when it does not exist.
    fn columns(&self, relation: &adapter::Relation) -> Result<Vec<ColumnInfo>, AdapterError>;

    /// The dialect's SQL templates, named as in [`template_names`].
    fn templates(&self) -> &minijinja::Environment<'static>;
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Warehouse>>> = const { RefCell::new(None) };
}

/// The warehouse of threads that have none of their own: set by `dvt
/// compile`, which renders on rayon's threads with `execute` true, as dbt's
/// compile does.
static SHARED: RwLock<Option<Arc<dyn Warehouse>>> = RwLock::new(None);

/// Makes `warehouse` the one every thread without its own talks to, until
/// the guard is dropped.
pub fn share_warehouse(warehouse: Arc<dyn Warehouse>) -> SharedGuard {
    *SHARED.write().unwrap_or_else(PoisonError::into_inner) = Some(warehouse);
    SharedGuard(())
}

/// Ends [`share_warehouse`] when dropped.
#[must_use = "the warehouse is shared until the guard is dropped"]
pub struct SharedGuard(());

impl Drop for SharedGuard {
    fn drop(&mut self) {
        *SHARED.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Runs `action` with `warehouse` as the one Jinja talks to on this thread.
pub fn with_warehouse<R>(warehouse: Arc<dyn Warehouse>, action: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|cell| cell.borrow_mut().replace(warehouse));
    // Restored even when `action` panics, so a later render on this thread
    // never reaches a finished node's connection.
    struct Restore(Option<Arc<dyn Warehouse>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|cell| *cell.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    action()
}

/// Whether Jinja rendered on this thread can reach the warehouse; the
/// value of `execute` for a node rendered now.
pub fn is_connected() -> bool {
    current().is_some()
}

fn current() -> Option<Arc<dyn Warehouse>> {
    CURRENT
        .with(|cell| cell.borrow().clone())
        .or_else(|| SHARED.read().unwrap_or_else(PoisonError::into_inner).clone())
}

fn warehouse_error(error: AdapterError) -> Error {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    Error::new(ErrorKind::InvalidOperation, message)
}

/// The arguments of a dbt method, each by position or by keyword, in the
/// order of `names`.
fn arguments(args: &[Value], names: &[&str]) -> Result<Vec<Option<Value>>, Error> {
    let (positional, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(args)?;
    names
        .iter()
        .enumerate()
        .map(|(index, name)| match positional.get(index) {
            Some(value) => Ok(Some(value.clone())),
            None => Ok(kwargs.get::<Option<Value>>(name)?.filter(|value| !value.is_undefined())),
        })
        .collect()
}

fn string_attribute(value: &Value, name: &str) -> Option<String> {
    value
        .get_attr(name)
        .ok()
        .filter(|attribute| !attribute.is_undefined() && !attribute.is_none())
        .map(|attribute| match attribute.as_str() {
            Some(text) => text.to_string(),
            None => attribute.to_string(),
        })
}

/// The relation a Jinja value names, and its `type` when it has one.
fn relation_of(value: Option<&Value>, method: &str) -> Result<(adapter::Relation, Option<String>), Error> {
    let value = value
        .filter(|value| !value.is_undefined() && !value.is_none())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("adapter.{method}() needs a relation, such as `this` or `ref('model')`"),
            )
        })?;
    let identifier = string_attribute(value, "identifier").unwrap_or_default();
    let schema = string_attribute(value, "schema").ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("adapter.{method}() needs a relation with a schema, got `{value}`"),
        )
    })?;
    let relation = adapter::Relation {
        database: string_attribute(value, "database"),
        schema,
        identifier,
    };
    Ok((relation, string_attribute(value, "type")))
}

/// A relation found in the warehouse, rendered as `ref()` renders one,
/// with its type.
fn relation_value(database: &str, schema: &str, identifier: &str, kind: Option<RelationKind>) -> Value {
    let path = crate::manifest::Relation {
        database: database.to_string(),
        schema: schema.to_string(),
        identifier: identifier.to_string(),
    };
    Value::from(Relation::reference(&path, kind.map(relation_type)))
}

fn relation_type(kind: RelationKind) -> RelationType {
    match kind {
        RelationKind::Table => RelationType::Table,
        RelationKind::View => RelationType::View,
        RelationKind::MaterializedView => RelationType::MaterializedView,
    }
}

fn kind_named(name: &str) -> Option<RelationKind> {
    match name {
        "table" => Some(RelationKind::Table),
        "view" => Some(RelationKind::View),
        "materialized_view" | "materialized view" => Some(RelationKind::MaterializedView),
        _ => None,
    }
}

/// dbt's `AdapterResponse` as Jinja sees it.
fn response_value(response: &AdapterResponse) -> Value {
    let mut entries = BTreeMap::new();
    entries.insert("_message", Value::from(response.message.clone()));
    entries.insert("code", Value::from(response.code.clone()));
    entries.insert("rows_affected", Value::from(response.rows_affected));
    Value::from_iter(entries)
}

/// Renders one of the warehouse's templates and runs it.
fn run_template(warehouse: &dyn Warehouse, name: &'static str, context: Value) -> Result<QueryResult, Error> {
    let sql = adapter::render_template(warehouse.templates(), name, context).map_err(warehouse_error)?;
    let (_, result) = warehouse.execute(&sql, false, true).map_err(warehouse_error)?;
    Ok(result)
}

/// `adapter.<method>(...)` for the methods that talk to the warehouse;
/// `None` for a method this module does not know.
pub fn adapter_method(method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let warehouse = current();
    let warehouse = warehouse.as_deref();
    // Offline, what would change the warehouse does nothing, whatever it
    // is given (`get_relation` returns none there).
    let changes = [
        "drop_relation",
        "truncate_relation",
        "rename_relation",
        "create_schema",
        "drop_schema",
        "expand_target_column_types",
        "begin",
        "commit",
    ];
    if warehouse.is_none() && changes.contains(&method) {
        return Some(Ok(Value::from("")));
    }
    Some(match method {
        "execute" => execute(warehouse, args),
        "get_relation" => arguments(args, &["database", "schema", "identifier"]).and_then(|values| {
            let part = |index: usize| -> String {
                values[index]
                    .as_ref()
                    .map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_string))
                    .unwrap_or_default()
            };
            get_relation(warehouse, &part(0), &part(1), &part(2))
        }),
        "load_relation" => arguments(args, &["relation"]).and_then(|values| {
            let (relation, _) = relation_of(values[0].as_ref(), method)?;
            get_relation(
                warehouse,
                relation.database.as_deref().unwrap_or_default(),
                &relation.schema,
                &relation.identifier,
            )
        }),
        "get_columns_in_relation" => arguments(args, &["relation"]).and_then(|values| {
            let (relation, _) = relation_of(values[0].as_ref(), method)?;
            let columns = columns(warehouse, &relation)?;
            Ok(Value::from_iter(columns.iter().map(column_value)))
        }),
        "get_missing_columns" => arguments(args, &["from_relation", "to_relation"]).and_then(|values| {
            let (from, _) = relation_of(values[0].as_ref(), method)?;
            let (to, _) = relation_of(values[1].as_ref(), method)?;
            let present: Vec<String> = columns(warehouse, &to)?
                .into_iter()
                .map(|column| column.name.to_lowercase())
                .collect();
            let missing = columns(warehouse, &from)?
                .into_iter()
                .filter(|column| !present.contains(&column.name.to_lowercase()));
            Ok(Value::from_iter(missing.map(|column| column_value(&column))))
        }),
        "list_relations_without_caching" | "list_relations" => {
            arguments(args, &["schema_relation", "schema"]).and_then(|values| {
                let schema = match (&values[0], &values[1]) {
                    // dbt's `list_relations(database, schema)` takes names.
                    (Some(_), Some(schema)) => schema.to_string(),
                    (Some(relation), None) => match relation.as_str() {
                        Some(schema) => schema.to_string(),
                        None => relation_of(Some(relation), method)?.0.schema,
                    },
                    _ => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("adapter.{method}() needs a schema relation"),
                        ))
                    }
                };
                list_relations(warehouse, &schema)
            })
        }
        "drop_relation" => arguments(args, &["relation"]).and_then(|values| {
            let (relation, kind) = relation_of(values[0].as_ref(), method)?;
            drop_relation(warehouse, &relation, kind.as_deref())
        }),
        "truncate_relation" => arguments(args, &["relation"]).and_then(|values| {
            let (relation, _) = relation_of(values[0].as_ref(), method)?;
            run_if_connected(
                warehouse,
                template_names::SEED_TRUNCATE,
                minijinja::context! { relation => relation },
            )
        }),
        "rename_relation" => arguments(args, &["from_relation", "to_relation"]).and_then(|values| {
            let (from, kind) = relation_of(values[0].as_ref(), method)?;
            let (to, _) = relation_of(values[1].as_ref(), method)?;
            rename_relation(warehouse, &from, kind.as_deref(), &to)
        }),
        "create_schema" | "drop_schema" => arguments(args, &["relation"]).and_then(|values| {
            let value = values[0].as_ref();
            let schema = match value.and_then(Value::as_str) {
                Some(schema) => schema.to_string(),
                None => relation_of(value, method)?.0.schema,
            };
            let template = if method == "create_schema" {
                template_names::CREATE_SCHEMA
            } else {
                template_names::DROP_SCHEMA
            };
            run_if_connected(warehouse, template, minijinja::context! { schema => schema })
        }),
        "list_schemas" => list_schemas(warehouse).map(Value::from),
        "check_schema_exists" => arguments(args, &["database", "schema"]).and_then(|values| {
            let schema = values[1].as_ref().map(|value| value.to_string()).unwrap_or_default();
            Ok(Value::from(list_schemas(warehouse)?.contains(&schema)))
        }),
        "already_exists" => arguments(args, &["schema", "name"]).and_then(|values| {
            let text = |index: usize| {
                values[index]
                    .as_ref()
                    .map(|value| value.to_string())
                    .unwrap_or_default()
            };
            let relation = adapter::Relation::new(text(0), text(1));
            Ok(Value::from(match warehouse {
                Some(warehouse) => warehouse.relation_kind(&relation).map_err(warehouse_error)?.is_some(),
                None => false,
            }))
        }),
        // dbt-postgres widens `varchar(n)` columns here; dvt's seeds and
        // tables use `text`, which needs no widening.
        "expand_target_column_types" => Ok(Value::from("")),
        "begin" => match warehouse {
            Some(warehouse) => warehouse.begin().map(|()| Value::from("")).map_err(warehouse_error),
            None => Ok(Value::from("")),
        },
        "commit" => match warehouse {
            Some(warehouse) => warehouse.commit().map(|()| Value::from("")).map_err(warehouse_error),
            None => Ok(Value::from("")),
        },
        _ => return None,
    })
}

/// `adapter.execute(sql, auto_begin=False, fetch=False)`: the response and
/// a table, empty unless fetched.
fn execute(warehouse: Option<&dyn Warehouse>, args: &[Value]) -> Result<Value, Error> {
    let values = arguments(args, &["sql", "auto_begin", "fetch"])?;
    let sql = values[0].as_ref().map(|value| value.to_string()).unwrap_or_default();
    let flag = |index: usize| values[index].as_ref().is_some_and(Value::is_true);
    let (response, table) = match warehouse {
        Some(warehouse) => {
            let (response, result) = warehouse.execute(&sql, flag(1), flag(2)).map_err(warehouse_error)?;
            (response, Table::from_result(&result))
        }
        None => (AdapterResponse::command(""), Table::empty()),
    };
    Ok(Value::from(vec![response_value(&response), Value::from_object(table)]))
}

fn get_relation(
    warehouse: Option<&dyn Warehouse>,
    database: &str,
    schema: &str,
    identifier: &str,
) -> Result<Value, Error> {
    let Some(warehouse) = warehouse else {
        return Ok(Value::from(()));
    };
    let relation = adapter::Relation::new(schema, identifier);
    Ok(match warehouse.relation_kind(&relation).map_err(warehouse_error)? {
        Some(kind) => relation_value(database, schema, identifier, Some(kind)),
        None => Value::from(()),
    })
}

fn columns(warehouse: Option<&dyn Warehouse>, relation: &adapter::Relation) -> Result<Vec<ColumnInfo>, Error> {
    match warehouse {
        Some(warehouse) => warehouse.columns(relation).map_err(warehouse_error),
        None => Ok(Vec::new()),
    }
}

/// A column as `adapter.get_columns_in_relation` returns it: dbt's Column.
fn column_value(column: &ColumnInfo) -> Value {
    Value::from_object(Column::new(column.name.clone(), &column.data_type))
}

fn list_relations(warehouse: Option<&dyn Warehouse>, schema: &str) -> Result<Value, Error> {
    let Some(warehouse) = warehouse else {
        return Ok(Value::from(Vec::<Value>::new()));
    };
    let result = run_template(
        warehouse,
        template_names::LIST_RELATIONS,
        minijinja::context! { schema => schema },
    )?;
    Ok(Value::from_iter(result.rows.iter().map(|row| {
        let text = |index: usize| row.get(index).cloned().flatten().unwrap_or_default();
        relation_value(&text(0), &text(1), &text(2), kind_named(&text(3)))
    })))
}

fn list_schemas(warehouse: Option<&dyn Warehouse>) -> Result<Vec<String>, Error> {
    let Some(warehouse) = warehouse else {
        return Ok(Vec::new());
    };
    let result = run_template(warehouse, template_names::LIST_SCHEMAS, minijinja::context! {})?;
    Ok(result
        .rows
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect())
}

/// Runs a template when a warehouse is installed; returns the empty string
/// Jinja prints for these calls.
fn run_if_connected(warehouse: Option<&dyn Warehouse>, name: &'static str, context: Value) -> Result<Value, Error> {
    if let Some(warehouse) = warehouse {
        let sql = adapter::render_template(warehouse.templates(), name, context).map_err(warehouse_error)?;
        warehouse.execute(&sql, false, false).map_err(warehouse_error)?;
    }
    Ok(Value::from(""))
}

/// The relation's kind from its `type`, or else from the catalog; `None`
/// when it does not exist.
fn kind_of(
    warehouse: &dyn Warehouse,
    relation: &adapter::Relation,
    declared: Option<&str>,
) -> Result<Option<RelationKind>, Error> {
    match declared.and_then(kind_named) {
        Some(kind) => Ok(Some(kind)),
        None => warehouse.relation_kind(relation).map_err(warehouse_error),
    }
}

fn drop_relation(
    warehouse: Option<&dyn Warehouse>,
    relation: &adapter::Relation,
    declared: Option<&str>,
) -> Result<Value, Error> {
    let Some(warehouse) = warehouse else {
        return Ok(Value::from(""));
    };
    match kind_of(warehouse, relation, declared)? {
        Some(kind) => run_if_connected(
            Some(warehouse),
            template_names::DROP_RELATION,
            minijinja::context! { relation => relation, kind => kind.sql_keyword() },
        ),
        None => Ok(Value::from("")),
    }
}

fn rename_relation(
    warehouse: Option<&dyn Warehouse>,
    from: &adapter::Relation,
    declared: Option<&str>,
    to: &adapter::Relation,
) -> Result<Value, Error> {
    let Some(warehouse) = warehouse else {
        return Ok(Value::from(""));
    };
    let kind = kind_of(warehouse, from, declared)?.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("adapter.rename_relation(): `{from}` does not exist"),
        )
    })?;
    run_if_connected(
        Some(warehouse),
        template_names::RENAME_RELATION,
        minijinja::context! { relation => from, kind => kind.sql_keyword(), new_identifier => to.identifier.clone() },
    )
}

/// Adds the functions of statements and their results to the environment:
/// `store_result`, `store_raw_result`, `load_result`, and `render`, which
/// renders a string (a hook) in the caller's context.
pub fn add_functions(env: &mut minijinja::Environment<'static>) {
    env.add_function("store_result", |args: Rest<Value>| -> Result<Value, Error> {
        let (name, result) = store_result(&args)?;
        with_scope(|scope| scope.statement_results.insert(name, result))?;
        Ok(Value::from(""))
    });
    env.add_function("store_raw_result", |args: Rest<Value>| -> Result<Value, Error> {
        let (name, result) = store_raw_result(&args)?;
        with_scope(|scope| scope.statement_results.insert(name, result))?;
        Ok(Value::from(""))
    });
    // As in dbt, a result is loaded once (but `main`'s as often as asked),
    // and a name never stored loads as none.
    env.add_function("load_result", |name: String| -> Result<Value, Error> {
        with_scope(|scope| match scope.statement_results.get_mut(&name) {
            None => Ok(Value::from(())),
            Some(result) if name == "main" => Ok(result.clone()),
            Some(result) if result.is_none() => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("the result of statement `{name}` was already loaded; load_result() returns it once, so keep it in a variable"),
            )),
            Some(result) => Ok(std::mem::replace(result, Value::from(()))),
        })?
    });
    // A hook that runs outside the node's transaction.
    for name in ["before_begin", "after_commit"] {
        env.add_function(name, |sql: String| -> Value {
            Value::from_iter([("sql", Value::from(sql)), ("transaction", Value::from(false))])
        });
    }
    env.add_function("render", |state: &State, text: String| -> Result<Value, Error> {
        let mut context = BTreeMap::new();
        for variable in ["this", "model", "execute", "sql", "compiled_code"] {
            if let Some(value) = state.lookup(variable) {
                context.insert(variable, value);
            }
        }
        state.env().render_str(&text, context).map(Value::from_safe_string)
    });
}

/// `store_result(name, response, agate_table=None)`.
fn store_result(args: &[Value]) -> Result<(String, Value), Error> {
    let values = arguments(args, &["name", "response", "agate_table"])?;
    let name = values[0].as_ref().map(|value| value.to_string()).unwrap_or_default();
    let table = values[2].clone().unwrap_or_else(|| Value::from_object(Table::empty()));
    Ok((name, result_value(values[1].clone().unwrap_or_default(), table)))
}

/// `store_raw_result(name, message=None, code=None, rows_affected=None,
/// agate_table=None)`.
fn store_raw_result(args: &[Value]) -> Result<(String, Value), Error> {
    let values = arguments(args, &["name", "message", "code", "rows_affected", "agate_table"])?;
    let name = values[0].as_ref().map(|value| value.to_string()).unwrap_or_default();
    let text = |index: usize| {
        values[index]
            .as_ref()
            .map(|value| value.to_string())
            .unwrap_or_default()
    };
    let response = AdapterResponse {
        message: text(1),
        code: text(2),
        rows_affected: values[3].as_ref().and_then(|value| u64::try_from(value.clone()).ok()),
    };
    let table = values[4].clone().unwrap_or_else(|| Value::from_object(Table::empty()));
    Ok((name, result_value(response_value(&response), table)))
}

/// What `load_result(name)` returns: `response`, `data` (the rows as lists)
/// and `table`.
fn result_value(response: Value, table: Value) -> Value {
    let data = table
        .downcast_object_ref::<Table>()
        .map(Table::data)
        .unwrap_or_else(|| Value::from(Vec::<Value>::new()));
    let mut entries = BTreeMap::new();
    entries.insert("response", response);
    entries.insert("data", data);
    entries.insert("table", table);
    Value::from_iter(entries)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::render::jinja::{Globals, Jinja, Mode, Scope};

    /// Answers every query with the rows 7 and 8 of an integer column `n`,
    /// and remembers what it ran.
    #[derive(Default)]
    struct Recorder {
        ran: Mutex<Vec<String>>,
    }

    impl Warehouse for Recorder {
        fn execute(
            &self,
            sql: &str,
            _auto_begin: bool,
            fetch: bool,
        ) -> Result<(AdapterResponse, QueryResult), AdapterError> {
            self.ran.lock().map(|mut ran| ran.push(sql.trim().to_string())).ok();
            let result = QueryResult {
                columns: vec!["n".into()],
                column_types: vec![adapter::ValueType::Integer],
                rows: vec![vec![Some("7".into())], vec![Some("8".into())]],
            };
            Ok(match fetch {
                true => (AdapterResponse::with_rows("SELECT", 2), result),
                false => (AdapterResponse::command("CREATE"), QueryResult::default()),
            })
        }
        fn begin(&self) -> Result<(), AdapterError> {
            Ok(())
        }
        fn commit(&self) -> Result<(), AdapterError> {
            Ok(())
        }
        fn relation_kind(&self, relation: &adapter::Relation) -> Result<Option<RelationKind>, AdapterError> {
            Ok((relation.identifier == "present").then_some(RelationKind::Table))
        }
        fn columns(&self, _relation: &adapter::Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
            Ok(vec![ColumnInfo {
                name: "id".into(),
                data_type: "integer".into(),
            }])
        }
        fn templates(&self) -> &minijinja::Environment<'static> {
            crate::adapter::postgres::templates()
        }
    }

    fn jinja() -> Jinja {
        let globals = Globals {
            project_name: "shop".to_string(),
            target: serde_json::json!({"type": "postgres", "schema": "analytics", "database": "shop"}),
            adapter_type: "postgres".to_string(),
            vars: serde_json::Map::new(),
            cli_vars: serde_json::Map::new(),
            docs: BTreeMap::new(),
            invocation_id: String::new(),
            run_started_at: String::new(),
            full_refresh: false,
            store_failures: false,
            fail_fast: false,
            command: "run".to_string(),
        };
        match Jinja::new(globals, &[]) {
            Ok(jinja) => jinja,
            Err(diagnostics) => panic!("the macros do not load: {diagnostics:?}"),
        }
    }

    fn render(jinja: &Jinja, source: &str, execute: bool) -> String {
        let scope = Scope::new(Mode::Compile, "analytics", "shop");
        let (result, _) = jinja.render(
            "models/check.sql",
            source,
            scope,
            minijinja::context! { execute => execute },
        );
        result.unwrap_or_else(|error| panic!("`{source}` does not render: {error:#}"))
    }

    const SOURCE: &str = "{% call statement('numbers', fetch_result=True) %}select n from t{% endcall %}\
        {%- set result = load_result('numbers') -%}\
        {%- set table = run_query('select 1') -%}\
        {{ result['data'] if result else 'none' }} {{ result['response']['code'] if result else '' }} \
        {{ table.columns[0].values() if table else 'none' }}\
        {%- do adapter.drop_relation(adapter.get_relation('shop', 'analytics', 'present')) -%}";

    #[test]
    fn statements_run_on_the_installed_warehouse() {
        let jinja = jinja();
        let recorder = Arc::new(Recorder::default());
        let output = with_warehouse(Arc::clone(&recorder) as Arc<dyn Warehouse>, || {
            assert!(is_connected());
            render(&jinja, SOURCE, true)
        });
        assert_eq!(output, "[[7], [8]] SELECT [7, 8]");
        let ran = recorder.ran.lock().map(|ran| ran.clone()).unwrap_or_default();
        assert_eq!(
            ran,
            vec![
                "select n from t",
                "select 1",
                "drop table if exists \"analytics\".\"present\" cascade"
            ]
        );
        assert!(!is_connected());
    }

    #[test]
    fn offline_nothing_runs_and_results_are_empty() {
        let jinja = jinja();
        // While parsing, `execute` is false: the statement does not run.
        assert_eq!(render(&jinja, SOURCE, false), "none  none");
        // Nor does anything that would change the warehouse.
        assert_eq!(
            render(
                &jinja,
                "{{ adapter.drop_relation(none) }}{{ adapter.get_relation('a', 'b', 'c') }}",
                false
            ),
            "None"
        );
    }
}
