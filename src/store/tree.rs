//! Reading and comparing trees: every file of a tree (cached for the head), tree diffs.

use std::collections::BTreeMap;
use std::path::Path;

use gix::objs::tree::EntryKind;
use gix::ObjectId;

use super::{Change, Entry, Files, Result, Store, TreeDiff};

impl Store {
    /// Every file of a tree. `main`'s tree is cached beside the store's git data (`remember`),
    /// since decompressing hundreds of tree objects on every `status` would cost more than the
    /// stats.
    pub(super) fn tree_files(&self, tree: ObjectId, remember: bool) -> Result<Files> {
        let cache = self.dir.join("ctx").join("tree-cache");
        if let Some(files) = read_tree_cache(&cache, tree) {
            return Ok(files);
        }
        let files = read_tree_files(&self.repo, tree)?;
        if remember {
            self.remember_tree(tree, &files);
        }
        Ok(files)
    }

    /// Records `files` as the content of `tree` in the tree cache, so the next reader of that
    /// tree (usually the next command, on the commit just made) need not walk it.
    pub fn remember_tree(&self, tree: ObjectId, files: &Files) {
        let cache = self.dir.join("ctx").join("tree-cache");
        // Binary, as the stat cache: read on every command, so no hex to decode.
        let mut out = Vec::with_capacity(64 + files.len() * 80);
        out.extend_from_slice(TREE_MAGIC);
        out.extend_from_slice(tree.as_bytes());
        out.extend_from_slice(&(files.len() as u32).to_le_bytes());
        for (path, e) in files {
            out.push(u8::from(e.exec));
            out.extend_from_slice(e.oid.as_bytes());
            out.extend_from_slice(&(path.len() as u32).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
        }
        // Only a cache: a failed write costs speed, never correctness.
        let _ = crate::fsx::write_atomic(&cache, &out, None);
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

/// The first bytes of the tree cache; anything else (an older format) is no cache.
const TREE_MAGIC: &[u8] = b"ctx-tree-cache 2\n";

fn read_tree_cache(path: &Path, tree: ObjectId) -> Option<Files> {
    let bytes = std::fs::read(path).ok()?;
    let mut rest = bytes.strip_prefix(TREE_MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    if take(20)? != tree.as_bytes() {
        return None;
    }
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    // The file is written in path order, and a map built from sorted pairs is built in bulk.
    let mut pairs = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let exec = take(1)?[0] != 0;
        let oid = ObjectId::from_bytes_or_panic(take(20)?);
        let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let path = std::str::from_utf8(take(len)?).ok()?.to_string();
        pairs.push((path, Entry { oid, exec }));
    }
    rest.is_empty().then(|| pairs.into_iter().collect())
}
