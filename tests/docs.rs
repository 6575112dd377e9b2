//! End-to-end tests of `dvt docs generate` and `dvt docs serve` on a copy of
//! the example project.
//!
//! - Column lineage of the example project needs no warehouse: the seeds'
//!   headers and the models' own traced columns are enough.
//! - The browser test builds the example project in a database of its own
//!   (`dvt_docs_<random>`, dropped afterwards, as in tests/exec.rs), generates
//!   the docs, serves them on a free port and drives headless Chromium
//!   (Debian's `chromium` package) through the URL hash. It saves a screenshot
//!   as `target/docs-screenshot.png`. Without Chromium it is skipped with a message.

#[path = "support/command.rs"]
mod command;
#[path = "support/deps.rs"]
mod deps;
#[path = "support/example.rs"]
mod example;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sqlx::ConnectOptions;

mod common;

use common::Server;

const CHROMIUM: &str = "/usr/bin/chromium";

fn write_profile(project: &Path, server: &Server, database: &str) {
    let profile = format!(
        "dvdrental:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {host}\n      port: {port}\n      \
         user: {user}\n      password: \"{{{{ env_var('DVT_PG_PASSWORD', 'postgres') }}}}\"\n      dbname: {database}\n      \
         schema: analytics\n      threads: 4\n      connect_timeout: 5\n",
        host = server.host,
        port = server.port,
        user = server.user,
    );
    std::fs::write(project.join("profiles.yml"), profile).expect("write profiles.yml");
}

fn dvt(project: &Path, server: &Server, args: &[&str]) -> std::process::Output {
    let output = command::dvt_command()
        .args(args)
        .arg("--project-dir")
        .arg(project)
        .arg("--profiles-dir")
        .arg(project)
        .current_dir(project)
        .env("DVT_PG_PASSWORD", &server.password)
        .output()
        .expect("dvt runs");
    assert!(
        output.status.success(),
        "dvt {}: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("parse {}: {error}", path.display()))
}

/// The sources of `model.column` in lineage.json, as `relation.column` strings, and its kind.
fn column_sources(lineage: &Value, model: &str, column: &str) -> (String, Vec<String>) {
    let columns = lineage["nodes"][model]["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("no lineage for {model}"));
    let found = columns
        .iter()
        .find(|entry| entry["name"] == column)
        .unwrap_or_else(|| panic!("{model} has no column {column}"));
    let sources = found["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|source| {
            format!(
                "{}.{}",
                source["relation"].as_str().unwrap_or(""),
                source["column"].as_str().unwrap_or("")
            )
        })
        .collect();
    (found["kind"].as_str().unwrap_or_default().to_string(), sources)
}

#[test]
fn example_project_column_lineage_walks_back_to_the_seeds_without_a_warehouse() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = Server::from_env();
    example::copy_example_project(dir.path());
    write_profile(dir.path(), &server, "unused");
    // A model sqlparser cannot read keeps its model-level lineage and gets a note.
    std::fs::write(
        dir.path().join("models/unreadable.sql"),
        "select payment_id,, amount from {{ ref('stg_payment') }}\n",
    )
    .expect("write a model");
    dvt(dir.path(), &server, &["docs", "generate", "--no-catalog"]);

    let lineage = read_json(&dir.path().join("target/lineage.json"));
    let model = |name: &str| format!("model.dvdrental.{name}");
    assert_eq!(
        column_sources(&lineage, &model("fct_payment"), "amount"),
        ("pass_through".into(), vec!["model.dvdrental.stg_payment.amount".into()])
    );
    assert_eq!(
        column_sources(&lineage, &model("stg_payment"), "amount"),
        ("transformation".into(), vec!["seed.dvdrental.payment.amount".into()])
    );
    // A column from the second table of a join, under its alias.
    assert_eq!(
        column_sources(&lineage, &model("fct_payment"), "store_id"),
        ("pass_through".into(), vec!["model.dvdrental.stg_staff.store_id".into()])
    );
    // Through the inlined ephemeral model's CTE, and renamed there.
    assert_eq!(
        column_sources(&lineage, &model("fct_rental"), "allowed_days"),
        (
            "rename".into(),
            vec!["model.dvdrental.stg_film.rental_duration_days".into()]
        )
    );
    // An aggregate.
    assert_eq!(
        column_sources(&lineage, &model("kpi_customer_rfm"), "monetary"),
        (
            "transformation".into(),
            vec!["model.dvdrental.fct_payment.amount".into()]
        )
    );
    let unreadable = &lineage["nodes"]["model.dvdrental.unreadable"];
    let error = unreadable["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("does not parse") && error.contains("model-level lineage"),
        "{unreadable}"
    );
    // Every other model is traced.
    for (unique_id, node) in lineage["nodes"].as_object().expect("nodes") {
        if unique_id == "model.dvdrental.unreadable" {
            continue;
        }
        assert!(node.get("error").is_none(), "{unique_id}: {}", node["error"]);
        assert!(
            !node["columns"].as_array().expect("columns").is_empty(),
            "{unique_id} has no columns"
        );
    }

    let data = std::fs::read_to_string(dir.path().join("target/docs/data.js")).expect("data.js");
    assert!(
        data.starts_with("window.DVT_DATA = {"),
        "{}",
        &data[..80.min(data.len())]
    );
    for file in ["index.html", "app.js", "style.css"] {
        assert!(dir.path().join("target/docs").join(file).is_file(), "{file} is missing");
    }
    // The streaming path's lineage starts at its Kafka topic.
    let site: Value = serde_json::from_str(
        data.trim_start_matches("window.DVT_DATA = ")
            .trim_end()
            .trim_end_matches(';'),
    )
    .expect("data.js holds JSON");
    let node = |id: &str| {
        site["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|node| node["id"] == id)
            .unwrap_or_else(|| panic!("no node `{id}` in the site"))
            .clone()
    };
    assert_eq!(node("topic.rental_events")["type"], "topic");
    assert_eq!(
        node("source.dvdrental.events.rental_events")["parents"],
        serde_json::json!(["topic.rental_events"])
    );
}

/// Drops the test's database when the test ends, even on panic.
struct Database {
    server: Server,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn create(server: &Server) -> Self {
        let name = format!("dvt_docs_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let database = Self {
            server: server.clone(),
            name,
            runtime,
        };
        database.admin(&format!("create database \"{}\"", database.name));
        database
    }

    fn admin(&self, sql: &str) {
        let options = self.server.options(&self.server.admin_database);
        self.runtime.block_on(async {
            let mut connection = options
                .connect()
                .await
                .unwrap_or_else(|error| panic!("connect: {error}"));
            sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .unwrap_or_else(|error| panic!("`{sql}`: {error}"));
        });
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let options = self.server.options(&self.server.admin_database);
        let sql = format!("drop database if exists \"{}\" with (force)", self.name);
        let _ = self.runtime.block_on(async {
            let mut connection = options.connect().await?;
            sqlx::raw_sql(&sql).execute(&mut connection).await
        });
    }
}

/// `dvt docs serve`, stopped when the test ends.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(project: &Path, server: &Server) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dvt"));
        command::isolate(&mut command);
        let mut child = command
            .args(["docs", "serve", "--port", "0", "--project-dir"])
            .arg(project)
            .arg("--profiles-dir")
            .arg(project)
            .env("DVT_PG_PASSWORD", &server.password)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dvt docs serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the URL line");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in `{line}`"))
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "binds to 127.0.0.1 by default: {url}"
        );
        Self { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs headless Chromium on `url` with `action` (`--dump-dom` or `--screenshot=...`), returning stdout.
fn chromium(url: &str, action: &str) -> String {
    let profile = tempfile::tempdir().expect("a Chromium profile dir");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1500,950",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(action)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = String::new();
    let reader = child.stdout.take().expect("stdout");
    let handle = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(reader), &mut text);
        text
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stdout.push_str(&handle.join().expect("the reader thread"));
    stdout
}

/// The text of the element with this id in a dumped DOM, roughly (to its closing tag).
fn element_html<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    &dom[start..]
}

#[test]
fn browser_shows_the_details_panel_and_column_lineage_back_to_the_seed() {
    if !Path::new(CHROMIUM).exists() {
        // CI installs Chromium (.ci/run), so there a missing browser is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} is missing in CI: .ci/run should have installed it"
        );
        eprintln!("SKIPPED: {CHROMIUM} is not installed (apt-get install -y chromium); the docs site was not tested in a browser");
        return;
    }
    let server = Server::from_env();
    let database = Database::create(&server);
    let dir = tempfile::tempdir().expect("a temp dir");
    example::copy_example_project(dir.path());
    write_profile(dir.path(), &server, &database.name);
    dvt(dir.path(), &server, &["build"]);
    // The last ingest's artifact, as `dvt ingest --follow` writes it (its own
    // tests check the writing against a broker); the site reads it offline.
    std::fs::write(
        dir.path().join("target/ingest_results.json"),
        r#"{"metadata": {"follow": true, "generated_at": "2026-12-04T03:00:00Z", "elapsed_seconds": 30.0},
            "sources": [{"unique_id": "source.dvdrental.events.rental_events", "rows": 4200, "dead_letters": 2,
              "batches": 9, "freshness": {"samples": 4200, "p50_seconds": 0.35, "p95_seconds": 1.25, "max_seconds": 2.5},
              "partitions": [
                {"topic": "rental_events", "partition": 0, "committed_offset": 2100, "high_watermark": 2100, "lag": 0},
                {"topic": "rental_events", "partition": 1, "committed_offset": 2100, "high_watermark": 2160, "lag": 60}]}]}"#,
    )
    .expect("write ingest_results.json");
    dvt(dir.path(), &server, &["docs", "generate"]);

    let catalog = read_json(&dir.path().join("target/catalog.json"));
    let fct_payment = &catalog["nodes"]["model.dvdrental.fct_payment"];
    assert_eq!(
        fct_payment["columns"]["amount"]["type"], "numeric(10,2)",
        "{fct_payment}"
    );
    assert!(
        fct_payment["stats"]["num_rows"]["value"].as_i64().unwrap_or_default() > 0,
        "{fct_payment}"
    );

    let served = Served::start(dir.path(), &server);
    let page = format!("{}#search=fct_payment&column=amount", served.url);
    let dom = chromium(&page, "--dump-dom");

    let details = element_html(&dom, "details-name");
    assert!(
        details.starts_with("id=\"details-name\">fct_payment<"),
        "{}",
        &details[..200.min(details.len())]
    );
    assert!(dom.contains("id=\"columns\""), "the columns table is shown");
    // The SQL comes from sql.js, loaded when a node is first opened.
    let compiled = element_html(&dom, "compiled");
    assert!(
        compiled.contains("\"analytics_staging\".\"stg_payment\"")
            || compiled.contains("&quot;analytics_staging&quot;"),
        "{}",
        &compiled[..200.min(compiled.len())]
    );
    assert!(dom.contains("numeric(10,2)"), "column types from the catalog are shown");
    let lineage = element_html(&dom, "column-lineage");
    for (node, column) in [
        ("model.dvdrental.stg_payment", "amount"),
        ("seed.dvdrental.payment", "amount"),
    ] {
        assert!(
            lineage.contains(&format!("data-node=\"{node}\" data-column=\"{column}\"")),
            "the column lineage reaches {node}.{column}:\n{lineage}"
        );
    }
    assert!(
        lineage.contains("kpi_customer_rfm.monetary"),
        "downstream columns are shown:\n{lineage}"
    );
    assert!(dom.contains("id=\"tests\""), "the tests of the model are listed");
    assert!(dom.contains("status-pass"), "with their last status");

    // The last build as a timeline, a bar per node coloured by status.
    let dom = chromium(&format!("{}#timeline=1", served.url), "--dump-dom");
    let timeline = element_html(&dom, "timeline");
    assert!(
        timeline.contains("dvt build: "),
        "{}",
        &timeline[..300.min(timeline.len())]
    );
    assert!(
        timeline.contains("class=\"bar status-success\""),
        "{}",
        &timeline[..300.min(timeline.len())]
    );
    assert!(timeline.contains("class=\"bar status-pass\""), "tests are bars too");

    // A Kafka-fed source shows its last ingest: freshness and each partition's lag.
    let dom = chromium(
        &format!("{}#node=source.dvdrental.events.rental_events", served.url),
        "--dump-dom",
    );
    let ingest = element_html(&dom, "ingest");
    assert!(
        ingest.contains("Last ingest (follow)"),
        "{}",
        &ingest[..300.min(ingest.len())]
    );
    assert!(
        ingest.contains("4,200 rows · 2 dead letters"),
        "{}",
        &ingest[..300.min(ingest.len())]
    );
    let freshness = element_html(&dom, "ingest-freshness");
    assert!(
        freshness.contains("p50 0.35s · p95 1.25s · max 2.50s over 4,200 events"),
        "{}",
        &freshness[..200.min(freshness.len())]
    );
    let partitions = element_html(&dom, "ingest-partitions");
    assert!(partitions.contains("rental_events[1]"), "{partitions}");
    assert!(
        partitions.contains("class=\"lag-bar behind\" style=\"width:100%\""),
        "{partitions}"
    );
    assert!(partitions.contains("Lag (total 60)"), "{partitions}");

    // The same site works from file://, with no server.
    let file_url = format!(
        "file://{}#search=fct_payment&column=amount",
        dir.path().join("target/docs/index.html").display()
    );
    let dom = chromium(&file_url, "--dump-dom");
    assert!(element_html(&dom, "column-lineage").contains("data-node=\"seed.dvdrental.payment\""));

    let screenshot: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/docs-screenshot.png");
    std::fs::create_dir_all(screenshot.parent().expect("a parent")).expect("create target/");
    let _ = std::fs::remove_file(&screenshot);
    chromium(&page, &format!("--screenshot={}", screenshot.display()));
    assert!(screenshot.is_file(), "a screenshot at {}", screenshot.display());
}
