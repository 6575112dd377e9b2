//! The `export` config of a model: what it declares and how each value is
//! checked. Offline: nothing here talks to the warehouse or the lake.
//!
//! ```yaml
//! config:
//!   export:
//!     bucket: lake                 # default: the target's `s3_bucket`
//!     prefix: gold/fct_rental      # default: the model's name
//!     format: parquet              # or csv
//!     compression: zstd            # or snappy, or none (parquet only)
//!     row_group_size: 1000000      # rows per Parquet row group
//!     partition_by: [store_id, {column: rental_date, granularity: month}]
//!     mode: overwrite              # or append, or incremental
//!     watermark: last_update       # incremental only: the column that grows
//! ```

use serde_json::{Map, Value};

/// File formats an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// Parquet compression codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    Snappy,
    None,
}

/// How an export treats what an earlier one wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replace every file of the previous export.
    Overwrite,
    /// Add this export's files beside the previous ones.
    Append,
    /// Add only the rows whose watermark is above the last export's.
    Incremental,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Overwrite => "overwrite",
            Mode::Append => "append",
            Mode::Incremental => "incremental",
        }
    }
}

/// Time granularities a date or timestamp partition key can be cut to.
pub const GRANULARITIES: &[&str] = &["year", "month", "day"];

/// One `partition_by` entry: a column, or a date column cut to a
/// granularity (the directory is then `<column>_<granularity>=<value>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    pub column: String,
    pub granularity: Option<String>,
}

impl PartitionKey {
    /// The name in the directory: `store_id=1/`, `rental_date_month=2005-05/`.
    pub fn directory_name(&self) -> String {
        match &self.granularity {
            Some(granularity) => format!("{}_{granularity}", self.column),
            None => self.column.clone(),
        }
    }
}

pub const DEFAULT_ROW_GROUP_SIZE: usize = 1_000_000;

/// An export, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub format: Format,
    pub compression: Compression,
    pub row_group_size: usize,
    pub partition_by: Vec<PartitionKey>,
    pub mode: Mode,
    pub watermark: Option<String>,
}

/// A wrong value in an export config: the key it is under, what is wrong,
/// and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub key: &'static str,
    pub message: String,
    pub hint: String,
}

const KEYS: &[&str] = &[
    // Inherited from the model, for selection by tag.
    "tags",
    "bucket",
    "prefix",
    "format",
    "compression",
    "row_group_size",
    "partition_by",
    "mode",
    "watermark",
];

impl ExportSpec {
    /// Reads the `export` config value; every problem is reported, not just
    /// the first.
    pub fn parse(value: &Value) -> Result<Self, Vec<SpecProblem>> {
        let Some(map) = value.as_object() else {
            return Err(vec![SpecProblem {
                key: "export",
                message: format!("`export` must be a mapping, not `{value}`"),
                hint: "write `export: {bucket: lake, prefix: gold/my_model}`".into(),
            }]);
        };
        let mut problems = Vec::new();
        for key in map.keys() {
            if !KEYS.contains(&key.as_str()) {
                let suggestion = crate::diagnostic::did_you_mean(key, KEYS.iter().copied())
                    .map(|known| format!("did you mean `{known}`? "))
                    .unwrap_or_default();
                problems.push(SpecProblem {
                    key: "export",
                    message: format!("`{key}` is not an export setting"),
                    hint: format!("{suggestion}export settings are {}", KEYS[1..].join(", ")),
                });
            }
        }
        let bucket = optional_text(map, "bucket", &mut problems);
        let prefix = optional_text(map, "prefix", &mut problems)
            .map(|prefix| prefix.trim_matches('/').to_string())
            .filter(|prefix| !prefix.is_empty());
        let format = match choice(map, "format", &["parquet", "csv"], &mut problems).as_deref() {
            Some("csv") => Format::Csv,
            _ => Format::Parquet,
        };
        let compression = choice(map, "compression", &["zstd", "snappy", "none"], &mut problems);
        let compression = match (format, compression.as_deref()) {
            (Format::Csv, None) => Compression::None,
            (Format::Csv, Some(_)) => {
                problems.push(SpecProblem {
                    key: "compression",
                    message: "`compression` applies to Parquet; CSV files are written uncompressed".into(),
                    hint: "remove `compression`, or use `format: parquet`".into(),
                });
                Compression::None
            }
            (Format::Parquet, Some("snappy")) => Compression::Snappy,
            (Format::Parquet, Some("none")) => Compression::None,
            (Format::Parquet, _) => Compression::Zstd,
        };
        let row_group_size = match map.get("row_group_size") {
            None | Some(Value::Null) => DEFAULT_ROW_GROUP_SIZE,
            Some(value) => match value.as_u64().filter(|rows| *rows > 0) {
                Some(rows) => usize::try_from(rows).unwrap_or(usize::MAX),
                None => {
                    problems.push(SpecProblem {
                        key: "row_group_size",
                        message: format!("`row_group_size` must be a positive number of rows, not `{value}`"),
                        hint: format!("write `row_group_size: {DEFAULT_ROW_GROUP_SIZE}`"),
                    });
                    DEFAULT_ROW_GROUP_SIZE
                }
            },
        };
        let partition_by = partition_keys(map.get("partition_by"), &mut problems);
        let mode = match choice(map, "mode", &["overwrite", "append", "incremental"], &mut problems).as_deref() {
            Some("append") => Mode::Append,
            Some("incremental") => Mode::Incremental,
            _ => Mode::Overwrite,
        };
        let watermark = optional_text(map, "watermark", &mut problems);
        match (mode, &watermark) {
            (Mode::Incremental, None) => problems.push(SpecProblem {
                key: "mode",
                message: "`mode: incremental` needs a `watermark` column".into(),
                hint: "add `watermark: <a column that grows, such as last_update>`".into(),
            }),
            (Mode::Overwrite | Mode::Append, Some(_)) => problems.push(SpecProblem {
                key: "watermark",
                message: format!("`watermark` applies to `mode: incremental`, not `{}`", mode.as_str()),
                hint: "set `mode: incremental`, or remove `watermark`".into(),
            }),
            _ => {}
        }
        if problems.is_empty() {
            Ok(Self {
                bucket,
                prefix,
                format,
                compression,
                row_group_size,
                partition_by,
                mode,
                watermark,
            })
        } else {
            Err(problems)
        }
    }
}

fn optional_text(map: &Map<String, Value>, key: &'static str, problems: &mut Vec<SpecProblem>) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Some(other) => {
            problems.push(SpecProblem {
                key,
                message: format!("`{key}` must be a non-empty string, not `{other}`"),
                hint: format!("write `{key}: <name>`"),
            });
            None
        }
    }
}

fn choice(
    map: &Map<String, Value>,
    key: &'static str,
    allowed: &[&str],
    problems: &mut Vec<SpecProblem>,
) -> Option<String> {
    let value = map.get(key).filter(|value| !value.is_null())?;
    let text = value.as_str().map(str::to_lowercase);
    match text {
        Some(text) if allowed.contains(&text.as_str()) => Some(text),
        _ => {
            let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            let suggestion = crate::diagnostic::did_you_mean(&shown.to_lowercase(), allowed.iter().copied())
                .map(|known| format!("did you mean `{known}`? "))
                .unwrap_or_default();
            problems.push(SpecProblem {
                key,
                message: format!("`{key}` must be one of {}, not `{shown}`", allowed.join(", ")),
                hint: format!("{suggestion}write `{key}: {}`", allowed[0]),
            });
            None
        }
    }
}

fn partition_keys(value: Option<&Value>, problems: &mut Vec<SpecProblem>) -> Vec<PartitionKey> {
    let entries = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::String(column)) => return vec![plain_key(column)],
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            problems.push(partition_problem(other));
            return Vec::new();
        }
    };
    let mut keys = Vec::new();
    for entry in entries {
        match entry {
            Value::String(column) if !column.trim().is_empty() => keys.push(plain_key(column)),
            Value::Object(map) => {
                let column = map.get("column").and_then(Value::as_str).map(str::trim);
                let granularity = map.get("granularity").and_then(Value::as_str).map(str::to_lowercase);
                match (column, granularity) {
                    (Some(column), Some(granularity))
                        if !column.is_empty() && GRANULARITIES.contains(&granularity.as_str()) =>
                    {
                        keys.push(PartitionKey {
                            column: column.to_string(),
                            granularity: Some(granularity),
                        })
                    }
                    _ => problems.push(partition_problem(entry)),
                }
            }
            other => problems.push(partition_problem(other)),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for key in &keys {
        if !seen.insert(key.directory_name()) {
            problems.push(SpecProblem {
                key: "partition_by",
                message: format!("`partition_by` names `{}` twice", key.directory_name()),
                hint: "list each partition key once".into(),
            });
        }
    }
    keys
}

fn plain_key(column: &str) -> PartitionKey {
    PartitionKey {
        column: column.trim().to_string(),
        granularity: None,
    }
}

fn partition_problem(value: &Value) -> SpecProblem {
    SpecProblem {
        key: "partition_by",
        message: format!("`partition_by` entries must be column names or `{{column, granularity}}`, not `{value}`"),
        hint: format!(
            "write `partition_by: [store_id, {{column: rental_date, granularity: month}}]`; granularities are {}",
            GRANULARITIES.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_parquet_zstd_overwrite() {
        let spec = ExportSpec::parse(&json!({"bucket": "lake"})).unwrap();
        assert_eq!(spec.format, Format::Parquet);
        assert_eq!(spec.compression, Compression::Zstd);
        assert_eq!(spec.mode, Mode::Overwrite);
        assert_eq!(spec.row_group_size, DEFAULT_ROW_GROUP_SIZE);
        assert_eq!(spec.prefix, None);
    }

    #[test]
    fn partitions_take_columns_and_granularities() {
        let spec = ExportSpec::parse(&json!({
            "prefix": "/gold/rentals/",
            "partition_by": ["store_id", {"column": "rental_date", "granularity": "Month"}],
            "mode": "incremental",
            "watermark": "last_update",
        }))
        .unwrap();
        assert_eq!(spec.prefix.as_deref(), Some("gold/rentals"));
        let names: Vec<String> = spec.partition_by.iter().map(PartitionKey::directory_name).collect();
        assert_eq!(names, ["store_id", "rental_date_month"]);
    }

    #[test]
    fn every_problem_is_reported_with_a_hint() {
        let problems = ExportSpec::parse(&json!({
            "formt": "parquet",
            "format": "orc",
            "mode": "incremental",
            "row_group_size": 0,
            "partition_by": [{"column": "d", "granularity": "week"}],
        }))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|problem| problem.key).collect();
        assert_eq!(keys, ["export", "format", "row_group_size", "partition_by", "mode"]);
        assert!(problems[0].hint.contains("did you mean `format`?"), "{:?}", problems[0]);
        assert!(problems[3].hint.contains("year, month, day"));
    }

    #[test]
    fn csv_takes_no_compression() {
        let problems = ExportSpec::parse(&json!({"format": "csv", "compression": "snappy"})).unwrap_err();
        assert_eq!(problems[0].key, "compression");
        assert_eq!(
            ExportSpec::parse(&json!({"format": "csv"})).unwrap().compression,
            Compression::None
        );
    }
}
