//! Python's `set`, as dbt's `set()` returns it: distinct items, kept in the
//! order first seen so that output is deterministic, but compared as a set:
//! `set(a) == set(b)` whatever order the items came in (dbt_utils' `equality`
//! compares a model's columns with another's this way).

use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{from_args, DynObject, Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

#[derive(Debug, Default)]
pub struct Set {
    items: Mutex<Vec<Value>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Set {
    /// The distinct values of `items`, in first-seen order.
    pub fn value(items: impl IntoIterator<Item = Value>) -> Value {
        let mut distinct: Vec<Value> = Vec::new();
        for item in items {
            if !distinct.contains(&item) {
                distinct.push(item);
            }
        }
        Value::from_object(Set {
            items: Mutex::new(distinct),
        })
    }

    fn snapshot(&self) -> Vec<Value> {
        lock(&self.items).clone()
    }

    fn sorted(&self) -> Vec<Value> {
        let mut items = self.snapshot();
        items.sort();
        items
    }
}

fn items_of(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

impl Object for Set {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.snapshot())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.items).len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !lock(&self.items).is_empty()
    }

    /// Equal when both hold the same items, in any order.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Set>()?;
        Some(self.sorted().cmp(&other.sorted()))
    }

    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let none = Value::from(());
        let with = |other: &Value, keep: &dyn Fn(bool) -> bool| -> Result<Vec<Value>, Error> {
            let other = items_of(other)?;
            Ok(self
                .snapshot()
                .into_iter()
                .filter(|item| keep(other.contains(item)))
                .collect())
        };
        match method {
            "add" => {
                let (item,): (Value,) = from_args(args)?;
                let mut items = lock(&self.items);
                if !items.contains(&item) {
                    items.push(item);
                }
                Ok(none)
            }
            "update" => {
                let (other,): (Value,) = from_args(args)?;
                let extra = items_of(&other)?;
                let mut items = lock(&self.items);
                for item in extra {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                Ok(none)
            }
            "discard" | "remove" => {
                let (item,): (Value,) = from_args(args)?;
                let mut items = lock(&self.items);
                match items.iter().position(|candidate| *candidate == item) {
                    Some(index) => {
                        items.remove(index);
                        Ok(none)
                    }
                    None if method == "discard" => Ok(none),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{item} is not in the set"),
                    )),
                }
            }
            "union" => {
                let (other,): (Value,) = from_args(args)?;
                Ok(Set::value(self.snapshot().into_iter().chain(items_of(&other)?)))
            }
            "intersection" => {
                let (other,): (Value,) = from_args(args)?;
                Ok(Set::value(with(&other, &|found| found)?))
            }
            "difference" => {
                let (other,): (Value,) = from_args(args)?;
                Ok(Set::value(with(&other, &|found| !found)?))
            }
            "issubset" => {
                let (other,): (Value,) = from_args(args)?;
                Ok(Value::from(with(&other, &|found| !found)?.is_empty()))
            }
            "issuperset" => {
                let (other,): (Value,) = from_args(args)?;
                let mine = self.snapshot();
                Ok(Value::from(items_of(&other)?.iter().all(|item| mine.contains(item))))
            }
            "copy" => {
                let () = from_args(args)?;
                Ok(Set::value(self.snapshot()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    /// As Python prints a set: `{'a', 'b'}`, or `set()` when empty.
    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.snapshot();
        if items.is_empty() {
            return formatter.write_str("set()");
        }
        let shown: Vec<String> = items
            .iter()
            .map(|item| match item.as_str() {
                Some(text) => format!("'{text}'"),
                None => item.to_string(),
            })
            .collect();
        write!(formatter, "{{{}}}", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_function("set", |value: Value| -> Result<Value, Error> {
            Ok(Set::value(items_of(&value)?))
        });
        env.render_str(template, ()).expect("renders")
    }

    #[test]
    fn sets_compare_without_order() {
        assert_eq!(render("{{ set(['a', 'b', 'a']) == set(['b', 'a']) }}"), "True");
        assert_eq!(render("{{ set(['a', 'b']) != set(['a', 'c']) }}"), "True");
        assert_eq!(render("{{ set(['a', 'b', 'a']) }}"), "{'a', 'b'}");
        assert_eq!(render("{{ 'b' in set(['a', 'b']) }} {{ set([]) | length }}"), "True 0");
    }

    #[test]
    fn sets_change_in_place_and_combine() {
        assert_eq!(
            render("{% set s = set(['a']) %}{% do s.add('b') %}{% do s.update(['a', 'c']) %}{{ s }}"),
            "{'a', 'b', 'c'}"
        );
        assert_eq!(render("{{ set(['a', 'b']).difference(['b']) }}"), "{'a'}");
        assert_eq!(render("{{ set(['a']).issubset(['a', 'b']) }}"), "True");
    }
}
