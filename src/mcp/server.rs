//! The MCP server: rmcp over stdin/stdout on a one-thread runtime. Each tool is one method
//! below, whose doc comment is the description the model reads and whose argument type gives
//! the JSON schema; adding a tool is adding a method. The work runs on tokio's blocking pool
//! so the server keeps answering (a ping, a cancel) while a sync talks to the remote.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;

use super::error::Explain;
use super::memory::MemoryArgs;
use super::resources::{self, Contents};
use super::tools::{self, DiffArgs, LogArgs, RollbackArgs, SessionsArgs, SyncArgs};
use super::ToolError;
use crate::env::Env;
use crate::workspace::Workspace;

/// What the model is told about the server as a whole.
const INSTRUCTIONS: &str = "ctx keeps this person's Claude Code context (CLAUDE.md, settings, \
skills, agents, MCP servers, project memory) in one git store synced between their machines. \
Answer questions about their settings, history, machines and projects from these tools rather \
than guessing. Secret values are never shown (they read `<secret>`) and are never accepted.";

/// Errors of serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The runtime could not start.
    #[error("starting the MCP server: {0}")]
    Runtime(#[source] std::io::Error),
    /// The client went away before, or while, initialising.
    #[error("the MCP client did not initialise the session: {0}")]
    Initialize(String),
    /// The server's task failed.
    #[error("the MCP server stopped: {0}")]
    Stopped(String),
}

/// The server: where things are, and how errors read.
#[derive(Clone)]
pub struct CtxServer {
    env: Arc<Env>,
    cwd: Arc<PathBuf>,
    explain: Explain,
    tool_router: ToolRouter<CtxServer>,
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub fn serve(env: Env, explain: Explain) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let server = CtxServer::new(env, explain);
    rt.block_on(async move {
        let running = server
            .serve((tokio::io::stdin(), tokio::io::stdout()))
            .await
            .map_err(|e| ServeError::Initialize(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| ServeError::Stopped(e.to_string()))?;
        Ok(())
    })
}

impl CtxServer {
    /// A server for this machine; a memory call without a folder is about `cwd`'s project.
    pub fn new(env: Env, explain: Explain) -> CtxServer {
        let cwd = std::env::current_dir().unwrap_or_else(|_| env.home.clone());
        CtxServer {
            env: Arc::new(env),
            cwd: Arc::new(cwd),
            explain,
            tool_router: Self::tool_router(),
        }
    }

    /// Runs a tool's work off the runtime's thread; its JSON, or its error explained, is the
    /// result the model reads.
    async fn run<F>(&self, work: F) -> CallToolResult
    where
        F: FnOnce(&Env, &std::path::Path) -> Result<Value, ToolError> + Send + 'static,
    {
        let (env, cwd) = (Arc::clone(&self.env), Arc::clone(&self.cwd));
        let done = tokio::task::spawn_blocking(move || work(&env, &cwd)).await;
        let result = done.unwrap_or_else(|e| Err(ToolError::Crashed(e.to_string())));
        match result {
            Ok(v) => {
                let text = serde_json::to_string_pretty(&v).unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text((self.explain)(e))]),
        }
    }
}

#[tool_router]
impl CtxServer {
    /// This machine against the store: live files that differ (with the fields that changed),
    /// open conflicts, files ctx cannot read, untracked entries, the remote (ahead/behind),
    /// this machine's name and whether it is approved to read the secrets. Use it first for
    /// "is my context in sync?" or "what did I change here?".
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn ctx_status(&self) -> CallToolResult {
        self.run(|env, _| tools::status(env)).await
    }

    /// Sync this machine with the others: commit live changes, fetch, merge per field, apply
    /// and push. Returns the report: what was committed and applied, and any conflict by file
    /// and field (both sides, secrets as `<secret>`). Conflicts are settled by the person with
    /// `ctx resolve PATH`.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true
    ))]
    async fn ctx_sync(&self, Parameters(args): Parameters<SyncArgs>) -> CallToolResult {
        self.run(move |env, _| tools::sync(env, args)).await
    }

    /// The store's history, newest first: each commit's id, time, machine, summary and its
    /// field-level changes (e.g. "settings.json: permissions.allow +Bash(make:*)"). Optionally
    /// only commits that touched one path. Use it for "what changed since yesterday?" or
    /// "which machine changed this?".
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn ctx_log(&self, Parameters(args): Parameters<LogArgs>) -> CallToolResult {
        self.run(move |env, _| tools::log(env, args)).await
    }

    /// Unified diffs of what changed, file by file, secret values as `<secret>`. Without
    /// revisions: the live files' changes not committed yet. With `from` (and optionally `to`):
    /// the store's changes between two commits from ctx_log.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn ctx_diff(&self, Parameters(args): Parameters<DiffArgs>) -> CallToolResult {
        self.run(move |env, _| tools::diff(env, args)).await
    }

    /// The projects (git repositories) the store knows: identity (remote URL or root commit),
    /// where each machine has them checked out, the branch last checked out, when last seen,
    /// and whether the store holds their memory. Use it for "where is this repo on my other
    /// machine?".
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn ctx_projects(&self) -> CallToolResult {
        self.run(|env, _| tools::projects(env)).await
    }

    /// The Claude Code sessions across machines, newest first: id, project, the machine that
    /// last wrote it, when, its title, and where it is on this machine. With `id`, the command
    /// that resumes it here (`cd DIR && claude --resume ID`). Use it for "which session was I
    /// in on my laptop?" and to resume one. Empty unless the person ran `ctx sessions enable`.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn ctx_sessions(&self, Parameters(args): Parameters<SessionsArgs>) -> CallToolResult {
        self.run(move |env, _| tools::sessions(env, args)).await
    }

    /// This project's memory: its CLAUDE.local.md, which Claude Code loads in this project and
    /// ctx restores into the project on every machine. Without `append`, reads it. With
    /// `append`, adds that one line, commits it to the store and syncs, so the other machines
    /// get it: use it when the person says "remember this for this project".
    #[tool(annotations(destructive_hint = false, open_world_hint = false))]
    async fn ctx_memory(&self, Parameters(args): Parameters<MemoryArgs>) -> CallToolResult {
        self.run(move |env, cwd| super::memory::memory(env, args, cwd))
            .await
    }

    /// Restore an earlier state of the store (all of it, or some paths) as a new commit, then
    /// write the live files. By default only previews what would change and changes nothing;
    /// show the preview to the person and call again with `confirm: true` only when they agree.
    #[tool(annotations(destructive_hint = true, open_world_hint = false))]
    async fn ctx_rollback(&self, Parameters(args): Parameters<RollbackArgs>) -> CallToolResult {
        self.run(move |env, _| tools::rollback(env, args)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CtxServer {
    fn get_info(&self) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_resources()
            .enable_tools()
            .build();
        ServerConfig::new(caps)
            .with_server_info(Implementation::new("ctx", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let env = (*self.env).clone();
        let listed = tokio::task::spawn_blocking(move || {
            Workspace::open(env).map(|ws| resources::list(&ws))
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("ctx crashed: {e}"), None))?;
        let files = listed.map_err(|e| self.protocol_error(e.into()))?;
        let items = files
            .into_iter()
            .map(|f| Resource::new(f.uri, f.path).with_mime_type(f.mime))
            .collect();
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let Some(path) = resources::path_of(&uri).map(String::from) else {
            return Err(not_found(&uri));
        };
        let env = (*self.env).clone();
        let read = tokio::task::spawn_blocking(move || {
            let ws = Workspace::open(env)?;
            resources::read(&ws, &path)
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("ctx crashed: {e}"), None))?;
        let (file, contents) = read
            .map_err(|e| self.protocol_error(e.into()))?
            .ok_or_else(|| not_found(&uri))?;
        let contents = match contents {
            Contents::Text(t) => ResourceContents::text(t, file.uri).with_mime_type(file.mime),
            Contents::Blob(b) => {
                ResourceContents::blob(b, file.uri).with_mime_type("application/octet-stream")
            }
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

impl CtxServer {
    /// A resource request that failed in ctx: a JSON-RPC error carrying the explained text.
    fn protocol_error(&self, e: ToolError) -> ErrorData {
        ErrorData::internal_error((self.explain)(e), None)
    }
}

fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("no store file at {uri}; resources/list names them (ctx://store/<path>)"),
        None,
    )
}
