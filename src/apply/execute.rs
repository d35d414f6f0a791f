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
            (Source::McpServers, op) => {
                let servers: Option<Value> = match op {
                    Op::Write => Some(
                        serde_json::from_slice(action.bytes.as_deref().unwrap_or_default())
                            .map_err(|e| io(std::io::Error::other(e)))?,
                    ),
                    Op::Delete => None,
                };
                splice_mcp(sys, &action.live, servers.as_ref())?;
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

/// Sets (or removes) the `mcpServers` key of a shared JSON file, leaving every other byte alone.
fn splice_mcp(sys: &dyn System, path: &Path, servers: Option<&Value>) -> Result<()> {
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
        .then(|| crate::format::splice_key(&text, "mcpServers", servers))
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
