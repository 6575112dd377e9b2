//! The time arithmetic of microbatches, as dbt-core 1.10's
//! `MicrobatchBuilder` does it: timestamps truncated to a batch size, moved
//! by whole batches, rounded up to a batch boundary, and the list of
//! `[start, end)` windows between two of them. Times are UTC.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// dbt's `batch_size`: how much event time one batch covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Hour,
    Day,
    Month,
    Year,
}

/// The values `batch_size` may take, in dbt's order.
pub const BATCH_SIZES: &[&str] = &["hour", "day", "month", "year"];

impl BatchSize {
    pub fn parse(text: &str) -> Option<BatchSize> {
        Some(match text {
            "hour" => BatchSize::Hour,
            "day" => BatchSize::Day,
            "month" => BatchSize::Month,
            "year" => BatchSize::Year,
            _ => return None,
        })
    }

    /// The start of the batch holding `time`.
    pub fn truncate(self, time: DateTime<Utc>) -> DateTime<Utc> {
        let date = time.date_naive();
        let (date, hour) = match self {
            BatchSize::Hour => (date, time.hour()),
            BatchSize::Day => (date, 0),
            BatchSize::Month => (date.with_day(1).unwrap_or(date), 0),
            BatchSize::Year => (NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date), 0),
        };
        at(date, hour)
    }

    /// `time` truncated, then moved by `batches` whole batches.
    pub fn offset(self, time: DateTime<Utc>, batches: i32) -> DateTime<Utc> {
        let truncated = self.truncate(time);
        match self {
            BatchSize::Hour => truncated + Duration::hours(i64::from(batches)),
            BatchSize::Day => truncated + Duration::days(i64::from(batches)),
            BatchSize::Month => {
                let months = truncated.year() * 12 + truncated.month0() as i32 + batches;
                let date = NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1);
                date.map_or(truncated, |date| at(date, 0))
            }
            BatchSize::Year => {
                NaiveDate::from_ymd_opt(truncated.year() + batches, 1, 1).map_or(truncated, |date| at(date, 0))
            }
        }
    }

    /// The first batch boundary at or after `time`.
    pub fn ceiling(self, time: DateTime<Utc>) -> DateTime<Utc> {
        let truncated = self.truncate(time);
        if truncated == time {
            truncated
        } else {
            self.offset(truncated, 1)
        }
    }

    /// How a batch is named in progress lines and file names:
    /// `2024-09-17T16`, `2024-09-17`, `2024-09` or `2024`.
    pub fn format_start(self, start: DateTime<Utc>) -> String {
        let format = match self {
            BatchSize::Hour => "%Y-%m-%dT%H",
            BatchSize::Day => "%Y-%m-%d",
            BatchSize::Month => "%Y-%m",
            BatchSize::Year => "%Y",
        };
        start.format(format).to_string()
    }

    /// dbt's batch id (`model.batch.id`): the formatted start without dashes.
    pub fn batch_id(self, start: DateTime<Utc>) -> String {
        self.format_start(start).replace('-', "")
    }
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let naive = date
        .and_hms_opt(hour, 0, 0)
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN));
    Utc.from_utc_datetime(&naive)
}

/// One batch: the event times in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Batch {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Batch {
    /// A bound as Python prints an aware datetime, which is how dbt writes
    /// it into the filter: `2024-01-02 00:00:00+00:00`.
    pub fn sql_bound(time: DateTime<Utc>) -> String {
        python_datetime(time, ' ')
    }

    /// A bound as `run_results.json` records it: `2024-01-02T00:00:00+00:00`.
    pub fn json_bound(time: DateTime<Utc>) -> String {
        python_datetime(time, 'T')
    }

    /// The batch of a `[start, end]` pair read back from `run_results.json`.
    pub fn from_json(value: &serde_json::Value) -> Option<Batch> {
        let [start, end] = value.as_array()?.as_slice() else {
            return None;
        };
        Some(Batch {
            start: parse_time(start.as_str()?)?,
            end: parse_time(end.as_str()?)?,
        })
    }

    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!([Batch::json_bound(self.start), Batch::json_bound(self.end)])
    }
}

/// Python's `str()` or `isoformat()` of a UTC datetime: microseconds only
/// when there are some.
fn python_datetime(time: DateTime<Utc>, separator: char) -> String {
    let micros = time.timestamp_subsec_micros();
    let fraction = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{}{separator}{}{fraction}+00:00",
        time.format("%Y-%m-%d"),
        time.format("%H:%M:%S")
    )
}

/// The batches from `start` to `end`, each one batch long but the last,
/// which ends at `end` exactly; at least one, as dbt builds them.
pub fn between(size: BatchSize, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Batch> {
    let mut batches = vec![Batch {
        start,
        end: size.offset(start, 1),
    }];
    while let Some(last) = batches.last().copied() {
        if last.end >= end {
            break;
        }
        batches.push(Batch {
            start: last.end,
            end: size.offset(last.end, 1),
        });
    }
    if let Some(last) = batches.last_mut() {
        last.end = end;
    }
    batches
}

/// A time as dbt reads one: an ISO date or datetime, with `T` or a space,
/// an optional fraction and an optional offset, which is dropped (dbt
/// rebuilds the components as UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(at(date, 0));
    }
    if let Ok(aware) = DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)) {
        return Some(Utc.from_utc_datetime(&aware.naive_local()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap_or_else(|| panic!("`{text}` is a time"))
    }

    // The examples of dbt-core 1.10's `MicrobatchBuilder` docstrings.
    #[test]
    fn truncate_offset_and_ceiling_match_dbt() {
        let at = time("2024-09-17 16:06:00");
        let cases = [
            (
                BatchSize::Hour,
                -1,
                "2024-09-17 15:00:00",
                "2024-09-17 17:00:00",
                "2024-09-17 16:00:00",
            ),
            (
                BatchSize::Day,
                -1,
                "2024-09-16 00:00:00",
                "2024-09-18 00:00:00",
                "2024-09-17 00:00:00",
            ),
            (
                BatchSize::Month,
                -1,
                "2024-08-01 00:00:00",
                "2024-10-01 00:00:00",
                "2024-09-01 00:00:00",
            ),
            (
                BatchSize::Year,
                -1,
                "2023-01-01 00:00:00",
                "2025-01-01 00:00:00",
                "2024-01-01 00:00:00",
            ),
        ];
        for (size, back, before, after, truncated) in cases {
            assert_eq!(size.offset(at, back), time(before), "{size:?}");
            assert_eq!(size.offset(at, 1), time(after), "{size:?}");
            assert_eq!(size.truncate(at), time(truncated), "{size:?}");
            assert_eq!(size.ceiling(at), time(after), "{size:?}");
            assert_eq!(size.ceiling(time(truncated)), time(truncated), "{size:?}");
        }
        assert_eq!(
            BatchSize::Day.offset(time("2024-09-17 23:59:59"), 1),
            time("2024-09-18")
        );
        assert_eq!(BatchSize::Month.offset(time("2024-01-31"), -2), time("2023-11-01"));
        assert_eq!(BatchSize::Month.offset(time("2024-11-30"), 3), time("2025-02-01"));
    }

    #[test]
    fn names_and_ids_match_dbt() {
        let at = time("2024-09-17 16:06:00");
        assert_eq!(BatchSize::Hour.format_start(at), "2024-09-17T16");
        assert_eq!(BatchSize::Day.format_start(at), "2024-09-17");
        assert_eq!(BatchSize::Month.format_start(at), "2024-09");
        assert_eq!(BatchSize::Year.format_start(at), "2024");
        assert_eq!(BatchSize::Day.batch_id(at), "20240917");
        assert_eq!(Batch::sql_bound(time("2024-01-02")), "2024-01-02 00:00:00+00:00");
        assert_eq!(Batch::json_bound(time("2024-01-02")), "2024-01-02T00:00:00+00:00");
        assert_eq!(
            Batch::sql_bound(time("2024-01-02 03:04:05.25")),
            "2024-01-02 03:04:05.250000+00:00"
        );
    }

    #[test]
    fn batches_cover_the_window_and_the_last_ends_at_its_end() {
        let batches = between(BatchSize::Day, time("2024-01-01"), time("2024-01-03 12:00"));
        let bounds: Vec<(String, String)> = batches
            .iter()
            .map(|batch| (Batch::sql_bound(batch.start), Batch::sql_bound(batch.end)))
            .collect();
        assert_eq!(
            bounds,
            [
                ("2024-01-01 00:00:00+00:00", "2024-01-02 00:00:00+00:00"),
                ("2024-01-02 00:00:00+00:00", "2024-01-03 00:00:00+00:00"),
                ("2024-01-03 00:00:00+00:00", "2024-01-03 12:00:00+00:00"),
            ]
            .map(|(start, end)| (start.to_string(), end.to_string()))
        );
        assert_eq!(between(BatchSize::Day, time("2024-01-01"), time("2024-01-01")).len(), 1);
        let round_trip = Batch::from_json(&batches[0].to_json());
        assert_eq!(round_trip, Some(batches[0]));
    }

    #[test]
    fn times_parse_as_dbt_reads_them() {
        assert_eq!(time("2024-01-01T05:00:00"), time("2024-01-01 05:00"));
        assert_eq!(time("2024-01-01T05:00:00+02:00"), time("2024-01-01 05:00:00"));
        assert_eq!(parse_time("yesterday"), None);
    }
}
