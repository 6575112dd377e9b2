//! dvt: declarative data modelling.
//!
//! A command is a short chain of phases (see ARCHITECTURE.md):
//! `Settings::resolve` → `pipeline::prepare` (`project::load` →
//! `render::render_all` → `graph::build` → `plan::plan`) → execution →
//! `artifacts`. Each command has a file in [`commands`]. [`run`] dispatches a parsed command line and maps
//! the outcome to an exit code: 0 for success, 1 when nodes failed, 2 for a
//! project or usage error.

pub mod adapter;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod contract;
pub mod diagnostic;
pub mod diff;
pub mod docs;
pub mod duration;
pub mod exec;
pub mod freshness;
pub mod graph;
pub mod ingest;
pub mod lake;
pub mod lineage;
pub mod manifest;
pub mod microbatch;
pub mod output;
pub mod packages;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod project;
pub mod python_json;
pub mod render;
pub mod seed;
pub mod select;
pub mod selectors;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod unit_test;
pub mod validate;
pub mod yaml;

use cli::{Cli, Command};
use diagnostic::Diagnostics;
use output::Printer;

/// Exit codes.
pub const EXIT_SUCCESS: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// How a command ended, when it did not end in a project or usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Some nodes failed.
    Failure,
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let log_format = settings::log_format(cli.log_format);
    let printer = std::sync::Arc::new(Printer::new(log_format, cli.quiet, cli.warn_error));
    let shared = || std::sync::Arc::clone(&printer);
    let result = match &cli.command {
        Command::Init(args) => commands::init::init(&printer, args),
        Command::Debug(args) => commands::debug::debug(&printer, args),
        Command::Parse(args) => commands::parse::parse(&printer, args),
        Command::Compile(args) => commands::compile::compile(&printer, args),
        Command::Ls(args) => commands::ls::ls(&printer, args),
        Command::Clean(args) => commands::clean::clean(&printer, args),
        Command::Deps(args) => commands::deps::deps(&printer, args),
        Command::Seed(args) => commands::seed::seed(shared(), args),
        Command::Run(args) => commands::run::run(shared(), args),
        Command::Test(args) => commands::test::test(shared(), args),
        Command::Build(args) => commands::build::build(shared(), args),
        Command::Export(args) => commands::export::export(shared(), args),
        Command::Snapshot(args) => commands::snapshot::snapshot(shared(), args),
        Command::Show(args) => commands::show::show(shared(), args),
        Command::RunOperation(args) => commands::run_operation::run_operation(shared(), args),
        Command::Retry(args) => commands::retry::retry(shared(), args),
        Command::Clone(args) => commands::clone::clone(shared(), args),
        Command::Diff(args) => commands::diff::diff(&printer, args),
        Command::Docs(cli::DocsCommand::Generate(args)) => commands::docs::generate(&printer, args),
        Command::Docs(cli::DocsCommand::Serve(args)) => commands::docs::serve(&printer, args),
        Command::Source(cli::SourceCommand::Freshness(args)) => commands::source_freshness::freshness(shared(), args),
        #[cfg(feature = "kafka")]
        Command::Ingest(args) => commands::ingest::ingest(shared(), args),
        #[cfg(feature = "kafka")]
        Command::Produce(args) => commands::produce::produce(shared(), args),
    };
    match result {
        Ok(Outcome::Success) => EXIT_SUCCESS,
        Ok(Outcome::Failure) => EXIT_FAILURE,
        Err(diagnostics) => {
            report(&printer, &diagnostics);
            EXIT_ERROR
        }
    }
}

/// Prints every diagnostic and, for several errors, a count.
pub fn report(printer: &Printer, diagnostics: &Diagnostics) {
    for diagnostic in &diagnostics.0 {
        printer.diagnostic(diagnostic);
    }
    let errors = diagnostics.0.iter().filter(|diagnostic| diagnostic.is_error()).count();
    if errors > 1 {
        printer.info("error_count", &format!("{errors} errors"));
    }
}
