//! The executor's side of the Jinja warehouse bridge
//! ([`crate::render::context::warehouse`]): one node's connection, shared
//! between the materialization and the Jinja rendered while it runs (the
//! model's SQL, its hooks), so that both work in the same session and,
//! where dbt does so, the same transaction.
//!
//! The executor is async and minijinja is not: rendering runs inside
//! [`tokio::task::block_in_place`], and each Jinja call blocks that thread
//! on the async connection with [`tokio::runtime::Handle::block_on`]. That
//! works for PostgreSQL (sqlx) and DuckDB (whose calls already run on the
//! blocking pool) alike. The connection is locked for one call at a time,
//! so a hook rendered in the middle of a materialization can use it.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tokio::runtime::Handle;
use tokio::sync::Mutex;

use crate::adapter::{
    leading_keyword, Adapter, AdapterError, AdapterResponse, ColumnInfo, Connection, QueryResult, Relation,
    RelationKind,
};
use crate::render::context::warehouse::{with_warehouse, Warehouse};

struct Session {
    connection: Box<dyn Connection>,
    in_transaction: bool,
}

/// A node's connection, cloned as often as needed; every clone is the same
/// session. As a [`Connection`], a `begin` inside an open transaction and a
/// `commit` outside one do nothing, as dbt's connection manager behaves, so
/// a model's `statement(auto_begin=True)` and its materialization share one
/// transaction.
#[derive(Clone)]
pub struct SharedConnection {
    session: Arc<Mutex<Session>>,
}

impl SharedConnection {
    pub fn new(connection: Box<dyn Connection>) -> Self {
        SharedConnection {
            session: Arc::new(Mutex::new(Session {
                connection,
                in_transaction: false,
            })),
        }
    }

    /// The bridge Jinja uses, on this connection.
    pub fn warehouse(&self, adapter: Arc<dyn Adapter>) -> Arc<dyn Warehouse> {
        Arc::new(NodeWarehouse {
            connection: self.clone(),
            adapter,
            handle: Handle::current(),
        })
    }

    /// Commits what Jinja left open (a `statement` that began a
    /// transaction), before the materialization manages its own.
    pub async fn commit_open(&self) -> Result<(), AdapterError> {
        let mut session = self.session.lock().await;
        if session.in_transaction {
            session.connection.commit().await?;
            session.in_transaction = false;
        }
        Ok(())
    }
}

impl SharedConnection {
    /// Rolls back what is open, if anything is.
    pub async fn rollback_open(&self) -> Result<(), AdapterError> {
        let mut session = self.session.lock().await;
        if session.in_transaction {
            session.in_transaction = false;
            session.connection.rollback().await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Connection for SharedConnection {
    async fn execute(&mut self, sql: &str) -> Result<AdapterResponse, AdapterError> {
        self.session.lock().await.connection.execute(sql).await
    }

    async fn query(&mut self, sql: &str, limit: Option<usize>) -> Result<QueryResult, AdapterError> {
        self.session.lock().await.connection.query(sql, limit).await
    }

    async fn begin(&mut self) -> Result<(), AdapterError> {
        let mut session = self.session.lock().await;
        if !session.in_transaction {
            session.connection.begin().await?;
            session.in_transaction = true;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), AdapterError> {
        let mut session = self.session.lock().await;
        if session.in_transaction {
            session.in_transaction = false;
            session.connection.commit().await?;
        }
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), AdapterError> {
        let mut session = self.session.lock().await;
        session.in_transaction = false;
        session.connection.rollback().await
    }

    async fn relation_kind(&mut self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        self.session.lock().await.connection.relation_kind(relation).await
    }

    async fn columns(&mut self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        self.session.lock().await.connection.columns(relation).await
    }

    async fn relation_comment(&mut self, relation: &Relation) -> Result<Option<String>, AdapterError> {
        self.session.lock().await.connection.relation_comment(relation).await
    }

    async fn create_schema_if_missing(&mut self, schema: &str) -> Result<(), AdapterError> {
        self.session
            .lock()
            .await
            .connection
            .create_schema_if_missing(schema)
            .await
    }

    async fn copy_in_csv(
        &mut self,
        relation: &Relation,
        columns: &[String],
        chunks: BoxStream<'_, Result<Vec<u8>, AdapterError>>,
    ) -> Result<u64, AdapterError> {
        self.session
            .lock()
            .await
            .connection
            .copy_in_csv(relation, columns, chunks)
            .await
    }

    async fn append_arrow(
        &mut self,
        relation: &Relation,
        columns: &[String],
        batch: arrow::record_batch::RecordBatch,
    ) -> Result<u64, AdapterError> {
        self.session
            .lock()
            .await
            .connection
            .append_arrow(relation, columns, batch)
            .await
    }
}

/// Runs one statement of `statement()` or `run_query()`: with its rows when
/// `fetch`, else only the server's response.
async fn run_statement(
    connection: &mut (impl Connection + ?Sized),
    sql: &str,
    fetch: bool,
) -> Result<(AdapterResponse, QueryResult), AdapterError> {
    if fetch {
        let result = connection.query(sql, None).await?;
        let response = AdapterResponse::with_rows(&leading_keyword(sql), result.rows.len() as u64);
        Ok((response, result))
    } else {
        Ok((connection.execute(sql).await?, QueryResult::default()))
    }
}

/// [`Warehouse`] for `dvt compile`: connects on first use, so a project
/// whose Jinja never asks the warehouse compiles without one, and runs each
/// call on a connection from the pool, outside any transaction.
pub struct LazyWarehouse {
    target: crate::profile::Target,
    runtime: tokio::runtime::Runtime,
    adapter: std::sync::OnceLock<Result<Arc<dyn Adapter>, String>>,
}

impl LazyWarehouse {
    pub fn new(target: crate::profile::Target) -> Result<Self, crate::diagnostic::Diagnostic> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|error| {
                crate::diagnostic::Diagnostic::error(format!("cannot start the async runtime: {error}"))
            })?;
        Ok(LazyWarehouse {
            target,
            runtime,
            adapter: std::sync::OnceLock::new(),
        })
    }

    /// The adapter, connected on first use.
    fn adapter(&self) -> Result<&Arc<dyn Adapter>, AdapterError> {
        self.adapter
            .get_or_init(|| {
                self.runtime
                    .block_on(crate::adapter::connect(&self.target, self.target.threads.max(1)))
                    .map_err(|diagnostic| diagnostic.message.clone())
            })
            .as_ref()
            .map_err(|message| AdapterError::Connect {
                target: self.target.name.clone(),
                source: message.clone().into(),
            })
    }
}

impl Warehouse for LazyWarehouse {
    fn execute(
        &self,
        sql: &str,
        _auto_begin: bool,
        fetch: bool,
    ) -> Result<(AdapterResponse, QueryResult), AdapterError> {
        let adapter = self.adapter()?;
        self.runtime.block_on(async {
            let mut connection = adapter.connection().await?;
            run_statement(connection.as_mut(), sql, fetch).await
        })
    }

    fn begin(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    fn commit(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    fn relation_kind(&self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let adapter = self.adapter()?;
        self.runtime
            .block_on(async { adapter.connection().await?.relation_kind(relation).await })
    }

    fn columns(&self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        let adapter = self.adapter()?;
        self.runtime
            .block_on(async { adapter.connection().await?.columns(relation).await })
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        match self.target.adapter_type.as_str() {
            #[cfg(feature = "duckdb")]
            "duckdb" => crate::adapter::duckdb::templates(),
            "spark" => crate::adapter::spark::templates(),
            _ => crate::adapter::postgres::templates(),
        }
    }
}

/// Renders Jinja on this thread with `warehouse` as the one it queries.
/// Must run on the multi-threaded runtime, which the thread leaves for the
/// length of the render.
pub fn render_with<R>(warehouse: &Arc<dyn Warehouse>, render: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(|| with_warehouse(Arc::clone(warehouse), render))
}

/// [`Warehouse`] on a node's connection.
struct NodeWarehouse {
    connection: SharedConnection,
    adapter: Arc<dyn Adapter>,
    handle: Handle,
}

impl NodeWarehouse {
    /// Waits for `future` on this thread, which renders Jinja and so is
    /// not driving other tasks.
    fn block<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        tokio::task::block_in_place(|| self.handle.block_on(future))
    }
}

impl Warehouse for NodeWarehouse {
    fn execute(
        &self,
        sql: &str,
        auto_begin: bool,
        fetch: bool,
    ) -> Result<(AdapterResponse, QueryResult), AdapterError> {
        let mut connection = self.connection.clone();
        self.block(async move {
            if auto_begin {
                connection.begin().await?;
            }
            run_statement(&mut connection, sql, fetch).await
        })
    }

    fn begin(&self) -> Result<(), AdapterError> {
        let mut connection = self.connection.clone();
        self.block(async move { connection.begin().await })
    }

    fn commit(&self) -> Result<(), AdapterError> {
        let mut connection = self.connection.clone();
        self.block(async move { connection.commit().await })
    }

    fn relation_kind(&self, relation: &Relation) -> Result<Option<RelationKind>, AdapterError> {
        let mut connection = self.connection.clone();
        self.block(async move { connection.relation_kind(relation).await })
    }

    fn columns(&self, relation: &Relation) -> Result<Vec<ColumnInfo>, AdapterError> {
        let mut connection = self.connection.clone();
        self.block(async move { connection.columns(relation).await })
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        self.adapter.templates()
    }
}
