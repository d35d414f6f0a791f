//! Performing a plan: whole files written on a few threads (atomic, permissions kept), shared
//! files spliced key by key, and the applied record updated to what was written.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::plan::{Action, Op, Plan};
use super::system::System;
use crate::error::{Error, Result};
use crate::layout::Source;
use crate::state::Applied;
use crate::workspace::Workspace;

/// Performs `plan` on `sys` and records what the live files now hold. A dry run records nothing.
pub fn execute(ws: &Workspace, plan: &Plan, sys: &dyn System, record: bool) -> Result<()> {
    let mut applied = ws.state.applied();
    let save = |applied: &Applied| -> Result<()> {
        if !record {
            return Ok(());
        }
        applied
            .save(&ws.state.applied)
            .map_err(crate::error::io(&ws.state.applied))
    };
    if let Err(e) = write_whole(plan, sys, &mut applied) {
        // What was written is recorded, so nothing written looks like a user's change.
        save(&applied)?;
        return Err(e);
    }
    for action in &plan.actions {
        let io = crate::error::io(&action.live);
        match (&action.source, action.op) {
            (Source::Whole, Op::Write) => continue,
            (Source::Whole, Op::Delete) => {
                sys.remove(&action.live).map_err(io)?;
                // Folders emptied by the deletion go too (a skill removed everywhere), up to
                // the Claude home; a folder holding anything else stays.
                let mut dir = action.live.parent();
                while let Some(d) =
                    dir.filter(|d| d.starts_with(&ws.env.claude_dir) && *d != ws.env.claude_dir)
                {
                    sys.remove_empty_dir(d);
                    dir = d.parent();
                }
            }
            // A layer is never planned: it is no live file of its own.
            (Source::Layer, _) => continue,
            (source, op) => {
                let servers: Option<Value> = match op {
                    Op::Write => Some(
                        serde_json::from_slice(action.bytes.as_deref().unwrap_or_default())
                            .map_err(|e| io(std::io::Error::other(e)))?,
                    ),
                    Op::Delete => None,
                };
                splice_mcp(sys, &action.live, source, servers.as_ref())?;
            }
        }
        match action.target {
            Some(e) => applied.files.insert(action.path.clone(), e.oid),
            None => applied.files.remove(&action.path),
        };
    }
    for (path, entry) in &plan.in_sync {
        match entry {
            Some(e) => applied.files.insert(path.clone(), e.oid),
            None => applied.files.remove(path),
        };
    }
    save(&applied)
}

/// Whole-file writes, on a few threads: creating thousands of files is bound by the file
/// system's latency, not by the CPU (a new machine's restore).
fn write_whole(plan: &Plan, sys: &dyn System, applied: &mut Applied) -> Result<()> {
    let writes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.source == Source::Whole && a.op == Op::Write)
        .collect();
    let dirs: BTreeSet<&Path> = writes.iter().filter_map(|a| a.live.parent()).collect();
    for d in dirs {
        sys.create_dir_all(d).map_err(crate::error::io(d))?;
    }
    let workers = 4.min(writes.len()).max(1);
    let chunk = writes.len().div_ceil(workers).max(1);
    let results: Vec<(&Action, std::io::Result<()>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = writes
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|a| {
                            let bytes = a.bytes.as_deref().unwrap_or_default();
                            let mode = crate::fsx::mode_for(&a.live, a.exec, a.private);
                            (*a, sys.replace(&a.live, bytes, mode))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut failed = None;
    for (action, result) in results {
        match result {
            Ok(()) => {
                if let Some(e) = action.target {
                    applied.files.insert(action.path.clone(), e.oid);
                }
            }
            Err(source) if failed.is_none() => {
                failed = Some(Error::Io {
                    path: action.live.clone(),
                    source,
                })
            }
            Err(_) => {}
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Sets (or removes) the `mcpServers` key of a shared JSON file, leaving every other byte alone;
/// for a project's servers, that key of its entry under `projects`, keeping every other key of
/// the entry (the rest of `projects` is rendered again, in Claude Code's own style).
fn splice_mcp(
    sys: &dyn System,
    path: &Path,
    source: &Source,
    servers: Option<&Value>,
) -> Result<()> {
    let io = crate::error::io(path);
    let text = match sys.read(path) {
        Ok(t) => String::from_utf8_lossy(&t).to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if servers.is_none() {
                return Ok(());
            }
            "{}\n".to_string()
        }
        Err(e) => return Err(io(e)),
    };
    // Only a file that parses is spliced: in a damaged one, ctx could not tell its key's bytes
    // from the rest, which belongs to other tools.
    let parsed = serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object());
    let out = parsed
        .then(|| match source {
            Source::ProjectMcp(key) => splice_project(&text, key, servers),
            _ => crate::format::splice_key(&text, "mcpServers", servers),
        })
        .flatten()
        .ok_or_else(|| Error::NotAnObject {
            path: path.to_path_buf(),
        })?;
    if out != text {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sys.create_dir_all(dir).map_err(crate::error::io(dir))?;
        }
        // A new shared file holds decrypted secrets from its first byte: private. An existing one
        // keeps its mode.
        sys.replace(path, out.as_bytes(), crate::fsx::private_mode(path))
            .map_err(io)?;
    }
    Ok(())
}

/// `text` (`~/.claude.json`) with `projects[key].mcpServers` set to `servers`, or emptied for
/// `None` (as Claude Code leaves a project without local servers). A project entry missing here
/// is created holding only its servers; nothing is written for a deletion where there is none.
fn splice_project(text: &str, key: &str, servers: Option<&Value>) -> Option<String> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let mut projects = match doc.get("projects") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return None,
        None if servers.is_none() => return Some(text.to_string()),
        None => serde_json::Map::new(),
    };
    let entry = match projects.get_mut(key) {
        Some(Value::Object(m)) => m,
        Some(_) => return None,
        None if servers.is_none() => return Some(text.to_string()),
        None => {
            projects.insert(key.to_string(), Value::Object(Default::default()));
            projects.get_mut(key)?.as_object_mut()?
        }
    };
    let value = servers
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    entry.insert("mcpServers".to_string(), value);
    crate::format::splice_key(text, "projects", Some(&Value::Object(projects)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projects_servers_are_spliced_keeping_the_rest_of_its_entry() {
        let text = "{\n  \"numStartups\": 3,\n  \"projects\": {\n    \"/w/app\": {\n      \"mcpServers\": {},\n      \"lastCost\": 0.5\n    }\n  }\n}\n";
        let servers = serde_json::json!({"db": {"command": "uvx"}});
        let out = splice_project(text, "/w/app", Some(&servers)).unwrap_or_default();
        let v: Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(
            v["projects"]["/w/app"]["mcpServers"]["db"]["command"],
            "uvx"
        );
        assert_eq!(v["projects"]["/w/app"]["lastCost"], 0.5);
        assert!(out.starts_with("{\n  \"numStartups\": 3,\n"), "{out}");
        let emptied = splice_project(&out, "/w/app", None).unwrap_or_default();
        let v: Value = serde_json::from_str(&emptied).unwrap_or_default();
        assert_eq!(v["projects"]["/w/app"]["mcpServers"], serde_json::json!({}));
        // A deletion for a project this file has no entry of writes nothing.
        assert_eq!(splice_project(text, "/other", None).as_deref(), Some(text));
        let added = splice_project(text, "/other", Some(&servers)).unwrap_or_default();
        let v: Value = serde_json::from_str(&added).unwrap_or_default();
        assert_eq!(
            v["projects"]["/other"]["mcpServers"]["db"]["command"],
            "uvx"
        );
    }
}
