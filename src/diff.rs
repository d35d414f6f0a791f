//! `ctx diff`: what a commit would record, file by file, with every secret redacted.

use crate::capture::{captured_bytes, snapshot, status};
use crate::error::Result;
use crate::layout::selected;
use crate::workspace::Workspace;

/// The two sides of one changed file, redacted.
#[derive(Debug)]
pub enum FileDiff {
    /// A text file: the store's version and the live one, in store form.
    Text {
        /// Store path.
        path: String,
        /// The store's version.
        old: String,
        /// The live version.
        new: String,
    },
    /// A binary file differs.
    Binary {
        /// Store path.
        path: String,
    },
}

/// The live changes under `only` (store-path prefixes; empty: all), as a commit would record
/// them.
pub fn live_changes(ws: &Workspace, only: &[String]) -> Result<Vec<FileDiff>> {
    let snap = snapshot(ws, true)?;
    let mut out = Vec::new();
    for st in status(ws, &snap)? {
        if !selected(&st.path, only) {
            continue;
        }
        let old = ws.repo.read(&st.path)?.unwrap_or_default();
        let new = captured_bytes(ws, &st.path, &snap)?.unwrap_or_default();
        out.push(pair(st.path, &old, &new));
    }
    Ok(out)
}

/// The store's changes from revision `from` to `to` (default: `main`) under `only`, redacted:
/// what `ctx log` commits changed, as a diff.
pub fn between(
    ws: &Workspace,
    from: &str,
    to: Option<&str>,
    only: &[String],
) -> Result<Vec<FileDiff>> {
    let store = &ws.repo.store;
    let a = store.resolve(from)?;
    let b = match to {
        Some(t) => store.resolve(t)?,
        None => ws.repo.head.unwrap_or(a),
    };
    pairs(store, &store.files(Some(a))?, &store.files(Some(b))?, only)
}

/// The redacted pairs of the files that differ between two trees, under `only`.
fn pairs(
    store: &crate::store::Store,
    old_files: &crate::store::Files,
    new_files: &crate::store::Files,
    only: &[String],
) -> Result<Vec<FileDiff>> {
    let mut paths: Vec<&String> = old_files.keys().chain(new_files.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (o, n) = (old_files.get(path), new_files.get(path));
        if o == n || !selected(path, only) {
            continue;
        }
        let read = |e: Option<&crate::store::Entry>| -> Result<Vec<u8>> {
            Ok(match e {
                Some(e) => store.blob(e.oid)?,
                None => Vec::new(),
            })
        };
        let (old, new) = (read(o)?, read(n)?);
        out.push(pair(path.clone(), &old, &new));
    }
    Ok(out)
}

/// One file's two sides as a redacted text pair, or binary.
fn pair(path: String, old: &[u8], new: &[u8]) -> FileDiff {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(o), Ok(n)) => {
            let (old, new) = crate::redact::texts(o, n);
            FileDiff::Text { path, old, new }
        }
        _ => FileDiff::Binary { path },
    }
}

/// What `ctx diff ARGS` compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The live files against `main`: what a commit would record.
    Live,
    /// Revision `from` against `to` (default: `main`).
    Revisions {
        /// The older side.
        from: String,
        /// The newer side; `None` is `main`.
        to: Option<String>,
    },
}

/// Splits `ctx diff`'s arguments as git does: leading arguments that name commits are
/// revisions (at most two, or one `A..B`), the rest are paths; everything after `--` is a path.
/// An argument that looks like a revision (`HEAD~9`, a commit id) and names no commit nor a
/// path is an error, not a path filter that matches nothing.
pub fn split_args(
    ws: &Workspace,
    args: &[String],
    after_dashes: &[String],
    dashes: bool,
) -> Result<(Compare, Vec<String>)> {
    let mut revs: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for a in args {
        let rev_slot = paths.is_empty() && revs.len() < 2;
        if dashes || (rev_slot && !is_path(ws, a)) {
            let range = a
                .split_once("..")
                .filter(|(x, y)| revs.is_empty() && !x.is_empty() && !y.is_empty());
            if let Some((x, y)) = range {
                ws.repo.store.resolve(x)?;
                ws.repo.store.resolve(y)?;
                revs.extend([x.to_string(), y.to_string()]);
                continue;
            }
            if dashes || looks_like_revision(a) {
                ws.repo.store.resolve(a)?;
                revs.push(a.clone());
                continue;
            }
            if ws.repo.store.resolve(a).is_ok() {
                revs.push(a.clone());
                continue;
            }
        }
        paths.push(a.clone());
    }
    if revs.len() > 2 {
        return Err(crate::store::StoreError::BadRevision {
            rev: revs[2].clone(),
            source: None,
        }
        .into());
    }
    paths.extend(after_dashes.iter().cloned());
    let mut revs = revs.into_iter();
    let compare = match revs.next() {
        None => Compare::Live,
        Some(from) => Compare::Revisions {
            from,
            to: revs.next(),
        },
    };
    Ok((compare, paths))
}

/// Whether `arg` names a file ctx knows: in the store (as typed, or under `claude/`) or live.
fn is_path(ws: &Workspace, arg: &str) -> bool {
    let t = arg.trim_end_matches('/');
    ws.repo.knows(t)
        || ws.repo.knows(&format!("claude/{t}"))
        || ws.env.claude_dir.join(t).exists()
        || (arg.contains('/') && std::path::Path::new(arg).exists())
}

/// `HEAD`, `main`, `HEAD~2`, `x^`, `@{1}`, or 7 to 40 hex digits.
fn looks_like_revision(arg: &str) -> bool {
    let hex = (7..=40).contains(&arg.len()) && arg.bytes().all(|b| b.is_ascii_hexdigit());
    hex || arg == "HEAD"
        || arg == "main"
        || arg.contains(['~', '^'])
        || arg.contains("@{")
        || arg.starts_with("refs/")
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Only on the new side.
    Added,
    /// On both sides, different.
    Modified,
    /// Only on the old side.
    Deleted,
}

/// One changed file as `--stat`, `--name-only` and `--json` report it: the store path, where
/// it lives here, and the lines added and removed (counted on the redacted texts).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStat {
    /// Store path.
    pub path: String,
    /// Where it lives on this machine (absolute), when it is a live file here.
    pub live_path: Option<String>,
    /// Added, modified or deleted.
    pub status: Status,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Whether it is binary (no line counts).
    pub binary: bool,
}

/// The unified diff of a text pair (`a/PATH`, `b/PATH` headers, three lines of context).
pub fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The stat of one file's diff.
pub fn stat(ws: &Workspace, d: &FileDiff) -> FileStat {
    let (path, counts, status) = match d {
        FileDiff::Text { path, old, new } => {
            let diff = similar::TextDiff::from_lines(old, new);
            let (mut added, mut removed) = (0, 0);
            for c in diff.iter_all_changes() {
                match c.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
            let status = match (old.is_empty(), new.is_empty()) {
                (true, false) => Status::Added,
                (false, true) => Status::Deleted,
                _ => Status::Modified,
            };
            (path, Some((added, removed)), status)
        }
        FileDiff::Binary { path } => (path, None, Status::Modified),
    };
    let live_path =
        crate::layout::live_location(&ws.env, path).map(|(p, _)| p.to_string_lossy().to_string());
    let (added, removed) = counts.unwrap_or((0, 0));
    FileStat {
        path: path.clone(),
        live_path,
        status,
        added,
        removed,
        binary: counts.is_none(),
    }
}

/// The file pairs of `compare` under `only`, redacted.
pub fn compare(ws: &Workspace, compare: &Compare, only: &[String]) -> Result<Vec<FileDiff>> {
    match compare {
        Compare::Live => live_changes(ws, only),
        Compare::Revisions { from, to } => between(ws, from, to.as_deref(), only),
    }
}

/// What one commit changed against its first parent (everything, for a root commit).
pub fn of_commit(ws: &Workspace, id: &str, only: &[String]) -> Result<Vec<FileDiff>> {
    let store = &ws.repo.store;
    let commit = store.resolve(id)?;
    let parent = store.history().parents(commit)?.into_iter().next();
    let old_files = match parent {
        Some(p) => store.files(Some(p))?,
        None => Default::default(),
    };
    pairs(store, &old_files, &store.files(Some(commit))?, only)
}

/// What an apply would change, file by file, redacted: each live file as capture reads it
/// against `target`'s version (store form, so secrets stay sealed and are shown as `<secret>`).
/// A live file capture cannot read is shown as differing, never its contents.
pub fn planned(
    ws: &Workspace,
    target: &crate::store::Files,
    actions: &[crate::apply::Action],
) -> Result<Vec<FileDiff>> {
    let mut out = Vec::new();
    for a in actions {
        let live = if a.live.exists() {
            let source = crate::layout::live_location(&ws.env, &a.path)
                .map(|(_, s)| s)
                .unwrap_or(crate::layout::Source::Whole);
            match crate::capture::capture_one(ws, &a.path, a.live.clone(), source) {
                Ok(c) => c.and_then(|c| c.bytes).unwrap_or_default(),
                Err(crate::error::Error::Capture(_)) => {
                    out.push(FileDiff::Binary {
                        path: a.path.clone(),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            Vec::new()
        };
        let stored = match (a.op, target.get(&a.path)) {
            (crate::apply::Op::Write, Some(e)) => ws.repo.store.blob(e.oid)?,
            _ => Vec::new(),
        };
        out.push(pair(a.path.clone(), &live, &stored));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::looks_like_revision;

    #[test]
    fn revisions_are_told_from_paths_by_their_shape() {
        for rev in [
            "HEAD",
            "HEAD~1000",
            "main^",
            "3f2a9c1",
            "refs/heads/main",
            "@{1}",
        ] {
            assert!(looks_like_revision(rev), "{rev}");
        }
        for path in ["settings.json", "skills/x", "notes", "abc", "CLAUDE.md"] {
            assert!(!looks_like_revision(path), "{path}");
        }
    }
}
