//! Recording the live files in a commit: what changed becomes one transaction on `main`, with a
//! journal so a kill at any point leaves the applied record consistent with `main`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::snapshot::{captured_bytes, snapshot, Snapshot};
use super::status::{status, FileState, FileStatus};
use crate::conflict::{ConflictKind, FileConflict};
use crate::error::{io, Error, Result};
use crate::merge::Policy;
use crate::repo::Transaction;
use crate::state::Applied;
use crate::store::{Entry, Files, ObjectId, Store};
use crate::workspace::Workspace;

/// What a commit made.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// The new commit.
    pub id: String,
    /// Its message's first line.
    pub summary: String,
    /// Files it changed.
    pub files: usize,
}

/// Why a changed live file was not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeldReason {
    /// Edited here on top of an older version, and the edits conflict with the store's.
    Conflict,
    /// Deleted here, but changed in the store since this machine last had it.
    DeletedButChanged,
    /// The live file cannot be read or understood (a parse error, a file that cannot be read).
    Invalid,
    /// The live file holds what looks like a credential, in plain text where it cannot be sealed.
    PlainSecret,
}

/// A live file a commit left out; the file itself is not touched.
#[derive(Debug, Clone, Serialize)]
pub struct HeldBack {
    /// Store path.
    pub path: String,
    /// Why.
    pub reason: HeldReason,
    /// What is wrong with it, for [`HeldReason::Invalid`] (file:line:col and the cause).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl HeldBack {
    fn new(path: &str, reason: HeldReason) -> HeldBack {
        HeldBack {
            path: path.to_string(),
            reason,
            detail: String::new(),
        }
    }
}

impl HeldBack {
    /// What to do about it.
    pub fn hint(&self) -> String {
        let p = &self.path;
        match self.reason {
            HeldReason::Conflict => format!("`ctx resolve {p} --ours` keeps your values, `--theirs` the store's (yours saved to a backup ref), `ctx resolve {p}` edits the merge"),
            HeldReason::DeletedButChanged => format!("`ctx apply {p}` brings it back"),
            HeldReason::Invalid => format!("fix the file and commit again; `ctx apply --force {p}` takes the store's copy, yours saved to a backup ref first"),
            HeldReason::PlainSecret => "remove the value from the file (use an env variable, or keep it in settings.json `env`, which ctx encrypts), then commit again; if it is not a secret, list its fingerprint under `not_secret:` in ctx.yaml".into(),
        }
    }
}

impl std::fmt::Display for HeldBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.path;
        match self.reason {
            HeldReason::Conflict => write!(f, "{p}: your live file and the store's version both changed and conflict; not committed"),
            HeldReason::DeletedButChanged => write!(f, "{p}: deleted here, but changed in the store since this machine last had it; not deleted"),
            HeldReason::Invalid => write!(f, "{}; not committed, the rest was", self.detail),
            HeldReason::PlainSecret => write!(f, "{}; not committed, the rest was", self.detail),
        }
    }
}

/// What recording the live files did.
#[derive(Debug, Default, Serialize)]
pub struct CommitOutcome {
    /// The commit, if anything changed.
    pub committed: Option<CommitInfo>,
    /// Files merged with a store version this machine had not applied yet: their live copies
    /// trail the new `main`.
    pub merged: Vec<String>,
    /// Files left out, with why.
    pub held_back: Vec<HeldBack>,
    /// Whether the store holds files the live side lacks or trails (an apply has work).
    pub pending_apply: bool,
    /// Live files whose edits conflict with the store's version: kept open for `ctx resolve`.
    pub conflicts: Vec<FileConflict>,
    /// Things the user should know that are not about one live file.
    pub notes: Vec<String>,
    /// What was appended to session transcripts and committed (a commit of its own).
    pub sessions: crate::sessions::Captured,
}

/// How a commit may proceed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordOptions<'a> {
    /// The commit's first line (default: the machine and a field-level summary).
    pub message: Option<&'a str>,
    /// Commit the deletion of more files at once than the guard lets through.
    pub allow_mass_delete: bool,
    /// Only these store paths (prefixes; empty: every file), for `ctx edit`.
    pub only: &'a [String],
}

/// More deletions than this at once, or more than half of the tracked files (from
/// [`MASS_MIN`] on), look like a lost home rather than a person's work.
pub const MASS_DELETE: usize = 20;
/// The fewest deletions the half-of-everything rule applies to.
pub const MASS_MIN: usize = 4;

/// What a commit is being assembled from.
#[derive(Default)]
struct Staged {
    tx: Transaction,
    /// Summary items for the message.
    items: Vec<String>,
    /// The blob each written live file is committed as.
    written: BTreeMap<String, ObjectId>,
}

/// Captures the live files and commits what changed.
pub fn record(ws: &mut Workspace, opts: RecordOptions) -> Result<CommitOutcome> {
    let message = opts.message;
    let snap = snapshot(ws, true)?;
    let mut statuses = status(ws, &snap)?;
    statuses.retain(|s| crate::layout::selected(&s.path, opts.only));
    guard_deletions(ws, &statuses, opts.allow_mass_delete)?;
    let mut out = CommitOutcome {
        pending_apply: statuses
            .iter()
            .any(|s| matches!(s.state, FileState::Missing | FileState::Behind)),
        ..Default::default()
    };
    for (path, problem) in &snap.problems {
        if !crate::layout::selected(path, opts.only) || snap.reported_with_its_file(path) {
            continue;
        }
        let reason = match problem.plain_secret {
            true => HeldReason::PlainSecret,
            false => HeldReason::Invalid,
        };
        out.held_back.push(HeldBack {
            detail: problem.message.clone(),
            ..HeldBack::new(path, reason)
        });
    }
    for (path, why) in &snap.skipped {
        out.notes.push(format!("{path}: {why}"));
    }
    // A no-op commit whose record is already known true for this head need not read it.
    let clean = statuses.is_empty() && out.merged.is_empty();
    if clean && crate::state::is_clean(&ws.state.applied_clean, &ws.state.applied, ws.repo.head) {
        crate::conflict::save_live_conflicts(&ws.state, &out.conflicts)
            .map_err(io(&ws.state.live_conflicts))?;
        return Ok(out);
    }
    let applied = ws.state.applied();
    let mut staged = Staged::default();
    for st in &statuses {
        let seen = applied.files.get(&st.path).copied();
        let stored = ws.repo.files.get(&st.path).map(|e| e.oid);
        match st.state {
            FileState::Added | FileState::Modified => {
                if let Some(item) =
                    stage_write(ws, &st.path, seen, stored, &snap, &mut staged, &mut out)?
                {
                    staged.items.push(item);
                }
            }
            FileState::Deleted if stored != seen => out
                .held_back
                .push(HeldBack::new(&st.path, HeldReason::DeletedButChanged)),
            FileState::Deleted => {
                let item = crate::summary::describe(&st.path, Some(b""), None);
                staged.items.push(item);
                staged.tx.set(&st.path, crate::store::Change::Delete);
            }
            FileState::Missing | FileState::Behind => {}
        }
    }
    crate::conflict::save_live_conflicts(&ws.state, &out.conflicts)
        .map_err(io(&ws.state.live_conflicts))?;
    let held: BTreeSet<&String> = out.held_back.iter().map(|h| &h.path).collect();
    statuses.retain(|s| !held.contains(&s.path));
    if staged.tx.is_empty() {
        let mut after = applied;
        if applied_after(&mut after, &ws.repo.files, &snap, &statuses, &out.merged) {
            after
                .save(&ws.state.applied)
                .map_err(io(&ws.state.applied))?;
        }
        if clean {
            crate::state::mark_clean(&ws.state.applied_clean, &ws.state.applied, ws.repo.head);
        }
        return Ok(out);
    }
    // Before anything is written; a no-op commit writes nothing, so it need not check.
    ws.repo.validate_docs()?;
    let msg = crate::summary::message(ws.machine(), &staged.items, message);
    let files = staged.items.len();
    let id = commit_journaled(ws, staged, &msg, &snap, &statuses, &out.merged, applied)?;
    out.committed = Some(CommitInfo {
        id: id.to_string(),
        summary: msg.lines().next().unwrap_or("").to_string(),
        files,
    });
    Ok(out)
}

/// Refuses to take files as deleted when the place they live in is gone (a Claude home moved
/// away, a dangling link, an unreadable folder), and a deletion of most of what is tracked
/// unless a person asked for it: one machine losing its files must never delete them everywhere.
fn guard_deletions(ws: &Workspace, statuses: &[FileStatus], allow_mass: bool) -> Result<()> {
    let deleted: Vec<&str> = statuses
        .iter()
        .filter(|s| s.state == FileState::Deleted)
        .map(|s| s.path.as_str())
        .collect();
    if deleted.is_empty() {
        return Ok(());
    }
    let env = &ws.env;
    let roots = [
        (env.claude_dir.as_path(), true),
        (env.claude_json.as_path(), false),
        (env.desktop_config.as_path(), false),
    ];
    for (root, is_dir) in roots {
        let here = if is_dir {
            root.is_dir()
        } else {
            root.is_file()
        };
        let lost = deleted
            .iter()
            .filter(|p| {
                crate::layout::live_location(env, p).is_some_and(|(l, _)| l.starts_with(root))
            })
            .count();
        if !here && lost > 0 {
            return Err(Error::LiveRootMissing {
                path: root.to_path_buf(),
                count: lost,
            });
        }
    }
    let total = ws
        .repo
        .files
        .keys()
        .filter(|p| crate::layout::is_live_path(p))
        .count();
    let n = deleted.len();
    if !allow_mass && (n > MASS_DELETE || (n >= MASS_MIN && n * 2 > total)) {
        return Err(Error::MassDelete {
            count: n,
            total,
            examples: deleted.iter().take(5).map(|p| p.to_string()).collect(),
        });
    }
    Ok(())
}

/// Stages a live file that was added or modified; returns its summary item, or `None` when it
/// was held back or its merge left the store's version as it was.
fn stage_write(
    ws: &Workspace,
    path: &str,
    seen: Option<ObjectId>,
    stored: Option<ObjectId>,
    snap: &Snapshot,
    staged: &mut Staged,
    out: &mut CommitOutcome,
) -> Result<Option<String>> {
    let mut bytes = captured_bytes(ws, path, snap)?.unwrap_or_default();
    let exec = snap.files[path].entry.is_some_and(|e| e.exec);
    if let Some(stored) = stored.filter(|s| Some(*s) != seen) {
        // The live edits were made on top of another version than the store's (or on a file
        // ctx never wrote here, as on a machine that just joined): merge them into the store's
        // version rather than replace it.
        let merged = merge_live(ws, path, seen, &bytes, stored)?;
        let Some(m) = merged
            .conflicts
            .is_empty()
            .then_some(merged.content.clone())
        else {
            out.held_back
                .push(HeldBack::new(path, HeldReason::Conflict));
            out.conflicts
                .push(live_conflict(ws, path, seen, &bytes, exec, stored, merged)?);
            return Ok(None);
        };
        bytes = m;
        out.merged.push(path.to_string());
        if stored == Store::hash(&bytes) {
            return Ok(None);
        }
    }
    let old = ws.repo.read(path)?;
    let item = crate::summary::describe(path, old.as_deref(), Some(&bytes));
    if !out.merged.iter().any(|m| m == path) {
        // What the live file corresponds to is what is committed: a new secret is sealed
        // afresh at each capture, so the snapshot's (cached) blob may be another ciphertext
        // of the same file.
        staged.written.insert(path.to_string(), Store::hash(&bytes));
    }
    staged.tx.write(path, bytes, exec);
    Ok(Some(item))
}

/// Commits `tx` and records what the live files now correspond to, such that a kill at any
/// point leaves both consistent: the new record is written to a journal first, the ref moves,
/// then the record takes effect; opening a workspace finishes or drops a journal left behind.
fn commit_journaled(
    ws: &mut Workspace,
    staged: Staged,
    msg: &str,
    snap: &Snapshot,
    statuses: &[FileStatus],
    merged: &[String],
    applied: Applied,
) -> Result<ObjectId> {
    let prepared = staged.tx.prepare(&ws.repo, msg)?;
    let id = prepared.id;
    let mut applied = applied;
    applied_after(&mut applied, &prepared.files, snap, statuses, merged);
    applied
        .files
        .extend(staged.written.iter().map(|(p, oid)| (p.clone(), *oid)));
    let journal = ws.state.journal.clone();
    crate::state::write_journal(&journal, id, &applied).map_err(io(&journal))?;
    if let Err(e) = prepared.publish(&mut ws.repo) {
        let _ = std::fs::remove_file(&journal);
        return Err(e);
    }
    applied
        .save(&ws.state.applied)
        .map_err(io(&ws.state.applied))?;
    let _ = std::fs::remove_file(&journal);
    Ok(id)
}

/// What the live files correspond to once `files` is `main`: each captured file equal to its
/// store version, minus files deleted here, plus files the commit merged (apply may replace
/// those: ctx has seen their live content). Updates `applied` in place (a no-op commit finds it
/// already true, and copies nothing); returns whether it changed.
fn applied_after(
    applied: &mut Applied,
    files: &Files,
    snap: &Snapshot,
    statuses: &[FileStatus],
    merged: &[String],
) -> bool {
    let mut changed = false;
    let mut set = |path: &String, oid: ObjectId| {
        if applied.files.get(path) != Some(&oid) {
            applied.files.insert(path.clone(), oid);
            changed = true;
        }
    };
    for (path, c) in &snap.files {
        if let Some(e) = c.entry {
            if files.get(path) == Some(&e) {
                set(path, e.oid);
            }
        }
    }
    for p in merged {
        if let Some(e) = snap.files.get(p).and_then(|c| c.entry) {
            set(p, e.oid);
        }
    }
    for st in statuses {
        if st.state == FileState::Deleted && applied.files.remove(&st.path).is_some() {
            changed = true;
        }
    }
    changed
}

/// Merges live bytes (edited on top of `seen`, if any) into the store's version `stored`.
fn merge_live(
    ws: &Workspace,
    path: &str,
    seen: Option<ObjectId>,
    live: &[u8],
    stored: ObjectId,
) -> Result<crate::merge::MergeOutcome> {
    let base = seen.and_then(|s| ws.repo.store.blob(s).ok());
    let theirs = ws.repo.store.blob(stored)?;
    Ok(ws.merge_file(path, base.as_deref(), live, &theirs, Policy::Stop))
}

/// The open conflict of a live file with the store's version: the live side is kept as a blob
/// (ours), the store's is theirs, and the marked merge is what `ctx resolve` opens.
fn live_conflict(
    ws: &Workspace,
    path: &str,
    seen: Option<ObjectId>,
    live: &[u8],
    exec: bool,
    stored: ObjectId,
    m: crate::merge::MergeOutcome,
) -> Result<FileConflict> {
    let store = &ws.repo.store;
    let rules = &ws.keys.rules;
    let shown = |field: &str, v| crate::redact::value(rules, path, field, v);
    let fields = m
        .conflicts
        .into_iter()
        .map(|c| crate::merge::Conflict {
            base: shown(&c.field, c.base),
            ours: shown(&c.field, c.ours),
            theirs: shown(&c.field, c.theirs),
            file: c.file,
            field: c.field,
        })
        .collect();
    let entry = |oid| Entry { oid, exec };
    Ok(FileConflict {
        path: path.to_string(),
        kind: ConflictKind::Content,
        fields,
        base: seen.map(entry),
        ours: Some(entry(store.write_blob(live)?)),
        theirs: ws.repo.files.get(path).copied().or(Some(entry(stored))),
        marked: Some(store.write_blob(&m.content)?),
        resolution: None,
    })
}
