//! Column-level lineage: which upstream columns each output column of a
//! compiled model comes from, and whether it passes them through, renames
//! them or transforms them.
//!
//! The SQL is parsed with sqlparser in the target's dialect and walked scope
//! by scope: CTEs, subqueries in `from`, joins with aliases and `using`,
//! unions, window functions and aggregates. `select *` is expanded from the
//! column lists of the upstream relations, which the caller supplies in a
//! [`Relations`] lookup (from the warehouse catalog, the YAML, or the
//! upstream's own lineage). This module does not read files or talk to the
//! warehouse; `docs` does that.
//!
//! Filters (`where`, join conditions, `group by`) are not lineage here: an
//! output column's sources are the columns its value is computed from.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, JoinConstraint, JoinOperator, ObjectName,
    ObjectNamePart, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor,
    TableWithJoins, WindowType,
};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Why a model has no column lineage. The caller keeps its model-level
/// lineage and shows this as a note.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LineageError {
    #[error("the compiled SQL does not parse: {0}")]
    Parse(String),
    #[error("the compiled SQL is not a single query")]
    NotAQuery,
    #[error("`{0}` is not supported by column lineage")]
    Unsupported(String),
}

/// How an output column relates to its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The same value under the same name.
    PassThrough,
    /// The same value under another name.
    Rename,
    /// Computed from its sources: a cast, a function, an aggregate, an expression.
    Transformation,
}

/// One upstream column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ColumnSource {
    /// The upstream's unique id, or the relation's name when it is not a node dvt knows.
    pub relation: String,
    pub column: String,
}

/// An output column of a model and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnLineage {
    pub name: String,
    pub kind: Kind,
    /// Sorted, without duplicates. Empty for constants and `count(*)`.
    pub sources: Vec<ColumnSource>,
}

/// The lineage of one model: its output columns in order, and notes on what
/// could not be traced (for example a `select *` from a relation whose
/// columns are unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelLineage {
    pub columns: Vec<ColumnLineage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// An upstream relation as the compiled SQL names it.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// The unique id lineage reports it under.
    pub unique_id: String,
    /// Its columns in order; empty when unknown.
    pub columns: Vec<String>,
}

/// The relations a model may read, by their name in compiled SQL.
#[derive(Debug, Clone, Default)]
pub struct Relations {
    by_name: BTreeMap<String, Upstream>,
}

impl Relations {
    /// Registers a relation under its `schema.identifier` (and `database.schema.identifier`) names.
    pub fn insert(&mut self, database: &str, schema: &str, identifier: &str, upstream: Upstream) {
        if !database.is_empty() {
            self.by_name
                .insert(format!("{database}.{schema}.{identifier}"), upstream.clone());
        }
        self.by_name.insert(format!("{schema}.{identifier}"), upstream);
    }

    fn find(&self, parts: &[String]) -> Option<&Upstream> {
        (0..parts.len().min(3))
            .map(|skip| parts[skip..].join("."))
            .find_map(|name| self.by_name.get(&name))
            .or_else(|| self.by_name.get(&parts.join(".")))
    }
}

/// Traces every output column of `sql`, one query, to the upstream columns it reads.
pub fn trace(sql: &str, dialect: &dyn Dialect, relations: &Relations) -> Result<ModelLineage, LineageError> {
    let statements = Parser::parse_sql(dialect, sql).map_err(|error| LineageError::Parse(error.to_string()))?;
    let query = match statements.as_slice() {
        [Statement::Query(query)] => query,
        _ => return Err(LineageError::NotAQuery),
    };
    let mut tracer = Tracer {
        relations,
        dialect,
        notes: BTreeSet::new(),
    };
    let columns = tracer.query(query, &Ctes::new(), None)?;
    Ok(ModelLineage {
        columns: columns.into_iter().map(Traced::finish).collect(),
        notes: tracer.notes.into_iter().collect(),
    })
}

/// A column while it is traced: its sources and whether any step computed it.
#[derive(Debug, Clone, Default)]
struct Traced {
    name: String,
    sources: BTreeSet<ColumnSource>,
    transformed: bool,
}

impl Traced {
    fn finish(self) -> ColumnLineage {
        let kind = if self.transformed {
            Kind::Transformation
        } else if self.sources.iter().all(|source| source.column == self.name) {
            Kind::PassThrough
        } else {
            Kind::Rename
        };
        ColumnLineage {
            name: self.name,
            kind,
            sources: self.sources.into_iter().collect(),
        }
    }

    fn absorb(&mut self, other: &Traced) {
        self.sources.extend(other.sources.iter().cloned());
        self.transformed |= other.transformed;
    }
}

type Ctes = BTreeMap<String, Vec<Traced>>;

/// A relation in a `from` clause, under its alias.
#[derive(Debug, Clone)]
struct Entry {
    alias: String,
    /// `None` when its columns are unknown.
    columns: Option<Vec<Traced>>,
    /// What a column of an entry with unknown columns is reported under.
    opaque: Option<String>,
}

struct Scope<'a> {
    entries: Vec<Entry>,
    /// Columns named in `join ... using (...)`, shown once by `select *`.
    using: BTreeSet<String>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    /// The columns an identifier chain refers to; empty when it refers to none.
    fn resolve(&self, parts: &[String]) -> Vec<Traced> {
        let found = self.resolve_here(parts);
        match (&found[..], self.parent) {
            ([], Some(parent)) => parent.resolve(parts),
            _ => found,
        }
    }

    fn resolve_here(&self, parts: &[String]) -> Vec<Traced> {
        let Some((column, qualifier)) = parts.split_last() else {
            return Vec::new();
        };
        let lookup = |entry: &Entry| -> Option<Traced> {
            match &entry.columns {
                Some(columns) => columns.iter().find(|traced| &traced.name == column).cloned(),
                None => Some(Traced {
                    name: column.clone(),
                    sources: entry
                        .opaque
                        .iter()
                        .map(|relation| ColumnSource {
                            relation: relation.clone(),
                            column: column.clone(),
                        })
                        .collect(),
                    transformed: false,
                }),
            }
        };
        if let Some(alias) = qualifier.last() {
            return self
                .entries
                .iter()
                .filter(|entry| &entry.alias == alias)
                .find_map(lookup)
                .into_iter()
                .collect();
        }
        let known: Vec<Traced> = self
            .entries
            .iter()
            .filter(|entry| entry.columns.is_some())
            .filter_map(lookup)
            .collect();
        if !known.is_empty() {
            return known;
        }
        // Unqualified and in no known relation: it belongs to the one relation
        // whose columns are unknown, if there is exactly one.
        let unknown: Vec<&Entry> = self.entries.iter().filter(|entry| entry.columns.is_none()).collect();
        match unknown[..] {
            [entry] => lookup(entry).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

struct Tracer<'a> {
    relations: &'a Relations,
    dialect: &'a dyn Dialect,
    notes: BTreeSet<String>,
}

impl Tracer<'_> {
    fn query(&mut self, query: &Query, ctes: &Ctes, outer: Option<&Scope>) -> Result<Vec<Traced>, LineageError> {
        let mut ctes = ctes.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let columns = self.query(&cte.query, &ctes, outer)?;
                ctes.insert(normalize(&cte.alias.name), rename_by_alias(columns, &cte.alias));
            }
        }
        self.set_expr(&query.body, &ctes, outer)
    }

    fn set_expr(&mut self, body: &SetExpr, ctes: &Ctes, outer: Option<&Scope>) -> Result<Vec<Traced>, LineageError> {
        match body {
            SetExpr::Select(select) => {
                let mut scope = Scope {
                    entries: Vec::new(),
                    using: BTreeSet::new(),
                    parent: outer,
                };
                for table in &select.from {
                    self.table_with_joins(table, ctes, &mut scope)?;
                }
                let mut columns = Vec::new();
                for item in &select.projection {
                    self.select_item(item, &scope, ctes, &mut columns)?;
                }
                Ok(columns)
            }
            SetExpr::Query(query) => self.query(query, ctes, outer),
            SetExpr::SetOperation { left, right, .. } => {
                let mut left = self.set_expr(left, ctes, outer)?;
                let right = self.set_expr(right, ctes, outer)?;
                // A union's columns are named by its first branch and matched by position.
                for (column, other) in left.iter_mut().zip(&right) {
                    column.absorb(other);
                }
                Ok(left)
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, |row| row.len());
                Ok((1..=width)
                    .map(|index| Traced {
                        name: format!("column{index}"),
                        transformed: true,
                        ..Traced::default()
                    })
                    .collect())
            }
            other => Err(LineageError::Unsupported(first_words(&other.to_string()))),
        }
    }

    fn table_with_joins(&mut self, table: &TableWithJoins, ctes: &Ctes, scope: &mut Scope) -> Result<(), LineageError> {
        self.table_factor(&table.relation, ctes, scope)?;
        for join in &table.joins {
            self.table_factor(&join.relation, ctes, scope)?;
            if let Some(JoinConstraint::Using(columns)) = join_constraint(&join.join_operator) {
                for column in columns {
                    if let Some(name) = object_parts(column).last() {
                        scope.using.insert(name.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn table_factor(&mut self, factor: &TableFactor, ctes: &Ctes, scope: &mut Scope) -> Result<(), LineageError> {
        let entry = match factor {
            TableFactor::Table { name, alias, args, .. } => {
                let parts = object_parts(name);
                let default_alias = parts.last().cloned().unwrap_or_default();
                let (columns, opaque) = if args.is_some() {
                    (None, None)
                } else if let Some(columns) = ctes.get(&parts.join(".")).filter(|_| parts.len() == 1) {
                    (Some(columns.clone()), None)
                } else if let Some(upstream) = self.relations.find(&parts) {
                    let columns = (!upstream.columns.is_empty()).then(|| {
                        upstream
                            .columns
                            .iter()
                            .map(|column| Traced {
                                name: column.clone(),
                                sources: BTreeSet::from([ColumnSource {
                                    relation: upstream.unique_id.clone(),
                                    column: column.clone(),
                                }]),
                                transformed: false,
                            })
                            .collect()
                    });
                    (columns, Some(upstream.unique_id.clone()))
                } else {
                    (None, Some(parts.join(".")))
                };
                aliased(
                    Entry {
                        alias: default_alias,
                        columns,
                        opaque,
                    },
                    alias.as_ref(),
                )
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let columns = self.query(subquery, ctes, scope.parent)?;
                aliased(
                    Entry {
                        alias: String::new(),
                        columns: Some(columns),
                        opaque: None,
                    },
                    alias.as_ref(),
                )
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let mut nested = Scope {
                    entries: Vec::new(),
                    using: BTreeSet::new(),
                    parent: scope.parent,
                };
                self.table_with_joins(table_with_joins, ctes, &mut nested)?;
                scope.using.extend(nested.using);
                match alias {
                    None => {
                        scope.entries.extend(nested.entries);
                        return Ok(());
                    }
                    Some(alias) => {
                        let columns = nested
                            .entries
                            .into_iter()
                            .map(|entry| entry.columns)
                            .collect::<Option<Vec<_>>>()
                            .map(|lists| lists.into_iter().flatten().collect());
                        aliased(
                            Entry {
                                alias: String::new(),
                                columns,
                                opaque: None,
                            },
                            Some(alias),
                        )
                    }
                }
            }
            other => {
                let alias = table_factor_alias(other);
                aliased(
                    Entry {
                        alias: String::new(),
                        columns: None,
                        opaque: None,
                    },
                    alias,
                )
            }
        };
        scope.entries.push(entry);
        Ok(())
    }

    fn select_item(
        &mut self,
        item: &SelectItem,
        scope: &Scope,
        ctes: &Ctes,
        columns: &mut Vec<Traced>,
    ) -> Result<(), LineageError> {
        match item {
            SelectItem::UnnamedExpr(expr) => columns.push(self.column(expr, derived_name(expr), scope, ctes)?),
            SelectItem::ExprWithAlias { expr, alias } => {
                columns.push(self.column(expr, normalize(alias), scope, ctes)?)
            }
            SelectItem::ExprWithAliases { expr, aliases } => {
                for alias in aliases {
                    columns.push(self.column(expr, normalize(alias), scope, ctes)?);
                }
            }
            SelectItem::Wildcard(_) => {
                let mut seen_using = BTreeMap::<String, usize>::new();
                for entry in &scope.entries {
                    self.expand(entry, columns, Some((&scope.using, &mut seen_using)));
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let parts = object_parts(name);
                if let Some(entry) = parts
                    .last()
                    .and_then(|alias| scope.entries.iter().find(|entry| &entry.alias == alias))
                {
                    self.expand(entry, columns, None);
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(expr), _) => {
                return Err(LineageError::Unsupported(format!("{expr}.*")));
            }
        }
        Ok(())
    }

    /// Appends an entry's columns for `*`; a `using` column appears once, with the sources of every side.
    fn expand(
        &mut self,
        entry: &Entry,
        columns: &mut Vec<Traced>,
        mut using: Option<(&BTreeSet<String>, &mut BTreeMap<String, usize>)>,
    ) {
        let Some(entry_columns) = &entry.columns else {
            let relation = entry.opaque.clone().unwrap_or_else(|| entry.alias.clone());
            self.notes.insert(format!(
                "`select *` from `{relation}` is not expanded: its columns are unknown"
            ));
            return;
        };
        for column in entry_columns {
            if let Some((names, seen)) = using.as_mut() {
                if names.contains(&column.name) {
                    if let Some(&index) = seen.get(&column.name) {
                        columns[index].absorb(column);
                        continue;
                    }
                    seen.insert(column.name.clone(), columns.len());
                }
            }
            columns.push(column.clone());
        }
    }

    /// One output column: a bare column reference keeps its sources as they
    /// are; anything else is a transformation of every column it reads.
    fn column(&mut self, expr: &Expr, name: String, scope: &Scope, ctes: &Ctes) -> Result<Traced, LineageError> {
        let mut traced = Traced {
            name,
            ..Traced::default()
        };
        let mut inner = Expr::Nested(Box::new(expr.clone()));
        while let Expr::Nested(nested) = inner {
            inner = *nested;
        }
        if let Some(parts) = identifier_parts(&inner) {
            for column in scope.resolve(&parts) {
                traced.absorb(&column);
            }
        } else {
            self.expr(&inner, scope, ctes, &mut traced)?;
            traced.transformed = true;
        }
        Ok(traced)
    }

    /// Adds the sources of every column an expression reads.
    fn expr(&mut self, expr: &Expr, scope: &Scope, ctes: &Ctes, traced: &mut Traced) -> Result<(), LineageError> {
        if let Some(parts) = identifier_parts(expr) {
            for column in scope.resolve(&parts) {
                traced.absorb(&column);
            }
            return Ok(());
        }
        match expr {
            Expr::Value(_) | Expr::TypedString { .. } => {}
            Expr::BinaryOp { left, right, .. } => {
                self.expr(left, scope, ctes, traced)?;
                self.expr(right, scope, ctes, traced)?;
            }
            Expr::UnaryOp { expr, .. }
            | Expr::Nested(expr)
            | Expr::Cast { expr, .. }
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::IsTrue(expr)
            | Expr::IsNotTrue(expr)
            | Expr::IsFalse(expr)
            | Expr::IsNotFalse(expr)
            | Expr::IsUnknown(expr)
            | Expr::IsNotUnknown(expr)
            | Expr::Collate { expr, .. }
            | Expr::Extract { expr, .. } => self.expr(expr, scope, ctes, traced)?,
            Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
                self.expr(left, scope, ctes, traced)?;
                self.expr(right, scope, ctes, traced)?;
            }
            Expr::Between { expr, low, high, .. } => {
                for part in [expr, low, high] {
                    self.expr(part, scope, ctes, traced)?;
                }
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr, scope, ctes, traced)?;
                for item in list {
                    self.expr(item, scope, ctes, traced)?;
                }
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                self.expr(expr, scope, ctes, traced)?;
                self.expr(pattern, scope, ctes, traced)?;
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(operand) = operand {
                    self.expr(operand, scope, ctes, traced)?;
                }
                for when in conditions {
                    self.expr(&when.condition, scope, ctes, traced)?;
                    self.expr(&when.result, scope, ctes, traced)?;
                }
                if let Some(else_result) = else_result {
                    self.expr(else_result, scope, ctes, traced)?;
                }
            }
            Expr::Function(function) => {
                match &function.args {
                    FunctionArguments::None => {}
                    FunctionArguments::Subquery(query) => self.subquery(query, scope, ctes, traced)?,
                    FunctionArguments::List(list) => {
                        for arg in &list.args {
                            let value = match arg {
                                FunctionArg::Named { arg, .. }
                                | FunctionArg::ExprNamed { arg, .. }
                                | FunctionArg::Unnamed(arg) => arg,
                            };
                            if let FunctionArgExpr::Expr(value) = value {
                                self.expr(value, scope, ctes, traced)?;
                            }
                        }
                    }
                }
                if let Some(filter) = &function.filter {
                    self.expr(filter, scope, ctes, traced)?;
                }
                for order in &function.within_group {
                    self.expr(&order.expr, scope, ctes, traced)?;
                }
                // A window function's value depends on how rows are partitioned and ordered.
                if let Some(WindowType::WindowSpec(window)) = &function.over {
                    for partition in &window.partition_by {
                        self.expr(partition, scope, ctes, traced)?;
                    }
                    for order in &window.order_by {
                        self.expr(&order.expr, scope, ctes, traced)?;
                    }
                }
            }
            Expr::Subquery(query) | Expr::Exists { subquery: query, .. } => {
                self.subquery(query, scope, ctes, traced)?
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr, scope, ctes, traced)?;
                self.subquery(subquery, scope, ctes, traced)?;
            }
            Expr::Tuple(items) => {
                for item in items {
                    self.expr(item, scope, ctes, traced)?;
                }
            }
            other => self.expr_by_tokens(other, scope, traced),
        }
        Ok(())
    }

    fn subquery(&mut self, query: &Query, scope: &Scope, ctes: &Ctes, traced: &mut Traced) -> Result<(), LineageError> {
        for column in self.query(query, ctes, Some(scope))? {
            traced.absorb(&column);
        }
        Ok(())
    }

    /// For the rarer expression shapes: every identifier chain in the
    /// expression's text that is not a function name and names a column in scope.
    fn expr_by_tokens(&mut self, expr: &Expr, scope: &Scope, traced: &mut Traced) {
        let text = expr.to_string();
        let Ok(tokens) = Tokenizer::new(self.dialect, &text).tokenize() else {
            return;
        };
        let tokens: Vec<Token> = tokens
            .into_iter()
            .filter(|token| !matches!(token, Token::Whitespace(_)))
            .collect();
        let mut index = 0;
        while index < tokens.len() {
            let Token::Word(word) = &tokens[index] else {
                index += 1;
                continue;
            };
            // Keywords such as `interval` or `year` are syntax here, not columns.
            if word.quote_style.is_none() && word.keyword != Keyword::NoKeyword {
                index += 1;
                continue;
            }
            let mut parts = vec![normalize_word(&word.value, word.quote_style)];
            index += 1;
            while let (Some(Token::Period), Some(Token::Word(next))) = (tokens.get(index), tokens.get(index + 1)) {
                parts.push(normalize_word(&next.value, next.quote_style));
                index += 2;
            }
            if matches!(tokens.get(index), Some(Token::LParen)) {
                continue;
            }
            for column in scope.resolve(&parts) {
                traced.absorb(&column);
            }
        }
    }
}

fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Join(constraint)
        | JoinOperator::Inner(constraint)
        | JoinOperator::Left(constraint)
        | JoinOperator::LeftOuter(constraint)
        | JoinOperator::Right(constraint)
        | JoinOperator::RightOuter(constraint)
        | JoinOperator::FullOuter(constraint)
        | JoinOperator::CrossJoin(constraint) => Some(constraint),
        _ => None,
    }
}

fn table_factor_alias(factor: &TableFactor) -> Option<&TableAlias> {
    match factor {
        TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. }
        | TableFactor::TableFunction { alias, .. } => alias.as_ref(),
        _ => None,
    }
}

/// Applies `alias` and `alias(column, ...)` to a `from` entry.
fn aliased(mut entry: Entry, alias: Option<&TableAlias>) -> Entry {
    if let Some(alias) = alias {
        entry.alias = normalize(&alias.name);
        if let Some(columns) = entry.columns.take() {
            entry.columns = Some(rename_by_alias(columns, alias));
        }
    }
    entry
}

fn rename_by_alias(mut columns: Vec<Traced>, alias: &TableAlias) -> Vec<Traced> {
    for (column, name) in columns.iter_mut().zip(&alias.columns) {
        column.name = normalize(&name.name);
    }
    columns
}

/// PostgreSQL folds unquoted identifiers to lower case.
fn normalize(ident: &Ident) -> String {
    normalize_word(&ident.value, ident.quote_style)
}

fn normalize_word(value: &str, quote_style: Option<char>) -> String {
    match quote_style {
        Some(_) => value.to_string(),
        None => value.to_lowercase(),
    }
}

fn object_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => normalize(ident),
            other => other.to_string(),
        })
        .collect()
}

fn identifier_parts(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Identifier(ident) => Some(vec![normalize(ident)]),
        Expr::CompoundIdentifier(idents) => Some(idents.iter().map(normalize).collect()),
        _ => None,
    }
}

/// The name PostgreSQL gives an unaliased output column.
fn derived_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => normalize(ident),
        Expr::CompoundIdentifier(idents) => idents.last().map(normalize).unwrap_or_default(),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => derived_name(expr),
        Expr::Function(function) => object_parts(&function.name).last().cloned().unwrap_or_default(),
        Expr::Case { .. } => "case".into(),
        _ => "?column?".into(),
    }
}

fn first_words(text: &str) -> String {
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;

    fn relations() -> Relations {
        let mut relations = Relations::default();
        let mut add = |schema: &str, identifier: &str, unique_id: &str, columns: &[&str]| {
            relations.insert(
                "db",
                schema,
                identifier,
                Upstream {
                    unique_id: unique_id.into(),
                    columns: columns.iter().map(|column| column.to_string()).collect(),
                },
            );
        };
        add(
            "raw",
            "payment",
            "seed.p.payment",
            &["payment_id", "customer_id", "amount", "payment_date"],
        );
        add(
            "raw",
            "customer",
            "seed.p.customer",
            &["customer_id", "first_name", "last_name", "store_id"],
        );
        add("raw", "store", "seed.p.store", &["store_id", "manager_id"]);
        add("raw", "unknown_columns", "source.p.raw.events", &[]);
        relations
    }

    /// Each output column as `name kind <- relation.column, ...`.
    fn trace_text(sql: &str) -> String {
        let lineage = trace(sql, &PostgreSqlDialect {}, &relations()).unwrap();
        let mut lines: Vec<String> = lineage
            .columns
            .iter()
            .map(|column| {
                let sources: Vec<String> = column
                    .sources
                    .iter()
                    .map(|source| format!("{}.{}", source.relation, source.column))
                    .collect();
                format!("{} {:?} <- {}", column.name, column.kind, sources.join(", "))
            })
            .collect();
        lines.extend(lineage.notes.iter().map(|note| format!("note: {note}")));
        lines.join("\n")
    }

    #[test]
    fn pass_through_rename_and_cast() {
        insta::assert_snapshot!(trace_text(r#"select payment_id, customer_id as customer, cast(amount as numeric(10,2)) as amount from "raw"."payment""#), @r"
        payment_id PassThrough <- seed.p.payment.payment_id
        customer Rename <- seed.p.payment.customer_id
        amount Transformation <- seed.p.payment.amount
        ");
    }

    #[test]
    fn ctes_star_and_join_aliases() {
        insta::assert_snapshot!(trace_text(r#"
            with payments as (select * from raw.payment),
            customers as (select customer_id, first_name || ' ' || last_name as full_name from raw.customer)
            select p.payment_id, c.full_name, p.amount
            from payments as p left join customers c on p.customer_id = c.customer_id
        "#), @r"
        payment_id PassThrough <- seed.p.payment.payment_id
        full_name Transformation <- seed.p.customer.first_name, seed.p.customer.last_name
        amount PassThrough <- seed.p.payment.amount
        ");
    }

    #[test]
    fn using_join_star_shows_the_column_once_from_both_sides() {
        insta::assert_snapshot!(trace_text("select * from raw.customer join raw.store using (store_id)"), @r"
        customer_id PassThrough <- seed.p.customer.customer_id
        first_name PassThrough <- seed.p.customer.first_name
        last_name PassThrough <- seed.p.customer.last_name
        store_id PassThrough <- seed.p.customer.store_id, seed.p.store.store_id
        manager_id PassThrough <- seed.p.store.manager_id
        ");
    }

    #[test]
    fn aggregates_windows_and_subqueries() {
        insta::assert_snapshot!(trace_text("
            select customer_id, total, count_all,
                   rank() over (partition by customer_id order by total desc) as ranked
            from (
                select customer_id, sum(amount) as total, count(*) as count_all
                from raw.payment group by customer_id
            ) as per_customer
        "), @r"
        customer_id PassThrough <- seed.p.payment.customer_id
        total Transformation <- seed.p.payment.amount
        count_all Transformation <- 
        ranked Transformation <- seed.p.payment.amount, seed.p.payment.customer_id
        ");
    }

    #[test]
    fn unions_match_columns_by_position() {
        insta::assert_snapshot!(trace_text("
            select customer_id as id, 'customer' as kind from raw.customer
            union all
            select store_id, 'store' from raw.store
        "), @r"
        id Rename <- seed.p.customer.customer_id, seed.p.store.store_id
        kind Transformation <- 
        ");
    }

    #[test]
    fn unknown_columns_and_scalar_subqueries() {
        insta::assert_snapshot!(trace_text("
            select e.user_id, (select max(amount) from raw.payment) as top_amount, extract(year from e.created_at) as year
            from raw.unknown_columns as e
        "), @r"
        user_id PassThrough <- source.p.raw.events.user_id
        top_amount Transformation <- seed.p.payment.amount
        year Transformation <- source.p.raw.events.created_at
        ");
        insta::assert_snapshot!(trace_text("select * from raw.unknown_columns"), @"note: `select *` from `source.p.raw.events` is not expanded: its columns are unknown");
    }

    #[test]
    fn cte_column_aliases_and_nested_ctes() {
        insta::assert_snapshot!(trace_text("
            with renamed(id, who) as (select payment_id, customer_id from raw.payment),
            outer_cte as (with inner_cte as (select id from renamed) select id as payment_key from inner_cte)
            select payment_key, upper(payment_key::text) as shouted from outer_cte
        "), @r"
        payment_key Rename <- seed.p.payment.payment_id
        shouted Transformation <- seed.p.payment.payment_id
        ");
    }

    #[test]
    fn unparsable_sql_is_an_error() {
        let error = trace("select (1 from", &PostgreSqlDialect {}, &relations()).unwrap_err();
        assert!(matches!(error, LineageError::Parse(_)), "{error}");
        let error = trace("delete from raw.payment", &PostgreSqlDialect {}, &relations()).unwrap_err();
        assert_eq!(error, LineageError::NotAQuery);
    }
}
