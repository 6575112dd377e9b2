//! A source's freshness criteria as dbt resolves them: `warn_after`,
//! `error_after` (each a `count` and a `period`) and `filter`, declared at
//! the source and the table, each at the top level or under `config:`, and
//! in the project's `sources:` tree.
//!
//! The layers merge in dbt's order (source, source `config`, table, table
//! `config`): a layer that does not mention `freshness` inherits, an explicit
//! `freshness: null` turns freshness off, and a threshold replaces the one
//! it overrides only where it sets one. When the schema files set nothing,
//! the project's `+freshness` applies. A source is checked only when one of
//! the two thresholds is set.

use serde_json::{json, Map, Value};

/// `warn_after` or `error_after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Time {
    pub count: Option<i64>,
    /// `minute`, `hour` or `day`.
    pub period: Option<String>,
}

impl Time {
    fn from_json(value: &Value) -> Self {
        Self {
            count: value.get("count").and_then(Value::as_i64),
            period: value.get("period").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// Set, as dbt's `Time.__bool__`: both the count and the period.
    fn is_set(&self) -> bool {
        self.count.is_some() && self.period.is_some()
    }

    /// The threshold in seconds, when set and its period is known.
    pub fn seconds(&self) -> Option<f64> {
        let unit = match self.period.as_deref()? {
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86400.0,
            _ => return None,
        };
        Some(self.count? as f64 * unit)
    }

    fn to_json(&self) -> Value {
        json!({"count": self.count, "period": self.period})
    }
}

/// One layer's freshness, or the merged result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Threshold {
    /// `None` is an explicit `warn_after: null`.
    pub warn_after: Option<Time>,
    pub error_after: Option<Time>,
    pub filter: Option<String>,
}

/// How a checked source compares with its criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Error => "error",
        }
    }
}

impl Threshold {
    /// A layer as declared: `None` for `freshness: null`; a layer that does
    /// not mention freshness is the empty threshold, which inherits.
    fn layer(value: Option<&Value>) -> Option<Self> {
        match value {
            None => Some(Self::empty()),
            Some(Value::Null) => None,
            Some(value) => Some(Self::from_json(value)),
        }
    }

    fn empty() -> Self {
        Self {
            warn_after: Some(Time::default()),
            error_after: Some(Time::default()),
            filter: None,
        }
    }

    /// Reads the manifest's (or a layer's) `freshness` object.
    pub fn from_json(value: &Value) -> Self {
        let time = |key: &str| match value.get(key) {
            None => Some(Time::default()),
            Some(Value::Null) => None,
            Some(time) => Some(Time::from_json(time)),
        };
        Self {
            warn_after: time("warn_after"),
            error_after: time("error_after"),
            filter: value.get("filter").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// Whether a source with these criteria is checked.
    pub fn is_set(&self) -> bool {
        self.warn_after.as_ref().is_some_and(Time::is_set) || self.error_after.as_ref().is_some_and(Time::is_set)
    }

    /// The status for data `age_seconds` old: error beyond `error_after`,
    /// else warn beyond `warn_after`, else pass.
    pub fn status(&self, age_seconds: f64) -> Status {
        let exceeded = |time: &Option<Time>| {
            time.as_ref()
                .and_then(Time::seconds)
                .is_some_and(|limit| age_seconds > limit)
        };
        if exceeded(&self.error_after) {
            Status::Error
        } else if exceeded(&self.warn_after) {
            Status::Warn
        } else {
            Status::Pass
        }
    }

    /// As the manifest and `sources.json` show it.
    pub fn to_json(&self) -> Value {
        let time = |time: &Option<Time>| time.as_ref().map_or(Value::Null, Time::to_json);
        json!({
            "warn_after": time(&self.warn_after),
            "error_after": time(&self.error_after),
            "filter": self.filter,
        })
    }
}

/// `update` over `base`, as dbt's `merge_source_freshness` does pairwise.
fn merge_pair(base: Option<Threshold>, update: Option<Threshold>) -> Option<Threshold> {
    match (base, update) {
        (Some(base), Some(update)) => {
            let time = |base: Option<Time>, update: Option<Time>| match update {
                None => None,
                Some(update) if update.is_set() => Some(update),
                Some(_) => base,
            };
            Some(Threshold {
                warn_after: time(base.warn_after, update.warn_after),
                error_after: time(base.error_after, update.error_after),
                filter: update.filter.or(base.filter),
            })
        }
        (None, Some(update)) if update.is_set() => Some(update),
        _ => None,
    }
}

/// Where a source table's freshness is declared: each `None` when the
/// layer does not mention `freshness`, `Some(Value::Null)` for `null`.
pub struct Layers<'a> {
    pub source: Option<&'a Value>,
    pub source_config: Option<&'a Value>,
    pub table: Option<&'a Value>,
    pub table_config: Option<&'a Value>,
    /// The project's `sources:` tree (`+freshness`).
    pub project: Option<&'a Value>,
}

/// The table's freshness as the manifest shows it: the merged threshold,
/// or `null` when it is turned off.
pub fn resolve(layers: &Layers) -> Value {
    let merged = [layers.source_config, layers.table, layers.table_config]
        .into_iter()
        .fold(Threshold::layer(layers.source), |base, layer| {
            merge_pair(base, Threshold::layer(layer))
        });
    match merged {
        Some(threshold) if threshold.is_set() => threshold.to_json(),
        None => Value::Null,
        // The schema files set nothing: the project's tree applies.
        Some(threshold) => match layers.project {
            Some(Value::Null) => Value::Null,
            Some(project) => Threshold::from_json(project).to_json(),
            None => threshold.to_json(),
        },
    }
}

/// A source's or a table's `loaded_at_field` and `loaded_at_query`, at the
/// top level of its entry and in its `config:`.
pub struct LoadedAt<'a> {
    pub field: Option<&'a str>,
    /// Whether the entry has the `loaded_at_field` key, even as `null`.
    pub field_present: bool,
    pub query: Option<&'a str>,
    pub config: &'a Map<String, Value>,
}

impl LoadedAt<'_> {
    fn field(&self) -> Option<String> {
        self.field.map(str::to_owned).or_else(|| {
            self.config
                .get("loaded_at_field")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    }

    fn query(&self) -> Option<String> {
        self.query.map(str::to_owned).or_else(|| {
            self.config
                .get("loaded_at_query")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    }
}

/// The table's `loaded_at_field` and `loaded_at_query`, as dbt picks them:
/// the table's own over the source's; a table that sets `loaded_at_field`
/// does not inherit the source's query.
pub fn loaded_at(source: &LoadedAt, table: &LoadedAt) -> (Option<String>, Option<String>) {
    let table_field = table.field();
    let field_present = table.field_present || table_field.is_some();
    let field = if field_present { table_field } else { source.field() };
    let query = table
        .query()
        .or_else(|| if field_present { None } else { source.query() });
    (field, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(warn: Option<(i64, &str)>, error: Option<(i64, &str)>) -> Value {
        let time = |time: Option<(i64, &str)>| {
            time.map_or(
                json!({"count": null, "period": null}),
                |(count, period)| json!({"count": count, "period": period}),
            )
        };
        json!({"warn_after": time(warn), "error_after": time(error), "filter": null})
    }

    /// As dbt-core 1.10's manifest shows them for the same YAML: a table inherits the source's thresholds, overrides one of them,
    /// and `freshness: null` turns it off.
    #[test]
    fn layers_merge_as_dbt_merges_them() {
        let source =
            json!({"warn_after": {"count": 1, "period": "hour"}, "error_after": {"count": 1, "period": "day"}});
        fn layers<'a>(source: &'a Value, table: Option<&'a Value>) -> Layers<'a> {
            Layers {
                source: Some(source),
                source_config: None,
                table,
                table_config: None,
                project: None,
            }
        }
        let layers = |table| resolve(&layers(&source, table));
        assert_eq!(layers(None), threshold(Some((1, "hour")), Some((1, "day"))));
        let filter = json!({"filter": "kind = 'good'"});
        let mut expected = threshold(Some((1, "hour")), Some((1, "day")));
        expected["filter"] = json!("kind = 'good'");
        assert_eq!(layers(Some(&filter)), expected);
        let error_only = json!({"error_after": {"count": 2, "period": "minute"}});
        assert_eq!(
            layers(Some(&error_only)),
            threshold(Some((1, "hour")), Some((2, "minute")))
        );
        assert_eq!(layers(Some(&Value::Null)), Value::Null);
        // Nothing declared anywhere: the empty threshold, never checked.
        let none = Layers {
            source: None,
            source_config: None,
            table: None,
            table_config: None,
            project: None,
        };
        assert_eq!(resolve(&none), threshold(None, None));
        assert!(!Threshold::from_json(&resolve(&none)).is_set());
    }

    #[test]
    fn status_is_error_then_warn_then_pass() {
        let criteria = Threshold::from_json(&threshold(Some((1, "hour")), Some((1, "day"))));
        assert_eq!(criteria.status(60.0), Status::Pass);
        assert_eq!(criteria.status(7200.0), Status::Warn);
        assert_eq!(criteria.status(200_000.0), Status::Error);
    }
}
