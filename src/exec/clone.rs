//! `dvt clone`: each selected model and seed becomes, in this target, a view
//! of the relation the `--state` manifest recorded for it, as dbt-core's
//! clone task does on warehouses without zero-copy clones (PostgreSQL,
//! DuckDB): `create view ... as select * from <state relation>`, with the
//! model's hooks and grants. A relation that already exists is left alone
//! (`No-op`) unless `--full-refresh`; a node the state manifest does not
//! have is a `No-op` too.

use std::sync::Arc;

use crate::adapter::materialize::{self, Materialization, ModelBuild, OnSchemaChange};
use crate::adapter::{self, AdapterError, Connection};
use crate::manifest::Node;

use super::node::{adapter_diagnostic, full_refresh, grants, hooks, node_connection, relation, run_outside, NodeHooks};
use super::results::{NodeResult, Status};
use super::Context;

/// Clones one node; never panics on user data.
pub(super) async fn clone(context: &Arc<Context>, node: &Node) -> NodeResult {
    let no_op = || NodeResult::new(node, Status::Success, "No-op".to_string());
    let Some(other) = context.options.state_relations.get(&node.unique_id) else {
        return no_op();
    };
    let target = relation(node);
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let existing = match connection.relation_kind(&target).await {
        Ok(kind) => kind,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    if existing.is_some() && !full_refresh(context, node) {
        return no_op();
    }
    let source = adapter::Relation {
        database: Some(other.database.clone()).filter(|database| !database.is_empty()),
        schema: other.schema.clone(),
        identifier: other.identifier.clone(),
    };
    let sql = match context.adapter.select_all(&source) {
        Ok(sql) => sql,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let hooks = hooks(node);
    let renderer = Arc::new(NodeHooks {
        context: Arc::clone(context),
        unique_id: node.unique_id.clone(),
        warehouse,
    });
    let build = ModelBuild {
        relation: target,
        materialization: Materialization::View,
        sql: &sql,
        incremental_strategy: None,
        unique_key: Vec::new(),
        partition_by: Vec::new(),
        on_schema_change: OnSchemaChange::Ignore,
        full_refresh: true,
        pre_hooks: hooks.pre,
        post_hooks: hooks.post,
        grants: grants(node),
        render_hooks: Some(Arc::clone(&renderer) as Arc<dyn adapter::HookRenderer>),
        // A clone is a view of the other run's relation, which kept its own contract.
        contract: None,
        batch: None,
    };
    let built = async {
        run_outside(&mut connection, &renderer, &hooks.before_begin).await?;
        let response = materialize::materialize_on(context.adapter.as_ref(), &mut connection, &build).await?;
        run_outside(&mut connection, &renderer, &hooks.after_commit).await?;
        Ok::<_, AdapterError>(response)
    };
    match built.await {
        Ok(response) => {
            let mut result = NodeResult::new(node, Status::Success, response.message.clone());
            result.adapter_response = Some(response);
            result.compiled_code = Some(sql);
            result
        }
        Err(error) => NodeResult::error(node, adapter_diagnostic(&error, node, Some(&sql))),
    }
}
