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

use super::node::{adapter_diagnostic, compile_on, grants, hooks, node_connection, node_hooks, relation, run_outside};
use super::results::NodeResult;
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
    let compile = || render::compile_node(&context.rendered, &context.project, node, false);
    let compiled = match compile_on(context, node, &mut connection, &warehouse, compile, None).await {
        Ok(compiled) => compiled,
        Err(failed) => return *failed,
    };
    let hooks = hooks(node);
    let renderer = node_hooks(context, node, warehouse);
    let build = SnapshotBuild {
        relation: relation(node),
        sql: &compiled.sql,
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
    let built = built.await;
    drop(build);
    compiled.finish(node, built)
}
