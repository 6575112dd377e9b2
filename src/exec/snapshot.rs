//! What a snapshot node does when it runs: its query is compiled with the
//! warehouse at hand, its config read, and one run applied by
//! [`crate::snapshot::materialize`], with its hooks and grants, as a model
//! is built.

use std::sync::Arc;

use crate::adapter::{self, AdapterError};
use crate::diagnostic::Diagnostic;
use crate::manifest::Node;
use crate::render;
use crate::snapshot::materialize::{snapshot_on, SnapshotBuild};

use super::node::{
    adapter_diagnostic, grants, hooks, node_connection, relation, run_outside, write_compiled, NodeHooks,
};
use super::results::{NodeResult, Status};
use super::warehouse::render_with;
use super::Context;

pub(super) async fn run(context: &Arc<Context>, node: &Node) -> NodeResult {
    let config = match crate::snapshot::config::read(&node.config) {
        Ok(config) => config,
        // Checked while rendering; a config changed by --defer or a
        // package could still get here.
        Err(problem) => {
            return NodeResult::error(
                node,
                Diagnostic::error(format!("snapshot `{}`: {}", node.name, problem.message))
                    .in_file(&node.original_file_path)
                    .hint(problem.hint),
            )
        }
    };
    let (mut connection, warehouse) = match node_connection(context).await {
        Ok(connection) => connection,
        Err(error) => return NodeResult::error(node, adapter_diagnostic(&error, node, None)),
    };
    let compiled = render_with(&warehouse, || {
        render::compile_node(&context.rendered, &context.project, node, false)
    });
    let sql = match compiled {
        Ok(sql) => sql,
        Err(diagnostic) => return NodeResult::error(node, diagnostic),
    };
    if let Err(error) = connection.commit_open().await {
        return NodeResult::error(node, adapter_diagnostic(&error, node, None));
    }
    let compiled_path = write_compiled(context, node, &sql);
    let hooks = hooks(node);
    let renderer = Arc::new(NodeHooks {
        context: Arc::clone(context),
        unique_id: node.unique_id.clone(),
        warehouse,
    });
    let build = SnapshotBuild {
        relation: relation(node),
        sql: &sql,
        config: &config,
        pre_hooks: hooks.pre,
        post_hooks: hooks.post,
        grants: grants(node),
        render_hooks: Some(Arc::clone(&renderer) as Arc<dyn adapter::HookRenderer>),
    };
    let built = async {
        run_outside(&mut connection, &renderer, &hooks.before_begin).await?;
        let response = snapshot_on(context.adapter.as_ref(), &mut connection, &build).await?;
        run_outside(&mut connection, &renderer, &hooks.after_commit).await?;
        Ok::<_, AdapterError>(response)
    };
    let mut result = match built.await {
        Ok(response) => {
            let mut result = NodeResult::new(node, Status::Success, response.message.clone());
            result.adapter_response = Some(response);
            result
        }
        Err(error) => NodeResult::error(node, adapter_diagnostic(&error, node, Some(&sql))),
    };
    result.compiled_code = Some(sql);
    result.compiled_path = compiled_path;
    result
}
