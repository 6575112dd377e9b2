//! dbt's `graph` context value: the project's nodes, sources and exposures
//! keyed by unique id, as dbt's `flat_graph`.
//!
//! While parsing, dbt's graph is still empty, and so is this one (every key
//! present, no entries). Once the manifest is built the renderer fills it for
//! compile and run time with [`GraphSlot::set`]; templates that read `graph`
//! are the only reason to build it, so [`mentions_graph`] lets the renderer
//! skip the work for projects that never do.
//!
//! `selected_resources` lives in the same slot: the unique ids `--select`
//! chose, empty while parsing, set once the plan is made (dbt's
//! `selected_resources`).

use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

/// The keys of dbt's flat graph.
const KEYS: &[&str] = &[
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "groups",
    "semantic_models",
    "saved_queries",
];

/// Holds the graph every template's `graph` reads.
#[derive(Debug)]
pub struct GraphSlot {
    value: RwLock<Value>,
    selected: RwLock<Vec<String>>,
}

impl Default for GraphSlot {
    fn default() -> Self {
        GraphSlot {
            value: RwLock::new(empty()),
            selected: RwLock::new(Vec::new()),
        }
    }
}

fn empty() -> Value {
    Value::from_iter(
        KEYS.iter()
            .map(|key| (*key, Value::from_iter(std::iter::empty::<(String, Value)>()))),
    )
}

impl GraphSlot {
    /// Sets the graph from the manifest's JSON (`nodes`, `sources`,
    /// `exposures`); a key it lacks stays empty.
    pub fn set(&self, manifest: &serde_json::Value) {
        let graph = Value::from_iter(KEYS.iter().map(|key| {
            let entries = manifest.get(*key).map(Value::from_serialize);
            (
                *key,
                entries.unwrap_or_else(|| Value::from_iter(std::iter::empty::<(String, Value)>())),
            )
        }));
        *self.value.write().unwrap_or_else(std::sync::PoisonError::into_inner) = graph;
    }

    /// Sets what `selected_resources` lists: the planned nodes' unique ids.
    pub fn set_selected<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        *self.selected.write().unwrap_or_else(std::sync::PoisonError::into_inner) = ids.into_iter().cloned().collect();
    }

    fn current(&self) -> Value {
        self.value
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The `graph` global: a view of the slot's current graph.
#[derive(Debug)]
pub struct Graph(pub Arc<GraphSlot>);

impl Object for Graph {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0
            .current()
            .get_item(key)
            .ok()
            .filter(|value| !value.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(KEYS)
    }
}

/// The `selected_resources` global: the unique ids of the selected nodes.
#[derive(Debug)]
pub struct SelectedResources(pub Arc<GraphSlot>);

impl Object for SelectedResources {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = usize::try_from(key.as_i64()?).ok()?;
        let selected = self
            .0
            .selected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        selected.get(index).map(|id| Value::from(id.clone()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let selected = self
            .0
            .selected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Enumerator::Values(selected.iter().map(|id| Value::from(id.clone())).collect())
    }
}

/// Whether any of `sources` reads `graph`.
pub fn mentions_graph<'a>(mut sources: impl Iterator<Item = &'a str>) -> bool {
    sources.any(|source| source.contains("graph"))
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    use super::*;

    #[test]
    fn empty_while_parsing_then_filled() {
        let slot = Arc::new(GraphSlot::default());
        let mut env = Environment::new();
        env.add_global("graph", Value::from_object(Graph(Arc::clone(&slot))));
        let template = "{{ graph.nodes | length }} {% for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') %}{{ node.name }}{% endfor %}";
        let render = |env: &Environment| env.render_str(template, ()).unwrap_or_else(|error| panic!("{error:#}"));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        assert_eq!(render(&env), "0 ");
        slot.set(&serde_json::json!({
            "nodes": {
                "model.shop.orders": {"name": "orders", "resource_type": "model"},
                "seed.shop.raw": {"name": "raw", "resource_type": "seed"},
            },
            "sources": {},
        }));
        assert_eq!(render(&env), "2 orders");
        assert!(mentions_graph(["select 1", "{{ graph.nodes }}"].into_iter()));
    }

    #[test]
    fn selected_resources_are_empty_until_planned() {
        let slot = Arc::new(GraphSlot::default());
        let mut env = Environment::new();
        env.add_global(
            "selected_resources",
            Value::from_object(SelectedResources(Arc::clone(&slot))),
        );
        let template =
            "{{ selected_resources | length }}{% if 'model.shop.orders' in selected_resources %} orders{% endif %}";
        assert_eq!(env.render_str(template, ()).expect("renders"), "0");
        slot.set_selected(&["model.shop.orders".to_string(), "test.shop.t".to_string()]);
        assert_eq!(env.render_str(template, ()).expect("renders"), "2 orders");
    }
}
