//! SQL as the warehouse will see it, checked offline with sqlparser in the
//! target's dialect: syntax errors with their position in the compiled text,
//! and the column names a query's final `select` produces.
//!
//! Positions here are in the compiled SQL; [`super::source_map`] maps them
//! back to the source file.

use sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, Statement};
use sqlparser::dialect::{DatabricksDialect, Dialect, DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

/// The sqlparser dialect for an adapter type (a profile's `type:`); `None`
/// when dvt has none, and SQL is then not checked.
pub fn dialect_for(adapter_type: &str) -> Option<Box<dyn Dialect + Send + Sync>> {
    match adapter_type {
        "postgres" | "postgresql" => Some(Box::new(PostgreSqlDialect {})),
        "duckdb" => Some(Box::new(DuckDbDialect {})),
        "spark" => Some(Box::new(SparkDialect)),
        _ => None,
    }
}

/// Spark SQL as dvt's sessions read it: sqlparser's Databricks dialect
/// (Spark's syntax, `_` starting a name, backslash escapes in strings),
/// with double quotes delimiting identifiers too, as they do in a session
/// with `spark.sql.ansi.doubleQuotedIdentifiers` (`adapter::spark`). Hive's
/// dialect reads those quotes, but no name that starts with `_`, such as
/// the `__dbt__cte__` of an ephemeral model; and Spark takes an interval
/// without a qualifier (`interval '1 hour'`), which Databricks' does not.
#[derive(Debug)]
struct SparkDialect;

impl Dialect for SparkDialect {
    fn is_delimited_identifier_start(&self, character: char) -> bool {
        matches!(character, '`' | '"')
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        DatabricksDialect {}.identifier_quote_style(identifier)
    }

    fn is_identifier_start(&self, character: char) -> bool {
        DatabricksDialect {}.is_identifier_start(character)
    }

    fn is_identifier_part(&self, character: char) -> bool {
        DatabricksDialect {}.is_identifier_part(character)
    }

    fn supports_numeric_prefix(&self) -> bool {
        true
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    fn supports_lambda_functions(&self) -> bool {
        true
    }

    fn supports_select_wildcard_except(&self) -> bool {
        true
    }

    fn supports_struct_literal(&self) -> bool {
        true
    }

    fn supports_nested_comments(&self) -> bool {
        true
    }

    fn supports_group_by_with_modifier(&self) -> bool {
        true
    }

    fn supports_values_as_table_factor(&self) -> bool {
        true
    }

    fn supports_bang_not_operator(&self) -> bool {
        true
    }

    fn supports_cte_without_as(&self) -> bool {
        true
    }

    fn supports_map_literal_with_angle_brackets(&self) -> bool {
        true
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }

    fn supports_pipe_operator(&self) -> bool {
        true
    }
}

/// A problem in compiled SQL, at a 1-based line and column of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlProblem {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub length: usize,
}

/// Parses `sql` into statements, or says where it stops making sense.
pub fn parse(dialect: &dyn Dialect, sql: &str) -> Result<Vec<Statement>, SqlProblem> {
    let statements = Parser::parse_sql(dialect, sql).map_err(|error| syntax_problem(&error, sql))?;
    match keyword_after_from(dialect, sql) {
        Some(problem) => Err(problem),
        None => Ok(statements),
    }
}

/// Keywords that can never follow `from`: sqlparser takes any word for a
/// table name, so `select 1 from from` parses, but PostgreSQL and DuckDB
/// reserve these ("syntax error at or near \"from\""). Words that may
/// follow `from` in an expression (`is distinct from null`, `extract(year
/// from cast(...))`) are not listed.
const NEVER_AFTER_FROM: &[&str] = &[
    "AND",
    "AS",
    "ELSE",
    "END",
    "EXCEPT",
    "FROM",
    "GROUP",
    "HAVING",
    "INTERSECT",
    "INTO",
    "JOIN",
    "LIMIT",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "SELECT",
    "THEN",
    "UNION",
    "USING",
    "WHEN",
    "WHERE",
    "WINDOW",
];

/// A reserved keyword written, unquoted, where `from` expects a table.
fn keyword_after_from(dialect: &dyn Dialect, sql: &str) -> Option<SqlProblem> {
    let tokens = Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
    let mut previous_is_from = false;
    for token in tokens
        .iter()
        .filter(|token| !matches!(token.token, Token::Whitespace(_)))
    {
        let Token::Word(word) = &token.token else {
            previous_is_from = false;
            continue;
        };
        let keyword = word.value.to_uppercase();
        let unquoted = word.quote_style.is_none();
        if previous_is_from && unquoted && NEVER_AFTER_FROM.contains(&keyword.as_str()) {
            return Some(SqlProblem {
                message: format!("expected a table after `from`, found the keyword `{}`", word.value),
                line: token.span.start.line as usize,
                column: token.span.start.column as usize,
                length: word.value.chars().count(),
            });
        }
        previous_is_from = unquoted && keyword == "FROM";
    }
    None
}

/// Turns sqlparser's `Expected: X, found: Y at Line: L, Column: C` into a
/// message and a position. Without a position (the end of the input), the
/// problem is put at the end of the last line.
fn syntax_problem(error: &ParserError, sql: &str) -> SqlProblem {
    let text = match error {
        ParserError::TokenizerError(text) | ParserError::ParserError(text) => text.clone(),
        ParserError::RecursionLimitExceeded => "the query is nested too deeply to check".to_string(),
    };
    let (text, position) = match text.rsplit_once(" at Line: ") {
        Some((message, position)) => {
            let mut parts = position.split(", Column: ");
            let line = parts.next().and_then(|line| line.trim().parse::<usize>().ok());
            let column = parts.next().and_then(|column| column.trim().parse::<usize>().ok());
            match (line, column) {
                (Some(line), Some(column)) if line > 0 => (message.to_string(), Some((line, column))),
                _ => (text.clone(), None),
            }
        }
        None => (text.clone(), None),
    };
    let found = text
        .rsplit_once(", found: ")
        .map(|(_, found)| found.trim().to_string())
        .filter(|found| found != "EOF");
    let message = humanize(&text);
    let (line, column, length) = match position {
        Some((line, column)) => (line, column, found.as_ref().map_or(1, |found| found.chars().count())),
        None => {
            let lines: Vec<&str> = sql.lines().collect();
            let last = lines.iter().rposition(|line| !line.trim().is_empty()).unwrap_or(0);
            let width = lines.get(last).map_or(0, |line| line.trim_end().chars().count());
            (last + 1, width + 1, 1)
        }
    };
    SqlProblem {
        message,
        line,
        column,
        length,
    }
}

/// `Expected: end of statement, found: fro` → `expected end of statement, found `fro``.
fn humanize(text: &str) -> String {
    match text.strip_prefix("Expected: ") {
        Some(rest) => match rest.rsplit_once(", found: ") {
            Some((expected, "EOF")) => format!("expected {expected}, found the end of the query"),
            Some((expected, found)) => format!("expected {expected}, found `{found}`"),
            None => format!("expected {rest}"),
        },
        None => {
            let mut characters = text.chars();
            match characters.next() {
                Some(first) => first.to_lowercase().chain(characters).collect(),
                None => text.to_string(),
            }
        }
    }
}

/// The 1-based line and column of the start of the second statement, when
/// `sql` holds more than one.
pub fn second_statement(dialect: &dyn Dialect, sql: &str) -> Option<(usize, usize)> {
    let tokens = Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
    let mut after_semicolon = false;
    for token in tokens {
        match token.token {
            Token::SemiColon => after_semicolon = true,
            Token::Whitespace(_) | Token::EOF => {}
            _ if after_semicolon => {
                return Some((token.span.start.line as usize, token.span.start.column as usize));
            }
            _ => {}
        }
    }
    None
}

/// The columns a query returns, as far as they can be known without the
/// warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InferredColumns {
    /// Names as the warehouse would fold them (unquoted names lower-cased).
    pub names: Vec<String>,
    /// False when some column's name is unknown (an unnamed expression), so
    /// that a name missing from `names` may still exist.
    pub complete: bool,
}

/// The columns of the final `select` of a query; `None` when it selects `*`
/// or is not a query.
pub fn inferred_columns(statement: &Statement) -> Option<InferredColumns> {
    let Statement::Query(query) = statement else {
        return None;
    };
    columns_of(&query.body)
}

fn columns_of(body: &SetExpr) -> Option<InferredColumns> {
    match body {
        SetExpr::Select(select) => {
            let mut columns = InferredColumns {
                names: Vec::new(),
                complete: true,
            };
            for item in &select.projection {
                match item {
                    SelectItem::UnnamedExpr(expr) => match expression_name(expr) {
                        Some(name) => columns.names.push(name),
                        None => columns.complete = false,
                    },
                    SelectItem::ExprWithAlias { alias, .. } => columns.names.push(folded(alias)),
                    SelectItem::ExprWithAliases { aliases, .. } => columns.names.extend(aliases.iter().map(folded)),
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => return None,
                }
            }
            Some(columns)
        }
        SetExpr::Query(query) => columns_of(&query.body),
        // A union takes its column names from its first branch.
        SetExpr::SetOperation { left, .. } => columns_of(left),
        SetExpr::Values(values) => {
            let width = values.rows.first().map_or(0, |row| row.content.len());
            Some(InferredColumns {
                names: (1..=width).map(|index| format!("column{index}")).collect(),
                complete: true,
            })
        }
        _ => None,
    }
}

/// The name PostgreSQL gives an unaliased column: a column reference's
/// name, a cast's operand's, a function's name. Other expressions get
/// names such as `?column?` that no test would use: unknown here.
fn expression_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(folded(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(folded),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => expression_name(expr),
        Expr::Function(function) => function.name.0.last().and_then(|part| part.as_ident()).map(folded),
        _ => None,
    }
}

/// An identifier as PostgreSQL stores it: lower-cased unless quoted.
fn folded(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// A column name as written in YAML, folded like an identifier; `None` when
/// it is an expression rather than a plain name.
pub fn column_key(name: &str) -> Option<String> {
    let name = name.trim();
    if let Some(quoted) = name.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        return (!quoted.is_empty() && !quoted.contains('"')).then(|| quoted.to_string());
    }
    let mut characters = name.chars();
    let first = characters.next()?;
    let plain = (first.is_alphabetic() || first == '_')
        && characters.all(|character| character.is_alphanumeric() || character == '_' || character == '$');
    plain.then(|| name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The malformed corpus' `jinja_sql_syntax_error`: sqlparser reads the
    /// second `from` as a table name; DuckDB says "syntax error at or near
    /// \"from\"".
    #[test]
    fn a_keyword_where_a_table_should_be_is_an_error() {
        let problem = parse(&DuckDbDialect {}, "select 1 as id from from").err();
        assert_eq!(
            problem.map(|problem| (problem.line, problem.column, problem.length)),
            Some((1, 21, 4))
        );
        assert!(parse(&PostgreSqlDialect {}, "select 1 from t where a is distinct from null").is_ok());
        assert!(parse(
            &PostgreSqlDialect {},
            "select extract(year from created_at) from \"from\""
        )
        .is_ok());
        assert!(parse(&DuckDbDialect {}, "select substring(name from 2 for 3) from t").is_ok());
    }

    /// What dvt compiles for Spark parses: double-quoted and backticked
    /// names, an ephemeral model's `__dbt__cte__` name, backslash escapes,
    /// an interval with no qualifier; a typo does not.
    #[test]
    fn spark_sql_parses_as_dvt_writes_it() {
        let spark = dialect_for("spark").expect("spark has a dialect");
        let sql = "with __dbt__cte__durations as (select 1 as id)
                   select d.id, `x`.\"name\", 'it\\'s' as quoted, current_timestamp() - interval '1 hour' as since
                   from __dbt__cte__durations as d join \"analytics\".\"x\" as x on x.id = d.id";
        assert!(
            parse(spark.as_ref(), sql).is_ok(),
            "{:?}",
            parse(spark.as_ref(), sql).err()
        );
        assert!(parse(spark.as_ref(), "select id fro \"analytics\".\"x\"").is_err());
    }

    fn postgres() -> Box<dyn Dialect + Send + Sync> {
        dialect_for("postgres").expect("postgres has a dialect")
    }

    #[test]
    fn a_typo_is_reported_where_it_is() {
        let sql = "select\n    id,\n    name\nfro customers";
        let problem = parse(postgres().as_ref(), sql).expect_err("a syntax error");
        assert_eq!(
            problem,
            SqlProblem {
                message: "expected end of statement, found `customers`".into(),
                line: 4,
                column: 5,
                length: 9,
            }
        );
    }

    #[test]
    fn an_unfinished_query_points_at_its_end() {
        let problem = parse(postgres().as_ref(), "select id,\n  name\nfrom").expect_err("a syntax error");
        assert_eq!((problem.line, problem.column), (3, 5));
        let problem = parse(postgres().as_ref(), "select 1 +\n").expect_err("a syntax error");
        assert_eq!((problem.line, problem.column), (1, 11));
        assert!(problem.message.contains("end of the query"), "{}", problem.message);
    }

    #[test]
    fn postgres_syntax_parses() {
        let sql =
            "with recent as (\n  select distinct on (customer_id) customer_id, amount::numeric(10, 2) as amount,\n    \
                   count(*) filter (where amount > 0) over (partition by customer_id) as paid,\n    \
                   rental_date + interval '1 day' as due, extract(epoch from now()) as seconds\n  \
                   from \"raw\".\"payment\" where note ~* 'late' and id = any(array[1, 2])\n)\n\
                   select * from recent, generate_series(1, 3) as n";
        assert!(parse(postgres().as_ref(), sql).is_ok());
    }

    #[test]
    fn a_second_statement_is_found() {
        let dialect = postgres();
        assert_eq!(
            second_statement(dialect.as_ref(), "select 1;\n  select 2"),
            Some((2, 3))
        );
        assert_eq!(second_statement(dialect.as_ref(), "select ';'; -- done"), None);
    }

    #[test]
    fn infers_the_columns_of_the_final_select() {
        let dialect = postgres();
        let statements = parse(
            dialect.as_ref(),
            "with a as (select * from t)\nselect a.Id, cast(b as int), \"Mixed\", count(*), x + 1 as total from a",
        )
        .expect("parses");
        assert_eq!(
            inferred_columns(&statements[0]),
            Some(InferredColumns {
                names: vec!["id".into(), "b".into(), "Mixed".into(), "count".into(), "total".into()],
                complete: true,
            })
        );
        let statements = parse(dialect.as_ref(), "select a, b + 1 from t union all select 1, 2").expect("parses");
        assert_eq!(
            inferred_columns(&statements[0]),
            Some(InferredColumns {
                names: vec!["a".into()],
                complete: false,
            })
        );
        let statements = parse(dialect.as_ref(), "select t.*, 1 as one from t").expect("parses");
        assert_eq!(inferred_columns(&statements[0]), None);
    }

    #[test]
    fn column_keys_fold_like_identifiers() {
        assert_eq!(column_key("Customer_ID"), Some("customer_id".into()));
        assert_eq!(column_key("\"Customer_ID\""), Some("Customer_ID".into()));
        assert_eq!(column_key("lower(email)"), None);
        assert_eq!(column_key("a || b"), None);
    }
}
