//! `ctx rollback`: a new commit that restores an earlier state of the store (all of it, or some
//! paths), then the apply that brings the live files to it. History is never rewritten.

use crate::apply::{self, ApplyOutcome, OnDirty, Scope};
use crate::error::Error;
use crate::layout::under;
use crate::repo::{entry_change, Transaction};
use crate::store::{Files, ObjectId};
use crate::workspace::Workspace;

/// Errors of rollback.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// Neither a revision nor a time.
    #[error("no revision given")]
    NoRevision,
    /// A time that does not parse.
    #[error("cannot read `{0}` as a time")]
    BadTime(String),
    /// No commit that old.
    #[error("the store has no commit made before {0}")]
    NothingBefore(String),
    /// The store and live files.
    #[error(transparent)]
    Workspace(#[from] Error),
}

impl From<crate::store::StoreError> for RollbackError {
    fn from(e: crate::store::StoreError) -> Self {
        RollbackError::Workspace(e.into())
    }
}

type Result<T, E = RollbackError> = std::result::Result<T, E>;

/// What to restore.
#[derive(Debug)]
pub struct Target {
    /// The commit whose state is restored.
    pub rev: ObjectId,
    /// The store paths restored (empty: everything).
    pub paths: Vec<String>,
    /// `main`'s files with those paths as of `rev`.
    pub files: Files,
}

/// What a rollback did.
#[derive(Debug)]
pub struct Rolledback {
    /// The new commit (`None`: the store already held that state).
    pub commit: Option<ObjectId>,
    /// Its first line.
    pub subject: String,
    /// The apply that followed.
    pub applied: ApplyOutcome,
}

/// Finds the state to restore: `rev` (a commit id, `HEAD~N`), or the newest commit made before
/// `before` (then a positional `rev` is taken as a path); `paths` as the user typed them.
pub fn target(
    ws: &Workspace,
    rev: Option<&str>,
    before: Option<&str>,
    paths: &[String],
) -> Result<Target> {
    let head = ws
        .repo
        .head
        .ok_or_else(|| crate::store::StoreError::Empty {
            dir: ws.env.store_dir.clone(),
        })?;
    let mut args = paths.to_vec();
    let rev = match (before, rev) {
        (Some(t), rev) => {
            if let Some(r) = rev {
                args.insert(0, r.to_string());
            }
            let when = parse_time(t)?;
            let found = ws.repo.store.history().before(head, when)?;
            found.ok_or_else(|| RollbackError::NothingBefore(t.to_string()))?
        }
        (None, Some(r)) => ws.repo.store.resolve(r)?,
        (None, None) => return Err(RollbackError::NoRevision),
    };
    let paths = ws.store_paths_for(&args)?;
    let files = files_of(ws, rev, &paths)?;
    Ok(Target { rev, paths, files })
}

/// The files of `rev` for `paths` (all when empty), laid over `main`'s.
fn files_of(ws: &Workspace, rev: ObjectId, paths: &[String]) -> Result<Files> {
    let old = ws.repo.store.files(Some(rev))?;
    let head = &ws.repo.files;
    if paths.is_empty() {
        // Who can read the secrets is never rolled back by accident: a revoke stays a revoke.
        let mut out: Files = old.into_iter().filter(|(p, _)| !keeps_access(p)).collect();
        out.extend(
            head.iter()
                .filter(|(p, _)| keeps_access(p))
                .map(|(p, e)| (p.clone(), *e)),
        );
        return Ok(out);
    }
    for o in paths {
        if !old.keys().chain(head.keys()).any(|p| under(p, o)) {
            return Err(Error::UnknownPath(o.clone()).into());
        }
    }
    let mut out: Files = head
        .iter()
        .filter(|(p, _)| !paths.iter().any(|o| under(p, o)))
        .map(|(p, e)| (p.clone(), *e))
        .collect();
    out.extend(
        old.into_iter()
            .filter(|(p, _)| paths.iter().any(|o| under(p, o))),
    );
    Ok(out)
}

/// The store files that say who can read the secrets: a whole-store rollback keeps them as
/// they are now; naming them restores them.
pub fn keeps_access(path: &str) -> bool {
    path == crate::layout::MANIFEST || under(path, "machines")
}

/// What restoring `t` would write, changing nothing.
pub fn preview(ws: &Workspace, t: &Target) -> Result<ApplyOutcome> {
    Ok(apply::to_target(
        ws,
        &t.files,
        Scope::Paths(t.paths.clone()),
        OnDirty::Refuse,
        true,
    )?)
}

/// Commits `t` as the new content of `main`, then applies it. Live files holding uncommitted
/// changes stop it before anything is committed, unless `force` (they are saved to a backup
/// ref first).
pub fn rollback(ws: &mut Workspace, t: &Target, force: bool) -> Result<Rolledback> {
    let dirty = preview(ws, t)?.plan.dirty;
    if !dirty.is_empty() && !force {
        return Err(Error::Dirty { files: dirty }.into());
    }
    let what = if t.paths.is_empty() {
        "everything".to_string()
    } else {
        let short: Vec<&str> = t.paths.iter().map(|p| crate::summary::short(p)).collect();
        short.join(", ")
    };
    let short = &t.rev.to_string()[..10];
    let subject = format!("{}: rollback {what} to {short}", ws.machine());
    let items = [format!("restored from {}", t.rev)];
    let msg = crate::summary::message(ws.machine(), &items, Some(&subject));
    let mut tx = Transaction::new();
    for (p, e) in &t.files {
        if ws.repo.files.get(p) != Some(e) {
            tx.set(p, entry_change(Some(*e)));
        }
    }
    for p in ws.repo.files.keys().filter(|p| !t.files.contains_key(*p)) {
        tx.set(p, entry_change(None));
    }
    let commit = match tx.is_empty() {
        true => None,
        false => Some(tx.commit(&mut ws.repo, &msg)?),
    };
    ws.reload_keys()?;
    let on_dirty = if force {
        OnDirty::Backup
    } else {
        OnDirty::Refuse
    };
    let applied = apply::to_head(ws, Scope::Paths(t.paths.clone()), on_dirty)?;
    Ok(Rolledback {
        commit,
        subject,
        applied,
    })
}

/// Seconds since the epoch for a user-written time: "2026-11-20 14:00", "2 hours ago", RFC 3339.
pub fn parse_time(text: &str) -> Result<i64> {
    let bad = || RollbackError::BadTime(text.to_string());
    let now = crate::clock::now().to_zoned(jiff::tz::TimeZone::system());
    // A date and time without a zone is local time, whatever gix's parser would take it for.
    let zoneless = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b" -:T".contains(&b))
        && text.bytes().filter(|b| *b == b'-').count() == 2;
    if !zoneless {
        if let Ok(t) = gix::date::parse(text, Some(now.clone())) {
            return Ok(t.seconds);
        }
    }
    // "2026-11-20 14:00" and "2026-11-20": local time.
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| bad())?;
    let zoned = civil.to_zoned(now.time_zone().clone()).map_err(|_| bad())?;
    Ok(zoned.timestamp().as_second())
}
