//! dbt's Column object: `api.Column`, and what the adapter's
//! `get_columns_in_relation` returns.
//!
//! It follows dbt-postgres' `PostgresColumn` on dbt-adapters' base `Column`:
//! a name, a type (`dtype`) and its sizes, `data_type` spelled the way dbt
//! spells it in DDL (`character varying(255)`, `numeric(28,6)`, `text`), and the
//! type tests (`is_string()`, `is_number()`, ...). Reading columns from the
//! warehouse is the adapter's job, not this module's.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

/// A column, as dbt's `Column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The type without its sizes: `character varying`, `numeric`, `integer`.
    pub dtype: String,
    pub char_size: Option<u32>,
    pub numeric_precision: Option<u32>,
    pub numeric_scale: Option<u32>,
}

const STRING_TYPES: &[&str] = &["text", "character varying", "character", "varchar"];
const FLOAT_TYPES: &[&str] = &["real", "float4", "float", "double precision", "float8", "double"];
const INTEGER_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "smallserial",
    "serial",
    "bigserial",
    "int2",
    "int4",
    "int8",
    "serial2",
    "serial4",
    "serial8",
];
const NUMERIC_TYPES: &[&str] = &["numeric", "decimal"];

impl Column {
    /// A column from a type as the warehouse describes it: `character
    /// varying(255)` has the size 255, `numeric(28,6)` a precision and scale,
    /// as dbt's `Column.from_description`.
    pub fn new(name: impl Into<String>, data_type: &str) -> Column {
        let name = name.into();
        let (dtype, sizes) = match data_type.split_once('(') {
            Some((dtype, rest)) => (dtype.trim_end(), rest.split_once(')').map(|(sizes, _)| sizes)),
            None => (data_type, None),
        };
        let numbers: Vec<Option<u32>> = sizes
            .map(|sizes| sizes.split(',').map(|part| part.trim().parse().ok()).collect())
            .unwrap_or_default();
        let mut column = Column::bare(name, dtype);
        match numbers.as_slice() {
            [size] => column.char_size = *size,
            [precision, scale] => {
                column.numeric_precision = *precision;
                column.numeric_scale = *scale;
            }
            _ => {}
        }
        column
    }

    /// A column with the type exactly as given, as dbt's `Column.create`
    /// (which only maps `STRING` to `TEXT`).
    pub fn create(name: impl Into<String>, label_or_dtype: &str) -> Column {
        let dtype = match label_or_dtype.to_uppercase().as_str() {
            "STRING" => "TEXT",
            _ => label_or_dtype,
        };
        Column::bare(name.into(), dtype)
    }

    fn bare(name: String, dtype: &str) -> Column {
        Column {
            name,
            dtype: dtype.to_string(),
            char_size: None,
            numeric_precision: None,
            numeric_scale: None,
        }
    }

    /// The column a Jinja value holds, if it is one.
    pub fn from_value(value: &Value) -> Option<Column> {
        value.downcast_object_ref::<Column>().cloned()
    }

    fn lower(&self) -> String {
        self.dtype.to_lowercase()
    }

    pub fn is_string(&self) -> bool {
        STRING_TYPES.contains(&self.lower().as_str())
    }

    pub fn is_float(&self) -> bool {
        FLOAT_TYPES.contains(&self.lower().as_str())
    }

    pub fn is_integer(&self) -> bool {
        INTEGER_TYPES.contains(&self.lower().as_str())
    }

    pub fn is_numeric(&self) -> bool {
        NUMERIC_TYPES.contains(&self.lower().as_str())
    }

    pub fn is_number(&self) -> bool {
        self.is_integer() || self.is_numeric() || self.is_float()
    }

    /// The size of a string column; 256 for `text` or an unknown size, as dbt.
    pub fn string_size(&self) -> Option<u32> {
        if !self.is_string() {
            return None;
        }
        Some(match (self.dtype.as_str(), self.char_size) {
            ("text", _) | (_, None) => 256,
            (_, Some(size)) => size,
        })
    }

    /// The type with its sizes, as dbt-postgres shows it.
    pub fn data_type(&self) -> String {
        let lower = self.lower();
        if lower == "text" || (lower == "character varying" && self.char_size.is_none()) {
            return self.dtype.clone();
        }
        if let Some(size) = self.string_size() {
            return format!("character varying({size})");
        }
        match (self.is_numeric(), self.numeric_precision, self.numeric_scale) {
            (true, Some(precision), Some(scale)) => format!("{}({precision},{scale})", self.dtype),
            _ => self.dtype.clone(),
        }
    }

    /// `"name"`, as dbt quotes a column.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.name)
    }

    /// dbt's `literal(value)`: `value::data_type`.
    pub fn literal(&self, value: &str) -> String {
        format!("{value}::{}", self.data_type())
    }

    /// Whether this string column can widen to `other`'s size.
    pub fn can_expand_to(&self, other: &Column) -> bool {
        match (self.string_size(), other.string_size()) {
            (Some(own), Some(other)) => other > own,
            _ => false,
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<Column {} ({})>", self.name, self.data_type())
    }
}

impl From<Column> for Value {
    fn from(column: Column) -> Value {
        Value::from_object(column)
    }
}

fn size_value(size: Option<u32>) -> Value {
    size.map(Value::from).unwrap_or(Value::from(()))
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.name.clone()),
            "quoted" => Value::from(self.quoted()),
            "data_type" | "expanded_data_type" => Value::from(self.data_type()),
            "dtype" => Value::from(self.dtype.clone()),
            "char_size" => size_value(self.char_size),
            "numeric_precision" => size_value(self.numeric_precision),
            "numeric_scale" => size_value(self.numeric_scale),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let flag = |value: bool| -> Result<Value, Error> {
            let () = from_args(args)?;
            Ok(Value::from(value))
        };
        match method {
            "is_string" => flag(self.is_string()),
            "is_number" => flag(self.is_number()),
            "is_numeric" => flag(self.is_numeric()),
            "is_integer" => flag(self.is_integer()),
            "is_float" => flag(self.is_float()),
            "string_size" => {
                let () = from_args(args)?;
                self.string_size().map(Value::from).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "string_size() called on column `{}` of non-string type `{}`",
                            self.name, self.dtype
                        ),
                    )
                })
            }
            "literal" => {
                let (value,): (Value,) = from_args(args)?;
                Ok(Value::from(self.literal(&value.to_string())))
            }
            "can_expand_to" => {
                let (other,): (Value,) = from_args(args)?;
                let other = Column::from_value(&other)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "can_expand_to() takes a column"))?;
                Ok(Value::from(self.can_expand_to(&other)))
            }
            "string_type" => string_type(args),
            "numeric_type" => numeric_type(args),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), formatter)
    }
}

fn string_type(args: &[Value]) -> Result<Value, Error> {
    let (size,): (u32,) = from_args(args)?;
    Ok(Value::from(format!("character varying({size})")))
}

fn numeric_type(args: &[Value]) -> Result<Value, Error> {
    let (dtype, precision, scale): (String, Option<Value>, Option<Value>) = from_args(args)?;
    let given = |value: &Option<Value>| value.as_ref().filter(|value| !value.is_none()).map(Value::to_string);
    Ok(Value::from(match (given(&precision), given(&scale)) {
        (Some(precision), Some(scale)) => format!("{dtype}({precision},{scale})"),
        _ => dtype,
    }))
}

/// `api.Column`: callable as `api.Column(name, dtype, char_size=...)`, with
/// `create`, `from_description`, `string_type` and `numeric_type`.
#[derive(Debug)]
pub struct ColumnClass;

impl Object for ColumnClass {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
        let argument = |index: usize, name: &str| -> Result<Option<Value>, Error> {
            match positional.get(index) {
                Some(value) => Ok(Some(value.clone())),
                None => kwargs.get::<Option<Value>>(name),
            }
        };
        let text = |value: Option<Value>, name: &str| -> Result<String, Error> {
            match value.as_ref().and_then(Value::as_str) {
                Some(text) => Ok(text.to_string()),
                None => Err(Error::new(
                    ErrorKind::MissingArgument,
                    format!("api.Column() needs `{name}` as a string"),
                )),
            }
        };
        let size = |value: Option<Value>| -> Option<u32> { value.and_then(|value| u32::try_from(value).ok()) };
        let mut column = Column::bare(
            text(argument(0, "column")?, "column")?,
            &text(argument(1, "dtype")?, "dtype")?,
        );
        column.char_size = size(argument(2, "char_size")?);
        column.numeric_precision = size(argument(3, "numeric_precision")?);
        column.numeric_scale = size(argument(4, "numeric_scale")?);
        kwargs.assert_all_used()?;
        Ok(Value::from(column))
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "create" => {
                let (name, dtype): (String, String) = from_args(args)?;
                Ok(Value::from(Column::create(name, &dtype)))
            }
            "from_description" => {
                let (name, raw): (String, String) = from_args(args)?;
                Ok(Value::from(Column::new(name, &raw)))
            }
            "translate_type" => {
                let (dtype,): (String,) = from_args(args)?;
                Ok(Value::from(Column::create("", &dtype).dtype))
            }
            "string_type" => string_type(args),
            "numeric_type" => numeric_type(args),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    use super::*;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        env.add_global("Column", Value::from_object(ColumnClass));
        env.render_str(template, ())
            .unwrap_or_else(|error| panic!("`{template}` does not render: {error:#}"))
    }

    #[test]
    fn data_type_as_dbt_postgres_shows_it() {
        let cases = [
            ("character varying(255)", "character varying(255)", "character varying"),
            ("character varying", "character varying", "character varying"),
            ("varchar(10)", "character varying(10)", "varchar"),
            ("text", "text", "text"),
            ("numeric(28,6)", "numeric(28,6)", "numeric"),
            ("numeric(28, 6)", "numeric(28,6)", "numeric"),
            ("numeric", "numeric", "numeric"),
            ("integer", "integer", "integer"),
            (
                "timestamp without time zone",
                "timestamp without time zone",
                "timestamp without time zone",
            ),
        ];
        for (description, data_type, dtype) in cases {
            let column = Column::new("c", description);
            assert_eq!(column.data_type(), data_type, "{description}");
            assert_eq!(column.dtype, dtype, "{description}");
        }
        assert_eq!(Column::new("c", "character varying(255)").char_size, Some(255));
        assert_eq!(Column::create("c", "string").dtype, "TEXT");
    }

    #[test]
    fn type_tests_and_sizes() {
        let column = Column::new("amount", "numeric(10,2)");
        assert!(column.is_number() && column.is_numeric() && !column.is_integer() && !column.is_string());
        assert!(Column::new("n", "int8").is_integer() && Column::new("n", "double precision").is_float());
        assert_eq!(Column::new("s", "text").string_size(), Some(256));
        assert_eq!(Column::new("s", "character varying(12)").string_size(), Some(12));
        assert_eq!(Column::new("n", "integer").string_size(), None);
        assert!(Column::new("s", "varchar(5)").can_expand_to(&Column::new("t", "varchar(9)")));
        assert_eq!(Column::new("d", "date").literal("'2020-01-01'"), "'2020-01-01'::date");
    }

    #[test]
    fn api_column_in_templates() {
        assert_eq!(
            render(
                "{% set c = Column.create('Name', 'varchar') %}{{ c.name }} {{ c.column }} {{ c.quoted }} {{ c.data_type }} {{ c.is_string() }} {{ c.is_number() }} {{ c.string_size() }} {{ c.char_size is none }}"
            ),
            r#"Name Name "Name" character varying(256) True False 256 True"#
        );
        assert_eq!(
            render("{% set c = Column('amount', 'numeric', numeric_precision=12, numeric_scale=2) %}{{ c.data_type }} {{ c.literal(3) }} {{ c.is_numeric() }}"),
            "numeric(12,2) 3::numeric(12,2) True"
        );
        assert_eq!(
            render("{{ Column.from_description('x', 'character varying(40)').char_size }} {{ Column.string_type(10) }} {{ Column.numeric_type('numeric', 5, 1) }}"),
            "40 character varying(10) numeric(5,1)"
        );
        let mut env = Environment::new();
        env.add_global("Column", Value::from_object(ColumnClass));
        let error = env
            .render_str("{{ Column.create('n', 'integer').string_size() }}", ())
            .map(|_| String::new())
            .unwrap_or_else(|error| error.to_string());
        assert!(error.contains("non-string type `integer`"), "{error}");
    }
}
