//! dbt's Relation object: what `ref()`, `source()`, `this` and
//! `api.Relation.create()` return.
//!
//! A relation is a path (database, schema, identifier, each optional), a type
//! (`table`, `view`, `cte`, ...), and two policies that say which parts are
//! rendered and which are quoted, as in dbt-adapters' `BaseRelation`. It renders
//! as its quoted name when used as a string, compares equal to a relation with
//! the same path, type and policies, and has dbt's methods (`include`, `quote`,
//! `incorporate`, `replace_path`, `without_identifier`, `render`). It does not
//! talk to the warehouse: whether a relation exists is the adapter's business.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, DynObject, Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use crate::manifest;

/// dbt's `RelationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelationType {
    Table,
    View,
    Cte,
    MaterializedView,
    Ephemeral,
    External,
    PointerTable,
    Function,
}

impl RelationType {
    pub const ALL: [RelationType; 8] = [
        RelationType::Table,
        RelationType::View,
        RelationType::Cte,
        RelationType::MaterializedView,
        RelationType::Ephemeral,
        RelationType::External,
        RelationType::PointerTable,
        RelationType::Function,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::Table => "table",
            RelationType::View => "view",
            RelationType::Cte => "cte",
            RelationType::MaterializedView => "materialized_view",
            RelationType::Ephemeral => "ephemeral",
            RelationType::External => "external",
            RelationType::PointerTable => "pointer_table",
            RelationType::Function => "function",
        }
    }

    pub fn parse(text: &str) -> Option<RelationType> {
        RelationType::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// dbt's class-level names (`api.Relation.View` is `"view"`).
    fn class_attribute(name: &str) -> Option<RelationType> {
        Some(match name {
            "Table" => RelationType::Table,
            "View" => RelationType::View,
            "CTE" => RelationType::Cte,
            "MaterializedView" => RelationType::MaterializedView,
            "External" => RelationType::External,
            "PointerTable" => RelationType::PointerTable,
            "Function" => RelationType::Function,
            _ => return None,
        })
    }
}

/// One flag per path part, as dbt's `Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Policy {
    pub database: bool,
    pub schema: bool,
    pub identifier: bool,
}

impl Policy {
    pub const ALL: Policy = Policy {
        database: true,
        schema: true,
        identifier: true,
    };

    /// The parts `ref()`, `source()` and `this` render: all three, as dbt
    /// renders them in compiled SQL. This is the one place that chooses them.
    pub const REFERENCE: Policy = Policy {
        database: true,
        schema: true,
        identifier: true,
    };

    fn get(&self, part: Part) -> bool {
        match part {
            Part::Database => self.database,
            Part::Schema => self.schema,
            Part::Identifier => self.identifier,
        }
    }

    fn set(&mut self, part: Part, value: bool) {
        match part {
            Part::Database => self.database = value,
            Part::Schema => self.schema = value,
            Part::Identifier => self.identifier = value,
        }
    }

    fn to_value(self) -> Value {
        Value::from_iter([
            ("database", Value::from(self.database)),
            ("schema", Value::from(self.schema)),
            ("identifier", Value::from(self.identifier)),
        ])
    }

    /// Applies the parts a `{"database": false, ...}` map names.
    fn merge_value(&mut self, value: &Value) -> Result<(), Error> {
        for part in Part::ALL {
            if let Ok(found) = value.get_attr(part.as_str()) {
                if !found.is_undefined() && !found.is_none() {
                    self.set(part, found.is_true());
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Database,
    Schema,
    Identifier,
}

impl Part {
    const ALL: [Part; 3] = [Part::Database, Part::Schema, Part::Identifier];

    fn as_str(self) -> &'static str {
        match self {
            Part::Database => "database",
            Part::Schema => "schema",
            Part::Identifier => "identifier",
        }
    }
}

/// A relation, as dbt's `BaseRelation`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Relation {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub identifier: Option<String>,
    pub kind: Option<RelationType>,
    pub include_policy: Policy,
    pub quote_policy: Policy,
    /// dbt's `limit`: under `--empty`, 0, and the relation reads as a
    /// subquery with no rows (`render_limited`).
    pub limit: Option<u64>,
    /// dbt's `event_time_filter`: a microbatch's window, read as a subquery
    /// of the rows in it.
    pub event_time_filter: Option<EventTimeFilter>,
    /// Whether those subqueries take an alias: dbt's `require_alias`, true
    /// but on DuckDB (dbt-duckdb's `DuckDBRelation`).
    pub require_alias: bool,
}

/// dbt's `EventTimeFilter`: rows whose `field_name` is in `[start, end)`,
/// the bounds as Python prints an aware datetime (`2024-01-01 00:00:00+00:00`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTimeFilter {
    pub field_name: String,
    pub start: Option<String>,
    pub end: Option<String>,
}

impl Relation {
    /// A relation that renders every part that is set, quoted, as
    /// `api.Relation.create()` makes one.
    pub fn new(
        database: Option<String>,
        schema: Option<String>,
        identifier: Option<String>,
        kind: Option<RelationType>,
    ) -> Relation {
        Relation {
            database,
            schema,
            identifier,
            kind,
            include_policy: Policy::ALL,
            quote_policy: Policy::ALL,
            limit: None,
            event_time_filter: None,
            require_alias: true,
        }
    }

    /// How the relation reads in SQL, dbt's `__str__`: its name, or under
    /// `--empty` or in a microbatch the subqueries of
    /// `templates/render/limited_relation.sql` and `event_time_filtered.sql`,
    /// the limited one inside the filtered one, as dbt nests them.
    pub fn to_sql(&self) -> String {
        let mut rendered = self.render();
        if self.limit.is_none() && self.event_time_filter.is_none() {
            return rendered;
        }
        let table = self.identifier.clone().unwrap_or_default();
        if let Some(limit) = self.limit {
            let context = minijinja::context! {
                relation => rendered.clone(), limit => limit, alias => self.require_alias, table => table.clone(),
            };
            if let Ok(limited) = crate::render::compile::render_sql("limited_relation.sql", context) {
                rendered = limited;
            }
        }
        if let Some(filter) = &self.event_time_filter {
            if filter.start.is_some() || filter.end.is_some() {
                let context = minijinja::context! {
                    relation => rendered.clone(), field => filter.field_name.clone(), start => filter.start.clone(),
                    end => filter.end.clone(), alias => self.require_alias, table => table,
                };
                if let Ok(filtered) = crate::render::compile::render_sql("event_time_filtered.sql", context) {
                    rendered = filtered;
                }
            }
        }
        rendered
    }

    /// The relation `ref()`, `source()` or `this` returns for a node's
    /// relation: the parts [`Policy::REFERENCE`] chooses.
    pub fn reference(relation: &manifest::Relation, kind: Option<RelationType>) -> Relation {
        let part = |text: &str| (!text.is_empty()).then(|| text.to_string());
        Relation {
            include_policy: Policy::REFERENCE,
            ..Relation::new(
                part(&relation.database),
                part(&relation.schema),
                part(&relation.identifier),
                kind,
            )
        }
    }

    /// An ephemeral model's CTE, `__dbt__cte__<name>`, unquoted, as dbt's
    /// `create_ephemeral_from`.
    pub fn ephemeral(name: &str) -> Relation {
        let mut relation = Relation::new(None, None, Some(format!("__dbt__cte__{name}")), Some(RelationType::Cte));
        relation.quote_policy.identifier = false;
        relation
    }

    /// The relation a Jinja value holds, if it is one.
    pub fn from_value(value: &Value) -> Option<Relation> {
        value.downcast_object_ref::<Relation>().cloned()
    }

    /// The plain path, for code that does not care about policies.
    pub fn to_manifest(&self) -> manifest::Relation {
        manifest::Relation {
            database: self.database.clone().unwrap_or_default(),
            schema: self.schema.clone().unwrap_or_default(),
            identifier: self.identifier.clone().unwrap_or_default(),
        }
    }

    fn part(&self, part: Part) -> Option<&str> {
        match part {
            Part::Database => self.database.as_deref(),
            Part::Schema => self.schema.as_deref(),
            Part::Identifier => self.identifier.as_deref(),
        }
    }

    fn set_part(&mut self, part: Part, value: Option<String>) {
        match part {
            Part::Database => self.database = value,
            Part::Schema => self.schema = value,
            Part::Identifier => self.identifier = value,
        }
    }

    /// The included parts, quoted per the quote policy, joined with dots; the
    /// empty string when no part is set.
    pub fn render(&self) -> String {
        let mut rendered = String::new();
        for part in Part::ALL {
            if !self.include_policy.get(part) {
                continue;
            }
            let Some(text) = self.part(part) else { continue };
            if !rendered.is_empty() {
                rendered.push('.');
            }
            if self.quote_policy.get(part) {
                rendered.push_str(&manifest::quote_identifier(text));
            } else {
                rendered.push_str(text);
            }
        }
        rendered
    }

    pub fn with_include(mut self, include: [Option<bool>; 3]) -> Relation {
        for (part, value) in Part::ALL.into_iter().zip(include) {
            if let Some(value) = value {
                self.include_policy.set(part, value);
            }
        }
        self
    }

    pub fn with_quote(mut self, quote: [Option<bool>; 3]) -> Relation {
        for (part, value) in Part::ALL.into_iter().zip(quote) {
            if let Some(value) = value {
                self.quote_policy.set(part, value);
            }
        }
        self
    }

    /// dbt's `without_identifier()`: database and schema only.
    pub fn without_identifier(mut self) -> Relation {
        self.include_policy.identifier = false;
        self.identifier = None;
        self
    }

    fn is(&self, kind: RelationType) -> bool {
        self.kind == Some(kind)
    }

    /// dbt's `incorporate(path={...}, type=..., include_policy={...},
    /// quote_policy={...})`: the given fields merged over this relation's.
    fn incorporate(&self, kwargs: &Kwargs) -> Result<Relation, Error> {
        let mut relation = self.clone();
        if let Some(path) = kwargs.get::<Option<Value>>("path")? {
            apply_path(&mut relation, &path)?;
        }
        if kwargs.has("type") {
            relation.kind = kind_arg(&kwargs.get::<Value>("type")?)?;
        }
        if let Some(policy) = kwargs.get::<Option<Value>>("include_policy")? {
            relation.include_policy.merge_value(&policy)?;
        }
        if let Some(policy) = kwargs.get::<Option<Value>>("quote_policy")? {
            relation.quote_policy.merge_value(&policy)?;
        }
        Ok(relation)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_sql())
    }
}

impl From<Relation> for Value {
    fn from(relation: Relation) -> Value {
        Value::from_object(relation)
    }
}

/// Sets the path parts a `{"schema": ..., "identifier": ...}` map names; a
/// part given as none is cleared, as dbt's deep merge does.
fn apply_path(relation: &mut Relation, path: &Value) -> Result<(), Error> {
    if path.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("`path` must be a mapping of database, schema and identifier, got `{path}`"),
        ));
    }
    for part in Part::ALL {
        let value = path.get_attr(part.as_str())?;
        if value.is_undefined() {
            continue;
        }
        relation.set_part(part, optional_string(&value, part.as_str())?);
    }
    Ok(())
}

fn optional_string(value: &Value, name: &str) -> Result<Option<String>, Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(None);
    }
    match value.as_str() {
        Some(text) => Ok(Some(text.to_string())),
        None => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a relation's {name} must be a string, got `{value}`"),
        )),
    }
}

fn kind_arg(value: &Value) -> Result<Option<RelationType>, Error> {
    match optional_string(value, "type")? {
        None => Ok(None),
        Some(text) => RelationType::parse(&text).map(Some).ok_or_else(|| {
            let known: Vec<&str> = RelationType::ALL.iter().map(|kind| kind.as_str()).collect();
            Error::new(
                ErrorKind::InvalidOperation,
                format!("`{text}` is not a relation type; use one of {}", known.join(", ")),
            )
        }),
    }
}

/// The three flags of `include()` and `quote()`, by position or keyword.
fn policy_args(args: &[Value]) -> Result<[Option<bool>; 3], Error> {
    let (database, schema, identifier, kwargs): (Option<bool>, Option<bool>, Option<bool>, Kwargs) = from_args(args)?;
    let mut flags = [database, schema, identifier];
    for (flag, part) in flags.iter_mut().zip(Part::ALL) {
        if let Some(value) = kwargs.get::<Option<bool>>(part.as_str())? {
            *flag = Some(value);
        }
    }
    kwargs.assert_all_used()?;
    Ok(flags)
}

/// `database=`, `schema=`, `identifier=` and `type=` of
/// `api.Relation.create()`, by position or keyword.
pub(crate) fn create_from_args(args: &[Value]) -> Result<Relation, Error> {
    let (database, schema, identifier, kind, kwargs): (
        Option<Value>,
        Option<Value>,
        Option<Value>,
        Option<Value>,
        Kwargs,
    ) = from_args(args)?;
    let mut parts = [database, schema, identifier];
    for (slot, part) in parts.iter_mut().zip(Part::ALL) {
        if kwargs.has(part.as_str()) {
            *slot = Some(kwargs.get::<Value>(part.as_str())?);
        }
    }
    let kind = match kwargs.has("type") {
        true => Some(kwargs.get::<Value>("type")?),
        false => kind,
    };
    let [database, schema, identifier] = parts;
    let string = |value: Option<Value>, name: &str| match value {
        Some(value) => optional_string(&value, name),
        None => Ok(None),
    };
    let mut relation = Relation::new(
        string(database, "database")?,
        string(schema, "schema")?,
        string(identifier, "identifier")?,
        match kind {
            Some(kind) => kind_arg(&kind)?,
            None => None,
        },
    );
    if let Some(policy) = kwargs.get::<Option<Value>>("quote_policy")? {
        relation.quote_policy.merge_value(&policy)?;
    }
    if let Some(policy) = kwargs.get::<Option<Value>>("include_policy")? {
        relation.include_policy.merge_value(&policy)?;
    }
    Ok(relation)
}

/// The keys a relation has as a mapping (dbt's relations are `Mapping`s).
const MAPPING_KEYS: &[&str] = &["database", "schema", "identifier", "type"];

impl Object for Relation {
    /// A mapping, as dbt's `FakeAPIObject`: dbt_utils' `_is_relation` checks
    /// `obj is mapping and obj.get('metadata', {}).get('type', '')`.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(MAPPING_KEYS)
    }

    /// Always true, even with no parts, as dbt's `__bool__`.
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let text = |part: &Option<String>| part.clone().map(Value::from).unwrap_or(Value::from(()));
        Some(match key.as_str()? {
            "database" => text(&self.database),
            "schema" => text(&self.schema),
            "identifier" | "name" | "table" => text(&self.identifier),
            "type" => self
                .kind
                .map(|kind| Value::from(kind.as_str()))
                .unwrap_or(Value::from(())),
            "is_table" => Value::from(self.is(RelationType::Table)),
            "is_view" => Value::from(self.is(RelationType::View)),
            "is_cte" => Value::from(self.is(RelationType::Cte)),
            "is_materialized_view" => Value::from(self.is(RelationType::MaterializedView)),
            "is_pointer" => Value::from(self.is(RelationType::PointerTable)),
            "is_function" => Value::from(self.is(RelationType::Function)),
            "path" => Value::from_iter([
                ("database", text(&self.database)),
                ("schema", text(&self.schema)),
                ("identifier", text(&self.identifier)),
            ]),
            "include_policy" => self.include_policy.to_value(),
            "quote_policy" => self.quote_policy.to_value(),
            "quote_character" => Value::from("\""),
            "limit" => self.limit.map(Value::from).unwrap_or(Value::from(())),
            "event_time_filter" => match &self.event_time_filter {
                Some(filter) => Value::from_iter([
                    ("field_name", Value::from(filter.field_name.clone())),
                    ("start", Value::from(filter.start.clone())),
                    ("end", Value::from(filter.end.clone())),
                ]),
                None => Value::from(()),
            },
            "metadata" => Value::from_iter([("type", Value::from("BaseRelation"))]),
            "can_be_renamed" | "can_be_replaced" => {
                Value::from(matches!(self.kind, Some(RelationType::Table | RelationType::View)))
            }
            other => Value::from(RelationType::class_attribute(other)?.as_str()),
        })
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let relation = Relation::clone(self);
        Ok(Value::from(match method {
            "render" => {
                let () = from_args(args)?;
                return Ok(Value::from(Relation::render(self)));
            }
            "render_limited" => {
                let () = from_args(args)?;
                let limited = Relation {
                    event_time_filter: None,
                    ..Relation::clone(self)
                };
                return Ok(Value::from(limited.to_sql()));
            }
            "include" => relation.with_include(policy_args(args)?),
            "quote" => relation.with_quote(policy_args(args)?),
            "incorporate" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                relation.incorporate(&kwargs)?
            }
            "replace_path" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut relation = relation;
                for part in Part::ALL {
                    if kwargs.has(part.as_str()) {
                        let value: Value = kwargs.get(part.as_str())?;
                        relation.set_part(part, optional_string(&value, part.as_str())?);
                    }
                }
                kwargs.assert_all_used()?;
                relation
            }
            // dbt's `InformationSchema`: `"db".INFORMATION_SCHEMA.columns`.
            "information_schema" => {
                let (view,): (Option<String>,) = from_args(args)?;
                let mut schema = relation.with_quote([None, Some(false), Some(false)]);
                schema.set_part(Part::Schema, Some("INFORMATION_SCHEMA".to_string()));
                schema.set_part(Part::Identifier, view);
                schema
            }
            "without_identifier" => {
                let () = from_args(args)?;
                relation.without_identifier()
            }
            "get" => {
                // A relation is a mapping in dbt: `relation.get('schema')`.
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                return Ok(self
                    .get_value(&key)
                    .unwrap_or_else(|| default.unwrap_or(Value::from(()))));
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }))
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Relation>()?;
        Some(self.as_ref().cmp(other))
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_sql())
    }
}

/// `api.Relation`: `create(...)` and the type names (`api.Relation.View`).
#[derive(Debug)]
pub struct RelationClass;

impl Object for RelationClass {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        RelationType::class_attribute(key.as_str()?).map(|kind| Value::from(kind.as_str()))
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "create" => Ok(Value::from(create_from_args(args)?)),
            "add_ephemeral_prefix" => {
                let (name,): (String,) = from_args(args)?;
                Ok(Value::from(format!("__dbt__cte__{name}")))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        Ok(Value::from(create_from_args(args)?))
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    use super::*;

    fn render(template: &str, relation: Relation) -> String {
        let mut env = Environment::new();
        env.add_global("api_relation", Value::from_object(RelationClass));
        env.set_unknown_method_callback(super::super::methods::unknown_method);
        let context = minijinja::context! { relation => Value::from(relation) };
        env.render_str(template, context)
            .unwrap_or_else(|error| panic!("`{template}` does not render: {error:#}"))
    }

    fn shop() -> Relation {
        Relation::new(
            Some("shop".to_string()),
            Some("analytics".to_string()),
            Some("orders".to_string()),
            Some(RelationType::Table),
        )
    }

    #[test]
    fn renders_the_included_parts_quoted() {
        assert_eq!(render("{{ relation }}", shop()), r#""shop"."analytics"."orders""#);
        assert_eq!(
            render("{{ relation.include(database=false) }}", shop()),
            r#""analytics"."orders""#
        );
        assert_eq!(
            render("{{ relation.quote(identifier=false).render() }}", shop()),
            r#""shop"."analytics".orders"#
        );
        assert_eq!(
            render("{{ relation.without_identifier() }}", shop()),
            r#""shop"."analytics""#
        );
        assert_eq!(render("{{ relation ~ '' }}", shop()), r#""shop"."analytics"."orders""#);
        // dbt-audit-helper's `from {{ relation.information_schema('columns') }}`.
        assert_eq!(
            render(
                "{{ relation.information_schema('columns') }}|{{ relation.information_schema() }}",
                shop()
            ),
            r#""shop".INFORMATION_SCHEMA.columns|"shop".INFORMATION_SCHEMA"#
        );
        let reference = Relation::reference(
            &manifest::Relation {
                database: "shop".to_string(),
                schema: "analytics".to_string(),
                identifier: "orders".to_string(),
            },
            None,
        );
        assert_eq!(
            render("{{ relation }}|{{ relation.database }}", reference),
            r#""shop"."analytics"."orders"|shop"#
        );
        assert_eq!(
            render("{{ relation }}", Relation::ephemeral("base")),
            "__dbt__cte__base"
        );
    }

    #[test]
    fn a_limited_relation_renders_as_dbts_render_limited() {
        // dbt-adapters' `render_limited` under `--empty`: limit 0, and the
        // `_dbt_limit_subq_<table>` alias unless `require_alias` is false.
        let mut limited = shop();
        limited.limit = Some(0);
        assert_eq!(
            render(
                "{{ relation }}|{{ relation.render() }}|{{ relation.limit }}",
                limited.clone()
            ),
            r#"(select * from "shop"."analytics"."orders" where false limit 0) _dbt_limit_subq_orders|"shop"."analytics"."orders"|0"#
        );
        limited.require_alias = false;
        limited.limit = Some(5);
        assert_eq!(
            render("{{ relation.render_limited() }}", limited),
            r#"(select * from "shop"."analytics"."orders" limit 5)"#
        );
    }

    #[test]
    fn has_dbt_attributes() {
        assert_eq!(
            render(
                "{{ relation.database }} {{ relation.schema }} {{ relation.identifier }} {{ relation.name }} {{ relation.type }} {{ relation.is_table }} {{ relation.is_view }} {{ relation.is_cte }}",
                shop()
            ),
            "shop analytics orders orders table True False False"
        );
        assert_eq!(
            render(
                "{{ relation.path.schema }} {{ relation['identifier'] }} {{ relation.View }}",
                shop()
            ),
            "analytics orders view"
        );
        assert_eq!(
            render(
                "{{ relation.include_policy.database }} {{ relation.get('schema') }}",
                shop()
            ),
            "True analytics"
        );
    }

    #[test]
    fn incorporate_and_replace_path_change_copies() {
        assert_eq!(
            render(
                "{{ relation.incorporate(path={'identifier': 'orders__tmp', 'schema': none}, type='view') }} {{ relation.incorporate(type='view').is_view }} {{ relation }}",
                shop()
            ),
            r#""shop"."orders__tmp" True "shop"."analytics"."orders""#
        );
        assert_eq!(
            render("{{ relation.replace_path(identifier='other') }}", shop()),
            r#""shop"."analytics"."other""#
        );
    }

    #[test]
    fn api_create_and_equality() {
        assert_eq!(
            render(
                "{% set created = api_relation.create(database='shop', schema='analytics', identifier='orders', type='table') %}{{ created == relation }} {{ created is none }} {{ created.schema }}{% if created %} truthy{% endif %}",
                shop()
            ),
            "True False analytics truthy"
        );
        assert_eq!(
            render(
                "{{ api_relation.create(schema='s', identifier='t') == relation }} {{ api_relation.create(identifier='t') }} {{ api_relation.Table }}",
                shop()
            ),
            r#"False "t" table"#
        );
        let mut env = Environment::new();
        env.add_global("api_relation", Value::from_object(RelationClass));
        let error = env
            .render_str("{{ api_relation.create(identifier='t', type='tabel') }}", ())
            .map(|_| String::new())
            .unwrap_or_else(|error| error.to_string());
        assert!(error.contains("`tabel` is not a relation type"), "{error}");
    }

    #[test]
    fn passes_through_macros_and_back() {
        let mut env = Environment::new();
        env.add_template(
            "macros.sql",
            "{% macro name_of(relation) %}{{ relation.identifier }}{% endmacro %}",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let context = minijinja::context! { relation => Value::from(shop()) };
        let rendered = env
            .render_str(
                "{% from 'macros.sql' import name_of %}{{ name_of(relation) }} {{ relation.include(database=false) }}",
                context,
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(rendered, r#"orders "analytics"."orders""#);
        let value = Value::from(shop());
        assert_eq!(Relation::from_value(&value), Some(shop()));
        assert_eq!(Relation::from_value(&Value::from("x")), None);
    }
}
