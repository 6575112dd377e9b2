//! Phase 3, `graph`: the DAG of every resource (models, seeds, tests, analyses,
//! sources, exposures) on petgraph, with cycle detection and a deterministic
//! topological order.
//!
//! It does not decide what runs; selection is [`crate::select`] and scheduling is
//! [`crate::exec`].

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Diagnostic, Location};
use crate::manifest::Manifest;

/// One resource in the DAG.
#[derive(Debug, Clone)]
pub struct DagNode {
    pub unique_id: String,
    pub resource_type: String,
    pub file: String,
}

/// The DAG; edges run from parent to child.
#[derive(Debug)]
pub struct Dag {
    pub graph: DiGraph<DagNode, ()>,
    pub index: BTreeMap<String, NodeIndex>,
}

impl Dag {
    pub fn parents(&self, id: &str) -> Vec<&str> {
        self.neighbours(id, petgraph::Direction::Incoming)
    }

    pub fn children(&self, id: &str) -> Vec<&str> {
        self.neighbours(id, petgraph::Direction::Outgoing)
    }

    fn neighbours(&self, id: &str, direction: petgraph::Direction) -> Vec<&str> {
        let Some(index) = self.index.get(id) else {
            return Vec::new();
        };
        let mut found: Vec<&str> = self
            .graph
            .neighbors_directed(*index, direction)
            .map(|neighbour| self.graph[neighbour].unique_id.as_str())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Unique ids in topological order, ties broken by unique id.
    pub fn topological_order(&self) -> Vec<String> {
        let mut in_degree: BTreeMap<NodeIndex, usize> = self.graph.node_indices().map(|index| (index, 0)).collect();
        for edge in self.graph.raw_edges() {
            *in_degree.entry(edge.target()).or_default() += 1;
        }
        let mut ready: BTreeSet<(&str, NodeIndex)> = in_degree
            .iter()
            .filter(|(_, degree)| **degree == 0)
            .map(|(index, _)| (self.graph[*index].unique_id.as_str(), *index))
            .collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some(first) = ready.pop_first() {
            order.push(first.0.to_string());
            for child in self.graph.neighbors_directed(first.1, petgraph::Direction::Outgoing) {
                if let Some(degree) = in_degree.get_mut(&child) {
                    *degree -= 1;
                    if *degree == 0 {
                        ready.insert((self.graph[child].unique_id.as_str(), child));
                    }
                }
            }
        }
        order
    }

    /// Parent and child index lists in `ids` order, for selection.
    pub fn adjacency(&self, ids: &[String]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let position: BTreeMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(position, id)| (id.as_str(), position))
            .collect();
        let mut parents = vec![Vec::new(); ids.len()];
        let mut children = vec![Vec::new(); ids.len()];
        for edge in self.graph.raw_edges() {
            let parent = self.graph[edge.source()].unique_id.as_str();
            let child = self.graph[edge.target()].unique_id.as_str();
            if let (Some(&parent), Some(&child)) = (position.get(parent), position.get(child)) {
                parents[child].push(parent);
                children[parent].push(child);
            }
        }
        for list in parents.iter_mut().chain(children.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        (parents, children)
    }
}

/// Builds the DAG and rejects cycles, listing every member with its file.
pub fn build(manifest: &Manifest) -> Result<Dag, Diagnostic> {
    let mut graph = DiGraph::new();
    let mut index = BTreeMap::new();
    let mut add = |graph: &mut DiGraph<DagNode, ()>, unique_id: &str, resource_type: &str, file: &str| {
        let node_index = graph.add_node(DagNode {
            unique_id: unique_id.to_string(),
            resource_type: resource_type.to_string(),
            file: file.to_string(),
        });
        index.insert(unique_id.to_string(), node_index);
    };
    for node in manifest.nodes.values() {
        add(
            &mut graph,
            &node.unique_id,
            node.resource_type.as_str(),
            &node.original_file_path,
        );
    }
    for source in manifest.sources.values() {
        add(&mut graph, &source.unique_id, "source", &source.original_file_path);
    }
    for exposure in manifest.exposures.values() {
        add(
            &mut graph,
            &exposure.unique_id,
            "exposure",
            &exposure.original_file_path,
        );
    }
    for (child, parents) in manifest.parent_map() {
        let Some(&child_index) = index.get(&child) else {
            continue;
        };
        for parent in parents {
            if let Some(&parent_index) = index.get(&parent) {
                graph.add_edge(parent_index, child_index, ());
            }
        }
    }
    let dag = Dag { graph, index };
    if let Some(cycle) = find_cycle(&dag) {
        let names: Vec<String> = cycle.iter().map(|index| dag.graph[*index].unique_id.clone()).collect();
        let mut path = names.clone();
        if let Some(first) = names.first() {
            path.push(first.clone());
        }
        let first_file = cycle
            .first()
            .map(|index| dag.graph[*index].file.clone())
            .unwrap_or_default();
        let mut diagnostic = Diagnostic::error(format!("the project has a cycle: {}", path.join(" -> ")));
        // Point at the ref() that closes the cycle: the first member refers to the last.
        let closing = match (cycle.first(), cycle.last()) {
            (Some(first), Some(last)) => manifest
                .nodes
                .get(&dag.graph[*first].unique_id)
                .zip(manifest.nodes.get(&dag.graph[*last].unique_id)),
            _ => None,
        };
        let call = closing.and_then(|(child, parent)| {
            crate::render::locate_call(&child.raw_code, "ref", std::slice::from_ref(&parent.name))
                .map(|(offset, length)| (child, parent, offset, length))
        });
        diagnostic = match call {
            Some((child, parent, offset, length)) => diagnostic
                .at(
                    Location::from_offset(&child.original_file_path, &child.raw_code, offset, length),
                    Some(&child.raw_code),
                )
                .label(format!("`{}` refers to `{}` here", child.name, parent.name)),
            None => diagnostic.in_file(first_file),
        };
        for index in &cycle {
            let node = &dag.graph[*index];
            diagnostic = diagnostic.note(format!("`{}` is defined in {}", node.unique_id, node.file));
        }
        return Err(
            diagnostic.hint("a model cannot depend on itself, directly or through others: remove one of these refs")
        );
    }
    Ok(dag)
}

/// One cycle, in dependency order, starting from its smallest unique id.
fn find_cycle(dag: &Dag) -> Option<Vec<NodeIndex>> {
    let components = petgraph::algo::tarjan_scc(&dag.graph);
    let mut cyclic: Vec<Vec<NodeIndex>> = components
        .into_iter()
        .filter(|component| {
            component.len() > 1
                || component
                    .first()
                    .is_some_and(|node| dag.graph.contains_edge(*node, *node))
        })
        .collect();
    cyclic.sort_by_key(|component| component.iter().map(|index| dag.graph[*index].unique_id.clone()).min());
    let component = cyclic.into_iter().next()?;
    let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
    let start = *component
        .iter()
        .min_by_key(|index| dag.graph[**index].unique_id.clone())?;
    // Breadth-first search inside the component for the shortest path back to start.
    let mut previous: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(current) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = dag
            .graph
            .neighbors_directed(current, petgraph::Direction::Outgoing)
            .filter(|node| members.contains(node))
            .collect();
        next.sort_by_key(|index| dag.graph[*index].unique_id.clone());
        for neighbour in next {
            if neighbour == start {
                let mut path = vec![current];
                let mut cursor = current;
                while let Some(&before) = previous.get(&cursor) {
                    path.push(before);
                    cursor = before;
                }
                path.reverse();
                return Some(path);
            }
            if let std::collections::btree_map::Entry::Vacant(entry) = previous.entry(neighbour) {
                if neighbour != start {
                    entry.insert(current);
                    queue.push_back(neighbour);
                }
            }
        }
    }
    Some(component)
}
