//! The tools' work, synchronous and self-contained: each opens the workspace, takes the store's
//! lock if it writes, does one library call and returns JSON (the shape `--json` prints where
//! the CLI has it). Nothing is kept between calls.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ToolError;
use crate::env::Env;
use crate::lock::Lock;
use crate::workspace::Workspace;

/// The most commits `ctx_log` returns at once.
pub const LOG_MAX: usize = 200;

/// Arguments of `ctx_log`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogArgs {
    /// Only commits that changed this path: a store path (`settings.json`, `claude/skills/x`,
    /// `projects/…`) or a live path (`~/.claude/CLAUDE.md`). Omit for all commits.
    pub path: Option<String>,
    /// How many commits, newest first (default 20, at most 200).
    pub n: Option<usize>,
}

/// Arguments of `ctx_diff`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffArgs {
    /// Limit the diff to these paths (store paths like `settings.json`, or live paths).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Compare from this revision (a commit id from `ctx_log`, `HEAD~N`). Omit both `from` and
    /// `to` for the live files' changes not yet committed.
    pub from: Option<String>,
    /// Compare to this revision (default: the store's newest commit). Needs `from`.
    pub to: Option<String>,
}

/// Arguments of `ctx_sync`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncArgs {
    /// Push the result to the remote (default true); false commits, fetches, merges and
    /// applies only.
    pub push: Option<bool>,
}

/// Arguments of `ctx_rollback`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackArgs {
    /// The state to restore: a commit id from `ctx_log`, or `HEAD~N`. Give this or `before`.
    pub rev: Option<String>,
    /// Restore the state as of this time instead: "2026-11-20 14:00", "2 hours ago", RFC 3339.
    pub before: Option<String>,
    /// Restore only these paths (default: everything but who can read the secrets).
    #[serde(default)]
    pub paths: Vec<String>,
    /// false (the default) only previews what would change. true makes the new commit and
    /// writes the live files: pass it only after the person agreed to the preview.
    #[serde(default)]
    pub confirm: bool,
}

/// Arguments of `ctx_sessions`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsArgs {
    /// One session's id (or a unique prefix of it): where its transcript is on this machine
    /// and the command that resumes it here. Omit to list every session.
    pub id: Option<String>,
}

/// Takes the store's lock for a tool that writes, held until the value is dropped (no store
/// yet: no lock; opening the workspace reports the missing store).
pub fn lock(env: &Env, what: &str) -> Result<Option<Lock>, ToolError> {
    if !env.store_dir.join("HEAD").exists() {
        return Ok(None);
    }
    let lock = Lock::acquire(&env.state_dir(), what, crate::lock::default_wait())?;
    Ok(Some(lock))
}

/// A serialisable value as JSON (these types always serialise).
pub fn to_json(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `ctx_status`: `ctx status --json`, plus whether this machine can read the secrets.
pub fn status(env: &Env) -> Result<Value, ToolError> {
    let ws = Workspace::open(env.clone())?;
    let report = crate::overview::overview(&ws)?;
    let approved = !report.cannot_read_secrets.contains(&report.machine);
    let mut v = to_json(&report);
    v["approved"] = Value::Bool(approved);
    Ok(v)
}

/// `ctx_sync`: `ctx sync --json` (under the store's lock).
pub fn sync(env: &Env, args: SyncArgs) -> Result<Value, ToolError> {
    let _lock = lock(env, "mcp sync")?;
    let opts = crate::sync::SyncOptions {
        push: args.push.unwrap_or(true),
        ..Default::default()
    };
    Ok(to_json(&crate::sync::sync(env, opts)?))
}

/// `ctx_log`: `ctx log --json`, each commit with the changes its message lists.
pub fn log(env: &Env, args: LogArgs) -> Result<Value, ToolError> {
    let ws = Workspace::open(env.clone())?;
    let Some(head) = ws.repo.head else {
        return Ok(json!([]));
    };
    let path = match &args.path {
        Some(p) => ws.store_paths_for(std::slice::from_ref(p))?.pop(),
        None => None,
    };
    let n = args.n.unwrap_or(20).min(LOG_MAX);
    let history = ws.repo.store.history();
    let mut out = Vec::new();
    for e in history.log(head, path.as_deref(), n)? {
        let id = crate::store::ObjectId::from_hex(e.id.as_bytes()).ok();
        let message = match id {
            Some(id) => history.commit_message(id)?,
            None => String::new(),
        };
        let mut v = to_json(&e);
        v["when"] = json!(jiff::Timestamp::from_second(e.time)
            .map(|t| t.to_string())
            .unwrap_or_default());
        v["changes"] = json!(changes(&message));
        out.push(v);
    }
    Ok(Value::Array(out))
}

/// The field-level summary lines of a commit message (its `- ` items; redacted when written).
fn changes(message: &str) -> Vec<&str> {
    message
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("- "))
        .collect()
}

/// `ctx_diff`: unified diffs, file by file, secrets as `<secret>`.
pub fn diff(env: &Env, args: DiffArgs) -> Result<Value, ToolError> {
    use crate::diff::FileDiff;
    let ws = Workspace::open(env.clone())?;
    let only = ws.store_paths_for(&args.paths)?;
    let diffs = match (&args.from, &args.to) {
        (None, None) => crate::diff::live_changes(&ws, &only)?,
        (Some(from), to) => crate::diff::between(&ws, from, to.as_deref(), &only)?,
        (None, Some(_)) => {
            return Err(ToolError::Refused {
                message: "`to` needs `from`".into(),
                hint: "give `from` as well (a commit id from ctx_log, or HEAD~N)".into(),
            })
        }
    };
    let files: Vec<Value> = diffs
        .into_iter()
        .map(|d| match d {
            FileDiff::Text { path, old, new } => {
                let text = similar::TextDiff::from_lines(&old, &new)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
                    .to_string();
                json!({ "path": path, "diff": text })
            }
            FileDiff::Binary { path } => json!({ "path": path, "binary": true }),
        })
        .collect();
    Ok(json!({ "files": files }))
}

/// One project as `ctx_projects` lists it.
#[derive(Debug, Serialize)]
pub struct ProjectInfo {
    /// The record's id (`projects/<id>.yaml`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Normalised remote URL, else `root:<root commit id>`.
    pub identity: String,
    /// Per machine, where it is checked out (each machine's own home filled in).
    pub worktrees: BTreeMap<String, Vec<String>>,
    /// The branch last checked out, on any machine.
    pub last_branch: Option<String>,
    /// When a machine last saw it (RFC 3339).
    pub last_seen: Option<String>,
    /// The store path of its memory (`CLAUDE.local.md`), when the store holds one.
    pub memory: Option<String>,
}

/// `ctx_projects`: every project the store knows.
pub fn projects(env: &Env) -> Result<Value, ToolError> {
    let ws = Workspace::open(env.clone())?;
    let homes = machine_homes(&ws);
    let mut out = Vec::new();
    let records = ws.repo.files.keys().filter_map(|p| {
        let id = p.strip_prefix("projects/")?.strip_suffix(".yaml")?;
        (!id.contains('/')).then(|| (p.clone(), id.to_string()))
    });
    for (path, id) in records.collect::<Vec<_>>() {
        let Some(bytes) = ws.repo.read(&path)? else {
            continue;
        };
        let rec: crate::model::ProjectRecord =
            crate::model::parse_yaml(&path, &bytes).map_err(crate::error::Error::from)?;
        let worktrees = rec
            .worktrees
            .into_iter()
            .map(|(m, paths)| {
                let home = homes.get(&m).cloned().unwrap_or_default();
                let paths = paths
                    .iter()
                    .map(|p| match home.is_empty() {
                        true => p.clone(),
                        false => crate::pathmap::to_live(p, &home),
                    })
                    .collect();
                (m, paths)
            })
            .collect();
        let memory = format!("projects/{id}/CLAUDE.local.md");
        out.push(ProjectInfo {
            memory: ws.repo.knows(&memory).then_some(memory),
            id,
            name: rec.name,
            identity: rec.identity,
            worktrees,
            last_branch: rec.last_branch,
            last_seen: rec.last_seen,
        });
    }
    Ok(json!({ "machine": ws.machine(), "projects": out }))
}

/// Each machine's home, from its record: a project path is stored under `${CTX_HOME}`.
fn machine_homes(ws: &Workspace) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in ws.repo.files.keys() {
        let Some(name) = p
            .strip_prefix("machines/")
            .and_then(|n| n.strip_suffix(".yaml"))
        else {
            continue;
        };
        let rec = ws
            .repo
            .read(p)
            .ok()
            .flatten()
            .and_then(|b| crate::model::parse_yaml::<crate::model::MachineRecord>(p, &b).ok());
        if let Some(rec) = rec {
            out.insert(name.to_string(), rec.home);
        }
    }
    out
}

/// `ctx_rollback`: a preview unless `confirm`, then the rollback itself (under the lock).
pub fn rollback(env: &Env, args: RollbackArgs) -> Result<Value, ToolError> {
    let _lock = lock(env, "mcp rollback")?;
    let mut ws = Workspace::open(env.clone())?;
    let t = crate::rollback::target(
        &ws,
        args.rev.as_deref(),
        args.before.as_deref(),
        &args.paths,
    )?;
    let scope = match t.paths.is_empty() {
        true => json!("everything but ctx.yaml and machines/ (who can read the secrets)"),
        false => json!(t.paths),
    };
    if !args.confirm {
        let preview = crate::rollback::preview(&ws, &t)?;
        return Ok(json!({
            "dry_run": true,
            "rev": t.rev.to_string(),
            "restores": scope,
            "plan": to_json(&preview.plan),
            "next": "nothing was changed; call ctx_rollback again with confirm: true to restore this",
        }));
    }
    let done = crate::rollback::rollback(&mut ws, &t, false)?;
    Ok(json!({
        "dry_run": false,
        "rev": t.rev.to_string(),
        "restores": scope,
        "commit": done.commit.map(|c| c.to_string()),
        "subject": done.subject,
        "applied": to_json(&done.applied.plan),
    }))
}

/// `ctx_sessions`: `ctx sessions ls --json`, or one session with its resume command (`ctx
/// sessions show`); titles (a first prompt) with anything credential-shaped redacted.
pub fn sessions(env: &Env, args: SessionsArgs) -> Result<Value, ToolError> {
    let ws = Workspace::open(env.clone())?;
    let redact = |mut i: crate::sessions::SessionInfo| {
        i.title = i.title.map(|t| super::memory::redact_tokens(&t));
        i
    };
    let enabled = crate::sessions::settings(&ws).enabled;
    match args.id {
        None => {
            let list: Vec<_> = crate::sessions::list(&ws)?
                .into_iter()
                .map(redact)
                .collect();
            Ok(json!({ "enabled": enabled, "machine": ws.machine(), "sessions": to_json(&list) }))
        }
        Some(id) => {
            let (info, resume) = crate::sessions::show(&ws, &id)?;
            Ok(json!({ "session": to_json(&redact(info)), "resume": resume }))
        }
    }
}
