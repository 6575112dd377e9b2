//! One message of `dvt produce` as it is built: a JSON object written
//! field by field into a reused buffer, and the message key, taken from the
//! value of one named field as it goes by.
//!
//! Building the text directly (rather than a `serde_json::Value`) keeps a
//! generated event to one pass and no allocation, and lets numbers from a
//! CSV file keep their exact digits.

use std::fmt::Write as _;

use chrono::DateTime;

/// A JSON object being written, and its key.
#[derive(Debug, Default)]
pub struct Record {
    payload: String,
    key: String,
    has_key: bool,
    key_field: Option<String>,
    first: bool,
}

impl Record {
    /// A record whose key is the value of `key_field` (no key when `None`,
    /// or when the field is null).
    pub fn new(key_field: Option<&str>) -> Self {
        Self {
            key_field: key_field.map(str::to_string),
            ..Self::default()
        }
    }

    /// Starts the next object, forgetting the last.
    pub fn begin(&mut self) {
        self.payload.clear();
        self.payload.push('{');
        self.key.clear();
        self.has_key = false;
        self.first = true;
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.payload.push('}');
    }

    /// The JSON text of the object.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The message key, when the key field was written and not null.
    pub fn key(&self) -> Option<&str> {
        self.has_key.then_some(self.key.as_str())
    }

    pub fn null(&mut self, name: &str) {
        self.name(name);
        self.payload.push_str("null");
    }

    pub fn boolean(&mut self, name: &str, value: bool) {
        self.name(name);
        let text = if value { "true" } else { "false" };
        self.payload.push_str(text);
        self.keep_key(name, text);
    }

    pub fn integer(&mut self, name: &str, value: i64) {
        self.name(name);
        let start = self.payload.len();
        let _ = write!(self.payload, "{value}");
        self.keep_key_from(name, start);
    }

    /// An amount of money given in cents, written with two decimals.
    pub fn cents(&mut self, name: &str, cents: i64) {
        self.name(name);
        let start = self.payload.len();
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        let _ = write!(self.payload, "{sign}{}.{:02}", cents / 100, cents % 100);
        self.keep_key_from(name, start);
    }

    /// A number written as given: `text` must be a JSON number (see
    /// [`is_json_number`]).
    pub fn number_text(&mut self, name: &str, text: &str) {
        debug_assert!(is_json_number(text), "`{text}` is not a JSON number");
        self.name(name);
        self.payload.push_str(text);
        self.keep_key(name, text);
    }

    pub fn text(&mut self, name: &str, value: &str) {
        self.name(name);
        push_json_string(&mut self.payload, value);
        self.keep_key(name, value);
    }

    /// A UTC time from seconds since the epoch, as RFC 3339 (`2006-02-15T09:00:00Z`).
    pub fn timestamp(&mut self, name: &str, seconds: i64) {
        match DateTime::from_timestamp(seconds, 0) {
            Some(time) => {
                self.name(name);
                let start = self.payload.len() + 1;
                let _ = write!(self.payload, "\"{}\"", time.format("%Y-%m-%dT%H:%M:%SZ"));
                let end = self.payload.len() - 1;
                self.keep_key_range(name, start, end);
            }
            None => self.null(name),
        }
    }

    fn name(&mut self, name: &str) {
        if !self.first {
            self.payload.push(',');
        }
        self.first = false;
        push_json_string(&mut self.payload, name);
        self.payload.push(':');
    }

    fn keep_key(&mut self, name: &str, text: &str) {
        if self.key_field.as_deref() == Some(name) {
            self.key.clear();
            self.key.push_str(text);
            self.has_key = true;
        }
    }

    fn keep_key_from(&mut self, name: &str, start: usize) {
        self.keep_key_range(name, start, self.payload.len());
    }

    fn keep_key_range(&mut self, name: &str, start: usize, end: usize) {
        if self.key_field.as_deref() == Some(name) {
            self.key.clear();
            self.key.push_str(&self.payload[start..end]);
            self.has_key = true;
        }
    }
}

/// Appends `text` as a JSON string, escaping quotes, backslashes and
/// control characters.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (index, character) in text.char_indices() {
        let escape = match character {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            control if (control as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&text[plain_from..index]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", character as u32);
        } else {
            out.push_str(escape);
        }
        plain_from = index + character.len_utf8();
    }
    out.push_str(&text[plain_from..]);
    out.push('"');
}

/// Whether `text` is a number in JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = usize::from(bytes.first() == Some(&b'-'));
    let digits = |index: &mut usize| {
        let start = *index;
        while bytes.get(*index).is_some_and(u8::is_ascii_digit) {
            *index += 1;
        }
        *index - start
    };
    let integer_start = index;
    let integer_digits = digits(&mut index);
    if integer_digits == 0 || (integer_digits > 1 && bytes[integer_start] == b'0') {
        return false;
    }
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        if digits(&mut index) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'+' | b'-')) {
            index += 1;
        }
        if digits(&mut index) == 0 {
            return false;
        }
    }
    index == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_a_json_object_with_its_key_taken_from_a_field() {
        let mut record = Record::new(Some("rental_id"));
        record.begin();
        record.text("event_type", "rental \"created\"\n\u{1}");
        record.integer("rental_id", 20_001);
        record.cents("amount", 499);
        record.cents("refund", -5);
        record.null("return_date");
        record.boolean("late", false);
        record.number_text("score", "1.50e3");
        record.timestamp("rental_date", 1_139_994_000);
        record.end();
        assert_eq!(record.key(), Some("20001"));
        let value: serde_json::Value = serde_json::from_str(record.payload()).expect("valid JSON");
        assert_eq!(
            value,
            serde_json::json!({
                "event_type": "rental \"created\"\n\u{1}",
                "rental_id": 20001,
                "amount": 4.99,
                "refund": -0.05,
                "return_date": null,
                "late": false,
                "score": 1500.0,
                "rental_date": "2006-02-15T09:00:00Z",
            })
        );
        assert!(record.payload().contains("\"amount\":4.99,"), "{}", record.payload());

        record.begin();
        record.timestamp("rental_id", 0);
        record.end();
        assert_eq!(record.payload(), r#"{"rental_id":"1970-01-01T00:00:00Z"}"#);
        assert_eq!(record.key(), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn a_null_or_missing_key_field_gives_no_key() {
        let mut record = Record::new(Some("customer_id"));
        record.begin();
        record.null("customer_id");
        record.end();
        assert_eq!(record.key(), None);
        let mut unkeyed = Record::new(None);
        unkeyed.begin();
        unkeyed.integer("customer_id", 7);
        unkeyed.end();
        assert_eq!(unkeyed.key(), None);
        assert_eq!(unkeyed.payload(), r#"{"customer_id":7}"#);
    }

    #[test]
    fn json_numbers_are_recognised_by_the_json_grammar() {
        for number in ["0", "-0", "7", "-12", "4.99", "4.990", "1e5", "2.5E-3", "-1.0e+10"] {
            assert!(is_json_number(number), "{number}");
        }
        for text in [
            "", "-", "007", "01.5", ".5", "5.", "1e", "1e+", "+1", "NaN", "inf", "1,000", "12a", " 1",
        ] {
            assert!(!is_json_number(text), "{text}");
        }
    }
}
