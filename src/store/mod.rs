//! The store: a bare git repository written through gix. Trees are built in memory and
//! `refs/heads/main` only ever moves by compare-and-swap, so history is never rewritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;
use gix::refs::transaction::{PreviousValue, RefEdit};
use gix::refs::Target;
pub use gix::ObjectId;

/// The branch every machine commits to.
pub const MAIN: &str = "refs/heads/main";
/// Where `apply --force` keeps the live contents it overwrote.
pub const BACKUP_PREFIX: &str = "refs/ctx/backups/";

/// A file in a store tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The blob.
    #[serde(with = "oid_hex")]
    pub oid: ObjectId,
    /// Whether git records it as executable (mode 100755).
    pub exec: bool,
}

/// Every file of a tree, by path.
pub type Files = BTreeMap<String, Entry>;

/// Paths that differ between two trees: (the entry in the first, the entry in the second).
pub type TreeDiff = BTreeMap<String, (Option<Entry>, Option<Entry>)>;

/// What a commit does to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Write these bytes, executable or not.
    Write { bytes: Vec<u8>, exec: bool },
    /// Point at a blob that is already in the store.
    Blob(Entry),
    /// Remove the path.
    Delete,
}

/// One commit of the history, as `ctx log` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Full commit id.
    pub id: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// The machine that made it, from the `Ctx-Machine:` trailer.
    pub machine: Option<String>,
    /// The first line of the message.
    pub summary: String,
    /// Parent ids.
    pub parents: Vec<String>,
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No store at that place.
    #[error("no ctx store at {}", dir.display())]
    Missing { dir: PathBuf },
    /// Something is there, but it is not a ctx store.
    #[error("{} is not a ctx store", dir.display())]
    NotAStore {
        dir: PathBuf,
        #[source]
        source: Box<gix::Error>,
    },
    /// The store has no commit yet.
    #[error("the store at {} has no commit", dir.display())]
    Empty { dir: PathBuf },
    /// Another process moved `main` between our read and our write.
    #[error("the store's main branch moved while ctx was writing")]
    RefMoved,
    /// A revision that does not name a commit.
    #[error("`{rev}` does not name a commit in the store")]
    BadRevision {
        rev: String,
        #[source]
        source: Option<Box<gix::Error>>,
    },
    /// Any other git failure.
    #[error("git: {0:#}")]
    Git(#[from] Box<gix::Error>),
    /// File-system failure around the store.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<gix::Error> for StoreError {
    fn from(e: gix::Error) -> Self {
        StoreError::Git(Box::new(e))
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open store.
pub struct Store {
    repo: gix::Repository,
    dir: PathBuf,
}

impl Store {
    /// Creates a bare store at `dir`, or opens the one already there. Returns whether it was created.
    pub fn init(dir: &Path, committer: &str) -> Result<(Store, bool)> {
        if dir.join("HEAD").exists() {
            return Ok((Store::open(dir, committer)?, false));
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        gix::init_bare(dir)?;
        // HEAD must name main whatever init.defaultBranch says, so `git clone` of the store works.
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").map_err(|source| {
            StoreError::Io {
                path: dir.join("HEAD"),
                source,
            }
        })?;
        Ok((Store::open(dir, committer)?, true))
    }

    /// Opens the store at `dir`; `committer` names this machine in new commits.
    pub fn open(dir: &Path, committer: &str) -> Result<Store> {
        if !dir.exists() {
            return Err(StoreError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        let mut repo = gix::open_opts(dir, gix::open::Options::isolated()).map_err(|e| {
            StoreError::NotAStore {
                dir: dir.to_path_buf(),
                source: Box::new(e),
            }
        })?;
        let mut cfg = repo.config_snapshot_mut();
        cfg.set_value(&gix::config::tree::User::NAME, committer)?;
        cfg.set_value(
            &gix::config::tree::User::EMAIL,
            format!("{committer}@ctx.invalid").as_str(),
        )?;
        cfg.commit()?;
        // Objects are small and numerous; avoid a pack cache per lookup.
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        Ok(Store {
            repo,
            dir: dir.to_path_buf(),
        })
    }

    /// The store's git directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The underlying repository, for modules that need gix directly.
    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// The commit `main` points at, if any.
    pub fn head(&self) -> Result<Option<ObjectId>> {
        self.ref_target(MAIN)
    }

    /// The commit a ref points at, if the ref exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<ObjectId>> {
        match self.repo.try_find_reference(name)? {
            Some(mut r) => Ok(Some(r.peel_to_id()?.detach())),
            None => Ok(None),
        }
    }

    /// The tree of `commit`.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        Ok(self.repo.find_commit(commit)?.tree_id()?.detach())
    }

    /// Every file of `commit`'s tree; an empty map for `None`.
    pub fn files(&self, commit: Option<ObjectId>) -> Result<Files> {
        match commit {
            Some(c) => self.tree_files(self.tree_of(c)?),
            None => Ok(Files::new()),
        }
    }

    /// Every file of a tree. The last tree read is cached beside the store's git data, since
    /// decompressing hundreds of tree objects on every `status` would cost more than the stats.
    pub fn tree_files(&self, tree: ObjectId) -> Result<Files> {
        let cache = self.dir.join("ctx").join("tree-cache");
        if let Some(files) = read_tree_cache(&cache, tree) {
            return Ok(files);
        }
        let files = self.read_tree_files(tree)?;
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

    /// The files that differ between two trees, as (in `a`, in `b`). Subtrees with equal ids are
    /// skipped without being read, so a sync that changed three files reads a handful of trees,
    /// not the whole store.
    pub fn diff_trees(&self, a: Option<ObjectId>, b: Option<ObjectId>) -> Result<TreeDiff> {
        let mut out = BTreeMap::new();
        self.diff_into("", a, b, &mut out)?;
        Ok(out)
    }

    fn tree_entries(
        &self,
        id: Option<ObjectId>,
    ) -> Result<BTreeMap<String, (EntryKind, ObjectId)>> {
        let Some(id) = id else {
            return Ok(BTreeMap::new());
        };
        let tree = self.repo.find_tree(id)?;
        let decoded = tree.decode()?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_string(), (e.mode.kind(), e.oid.to_owned())))
            .collect())
    }

    fn diff_into(
        &self,
        prefix: &str,
        a: Option<ObjectId>,
        b: Option<ObjectId>,
        out: &mut TreeDiff,
    ) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let (ea, eb) = (self.tree_entries(a)?, self.tree_entries(b)?);
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
                self.diff_into(&path, sub(x), sub(y), out)?;
            }
            let (bx, by) = (blob(x), blob(y));
            if bx != by {
                out.insert(path, (bx, by));
            }
        }
        Ok(())
    }

    fn read_tree_files(&self, tree: ObjectId) -> Result<Files> {
        let tree = self.repo.find_tree(tree)?;
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

    /// The bytes of a blob.
    pub fn blob(&self, oid: ObjectId) -> Result<Vec<u8>> {
        Ok(self.repo.find_blob(oid)?.take_data())
    }

    /// The bytes of `path` in `commit`, if present.
    pub fn read(&self, commit: Option<ObjectId>, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(commit) = commit else {
            return Ok(None);
        };
        let tree = self.repo.find_commit(commit)?.tree()?;
        match tree.lookup_entry_by_path(path)? {
            Some(e) if e.mode().is_blob() => Ok(Some(self.blob(e.object_id())?)),
            _ => Ok(None),
        }
    }

    /// The id git would give these bytes as a blob, without writing it.
    pub fn hash(bytes: &[u8]) -> ObjectId {
        gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
            .unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1))
    }

    /// Writes a blob and returns its id.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        Ok(self.repo.write_blob(bytes)?.detach())
    }

    /// Applies `changes` to `base` (a tree id, or the empty tree) and writes the new tree.
    pub fn write_tree(
        &self,
        base: Option<ObjectId>,
        changes: &BTreeMap<String, Change>,
    ) -> Result<ObjectId> {
        let base = base.unwrap_or_else(|| ObjectId::empty_tree(self.repo.object_hash()));
        let mut ed = self.repo.edit_tree(base)?;
        for (path, change) in changes {
            match change {
                Change::Write { bytes, exec } => {
                    let oid = self.repo.write_blob(bytes)?.detach();
                    ed.upsert(path.as_str(), kind(*exec), oid)?;
                }
                Change::Blob(e) => {
                    ed.upsert(path.as_str(), kind(e.exec), e.oid)?;
                }
                Change::Delete => {
                    ed.remove(path.as_str())?;
                }
            }
        }
        Ok(ed.write()?.detach())
    }

    /// Writes a commit of `tree` with `parents` and moves `refname` from `expected` to it.
    pub fn commit(
        &self,
        refname: &str,
        tree: ObjectId,
        parents: &[ObjectId],
        expected: Option<ObjectId>,
        message: &str,
    ) -> Result<ObjectId> {
        let commit = self
            .repo
            .new_commit(message, tree, parents.iter().copied())?
            .id;
        self.move_ref(refname, commit, expected, message)?;
        Ok(commit)
    }

    /// Writes a commit object without moving any ref.
    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        Ok(self
            .repo
            .new_commit(message, tree, parents.iter().copied())?
            .id)
    }

    /// Moves `refname` to `new` if it still points at `expected` (`None`: must not exist).
    pub fn move_ref(
        &self,
        refname: &str,
        new: ObjectId,
        expected: Option<ObjectId>,
        message: &str,
    ) -> Result<()> {
        let previous = match expected {
            Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
            None => PreviousValue::MustNotExist,
        };
        let name: gix::refs::FullName =
            refname
                .try_into()
                .map_err(|e: gix::validate::reference::name::Error| {
                    StoreError::Git(Box::new(gix::Error::from_error(e)))
                })?;
        let first_line = message.lines().next().unwrap_or("").to_string();
        self.repo
            .edit_reference(RefEdit::update(
                name,
                new,
                previous,
                format!("ctx: {first_line}"),
            ))
            .map_err(|_| StoreError::RefMoved)?;
        Ok(())
    }

    /// The best common ancestors of two commits (usually one; several after criss-cross merges).
    ///
    /// Computed from the full ancestry rather than with gix's date-ordered walk, which can answer
    /// wrongly when commits share a timestamp (machines syncing within one second do).
    pub fn merge_bases(&self, one: ObjectId, two: ObjectId) -> Result<Vec<ObjectId>> {
        let of_one = self.ancestors(one)?;
        if of_one.contains(&two) {
            return Ok(vec![two]);
        }
        // Walk from `two`, stopping at the first commits that `one` also reaches.
        let mut candidates = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut queue = std::collections::VecDeque::from([two]);
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            if of_one.contains(&id) {
                candidates.push(id);
                continue;
            }
            queue.extend(self.parents(id)?);
        }
        // A candidate that is an ancestor of another is not a best base.
        let mut best = Vec::new();
        for c in &candidates {
            let mut dominated = false;
            for d in &candidates {
                if d != c && self.ancestors(*d)?.contains(c) {
                    dominated = true;
                    break;
                }
            }
            if !dominated {
                best.push(*c);
            }
        }
        Ok(best)
    }

    /// The best common ancestor of two commits, if they share history.
    pub fn merge_base(&self, one: ObjectId, two: ObjectId) -> Result<Option<ObjectId>> {
        Ok(self.merge_bases(one, two)?.into_iter().next())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        Ok(self.ancestors(descendant)?.contains(&ancestor))
    }

    /// A commit's parents.
    pub fn parents(&self, id: ObjectId) -> Result<Vec<ObjectId>> {
        Ok(self
            .repo
            .find_commit(id)?
            .parent_ids()
            .map(|p| p.detach())
            .collect())
    }

    /// `id` and every commit it descends from.
    pub fn ancestors(&self, id: ObjectId) -> Result<std::collections::HashSet<ObjectId>> {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![id];
        while let Some(c) = stack.pop() {
            if seen.insert(c) {
                stack.extend(self.parents(c)?);
            }
        }
        Ok(seen)
    }

    /// Commits reachable from `from` but not from `other`, counted (for ahead/behind).
    pub fn count_exclusive(&self, from: ObjectId, other: ObjectId) -> Result<usize> {
        let walk = self.repo.rev_walk([from]).with_hidden([other]).all()?;
        let mut n = 0;
        for info in walk {
            info?;
            n += 1;
        }
        Ok(n)
    }

    /// When a commit was made (its committer time, seconds since the epoch).
    pub fn commit_time(&self, commit: ObjectId) -> Result<i64> {
        Ok(self.repo.find_commit(commit)?.time()?.seconds)
    }

    /// A commit's full message.
    pub fn commit_message(&self, commit: ObjectId) -> Result<String> {
        let c = self.repo.find_commit(commit)?;
        Ok(c.message_raw()?.to_string())
    }

    /// Deletes a ref if it exists.
    pub fn delete_ref(&self, refname: &str) -> Result<()> {
        if let Some(r) = self.repo.try_find_reference(refname)? {
            r.delete()?;
        }
        Ok(())
    }

    /// Resolves `HEAD~2`, a full or short commit id, a ref name.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| StoreError::BadRevision {
                rev: rev.to_string(),
                source: Some(Box::new(e)),
            })?;
        let obj = id.object()?;
        match obj.kind {
            gix::objs::Kind::Commit => Ok(id.detach()),
            _ => Err(StoreError::BadRevision {
                rev: rev.to_string(),
                source: None,
            }),
        }
    }

    /// The newest first-parent ancestor of `from` made at or before `time` (seconds).
    pub fn before(&self, from: ObjectId, time: i64) -> Result<Option<ObjectId>> {
        let walk = self.repo.rev_walk([from]).first_parent_only().all()?;
        for info in walk {
            let info = info?;
            let commit = self.repo.find_commit(info.id)?;
            if commit.time()?.seconds <= time {
                return Ok(Some(info.id));
            }
        }
        Ok(None)
    }

    /// History from `from`, newest first; with `path`, only commits that changed it.
    pub fn log(&self, from: ObjectId, path: Option<&str>, limit: usize) -> Result<Vec<LogEntry>> {
        let walk = self
            .repo
            .rev_walk([from])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()?;
        let mut out = Vec::new();
        for info in walk {
            if out.len() >= limit {
                break;
            }
            let info = info?;
            let commit = self.repo.find_commit(info.id)?;
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            if let Some(path) = path {
                let mine = self.path_oids(Some(info.id), path)?;
                let theirs = self.path_oids(parents.first().copied(), path)?;
                if mine == theirs {
                    continue;
                }
            }
            let message = commit.message_raw_sloppy().to_string();
            out.push(LogEntry {
                id: info.id.to_string(),
                time: commit.time()?.seconds,
                machine: trailer(&message, "Ctx-Machine"),
                summary: message.lines().next().unwrap_or("").to_string(),
                parents: parents.iter().map(|p| p.to_string()).collect(),
            });
        }
        Ok(out)
    }

    /// The blobs at or under `path` in `commit`, to tell whether a commit touched it.
    fn path_oids(&self, commit: Option<ObjectId>, path: &str) -> Result<Vec<(String, ObjectId)>> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Ok(self
            .files(commit)?
            .into_iter()
            .filter(|(p, _)| p == path || p.starts_with(&prefix))
            .map(|(p, e)| (p, e.oid))
            .collect())
    }

    /// The store's local git config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// Reads a value of the store's own git config.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let file = gix::config::File::from_path_no_includes(
            self.config_path(),
            gix::config::Source::Local,
        )
        .ok()?;
        file.string(key).map(|v| v.to_string())
    }

    /// Sets values in the store's own git config (atomically, through gix's locked write).
    pub fn set_config(&self, values: &[(&str, &str)]) -> Result<()> {
        let mut tx = self.repo.config_file_mut(self.config_path())?;
        for (key, value) in values {
            tx.set_raw_value(*key, *value)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Names of refs under `prefix`, with their targets.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        let platform = self.repo.references()?;
        for r in platform.prefixed(prefix)? {
            let Ok(mut r) = r else { continue };
            let name = r.name().as_bstr().to_string();
            if let Ok(id) = r.peel_to_id() {
                out.push((name, id.detach()));
            }
        }
        Ok(out)
    }
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

fn kind(exec: bool) -> EntryKind {
    if exec {
        EntryKind::BlobExecutable
    } else {
        EntryKind::Blob
    }
}

/// The value of a `Key: value` trailer in a commit message.
pub fn trailer(message: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}:");
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// Object ids as hex strings in ctx's own state files (gix's serde feature would pull serde into
/// every gix crate for this one use).
pub mod oid_hex {
    use gix::ObjectId;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the id as hex.
    pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    /// Reads a hex id.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let text = String::deserialize(d)?;
        ObjectId::from_hex(text.as_bytes()).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<ObjectId>`.
    pub mod opt {
        use super::*;

        /// Writes the id as hex, or null.
        pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.serialize_some(&id.to_string()),
                None => s.serialize_none(),
            }
        }

        /// Reads a hex id or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(t) => ObjectId::from_hex(t.as_bytes())
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}
