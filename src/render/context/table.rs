//! The agate-like table that `run_query()` and `load_result(...).table`
//! return: rows and columns, each indexable by position and by name, and
//! values typed as agate types them (integers, decimal numbers, booleans,
//! dates as ISO text, text, and `none` for SQL `NULL`).
//!
//! It holds what a query returned and nothing else; running the query is
//! [`super::warehouse`]'s business.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use super::modules::{Date, DateTime, Zone};
use crate::adapter::{QueryResult, ValueType};

/// A query's result as agate shows it to Jinja.
#[derive(Debug)]
pub struct Table {
    column_names: Arc<Vec<String>>,
    column_types: Vec<ValueType>,
    /// Every row, each with one value per column.
    rows: Vec<Arc<Vec<Value>>>,
}

impl Table {
    /// An empty table: what a statement that fetches nothing returns.
    pub fn empty() -> Self {
        Table {
            column_names: Arc::new(Vec::new()),
            column_types: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn from_result(result: &QueryResult) -> Self {
        let column_types: Vec<ValueType> = (0..result.columns.len())
            .map(|index| result.column_types.get(index).copied().unwrap_or_default())
            .collect();
        let rows = result
            .rows
            .iter()
            .map(|row| {
                Arc::new(
                    row.iter()
                        .zip(&column_types)
                        .map(|(text, value_type)| typed_value(text.as_deref(), *value_type))
                        .collect(),
                )
            })
            .collect();
        Table {
            column_names: Arc::new(result.columns.clone()),
            column_types,
            rows,
        }
    }

    /// The values of every row, as lists: `load_result(...).data`.
    pub fn data(&self) -> Value {
        Value::from_iter(self.rows.iter().map(|row| Value::from(row.as_ref().clone())))
    }

    fn row(&self, index: usize) -> Option<Value> {
        self.rows.get(index).map(|values| {
            Value::from_object(Row {
                column_names: Arc::clone(&self.column_names),
                values: Arc::clone(values),
            })
        })
    }

    fn column(self: &Arc<Self>, index: usize) -> Option<Value> {
        (index < self.column_names.len()).then(|| {
            Value::from_object(Column {
                table: Arc::clone(self),
                index,
            })
        })
    }

    fn column_index(&self, key: &Value) -> Option<usize> {
        match key.as_str() {
            Some(name) => self.column_names.iter().position(|known| known == name),
            None => key.as_usize(),
        }
    }

    /// agate's `print_table()`: a bordered grid with the column names.
    fn printed(&self) -> String {
        let texts: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(display_value).collect())
            .collect();
        let widths: Vec<usize> = self
            .column_names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                texts
                    .iter()
                    .map(|row| row[index].chars().count())
                    .chain([name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!(" {cell:<width$} "))
                .collect();
            format!("|{}|", padded.join("|"))
        };
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(width + 2)).collect();
        let mut lines = vec![
            line(self.column_names.as_ref().clone()),
            format!("|{}|", rule.join("+")),
        ];
        lines.extend(texts.into_iter().map(line));
        lines.join("\n")
    }
}

/// A value as agate prints it: `NULL` is empty.
fn display_value(value: &Value) -> String {
    if value.is_none() {
        String::new()
    } else {
        value.to_string()
    }
}

/// Reads a result's text the way agate's type tester would type it.
fn typed_value(text: Option<&str>, value_type: ValueType) -> Value {
    let Some(text) = text else {
        return Value::from(());
    };
    match value_type {
        ValueType::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<i128>().map(Value::from))
            .unwrap_or_else(|_| Value::from(text)),
        ValueType::Number => number(text),
        ValueType::Boolean => match text {
            "t" | "true" | "True" | "TRUE" => Value::from(true),
            "f" | "false" | "False" | "FALSE" => Value::from(false),
            other => Value::from(other),
        },
        ValueType::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|date| Value::from_object(Date(date)))
            .unwrap_or_else(|_| Value::from(text)),
        ValueType::Timestamp => timestamp(text).unwrap_or_else(|| Value::from(text)),
        ValueType::Text => Value::from(text),
    }
}

/// A timestamp as Python's `datetime`: naive, or aware when the text has an
/// offset (`+00`, `+05:30`), as PostgreSQL and DuckDB print them.
fn timestamp(text: &str) -> Option<Value> {
    const NAIVE: &str = "%Y-%m-%d %H:%M:%S%.f";
    if let Ok(local) = chrono::NaiveDateTime::parse_from_str(text, NAIVE) {
        return Some(Value::from_object(DateTime { local, zone: None }));
    }
    let aware = chrono::DateTime::parse_from_str(text, &format!("{NAIVE}%#z")).ok()?;
    let zone = match aware.offset().local_minus_utc() {
        0 => Zone::utc(),
        _ => Zone::fixed(&aware.offset().to_string(), *aware.offset()),
    };
    Some(Value::from_object(DateTime {
        local: aware.naive_local(),
        zone: Some(zone),
    }))
}

/// A decimal as agate's `Decimal` renders it: whole numbers without a
/// fraction, others as floats.
fn number(text: &str) -> Value {
    if let Ok(integer) = text.parse::<i64>() {
        return Value::from(integer);
    }
    match text.parse::<f64>() {
        Ok(float) if float.fract() == 0.0 && float.abs() < 9.0e15 && !text.contains(['e', 'E']) => {
            // `3.00` is the whole number 3, as `Decimal('3.00') == 3`.
            Value::from(float as i64)
        }
        Ok(float) => Value::from(float),
        Err(_) => Value::from(text),
    }
}

impl Object for Table {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(index) = key.as_usize() {
            return self.row(index);
        }
        match key.as_str()? {
            "rows" => Some(Value::from_object(Rows(Arc::clone(self)))),
            "columns" => Some(Value::from_object(Columns(Arc::clone(self)))),
            "column_names" => Some(Value::from(self.column_names.as_ref().clone())),
            "column_types" => Some(Value::from_iter(self.column_types.iter().map(Value::from_serialize))),
            _ => None,
        }
    }

    /// Iterating a table yields its rows.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values((0..self.rows.len()).filter_map(|index| self.row(index)).collect())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "print_table" => {
                // agate prints to standard output, whatever the arguments.
                let _ = args;
                println!("{}", self.printed());
                Ok(Value::from(""))
            }
            "rows" | "columns" | "column_names" => self
                .get_value(&Value::from(method))
                .ok_or_else(|| Error::from(ErrorKind::UnknownMethod)),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("agate table method `{method}` is not available in dvt; use `.rows` and `.columns`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "<agate.Table: {} rows, columns {:?}>",
            self.rows.len(),
            self.column_names
        )
    }
}

/// `table.rows`: each row by position.
#[derive(Debug)]
struct Rows(Arc<Table>);

impl Object for Rows {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.row(key.as_usize()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.rows.len())
    }
}

/// One row: its values by position or by column name.
#[derive(Debug)]
struct Row {
    column_names: Arc<Vec<String>>,
    values: Arc<Vec<Value>>,
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = match key.as_str() {
            Some(name) => self.column_names.iter().position(|known| known == name)?,
            None => key.as_usize()?,
        };
        self.values.get(index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.values.len())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, Error> {
        let names = || self.column_names.iter().map(|name| Value::from(name.as_str()));
        match method {
            "keys" => Ok(Value::from_iter(names())),
            "values" => Ok(Value::from(self.values.as_ref().clone())),
            "items" => Ok(Value::from_iter(
                names()
                    .zip(self.values.iter().cloned())
                    .map(|(name, value)| Value::from(vec![name, value])),
            )),
            "dict" => Ok(Value::from_iter(names().zip(self.values.iter().cloned()))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `table.columns`: each column by position or by name.
#[derive(Debug)]
struct Columns(Arc<Table>);

impl Object for Columns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.column(self.0.column_index(key)?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.column_names.len())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, Error> {
        match method {
            "keys" => Ok(Value::from(self.0.column_names.as_ref().clone())),
            "values" => Ok(Value::from_iter(
                (0..self.0.column_names.len()).filter_map(|index| self.0.column(index)),
            )),
            "items" => Ok(Value::from_iter((0..self.0.column_names.len()).filter_map(|index| {
                let column = self.0.column(index)?;
                Some(Value::from(vec![
                    Value::from(self.0.column_names[index].clone()),
                    column,
                ]))
            }))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// One column: its name, type and values.
#[derive(Debug)]
struct Column {
    table: Arc<Table>,
    index: usize,
}

impl Column {
    fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.table
            .rows
            .iter()
            .map(|row| row.get(self.index).cloned().unwrap_or_default())
    }
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("name") => Some(Value::from(self.table.column_names[self.index].clone())),
            Some("data_type") => self.table.column_types.get(self.index).map(Value::from_serialize),
            Some(_) => None,
            None => self.table.rows.get(key.as_usize()?)?.get(self.index).cloned(),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.table.rows.len())
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from_iter(self.values())),
            "values_without_nulls" => Ok(Value::from_iter(self.values().filter(|value| !value.is_none()))),
            "values_distinct" => {
                let mut distinct: Vec<Value> = Vec::new();
                for value in self.values() {
                    if !distinct.contains(&value) {
                        distinct.push(value);
                    }
                }
                Ok(Value::from(distinct))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let result = QueryResult {
            columns: vec!["id".into(), "amount".into(), "name".into(), "paid".into()],
            column_types: vec![
                ValueType::Integer,
                ValueType::Number,
                ValueType::Text,
                ValueType::Boolean,
            ],
            rows: vec![
                vec![
                    Some("1".into()),
                    Some("2.50".into()),
                    Some("a".into()),
                    Some("t".into()),
                ],
                vec![Some("2".into()), Some("3.00".into()), None, Some("f".into())],
            ],
        };
        Value::from_object(Table::from_result(&result))
    }

    fn render(template: &str) -> String {
        let environment = minijinja::Environment::new();
        environment
            .render_str(template, minijinja::context! { table => sample() })
            .unwrap_or_else(|error| panic!("`{template}`: {error:#}"))
    }

    #[test]
    fn rows_and_columns_read_as_agate_reads_them() {
        assert_eq!(render("{{ table.rows | length }} {{ table | length }}"), "2 2");
        assert_eq!(render("{{ table.columns[0].values() }}"), "[1, 2]");
        assert_eq!(render("{{ table.columns['amount'].values() }}"), "[2.5, 3]");
        assert_eq!(
            render("{{ table.columns | map(attribute='name') | join(',') }}"),
            "id,amount,name,paid"
        );
        assert_eq!(
            render("{{ table.column_names }}"),
            r#"["id", "amount", "name", "paid"]"#
        );
        assert_eq!(
            render("{{ table.rows[1]['name'] is none }} {{ table.rows[0].name }}"),
            "True a"
        );
        assert_eq!(render("{% for row in table %}{{ row[0] + 10 }} {% endfor %}"), "11 12 ");
        assert_eq!(
            render("{% for id, amount, name, paid in table.rows %}{{ paid }} {% endfor %}"),
            "True False "
        );
        assert_eq!(render("{{ table.rows[0].values()[0] * 2 }}"), "2");
        // As dbt_utils' get_query_results_as_dict and date_spine read them.
        assert_eq!(
            render(
                "{% for name, column in table.columns.items() %}{{ name }}={{ column.values() | length }} {% endfor %}"
            ),
            "id=2 amount=2 name=2 paid=2 "
        );
        assert_eq!(
            render("{{ table[1]['id'] }} {{ table.rows | map(attribute=0) | list }}"),
            "2 [1, 2]"
        );
    }

    #[test]
    fn dates_and_timestamps_are_python_values() {
        let result = QueryResult {
            columns: vec!["day".into(), "at".into(), "at_utc".into()],
            column_types: vec![ValueType::Date, ValueType::Timestamp, ValueType::Timestamp],
            rows: vec![vec![
                Some("2024-02-29".into()),
                Some("2024-02-29 13:45:00".into()),
                Some("2024-02-29 13:45:00.5+00".into()),
            ]],
        };
        let environment = minijinja::Environment::new();
        let rendered = environment
            .render_str(
                "{% set row = table.rows[0] %}{{ row.day }} {{ row.day.year }} {{ row.at.strftime('%H:%M') }} {{ row.at_utc.isoformat() }}",
                minijinja::context! { table => Value::from_object(Table::from_result(&result)) },
            )
            .unwrap_or_else(|error| panic!("{error:#}"));
        assert_eq!(rendered, "2024-02-29 2024 13:45 2024-02-29T13:45:00.500000+00:00");
    }

    #[test]
    fn print_table_lays_out_a_grid() {
        let result = QueryResult {
            columns: vec!["id".into(), "name".into()],
            column_types: vec![ValueType::Integer, ValueType::Text],
            rows: vec![vec![Some("10".into()), None]],
        };
        assert_eq!(
            Table::from_result(&result).printed(),
            "| id | name |\n|----+------|\n| 10 |      |"
        );
    }
}
