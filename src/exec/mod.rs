//! Phase 5, `exec::run`: schedules the planned nodes on an [`Adapter`] with N
//! threads and records a result for each.
//!
//! A node starts as soon as every planned parent has succeeded, not level by
//! level. A failed node skips only its descendants; `--fail-fast` stops
//! everything. Ctrl-C cancels the running queries on the server; every
//! materialization runs in a transaction, so nothing half-built is left. A
//! second Ctrl-C exits at once, without waiting for the queries to end.
//!
//! What one node does (build a model, load a seed, run a test) is in
//! [`node`]; results, progress lines and `run_results.json` are in [`results`].

mod clone;
pub mod driver;
pub mod junit;
mod microbatch;
pub mod node;
pub mod refresh;
pub mod results;
mod snapshot;
pub mod warehouse;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::adapter::Adapter;
use crate::graph::Dag;
use crate::manifest::ResourceType;
use crate::output::Printer;
use crate::plan::Plan;
use crate::project::Project;
use crate::render::Rendered;
use results::{NodeResult, RunResults};

/// The exit code after a second Ctrl-C, as a shell reports death by SIGINT.
pub const EXIT_FORCED: i32 = 130;

/// Which command is running; decides what each node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Run,
    Test,
    Seed,
    Build,
    Export,
    /// `dvt clone`: each model and seed as a view of its `--state` relation.
    Clone,
    Snapshot,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Test => "test",
            Command::Seed => "seed",
            Command::Build => "build",
            Command::Export => "export",
            Command::Clone => "clone",
            Command::Snapshot => "snapshot",
        }
    }

    /// Whether a node of this type does anything under this command.
    pub fn executes(self, resource_type: ResourceType) -> bool {
        match self {
            Command::Run => resource_type == ResourceType::Model,
            Command::Test => matches!(resource_type, ResourceType::Test | ResourceType::UnitTest),
            Command::Seed => resource_type == ResourceType::Seed,
            Command::Build => matches!(
                resource_type,
                ResourceType::Model
                    | ResourceType::Seed
                    | ResourceType::Test
                    | ResourceType::Export
                    | ResourceType::UnitTest
                    | ResourceType::Snapshot
            ),
            Command::Export => resource_type == ResourceType::Export,
            Command::Clone => matches!(resource_type, ResourceType::Model | ResourceType::Seed),
            Command::Snapshot => resource_type == ResourceType::Snapshot,
        }
    }
}

/// Settings of one execution.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub command: Command,
    pub threads: usize,
    pub fail_fast: bool,
    pub full_refresh: bool,
    pub store_failures: bool,
    /// Where `--junit` writes the results as JUnit XML.
    pub junit: Option<std::path::PathBuf>,
    /// For `dvt clone`: the relation of each node in the `--state` manifest.
    pub state_relations: BTreeMap<String, crate::manifest::Relation>,
    /// What bounds the batches of microbatch models.
    pub microbatch: crate::microbatch::Window,
    /// When the invocation started, as `run_results.json` records it.
    pub invocation_started_at: String,
}

/// Everything a node needs while it runs; shared by the worker tasks.
pub struct Context {
    pub adapter: Arc<dyn Adapter>,
    pub rendered: Rendered,
    pub project: Project,
    pub printer: Arc<Printer>,
    pub options: ExecOptions,
    pub total: usize,
    pub counter: AtomicUsize,
    pub cancelled: AtomicBool,
    pub invocation_id: String,
    /// The target's S3 settings, for exports; `None` when it has none.
    pub lake: Option<crate::lake::LakeSettings>,
}

/// Runs the plan and returns a result for every planned node that executes.
pub async fn run(context: Arc<Context>, plan: &Plan, dag: &Dag) -> RunResults {
    let started = Instant::now();
    let manifest = &context.rendered.manifest;
    let command = context.options.command;
    let executable = executable(manifest, plan, command);
    let mut schedule = Schedule::new(plan, dependencies(&context, plan, dag));

    let mut results: BTreeMap<String, NodeResult> = BTreeMap::new();
    let mut running = tokio::task::JoinSet::new();
    let threads = context.options.threads.max(1);
    let mut stop = false;
    // Every Ctrl-C, not just the first: a second one forces the exit when
    // the cancelled queries do not stop.
    // Once stopping, the running statements are cancelled again at this
    // interval until the running nodes have ended.
    const RECANCEL_INTERVAL: Duration = Duration::from_millis(200);
    let (interrupt_sender, mut interrupts) = tokio::sync::mpsc::unbounded_channel::<()>();
    let listener = tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if interrupt_sender.send(()).is_err() {
                break;
            }
        }
    });

    loop {
        while !stop && running.len() < threads {
            let Some(id) = schedule.next_ready() else { break };
            if let Some(reason) = schedule.skipped_because.get(&id) {
                let result = NodeResult::skipped(&id, reason);
                finish(&context, &mut results, &executable, result);
                schedule.release(&id, false);
                continue;
            }
            if !executable.contains(&id) {
                schedule.release(&id, true);
                continue;
            }
            if manifest.exposures.contains_key(&id) {
                finish(&context, &mut results, &executable, NodeResult::no_op(&id));
                schedule.release(&id, true);
                continue;
            }
            let task_context = Arc::clone(&context);
            let task_id = id.clone();
            // A panic becomes this node's error, not a lost node.
            running.spawn(async move {
                let execution = std::panic::AssertUnwindSafe(node::execute(&task_context, &task_id));
                match futures::FutureExt::catch_unwind(execution).await {
                    Ok(result) => result,
                    Err(panic) => NodeResult::crashed(&task_id, &panic_message(panic.as_ref())),
                }
            });
        }
        if running.is_empty() {
            if schedule.ready.is_empty() || stop {
                break;
            }
            continue;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { continue };
                let result = match joined {
                    Ok(result) => result,
                    // Tasks are never aborted, and panics are caught inside them.
                    Err(error) => NodeResult::crashed("", &error.to_string()),
                };
                let id = result.unique_id.clone();
                let succeeded = result.status.lets_children_run();
                finish(&context, &mut results, &executable, result);
                if !succeeded && context.options.fail_fast && !stop {
                    stop = true;
                    context.printer.info("fail_fast", &format!("Stopping: `{id}` failed and --fail-fast is set"));
                    let _ = context.adapter.cancel_running().await;
                }
                schedule.release(&id, succeeded);
            }
            // A statement that began just after the cancel (the next one of
            // a build that was between two) is cancelled on the next tick.
            _ = tokio::time::sleep(RECANCEL_INTERVAL), if stop => {
                let _ = context.adapter.cancel_running().await;
            }
            Some(()) = interrupts.recv() => {
                if context.cancelled.swap(true, Ordering::SeqCst) {
                    context.printer.info("cancel", "Stopping now, without waiting for the cancelled queries to end");
                    std::process::exit(EXIT_FORCED);
                }
                stop = true;
                context.printer.info("cancel", "Cancelling: stopping the running queries on the server (press Ctrl-C again to force)");
                let _ = context.adapter.cancel_running().await;
            }
        }
    }
    listener.abort();
    // Whatever never ran is recorded as skipped.
    let reason = if context.cancelled.load(Ordering::SeqCst) {
        "the run was cancelled"
    } else {
        "an earlier node failed and --fail-fast is set"
    };
    for id in &executable {
        if !results.contains_key(id) {
            let why = schedule
                .skipped_because
                .get(id)
                .cloned()
                .unwrap_or_else(|| reason.to_string());
            results.insert(id.clone(), NodeResult::skipped(id, &why));
        }
    }
    let ordered: Vec<NodeResult> = plan.order.iter().filter_map(|id| results.remove(id)).collect();
    RunResults {
        results: ordered,
        elapsed: started.elapsed(),
        cancelled: context.cancelled.load(Ordering::SeqCst),
    }
}

/// The text a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

fn finish(
    context: &Context,
    results: &mut BTreeMap<String, NodeResult>,
    executable: &BTreeSet<String>,
    mut result: NodeResult,
) {
    if !executable.contains(&result.unique_id) {
        return;
    }
    result.index = context.counter.fetch_add(1, Ordering::SeqCst) + 1;
    results::print_progress(context, &result);
    results.insert(result.unique_id.clone(), result);
}

/// The planned nodes this command executes; the rest pass through instantly
/// (ephemeral models, analyses, sources, exposures, and under `run` the tests).
pub fn executable(manifest: &crate::manifest::Manifest, plan: &Plan, command: Command) -> BTreeSet<String> {
    plan.order
        .iter()
        .filter(|id| {
            // dbt 1.10's `build` lists exposures, as no-ops.
            (command == Command::Build && manifest.exposures.contains_key(*id))
                || manifest.nodes.get(*id).is_some_and(|node| {
                    command.executes(node.resource_type)
                        && !node.is_ephemeral()
                        && (command != Command::Build || crate::unit_test::model_planned(node, plan))
                })
        })
        .cloned()
        .collect()
}

/// Which nodes wait for which, and which are ready to start, in plan order.
struct Schedule {
    /// Parents not yet done, of each node not yet ready.
    waiting: BTreeMap<String, BTreeSet<String>>,
    dependents: HashMap<String, Vec<String>>,
    /// Ready nodes, keyed by their position in the plan.
    ready: BTreeSet<(usize, String)>,
    position: HashMap<String, usize>,
    /// Nodes to skip, with why: a parent failed or was skipped.
    skipped_because: BTreeMap<String, String>,
}

impl Schedule {
    fn new(plan: &Plan, dependencies: BTreeMap<String, BTreeSet<String>>) -> Self {
        let position = plan
            .order
            .iter()
            .enumerate()
            .map(|(index, id)| (id.clone(), index))
            .collect();
        let mut dependents: HashMap<String, Vec<String>> = HashMap::new();
        for (child, parents) in &dependencies {
            for parent in parents {
                dependents.entry(parent.clone()).or_default().push(child.clone());
            }
        }
        let mut schedule = Schedule {
            waiting: BTreeMap::new(),
            dependents,
            ready: BTreeSet::new(),
            position,
            skipped_because: BTreeMap::new(),
        };
        for (id, parents) in dependencies {
            if parents.is_empty() {
                schedule.make_ready(id);
            } else {
                schedule.waiting.insert(id, parents);
            }
        }
        schedule
    }

    fn make_ready(&mut self, id: String) {
        let position = self.position.get(&id).copied().unwrap_or(usize::MAX);
        self.ready.insert((position, id));
    }

    fn next_ready(&mut self) -> Option<String> {
        self.ready.pop_first().map(|(_, id)| id)
    }

    /// Marks `id` done: its dependents become ready once all their parents are
    /// done; when it failed, every descendant is skipped.
    fn release(&mut self, id: &str, succeeded: bool) {
        let Some(children) = self.dependents.get(id).cloned() else {
            return;
        };
        for child in children {
            if !succeeded {
                let cause = self
                    .skipped_because
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("`{id}` failed"));
                self.skipped_because.entry(child.clone()).or_insert(cause);
            }
            if let Some(parents) = self.waiting.get_mut(&child) {
                parents.remove(id);
                if parents.is_empty() {
                    self.waiting.remove(&child);
                    self.make_ready(child);
                }
            }
        }
    }
}

/// The planned parents each planned node waits for. Under `build`, a node
/// also waits for the planned tests on its parents, so that a failing test
/// skips the models built on what it tested; even on a parent that is not
/// planned, as when a retry runs a failed test and the children it skipped.
/// Under `clone` nothing waits: each clone reads only its `--state`
/// relation, so dbt's CloneTask runs in its `Independent` mode, on a graph
/// without edges, and a failed clone skips nothing.
fn dependencies(context: &Context, plan: &Plan, dag: &Dag) -> BTreeMap<String, BTreeSet<String>> {
    let manifest = &context.rendered.manifest;
    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if context.options.command == Command::Clone {
        return plan.order.iter().map(|id| (id.clone(), BTreeSet::new())).collect();
    }
    for id in &plan.order {
        let parents: BTreeSet<String> = dag
            .parents(id)
            .into_iter()
            .filter(|parent| plan.selected.contains(*parent))
            .map(str::to_owned)
            .collect();
        dependencies.insert(id.clone(), parents);
    }
    if context.options.command != Command::Build {
        return dependencies;
    }
    let mut tests_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in &plan.order {
        if let Some(test) = manifest
            .nodes
            .get(id)
            .filter(|node| node.resource_type == ResourceType::Test)
        {
            for parent in &test.depends_on_nodes {
                tests_of
                    .entry(parent.as_str())
                    .or_default()
                    .push(test.unique_id.as_str());
            }
        }
    }
    let ancestors = |id: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![id.to_string()];
        while let Some(current) = stack.pop() {
            for parent in dag.parents(&current) {
                if seen.insert(parent.to_string()) {
                    stack.push(parent.to_string());
                }
            }
        }
        seen
    };
    for id in &plan.order {
        // Exposures wait for their parents' tests too, as dbt skips an
        // exposure whose model failed a test.
        let is_test = match manifest.nodes.get(id) {
            Some(node) => node.resource_type == ResourceType::Test,
            None => !manifest.exposures.contains_key(id),
        };
        if is_test {
            continue;
        }
        let parents = dag.parents(id);
        if parents.is_empty() {
            continue;
        }
        let upstream = ancestors(id);
        let mut extra = BTreeSet::new();
        for parent in parents {
            for test_id in tests_of.get(parent).into_iter().flatten() {
                // Only tests whose every parent is upstream of this node, or the
                // wait could close a cycle.
                let test_parents_upstream = manifest.nodes.get(*test_id).is_some_and(|test| {
                    test.depends_on_nodes
                        .iter()
                        .all(|test_parent| upstream.contains(test_parent))
                });
                if test_parents_upstream {
                    extra.insert(test_id.to_string());
                }
            }
        }
        if let Some(set) = dependencies.get_mut(id) {
            set.extend(extra);
        }
    }
    crate::unit_test::schedule_under_build(manifest, plan, &mut dependencies);
    dependencies
}
