//! Command-line flags. These structs hold flags only; their doc comments are the
//! `--help` text. [`crate::settings`] resolves them with the project and the
//! environment into the values the phases use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// dvt: declarative data modelling. Jinja SQL models with ref() and source(),
/// built as a DAG in PostgreSQL, tested, and documented.
#[derive(Debug, Parser)]
#[command(name = "dvt", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// How to print progress and errors [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(long, global = true, value_enum, env = "DVT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Treat every warning as an error.
    #[arg(long, global = true, env = "DVT_WARN_ERROR")]
    pub warn_error: bool,

    /// Print nothing but warnings, errors and the results a command exists to show.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
    /// Text, with every error and warning also as a GitHub Actions annotation.
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project in a new directory.
    Init(InitArgs),
    /// Show the resolved configuration and check the connection.
    Debug(ProjectArgs),
    /// Parse the project and write target/manifest.json.
    Parse(ProjectArgs),
    /// Render every selected node to SQL in target/compiled/, offline.
    Compile(CompileArgs),
    /// List the resources of the project.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Delete the target directory and the other `clean-targets`.
    Clean(ProjectArgs),
    /// Install the packages of packages.yml into dbt_packages/ and write package-lock.yml.
    Deps(DepsArgs),
    /// Load seed CSV files into tables with COPY.
    Seed(ExecArgs),
    /// Build the selected models in the warehouse.
    Run(ExecArgs),
    /// Run the data tests of the selected nodes.
    Test(ExecArgs),
    /// Seed, run and test the selected nodes in DAG order; a failing test skips what is built on it.
    Build(ExecArgs),
    /// Export the selected models that declare `export` to the lake (Parquet or CSV on S3).
    Export(ExecArgs),
    /// Run the selected snapshots: record each changed row's new version (SCD type 2).
    Snapshot(ExecArgs),
    /// Run a model's SQL (or inline SQL) and print the first rows.
    Show(ShowArgs),
    /// Call a macro of the project or a package on the warehouse, with `--args` as its keyword arguments.
    RunOperation(RunOperationArgs),
    /// Repeat the last run, test, seed or build on the nodes that failed or were skipped.
    Retry(RetryArgs),
    /// Create each selected model and seed as a view of its relation in the --state manifest.
    Clone(CloneArgs),
    /// List what changed since another run (new and modified nodes) and what they affect downstream.
    Diff(DiffArgs),
    /// Generate the docs site (catalog, column lineage) in target/docs/, or serve it.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Commands on the project's sources: `dvt source freshness`.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Load the Kafka topics of sources with an `ingest:` block into their bronze tables, exactly once, then exit.
    #[cfg(feature = "kafka")]
    Ingest(IngestArgs),
    /// Stream a CSV file or generated DVD-rental events into a Kafka topic at a given rate (for demos and benchmarks).
    #[cfg(feature = "kafka")]
    Produce(ProduceArgs),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// How many nodes run at once (default: the target's `threads`).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
    /// Rebuild incremental models and seeds from scratch.
    #[arg(long)]
    pub full_refresh: bool,
    /// Stop everything at the first failure.
    #[arg(long, short = 'x')]
    pub fail_fast: bool,
    /// Store the failing rows of every test in the audit schema.
    #[arg(long)]
    pub store_failures: bool,
    /// Read refs to nodes that are not selected from the relations in the --state manifest (production).
    #[arg(long, requires = "state")]
    pub defer: bool,
    /// Also write the results as JUnit XML to this file, for CI test reports.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Read zero rows from every ref and source, so that models build empty: checks SQL and schema fast (as dbt's --empty).
    #[arg(long, env = "DVT_EMPTY")]
    pub empty: bool,
    /// Build microbatch models from this event time on (inclusive; `2024-01-01` or `2024-01-01T06:00:00`), with --event-time-end.
    #[arg(long, env = "DVT_EVENT_TIME_START", value_name = "DATETIME")]
    pub event_time_start: Option<String>,
    /// Build microbatch models up to this event time (exclusive), with --event-time-start.
    #[arg(long, env = "DVT_EVENT_TIME_END", value_name = "DATETIME")]
    pub event_time_end: Option<String>,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// How many nodes are cloned at once (default: the target's `threads`).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
    /// Replace the relations that already exist too.
    #[arg(long)]
    pub full_refresh: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Keep streaming, committing micro-batches, until Ctrl-C (default: drain to the current high watermarks and exit).
    #[arg(long, conflicts_with = "status")]
    pub follow: bool,
    /// With --follow: run these models after each commit, or every --every (selector syntax, e.g. `source:events.rental_events+`).
    #[arg(long, num_args = 1.., value_name = "SELECTOR", requires = "follow")]
    pub refresh: Vec<String>,
    /// With --refresh: run the models on this interval (`10s`, `1m`) instead of after every commit.
    #[arg(long, value_name = "DURATION", requires = "refresh", value_parser = parse_positive_duration)]
    pub every: Option<std::time::Duration>,
    /// Commit a batch once it holds this many messages (default: each source's `batch.rows`, else 50000).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_rows: Option<usize>,
    /// Commit a batch once its first message is this old (default: each source's `batch.latency`, else 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub batch_latency: Option<std::time::Duration>,
    /// Consumers per source table in this process, sharing its partitions (each loads its own batches, in parallel).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub consumers: usize,
    /// Join each source's Kafka consumer group, to share its partitions with other `dvt ingest` processes. Without it, a process reads every partition itself from the offsets stored in the warehouse: it starts at once, and resumes at once after a crash.
    #[arg(long, conflicts_with = "status")]
    pub group: bool,
    /// Kafka brokers, host:port[,host:port...] (default: the target's `kafka_bootstrap_servers`; its other `kafka_*` settings still apply).
    #[arg(long, value_name = "SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// Show the lag of every partition (stored offset against the broker's high watermark) and exit.
    #[arg(long)]
    pub status: bool,
}

fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match crate::duration::parse_duration(text) {
        Some(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "`{text}` is not a positive duration; write a number with a unit: `500ms`, `10s`, `2m`"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The model, seed or analysis to show.
    #[arg(long, short = 's')]
    pub select: Option<String>,
    /// SQL to run instead of a model; Jinja such as ref() is rendered.
    #[arg(long, conflicts_with = "select")]
    pub inline: Option<String>,
    /// How many rows to print.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RunOperationArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The macro to call: `name`, or `package.name` for a package's.
    #[arg(value_name = "MACRO")]
    pub macro_name: String,
    /// The macro's keyword arguments, as a YAML mapping: --args '{table: orders, days: 7}'.
    #[arg(long)]
    pub args: Option<String>,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How many nodes run at once (default: as in the last run).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
    /// Also write the results as JUnit XML to this file, for CI test reports.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Name of the project (and of the directory to create).
    pub name: String,
    /// Directory to create the project in (default: ./NAME).
    #[arg(long)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// The project directory (holding project.yml or dbt_project.yml).
    #[arg(long, env = "DVT_PROJECT_DIR", default_value = ".")]
    pub project_dir: PathBuf,

    /// Directory holding profiles.yml (default: $DVT_PROFILES_DIR, the project directory, then ~/.dvt).
    #[arg(long)]
    pub profiles_dir: Option<PathBuf>,

    /// The target of the profile to use (default: the profile's `target`).
    #[arg(long, short = 't', env = "DVT_TARGET")]
    pub target: Option<String>,

    /// The profile to use instead of the project's `profile`.
    #[arg(long)]
    pub profile: Option<String>,

    /// Variables for var(), as a YAML mapping: --vars '{start_date: 2024-01-01}'.
    #[arg(long)]
    pub vars: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DepsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,

    /// Resolve every package again, ignoring package-lock.yml, and write a new lock file.
    #[arg(long)]
    pub upgrade: bool,

    /// Only resolve the packages and write package-lock.yml; install nothing.
    #[arg(long)]
    pub lock: bool,
}

#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    /// Nodes to include: names, fqn wildcards, `tag:`, `path:`, `source:`, graph operators (`+x`, `x+`, `@x`).
    #[arg(long, short = 's', num_args = 1.., alias = "models", short_alias = 'm')]
    pub select: Vec<String>,

    /// Nodes to leave out, in the same syntax as --select.
    #[arg(long, num_args = 1..)]
    pub exclude: Vec<String>,

    /// A named selector of `selectors.yml`, instead of --select and --exclude (as dbt's --selector).
    #[arg(long, value_name = "NAME")]
    pub selector: Option<String>,

    /// The target directory of another run (holding its manifest.json), for `state:` selectors and --defer.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Resolve refs to nodes that are not selected to the relations in the --state manifest (production).
    #[arg(long, requires = "state")]
    pub defer: bool,
    /// Compile every ref and source as a subquery reading zero rows, as `--empty` runs them.
    #[arg(long, env = "DVT_EMPTY")]
    pub empty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Plain text for a terminal.
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The target directory of the run to compare with (holding its manifest.json).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsOutput {
    /// The selector of each resource (`dvdrental.staging.stg_customer`).
    Selector,
    /// The name of each resource.
    Name,
    /// The file of each resource.
    Path,
    /// One JSON object per resource.
    Json,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Only resources of these types (model, seed, test, unit_test, source, exposure, analysis;
    /// `all` for every type). Without it, everything but analyses, as in dbt.
    #[arg(long, num_args = 1..)]
    pub resource_type: Vec<String>,
    /// What to print for each resource.
    #[arg(long, short = 'o', value_enum, default_value_t = LsOutput::Selector)]
    pub output: LsOutput,
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Write target/catalog.json, target/lineage.json and the static site in target/docs/.
    Generate(DocsGenerateArgs),
    /// Serve target/docs/ over HTTP.
    Serve(DocsServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Check how recently the selected sources were loaded, against their `freshness` criteria, and write target/sources.json.
    Freshness(FreshnessArgs),
}

#[derive(Debug, Args)]
pub struct FreshnessArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Where to write the results (default: target/sources.json).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// How many sources are checked at once (default: the target's `threads`).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DocsGenerateArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Do not connect to the warehouse: columns and lineage come from the YAML and the SQL only.
    #[arg(long)]
    pub no_catalog: bool,
}

#[derive(Debug, Args)]
pub struct DocsServeArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on; 0.0.0.0 makes the site reachable from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["csv", "generate"])))]
pub struct ProduceArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The topic to write to.
    #[arg(long)]
    pub topic: String,
    /// A CSV file with a header row; each row becomes a JSON object (numbers and true/false keep their type, empty fields are null).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Generate DVD-rental events instead: rentals (created and returned), their payments, or web clicks.
    #[arg(long, value_enum, value_name = "EVENTS")]
    pub generate: Option<GeneratedEvents>,
    /// Messages per second (default: as fast as the brokers take them).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    pub rate: Option<u64>,
    /// Stop after this many messages (default: every CSV row; generated events until Ctrl-C).
    #[arg(long, short = 'n', value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    pub count: Option<u64>,
    /// Partitions of the topic when dvt creates it (on brokers with the admin API).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// The field whose value is the message key, so that one entity stays on one partition
    /// [default: rental_id for rentals, customer_id for payments, session_id for clicks; none for CSV].
    #[arg(long, value_name = "FIELD")]
    pub key: Option<String>,
    /// Seed of the generated events: the same seed gives the same events, all but `event_time` [default: a fresh one, printed].
    #[arg(long, conflicts_with = "csv")]
    pub seed: Option<u64>,
    /// Kafka brokers, host:port[,host:port...] (default: the target's `kafka_bootstrap_servers`).
    #[arg(long, value_name = "SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// Compress message batches (the librdkafka built into dvt has no zstd).
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GeneratedEvents {
    /// Rentals created and returned (keyed by rental_id).
    Rentals,
    /// Payments of returned rentals (keyed by customer_id).
    Payments,
    /// Web page views and actions (keyed by session_id).
    Clicks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
}

impl Compression {
    /// The value of librdkafka's `compression.type`.
    pub fn librdkafka_name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
        }
    }
}
