//! The store: a bare git repository written through gix. Trees are built in memory and
//! `refs/heads/main` only ever moves by compare-and-swap, so history is never rewritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;
use gix::refs::transaction::{PreviousValue, RefEdit};
use gix::refs::Target;
pub use gix::ObjectId;

mod history;
pub mod oid_hex;
mod tree;

pub use history::History;
pub use tree::files_after;

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
    /// Signs every commit this store writes, when set.
    signer: Option<std::sync::Arc<crate::signing::SigningKey>>,
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
        crate::clock::pin_commit_dates(&mut cfg)?;
        cfg.commit()?;
        // Objects are small and numerous; avoid a pack cache per lookup.
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        // A fetched pack stores most files as deltas in chains up to 50 long; without a cache of
        // delta bases every blob read inflates its whole chain again (42% of a new machine's
        // apply, measured). 64 bases, 8 MB in all at most.
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
                8 << 20,
            ))
        });
        Ok(Store {
            repo,
            dir: dir.to_path_buf(),
            signer: None,
        })
    }

    /// Signs every commit written from now on with `key`.
    pub fn set_signer(&mut self, key: std::sync::Arc<crate::signing::SigningKey>) {
        self.signer = Some(key);
    }

    /// The raw bytes of a commit object (headers and message), for its signature.
    pub fn raw_commit(&self, id: ObjectId) -> Result<Vec<u8>> {
        let obj = self.repo.find_object(id)?;
        Ok(obj.data.clone())
    }

    /// The store's commit graph.
    pub fn history(&self) -> History<'_> {
        History { store: self }
    }

    /// The commit `main` points at, if any.
    pub fn head(&self) -> Result<Option<ObjectId>> {
        self.ref_target(MAIN)
    }

    /// The commit a ref points at, if the ref exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<ObjectId>> {
        match self.repo.try_find_reference(name)? {
            // ctx's refs point straight at commits: peeling would read the commit object only
            // to find it is no tag (a loose object inflated on every command).
            Some(mut r) => match r.target().try_id() {
                Some(id) => Ok(Some(id.to_owned())),
                None => Ok(Some(r.peel_to_id()?.detach())),
            },
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
            Some(c) => self.tree_files(self.tree_of(c)?, false),
            None => Ok(Files::new()),
        }
    }

    /// [`Store::files`] of `main`'s commit, which the tree cache keeps: an older tree read on
    /// the way (a review, a diff) must not replace it, or the next command reads every tree
    /// object again.
    pub fn head_files(&self, head: Option<ObjectId>) -> Result<Files> {
        match head {
            Some(c) => self.tree_files(self.tree_of(c)?, true),
            None => Ok(Files::new()),
        }
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
        let commit = self.write_commit(tree, parents, message)?;
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
        let Some(signer) = &self.signer else {
            return Ok(self
                .repo
                .new_commit(message, tree, parents.iter().copied())?
                .id);
        };
        let mut commit = gix::objs::Commit {
            message: message.into(),
            tree,
            author: identity(self.repo.author())?,
            committer: identity(self.repo.committer())?,
            encoding: None,
            parents: parents.iter().copied().collect(),
            extra_headers: Vec::new(),
        };
        // What git signs is the commit as it would be without the signature header.
        let mut payload = Vec::new();
        gix::objs::WriteTo::write_to(&commit, &mut payload).map_err(|source| StoreError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let sig = signer
            .sign(&payload)
            .map_err(|e| StoreError::Git(Box::new(gix::Error::from_error(e))))?;
        commit
            .extra_headers
            .push((crate::signing::HEADER.into(), sig.into()));
        Ok(self.repo.write_object(&commit)?.detach())
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
        let edit = RefEdit::update(name, new, previous, format!("ctx: {first_line}"));
        match self.repo.edit_reference(edit) {
            Ok(_) => Ok(()),
            // Only a ref that no longer holds what we read is "moved"; anything else (a lock
            // file left behind, a full disk) is reported as itself.
            Err(_) if self.ref_target(refname).ok() != Some(expected) => Err(StoreError::RefMoved),
            Err(e) => Err(StoreError::Git(Box::new(gix::Error::from_error(e)))),
        }
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

    /// The store's own git config.
    pub fn config(&self) -> Config<'_> {
        Config { store: self }
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

/// The author or committer gix resolved from the store's config (always set by `open`).
fn identity<E: std::error::Error + Send + Sync + 'static>(
    who: Option<std::result::Result<gix::actor::SignatureRef<'_>, E>>,
) -> Result<gix::actor::Signature> {
    let who = who
        .ok_or_else(|| gix::Error::from_error(std::io::Error::other("no committer identity")))?
        .map_err(gix::Error::from_error)?;
    Ok(who.to_owned().map_err(gix::Error::from_error)?)
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

/// The store's own git config file (remote, merge driver).
pub struct Config<'a> {
    store: &'a Store,
}

impl Config<'_> {
    /// The store's local git config file.
    pub fn path(&self) -> PathBuf {
        self.store.dir.join("config")
    }

    /// Reads a value of the store's own git config.
    pub fn value(&self, key: &str) -> Option<String> {
        let file =
            gix::config::File::from_path_no_includes(self.path(), gix::config::Source::Local)
                .ok()?;
        file.string(key).map(|v| v.to_string())
    }

    /// Sets values in the store's own git config (atomically, through gix's locked write).
    pub fn set(&self, values: &[(&str, &str)]) -> Result<()> {
        let mut tx = self.store.repo.config_file_mut(self.path())?;
        for (key, value) in values {
            tx.set_raw_value(*key, *value)?;
        }
        tx.commit()?;
        Ok(())
    }
}
