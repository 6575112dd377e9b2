//! `dvt ingest --follow --refresh SELECTOR`: one selection of models,
//! planned, compiled and checked once, then run again after each commit.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use super::driver::check_offline;
use super::{Command, Context, ExecOptions};
use crate::adapter::Adapter;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::output::Printer;
use crate::pipeline::Prepared;
use crate::plan::{Plan, Selection};

/// A `dvt run` of one selection, prepared once and run again and again:
/// `dvt ingest --follow --refresh SELECTOR`.
pub struct Refresh {
    context: Arc<Context>,
    plan: Plan,
    dag: crate::graph::Dag,
}

impl Refresh {
    /// Plans and compiles the models `selectors` select, to run on `adapter`.
    pub fn prepare(
        printer: &Arc<Printer>,
        mut prepared: Prepared,
        selectors: &[String],
        adapter: Arc<dyn Adapter>,
    ) -> Result<Self, Diagnostics> {
        prepared.select(&Selection {
            select: selectors.to_vec(),
            exclude: Vec::new(),
            state: None,
            selector: None,
        })?;
        check_offline(printer, &mut prepared, Command::Run)?;
        let Prepared {
            settings,
            rendered,
            dag,
            plan,
            ..
        } = prepared;
        let total = super::executable(&rendered.manifest, &plan, Command::Run).len();
        if total == 0 {
            return Err(Diagnostic::error(format!(
                "`--refresh {}` selects no model",
                selectors.join(" ")
            ))
            .hint("select the models built on the ingested source, e.g. `--refresh source:<source>.<table>+`; `dvt ls --select ...` shows what a selector matches")
            .into());
        }
        let options = ExecOptions {
            command: Command::Run,
            threads: settings.threads,
            fail_fast: false,
            full_refresh: false,
            store_failures: false,
            junit: None,
            state_relations: Default::default(),
            microbatch: settings.microbatch.clone(),
            invocation_started_at: settings.session.options.run_started_at.clone(),
        };
        let context = Arc::new(Context {
            adapter,
            rendered,
            project: settings.session.project,
            printer: Arc::clone(printer),
            options,
            total,
            counter: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            invocation_id: settings.session.options.invocation_id,
            // `run` builds models only; exports wait for `dvt export`.
            lake: None,
        });
        Ok(Self { context, plan, dag })
    }

    /// How many models each refresh runs.
    pub fn models(&self) -> usize {
        self.context.total
    }

    /// Runs the selected models once, printing a progress line for each.
    pub async fn run(&self) -> super::results::RunResults {
        self.context.counter.store(0, std::sync::atomic::Ordering::SeqCst);
        super::run(Arc::clone(&self.context), &self.plan, &self.dag).await
    }
}
