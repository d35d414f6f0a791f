//! What applying a target tree to the live files would do: a pure, sorted plan computed
//! before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::capture::{still_matches, Snapshot};
use crate::error::Result;
use crate::layout::{is_live_path, live_location, selected, Source};
use crate::store::{Entry, Files};
use crate::workspace::Workspace;

/// What an action does to a live file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Write the store's version.
    Write,
    /// Delete the live file (or, for a shared file, its `mcpServers` key).
    Delete,
}

/// One step of an apply.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// Store path.
    pub path: String,
    /// Live path (absolute; `live_path` in JSON, as in every report).
    #[serde(rename = "live_path")]
    pub live: PathBuf,
    /// What it does.
    pub op: Op,
    #[serde(skip)]
    pub(super) bytes: Option<Vec<u8>>,
    #[serde(skip)]
    pub(super) exec: bool,
    #[serde(skip)]
    pub(super) source: Source,
    #[serde(skip)]
    pub(super) target: Option<Entry>,
    /// Whether the file may hold decrypted secrets: created 0600 if new.
    #[serde(skip)]
    pub(super) private: bool,
}

impl Action {
    /// Whether it changes one key of a file shared with other tools (`~/.claude.json`).
    pub fn shared(&self) -> bool {
        self.source.is_shared()
    }

    /// The bytes the live file would hold after the action (`None` for a deletion).
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }
}

/// What `apply` would do.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    /// Writes and deletions, by store path.
    pub actions: Vec<Action>,
    /// Live files holding uncommitted changes that the plan would overwrite, as shown.
    pub dirty: Vec<String>,
    /// Secrets this machine cannot open: their live values were kept, or the fields left out.
    pub unreadable: Vec<String>,
    /// Live files not deleted because they lie inside a symlinked folder (another tree's files).
    pub kept: Vec<String>,
    /// Store paths held by the review gate (`ctx review`): their live files are left alone.
    pub held: Vec<String>,
    /// Store paths not written because capture would never take them (a `.git` folder in a
    /// skill, credentials, a never-synced name): what another machine pushed there stays out.
    pub refused: Vec<String>,
    #[serde(skip)]
    pub(super) dirty_paths: Vec<String>,
    #[serde(skip)]
    pub(super) in_sync: BTreeMap<String, Option<Entry>>,
}

impl Plan {
    /// Drops the actions that would overwrite uncommitted live changes; returns those files.
    pub fn skip_dirty(&mut self) -> Vec<String> {
        let dirty = std::mem::take(&mut self.dirty_paths);
        self.actions.retain(|a| !dirty.contains(&a.path));
        std::mem::take(&mut self.dirty)
    }

    /// Store paths of the live files holding uncommitted changes.
    pub fn dirty_paths(&self) -> &[String] {
        &self.dirty_paths
    }
}

/// What applying `target` to the live files would do, limited to `only` (store-path prefixes).
pub fn plan(ws: &Workspace, target: &Files, only: &[String], snap: &Snapshot) -> Result<Plan> {
    let applied = ws.state.applied();
    let head = &ws.repo.files;
    let paths: BTreeSet<&String> = target
        .keys()
        .chain(applied.files.keys())
        .chain(head.keys())
        .filter(|p| is_live_path(p) && selected(p, only))
        .collect();
    let codec = ws.codec();
    let held = crate::state::Held::load(&ws.state.held);
    let mut plan = Plan::default();
    for path in paths {
        let Some((live, source)) = live_location(&ws.env, path) else {
            continue;
        };
        if snap.excluded_here(path) {
            // Left out on this machine: neither written nor deleted here.
            continue;
        }
        let want = target.get(path).copied();
        if want.is_some() && !crate::capture::capturable(path, &ws.repo.manifest) {
            // Neither written nor deleted: whatever is there stays as it is.
            plan.refused.push(path.clone());
            continue;
        }
        let have = snap.files.get(path).and_then(|c| c.entry);
        if want == have {
            plan.in_sync.insert(path.clone(), want);
            continue;
        }
        if held.holds(path) {
            plan.held.push(path.clone());
            continue;
        }
        if want.is_none() && !applied.files.contains_key(path) && !head.contains_key(path) {
            // Never ctx's: a file the store does not know is left alone.
            continue;
        }
        let problem = snap.problems.contains_key(path);
        if !problem && snap.left_out(path) {
            // Behind a link ctx does not follow: never written through, never deleted.
            plan.kept.push(ws.env.display(&live));
            continue;
        }
        // A live file that cannot be read is nobody's to overwrite without --force.
        if problem || edited(ws, path, have, applied.files.get(path).copied(), snap)? {
            plan.dirty.push(ws.env.display(&live));
            plan.dirty_paths.push(path.clone());
        }
        let (op, bytes, exec, private) = match want {
            Some(e) => {
                let stored = ws.repo.store.blob(e.oid)?;
                let live_now = snap.files.get(path).map(|c| c.live_path.as_path());
                let mut form = codec.to_live(path, &source, &stored, live_now);
                let local = codec.local();
                if let Some(b) =
                    crate::local::restore(ws, local, path, &form.bytes, live_now, target)
                {
                    form.bytes = b;
                }
                plan.unreadable.extend(form.unreadable);
                let private = holds_secrets(path, &source, &stored);
                (Op::Write, Some(form.bytes), e.exec, private)
            }
            // A file the store stopped tracking (`exclude:`) stays where it is, on every machine.
            None if have.is_some() && untracked(ws, path) => {
                plan.in_sync.insert(path.clone(), None);
                continue;
            }
            // Never delete inside a link's target: the folder belongs to another tree (a dotfiles
            // repository), which ctx does not own.
            None if have.is_some() && inside_link(&ws.env.claude_dir, &live) => {
                plan.kept.push(ws.env.display(&live));
                continue;
            }
            None if have.is_some() => (Op::Delete, None, false, false),
            None => {
                plan.in_sync.insert(path.clone(), None);
                continue;
            }
        };
        plan.actions.push(Action {
            path: path.clone(),
            live,
            op,
            bytes,
            exec,
            source,
            target: want,
            private,
        });
    }
    Ok(plan)
}

/// Whether the live file (captured as `have`) no longer holds what ctx last saw, `seen`.
fn edited(
    ws: &Workspace,
    path: &str,
    have: Option<Entry>,
    seen: Option<crate::store::ObjectId>,
    snap: &Snapshot,
) -> Result<bool> {
    match have {
        Some(h) => Ok(!still_matches(ws, path, h, seen, snap)?),
        None => Ok(false),
    }
}

/// Whether a live file may hold decrypted secrets (then a new one is created 0600): the shared
/// MCP files, settings, and any file whose store form holds a sealed value.
fn holds_secrets(path: &str, source: &Source, stored: &[u8]) -> bool {
    source.is_shared()
        || path.ends_with("/settings.json")
        || path.ends_with("/settings.local.json")
        || stored.windows(8).any(|w| w == b"ENC[age:")
}

/// Whether ctx.yaml now keeps `path` out of the store: its deletion there is not a deletion of
/// the live file.
fn untracked(ws: &Workspace, path: &str) -> bool {
    path.strip_prefix("claude/")
        .is_some_and(|rel| crate::capture::scan::excluded(rel, &ws.repo.manifest.exclude))
}

/// Whether a folder between `root` and `path` is a symlink.
fn inside_link(root: &std::path::Path, path: &std::path::Path) -> bool {
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| d.starts_with(root) && *d != root) {
        if std::fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
        dir = d.parent();
    }
    false
}
