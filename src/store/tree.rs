//! Reading and comparing trees: every file of a tree (cached for the head), tree diffs.

use std::collections::BTreeMap;
use std::path::Path;

use gix::objs::tree::EntryKind;
use gix::ObjectId;

use super::{Change, Entry, Files, Result, Store, TreeDiff};

impl Store {
    /// Every file of a tree. The last tree read is cached beside the store's git data, since
    /// decompressing hundreds of tree objects on every `status` would cost more than the stats.
    pub(super) fn tree_files(&self, tree: ObjectId) -> Result<Files> {
        let cache = self.dir.join("ctx").join("tree-cache");
        if let Some(files) = read_tree_cache(&cache, tree) {
            return Ok(files);
        }
        let files = read_tree_files(&self.repo, tree)?;
        self.remember_tree(tree, &files);
        Ok(files)
    }

    /// Records `files` as the content of `tree` in the tree cache, so the next reader of that
    /// tree (usually the next command, on the commit just made) need not walk it.
    pub fn remember_tree(&self, tree: ObjectId, files: &Files) {
        let cache = self.dir.join("ctx").join("tree-cache");
        let mut text = String::with_capacity(files.len() * 64);
        text.push_str(&format!("{tree}\n"));
        for (path, e) in files {
            text.push_str(&format!(
                "{} {} {path}\n",
                if e.exec { 'x' } else { 'f' },
                e.oid
            ));
        }
        // Only a cache: a failed write costs speed, never correctness.
        let _ = crate::fsx::write_atomic(&cache, text.as_bytes(), None);
    }

    /// The files that differ between two trees, as (in `a`, in `b`). Subtrees with equal ids are
    /// skipped without being read, so a sync that changed three files reads a handful of trees,
    /// not the whole store.
    pub fn diff_trees(&self, a: Option<ObjectId>, b: Option<ObjectId>) -> Result<TreeDiff> {
        let mut out = BTreeMap::new();
        diff_into(&self.repo, "", a, b, &mut out)?;
        Ok(out)
    }
}

impl Store {
    /// Entries that `b` adds or changes against `a` whose name git's fsck rejects (`/`, a newline,
    /// NUL, `.`, `..`, `.git` in any case, empty) or that are links or submodules, which ctx
    /// never writes: as `path: why`.
    pub fn bad_entries(&self, a: Option<ObjectId>, b: Option<ObjectId>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        bad_into(&self.repo, "", a, b, &mut out)?;
        Ok(out)
    }
}

fn bad_name(name: &str) -> bool {
    name.is_empty()
        || name == "."
        || name == ".."
        || name.eq_ignore_ascii_case(".git")
        || name.contains(['/', '\n', '\0'])
}

fn bad_into(
    repo: &gix::Repository,
    prefix: &str,
    a: Option<ObjectId>,
    b: Option<ObjectId>,
    out: &mut Vec<String>,
) -> Result<()> {
    if a == b || b.is_none() {
        return Ok(());
    }
    let (ea, eb) = (tree_entries(repo, a)?, tree_entries(repo, b)?);
    for (name, (kind, oid)) in &eb {
        let old = ea.get(name).copied();
        if old == Some((*kind, *oid)) {
            continue;
        }
        let path = format!("{prefix}{}", name.escape_debug());
        if bad_name(name) {
            out.push(format!("{path}: a name git's fsck rejects"));
            continue;
        }
        match kind {
            EntryKind::Tree => {
                let before = old.filter(|(k, _)| *k == EntryKind::Tree).map(|(_, o)| o);
                bad_into(repo, &format!("{path}/"), before, Some(*oid), out)?;
            }
            EntryKind::Link => out.push(format!("{path}: a symbolic link")),
            EntryKind::Commit => out.push(format!("{path}: a submodule")),
            _ => {}
        }
    }
    Ok(())
}

/// `files` with `changes` applied, as `write_tree` applies them to a tree.
pub fn files_after(files: &Files, changes: &BTreeMap<String, Change>) -> Files {
    let mut out = files.clone();
    for (path, change) in changes {
        match change {
            Change::Write { bytes, exec } => {
                out.insert(
                    path.clone(),
                    Entry {
                        oid: Store::hash(bytes),
                        exec: *exec,
                    },
                );
            }
            Change::Blob(e) => {
                out.insert(path.clone(), *e);
            }
            Change::Delete => {
                out.remove(path);
            }
        }
    }
    out
}

fn tree_entries(
    repo: &gix::Repository,
    id: Option<ObjectId>,
) -> Result<BTreeMap<String, (EntryKind, ObjectId)>> {
    let Some(id) = id else {
        return Ok(BTreeMap::new());
    };
    let tree = repo.find_tree(id)?;
    let decoded = tree.decode()?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| (e.filename.to_string(), (e.mode.kind(), e.oid.to_owned())))
        .collect())
}

fn diff_into(
    repo: &gix::Repository,
    prefix: &str,
    a: Option<ObjectId>,
    b: Option<ObjectId>,
    out: &mut TreeDiff,
) -> Result<()> {
    if a == b {
        return Ok(());
    }
    let (ea, eb) = (tree_entries(repo, a)?, tree_entries(repo, b)?);
    let names: std::collections::BTreeSet<&String> = ea.keys().chain(eb.keys()).collect();
    for name in names {
        let (x, y) = (ea.get(name).copied(), eb.get(name).copied());
        if x == y {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let sub = |e: Option<(EntryKind, ObjectId)>| {
            e.filter(|(k, _)| *k == EntryKind::Tree).map(|(_, o)| o)
        };
        let blob = |e: Option<(EntryKind, ObjectId)>| match e {
            Some((EntryKind::Blob, oid)) => Some(Entry { oid, exec: false }),
            Some((EntryKind::BlobExecutable, oid)) => Some(Entry { oid, exec: true }),
            _ => None,
        };
        if sub(x).is_some() || sub(y).is_some() {
            diff_into(repo, &path, sub(x), sub(y), out)?;
        }
        let (bx, by) = (blob(x), blob(y));
        if bx != by {
            out.insert(path, (bx, by));
        }
    }
    Ok(())
}

fn read_tree_files(repo: &gix::Repository, tree: ObjectId) -> Result<Files> {
    let tree = repo.find_tree(tree)?;
    let mut out = Files::new();
    for e in tree.traverse().breadthfirst.files()? {
        let kind = e.mode.kind();
        let exec = match kind {
            EntryKind::Blob => false,
            EntryKind::BlobExecutable => true,
            _ => continue,
        };
        out.insert(e.filepath.to_string(), Entry { oid: e.oid, exec });
    }
    Ok(out)
}

fn read_tree_cache(path: &Path, tree: ObjectId) -> Option<Files> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if ObjectId::from_hex(lines.next()?.as_bytes()).ok()? != tree {
        return None;
    }
    // The file is written in path order, and a map built from sorted pairs is built in bulk.
    let mut pairs = Vec::with_capacity(text.len() / 64);
    for line in lines {
        let (kind, rest) = line.split_once(' ')?;
        let (oid, path) = rest.split_once(' ')?;
        let oid = ObjectId::from_hex(oid.as_bytes()).ok()?;
        pairs.push((
            path.to_string(),
            Entry {
                oid,
                exec: kind == "x",
            },
        ));
    }
    Some(pairs.into_iter().collect())
}
