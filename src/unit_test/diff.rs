//! The difference between a unit test's actual and expected rows, printed
//! as dbt prints it: both sides sorted (nulls last), then daff's terminal
//! rendering, a `@@` header of the columns and one line per row: `→` for a
//! row whose cells differ (each as `expected→actual`), `+++` for a row only
//! in the actual result, `---` for one only expected, blank for an
//! unchanged row next to a change, and `...` for unchanged rows left out.

use std::cmp::Ordering;

/// A cell as the warehouse returned it; `None` is SQL `NULL`.
pub type Cell = Option<String>;

/// How the cells of a column sort, as Python sorts the values agate read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Text,
}

/// The rendered difference, or `None` when both sides hold the same rows.
pub fn render(
    columns: &[String],
    kinds: &[Kind],
    mut expected: Vec<Vec<Cell>>,
    mut actual: Vec<Vec<Cell>>,
) -> Option<String> {
    let order = |left: &Vec<Cell>, right: &Vec<Cell>| compare_rows(kinds, left, right);
    expected.sort_by(order);
    actual.sort_by(order);
    if expected == actual {
        return None;
    }
    let entries = align(kinds, expected, actual);
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["@@".to_string()];
    header.extend(columns.iter().cloned());
    table.push(header);
    let changed: Vec<bool> = entries.iter().map(|entry| !matches!(entry, Entry::Same(_))).collect();
    let mut elided = false;
    for (index, entry) in entries.iter().enumerate() {
        let near_change =
            changed[index] || (index > 0 && changed[index - 1]) || changed.get(index + 1).copied().unwrap_or(false);
        if !near_change {
            if !elided {
                table.push(vec!["...".to_string(); columns.len() + 1]);
                elided = true;
            }
            continue;
        }
        elided = false;
        let mut line = Vec::with_capacity(columns.len() + 1);
        match entry {
            Entry::Same(row) => {
                line.push(String::new());
                line.extend(row.iter().map(show));
            }
            Entry::Modified { expected, actual } => {
                line.push("→".to_string());
                line.extend(expected.iter().zip(actual).map(|(expected, actual)| {
                    if expected == actual {
                        show(expected)
                    } else {
                        format!("{}→{}", show(expected), show(actual))
                    }
                }));
            }
            Entry::Inserted(row) => {
                line.push("+++".to_string());
                line.extend(row.iter().map(show));
            }
            Entry::Deleted(row) => {
                line.push("---".to_string());
                line.extend(row.iter().map(show));
            }
        }
        table.push(line);
    }
    let widths: Vec<usize> = (0..=columns.len())
        .map(|column| {
            table
                .iter()
                .map(|line| line.get(column).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut rendered = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                if column + 1 == line.len() {
                    cell.clone()
                } else {
                    let padding = widths[column].saturating_sub(cell.chars().count());
                    format!("{cell}{}", " ".repeat(padding))
                }
            })
            .collect();
        rendered.push_str(&cells.join(","));
        rendered.push_str("\r\n");
    }
    Some(rendered)
}

enum Entry {
    Same(Vec<Cell>),
    Modified { expected: Vec<Cell>, actual: Vec<Cell> },
    Inserted(Vec<Cell>),
    Deleted(Vec<Cell>),
}

impl Entry {
    /// The row the entry sorts by: the expected one, or the actual for an insert.
    fn key(&self) -> &Vec<Cell> {
        match self {
            Entry::Same(row) | Entry::Inserted(row) | Entry::Deleted(row) => row,
            Entry::Modified { expected, .. } => expected,
        }
    }
}

/// Pairs equal rows, then rows with the same first cell (daff's key), and
/// leaves the rest as inserted or deleted; in the sides' sorted order.
fn align(kinds: &[Kind], expected: Vec<Vec<Cell>>, actual: Vec<Vec<Cell>>) -> Vec<Entry> {
    let mut taken = vec![false; actual.len()];
    let mut pairs: Vec<Option<usize>> = vec![None; expected.len()];
    let mut exact = vec![false; expected.len()];
    for (index, row) in expected.iter().enumerate() {
        if let Some(found) = (0..actual.len()).find(|candidate| !taken[*candidate] && actual[*candidate] == *row) {
            taken[found] = true;
            pairs[index] = Some(found);
            exact[index] = true;
        }
    }
    for (index, row) in expected.iter().enumerate() {
        if pairs[index].is_some() {
            continue;
        }
        let key = row.first();
        if let Some(found) = (0..actual.len()).find(|candidate| !taken[*candidate] && actual[*candidate].first() == key)
        {
            taken[found] = true;
            pairs[index] = Some(found);
        }
    }
    let mut entries = Vec::new();
    for (index, row) in expected.into_iter().enumerate() {
        entries.push(match pairs[index] {
            Some(_) if exact[index] => Entry::Same(row),
            Some(found) => Entry::Modified {
                expected: row,
                actual: actual[found].clone(),
            },
            None => Entry::Deleted(row),
        });
    }
    for (index, row) in actual.into_iter().enumerate() {
        if !taken[index] {
            entries.push(Entry::Inserted(row));
        }
    }
    entries.sort_by(|left, right| compare_rows(kinds, left.key(), right.key()));
    entries
}

fn show(cell: &Cell) -> String {
    cell.clone().unwrap_or_else(|| "NULL".to_string())
}

/// Python's order of agate rows: cell by cell, nulls last, numbers by value.
fn compare_rows(kinds: &[Kind], left: &[Cell], right: &[Cell]) -> Ordering {
    for (index, (left, right)) in left.iter().zip(right).enumerate() {
        let ordering = match (left, right) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(left), Some(right)) => match kinds.get(index) {
                Some(Kind::Number) => match (left.parse::<f64>(), right.parse::<f64>()) {
                    (Ok(left), Ok(right)) => left.partial_cmp(&right).unwrap_or(Ordering::Equal),
                    _ => left.cmp(right),
                },
                _ => left.cmp(right),
            },
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    left.len().cmp(&right.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rows: &[&[Option<&str>]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|row| row.iter().map(|cell| cell.map(str::to_owned)).collect())
            .collect()
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn equal_rows_in_any_order_are_no_difference() {
        let kinds = [Kind::Number, Kind::Text];
        let expected = rows(&[&[Some("2"), Some("b")], &[Some("1"), Some("a")]]);
        let actual = rows(&[&[Some("1"), Some("a")], &[Some("2"), Some("b")]]);
        assert_eq!(render(&columns(&["id", "tier"]), &kinds, expected, actual), None);
    }

    #[test]
    fn changed_inserted_and_deleted_rows_print_as_dbt_prints_them() {
        // dbt-core 1.10's message for expected (1 high, 2 high, 4 low)
        // against actual (1 low, 2 high, 3 high).
        let kinds = [Kind::Number, Kind::Text];
        let expected = rows(&[
            &[Some("1"), Some("high")],
            &[Some("2"), Some("high")],
            &[Some("4"), Some("low")],
        ]);
        let actual = rows(&[
            &[Some("1"), Some("low")],
            &[Some("2"), Some("high")],
            &[Some("3"), Some("high")],
        ]);
        assert_eq!(
            render(&columns(&["id", "tier"]), &kinds, expected, actual).as_deref(),
            Some("@@ ,id,tier\r\n→  ,1 ,high→low\r\n   ,2 ,high\r\n+++,3 ,high\r\n---,4 ,low\r\n")
        );
    }

    #[test]
    fn unchanged_rows_away_from_a_change_are_left_out() {
        // dbt-core 1.10's message: numbers sort by value (10 after 5), and
        // the rows more than one away from the change become `...`.
        let kinds = [Kind::Number, Kind::Text, Kind::Text];
        let same: Vec<Vec<Cell>> = ["1", "2", "3", "4", "5"]
            .iter()
            .zip(["a", "b", "c", "d", "e"])
            .map(|(id, name)| vec![Some(id.to_string()), Some(name.to_string()), Some("low".to_string())])
            .collect();
        let mut expected = same.clone();
        expected.push(vec![Some("10".into()), Some("f".into()), Some("low".into())]);
        let mut actual = same;
        actual.insert(0, vec![Some("10".into()), Some("f".into()), Some("high".into())]);
        assert_eq!(
            render(&columns(&["id", "name", "tier"]), &kinds, expected, actual).as_deref(),
            Some("@@ ,id ,name,tier\r\n...,...,... ,...\r\n   ,5  ,e   ,low\r\n→  ,10 ,f   ,low→high\r\n")
        );
    }

    #[test]
    fn nulls_print_as_null() {
        // dbt-core 1.10's message for a null on either side.
        let kinds = [Kind::Number, Kind::Text, Kind::Text];
        let expected = rows(&[&[Some("1"), None, Some("high")], &[Some("2"), Some("x"), Some("low")]]);
        let actual = rows(&[&[Some("1"), None, Some("low")], &[Some("2"), None, Some("low")]]);
        assert_eq!(
            render(&columns(&["id", "name", "tier"]), &kinds, expected, actual).as_deref(),
            Some("@@,id,name  ,tier\r\n→ ,1 ,NULL  ,high→low\r\n→ ,2 ,x→NULL,low\r\n")
        );
    }
}
