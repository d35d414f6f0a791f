//! The review gate: configuration that runs code or widens permissions, arriving from another
//! machine, is held until the person accepts it here (`ctx review --accept`), even when a
//! trusted machine signed it — a compromised machine must not own the others.
//!
//! What counts: in settings, `hooks`, `statusLine`, the credential helpers, `permissions.
//! defaultMode`, allow rules that grant the shell without a command prefix, `enabledPlugins`,
//! `extraKnownMarketplaces`; in the MCP files, each server's `command`, `args`, `url`, `type`
//! and the names of its `env` and `headers` (user scope, Claude Desktop, and each project's
//! local-scope servers alike); any file under `claude/hooks/`, and any executable
//! file that is new or changed. A held file is held whole: the live file keeps this machine's
//! version and everything else of the sync is applied. Changes made on this machine are never
//! held, and a machine's first restore applies the store as it is.

use serde_json::Value;

/// Settings fields that run code or change what Claude may do unasked.
const SETTINGS_FIELDS: &[&str] = &[
    "hooks",
    "statusLine",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "otelHeadersHelper",
    "enabledPlugins",
    "extraKnownMarketplaces",
];

/// MCP server fields that decide what runs or where it connects.
const SERVER_FIELDS: &[&str] = &["command", "args", "url", "type"];

/// A store file's form for the gate: bytes and exec bit.
pub type Form<'a> = Option<(&'a [u8], bool)>;

/// What of `path` changed between `before` (what this machine has applied) and `after` that
/// runs code or widens permissions; empty when nothing did.
pub fn exec_changes(path: &str, before: Form<'_>, after: Form<'_>) -> Vec<String> {
    let Some((after_bytes, after_exec)) = after else {
        // A deletion takes something away; it never adds what runs.
        return Vec::new();
    };
    let mut out = Vec::new();
    let changed = before.map(|(b, _)| b) != Some(after_bytes);
    if after_exec && (changed || !before.is_some_and(|(_, x)| x)) {
        out.push("an executable file".to_string());
    }
    if path.starts_with("claude/hooks/") && changed && out.is_empty() {
        out.push("a hook script".to_string());
    }
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
    let old = before.and_then(|(b, _)| parse(b)).unwrap_or(Value::Null);
    let Some(new) = parse(after_bytes) else {
        return out;
    };
    if path == "claude/settings.json" {
        out.extend(settings_changes(&old, &new));
    } else if crate::layout::is_mcp_file(path) {
        out.extend(server_changes(&old, &new));
    }
    out
}

fn settings_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut out: Vec<String> = SETTINGS_FIELDS
        .iter()
        .filter(|f| masked(&old[**f]) != masked(&new[**f]) && !new[**f].is_null())
        .map(|f| f.to_string())
        .collect();
    let mode = |v: &Value| v["permissions"]["defaultMode"].clone();
    if mode(old) != mode(new) && !mode(new).is_null() {
        out.push(format!("permissions.defaultMode: {}", mode(new)));
    }
    let allow = |v: &Value| -> Vec<String> {
        v["permissions"]["allow"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let had = allow(old);
    for rule in allow(new) {
        if broad_shell(&rule) && !had.contains(&rule) {
            out.push(format!("permissions.allow: {rule}"));
        }
    }
    out
}

/// An allow rule for the shell without a command prefix.
fn broad_shell(rule: &str) -> bool {
    let r: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(r.as_str(), "Bash" | "Bash(*)" | "Bash(:*)" | "Bash(**)")
}

fn servers(v: &Value) -> &serde_json::Map<String, Value> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    let map = v.get("mcpServers").unwrap_or(v);
    map.as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(serde_json::Map::new))
}

fn server_changes(old: &Value, new: &Value) -> Vec<String> {
    let (before, after) = (servers(old), servers(new));
    let mut out = Vec::new();
    for (name, s) in after {
        let Some(o) = before.get(name) else {
            out.push(format!("mcpServers.{name} (new)"));
            continue;
        };
        for f in SERVER_FIELDS {
            if masked(&o[*f]) != masked(&s[*f]) {
                out.push(format!("mcpServers.{name}.{f}"));
            }
        }
        for f in ["env", "headers"] {
            let keys = |v: &Value| -> Vec<String> {
                v[f].as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default()
            };
            if keys(o) != keys(s) {
                out.push(format!("mcpServers.{name}.{f} names"));
            }
        }
    }
    out
}

/// A value with sealed secrets replaced by one marker: a re-encryption or a rotated secret is
/// no new code.
fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains("ENC[age:") => Value::String("<secret>".into()),
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(path: &str, old: &str, new: &str) -> Vec<String> {
        exec_changes(
            path,
            Some((old.as_bytes(), false)),
            Some((new.as_bytes(), false)),
        )
    }

    #[test]
    fn settings_that_run_code_or_widen_permissions_are_named() {
        let old = r#"{"model":"sonnet","permissions":{"allow":["Bash(git status)"]}}"#;
        let new = r#"{"model":"opus","hooks":{"SessionStart":[]},"statusLine":{"command":"x"},"permissions":{"allow":["Bash(git status)","Bash(*)","Read(x)"],"defaultMode":"bypassPermissions"}}"#;
        let got = changes("claude/settings.json", old, new);
        assert_eq!(
            got,
            vec![
                "hooks",
                "statusLine",
                "permissions.defaultMode: \"bypassPermissions\"",
                "permissions.allow: Bash(*)"
            ]
        );
        let only_model =
            r#"{"model":"opus","permissions":{"allow":["Bash(git status)","Bash(npm test)"]}}"#;
        assert!(changes("claude/settings.json", old, only_model).is_empty());
    }

    #[test]
    fn mcp_commands_and_env_names_are_named_but_not_a_rotated_secret() {
        let old =
            r#"{"github":{"command":"npx","args":["-y","gh"],"env":{"TOKEN":"ENC[age:aaa]"}}}"#;
        let rotated =
            r#"{"github":{"command":"npx","args":["-y","gh"],"env":{"TOKEN":"ENC[age:bbb]"}}}"#;
        assert!(changes(crate::layout::CLAUDE_MCP, old, rotated).is_empty());
        let evil = r#"{"github":{"command":"sh","args":["-c","curl x"],"env":{"TOKEN":"ENC[age:aaa]","X":"1"}},"new":{"url":"https://x"}}"#;
        assert_eq!(
            changes(crate::layout::CLAUDE_MCP, old, evil),
            vec![
                "mcpServers.github.command",
                "mcpServers.github.args",
                "mcpServers.github.env names",
                "mcpServers.new (new)"
            ]
        );
    }

    #[test]
    fn executable_files_and_hook_scripts_are_named_and_deletions_are_not() {
        let path = "claude/skills/x/run.sh";
        assert_eq!(
            exec_changes(path, None, Some((b"#!/bin/sh\n", true))),
            vec!["an executable file"]
        );
        assert_eq!(
            exec_changes(path, Some((b"a", false)), Some((b"a", true))),
            vec!["an executable file"]
        );
        assert!(exec_changes(path, Some((b"a", true)), None).is_empty());
        assert!(exec_changes(
            "claude/agents/x.md",
            Some((b"a", false)),
            Some((b"b", false))
        )
        .is_empty());
        assert_eq!(
            exec_changes(
                "claude/hooks/x.py",
                Some((b"a", false)),
                Some((b"b", false))
            ),
            vec!["a hook script"]
        );
    }
}

/// What `ctx review --accept` or `--reject` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Decided {
    /// The files decided.
    pub files: Vec<String>,
    /// Live files written (accept).
    pub applied: Vec<String>,
}

/// Errors of the review commands.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A path with nothing held.
    #[error("nothing is held for review at {0}")]
    NotHeld(String),
    /// The workspace.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
    /// The held list cannot be written.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::store::StoreError> for ReviewError {
    fn from(e: crate::store::StoreError) -> Self {
        ReviewError::Workspace(e.into())
    }
}

type Result<T, E = ReviewError> = std::result::Result<T, E>;

use crate::state::{Held, HeldChange};
use crate::store::{Entry, ObjectId};
use crate::workspace::Workspace;

fn save(ws: &Workspace, held: &Held) -> Result<()> {
    held.save(&ws.state.held).map_err(|source| ReviewError::Io {
        path: ws.state.held.clone(),
        source,
    })
}

/// Holds what arrived between `since` (the commit the live files were last brought to; `None`:
/// what this machine last applied) and `main` that runs code or widens permissions, before the
/// apply that would write it. Returns the changes newly held. A machine's first restore (it
/// never applied anything) holds nothing, and neither does one whose config turns review off.
pub fn hold_incoming(ws: &Workspace, since: Option<ObjectId>) -> Result<Vec<HeldChange>> {
    let applied = ws.state.applied();
    let on = crate::workspace::machine_config(&ws.env)?.review;
    if !on || applied.files.is_empty() {
        return Ok(Vec::new());
    }
    let store = &ws.repo.store;
    // Since a known commit: only the paths its tree and the head's differ in, found by a tree
    // diff that skips equal subtrees (a sync that brought one file reads a few trees, not all).
    let (before, paths): (crate::store::Files, Vec<String>) = match since {
        Some(c) => {
            let head_tree = ws.repo.head.map(|h| store.tree_of(h)).transpose()?;
            let diff = store.diff_trees(Some(store.tree_of(c)?), head_tree)?;
            let paths = diff.keys().cloned().collect();
            let before = diff
                .into_iter()
                .filter_map(|(p, (old, _))| old.map(|e| (p, e)))
                .collect();
            (before, paths)
        }
        None => {
            let before = applied
                .files
                .iter()
                .map(|(p, oid)| {
                    let exec = ws
                        .repo
                        .files
                        .get(p)
                        .is_some_and(|e| e.oid == *oid && e.exec);
                    (p.clone(), Entry { oid: *oid, exec })
                })
                .collect();
            (before, ws.repo.files.keys().cloned().collect())
        }
    };
    let mut held = Held::load(&ws.state.held);
    let mut fresh = Vec::new();
    for path in &paths {
        let Some(want) = ws.repo.files.get(path) else {
            continue;
        };
        if !crate::layout::is_live_path(path) || before.get(path) == Some(want) {
            continue;
        }
        let old = before
            .get(path)
            .map(|e| store.blob(e.oid).map(|b| (b, e.exec)))
            .transpose()?;
        let new = store.blob(want.oid)?;
        let old_form = old.as_ref().map(|(b, x)| (b.as_slice(), *x));
        let fields = exec_changes(path, old_form, Some((&new, want.exec)));
        if let Some(h) = held.files.get_mut(path) {
            // Still rejected while the change is the one rejected.
            let prior = ObjectId::from_hex(h.blob.as_bytes())
                .ok()
                .and_then(|o| store.blob(o).ok());
            let same = prior.is_some_and(|p| {
                exec_changes(path, Some((&p, want.exec)), Some((&new, want.exec))).is_empty()
            });
            h.blob = want.oid.to_string();
            if same {
                continue;
            }
            h.rejected = false;
        }
        if fields.is_empty() {
            continue;
        }
        let last = store
            .history()
            .log(ws.repo.head.unwrap_or(want.oid), Some(path), 1)?;
        let change = HeldChange {
            path: path.clone(),
            fields,
            blob: want.oid.to_string(),
            commit: last.first().map(|l| l.id.clone()).unwrap_or_default(),
            machine: last.first().and_then(|l| l.machine.clone()),
            rejected: false,
        };
        held.files.insert(path.clone(), change.clone());
        fresh.push(change);
    }
    // A file whose store version no longer differs from what was applied is nothing to review.
    held.files
        .retain(|p, _| ws.repo.files.get(p).map(|e| e.oid) != applied.files.get(p).copied());
    save(ws, &held)?;
    Ok(fresh)
}

/// The changes waiting for a decision.
pub fn pending(ws: &Workspace) -> Vec<HeldChange> {
    Held::load(&ws.state.held).pending().cloned().collect()
}

/// The held entries `paths` name (all pending ones when empty).
fn chosen(held: &Held, ws: &Workspace, paths: &[String]) -> Result<Vec<String>> {
    if paths.is_empty() {
        return Ok(held.pending().map(|h| h.path.clone()).collect());
    }
    let mut out = Vec::new();
    for p in paths {
        let store_paths = ws.store_paths_for(std::slice::from_ref(p))?;
        let hit: Vec<String> = held
            .files
            .keys()
            .filter(|k| store_paths.iter().any(|s| crate::layout::under(k, s)))
            .cloned()
            .collect();
        if hit.is_empty() {
            return Err(ReviewError::NotHeld(p.clone()));
        }
        out.extend(hit);
    }
    Ok(out)
}

/// Applies the held changes at `paths` (all pending ones when empty) to the live files.
pub fn accept(ws: &Workspace, paths: &[String]) -> Result<Decided> {
    let mut held = Held::load(&ws.state.held);
    let files = chosen(&held, ws, paths)?;
    for f in &files {
        held.files.remove(f);
    }
    save(ws, &held)?;
    let scope = crate::apply::Scope::Paths(files.clone());
    let done = crate::apply::to_head(ws, scope, crate::apply::OnDirty::Refuse)?;
    crate::notify::after_review(ws, "accept", &files);
    Ok(Decided {
        files,
        applied: done
            .plan
            .actions
            .iter()
            .map(|a| ws.env.display(&a.live))
            .collect(),
    })
}

/// Keeps this machine's version of the held files at `paths` (all pending ones when empty):
/// nothing is written or pushed, and the same change is not asked again.
pub fn reject(ws: &Workspace, paths: &[String]) -> Result<Decided> {
    let mut held = Held::load(&ws.state.held);
    let files = chosen(&held, ws, paths)?;
    for f in &files {
        if let Some(h) = held.files.get_mut(f) {
            h.rejected = true;
        }
    }
    save(ws, &held)?;
    crate::notify::after_review(ws, "reject", &files);
    Ok(Decided {
        files,
        applied: Vec::new(),
    })
}
