//! Projects: the git repositories a person works in, as `projects/<id>.yaml` records (identity,
//! where each machine has them checked out, last branch) plus the personal files that live in a
//! worktree but not in the project's git (`.claude/settings.local.json`, `CLAUDE.local.md`).
//!
//! Everything here runs inside git hooks, so it reads git data in-process with gix (no `git`
//! spawns) and never touches the network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::layout::Source;
use crate::model::ProjectRecord;
use crate::repo::Transaction;
use crate::store::Change;
use crate::workspace::Workspace;

/// Files at a worktree's root that belong to the person, not to the project's git.
pub const PERSONAL: &[&str] = &[".claude/settings.local.json", "CLAUDE.local.md"];

/// `last_seen` is rewritten at most this often when nothing else changed, so that an ordinary
/// `git commit` does not make a store commit every time.
pub const LAST_SEEN_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where the root commit id of an origin-less repository is cached, inside its common git dir:
/// finding the root walks the whole first-parent history, which is too slow for a hook.
const ROOT_CACHE: &str = "ctx-root-commit";

/// Errors reading a project.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The folder is not inside a git worktree.
    #[error("{} is not inside a git worktree: {reason}", dir.display())]
    NotARepo { dir: PathBuf, reason: String },
    /// A bare repository has no worktree to record.
    #[error("{} is a bare repository", dir.display())]
    Bare { dir: PathBuf },
    /// No remote and no commit yet: nothing identifies the project.
    #[error("the repository has no `origin` remote and no commit yet, so it has no identity")]
    NoIdentity,
    /// Reading git data failed.
    #[error("reading the repository: {0}")]
    Git(String),
    /// The store.
    #[error(transparent)]
    Workspace(#[from] Error),
}

/// What ctx knows about a worktree of a project.
#[derive(Debug, Clone)]
pub struct GitProject {
    /// The worktree's top level.
    pub worktree: PathBuf,
    /// The git dir all worktrees share.
    pub common_dir: PathBuf,
    /// Normalised `origin` URL, else `root:<root commit id>`.
    pub identity: String,
    /// File-name-safe form of the identity, used for `projects/<id>.yaml`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The checked-out branch; `None` when detached.
    pub branch: Option<String>,
}

impl GitProject {
    /// Reads the project whose worktree contains `dir`.
    pub fn inspect(dir: &Path) -> Result<GitProject, ProjectError> {
        let repo = gix::discover(dir).map_err(|e| ProjectError::NotARepo {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let worktree = repo
            .workdir()
            .ok_or_else(|| ProjectError::Bare {
                dir: dir.to_path_buf(),
            })?
            .to_path_buf();
        let worktree = std::fs::canonicalize(&worktree).unwrap_or(worktree);
        let common_dir = repo.common_dir().to_path_buf();
        let common_dir = std::fs::canonicalize(&common_dir).unwrap_or(common_dir);
        let branch = repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.shorten().to_string());
        let url = repo
            .config_snapshot()
            .string("remote.origin.url")
            .map(|u| u.to_string());
        let (identity, name) = match url.as_deref().and_then(normalize_url) {
            Some(id) => {
                let name = url
                    .as_deref()
                    .and_then(|u| {
                        u.trim_end_matches('/')
                            .trim_end_matches(".git")
                            .rsplit(['/', ':'])
                            .next()
                    })
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .unwrap_or_else(|| id.rsplit('/').next().unwrap_or(&id).to_string());
                (id, name)
            }
            None => {
                let root = root_commit(&repo, &common_dir)?;
                (
                    format!("root:{root}"),
                    main_folder_name(&common_dir, &worktree),
                )
            }
        };
        Ok(GitProject {
            id: slug(&identity),
            identity,
            name,
            worktree,
            common_dir,
            branch,
        })
    }

    /// The record's store path.
    pub fn record_path(&self) -> String {
        format!("projects/{}.yaml", self.id)
    }

    /// Store path of a personal file (`rel` is one of [`PERSONAL`]).
    pub fn personal_store_path(&self, rel: &str) -> String {
        format!("projects/{}/{rel}", self.id)
    }
}

/// The name of the folder holding the main worktree (the parent of `.git`), else the worktree's.
fn main_folder_name(common_dir: &Path, worktree: &Path) -> String {
    let main = if common_dir.file_name().is_some_and(|n| n == ".git") {
        common_dir.parent().unwrap_or(worktree)
    } else {
        worktree
    };
    main.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "project".into())
}

fn root_commit(repo: &gix::Repository, common_dir: &Path) -> Result<String, ProjectError> {
    let cache = common_dir.join(ROOT_CACHE);
    if let Ok(text) = std::fs::read_to_string(&cache) {
        let text = text.trim();
        if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(text.to_string());
        }
    }
    let head = repo
        .head_id()
        .map_err(|_| ProjectError::NoIdentity)?
        .detach();
    let walk = repo
        .rev_walk([head])
        .first_parent_only()
        .all()
        .map_err(|e| ProjectError::Git(e.to_string()))?;
    let mut last = head;
    for info in walk {
        last = info.map_err(|e| ProjectError::Git(e.to_string()))?.id;
    }
    let root = last.to_string();
    // Only a cache: without it the next hook walks the history again.
    let _ = std::fs::write(&cache, format!("{root}\n"));
    Ok(root)
}

/// A remote URL reduced to `host/path`, lower-cased, without user, port, scheme or `.git`, so
/// the SSH and HTTPS forms of one repository agree. Local paths and `file://` URLs identify
/// nothing across machines: `None`, and the root commit identifies the project instead.
pub fn normalize_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        (host, path)
    } else {
        // scp-like `user@host:path`; a colon after a slash is a local path.
        let (before, path) = url.split_once(':')?;
        if before.contains('/') || before.is_empty() || (before.len() == 1 && cfg!(windows)) {
            return None;
        }
        (before.rsplit('@').next().unwrap_or(before), path)
    };
    let path = path
        .trim_matches('/')
        .trim_end_matches(".git")
        .trim_end_matches('/');
    let path = path
        .strip_prefix('~')
        .unwrap_or(path)
        .trim_start_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{host}/{path}").to_ascii_lowercase())
}

/// The file-name-safe form of an identity: `github.com/foo/bar` -> `github.com-foo-bar`,
/// `root:<id>` -> `root-<first 12 hex digits>`.
pub fn slug(identity: &str) -> String {
    if let Some(root) = identity.strip_prefix("root:") {
        return format!("root-{}", &root[..root.len().min(12)]);
    }
    let mut out = String::new();
    for c in identity.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']).to_string();
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

/// The record after this machine saw `p` at `now`; `None` when nothing worth a commit changed.
pub fn updated_record(
    old: Option<&ProjectRecord>,
    p: &GitProject,
    machine: &str,
    now: jiff::Timestamp,
) -> Option<ProjectRecord> {
    let mut rec = old.cloned().unwrap_or_else(|| ProjectRecord {
        name: p.name.clone(),
        identity: p.identity.clone(),
        worktrees: BTreeMap::new(),
        last_branch: None,
        last_seen: None,
        notes: None,
    });
    let path = p.worktree.to_string_lossy().to_string();
    let paths = rec.worktrees.entry(machine.to_string()).or_default();
    // Worktrees removed since (`git worktree remove`) drop out of this machine's list.
    paths.retain(|w| *w == path || Path::new(w).exists());
    if !paths.contains(&path) {
        paths.push(path);
        paths.sort();
    }
    if p.branch.is_some() {
        rec.last_branch = p.branch.clone();
    }
    let stale = rec
        .last_seen
        .as_deref()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .is_none_or(|t| {
            now.duration_since(t).as_secs() >= LAST_SEEN_EVERY.as_secs() as i64
                || t.duration_since(now).as_secs() > 0
        });
    let mut changed = old != Some(&rec);
    if changed || stale {
        rec.last_seen = now.round(jiff::Unit::Second).ok().map(|t| t.to_string());
        changed = true;
    }
    changed.then_some(rec)
}

/// What happened to one personal file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PersonalOutcome {
    /// Written into the worktree from the store.
    Restored,
    /// Captured from the worktree into the store.
    Captured,
    /// The worktree's file differs from the store's and was left alone.
    KeptLocal,
    /// Nothing to do.
    Same,
    /// Not captured or restored, for this reason (e.g. a token in plain text); the other file
    /// and the record are still handled.
    Refused(String),
}

/// How to reconcile personal files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// After a commit: the worktree's files are the newest; capture them.
    Capture,
    /// After a checkout or install: fill in missing files from the store; capture files the
    /// store lacks; never overwrite a worktree file that differs.
    Restore,
}

/// Records the project and reconciles its personal files in one store commit, if anything
/// changed. Returns what happened to each personal file.
pub fn record(
    ws: &mut Workspace,
    p: &GitProject,
    dir: Direction,
    now: jiff::Timestamp,
) -> Result<Vec<(String, PersonalOutcome)>, ProjectError> {
    let mut tx = Transaction::new();
    let path = p.record_path();
    // Paths under the home are stored machine-neutral, like everywhere else in the store.
    let codec = ws.codec();
    let home = codec.home().to_string();
    let old = match ws.repo.read(&path)? {
        Some(bytes) => {
            let text = crate::pathmap::to_live(&String::from_utf8_lossy(&bytes), &home);
            Some(
                crate::model::parse_yaml::<ProjectRecord>(&path, text.as_bytes())
                    .map_err(Error::from)?,
            )
        }
        None => None,
    };
    if let Some(rec) = updated_record(old.as_ref(), p, ws.machine(), now) {
        let yaml = serde_yaml::to_string(&rec).map_err(|e| ProjectError::Git(e.to_string()))?;
        let yaml = crate::pathmap::to_store(&yaml, &home);
        tx.write(&path, yaml.into_bytes(), false);
    }
    let mut outcomes = Vec::new();
    for rel in PERSONAL {
        let store_path = p.personal_store_path(rel);
        let live = p.worktree.join(rel);
        if let Some(why) = linked_out(&p.worktree, &live) {
            outcomes.push((rel.to_string(), PersonalOutcome::Refused(why.into())));
            continue;
        }
        match personal(ws, &store_path, &live, dir) {
            Ok((outcome, change)) => {
                if let Some(c) = change {
                    tx.set(&store_path, c);
                }
                outcomes.push((rel.to_string(), outcome));
            }
            Err(e) => outcomes.push((rel.to_string(), PersonalOutcome::Refused(e.to_string()))),
        }
    }
    if !tx.is_empty() {
        let items: Vec<String> = tx.paths().cloned().collect();
        let subject = format!("{}: project {}", ws.machine(), p.name);
        let msg = crate::summary::message(ws.machine(), &items, Some(&subject));
        tx.commit(&mut ws.repo, &msg)?;
    }
    Ok(outcomes)
}

/// Remembers a worktree a hook could not record because the store was busy; the next commit
/// records it (see [`catch_up`]). Appending a line is atomic enough for a list of folders.
pub fn defer(state: &crate::state::StatePaths, worktree: &Path, dir: Direction) {
    use std::io::Write;
    let mark = if dir == Direction::Capture { 'c' } else { 'r' };
    let line = format!("{mark} {}\n", worktree.display());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&state.deferred)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Records the worktrees hooks deferred; returns a note for each one that could not be.
pub fn catch_up(ws: &mut Workspace, now: jiff::Timestamp) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(&ws.state.deferred) else {
        return Vec::new();
    };
    let _ = std::fs::remove_file(&ws.state.deferred);
    let mut seen = std::collections::BTreeSet::new();
    let mut notes = Vec::new();
    for line in text.lines() {
        let Some((mark, dir)) = line.split_once(' ') else {
            continue;
        };
        if !seen.insert(line) {
            continue;
        }
        let direction = match mark {
            "c" => Direction::Capture,
            _ => Direction::Restore,
        };
        let result = GitProject::inspect(Path::new(dir))
            .and_then(|p| record(ws, &p, direction, now).map(|_| ()));
        if let Err(e) = result {
            notes.push(format!(
                "{dir}: the project a hook deferred could not be recorded: {e}"
            ));
        }
    }
    notes
}

/// Why a personal file is neither captured nor restored because it is a link (or lies behind
/// one) that leads out of its worktree: `.claude/settings.local.json -> ~/.docker/config.json`
/// must not carry that file into the store, nor have the store's version written through it.
fn linked_out(worktree: &Path, live: &Path) -> Option<&'static str> {
    let mut at = worktree.to_path_buf();
    let rel = live.strip_prefix(worktree).ok()?;
    for part in rel.components() {
        at.push(part);
        if !std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let inside = std::fs::canonicalize(&at).is_ok_and(|real| real.starts_with(worktree));
        if !inside {
            return Some("a symlink out of the worktree; not captured (copy the file in instead)");
        }
    }
    None
}

fn personal(
    ws: &Workspace,
    store_path: &str,
    live: &Path,
    dir: Direction,
) -> Result<(PersonalOutcome, Option<Change>), ProjectError> {
    let stored = ws.repo.read(store_path)?;
    let local = match std::fs::read(live) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(Error::Io {
                path: live.to_path_buf(),
                source,
            }
            .into())
        }
    };
    let codec = ws.codec();
    let capture = |raw: &[u8]| -> Result<(PersonalOutcome, Option<Change>), ProjectError> {
        let display = ws.env.display(live);
        let bytes = codec
            .to_store(store_path, &Source::Whole, &display, raw, stored.as_deref())
            .map_err(Error::from)?
            .unwrap_or_default();
        if stored.as_deref() == Some(&bytes[..]) {
            return Ok((PersonalOutcome::Same, None));
        }
        Ok((
            PersonalOutcome::Captured,
            Some(Change::Write { bytes, exec: false }),
        ))
    };
    let live_form = |stored: &[u8]| {
        codec
            .to_live(store_path, &Source::Whole, stored, None)
            .bytes
    };
    match (local, stored.clone()) {
        (None, None) => Ok((PersonalOutcome::Same, None)),
        (Some(raw), None) => capture(&raw),
        // Unchanged since it was stored (the common commit): no need to run the detector again.
        (Some(raw), Some(stored)) if dir == Direction::Capture && live_form(&stored) == raw => {
            Ok((PersonalOutcome::Same, None))
        }
        (Some(raw), Some(_)) if dir == Direction::Capture => capture(&raw),
        (Some(raw), Some(stored)) => match live_form(&stored) == raw {
            true => Ok((PersonalOutcome::Same, None)),
            false => Ok((PersonalOutcome::KeptLocal, None)),
        },
        (None, Some(stored)) if dir == Direction::Restore => {
            crate::fsx::write_atomic(live, &live_form(&stored), Some(0o600))
                .map_err(crate::error::io(live))?;
            Ok((PersonalOutcome::Restored, None))
        }
        // A file deleted from one worktree may still be wanted by the others: never a deletion.
        (None, Some(_)) => Ok((PersonalOutcome::Same, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_one_repository_agree() {
        for u in [
            "git@github.com:Foo/bar.git",
            "https://github.com/Foo/bar",
            "https://github.com/Foo/bar.git/",
            "ssh://git@github.com/Foo/bar.git",
            "ssh://git@github.com:22/Foo/bar.git",
            "https://user:pw@github.com/foo/bar",
            "git://github.com/foo/bar",
        ] {
            assert_eq!(
                normalize_url(u).as_deref(),
                Some("github.com/foo/bar"),
                "{u}"
            );
        }
        for local in ["/srv/git/bar.git", "../bar", "file:///srv/bar", "./a:b"] {
            assert_eq!(normalize_url(local), None, "{local}");
        }
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("github.com/foo/bar"), "github.com-foo-bar");
        assert_eq!(
            slug("root:0123456789abcdef0123456789abcdef01234567"),
            "root-0123456789ab"
        );
        assert_eq!(slug("gitlab.com/a/b c/../d"), "gitlab.com-a-b-c-..-d");
    }

    fn project(path: &str, branch: &str) -> GitProject {
        GitProject {
            worktree: PathBuf::from(path),
            common_dir: PathBuf::from("/x/.git"),
            identity: "github.com/foo/bar".into(),
            id: "github.com-foo-bar".into(),
            name: "bar".into(),
            branch: Some(branch.into()),
        }
    }

    #[test]
    fn last_seen_alone_is_rewritten_at_most_hourly() {
        let t0: jiff::Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
        let p = project("/", "main");
        let rec = updated_record(None, &p, "m1", t0).unwrap();
        assert_eq!(rec.worktrees["m1"], vec!["/".to_string()]);
        assert_eq!(rec.last_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
        let later = "2026-11-20T10:30:00Z".parse().unwrap();
        assert!(updated_record(Some(&rec), &p, "m1", later).is_none());
        let other = project("/", "feature");
        let rec2 = updated_record(Some(&rec), &other, "m1", later).unwrap();
        assert_eq!(rec2.last_branch.as_deref(), Some("feature"));
        let hour = "2026-11-20T11:00:01Z".parse().unwrap();
        assert!(updated_record(Some(&rec), &p, "m1", hour).is_some());
    }
}
