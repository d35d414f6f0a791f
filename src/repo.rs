//! The opened store as of `main`: its head, file list and manifest, and the [`Transaction`]
//! that is the only way `main` moves (compare-and-swap from the head that was read, so a
//! concurrent writer is detected, never overwritten).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::error::Result;
use crate::layout::{self, CLAUDE_MCP, DESKTOP_MCP, INVENTORY, MANIFEST};
use crate::model::Manifest;
use crate::store::{Change, Entry, Files, ObjectId, Store, BACKUP_PREFIX, MAIN};

/// The store, read at `main`.
pub struct Repo {
    /// The git store.
    pub store: Store,
    /// This machine's name (the committer of new commits).
    pub machine: String,
    /// `main`'s commit.
    pub head: Option<ObjectId>,
    /// `main`'s files.
    pub files: Files,
    /// `ctx.yaml` as of `main`.
    pub manifest: Manifest,
}

impl Repo {
    /// Opens the store at `dir` for `machine`; an empty store has no head and no files.
    pub fn open(dir: &Path, machine: &str) -> Result<Repo> {
        let store = Store::open(dir, machine)?;
        let mut repo = Repo {
            store,
            machine: machine.to_string(),
            head: None,
            files: Files::new(),
            manifest: Manifest::default(),
        };
        repo.reload()?;
        Ok(repo)
    }

    /// Reads `main` again (after another writer, or git, moved it).
    pub fn reload(&mut self) -> Result<()> {
        self.head = self.store.head()?;
        self.files = self.store.head_files(self.head)?;
        self.manifest = match self.store.read(self.head, MANIFEST)? {
            Some(b) => crate::model::parse_yaml::<Manifest>(MANIFEST, &b)?,
            None => Manifest::default(),
        };
        Ok(())
    }

    /// The bytes of `path` at `main`, if present.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.files.get(path) {
            Some(e) => Ok(Some(self.store.blob(e.oid)?)),
            None => Ok(None),
        }
    }

    /// Whether `path` names a file or a folder at `main`.
    pub fn knows(&self, path: &str) -> bool {
        self.files.keys().any(|k| layout::under(k, path))
    }

    /// Checks ctx.yaml, machines/, context/ and projects/ documents against their schemas.
    pub fn validate_docs(&self) -> Result<()> {
        for (path, e) in &self.files {
            if layout::is_store_doc(path) {
                let bytes = self.store.blob(e.oid)?;
                crate::model::validate(path, &bytes)?;
            }
        }
        Ok(())
    }

    /// Backup refs made by `apply --force`.
    pub fn backups(&self) -> Result<Vec<(String, ObjectId)>> {
        Ok(self.store.refs_under(BACKUP_PREFIX)?)
    }

    /// Moves `main` forward to `to`, a commit that already exists (a fast-forward), and reads it.
    pub fn fast_forward(&mut self, to: ObjectId, why: &str) -> Result<()> {
        move_main(&self.store, self.head, to, why)?;
        self.reload()
    }

    /// The files of `main` once `changes` are committed.
    pub fn files_after(&self, changes: &BTreeMap<String, Change>) -> Files {
        crate::store::files_after(&self.files, changes)
    }
}

/// A set of changes to commit on `main` as one commit.
#[derive(Debug, Default)]
pub struct Transaction {
    changes: BTreeMap<String, Change>,
    merge_parent: Option<ObjectId>,
}

/// A commit written but not yet published on `main`.
#[derive(Debug)]
pub struct Prepared {
    /// The commit.
    pub id: ObjectId,
    /// Its files.
    pub files: Files,
    /// The changes it makes (the inventory included).
    pub changes: BTreeMap<String, Change>,
    message: String,
    expected: Option<ObjectId>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Transaction {
        Transaction::default()
    }

    /// A transaction that makes these changes.
    pub fn with(changes: BTreeMap<String, Change>) -> Transaction {
        Transaction {
            changes,
            merge_parent: None,
        }
    }

    /// Sets `path` to `change`.
    pub fn set(&mut self, path: &str, change: Change) {
        self.changes.insert(path.to_string(), change);
    }

    /// Writes `bytes` at `path`.
    pub fn write(&mut self, path: &str, bytes: Vec<u8>, exec: bool) {
        self.set(path, Change::Write { bytes, exec });
    }

    /// Makes the commit a merge with `theirs` as its second parent.
    pub fn merging(mut self, theirs: ObjectId) -> Transaction {
        self.merge_parent = Some(theirs);
        self
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The paths it changes.
    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.changes.keys()
    }

    /// The changes so far.
    pub fn changes(&self) -> &BTreeMap<String, Change> {
        &self.changes
    }

    /// Writes the tree and the commit on top of `main`, regenerating the store's inventory
    /// when what it lists changed, without moving `main`.
    pub fn prepare(mut self, repo: &Repo, message: &str) -> Result<Prepared> {
        if let Some(readme) = inventory(repo, &self.changes)? {
            self.changes.insert(INVENTORY.into(), readme);
        }
        let store = &repo.store;
        let base = repo.head.map(|h| store.tree_of(h)).transpose()?;
        let tree = store.write_tree(base, &self.changes)?;
        let parents: Vec<ObjectId> = repo.head.into_iter().chain(self.merge_parent).collect();
        let id = store.write_commit(tree, &parents, message)?;
        let files = repo.files_after(&self.changes);
        store.remember_tree(tree, &files);
        Ok(Prepared {
            id,
            files,
            changes: self.changes,
            message: message.to_string(),
            expected: repo.head,
        })
    }

    /// Prepares and publishes the commit; returns it.
    pub fn commit(self, repo: &mut Repo, message: &str) -> Result<ObjectId> {
        let prepared = self.prepare(repo, message)?;
        let id = prepared.id;
        prepared.publish(repo)?;
        Ok(id)
    }
}

impl Prepared {
    /// Moves `main` to the commit if it still points where it did when prepared, and reloads
    /// `repo` to it.
    pub fn publish(self, repo: &mut Repo) -> Result<()> {
        repo.store
            .move_ref(MAIN, self.id, self.expected, &self.message)?;
        repo.head = Some(self.id);
        repo.files = self.files;
        if self.changes.contains_key(MANIFEST) {
            repo.manifest = match repo.read(MANIFEST)? {
                Some(b) => crate::model::parse_yaml::<Manifest>(MANIFEST, &b)?,
                None => Manifest::default(),
            };
        }
        Ok(())
    }
}

/// The store's README.md inventory after `changes`, when it differs from the current one.
fn inventory(repo: &Repo, changes: &BTreeMap<String, Change>) -> Result<Option<Change>> {
    // The inventory lists paths, machines and server names: a commit that only changes the
    // content of files it already lists leaves it as it is (unless another ctx wrote it).
    let listed = |p: &String, c: &Change| {
        !matches!(c, Change::Delete)
            && repo.files.contains_key(p)
            && ![MANIFEST, CLAUDE_MCP, DESKTOP_MCP, INVENTORY].contains(&p.as_str())
    };
    if changes.iter().all(|(p, c)| listed(p, c)) {
        let current = repo.read(INVENTORY)?;
        let link = crate::inventory::project_link();
        if current.is_some_and(|c| memchr::memmem::find(&c, link.as_bytes()).is_some()) {
            return Ok(None);
        }
    }
    let bytes_of = |p: &str| -> Result<Option<Vec<u8>>> {
        Ok(match changes.get(p) {
            Some(Change::Write { bytes, .. }) => Some(bytes.clone()),
            Some(Change::Blob(e)) => Some(repo.store.blob(e.oid)?),
            Some(Change::Delete) => None,
            None => repo.read(p)?,
        })
    };
    let mut paths: BTreeSet<String> = repo.files.keys().cloned().collect();
    for (p, c) in changes {
        match c {
            Change::Delete => paths.remove(p),
            _ => paths.insert(p.clone()),
        };
    }
    let manifest = match changes.get(MANIFEST) {
        Some(_) => bytes_of(MANIFEST)?
            .and_then(|b| crate::model::parse_yaml::<Manifest>(MANIFEST, &b).ok())
            .unwrap_or_else(|| repo.manifest.clone()),
        None => repo.manifest.clone(),
    };
    let servers = |p: &str| -> Result<Vec<String>> {
        Ok(bytes_of(p)?
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default())
    };
    let text = crate::inventory::render(
        &manifest,
        &paths,
        &servers(CLAUDE_MCP)?,
        &servers(DESKTOP_MCP)?,
    );
    let current = match changes.get(INVENTORY) {
        Some(_) => bytes_of(INVENTORY)?,
        None => repo.read(INVENTORY)?,
    };
    Ok(
        (current.as_deref() != Some(text.as_bytes())).then(|| Change::Write {
            bytes: text.into_bytes(),
            exec: false,
        }),
    )
}

/// Moves `main` from `expected` to the existing commit `to`: with [`Transaction`], the only
/// writes of `main`.
pub fn move_main(store: &Store, expected: Option<ObjectId>, to: ObjectId, why: &str) -> Result<()> {
    Ok(store.move_ref(MAIN, to, expected, why)?)
}

/// The entry a change leaves at a path (`None`: deleted).
pub fn entry_change(e: Option<Entry>) -> Change {
    match e {
        Some(e) => Change::Blob(e),
        None => Change::Delete,
    }
}
