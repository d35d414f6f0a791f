//! Live vs store, per file: what `ctx status` shows and what a commit would record.

use serde::Serialize;

use super::snapshot::{captured_bytes, Snapshot};
use crate::error::Result;
use crate::format::Kind;
use crate::layout::is_live_path;
use crate::store::{Entry, ObjectId, Store};
use crate::workspace::Workspace;

/// How a store path differs between live and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// Live only.
    Added,
    /// Both, different.
    Modified,
    /// Gone from the live side after ctx saw it there.
    Deleted,
    /// In the store, never seen live on this machine: `apply` would create it.
    Missing,
    /// The live file is as ctx last wrote it, but the store has moved on (an apply was cut
    /// short): not a change of the user's; `apply` brings it up to date.
    Behind,
}

/// One line of `ctx status`.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    /// Store path.
    pub path: String,
    /// What differs.
    pub state: FileState,
    /// Changed fields of a structured file.
    pub fields: Vec<String>,
}

/// Live vs store, per file.
pub fn status(ws: &Workspace, snap: &Snapshot) -> Result<Vec<FileStatus>> {
    // Read only when some file differs: a clean status never needs it.
    let applied_cell = std::cell::OnceCell::new();
    let applied = || applied_cell.get_or_init(|| ws.state.applied());
    let head = &ws.repo.files;
    let mut out = Vec::new();
    // Both maps are sorted by path: one merged pass finds the paths that differ, without a set of
    // every path or a live location for each stored file (only a stored file with no live copy
    // needs one: a project's memory has no live place on a machine without the project).
    let mut paths: Vec<&String> = Vec::new();
    let mut live_it = snap.files.iter().peekable();
    let mut head_it = head.iter().peekable();
    loop {
        let order = match (live_it.peek(), head_it.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((l, _)), Some((h, _))) => l.cmp(h),
        };
        match order {
            std::cmp::Ordering::Less => paths.extend(live_it.next().map(|(p, _)| p)),
            std::cmp::Ordering::Greater => {
                let Some((p, _)) = head_it.next() else { break };
                if is_live_path(p) && crate::layout::live_location(&ws.env, p).is_some() {
                    paths.push(p);
                }
            }
            std::cmp::Ordering::Equal => {
                let (Some((p, c)), Some((_, s))) = (live_it.next(), head_it.next()) else {
                    break;
                };
                if c.entry != Some(*s) {
                    paths.push(p);
                }
            }
        }
    }
    for path in paths {
        if snap.left_out(path) {
            continue;
        }
        let live = snap.files.get(path).and_then(|c| c.entry);
        let stored = head.get(path).copied();
        // Same on both sides, or on neither (a machine's empty local layer): nothing to show,
        // and no need for the applied record.
        if live == stored {
            continue;
        }
        let seen = applied().files.get(path).copied();
        let behind = |l: Entry| -> Result<bool> {
            Ok(seen.is_some()
                && seen != stored.map(|s| s.oid)
                && still_matches(ws, path, l, seen, snap)?)
        };
        let state = match (live, stored) {
            (Some(l), Some(s)) if l == s => continue,
            (Some(l), Some(_)) if behind(l)? => FileState::Behind,
            (Some(_), Some(_)) => FileState::Modified,
            (Some(l), None) if behind(l)? => FileState::Behind,
            (Some(_), None) => FileState::Added,
            (None, Some(_)) if applied().files.contains_key(path) => FileState::Deleted,
            (None, Some(_)) => FileState::Missing,
            (None, None) => continue,
        };
        let fields = match (state, stored) {
            (FileState::Modified, Some(s)) => {
                let old = ws.repo.store.blob(s.oid)?;
                let new = captured_bytes(ws, path, snap)?;
                crate::summary::fields(path, Some(&old), new.as_deref())
            }
            _ => Vec::new(),
        };
        out.push(FileStatus {
            path: path.clone(),
            state,
            fields,
        });
    }
    Ok(out)
}

/// Whether the live file (captured as `have`) still holds what ctx last saw, `seen`. Its
/// secrets are sealed against the current store, so a store that moved since changes the
/// captured blob without any live change: then the file is sealed again against `seen`.
pub fn still_matches(
    ws: &Workspace,
    path: &str,
    have: Entry,
    seen: Option<ObjectId>,
    snap: &Snapshot,
) -> Result<bool> {
    let Some(seen) = seen else { return Ok(false) };
    if have.oid == seen {
        return Ok(true);
    }
    let Some(c) = snap.files.get(path) else {
        return Ok(false);
    };
    let Some((raw, _)) = crate::codec::read_live(&c.live_path)? else {
        return Ok(false);
    };
    if !std::str::from_utf8(&raw)
        .is_ok_and(|t| t.contains("ENC[age:") || matches!(Kind::of(path), Kind::Json | Kind::Yaml))
    {
        return Ok(false);
    }
    let old = ws.repo.store.blob(seen)?;
    let display = ws.env.display(&c.live_path);
    let bytes = ws
        .codec()
        .to_store(path, &c.source, &display, &raw, Some(&old))?;
    Ok(bytes.is_some_and(|b| Store::hash(&b) == seen))
}
