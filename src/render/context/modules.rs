//! dbt's `modules`: `modules.datetime`, `modules.re`, `modules.pytz` and
//! `modules.itertools`, the parts of Python's standard library dbt puts in its
//! Jinja context (dbt-core's `get_context_modules`).
//!
//! `datetime` has `datetime`, `date`, `timedelta` and `timezone`, with
//! Python's `strftime` directives; `run_started_at` is one of its datetimes.
//! minijinja has no operator overloading, so `datetime - timedelta` is not
//! available: use SQL date arithmetic, or `replace()`. `re` runs Python
//! patterns on `fancy-regex`, with look-around and backreferences (dbt-codegen's
//! `(?=\s|$)`), and the `regex` crate beneath for the rest. `pytz` knows the tz database's
//! zones (chrono-tz): as with pytz, `tzinfo=timezone(name)` takes the zone's
//! first (local mean time) offset and `localize()` / `astimezone()` the offset
//! in force at that moment.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{
    Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::{OffsetComponents, Tz};
use minijinja::value::{from_args, DynObject, Kwargs, Object, ObjectRepr, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::methods::List;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

// ---------------------------------------------------------------- timezones

/// A time zone: a name and the offset from UTC it has here, with the tz
/// database's zone when it is one, to find the offset at another moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub name: String,
    pub offset: FixedOffset,
    pub tz: Option<Tz>,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::fixed("UTC", Utc.fix())
    }

    pub fn fixed(name: &str, offset: FixedOffset) -> Zone {
        Zone {
            name: name.to_string(),
            offset,
            tz: None,
        }
    }

    /// The zone with the offset in force at the instant `utc`.
    fn at_utc(&self, utc: NaiveDateTime) -> Zone {
        match self.tz {
            Some(tz) => Zone {
                offset: tz.offset_from_utc_datetime(&utc).fix(),
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// The zone with the offset in force at the wall-clock time `local`, as
    /// pytz's `localize(is_dst=False)`: standard time when the time is
    /// ambiguous, the offset before the change when it does not exist.
    fn at_local(&self, local: NaiveDateTime) -> Zone {
        let Some(tz) = self.tz else { return self.clone() };
        let offset = match tz.offset_from_local_datetime(&local) {
            LocalResult::Single(offset) => offset.fix(),
            LocalResult::Ambiguous(first, second) => match first.dst_offset().is_zero() {
                true => first.fix(),
                false => second.fix(),
            },
            LocalResult::None => tz.offset_from_utc_datetime(&(local - chrono::Duration::hours(3))).fix(),
        };
        Zone { offset, ..self.clone() }
    }

    /// `UTC`, `GMT`, `Etc/UTC`, or `Etc/GMT+5` (which is UTC-5, as in the
    /// tz database).
    fn named(name: &str) -> Result<Zone, Error> {
        match name {
            "UTC" | "utc" | "GMT" | "Etc/UTC" | "Etc/GMT" | "Zulu" | "Etc/Zulu" => {
                return Ok(Zone::fixed(name, Utc.fix()))
            }
            _ => {}
        }
        if let Ok(tz) = name.parse::<Tz>() {
            // pytz's zone before localize(): its first offset, in whole minutes.
            let first = tz.offset_from_utc_datetime(&NaiveDateTime::MIN).fix().local_minus_utc();
            let minutes = (first + 30).div_euclid(60) * 60;
            if let Some(offset) = FixedOffset::east_opt(minutes) {
                return Ok(Zone {
                    name: name.to_string(),
                    offset,
                    tz: Some(tz),
                });
            }
        }
        let offset = name
            .strip_prefix("Etc/GMT")
            .and_then(|hours| hours.parse::<i32>().ok())
            .and_then(|hours| FixedOffset::west_opt(hours * 3600));
        match offset {
            Some(offset) => Ok(Zone::fixed(name, offset)),
            None => Err(invalid(format!(
                "time zone `{name}` is not in the tz database; use a name such as `America/New_York`, `UTC` or `Etc/GMT+5`"
            ))),
        }
    }

    fn from_value(value: &Value) -> Result<Option<Zone>, Error> {
        if value.is_none() || value.is_undefined() {
            return Ok(None);
        }
        if let Some(zone) = value.downcast_object_ref::<Zone>() {
            return Ok(Some(zone.clone()));
        }
        match value.as_str() {
            Some(name) => Zone::named(name).map(Some),
            None => Err(invalid(format!("`{value}` is not a time zone"))),
        }
    }
}

impl Object for Zone {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.name.clone())),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "localize" => {
                let (moment,): (Value,) = from_args(args)?;
                let moment = moment
                    .downcast_object_ref::<DateTime>()
                    .ok_or_else(|| invalid("localize() takes a datetime"))?;
                Ok(Value::from_object(DateTime {
                    zone: Some(self.at_local(moment.local)),
                    ..moment.clone()
                }))
            }
            "utcoffset" | "tzname" => Ok(Value::from(self.name.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name)
    }
}

// ---------------------------------------------------------------- datetime

/// A Python `datetime`: a wall-clock time, aware when it has a zone.
#[derive(Debug, Clone)]
pub struct DateTime {
    pub local: NaiveDateTime,
    pub zone: Option<Zone>,
}

impl DateTime {
    pub fn now_utc() -> DateTime {
        DateTime {
            local: Utc::now().naive_utc(),
            zone: Some(Zone::utc()),
        }
    }

    /// An RFC 3339 timestamp, such as dvt's `run_started_at`.
    pub fn parse_rfc3339(text: &str) -> Option<DateTime> {
        let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        Some(DateTime {
            local: parsed.naive_local(),
            zone: Some(match parsed.offset().local_minus_utc() {
                0 => Zone::utc(),
                _ => Zone::fixed(&parsed.offset().to_string(), *parsed.offset()),
            }),
        })
    }

    fn utc(&self) -> NaiveDateTime {
        match &self.zone {
            Some(zone) => self.local - chrono::Duration::seconds(i64::from(zone.offset.local_minus_utc())),
            None => self.local,
        }
    }

    fn offset_text(&self, colon: bool) -> String {
        let Some(zone) = &self.zone else { return String::new() };
        let seconds = zone.offset.local_minus_utc();
        let sign = if seconds < 0 { '-' } else { '+' };
        let seconds = seconds.abs();
        let (hours, minutes) = (seconds / 3600, seconds % 3600 / 60);
        match colon {
            true => format!("{sign}{hours:02}:{minutes:02}"),
            false => format!("{sign}{hours:02}{minutes:02}"),
        }
    }

    pub fn strftime(&self, format: &str) -> String {
        let zone_name = self.zone.as_ref().map(|zone| zone.name.clone()).unwrap_or_default();
        strftime(
            format,
            |directive| match directive {
                'z' => Some(self.offset_text(false)),
                'Z' => Some(zone_name.clone()),
                _ => None,
            },
            |chrono_format| self.local.format(chrono_format).to_string(),
        )
    }

    pub fn isoformat(&self, separator: &str) -> String {
        let mut text = self.local.format(&format!("%Y-%m-%d{separator}%H:%M:%S")).to_string();
        let micros = self.local.nanosecond() / 1000;
        if micros != 0 {
            text.push_str(&format!(".{micros:06}"));
        }
        text.push_str(&self.offset_text(true));
        text
    }

    fn replace(&self, kwargs: &Kwargs) -> Result<DateTime, Error> {
        let get = |name: &str, current: u32| -> Result<u32, Error> {
            Ok(kwargs.get::<Option<u32>>(name)?.unwrap_or(current))
        };
        let year: Option<i32> = kwargs.get("year")?;
        let date = NaiveDate::from_ymd_opt(
            year.unwrap_or(self.local.year()),
            get("month", self.local.month())?,
            get("day", self.local.day())?,
        )
        .ok_or_else(|| invalid("replace(): the date is out of range"))?;
        let time = NaiveTime::from_hms_micro_opt(
            get("hour", self.local.hour())?,
            get("minute", self.local.minute())?,
            get("second", self.local.second())?,
            get("microsecond", self.local.nanosecond() / 1000)?,
        )
        .ok_or_else(|| invalid("replace(): the time is out of range"))?;
        let zone = match kwargs.has("tzinfo") {
            true => Zone::from_value(&kwargs.get::<Value>("tzinfo")?)?,
            false => self.zone.clone(),
        };
        kwargs.assert_all_used()?;
        Ok(DateTime {
            local: date.and_time(time),
            zone,
        })
    }
}

/// Python's `strftime` on chrono's: `%f` is microseconds, and `special`
/// spells the directives chrono spells differently (`%z`, `%Z`).
fn strftime(format: &str, special: impl Fn(char) -> Option<String>, chrono_format: impl Fn(&str) -> String) -> String {
    let mut translated = String::new();
    let mut characters = format.chars();
    while let Some(character) = characters.next() {
        if character != '%' {
            translated.push(character);
            continue;
        }
        match characters.next() {
            Some('f') => translated.push_str("%6f"),
            Some(directive) => match special(directive) {
                Some(text) => translated.push_str(&text.replace('%', "%%")),
                None => {
                    translated.push('%');
                    translated.push(directive);
                }
            },
            None => translated.push_str("%%"),
        }
    }
    chrono_format(&translated)
}

/// Python's `strptime` directives turned into chrono's.
fn strptime(text: &str, format: &str) -> Result<DateTime, Error> {
    let chrono_format = format.replace("%f", "%.f").replace("%z", "%#z");
    let failed = || invalid(format!("time data `{text}` does not match format `{format}`"));
    if format.contains("%z") {
        let parsed = chrono::DateTime::parse_from_str(text, &chrono_format).map_err(|_| failed())?;
        return Ok(DateTime {
            local: parsed.naive_local(),
            zone: Some(Zone::fixed(&parsed.offset().to_string(), *parsed.offset())),
        });
    }
    let local = NaiveDateTime::parse_from_str(text, &chrono_format)
        .or_else(|_| NaiveDate::parse_from_str(text, &chrono_format).map(|date| date.and_time(NaiveTime::MIN)))
        .map_err(|_| failed())?;
    Ok(DateTime { local, zone: None })
}

impl fmt::Display for DateTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.isoformat(" "))
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let local = &self.local;
        Some(match key.as_str()? {
            "year" => Value::from(local.year()),
            "month" => Value::from(local.month()),
            "day" => Value::from(local.day()),
            "hour" => Value::from(local.hour()),
            "minute" => Value::from(local.minute()),
            "second" => Value::from(local.second()),
            "microsecond" => Value::from(local.nanosecond() / 1000),
            "tzinfo" => self.zone.clone().map(Value::from_object).unwrap_or(Value::from(())),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (String,) = from_args(args)?;
                Ok(Value::from(self.strftime(&format)))
            }
            "isoformat" => {
                let (separator,): (Option<String>,) = from_args(args)?;
                Ok(Value::from(self.isoformat(separator.as_deref().unwrap_or("T"))))
            }
            "date" => Ok(Value::from_object(Date(self.local.date()))),
            "timestamp" => Ok(Value::from(self.utc().and_utc().timestamp_micros() as f64 / 1e6)),
            "weekday" => Ok(Value::from(self.local.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.local.weekday().number_from_monday())),
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                Ok(Value::from_object(self.replace(&kwargs)?))
            }
            "astimezone" => {
                let (zone,): (Option<Value>,) = from_args(args)?;
                let zone = match zone {
                    Some(zone) => Zone::from_value(&zone)?.unwrap_or_else(Zone::utc),
                    None => Zone::utc(),
                }
                .at_utc(self.utc());
                let local = self.utc() + chrono::Duration::seconds(i64::from(zone.offset.local_minus_utc()));
                Ok(Value::from_object(DateTime {
                    local,
                    zone: Some(zone),
                }))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<DateTime>()?;
        Some(self.utc().cmp(&other.utc()))
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), formatter)
    }
}

/// A Python `date`.
#[derive(Debug, Clone)]
pub struct Date(pub NaiveDate);

impl Object for Date {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "year" => Value::from(self.0.year()),
            "month" => Value::from(self.0.month()),
            "day" => Value::from(self.0.day()),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (String,) = from_args(args)?;
                Ok(Value::from(strftime(
                    &format,
                    |_| None,
                    |chrono_format| self.0.format(chrono_format).to_string(),
                )))
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%d").to_string())),
            "weekday" => Ok(Value::from(self.0.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.0.weekday().number_from_monday())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Date>()?.0))
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A Python `timedelta`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeDelta(pub chrono::Duration);

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let micros = self.0.num_microseconds()?;
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        Some(match key.as_str()? {
            "days" => Value::from(days),
            "seconds" => Value::from(rest / 1_000_000),
            "microseconds" => Value::from(rest % 1_000_000),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, _args: &[Value]) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(self.0.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<TimeDelta>()?.0))
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.num_microseconds().unwrap_or(0);
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        let seconds = rest / 1_000_000;
        if days != 0 {
            write!(formatter, "{days} day{}, ", if days.abs() == 1 { "" } else { "s" })?;
        }
        write!(
            formatter,
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60
        )?;
        match rest % 1_000_000 {
            0 => Ok(()),
            fraction => write!(formatter, ".{fraction:06}"),
        }
    }
}

fn timedelta(args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let names = [
        "days",
        "seconds",
        "microseconds",
        "milliseconds",
        "minutes",
        "hours",
        "weeks",
    ];
    let scale = [86_400e6, 1e6, 1.0, 1e3, 60e6, 3600e6, 604_800e6];
    let mut micros = 0f64;
    for (index, name) in names.iter().enumerate() {
        let value = match positional.get(index) {
            Some(value) => Some(value.clone()),
            None => kwargs.get::<Option<Value>>(name)?,
        };
        if let Some(value) = value {
            let number =
                f64::try_from(value).map_err(|_| invalid(format!("timedelta(): `{name}` must be a number")))?;
            micros += number * scale[index];
        }
    }
    kwargs.assert_all_used()?;
    Ok(Value::from_object(TimeDelta(chrono::Duration::microseconds(
        micros.round() as i64,
    ))))
}

/// A class of the `datetime` module: callable as its constructor, with its
/// class methods.
#[derive(Debug)]
enum Class {
    DateTime,
    Date,
    TimeZone,
}

fn datetime_value(local: NaiveDateTime, zone: Option<Zone>) -> Value {
    Value::from_object(DateTime { local, zone })
}

impl Object for Class {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (self.as_ref(), key.as_str()?) {
            (Class::TimeZone, "utc") => Some(Value::from_object(Zone::utc())),
            _ => None,
        }
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match self.as_ref() {
            Class::DateTime => {
                let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
                let names = ["year", "month", "day", "hour", "minute", "second", "microsecond"];
                let mut parts = [1i64, 1, 1, 0, 0, 0, 0];
                for (index, name) in names.iter().enumerate() {
                    if let Some(value) = positional.get(index) {
                        parts[index] = i64::try_from(value.clone())?;
                    } else if let Some(value) = kwargs.get::<Option<i64>>(name)? {
                        parts[index] = value;
                    }
                }
                let zone = match kwargs.has("tzinfo") {
                    true => Zone::from_value(&kwargs.get::<Value>("tzinfo")?)?,
                    false => None,
                };
                kwargs.assert_all_used()?;
                let part = |index: usize| u32::try_from(parts[index]).unwrap_or(u32::MAX);
                let local = NaiveDate::from_ymd_opt(i32::try_from(parts[0]).unwrap_or(0), part(1), part(2))
                    .and_then(|date| date.and_hms_micro_opt(part(3), part(4), part(5), part(6)))
                    .ok_or_else(|| invalid("datetime(): out of range"))?;
                Ok(datetime_value(local, zone))
            }
            Class::Date => {
                let (year, month, day): (i32, u32, u32) = from_args(args)?;
                NaiveDate::from_ymd_opt(year, month, day)
                    .map(|date| Value::from_object(Date(date)))
                    .ok_or_else(|| invalid("date(): out of range"))
            }
            Class::TimeZone => {
                let (offset, name): (Value, Option<String>) = from_args(args)?;
                let delta = offset
                    .downcast_object_ref::<TimeDelta>()
                    .ok_or_else(|| invalid("timezone() takes a timedelta"))?;
                let offset = FixedOffset::east_opt(i32::try_from(delta.0.num_seconds()).unwrap_or(i32::MAX))
                    .ok_or_else(|| invalid("timezone(): offset out of range"))?;
                Ok(Value::from_object(Zone::fixed(
                    &name.unwrap_or_else(|| format!("UTC{offset}")),
                    offset,
                )))
            }
        }
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let now = DateTime::now_utc();
        match (self.as_ref(), method) {
            (Class::DateTime, "now") => {
                let (zone,): (Option<Value>,) = from_args(args)?;
                match zone.map(|zone| Zone::from_value(&zone)).transpose()?.flatten() {
                    Some(zone) => {
                        let zone = zone.at_utc(now.local);
                        Ok(datetime_value(
                            now.local + chrono::Duration::seconds(i64::from(zone.offset.local_minus_utc())),
                            Some(zone),
                        ))
                    }
                    None => Ok(datetime_value(chrono::Local::now().naive_local(), None)),
                }
            }
            (Class::DateTime, "utcnow") => Ok(datetime_value(now.local, None)),
            (Class::DateTime, "today") => Ok(datetime_value(chrono::Local::now().naive_local(), None)),
            (Class::DateTime, "strptime") => {
                let (text, format): (String, String) = from_args(args)?;
                Ok(Value::from_object(strptime(&text, &format)?))
            }
            (Class::DateTime, "fromisoformat") => {
                let (text,): (String,) = from_args(args)?;
                let parsed = DateTime::parse_rfc3339(&text)
                    .or_else(|| strptime(&text, "%Y-%m-%dT%H:%M:%S%.f").ok())
                    .or_else(|| strptime(&text, "%Y-%m-%d %H:%M:%S%.f").ok())
                    .or_else(|| strptime(&text, "%Y-%m-%d").ok())
                    .ok_or_else(|| invalid(format!("invalid isoformat string: `{text}`")))?;
                Ok(Value::from_object(parsed))
            }
            (Class::DateTime, "fromtimestamp" | "utcfromtimestamp") => {
                let (seconds, zone): (f64, Option<Value>) = from_args(args)?;
                let utc = chrono::DateTime::from_timestamp_micros((seconds * 1e6) as i64)
                    .ok_or_else(|| invalid("fromtimestamp(): out of range"))?
                    .naive_utc();
                let zone = zone
                    .map(|zone| Zone::from_value(&zone))
                    .transpose()?
                    .flatten()
                    .map(|zone| zone.at_utc(utc));
                let offset = zone.as_ref().map_or(0, |zone| zone.offset.local_minus_utc());
                Ok(datetime_value(utc + chrono::Duration::seconds(i64::from(offset)), zone))
            }
            (Class::Date, "today") => Ok(Value::from_object(Date(chrono::Local::now().date_naive()))),
            (Class::Date, "fromisoformat") => {
                let (text,): (String,) = from_args(args)?;
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map(|date| Value::from_object(Date(date)))
                    .map_err(|_| invalid(format!("invalid isoformat string: `{text}`")))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

fn datetime_module() -> Value {
    Value::from_iter([
        ("datetime", Value::from_object(Class::DateTime)),
        ("date", Value::from_object(Class::Date)),
        ("timezone", Value::from_object(Class::TimeZone)),
        ("timedelta", Value::from_function(timedelta)),
        ("MINYEAR", Value::from(1)),
        ("MAXYEAR", Value::from(9999)),
    ])
}

fn pytz_module() -> Value {
    Value::from_iter([
        ("utc", Value::from_object(Zone::utc())),
        ("UTC", Value::from_object(Zone::utc())),
        (
            "timezone",
            Value::from_function(|name: String| -> Result<Value, Error> { Zone::named(&name).map(Value::from_object) }),
        ),
    ])
}

// ---------------------------------------------------------------- re

const IGNORECASE: i64 = 2;
const MULTILINE: i64 = 8;
const DOTALL: i64 = 16;
const VERBOSE: i64 = 64;

thread_local! {
    static PATTERNS: RefCell<HashMap<(String, i64), fancy_regex::Regex>> = RefCell::new(HashMap::new());
}

/// A Python pattern with `flags`, compiled once per thread.
fn compile(pattern: &str, flags: i64) -> Result<fancy_regex::Regex, Error> {
    let key = (pattern.to_string(), flags);
    if let Some(found) = PATTERNS.with(|cache| cache.borrow().get(&key).cloned()) {
        return Ok(found);
    }
    let inline_verbose = pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(inline, _)| inline.contains('x') && !inline.contains(':'));
    let translated = python_pattern(pattern, flags & VERBOSE != 0 || inline_verbose);
    let compiled = fancy_regex::RegexBuilder::new(&translated)
        .case_insensitive(flags & IGNORECASE != 0)
        .multi_line(flags & MULTILINE != 0)
        .dot_matches_new_line(flags & DOTALL != 0)
        .ignore_whitespace(flags & VERBOSE != 0)
        .build()
        .map_err(|error| invalid(format!("regular expression `{pattern}` is not supported: {error}")))?;
    PATTERNS.with(|cache| cache.borrow_mut().insert(key, compiled.clone()));
    Ok(compiled)
}

/// Python's pattern in the `regex` crate's syntax: `\\Z` is `\\z`, a `{` that
/// starts no repetition (`{{ ref(` in dbt-codegen) is a literal brace, `{,n}`
/// is `{0,n}`, and a `[` inside a class is literal, as Python reads them.
/// Comments of a verbose pattern are kept as they are.
fn python_pattern(pattern: &str, verbose: bool) -> String {
    let mut translated = String::with_capacity(pattern.len() + 8);
    let mut rest = pattern;
    let mut in_class = false;
    while let Some(character) = rest.chars().next() {
        rest = &rest[character.len_utf8()..];
        match character {
            '\\' => {
                let next = rest.chars().next();
                if let Some(next) = next {
                    rest = &rest[next.len_utf8()..];
                }
                match next {
                    Some('Z') => translated.push_str("\\z"),
                    Some(next) => {
                        translated.push('\\');
                        translated.push(next);
                    }
                    None => translated.push('\\'),
                }
            }
            '[' if in_class => translated.push_str("\\["),
            '[' => {
                in_class = true;
                translated.push('[');
                if let Some(after) = rest.strip_prefix('^') {
                    translated.push('^');
                    rest = after;
                }
                if let Some(after) = rest.strip_prefix(']') {
                    translated.push_str("\\]");
                    rest = after;
                }
            }
            ']' if in_class => {
                in_class = false;
                translated.push(']');
            }
            '#' if verbose && !in_class => {
                let end = rest.find('\n').unwrap_or(rest.len());
                translated.push('#');
                translated.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            '{' if !in_class => match repetition(rest) {
                Some((min, max, length)) => {
                    translated.push('{');
                    translated.push_str(if min.is_empty() { "0" } else { min });
                    if let Some(max) = max {
                        translated.push(',');
                        translated.push_str(max);
                    }
                    translated.push('}');
                    rest = &rest[length..];
                }
                None => translated.push_str("\\{"),
            },
            '}' if !in_class => translated.push_str("\\}"),
            other => translated.push(other),
        }
    }
    translated
}

/// The bounds of a repetition whose `{` was just read (`3}`, `2,}`, `,5}`,
/// `2,5}`) and the length of that text, or `None` when the brace is a literal.
fn repetition(rest: &str) -> Option<(&str, Option<&str>, usize)> {
    let end = rest.find('}')?;
    let inside = &rest[..end];
    let digits = |text: &str| text.chars().all(|character| character.is_ascii_digit());
    let (min, max) = match inside.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (inside, None),
    };
    let valid = digits(min) && max.is_none_or(digits) && !(min.is_empty() && max.is_none_or(str::is_empty));
    valid.then_some((min, max, end + 1))
}

/// One match: `group()`, `groups()`, `start()`, `span()`...
#[derive(Debug)]
struct Match {
    text: String,
    /// Byte ranges of the groups, the whole match first.
    groups: Vec<Option<(usize, usize)>>,
    names: HashMap<String, usize>,
}

impl Match {
    fn new(text: &str, captures: &fancy_regex::Captures, regex: &fancy_regex::Regex) -> Match {
        Match {
            text: text.to_string(),
            groups: captures
                .iter()
                .map(|group| group.map(|found| (found.start(), found.end())))
                .collect(),
            names: regex
                .capture_names()
                .enumerate()
                .filter_map(|(index, name)| Some((name?.to_string(), index)))
                .collect(),
        }
    }

    fn index(&self, group: &Value) -> Result<usize, Error> {
        let index = match group.as_str() {
            Some(name) => self.names.get(name).copied(),
            None => usize::try_from(group.clone()).ok(),
        };
        index
            .filter(|index| *index < self.groups.len())
            .ok_or_else(|| invalid(format!("no such group: {group}")))
    }

    fn group(&self, index: usize) -> Value {
        match self.groups.get(index).copied().flatten() {
            Some((start, end)) => Value::from(&self.text[start..end]),
            None => Value::from(()),
        }
    }

    fn characters(&self, byte: usize) -> usize {
        self.text[..byte].chars().count()
    }
}

impl Object for Match {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "string" => Some(Value::from(self.text.clone())),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "group" => {
                let indices: Vec<usize> = args.iter().map(|group| self.index(group)).collect::<Result<_, _>>()?;
                Ok(match indices.as_slice() {
                    [] => self.group(0),
                    [index] => self.group(*index),
                    many => Value::from(many.iter().map(|index| self.group(*index)).collect::<Vec<_>>()),
                })
            }
            "groups" => {
                let (default,): (Option<Value>,) = from_args(args)?;
                let default = default.unwrap_or(Value::from(()));
                Ok(Value::from(
                    (1..self.groups.len())
                        .map(|index| match self.groups[index] {
                            Some(_) => self.group(index),
                            None => default.clone(),
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            "groupdict" => Ok(Value::from_iter(
                self.names
                    .iter()
                    .map(|(name, index)| (name.clone(), self.group(*index))),
            )),
            "start" | "end" | "span" => {
                let (group,): (Option<Value>,) = from_args(args)?;
                let index = match group {
                    Some(group) => self.index(&group)?,
                    None => 0,
                };
                let (start, end) = self.groups[index].map_or((-1, -1), |(start, end)| {
                    (self.characters(start) as i64, self.characters(end) as i64)
                });
                Ok(match method {
                    "start" => Value::from(start),
                    "end" => Value::from(end),
                    _ => Value::from(vec![Value::from(start), Value::from(end)]),
                })
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<re.Match object; match={:?}>", self.group(0).to_string())
    }
}

/// A match that ran past fancy-regex's backtracking limit.
fn matching_failed(error: fancy_regex::Error) -> Error {
    invalid(format!("re: the pattern could not be matched: {error}"))
}

#[derive(Debug, Clone, Copy)]
enum Anchor {
    Search,
    Start,
    Full,
}

fn find(pattern: &str, text: &str, flags: i64, anchor: Anchor) -> Result<Value, Error> {
    let regex = compile(
        &match anchor {
            Anchor::Search => pattern.to_string(),
            Anchor::Start => format!("\\A(?:{pattern})"),
            Anchor::Full => format!("\\A(?:{pattern})\\z"),
        },
        flags,
    )?;
    Ok(match regex.captures(text).map_err(matching_failed)? {
        Some(captures) => Value::from_object(Match::new(text, &captures, &regex)),
        None => Value::from(()),
    })
}

fn findall(pattern: &str, text: &str, flags: i64) -> Result<Value, Error> {
    let regex = compile(pattern, flags)?;
    let groups = regex.captures_len() - 1;
    let found = regex
        .captures_iter(text)
        .map(|captures| {
            let captures = captures.map_err(matching_failed)?;
            let group = |index: usize| Value::from(captures.get(index).map_or("", |found| found.as_str()));
            Ok(match groups {
                0 => group(0),
                1 => group(1),
                _ => Value::from((1..=groups).map(group).collect::<Vec<_>>()),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(List::value(found))
}

/// A Python replacement (`\1`, `\g<name>`) in the `regex` crate's syntax.
fn replacement(python: &str) -> String {
    let mut output = String::new();
    let mut characters = python.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '$' => output.push_str("$$"),
            '\\' => match characters.next() {
                Some(digit @ '0'..='9') => {
                    let mut group = digit.to_string();
                    if let Some(next) = characters.peek().filter(|next| next.is_ascii_digit()) {
                        group.push(*next);
                        characters.next();
                    }
                    output.push_str(&format!("${{{group}}}"));
                }
                Some('g') if characters.peek() == Some(&'<') => {
                    characters.next();
                    let name: String = characters.by_ref().take_while(|character| *character != '>').collect();
                    output.push_str(&format!("${{{name}}}"));
                }
                Some('n') => output.push('\n'),
                Some('t') => output.push('\t'),
                Some('\\') => output.push('\\'),
                Some(other) => {
                    output.push('\\');
                    output.push(other);
                }
                None => output.push('\\'),
            },
            other => output.push(other),
        }
    }
    output
}

fn sub(pattern: &str, replace: &str, text: &str, count: usize, flags: i64) -> Result<Value, Error> {
    let regex = compile(pattern, flags)?;
    let replaced = regex
        .try_replacen(text, count, replacement(replace).as_str())
        .map_err(matching_failed)?;
    Ok(Value::from(replaced.into_owned()))
}

fn split(pattern: &str, text: &str, maxsplit: usize, flags: i64) -> Result<Value, Error> {
    let regex = compile(pattern, flags)?;
    let mut parts = Vec::new();
    let mut last = 0;
    for (count, captures) in regex.captures_iter(text).enumerate() {
        if maxsplit > 0 && count >= maxsplit {
            break;
        }
        let captures = captures.map_err(matching_failed)?;
        let Some(whole) = captures.get(0) else { continue };
        parts.push(Value::from(&text[last..whole.start()]));
        for group in captures.iter().skip(1) {
            parts.push(group.map_or(Value::from(()), |found| Value::from(found.as_str())));
        }
        last = whole.end();
    }
    parts.push(Value::from(&text[last..]));
    Ok(List::value(parts))
}

/// The arguments of a `re` function after the pattern: the text, then
/// `count`/`maxsplit` and `flags` by position or keyword.
struct ReCall {
    arguments: Vec<Value>,
    kwargs: Kwargs,
}

impl ReCall {
    fn new(args: &[Value]) -> Result<ReCall, Error> {
        let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
        Ok(ReCall {
            arguments: positional.to_vec(),
            kwargs,
        })
    }

    fn string(&self, index: usize, name: &str) -> Result<String, Error> {
        let value = match self.arguments.get(index) {
            Some(value) => value.clone(),
            None => self.kwargs.get::<Value>(name)?,
        };
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("re: `{name}` must be a string, got `{value}`")))
    }

    fn number(&self, index: usize, name: &str) -> Result<i64, Error> {
        match self.arguments.get(index) {
            Some(value) => i64::try_from(value.clone()),
            None => Ok(self.kwargs.get::<Option<i64>>(name)?.unwrap_or(0)),
        }
    }
}

/// Runs `function` of `re` with `pattern` and the arguments after it.
fn call_re(function: &str, pattern: &str, flags: Option<i64>, args: &[Value]) -> Result<Value, Error> {
    let call = ReCall::new(args)?;
    let flags_at = |index: usize| -> Result<i64, Error> {
        Ok(match flags {
            Some(flags) => flags,
            None => call.number(index, "flags")?,
        })
    };
    let result = match function {
        "search" => find(pattern, &call.string(0, "string")?, flags_at(1)?, Anchor::Search),
        "match" => find(pattern, &call.string(0, "string")?, flags_at(1)?, Anchor::Start),
        "fullmatch" => find(pattern, &call.string(0, "string")?, flags_at(1)?, Anchor::Full),
        "findall" => findall(pattern, &call.string(0, "string")?, flags_at(1)?),
        "sub" => sub(
            pattern,
            &call.string(0, "repl")?,
            &call.string(1, "string")?,
            usize::try_from(call.number(2, "count")?).unwrap_or(0),
            flags_at(3)?,
        ),
        "split" => split(
            pattern,
            &call.string(0, "string")?,
            usize::try_from(call.number(1, "maxsplit")?).unwrap_or(0),
            flags_at(2)?,
        ),
        _ => return Err(Error::from(ErrorKind::UnknownMethod)),
    }?;
    call.kwargs.assert_all_used()?;
    Ok(result)
}

/// `re.compile(pattern, flags)`.
#[derive(Debug)]
struct Pattern {
    pattern: String,
    flags: i64,
}

impl Object for Pattern {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "pattern" => Some(Value::from(self.pattern.clone())),
            "flags" => Some(Value::from(self.flags)),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        call_re(method, &self.pattern, Some(self.flags), args)
    }
}

/// The `re` module.
#[derive(Debug)]
struct Re;

impl Object for Re {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from(match key.as_str()? {
            "I" | "IGNORECASE" => IGNORECASE,
            "M" | "MULTILINE" => MULTILINE,
            "S" | "DOTALL" => DOTALL,
            "X" | "VERBOSE" => VERBOSE,
            "A" | "ASCII" | "U" | "UNICODE" => 0,
            _ => return None,
        }))
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "compile" => {
                let (pattern, flags): (String, Option<i64>) = from_args(args)?;
                let flags = flags.unwrap_or(0);
                compile(&pattern, flags)?;
                Ok(Value::from_object(Pattern { pattern, flags }))
            }
            "escape" => {
                let (text,): (String,) = from_args(args)?;
                Ok(Value::from(fancy_regex::escape(&text).into_owned()))
            }
            _ => {
                let (pattern, rest) = args
                    .split_first()
                    .ok_or_else(|| Error::new(ErrorKind::MissingArgument, format!("re.{method}() needs a pattern")))?;
                let pattern = match pattern.downcast_object_ref::<Pattern>() {
                    Some(compiled) => compiled.pattern.clone(),
                    None => pattern.to_string(),
                };
                call_re(method, &pattern, None, rest)
            }
        }
    }
}

// ---------------------------------------------------------------- itertools

fn items(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

fn tuple(values: impl IntoIterator<Item = Value>) -> Value {
    Value::from(values.into_iter().collect::<Vec<_>>())
}

fn product(args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let repeat: Option<usize> = kwargs.get("repeat")?;
    kwargs.assert_all_used()?;
    let pools: Vec<Vec<Value>> = positional.iter().map(items).collect::<Result<_, _>>()?;
    let pools: Vec<&Vec<Value>> = (0..repeat.unwrap_or(1)).flat_map(|_| pools.iter()).collect();
    let mut results: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in pools {
        results = results
            .iter()
            .flat_map(|prefix| {
                pool.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(List::value(results.into_iter().map(tuple).collect()))
}

fn chain(args: Rest<Value>) -> Result<Value, Error> {
    let mut all = Vec::new();
    for value in args.iter() {
        all.extend(items(value)?);
    }
    Ok(List::value(all))
}

/// Index combinations of `r` out of `n`, in lexicographic order;
/// `repeat` allows an index more than once.
fn index_combinations(n: usize, r: usize, repeat: bool) -> Vec<Vec<usize>> {
    let mut results = Vec::new();
    let mut current = Vec::with_capacity(r);
    fn walk(start: usize, n: usize, r: usize, repeat: bool, current: &mut Vec<usize>, results: &mut Vec<Vec<usize>>) {
        if current.len() == r {
            results.push(current.clone());
            return;
        }
        for index in start..n {
            current.push(index);
            walk(if repeat { index } else { index + 1 }, n, r, repeat, current, results);
            current.pop();
        }
    }
    walk(0, n, r, repeat, &mut current, &mut results);
    results
}

fn combinations_of(value: &Value, r: usize, repeat: bool) -> Result<Value, Error> {
    let pool = items(value)?;
    Ok(List::value(
        index_combinations(pool.len(), r, repeat)
            .into_iter()
            .map(|indices| tuple(indices.into_iter().map(|index| pool[index].clone())))
            .collect(),
    ))
}

fn permutations(value: Value, r: Option<usize>) -> Result<Value, Error> {
    let pool = items(&value)?;
    let r = r.unwrap_or(pool.len());
    let mut results = Vec::new();
    fn walk(pool: &[Value], r: usize, used: &mut Vec<bool>, current: &mut Vec<Value>, results: &mut Vec<Value>) {
        if current.len() == r {
            results.push(Value::from(current.clone()));
            return;
        }
        for index in 0..pool.len() {
            if used[index] {
                continue;
            }
            used[index] = true;
            current.push(pool[index].clone());
            walk(pool, r, used, current, results);
            current.pop();
            used[index] = false;
        }
    }
    if r <= pool.len() {
        walk(&pool, r, &mut vec![false; pool.len()], &mut Vec::new(), &mut results);
    }
    Ok(List::value(results))
}

fn itertools_module() -> Value {
    Value::from_iter([
        ("product", Value::from_function(product)),
        ("chain", Value::from_function(chain)),
        (
            "combinations",
            Value::from_function(|value: Value, r: usize| combinations_of(&value, r, false)),
        ),
        (
            "combinations_with_replacement",
            Value::from_function(|value: Value, r: usize| combinations_of(&value, r, true)),
        ),
        ("permutations", Value::from_function(permutations)),
    ])
}

/// The `modules` global.
pub fn modules() -> Value {
    Value::from_iter([
        ("datetime", datetime_module()),
        ("pytz", pytz_module()),
        ("re", Value::from_object(Re)),
        ("itertools", itertools_module()),
    ])
}

pub fn install(env: &mut Environment<'static>) {
    env.add_global("modules", modules());
}

#[cfg(test)]
mod tests {
    use super::super::test_render::{self, render};
    use super::*;

    fn error(template: &str) -> String {
        test_render::error(super::super::install, template)
    }

    #[test]
    fn datetimes_format_as_python() {
        let context = minijinja::context! {
            run_started_at => Value::from_object(DateTime::parse_rfc3339("2024-03-05T07:08:09.123456Z").unwrap_or_else(DateTime::now_utc)),
        };
        let mut env = Environment::new();
        super::super::install(&mut env);
        let rendered = env
            .render_str(
                "{{ run_started_at }}|{{ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f %z %Z') }}|{{ run_started_at.isoformat() }}|{{ run_started_at.year }}|{{ run_started_at.date() }}",
                context,
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            rendered,
            "2024-03-05 07:08:09.123456+00:00|2024-03-05 07:08:09.123456 +0000 UTC|2024-03-05T07:08:09.123456+00:00|2024|2024-03-05"
        );
        assert_eq!(
            render("{% set d = modules.datetime.datetime.strptime('2020-01-31', '%Y-%m-%d') %}{{ d }} {{ d.strftime('%d/%m/%y') }} {{ d.replace(day=1).day }} {{ d.tzinfo is none }}"),
            "2020-01-31 00:00:00 31/01/20 1 True"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime(2021, 2, 3, 4, 5) }} {{ modules.datetime.date(2021, 2, 3) }} {{ modules.datetime.timedelta(days=1, hours=2) }} {{ modules.datetime.timedelta(hours=36).days }}"),
            "2021-02-03 04:05:00 2021-02-03 1 day, 2:00:00 1"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime(2021, 1, 1, tzinfo=modules.pytz.utc).astimezone(modules.pytz.timezone('Etc/GMT+5')) }} {{ modules.datetime.datetime.now(modules.pytz.utc).tzinfo }}"),
            "2020-12-31 19:00:00-05:00 UTC"
        );
        assert!(error("{{ modules.pytz.timezone('Mars/Olympus') }}").contains("not in the tz database"));
        // As pytz: the zone's first offset when passed as tzinfo, the offset
        // in force with localize() and astimezone().
        assert_eq!(
            render("{% set la = modules.pytz.timezone('America/Los_Angeles') %}{{ modules.datetime.datetime(1997, 9, 29, 6, 14, tzinfo=la) }}|{{ la.localize(modules.datetime.datetime(1997, 9, 29, 6, 14)) }}|{{ la.localize(modules.datetime.datetime(1997, 1, 29, 6, 14)) }}|{{ modules.datetime.datetime(2020, 1, 1, tzinfo=modules.pytz.utc).astimezone(la) }}|{{ la.localize(modules.datetime.datetime(2021, 11, 7, 1, 30)) }}"),
            "1997-09-29 06:14:00-07:53|1997-09-29 06:14:00-07:00|1997-01-29 06:14:00-08:00|2019-12-31 16:00:00-08:00|2021-11-07 01:30:00-08:00"
        );
        assert!(render("{{ modules.datetime.datetime.utcnow().year > 2000 }}").contains("True"));
        assert_eq!(
            render("{{ modules.datetime.datetime(2021, 1, 2) > modules.datetime.datetime(2021, 1, 1) }}"),
            "True"
        );
    }

    #[test]
    fn regular_expressions_as_python() {
        assert_eq!(
            render(
                r"{% set m = modules.re.search('(\w+)@(?P<host>\w+)', 'mail: ann@example now') %}{{ m.group(0) }} {{ m.group(1) }} {{ m.group('host') }} {{ m.groups() | join(',') }} {{ m.start() }}"
            ),
            "ann@example ann example ann,example 6"
        );
        assert_eq!(
            render(r"{{ modules.re.match('b', 'abc') is none }} {{ modules.re.match('a', 'abc') is not none }}"),
            "True True"
        );
        assert_eq!(
            render(r"{{ modules.re.findall('\d+', 'a1b22c333') | join(',') }}"),
            "1,22,333"
        );
        assert_eq!(render(r"{{ modules.re.sub('(\w)(\d)', '\\2\\1', 'a1 b2') }}"), "1a 2b");
        assert_eq!(render(r"{{ modules.re.sub('x', '$', 'axb') }}"), "a$b");
        assert_eq!(render(r"{{ modules.re.split('[,;]', 'a,b;c') | join('|') }}"), "a|b|c");
        assert_eq!(
            render(
                r"{% set p = modules.re.compile('^A', modules.re.IGNORECASE) %}{{ p.match('abc') is not none }} {{ p.pattern }}"
            ),
            "True ^A"
        );
        assert_eq!(render(r"{{ modules.re.fullmatch('a+', 'aab') is none }}"), "True");
        // Look-around and backreferences, as Python has them (dbt-codegen's
        // `generate_model_import_ctes` ends a name at `(?=\s|$)`).
        assert_eq!(render(r"{{ modules.re.search('a(?=b)', 'cab').start() }}"), "1");
        assert_eq!(render(r"{{ modules.re.findall('(?<!x)y', 'xy ay') | length }}"), "1");
        assert_eq!(render(r"{{ modules.re.sub('(\\w)\\1', '_', 'aab') }}"), "_b");
        // As Python: a brace that starts no repetition is literal (dbt-codegen's
        // `{{\\s*ref` in a verbose pattern), and `{,2}` is at most two.
        assert_eq!(
            render("{{ modules.re.findall('(?ix) ({{\\\\s*ref\\\\(\\\\s*)  # the {{ ref( of a model\\n ([a-z]+)', 'from {{ ref(orders) }}') | map('join', '|') | join(',') }}"),
            "{{ ref(|orders"
        );
        assert_eq!(render("{{ modules.re.sub('a{,2}b', 'x', 'aaab') }}"), "ax");
        assert_eq!(render("{{ modules.re.sub('[[]', '(', 'a[b') }}"), "a(b");
    }

    #[test]
    fn itertools_as_python() {
        assert_eq!(
            render("{{ modules.itertools.product([1, 2], ['a', 'b']) | map('join') | join(',') }}"),
            "1a,1b,2a,2b"
        );
        assert_eq!(
            render("{{ modules.itertools.combinations([1, 2, 3], 2) | map('join') | join(',') }}"),
            "12,13,23"
        );
        assert_eq!(
            render("{{ modules.itertools.chain([1], [2, 3]) | join(',') }}"),
            "1,2,3"
        );
        assert_eq!(
            render("{{ modules.itertools.permutations([1, 2]) | map('join') | join(',') }}"),
            "12,21"
        );
        assert_eq!(
            render("{{ modules.itertools.product([0, 1], repeat=2) | length }}"),
            "4"
        );
    }
}
