//! Store -> live: plan what a target tree means for the live files, then execute the plan on a
//! [`System`] (the real one, or a recorder for a dry run). [`to_target`] is the one way every
//! command brings live files to a tree; how uncommitted live changes are treated is its
//! [`OnDirty`].

mod execute;
mod plan;
mod system;

use std::collections::BTreeMap;

use serde::Serialize;

pub use execute::execute;
pub use plan::{plan, Action, Op, Plan};
pub use system::{DryRun, RealSystem, Recorded, System};

use crate::capture::{captured_bytes, snapshot_of, snapshot_unwatched, Snapshot};
use crate::error::{Error, Result};
use crate::layout::is_live_path;
use crate::store::{Change, Files, ObjectId, BACKUP_PREFIX};
use crate::workspace::Workspace;

/// What to do with live files holding changes not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDirty {
    /// Write nothing; fail naming them.
    Refuse,
    /// Leave them as they are; apply the rest.
    Skip,
    /// Save their contents to a backup ref, then overwrite them.
    Backup,
}

/// Which live files an apply considers.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every file of the target.
    All,
    /// Files at or under these store paths.
    Paths(Vec<String>),
    /// Files that changed between this commit and `main` (reads only those live files).
    ChangedSince(ObjectId),
}

/// What an apply did (or, dry, would do).
#[derive(Debug, Default, Serialize)]
pub struct ApplyOutcome {
    /// The plan, without the actions skipped.
    pub plan: Plan,
    /// Live files with uncommitted changes left as they are (`OnDirty::Skip`).
    pub skipped: Vec<String>,
    /// The backup ref holding overwritten live contents, and its commit (`OnDirty::Backup`).
    pub backup: Option<(String, String)>,
    /// What a dry run recorded; empty for a real apply.
    #[serde(skip)]
    pub recorded: Vec<Recorded>,
    /// Session transcripts written (a real apply only).
    pub sessions: crate::sessions::Applied,
    /// Why sessions were not applied, if they could not be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_error: Option<String>,
}

/// Brings the live files in `scope` to `main`.
pub fn to_head(ws: &Workspace, scope: Scope, on_dirty: OnDirty) -> Result<ApplyOutcome> {
    let head = ws.repo.files.clone();
    to_target(ws, &head, scope, on_dirty, false)
}

/// Brings the live files in `scope` to `target` (a real apply checks the key first); with
/// `dry_run`, runs the same plan against a recorder and writes nothing. A real apply also
/// writes the sessions of `main` (they are not files of the tree a rollback picks).
pub fn to_target(
    ws: &Workspace,
    target: &Files,
    scope: Scope,
    on_dirty: OnDirty,
    dry_run: bool,
) -> Result<ApplyOutcome> {
    let mut out = files_to_target(ws, target, scope, on_dirty, dry_run)?;
    if !dry_run {
        // Never fails the apply of the files: a session that cannot be written now is written
        // by a later one.
        match crate::sessions::apply(ws) {
            Ok(a) => out.sessions = a,
            Err(e) => out.sessions_error = Some(crate::error::chain(&e)),
        }
    }
    Ok(out)
}

fn files_to_target(
    ws: &Workspace,
    target: &Files,
    scope: Scope,
    on_dirty: OnDirty,
    dry_run: bool,
) -> Result<ApplyOutcome> {
    let (snap, only) = match scope {
        // Before overwriting live files: every file stat'ed, not taken on a watch's word.
        Scope::All => (snapshot_unwatched(ws)?, Vec::new()),
        Scope::Paths(p) => (snapshot_unwatched(ws)?, p),
        Scope::ChangedSince(from) => {
            let store = &ws.repo.store;
            let to = ws.repo.head.map(|h| store.tree_of(h)).transpose()?;
            let changed: Vec<String> = store
                .diff_trees(Some(store.tree_of(from)?), to)?
                .into_keys()
                .filter(|p| is_live_path(p))
                .collect();
            if changed.is_empty() {
                return Ok(ApplyOutcome::default());
            }
            (snapshot_of(ws, &changed)?, changed)
        }
    };
    let mut plan = plan(ws, target, &only, &snap)?;
    let mut out = ApplyOutcome::default();
    if dry_run {
        let sys = DryRun::default();
        execute(ws, &plan, &sys, false)?;
        out.recorded = sys.recorded();
        out.plan = plan;
        return Ok(out);
    }
    ws.keys.check(&ws.repo)?;
    if !plan.dirty.is_empty() {
        match on_dirty {
            OnDirty::Refuse => {
                return Err(Error::Dirty {
                    files: plan.dirty.clone(),
                })
            }
            OnDirty::Skip => out.skipped = plan.skip_dirty(),
            OnDirty::Backup => {
                shared_intact(ws, &plan, &snap)?;
                out.backup = backup(ws, &plan, &snap)?;
            }
        }
    }
    execute(ws, &plan, &RealSystem, true)?;
    out.plan = plan;
    Ok(out)
}

/// Even `--force` writes nothing into a damaged shared file: ctx owns only its `mcpServers`
/// key and could not tell that key's bytes from the rest, which other tools own.
fn shared_intact(ws: &Workspace, plan: &Plan, snap: &Snapshot) -> Result<()> {
    for path in plan.dirty_paths() {
        let shared =
            crate::layout::live_location(&ws.env, path).is_some_and(|(_, s)| s.is_shared());
        if let Some(problem) = snap.problems.get(path).filter(|_| shared) {
            return Err(Error::SharedFileDamaged {
                problem: problem.message.clone(),
            });
        }
    }
    Ok(())
}

/// A live file's bytes as they are, if it can be read at all.
fn raw_bytes(ws: &Workspace, path: &str) -> Option<Vec<u8>> {
    let (live, _) = crate::layout::live_location(&ws.env, path)?;
    std::fs::read(live).ok()
}

/// Saves raw live bytes holding a credential to `<state>/held/` (mode 0600), out of git; returns
/// whether it did so (then they are left out of the backup ref).
fn keep_private(ws: &Workspace, path: &str, bytes: &[u8]) -> bool {
    if !ws.codec().holds_secret(path, bytes) {
        return false;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("{}.{stamp}", path.replace('/', "__"));
    let file = ws.state.dir.join("held").join(name);
    // If even this fails the bytes are still kept out of git; the live file is then lost, as
    // `--force` asked, rather than leaked.
    let _ = crate::fsx::write_atomic(&file, bytes, Some(0o600));
    true
}

/// Saves the live contents that `plan` would overwrite to a backup ref. Returns the ref.
fn backup(ws: &Workspace, plan: &Plan, snap: &Snapshot) -> Result<Option<(String, String)>> {
    if plan.dirty_paths().is_empty() {
        return Ok(None);
    }
    let mut changes = BTreeMap::new();
    for path in plan.dirty_paths() {
        // A live file that cannot be captured is saved as its bytes are, unless they hold a
        // credential: those go to a private file beside the store's data, never into git.
        let bytes = match snap.problems.contains_key(path) {
            true => raw_bytes(ws, path).filter(|b| !keep_private(ws, path, b)),
            false => captured_bytes(ws, path, snap)?,
        };
        if let Some(bytes) = bytes {
            let exec = snap
                .files
                .get(path)
                .and_then(|c| c.entry)
                .is_some_and(|e| e.exec);
            changes.insert(path.clone(), Change::Write { bytes, exec });
        }
    }
    let store = &ws.repo.store;
    let base = ws.repo.head.map(|h| store.tree_of(h)).transpose()?;
    let tree = store.write_tree(base, &changes)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let machine = ws.machine();
    let name = format!("{BACKUP_PREFIX}{machine}-{stamp}");
    let items: Vec<String> = plan
        .dirty_paths()
        .iter()
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let subject = format!("{machine}: live files saved before apply --force");
    let msg = crate::summary::message(machine, &items, Some(&subject));
    let parents: Vec<ObjectId> = ws.repo.head.into_iter().collect();
    let id = store.commit(&name, tree, &parents, None, &msg)?;
    Ok(Some((name, id.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;

    fn machine(root: &std::path::Path) -> Env {
        let home = root.join("home");
        Env {
            config_dir: root.join("config"),
            store_dir: root.join("store"),
            claude_dir: home.join(".claude"),
            claude_json: home.join(".claude.json"),
            desktop_config: home.join(".config/Claude/claude_desktop_config.json"),
            hostname: "test".into(),
            projects: Default::default(),
            home,
        }
    }

    fn ok<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_dry_run_records_the_writes_and_touches_nothing() {
        let dir = ok(tempfile::tempdir());
        let env = machine(dir.path());
        ok(std::fs::create_dir_all(&env.claude_dir));
        let live = env.claude_dir.join("CLAUDE.md");
        ok(std::fs::write(&live, "# memory\n"));
        ok(crate::setup::init(&env, Some("m"), None));
        let mut ws = ok(Workspace::open(env.clone()));
        ok(crate::commit::commit(&mut ws, Default::default()));
        ok(std::fs::remove_file(&live));
        let head = ws.repo.files.clone();
        let done = ok(to_target(&ws, &head, Scope::All, OnDirty::Refuse, true));
        assert_eq!(
            done.recorded,
            vec![Recorded::Write(live.clone(), b"# memory\n".to_vec())]
        );
        assert!(!live.exists(), "a dry run wrote {}", live.display());
        let again = ok(to_target(&ws, &head, Scope::All, OnDirty::Refuse, false));
        assert_eq!(again.plan.actions.len(), 1);
        assert_eq!(ok(std::fs::read_to_string(&live)), "# memory\n");
    }

    #[test]
    fn an_uncommitted_edit_is_refused_skipped_or_backed_up() {
        let dir = ok(tempfile::tempdir());
        let env = machine(dir.path());
        ok(std::fs::create_dir_all(&env.claude_dir));
        let live = env.claude_dir.join("CLAUDE.md");
        ok(std::fs::write(&live, "one\n"));
        ok(crate::setup::init(&env, Some("m"), None));
        let mut ws = ok(Workspace::open(env.clone()));
        ok(crate::commit::commit(&mut ws, Default::default()));
        let first = ws.repo.files.clone();
        ok(std::fs::write(&live, "two\n"));
        ok(crate::commit::commit(&mut ws, Default::default()));
        ok(std::fs::write(&live, "three, not committed\n"));
        let refused = to_target(&ws, &first, Scope::All, OnDirty::Refuse, false);
        assert!(matches!(refused, Err(Error::Dirty { .. })), "{refused:?}");
        let skipped = ok(to_target(&ws, &first, Scope::All, OnDirty::Skip, false));
        assert_eq!(skipped.skipped.len(), 1);
        assert_eq!(ok(std::fs::read_to_string(&live)), "three, not committed\n");
        let backed = ok(to_target(&ws, &first, Scope::All, OnDirty::Backup, false));
        assert!(backed.backup.is_some());
        assert_eq!(ok(std::fs::read_to_string(&live)), "one\n");
        let (name, _) = backed.backup.unwrap_or_default();
        let saved = ok(ws.repo.store.ref_target(&name));
        let kept = ok(ws.repo.store.read(saved, "claude/CLAUDE.md"));
        assert_eq!(kept.as_deref(), Some(&b"three, not committed\n"[..]));
    }
}
