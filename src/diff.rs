//! `dvt diff`: what changed since another run, and what each change touches
//! downstream, as text for a terminal or as Markdown for a pull-request comment.
//!
//! It reports a [`Comparison`] made by [`crate::state`] over the DAG; it does
//! not compare anything itself. Resources are listed layer by layer (seeds and
//! sources, then what reads them, and so on), by unique id within a layer, so
//! the same change always gives the same report.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use crate::graph::Dag;
use crate::manifest::Manifest;
use crate::state::{Change, Comparison, Removed};

/// The order resource types are listed in, with their plurals.
const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("seed", "seeds"),
    ("source", "sources"),
    ("model", "models"),
    ("snapshot", "snapshots"),
    ("analysis", "analyses"),
    ("exposure", "exposures"),
    ("test", "tests"),
];

/// One new or modified resource.
#[derive(Debug)]
struct Entry {
    resource_type: String,
    name: String,
    /// `new`, or `modified: body, configs`.
    change: String,
    /// Every descendant, by resource type, as display names.
    downstream: Downstream,
}

/// Resources grouped by type; tests are only counted when shown.
#[derive(Debug, Default)]
struct Downstream(BTreeMap<usize, BTreeSet<String>>);

impl Downstream {
    fn insert(&mut self, resource_type: &str, name: String) {
        let rank = RESOURCE_TYPES
            .iter()
            .position(|(known, _)| *known == resource_type)
            .unwrap_or(RESOURCE_TYPES.len());
        self.0.entry(rank).or_default().insert(name);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `2 models, 3 tests`.
    fn counts(&self) -> String {
        self.groups()
            .map(|(resource_type, names)| count(names.len(), resource_type))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `models: a, b; tests: 3`, with each name passed through `quote`.
    fn listing(&self, quote: &dyn Fn(&str) -> String) -> String {
        self.groups()
            .map(|(resource_type, names)| {
                let plural = plural(resource_type);
                if resource_type == "test" {
                    format!("{plural}: {}", names.len())
                } else {
                    let names: Vec<String> = names.iter().map(|name| quote(name)).collect();
                    format!("{plural}: {}", names.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn groups(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.0.iter().map(|(rank, names)| {
            let resource_type = RESOURCE_TYPES.get(*rank).map_or("other", |(name, _)| *name);
            (resource_type, names)
        })
    }
}

fn plural(resource_type: &str) -> &str {
    RESOURCE_TYPES
        .iter()
        .find(|(known, _)| *known == resource_type)
        .map_or(resource_type, |(_, plural)| *plural)
}

fn count(count: usize, resource_type: &str) -> String {
    if count == 1 {
        format!("1 {resource_type}")
    } else {
        format!("{count} {}", plural(resource_type))
    }
}

/// The changes since another run, ready to print.
#[derive(Debug)]
pub struct Report {
    /// The manifest compared with, as shown to the user.
    state: String,
    entries: Vec<Entry>,
    removed: Vec<Removed>,
    /// The changed resources and all their descendants: what
    /// `--select state:modified+` selects.
    affected: Downstream,
}

impl Report {
    pub fn new(manifest: &Manifest, dag: &Dag, comparison: &Comparison, state: &str) -> Report {
        let describe = |id: &str| -> Option<(String, String)> {
            if let Some(node) = manifest.nodes.get(id) {
                Some((node.resource_type.as_str().to_string(), node.name.clone()))
            } else if let Some(source) = manifest.sources.get(id) {
                Some(("source".into(), format!("{}.{}", source.source_name, source.name)))
            } else {
                manifest
                    .exposures
                    .get(id)
                    .map(|exposure| ("exposure".into(), exposure.name.clone()))
            }
        };
        let mut entries = Vec::new();
        let mut affected = Downstream::default();
        for id in layered_order(dag) {
            let change = match comparison.changes.get(&id) {
                Some(Change::New) => "new".to_string(),
                Some(change @ Change::Modified(_)) => {
                    let kinds: Vec<&str> = change.modifications().map(|kind| kind.as_str()).collect();
                    format!("modified: {}", kinds.join(", "))
                }
                _ => continue,
            };
            let Some((resource_type, name)) = describe(&id) else {
                continue;
            };
            let mut downstream = Downstream::default();
            for descendant in descendants(dag, &id) {
                if let Some((resource_type, name)) = describe(descendant) {
                    affected.insert(&resource_type, name.clone());
                    downstream.insert(&resource_type, name);
                }
            }
            affected.insert(&resource_type, name.clone());
            entries.push(Entry {
                resource_type,
                name,
                change,
                downstream,
            });
        }
        Report {
            state: state.to_string(),
            entries,
            removed: comparison.removed.values().cloned().collect(),
            affected,
        }
    }

    fn summary(&self) -> String {
        let new = self.entries.iter().filter(|entry| entry.change == "new").count();
        format!(
            "{new} new, {} modified, {} removed",
            self.entries.len() - new,
            self.removed.len()
        )
    }

    /// Plain text, one resource a line, each followed by its downstream impact.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.entries.is_empty() && self.removed.is_empty() {
            let _ = writeln!(out, "No changes compared with `{}`.", self.state);
            return out;
        }
        let _ = writeln!(out, "Compared with `{}`: {}.", self.state, self.summary());
        let type_width = self
            .entries
            .iter()
            .map(|entry| entry.resource_type.len())
            .chain(self.removed.iter().map(|removed| removed.resource_type.len()))
            .max()
            .unwrap_or(0);
        let name_width = self
            .entries
            .iter()
            .map(|entry| entry.name.len())
            .chain(self.removed.iter().map(|removed| removed.name.len()))
            .max()
            .unwrap_or(0);
        out.push('\n');
        for entry in &self.entries {
            let _ = writeln!(
                out,
                "{:<type_width$}  {:<name_width$}  {}",
                entry.resource_type, entry.name, entry.change
            );
            if !entry.downstream.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<type_width$}  downstream: {}",
                    "",
                    entry.downstream.listing(&|name| name.to_string())
                );
            }
        }
        for removed in &self.removed {
            let _ = writeln!(
                out,
                "{:<type_width$}  {:<name_width$}  removed",
                removed.resource_type, removed.name
            );
        }
        if !self.affected.is_empty() {
            let _ = writeln!(
                out,
                "\nAffected, as `--select state:modified+` selects them: {}.",
                self.affected.counts()
            );
        }
        out
    }

    /// Markdown for a pull-request comment: a table of the changes, then the
    /// downstream impact of each in a collapsed section.
    pub fn markdown(&self) -> String {
        let mut out = String::from("<!-- dvt-diff -->\n### dvt diff\n\n");
        if self.entries.is_empty() && self.removed.is_empty() {
            let _ = writeln!(out, "No changes compared with `{}`.", self.state);
            return out;
        }
        let _ = writeln!(out, "Compared with `{}`: {}.\n", self.state, self.summary());
        out.push_str("| Resource | Type | Change | Downstream |\n|---|---|---|---|\n");
        for entry in &self.entries {
            let downstream = if entry.downstream.is_empty() {
                "none".to_string()
            } else {
                entry.downstream.counts()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                code(&entry.name),
                entry.resource_type,
                entry.change,
                downstream
            );
        }
        for removed in &self.removed {
            let _ = writeln!(
                out,
                "| {} | {} | removed | |",
                code(&removed.name),
                removed.resource_type
            );
        }
        if !self.affected.is_empty() {
            let _ = writeln!(
                out,
                "\n**Affected** (`--select state:modified+`): {}.",
                self.affected.counts()
            );
        }
        let with_impact: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|entry| !entry.downstream.is_empty())
            .collect();
        if !with_impact.is_empty() {
            out.push_str("\n<details>\n<summary>Downstream impact</summary>\n\n");
            for entry in with_impact {
                let _ = writeln!(
                    out,
                    "- {} ({}): {}",
                    code(&entry.name),
                    entry.resource_type,
                    entry.downstream.listing(&code)
                );
            }
            out.push_str("\n</details>\n");
        }
        out
    }
}

/// A name as inline code in a Markdown table cell.
fn code(name: &str) -> String {
    format!("`{}`", name.replace('`', "'").replace('|', "\\|"))
}

/// Every resource, by its layer (the longest path from a root), then by unique id.
fn layered_order(dag: &Dag) -> Vec<String> {
    let mut layers: BTreeMap<String, usize> = BTreeMap::new();
    for id in dag.topological_order() {
        let layer = dag
            .parents(&id)
            .iter()
            .filter_map(|parent| layers.get(*parent))
            .map(|layer| layer + 1)
            .max()
            .unwrap_or(0);
        layers.insert(id, layer);
    }
    let mut order: Vec<(usize, String)> = layers.into_iter().map(|(id, layer)| (layer, id)).collect();
    order.sort();
    order.into_iter().map(|(_, id)| id).collect()
}

/// Every descendant of `id`, in breadth-first order.
fn descendants<'a>(dag: &'a Dag, id: &str) -> Vec<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = dag.children(id).into_iter().collect();
    let mut found = Vec::new();
    while let Some(next) = queue.pop_front() {
        if seen.insert(next) {
            found.push(next);
            queue.extend(dag.children(next));
        }
    }
    found
}
