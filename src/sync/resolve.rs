//! `ctx resolve`: settle one file of a stopped merge; when none is left open, commit the merge
//! and apply it.

use serde::Serialize;

use super::conflicts::{commit_merge, ConflictKind, FileConflict, MergeState};
use super::SyncError;
use crate::apply::{self, OnDirty, Scope};
use crate::layout::Source;
use crate::merge::Policy;
use crate::store::Entry;
use crate::workspace::Workspace;

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// How `ctx resolve` settles a file.
pub enum Resolution {
    /// This machine's version.
    Ours,
    /// The remote's version.
    Theirs,
    /// New content (edited from the marked file).
    Content(Vec<u8>),
}

/// What `resolve` did.
#[derive(Debug, Serialize)]
pub struct ResolveReport {
    /// The file settled.
    pub path: String,
    /// Conflicts still open.
    pub remaining: Vec<String>,
    /// The merge commit, once nothing is left open.
    pub merge_commit: Option<String>,
    /// Live files written.
    pub applied: Vec<String>,
}

/// The open conflict on `path` (as the user typed it), from a merge that still applies.
pub fn find_conflict(ws: &Workspace, path: &str) -> Result<(MergeState, usize)> {
    let state = match MergeState::load_any(&ws.state) {
        Some(s) if Some(s.ours) == ws.repo.head => s,
        Some(_) => {
            MergeState::clear(&ws.state);
            return Err(SyncError::Stale);
        }
        None => return Err(SyncError::NoConflict { path: None }),
    };
    let wanted = named(ws, path);
    let i = state
        .conflicts
        .iter()
        .position(|c| wanted(&c.path))
        .ok_or_else(|| SyncError::NoConflict {
            path: Some(path.to_string()),
        })?;
    Ok((state, i))
}

/// The marked file of an open conflict, for an editor.
pub fn marked_content(ws: &Workspace, conflict: &FileConflict) -> Result<Vec<u8>> {
    let store = &ws.repo.store;
    let oid = conflict
        .marked
        .or(conflict.ours.map(|e| e.oid))
        .or(conflict.theirs.map(|e| e.oid));
    Ok(match oid {
        Some(o) => store.blob(o)?,
        None => Vec::new(),
    })
}

/// The open conflict of a live file with the store (found by a commit) on `path`, if any.
pub fn find_live_conflict(ws: &Workspace, path: &str) -> Option<FileConflict> {
    let wanted = named(ws, path);
    crate::conflict::live_conflicts(&ws.state)
        .into_iter()
        .find(|c| wanted(&c.path))
}

/// Whether a conflict's store path is the one a person typed (as a store path or a live path).
fn named(ws: &Workspace, typed: &str) -> impl Fn(&str) -> bool {
    let store_path = ws
        .store_paths_for(&[typed.to_string()])
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_default();
    let typed = typed.to_string();
    move |p: &str| p == store_path || p == typed
}

/// The live files an apply wrote, as shown.
fn shown(ws: &Workspace, done: &apply::ApplyOutcome) -> Vec<String> {
    let actions = done.plan.actions.iter();
    actions.map(|a| ws.env.display(&a.live)).collect()
}

/// Settles one open conflict. A sync's: when none is left, commits the merge and applies it. A
/// live file's: commits the resolution and writes it to the live file (its own content saved to
/// a backup ref first).
pub fn resolve(ws: &mut Workspace, path: &str, how: Resolution) -> Result<ResolveReport> {
    let found = find_conflict(ws, path);
    if let (Err(SyncError::NoConflict { .. }), Some(live)) = (&found, find_live_conflict(ws, path))
    {
        return resolve_live(ws, live, how);
    }
    let (mut state, i) = found?;
    let resolved = resolution(ws, &state.conflicts[i], how)?;
    state.conflicts[i].resolution = Some(resolved);
    let mut report = ResolveReport {
        path: state.conflicts[i].path.clone(),
        remaining: state.open().map(|c| c.path.clone()).collect(),
        merge_commit: None,
        applied: Vec::new(),
    };
    if !report.remaining.is_empty() {
        state.save(&ws.state)?;
        return Ok(report);
    }
    let commit = commit_merge(ws, &state)?;
    MergeState::clear(&ws.state);
    report.merge_commit = Some(commit.to_string());
    let done = apply::to_head(ws, Scope::All, OnDirty::Skip)?;
    report.applied = shown(ws, &done);
    Ok(report)
}

fn resolve_live(ws: &mut Workspace, c: FileConflict, how: Resolution) -> Result<ResolveReport> {
    let resolved = resolution(ws, &c, how)?;
    let mut tx = crate::repo::Transaction::new();
    if resolved != ws.repo.files.get(&c.path).copied() {
        tx.set(&c.path, crate::repo::entry_change(resolved));
    }
    let mut report = ResolveReport {
        path: c.path.clone(),
        remaining: Vec::new(),
        merge_commit: None,
        applied: Vec::new(),
    };
    if !tx.is_empty() {
        let machine = ws.machine().to_string();
        let short = crate::summary::short(&c.path);
        let subject = format!("{machine}: resolve {short}");
        let msg = crate::summary::message(
            &machine,
            &[format!("resolved by hand: {short}")],
            Some(&subject),
        );
        report.merge_commit = Some(tx.commit(&mut ws.repo, &msg)?.to_string());
    }
    let done = apply::to_head(ws, Scope::Paths(vec![c.path.clone()]), OnDirty::Backup)?;
    report.applied = shown(ws, &done);
    let open: Vec<FileConflict> = crate::conflict::live_conflicts(&ws.state)
        .into_iter()
        .filter(|o| o.path != c.path)
        .collect();
    crate::conflict::save_live_conflicts(&ws.state, &open)
        .map_err(crate::error::io(&ws.state.live_conflicts))?;
    report.remaining = open.into_iter().map(|o| o.path).collect();
    Ok(report)
}

/// The entry a resolution leaves (`None`: deleted).
fn resolution(ws: &Workspace, c: &FileConflict, how: Resolution) -> Result<Option<Entry>> {
    let store = &ws.repo.store;
    let exec = c.ours.or(c.theirs).is_some_and(|e| e.exec);
    let side = |ours: bool| if ours { c.ours } else { c.theirs };
    Ok(match how {
        Resolution::Ours | Resolution::Theirs if c.kind == ConflictKind::Content => {
            // Field by field: only the conflicting values take the chosen side; what merged
            // cleanly (the other side's new permission, say) stays.
            let ours = matches!(how, Resolution::Ours);
            let policy = if ours { Policy::Ours } else { Policy::Theirs };
            let blob = |e: Option<Entry>| e.map(|e| store.blob(e.oid)).transpose();
            let base = blob(c.base)?;
            let o = blob(c.ours)?.unwrap_or_default();
            let t = blob(c.theirs)?.unwrap_or_default();
            let m = ws.merge_file(&c.path, base.as_deref(), &o, &t, policy);
            match m.conflicts.is_empty() {
                true => Some(Entry {
                    oid: store.write_blob(&m.content)?,
                    exec,
                }),
                false => side(ours),
            }
        }
        Resolution::Ours => c.ours,
        Resolution::Theirs => c.theirs,
        Resolution::Content(bytes) => {
            check_resolution(&c.path, &bytes)?;
            // A person's text goes into the store as a live file does: home paths mapped, a
            // pasted secret sealed (or the file refused), never stored as typed.
            let ours = c.ours.map(|e| store.blob(e.oid)).transpose()?;
            let sealed = ws
                .codec()
                .to_store(&c.path, &Source::Whole, &c.path, &bytes, ours.as_deref())
                .map_err(crate::error::Error::from)?
                .unwrap_or(bytes);
            Some(Entry {
                oid: store.write_blob(&sealed)?,
                exec,
            })
        }
    })
}

/// A resolution must hold no markers and, for a structured file, parse.
fn check_resolution(path: &str, bytes: &[u8]) -> Result<()> {
    let bad = |reason: String| SyncError::BadResolution {
        path: path.to_string(),
        reason,
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    if let Some(n) = text
        .lines()
        .position(|l| l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> ") || l == "=======")
    {
        return Err(bad(format!("line {} still holds a conflict marker", n + 1)));
    }
    match crate::format::Kind::of(path) {
        crate::format::Kind::Json => {
            crate::format::parse_json(path, text).map_err(|e| bad(e.to_string()))?;
        }
        crate::format::Kind::Yaml => {
            crate::format::parse_yaml(path, text, 0).map_err(|e| bad(e.to_string()))?;
        }
        _ => {}
    }
    Ok(())
}
