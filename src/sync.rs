//! `ctx sync`: commit, fetch, merge the three trees, apply, push, with a bounded retry when the
//! remote moved in between. Also the open-conflict state that `ctx resolve` settles.
//!
//! The tree merge is path by path: a file changed on one side takes that side (deletions
//! included); a file changed on both goes through the semantic merge engine in-process, with this
//! machine's key to compare secrets by plaintext. Under policy `stop`, any conflict stops the
//! sync before anything is committed, pushed or applied; the conflicting files with their markers
//! are kept in a state file until `ctx resolve` settles each of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::env::Env;
use crate::merge::{Conflict, Overruled, Policy};
use crate::remote::{self, Remote, RemoteError, TRACKING};
use crate::session::{CommitInfo, Session, SessionError};
use crate::store::{oid_hex, Change, Entry, ObjectId, Store, StoreError, MAIN};

/// How many times a rejected push is retried (fetch, merge, push again).
pub const MAX_ATTEMPTS: u32 = 6;

/// Errors of `sync` and `resolve`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store's own operations.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The remote.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The remote could not be reached; the local commit (if any) is kept.
    #[error("{}the remote {url} is unreachable: {detail}", committed.as_ref().map(|c| format!("committed locally ({c}); ")).unwrap_or_default())]
    Offline {
        /// The local commit made before the fetch.
        committed: Option<String>,
        /// The remote.
        url: String,
        /// git's words.
        detail: String,
    },
    /// The remote holds a history that shares nothing with this store.
    #[error("the remote {url} holds a store with unrelated history")]
    Unrelated {
        /// The remote.
        url: String,
    },
    /// The remote holds a git repository that is not a ctx store.
    #[error("the remote {url} holds a git repository that is not a ctx store (no ctx.yaml)")]
    NotAStore {
        /// The remote.
        url: String,
    },
    /// The remote kept moving.
    #[error("the remote kept moving: {attempts} pushes were rejected")]
    Busy {
        /// How many were tried.
        attempts: u32,
    },
    /// `ctx resolve` without an open conflict on that path.
    #[error("no open conflict{}", path.as_ref().map(|p| format!(" on {p}")).unwrap_or_default())]
    NoConflict {
        /// The path asked for.
        path: Option<String>,
    },
    /// The store moved since the conflict was found.
    #[error("the store changed since the conflict was found")]
    Stale,
    /// A resolution that still holds conflict markers or does not parse.
    #[error("{path}: {reason}")]
    BadResolution {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Session(e.into())
    }
}

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// One file both sides changed in ways that conflict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileConflict {
    /// Store path.
    pub path: String,
    /// `content`, `delete/modify` or `binary`.
    pub kind: String,
    /// The conflicting fields (values shown as `<secret>` where secret).
    pub fields: Vec<Conflict>,
    /// The three versions.
    pub base: Option<Entry>,
    /// Ours.
    pub ours: Option<Entry>,
    /// Theirs.
    pub theirs: Option<Entry>,
    /// The file with conflict markers, as a blob in the store.
    #[serde(with = "oid_hex::opt")]
    pub marked: Option<ObjectId>,
    /// How it was settled: `Some(None)` deleted, `Some(Some(e))` that content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Option<Entry>>,
}

/// An interrupted merge, kept in the state dir until every conflict is resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeState {
    /// `main` when the merge was computed.
    #[serde(with = "oid_hex")]
    pub ours: ObjectId,
    /// The remote's commit.
    #[serde(with = "oid_hex")]
    pub theirs: ObjectId,
    /// Who made theirs (from its trailer).
    pub theirs_machine: String,
    /// The clean part of the merge, relative to ours: path -> new entry (`None` deleted).
    pub clean: BTreeMap<String, Option<Entry>>,
    /// What needs a person.
    pub conflicts: Vec<FileConflict>,
    /// Values a policy decided.
    pub overruled: Vec<(String, Overruled)>,
}

impl MergeState {
    fn path(env: &Env) -> PathBuf {
        env.state_dir().join("merge-state.json")
    }

    /// The open merge, if one is recorded and still applies to `main`.
    pub fn load(env: &Env, head: Option<ObjectId>) -> Option<MergeState> {
        let bytes = std::fs::read(Self::path(env)).ok()?;
        let state: MergeState = serde_json::from_slice(&bytes).ok()?;
        (Some(state.ours) == head).then_some(state)
    }

    fn save(&self, env: &Env) -> Result<()> {
        let path = Self::path(env);
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::fsx::write_atomic(&path, &bytes, None)
            .map_err(|source| SessionError::Io { path, source })?;
        Ok(())
    }

    fn clear(env: &Env) {
        let _ = std::fs::remove_file(Self::path(env));
    }

    /// The conflicts not yet resolved.
    pub fn open(&self) -> impl Iterator<Item = &FileConflict> {
        self.conflicts.iter().filter(|c| c.resolution.is_none())
    }
}

/// What a sync did.
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// The local commit of live changes, if there were any.
    pub committed: Option<CommitInfo>,
    /// `up-to-date`, `pushed`, `fast-forward`, `merged` or `conflict`.
    pub outcome: String,
    /// The merge commit, when one was made.
    pub merge_commit: Option<String>,
    /// `main` after the sync.
    pub head: Option<String>,
    /// Whether `main` was pushed.
    pub pushed: bool,
    /// Push attempts (more than one: the remote moved and ctx merged again).
    pub attempts: u32,
    /// Live files written or deleted.
    pub applied: Vec<String>,
    /// Live files with uncommitted changes that were left alone.
    pub skipped: Vec<String>,
    /// Secrets this machine cannot open (kept as they are live).
    pub unreadable: Vec<String>,
    /// Open conflicts (policy `stop`).
    pub conflicts: Vec<FileConflict>,
    /// Values a policy decided: (file, what).
    pub overruled: Vec<(String, Overruled)>,
    /// Things the user should know.
    pub notes: Vec<String>,
}

/// Options of a sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Push the result (`--no-push` turns it off).
    pub push: bool,
    /// Capture and commit live changes first.
    pub commit: bool,
    /// Write the result to the live files.
    pub apply: bool,
    /// Told what network step starts (fetch, push), for a progress line on a terminal.
    pub progress: Option<fn(&str)>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push: true,
            commit: true,
            apply: true,
            progress: None,
        }
    }
}

/// The whole `ctx sync`. The caller holds the store lock.
pub fn sync(env: &Env, opts: SyncOptions) -> Result<SyncReport> {
    let mut session = Session::open(env.clone())?;
    session.check_key()?;
    let url = remote::configured_url(&session.store).ok_or(RemoteError::NoRemote)?;
    let remote = Remote::new(&env.store_dir, &url);
    let mut report = SyncReport {
        remote: url.clone(),
        ..Default::default()
    };
    if opts.commit {
        report.committed = session.commit(None)?;
        report.notes.append(&mut session.notes);
    }

    let offline = |committed: &Option<CommitInfo>, e: RemoteError| match e {
        RemoteError::Unreachable { url, detail } => SyncError::Offline {
            committed: committed.as_ref().map(|c| c.id[..10].to_string()),
            url,
            detail,
        },
        other => other.into(),
    };
    let mut attempt = 0;
    // The commit left the live files equal to `main`: an apply only has the merged-in changes to
    // write (unless the commit saw store files missing here).
    let mut applied_at = if opts.commit { session.head } else { None };
    let mut pending = session.pending_apply;
    loop {
        attempt += 1;
        report.attempts = attempt;
        if let Some(p) = opts.progress {
            p(&format!("fetching from {url}"));
        }
        let fetched = remote.fetch().map_err(|e| offline(&report.committed, e))?;
        let theirs = match fetched {
            true => session.store.ref_target(TRACKING)?,
            false => None,
        };
        // git wrote new objects behind gix's back; gix looks for new packs when an object is
        // missing, and refs are read from disk each time, so the open session still serves.
        let step = integrate(&mut session, theirs, &url)?;
        match step {
            Step::Conflicts(state) => {
                state.save(env)?;
                report.outcome = "conflict".into();
                report.conflicts = state.conflicts.clone();
                report.overruled = state.overruled.clone();
                report.head = session.head.map(|h| h.to_string());
                return Ok(report);
            }
            Step::Merged { commit, overruled } => {
                MergeState::clear(env);
                report.outcome = "merged".into();
                report.merge_commit = Some(commit.to_string());
                report.overruled.extend(overruled);
            }
            Step::FastForward => {
                MergeState::clear(env);
                if report.outcome != "merged" {
                    report.outcome = "fast-forward".into();
                }
            }
            Step::Ahead | Step::UpToDate => {
                MergeState::clear(env);
            }
        }
        if opts.apply {
            let full = applied_at.is_none() || pending;
            if full || applied_at != session.head {
                apply_head(
                    &mut session,
                    &mut report,
                    if full { None } else { applied_at },
                )?;
                pending = false;
            }
            applied_at = session.head;
            let note = format!(
                "this machine cannot read the store's secrets (not approved); its live values are kept. On an approved machine: `ctx machine approve {}`",
                session.machine
            );
            // Said once: the list of unreadable fields already carries the same hint.
            if !session.approved()
                && report.unreadable.is_empty()
                && !report.notes.contains(&note)
                && !session.sealed_docs()?.is_empty()
            {
                report.notes.push(note);
            }
        }
        report.head = session.head.map(|h| h.to_string());
        let Some(head) = session.head else {
            return Ok(report);
        };
        if !opts.push || theirs == Some(head) {
            if report.outcome.is_empty() {
                report.outcome = "up-to-date".into();
            }
            return Ok(report);
        }
        if let Some(p) = opts.progress {
            p(&format!("pushing to {url}"));
        }
        match remote.push(head) {
            Ok(()) => {
                session
                    .store
                    .move_ref(TRACKING, head, theirs, "ctx: pushed")
                    .or_else(|_| {
                        // The tracking ref is only a cache of the remote's main.
                        session.store.delete_ref(TRACKING)?;
                        session.store.move_ref(TRACKING, head, None, "ctx: pushed")
                    })?;
                report.pushed = true;
                if report.outcome.is_empty() {
                    report.outcome = "pushed".into();
                }
                return Ok(report);
            }
            Err(RemoteError::Rejected { .. }) if attempt < MAX_ATTEMPTS => {
                // Another machine pushed first: back off a little (jittered, so two racing
                // machines do not collide again), fetch and merge its work, push again.
                let jitter = u64::from(std::process::id() % 50);
                std::thread::sleep(Duration::from_millis(
                    (50u64 << attempt.min(5)) + jitter * 2,
                ));
            }
            Err(RemoteError::Rejected { .. }) => return Err(SyncError::Busy { attempts: attempt }),
            Err(e) => return Err(offline(&report.committed, e)),
        }
    }
}

/// What integrating the remote's main did.
enum Step {
    UpToDate,
    Ahead,
    FastForward,
    Merged {
        commit: ObjectId,
        overruled: Vec<(String, Overruled)>,
    },
    Conflicts(MergeState),
}

/// Brings the remote's commit into `main`: nothing, a fast-forward, or a merge commit.
fn integrate(session: &mut Session, theirs: Option<ObjectId>, url: &str) -> Result<Step> {
    let Some(theirs) = theirs else {
        return Ok(Step::Ahead);
    };
    let Some(ours) = session.head else {
        session.store.move_ref(MAIN, theirs, None, "ctx: sync")?;
        reload(session)?;
        return Ok(Step::FastForward);
    };
    if ours == theirs {
        return Ok(Step::UpToDate);
    }
    if session.store.is_ancestor(theirs, ours)? {
        return Ok(Step::Ahead);
    }
    if session.store.is_ancestor(ours, theirs)? {
        session
            .store
            .move_ref(MAIN, theirs, Some(ours), "ctx: sync (fast-forward)")?;
        reload(session)?;
        return Ok(Step::FastForward);
    }
    let bases = session.store.merge_bases(ours, theirs)?;
    if bases.is_empty() {
        return Err(SyncError::Unrelated {
            url: url.to_string(),
        });
    }
    let base_tree = virtual_base(session, &bases, 0)?;
    let theirs_machine =
        crate::store::trailer(&session.store.commit_message(theirs)?, "Ctx-Machine")
            .unwrap_or_else(|| "the remote".into());
    let mut policy = session.merge_policy();
    if let Policy::Newest { .. } = policy {
        policy = Policy::Newest {
            ours_time: session.store.commit_time(ours)?,
            theirs_time: session.store.commit_time(theirs)?,
        };
    }
    let merged = merge_trees(
        session,
        base_tree,
        session.store.tree_of(ours)?,
        session.store.tree_of(theirs)?,
        policy,
    )?;
    let state = MergeState {
        ours,
        theirs,
        theirs_machine,
        clean: merged.clean,
        conflicts: merged.conflicts,
        overruled: merged.overruled,
    };
    if state.conflicts.is_empty() {
        let commit = commit_merge(session, &state)?;
        return Ok(Step::Merged {
            commit,
            overruled: state.overruled,
        });
    }
    Ok(Step::Conflicts(state))
}

fn reload(session: &mut Session) -> Result<()> {
    *session = Session::open(session.env.clone())?;
    Ok(())
}

struct TreeMerge {
    clean: BTreeMap<String, Option<Entry>>,
    conflicts: Vec<FileConflict>,
    overruled: Vec<(String, Overruled)>,
}

/// The path-level three-way merge; both-changed files go through the merge engine.
/// The tree to merge against. One best common ancestor: its tree. Several (a criss-cross,
/// where each side merged the other's work on its own): as git's recursive strategy, their merge,
/// with any conflict left in it as marked content, so that what both sides already agreed on (a
/// deletion, say) is not taken for a change, and a disagreement there stays a conflict.
fn virtual_base(session: &Session, bases: &[ObjectId], depth: usize) -> Result<Option<ObjectId>> {
    let store = &session.store;
    let Some((first, rest)) = bases.split_first() else {
        return Ok(None);
    };
    let mut acc_tree = store.tree_of(*first)?;
    let mut acc_commit = *first;
    for &b in rest {
        let sub = store.merge_bases(acc_commit, b)?;
        let sub_tree = if depth < 3 {
            virtual_base(session, &sub, depth + 1)?
        } else {
            sub.first().map(|c| store.tree_of(*c)).transpose()?
        };
        let m = merge_trees(session, sub_tree, acc_tree, store.tree_of(b)?, Policy::Stop)?;
        let mut changes = BTreeMap::new();
        let entry_change = |e: Option<Entry>| match e {
            Some(e) => Change::Blob(e),
            None => Change::Delete,
        };
        for (p, e) in m.clean {
            changes.insert(p, entry_change(e));
        }
        for c in m.conflicts {
            let exec = c.ours.or(c.theirs).is_some_and(|e| e.exec);
            let e = match c.marked {
                Some(oid) => Some(Entry { oid, exec }),
                None => c.ours.or(c.theirs),
            };
            changes.insert(c.path, entry_change(e));
        }
        acc_tree = store.write_tree(Some(acc_tree), &changes)?;
        acc_commit = b;
    }
    Ok(Some(acc_tree))
}

fn merge_trees(
    session: &Session,
    base_tree: Option<ObjectId>,
    ours_tree: ObjectId,
    theirs_tree: ObjectId,
    policy: Policy,
) -> Result<TreeMerge> {
    let store = &session.store;
    let ours_d = store.diff_trees(base_tree, Some(ours_tree))?;
    let theirs_d = store.diff_trees(base_tree, Some(theirs_tree))?;
    let mut out = TreeMerge {
        clean: BTreeMap::new(),
        conflicts: Vec::new(),
        overruled: Vec::new(),
    };
    // Only paths theirs changed matter: what only ours changed is already in ours.
    for (path, (base_e, their_e)) in &theirs_d {
        let (be, te) = (base_e.as_ref(), their_e.as_ref());
        let oe = match ours_d.get(path) {
            None => {
                out.clean.insert(path.clone(), te.copied());
                continue;
            }
            Some((_, o)) => o.as_ref(),
        };
        if oe == te {
            continue;
        }
        // The store's README is an inventory made from the other files: rebuilt after.
        if path == "README.md" {
            continue;
        }
        match (oe, te) {
            (Some(oe), Some(te)) => {
                let base_bytes = match be {
                    Some(e) => Some(store.blob(e.oid)?),
                    None => None,
                };
                let ob = store.blob(oe.oid)?;
                let tb = store.blob(te.oid)?;
                let exec = match be {
                    Some(be) if be.exec != oe.exec => oe.exec,
                    Some(_) => te.exec,
                    None => oe.exec || te.exec,
                };
                let m = session.merge_file(path, base_bytes.as_deref(), &ob, &tb, policy);
                for ov in m.overruled {
                    out.overruled
                        .push((path.clone(), shown_overruled(session, path, ov)));
                }
                if m.conflicts.is_empty() {
                    let oid = store.write_blob(&m.content)?;
                    let entry = Entry { oid, exec };
                    if Some(&entry) != Some(oe) {
                        out.clean.insert(path.clone(), Some(entry));
                    }
                } else {
                    let binary =
                        std::str::from_utf8(&ob).is_err() || std::str::from_utf8(&tb).is_err();
                    let marked = if binary {
                        None
                    } else {
                        Some(store.write_blob(&m.content)?)
                    };
                    out.conflicts.push(FileConflict {
                        path: path.clone(),
                        kind: if binary { "binary" } else { "content" }.into(),
                        fields: m
                            .conflicts
                            .into_iter()
                            .map(|c| shown_conflict(session, path, c))
                            .collect(),
                        base: be.copied(),
                        ours: Some(*oe),
                        theirs: Some(*te),
                        marked,
                        resolution: None,
                    });
                }
            }
            // One side deleted what the other changed: never a silent loss.
            (oe, te) => {
                let keep_ours = match policy {
                    Policy::Stop => None,
                    Policy::Ours => Some(true),
                    Policy::Theirs => Some(false),
                    Policy::Newest {
                        ours_time,
                        theirs_time,
                    } => Some(ours_time >= theirs_time),
                };
                let describe = |e: Option<&Entry>| {
                    Some(Value::String(
                        if e.is_some() { "changed" } else { "deleted" }.into(),
                    ))
                };
                match keep_ours {
                    Some(keep) => {
                        let (kept, lost) = if keep { (oe, te) } else { (te, oe) };
                        if !keep {
                            out.clean.insert(path.clone(), te.copied());
                        }
                        out.overruled.push((
                            path.clone(),
                            Overruled {
                                field: String::new(),
                                kept: describe(kept),
                                lost: describe(lost),
                            },
                        ));
                    }
                    None => out.conflicts.push(FileConflict {
                        path: path.clone(),
                        kind: "delete/modify".into(),
                        fields: vec![Conflict {
                            file: path.clone(),
                            field: String::new(),
                            base: Some(Value::String("present".into())),
                            ours: describe(oe),
                            theirs: describe(te),
                        }],
                        base: be.copied(),
                        ours: oe.copied(),
                        theirs: te.copied(),
                        marked: None,
                        resolution: None,
                    }),
                }
            }
        }
    }
    Ok(out)
}

/// A value as reports and commit messages may show it: secrets never.
fn shown(session: &Session, file: &str, field: &str, v: Option<Value>) -> Option<Value> {
    let v = v?;
    let text = v.to_string();
    let secret_field = crate::crypt::fields::parse_locator(&format!("{file}:{field}"))
        .is_some_and(|(_, p)| session.rules().is_secret_field(file, &p));
    if secret_field || text.contains("ENC[age:") || crate::crypt::rules::token_kind(&text).is_some()
    {
        return Some(Value::String("<secret>".into()));
    }
    Some(v)
}

fn shown_conflict(session: &Session, file: &str, c: Conflict) -> Conflict {
    Conflict {
        base: shown(session, file, &c.field, c.base),
        ours: shown(session, file, &c.field, c.ours),
        theirs: shown(session, file, &c.field, c.theirs),
        file: c.file,
        field: c.field,
    }
}

fn shown_overruled(session: &Session, file: &str, o: Overruled) -> Overruled {
    Overruled {
        kept: shown(session, file, &o.field, o.kept),
        lost: shown(session, file, &o.field, o.lost),
        field: o.field,
    }
}

/// Commits the merge of `state` (clean part plus resolutions) with both parents.
fn commit_merge(session: &mut Session, state: &MergeState) -> Result<ObjectId> {
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();
    let mut set = |path: &str, e: Option<Entry>| {
        changes.insert(
            path.to_string(),
            match e {
                Some(e) => Change::Blob(e),
                None => Change::Delete,
            },
        );
    };
    for (p, e) in &state.clean {
        set(p, *e);
    }
    for c in &state.conflicts {
        if let Some(r) = c.resolution {
            set(&c.path, r);
        }
    }
    // The manifest and records may have changed: build the inventory from the merged view.
    let merged_manifest = match changes.get("ctx.yaml") {
        Some(Change::Blob(e)) => session.store.blob(e.oid).ok(),
        _ => None,
    };
    if let Some(bytes) = merged_manifest {
        if let Ok(m) = crate::model::parse_yaml("ctx.yaml", &bytes) {
            session.manifest = m;
        }
    }
    session.add_inventory(&mut changes)?;
    let files: Vec<String> = changes
        .keys()
        .filter(|p| p.as_str() != "README.md")
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let mut msg = format!(
        "{}: sync with {}{}",
        session.machine,
        state.theirs_machine,
        if files.is_empty() {
            String::new()
        } else {
            format!(" · {}", files.join(", "))
        }
    );
    if !state.overruled.is_empty() || state.conflicts.iter().any(|c| c.resolution.is_some()) {
        msg.push_str("\n\n");
        for (file, o) in &state.overruled {
            msg.push_str(&format!(
                "policy {}: {}{} kept {}, lost {}\n",
                policy_name(session),
                crate::summary::short(file),
                if o.field.is_empty() {
                    String::new()
                } else {
                    format!(" {}", o.field)
                },
                value_text(&o.kept),
                value_text(&o.lost)
            ));
        }
        for c in state.conflicts.iter().filter(|c| c.resolution.is_some()) {
            msg.push_str(&format!(
                "resolved by hand: {}\n",
                crate::summary::short(&c.path)
            ));
        }
    }
    if !msg.ends_with('\n') {
        msg.push('\n');
    }
    msg.push_str(&format!(
        "\nCtx-Machine: {}\nCtx-Merge: {} + {}\n",
        session.machine, session.machine, state.theirs_machine
    ));
    let base_tree = session.store.tree_of(state.ours)?;
    let tree = session.store.write_tree(Some(base_tree), &changes)?;
    let id = session.store.commit(
        MAIN,
        tree,
        &[state.ours, state.theirs],
        Some(state.ours),
        &msg,
    )?;
    reload(session)?;
    Ok(id)
}

fn policy_name(session: &Session) -> &'static str {
    match session.merge_policy() {
        Policy::Stop => "stop",
        Policy::Ours => "ours",
        Policy::Theirs => "theirs",
        Policy::Newest { .. } => "newest",
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let t = v.to_string();
            if t.chars().count() > 60 {
                format!("{}…", t.chars().take(59).collect::<String>())
            } else {
                t
            }
        }
    }
}

/// Writes `main` to the live files, leaving alone any that hold uncommitted changes.
fn apply_head(
    session: &mut Session,
    report: &mut SyncReport,
    since: Option<ObjectId>,
) -> Result<()> {
    let target = session.head_files.clone();
    let (snap, only) = match (since, session.head) {
        (Some(from), Some(to)) => {
            let changed: Vec<String> = session
                .store
                .diff_trees(
                    Some(session.store.tree_of(from)?),
                    Some(session.store.tree_of(to)?),
                )?
                .into_keys()
                .filter(|p| crate::session::is_live_path(p))
                .collect();
            if changed.is_empty() {
                return Ok(());
            }
            (session.snapshot_of(&changed)?, changed)
        }
        _ => (session.snapshot(true)?, Vec::new()),
    };
    let mut plan = session.plan_apply(&target, &only, &snap)?;
    report.skipped.extend(plan.skip_dirty());
    for u in std::mem::take(&mut plan.unreadable) {
        if !report.unreadable.contains(&u) {
            report.unreadable.push(u);
        }
    }
    session.execute(&plan)?;
    for a in &plan.actions {
        let shown = session.env.display(&a.live);
        if !report.applied.contains(&shown) {
            report.applied.push(shown);
        }
    }
    Ok(())
}

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

/// The open merge of this store, if any.
pub fn open_merge(session: &Session) -> Option<MergeState> {
    MergeState::load(&session.env, session.head)
}

/// The marked file of an open conflict, for an editor.
pub fn marked_content(session: &Session, conflict: &FileConflict) -> Result<Vec<u8>> {
    Ok(match (conflict.marked, conflict.ours) {
        (Some(m), _) => session.store.blob(m)?,
        (None, Some(o)) => session.store.blob(o.oid)?,
        (None, None) => match conflict.theirs {
            Some(t) => session.store.blob(t.oid)?,
            None => Vec::new(),
        },
    })
}

/// Settles one open conflict; when none is left, commits the merge and applies it.
pub fn resolve(env: &Env, path: &str, how: Resolution) -> Result<ResolveReport> {
    let mut session = Session::open(env.clone())?;
    let mut state = match std::fs::read(MergeState::path(env))
        .ok()
        .and_then(|b| serde_json::from_slice::<MergeState>(&b).ok())
    {
        Some(s) if Some(s.ours) == session.head => s,
        Some(_) => {
            MergeState::clear(env);
            return Err(SyncError::Stale);
        }
        None => return Err(SyncError::NoConflict { path: None }),
    };
    let store_path = session
        .store_paths_for(&[path.to_string()])?
        .pop()
        .unwrap_or_default();
    let Some(conflict) = state
        .conflicts
        .iter_mut()
        .find(|c| c.path == store_path || c.path == path)
    else {
        return Err(SyncError::NoConflict {
            path: Some(path.to_string()),
        });
    };
    let resolved = match how {
        Resolution::Ours | Resolution::Theirs if conflict.kind == "content" => {
            // Field by field: only the conflicting values take the chosen side; what merged
            // cleanly (the other side's new permission, say) stays.
            let policy = if matches!(how, Resolution::Ours) {
                Policy::Ours
            } else {
                Policy::Theirs
            };
            let blob = |e: Option<Entry>| -> Result<Option<Vec<u8>>> {
                Ok(match e {
                    Some(e) => Some(session.store.blob(e.oid)?),
                    None => None,
                })
            };
            let base = blob(conflict.base)?;
            let ours = blob(conflict.ours)?.unwrap_or_default();
            let theirs = blob(conflict.theirs)?.unwrap_or_default();
            let m = session.merge_file(&conflict.path, base.as_deref(), &ours, &theirs, policy);
            let exec = conflict.ours.or(conflict.theirs).is_some_and(|e| e.exec);
            if m.conflicts.is_empty() {
                Some(Entry {
                    oid: session.store.write_blob(&m.content)?,
                    exec,
                })
            } else if matches!(how, Resolution::Ours) {
                conflict.ours
            } else {
                conflict.theirs
            }
        }
        Resolution::Ours => conflict.ours,
        Resolution::Theirs => conflict.theirs,
        Resolution::Content(bytes) => {
            check_resolution(&conflict.path, &bytes)?;
            let exec = conflict.ours.or(conflict.theirs).is_some_and(|e| e.exec);
            Some(Entry {
                oid: session.store.write_blob(&bytes)?,
                exec,
            })
        }
    };
    conflict.resolution = Some(resolved);
    let settled = conflict.path.clone();
    let remaining: Vec<String> = state.open().map(|c| c.path.clone()).collect();
    let mut report = ResolveReport {
        path: settled,
        remaining: remaining.clone(),
        merge_commit: None,
        applied: Vec::new(),
    };
    if !remaining.is_empty() {
        state.save(env)?;
        return Ok(report);
    }
    let commit = commit_merge(&mut session, &state)?;
    MergeState::clear(env);
    report.merge_commit = Some(commit.to_string());
    let mut sr = SyncReport::default();
    apply_head(&mut session, &mut sr, None)?;
    report.applied = sr.applied;
    Ok(report)
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

/// Where this store stands against its remote, from the last fetch (no network).
#[derive(Debug, Serialize)]
pub struct RemoteStatus {
    /// The remote.
    pub url: String,
    /// Local commits the remote does not have.
    pub ahead: usize,
    /// Remote commits not merged here.
    pub behind: usize,
}

/// Ahead/behind against the last fetched state of the remote.
pub fn remote_status(session: &Session) -> Result<Option<RemoteStatus>> {
    let Some(url) = remote::configured_url(&session.store) else {
        return Ok(None);
    };
    let tracking = session.store.ref_target(TRACKING)?;
    let (ahead, behind) = match (session.head, tracking) {
        (Some(h), Some(t)) => (
            session.store.count_exclusive(h, t)?,
            session.store.count_exclusive(t, h)?,
        ),
        (Some(h), None) => (session.store.count_exclusive(h, h)?, 0),
        _ => (0, 0),
    };
    Ok(Some(RemoteStatus { url, ahead, behind }))
}

/// Joins or connects a store to a remote (`ctx init --remote`): an empty remote receives this
/// store; a remote holding a store is fetched and becomes this store's main (when this store has
/// no history of its own). Returns whether the remote already held a store.
pub fn connect(env: &Env, store: &Store, url: &str) -> Result<bool> {
    let remote = Remote::new(&env.store_dir, url);
    let configure = || -> Result<()> {
        store
            .set_config(&[
                ("remote.origin.url", url),
                (
                    "remote.origin.fetch",
                    "+refs/heads/main:refs/remotes/origin/main",
                ),
            ])
            .map_err(SessionError::from)?;
        Ok(())
    };
    // The remote is written into the store's config only once it proved acceptable.
    if !remote.fetch()? {
        configure()?;
        return Ok(false);
    }
    let opened = Store::open(&env.store_dir, "ctx")?;
    let Some(theirs) = opened.ref_target(TRACKING)? else {
        configure()?;
        return Ok(false);
    };
    let refused = |e: SyncError| {
        let _ = opened.delete_ref(TRACKING);
        Err(e)
    };
    if opened.read(Some(theirs), "ctx.yaml")?.is_none() {
        return refused(SyncError::NotAStore {
            url: url.to_string(),
        });
    }
    match opened.head()? {
        None => opened.move_ref(MAIN, theirs, None, "ctx: join")?,
        Some(ours) => {
            if opened.merge_base(ours, theirs)?.is_none() {
                return refused(SyncError::Unrelated {
                    url: url.to_string(),
                });
            }
        }
    }
    configure()?;
    Ok(true)
}
