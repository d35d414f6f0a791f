//! An open store with this machine's name, key and rules: the operations behind `commit`,
//! `status`, `diff`, `apply` and `rollback`. Every operation first computes what it would do
//! (a pure, sorted plan), then performs it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capture::{self, CaptureError, Codec, LiveFile, Locations, Source};
use crate::crypt::fields::{open_doc_lenient, Sealer};
use crate::crypt::rules::Rules;
use crate::crypt::{CryptError, Identity, Recipients};
use crate::env::Env;
use crate::format::{self, Kind};
use crate::model::{Manifest, ValidationError};
use crate::state::{Applied, CacheEntry, StatCache, StatePaths};
use crate::store::{Change, Entry, Files, ObjectId, Store, StoreError, BACKUP_PREFIX, MAIN};
use crate::{fsx, pathmap, summary};

/// Errors of the store operations.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// ctx has not been set up on this machine.
    #[error("ctx is not set up on this machine (no {})", path.display())]
    NotInitialized { path: PathBuf },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store file fails its schema.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Keys and encryption.
    #[error(transparent)]
    Crypt(#[from] CryptError),
    /// Reading live files.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Live files with changes not committed stand where ctx would write.
    #[error("{} live file(s) hold changes that are not committed", files.len())]
    Dirty { files: Vec<String> },
    /// A file ctx writes.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A shared JSON file (`~/.claude.json`) ctx cannot splice into.
    #[error("{}: not a JSON object, so ctx cannot set its mcpServers key", path.display())]
    NotAnObject { path: PathBuf },
    /// ctx.yaml lists this machine with another key than the one in its identity file.
    #[error("this machine's key ({}) is not the key ctx.yaml lists for `{machine}`", path.display())]
    KeyMismatch { machine: String, path: PathBuf },
    /// This machine is a recipient, yet its key opens none of the store's secrets.
    #[error("this machine's key ({}) cannot open any of the store's secrets, though ctx.yaml lists `{machine}` as a recipient", path.display())]
    KeyCannotOpen { machine: String, path: PathBuf },
    /// A path given on the command line that names nothing ctx knows.
    #[error("`{0}` is not a path ctx tracks")]
    UnknownPath(String),
}

type Result<T, E = SessionError> = std::result::Result<T, E>;

/// This machine's own settings, `<config>/config.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineConfig {
    /// The machine name, used in commits and `machines/<name>.yaml`.
    pub machine: String,
}

/// Reads the machine config.
pub fn machine_config(env: &Env) -> Result<MachineConfig> {
    let path = env.machine_config_path();
    let bytes =
        std::fs::read(&path).map_err(|_| SessionError::NotInitialized { path: path.clone() })?;
    Ok(crate::model::parse_yaml(&env.display(&path), &bytes)?)
}

/// One live file as the store would record it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Where it lives.
    pub live_path: PathBuf,
    /// Whole file or one key.
    pub source: Source,
    /// The blob it captures to; `None` if it contributes no store file.
    pub entry: Option<Entry>,
    /// The store-form bytes, when they were computed (not served from the stat cache).
    pub bytes: Option<Vec<u8>>,
}

/// The live side, in store form.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Store path -> captured file.
    pub files: BTreeMap<String, Captured>,
    /// Untracked entries under the Claude home.
    pub untracked: Vec<String>,
}

/// How a store path differs between live and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// Live only.
    Added,
    /// Both, different.
    Modified,
    /// Gone from the live side after ctx saw it there.
    Deleted,
    /// In the store, never seen live on this machine: `apply` would create it.
    Missing,
    /// The live file is as ctx last wrote it, but the store has moved on (an apply was cut
    /// short): not a change of the user's; `apply` brings it up to date.
    Behind,
}

/// One line of `ctx status`.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    /// Store path.
    pub path: String,
    /// What differs.
    pub state: FileState,
    /// Changed fields of a structured file.
    pub fields: Vec<String>,
}

/// What a commit did.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// The new commit.
    pub id: String,
    /// Its message's first line.
    pub summary: String,
    /// Files it changed.
    pub files: usize,
}

/// One step of an apply.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// Store path.
    pub path: String,
    /// Live path.
    pub live: PathBuf,
    /// `write` or `delete`.
    pub op: &'static str,
    #[serde(skip)]
    bytes: Option<Vec<u8>>,
    #[serde(skip)]
    exec: bool,
    #[serde(skip)]
    source: Source,
    #[serde(skip)]
    target: Option<Entry>,
}

/// What `apply` would do.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    /// Writes and deletions, by store path.
    pub actions: Vec<Action>,
    /// Live files holding uncommitted changes that the plan would overwrite.
    pub dirty: Vec<String>,
    /// Secrets this machine cannot open: their live values were kept, or the fields left out.
    pub unreadable: Vec<String>,
    #[serde(skip)]
    dirty_paths: Vec<String>,
    #[serde(skip)]
    in_sync: BTreeMap<String, Option<Entry>>,
}

impl Plan {
    /// Drops the actions that would overwrite uncommitted live changes; returns those files.
    pub fn skip_dirty(&mut self) -> Vec<String> {
        let dirty = std::mem::take(&mut self.dirty_paths);
        self.actions.retain(|a| !dirty.contains(&a.path));
        std::mem::take(&mut self.dirty)
    }
}

/// Opens ciphertexts with this machine's key, for the merge engine.
pub struct KeyDecrypt<'a>(pub &'a Identity);

impl crate::merge::Decrypt for KeyDecrypt<'_> {
    fn decrypt(&self, locator: &str, ciphertext: &str) -> Option<String> {
        crate::crypt::open(ciphertext, locator, self.0).ok()
    }
}

/// An open store plus everything this machine needs to read and write it.
pub struct Session {
    /// Locations.
    pub env: Env,
    /// This machine's name.
    pub machine: String,
    /// The store.
    pub store: Store,
    /// `main`'s commit.
    pub head: Option<ObjectId>,
    /// `main`'s files.
    pub head_files: Files,
    /// `ctx.yaml` as of `main`.
    pub manifest: Manifest,
    /// This machine's key, if it could be read.
    pub identity: Option<Identity>,
    identity_error: Option<String>,
    /// What the last operation could not do and the user should know (one line each).
    pub notes: Vec<String>,
    /// Files the last commit merged with a store version this machine had not applied yet.
    pub merged: Vec<String>,
    /// Whether the last commit saw store files the live side lacks or trails (apply has work).
    pub pending_apply: bool,
    recipients: Recipients,
    rules: Rules,
    paths: StatePaths,
}

impl Session {
    /// Opens the store for this machine.
    pub fn open(env: Env) -> Result<Session> {
        let cfg = machine_config(&env)?;
        let store = Store::open(&env.store_dir, &cfg.machine)?;
        let head = store.head()?;
        if head.is_none() {
            return Err(StoreError::Empty {
                dir: env.store_dir.clone(),
            }
            .into());
        }
        let head_files = store.files(head)?;
        let manifest = match store.read(head, "ctx.yaml")? {
            Some(b) => crate::model::parse_yaml::<Manifest>("ctx.yaml", &b)?,
            None => Manifest::default(),
        };
        let (identity, identity_error) = match Identity::load(&env.identity_path()) {
            Ok(id) => (Some(id), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let recipients = Recipients::parse(manifest.recipients.iter())?;
        let rules = Rules::new(&manifest.secrets);
        let paths = StatePaths::new(&env.state_dir());
        Self::recover_journal(&paths, head);
        Ok(Session {
            machine: cfg.machine,
            env,
            store,
            head,
            head_files,
            manifest,
            identity,
            identity_error,
            notes: Vec::new(),
            merged: Vec::new(),
            pending_apply: false,
            recipients,
            rules,
            paths,
        })
    }

    /// This machine's key, or the reason it cannot be read.
    pub fn identity(&self) -> Result<&Identity> {
        self.identity.as_ref().ok_or_else(|| {
            let path = self.env.identity_path();
            match &self.identity_error {
                Some(_) if path.exists() => CryptError::BadIdentity {
                    reason: self.identity_error.clone().unwrap_or_default(),
                    path,
                },
                _ => CryptError::NoIdentity { path },
            }
            .into()
        })
    }

    /// The secret rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The recipients of ctx.yaml.
    pub fn recipients(&self) -> &Recipients {
        &self.recipients
    }

    /// The merge options of this store: its policy, and this machine's key to compare secrets.
    pub fn merge_policy(&self) -> crate::merge::Policy {
        use crate::model::ConflictPolicy as C;
        match self.manifest.conflicts {
            C::Stop => crate::merge::Policy::Stop,
            C::Ours => crate::merge::Policy::Ours,
            C::Theirs => crate::merge::Policy::Theirs,
            C::Newest => crate::merge::Policy::Newest {
                ours_time: 0,
                theirs_time: 0,
            },
        }
    }

    /// Whether this machine is a recipient of the secrets.
    pub fn approved(&self) -> bool {
        self.manifest.recipients.contains_key(&self.machine)
    }

    /// Before anything is written: where ctx.yaml lists this machine as a recipient, its key must
    /// be the listed one and must open the secrets. The commonest failure of encrypted sync (a
    /// wrong or missing key) is found here, not halfway through writing live files.
    pub fn check_key(&self) -> Result<()> {
        let Some(listed) = self.manifest.recipients.get(&self.machine) else {
            return Ok(());
        };
        let id = self.identity()?;
        let path = self.env.identity_path();
        if &id.public_key() != listed {
            return Err(SessionError::KeyMismatch {
                machine: self.machine.clone(),
                path,
            });
        }
        let mut tried = 0;
        for (file, doc) in self.sealed_docs()? {
            for loc in crate::crypt::fields::sealed_locators(&file, &doc) {
                let Some((_, p)) = crate::crypt::fields::parse_locator(&loc) else {
                    continue;
                };
                let Some(ct) = crate::crypt::fields::get_at(&doc, &p).and_then(|v| v.as_str())
                else {
                    continue;
                };
                if crate::crypt::open(ct, &loc, id).is_ok() {
                    return Ok(());
                }
                tried += 1;
            }
        }
        if tried == 0 {
            return Ok(());
        }
        Err(SessionError::KeyCannotOpen {
            machine: self.machine.clone(),
            path,
        })
    }

    /// The store's JSON and YAML documents that hold sealed values, parsed.
    pub fn sealed_docs(&self) -> Result<Vec<(String, Value)>> {
        let mut out = Vec::new();
        for (path, e) in &self.head_files {
            let kind = Kind::of(path);
            if !matches!(kind, Kind::Json | Kind::Yaml) {
                continue;
            }
            let bytes = self.store.blob(e.oid)?;
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            if !text.contains("ENC[age:") {
                continue;
            }
            let doc: Option<Value> = match kind {
                Kind::Json => serde_json::from_str(text).ok(),
                _ => serde_yaml::from_str(text).ok(),
            };
            if let Some(doc) = doc {
                out.push((path.clone(), doc));
            }
        }
        Ok(out)
    }

    /// Every sealed value opened with this machine's key and sealed again, fresh, to `to`.
    /// Returns the changed files and how many values. Fails, changing nothing, if one cannot be
    /// opened.
    pub fn reseal_all(&self, to: &Recipients) -> Result<(BTreeMap<String, Change>, usize)> {
        let id = self.identity()?;
        let mut changes = BTreeMap::new();
        let mut count = 0;
        for (path, mut doc) in self.sealed_docs()? {
            for loc in crate::crypt::fields::sealed_locators(&path, &doc) {
                let Some((_, p)) = crate::crypt::fields::parse_locator(&loc) else {
                    continue;
                };
                let Some(current) = crate::crypt::fields::get_at(&doc, &p)
                    .and_then(|v| v.as_str().map(String::from))
                else {
                    continue;
                };
                let plain = crate::crypt::open(&current, &loc, id)?;
                let fresh = crate::crypt::seal(&plain, &loc, to)?;
                crate::crypt::fields::set_at(&mut doc, &p, Value::String(fresh));
                count += 1;
            }
            let e = self.head_files[&path];
            let old = self.store.blob(e.oid)?;
            let bytes = match Kind::of(&path) {
                Kind::Json => format::to_json(&doc, old.ends_with(b"\n")),
                _ => format::to_yaml(&doc),
            };
            changes.insert(
                path,
                Change::Write {
                    bytes,
                    exec: e.exec,
                },
            );
        }
        Ok((changes, count))
    }

    fn locations(&self) -> Locations<'_> {
        Locations {
            claude_dir: &self.env.claude_dir,
            claude_json: &self.env.claude_json,
            desktop_config: &self.env.desktop_config,
        }
    }

    fn home_str(&self) -> String {
        self.env
            .home
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string()
    }

    fn codec<'a>(&'a self, home: &'a str) -> Codec<'a> {
        Codec {
            home,
            sealer: Sealer {
                rules: &self.rules,
                recipients: &self.recipients,
                identity: self.identity.as_ref(),
            },
        }
    }

    fn salt(&self) -> String {
        let manifest = self
            .head_files
            .get("ctx.yaml")
            .map(|e| e.oid.to_string())
            .unwrap_or_default();
        let key = self
            .identity
            .as_ref()
            .map(|i| i.public_key())
            .unwrap_or_default();
        format!(
            "{}|{}|{}|{}",
            env!("CARGO_PKG_VERSION"),
            manifest,
            key,
            self.home_str()
        )
    }

    /// The live side in store form. With `cache`, files whose stat data has not changed since the
    /// last capture are not read again.
    pub fn snapshot(&self, cache: bool) -> Result<Snapshot> {
        let mut listings = cache.then(|| crate::state::DirCache::load(&self.paths.dirs));
        let scan = capture::scan(
            &self.locations(),
            &self.manifest.include,
            &self.manifest.exclude,
            listings.as_mut(),
        )?;
        if let Some(l) = listings.as_mut() {
            // Only a cache: failing to save it costs speed, never correctness.
            let _ = l.save(&self.paths.dirs);
        }
        let mut stat_cache: StatCache = if cache {
            StatCache::load(&self.paths.cache)
        } else {
            StatCache::default()
        };
        let salt = self.salt();
        if stat_cache.salt != salt {
            stat_cache = StatCache {
                salt,
                entries: Default::default(),
            };
        }
        let home = self.home_str();
        let codec = self.codec(&home);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let mut dirty_cache = false;
        let mut files = BTreeMap::new();
        for lf in scan.files {
            let stored = self.head_files.get(&lf.store_path).map(|e| e.oid);
            let st = lf.stat;
            if let (Some((size, mtime, ctime, ino)), Some(hit)) =
                (st, stat_cache.entries.get(&lf.store_path))
            {
                if hit.size == size
                    && hit.mtime == mtime
                    && hit.ctime == ctime
                    && hit.ino == ino
                    && hit.stored == stored
                {
                    let entry = hit.captured.map(|oid| Entry {
                        oid,
                        exec: hit.exec,
                    });
                    files.insert(
                        lf.store_path.clone(),
                        Captured {
                            live_path: lf.live_path,
                            source: lf.source,
                            entry,
                            bytes: None,
                        },
                    );
                    continue;
                }
            }
            let Some((raw, exec)) = capture::read_live(&lf.live_path)? else {
                continue;
            };
            let old = match self.head_files.get(&lf.store_path) {
                Some(e) => Some(self.store.blob(e.oid)?),
                None => None,
            };
            let display = self.env.display(&lf.live_path);
            let bytes = codec.to_store(&lf, &display, &raw, old.as_deref())?;
            let exec = exec && lf.source == Source::Whole;
            let entry = bytes.as_ref().map(|b| Entry {
                oid: Store::hash(b),
                exec,
            });
            // A file changed within the timestamp granularity of now could change again unseen.
            if let Some((size, mtime, ctime, ino)) = st {
                if now - mtime > 2_000_000_000 && now - ctime > 2_000_000_000 {
                    stat_cache.entries.insert(
                        lf.store_path.clone(),
                        CacheEntry {
                            size,
                            mtime,
                            ctime,
                            ino,
                            stored,
                            captured: entry.map(|e| e.oid),
                            exec,
                        },
                    );
                    dirty_cache = true;
                }
            }
            files.insert(
                lf.store_path.clone(),
                Captured {
                    live_path: lf.live_path,
                    source: lf.source,
                    entry,
                    bytes,
                },
            );
        }
        if cache {
            let before = stat_cache.entries.len();
            stat_cache.entries.retain(|k, _| files.contains_key(k));
            if dirty_cache || before != stat_cache.entries.len() {
                // Only a cache: failing to save it costs speed, never correctness.
                let _ = stat_cache.save(&self.paths.cache);
            }
        }
        Ok(Snapshot {
            files,
            untracked: scan.untracked,
        })
    }

    /// The live side of just `paths` (store paths), read now: for an apply that touches a few
    /// files, without walking the whole Claude home.
    pub fn snapshot_of(&self, paths: &[String]) -> Result<Snapshot> {
        let home = self.home_str();
        let codec = self.codec(&home);
        let mut files = BTreeMap::new();
        for path in paths {
            let Some((live_path, source)) = self.live_location(path) else {
                continue;
            };
            let Some((raw, exec)) = capture::read_live(&live_path)? else {
                continue;
            };
            let old = match self.head_files.get(path) {
                Some(e) => Some(self.store.blob(e.oid)?),
                None => None,
            };
            let lf = LiveFile {
                store_path: path.clone(),
                live_path: live_path.clone(),
                source: source.clone(),
                stat: None,
            };
            let bytes = codec.to_store(&lf, &self.env.display(&live_path), &raw, old.as_deref())?;
            let exec = exec && source == Source::Whole;
            let entry = bytes.as_ref().map(|b| Entry {
                oid: Store::hash(b),
                exec,
            });
            files.insert(
                path.clone(),
                Captured {
                    live_path,
                    source,
                    entry,
                    bytes,
                },
            );
        }
        Ok(Snapshot {
            files,
            untracked: Vec::new(),
        })
    }

    /// What ctx last applied or captured on this machine.
    pub fn applied(&self) -> Applied {
        Applied::load(&self.paths.applied)
    }

    fn save_applied(&self, applied: &Applied) -> Result<()> {
        applied
            .save(&self.paths.applied)
            .map_err(|source| SessionError::Io {
                path: self.paths.applied.clone(),
                source,
            })
    }

    /// Live vs store, per file.
    pub fn status(&self, snap: &Snapshot) -> Result<Vec<FileStatus>> {
        // Read only when some file differs: a clean status never needs it.
        let applied_cell = std::cell::OnceCell::new();
        let applied = || applied_cell.get_or_init(|| self.applied());
        let mut out = Vec::new();
        let paths: BTreeSet<&String> = snap
            .files
            .keys()
            .chain(self.head_files.keys().filter(|p| is_live_path(p)))
            .collect();
        for path in paths {
            let live = snap.files.get(path).and_then(|c| c.entry);
            let stored = self.head_files.get(path).copied();
            if live.is_some() && live == stored {
                continue;
            }
            let seen = applied().files.get(path).copied();
            let behind = |l: Entry| -> Result<bool> {
                Ok(seen.is_some()
                    && seen != stored.map(|s| s.oid)
                    && self.still_matches(path, l, seen, snap)?)
            };
            let state = match (live, stored) {
                (Some(l), Some(s)) if l == s => continue,
                (Some(l), Some(_)) if behind(l)? => FileState::Behind,
                (Some(_), Some(_)) => FileState::Modified,
                (Some(l), None) if behind(l)? => FileState::Behind,
                (Some(_), None) => FileState::Added,
                (None, Some(_)) if applied().files.contains_key(path) => FileState::Deleted,
                (None, Some(_)) => FileState::Missing,
                (None, None) => continue,
            };
            let fields = if state == FileState::Modified {
                let old = self
                    .store
                    .blob(stored.map(|s| s.oid).unwrap_or_else(null))?;
                let new = self.captured_bytes(path, snap)?;
                summary::fields(path, Some(&old), new.as_deref())
            } else {
                Vec::new()
            };
            out.push(FileStatus {
                path: path.clone(),
                state,
                fields,
            });
        }
        Ok(out)
    }

    /// The store-form bytes of a captured file, computing them if the cache served it.
    pub fn captured_bytes(&self, path: &str, snap: &Snapshot) -> Result<Option<Vec<u8>>> {
        let Some(c) = snap.files.get(path) else {
            return Ok(None);
        };
        if let Some(b) = &c.bytes {
            return Ok(Some(b.clone()));
        }
        let Some((raw, _)) = capture::read_live(&c.live_path)? else {
            return Ok(None);
        };
        let old = match self.head_files.get(path) {
            Some(e) => Some(self.store.blob(e.oid)?),
            None => None,
        };
        let home = self.home_str();
        let lf = LiveFile {
            store_path: path.to_string(),
            live_path: c.live_path.clone(),
            source: c.source.clone(),
            stat: None,
        };
        Ok(self.codec(&home).to_store(
            &lf,
            &self.env.display(&c.live_path),
            &raw,
            old.as_deref(),
        )?)
    }

    /// Captures the live files and commits them. `None` when nothing changed.
    pub fn commit(&mut self, message: Option<&str>) -> Result<Option<CommitInfo>> {
        let snap = self.snapshot(true)?;
        let mut statuses = self.status(&snap)?;
        self.pending_apply = statuses
            .iter()
            .any(|s| matches!(s.state, FileState::Missing | FileState::Behind));
        let applied = self.applied();
        let mut changes = BTreeMap::new();
        let mut items = Vec::new();
        let mut merged = Vec::new();
        self.notes.clear();
        let mut skipped = BTreeSet::new();
        for st in &statuses {
            let seen = applied.files.get(&st.path).copied();
            let stored = self.head_files.get(&st.path).map(|e| e.oid);
            match st.state {
                FileState::Added | FileState::Modified => {
                    let mut bytes = self.captured_bytes(&st.path, &snap)?.unwrap_or_default();
                    let exec = snap.files[&st.path].entry.is_some_and(|e| e.exec);
                    if let Some(stored) = stored.filter(|s| Some(*s) != seen) {
                        // The live edits were made on top of another version than the store's
                        // (or on a file ctx never wrote here, as on a machine that just joined):
                        // merge them into the store's version rather than replace it.
                        match self.merge_live(&st.path, seen, &bytes, stored)? {
                            Some(m) => {
                                bytes = m;
                                merged.push(st.path.clone());
                                if self.head_files.get(&st.path).map(|e| e.oid)
                                    == Some(Store::hash(&bytes))
                                {
                                    continue;
                                }
                            }
                            None => {
                                self.notes.push(format!(
                                    "{}: your live file and the store's version both changed and conflict; not committed (see `ctx diff {}`, then `ctx apply --force {}` to take the store's, yours saved to a backup ref)",
                                    st.path, st.path, st.path
                                ));
                                skipped.insert(st.path.clone());
                                continue;
                            }
                        }
                    }
                    let old = match self.head_files.get(&st.path) {
                        Some(e) => Some(self.store.blob(e.oid)?),
                        None => None,
                    };
                    items.push(summary::describe(&st.path, old.as_deref(), Some(&bytes)));
                    changes.insert(st.path.clone(), Change::Write { bytes, exec });
                }
                FileState::Deleted if stored != seen => {
                    self.notes.push(format!(
                        "{}: deleted here, but changed in the store since this machine last had it; not deleted (`ctx apply {}` brings it back)",
                        st.path, st.path
                    ));
                    skipped.insert(st.path.clone());
                }
                FileState::Deleted => {
                    items.push(summary::describe(&st.path, Some(b""), None));
                    changes.insert(st.path.clone(), Change::Delete);
                }
                FileState::Missing | FileState::Behind => {}
            }
        }
        statuses.retain(|s| !skipped.contains(&s.path));
        if changes.is_empty() {
            let after =
                Self::applied_after(applied.clone(), &self.head_files, &snap, &statuses, &merged);
            if after != applied {
                self.save_applied(&after)?;
            }
            self.merged = merged;
            return Ok(None);
        }
        // Before anything is written; a no-op commit writes nothing, so it need not check.
        self.validate_store_docs()?;
        self.add_inventory(&mut changes)?;
        let msg = summary::message(&self.machine, &items, message);
        let id = self.commit_journaled(&changes, &msg, &snap, &statuses, merged, applied)?;
        Ok(Some(CommitInfo {
            id: id.to_string(),
            summary: msg.lines().next().unwrap_or("").to_string(),
            files: items.len(),
        }))
    }

    /// Commits `changes` and records what the live files now correspond to, such that a kill at
    /// any point leaves both consistent: the new record is written to a journal first, the ref
    /// moves, then the record takes effect; `open` finishes or drops a journal left behind.
    fn commit_journaled(
        &mut self,
        changes: &BTreeMap<String, Change>,
        msg: &str,
        snap: &Snapshot,
        statuses: &[FileStatus],
        merged: Vec<String>,
        applied: Applied,
    ) -> Result<ObjectId> {
        let (id, files) = self.write_on_head(changes, msg)?;
        let applied = Self::applied_after(applied, &files, snap, statuses, &merged);
        let journal = self.paths.applied.with_file_name("commit-journal");
        let io = |source| SessionError::Io {
            path: journal.clone(),
            source,
        };
        let mut text = format!("{id}\n");
        for (p, oid) in &applied.files {
            text.push_str(&format!("{oid} {p}\n"));
        }
        fsx::write_atomic(&journal, text.as_bytes(), None).map_err(io)?;
        if let Err(e) = self.store.move_ref(MAIN, id, self.head, msg) {
            let _ = std::fs::remove_file(&journal);
            return Err(e.into());
        }
        self.save_applied(&applied)?;
        let _ = std::fs::remove_file(&journal);
        self.head = Some(id);
        self.head_files = files;
        self.merged = merged;
        Ok(id)
    }

    /// Writes the commit of `changes` on top of `main` without moving it; returns the commit and
    /// its file list (derived from the changes, and cached for the next reader of that tree).
    fn write_on_head(
        &self,
        changes: &BTreeMap<String, Change>,
        msg: &str,
    ) -> Result<(ObjectId, Files)> {
        let base_tree = match self.head {
            Some(h) => Some(self.store.tree_of(h)?),
            None => None,
        };
        let tree = self.store.write_tree(base_tree, changes)?;
        let parents: Vec<ObjectId> = self.head.into_iter().collect();
        let id = self.store.write_commit(tree, &parents, msg)?;
        let files = Store::files_after(&self.head_files, changes);
        self.store.remember_tree(tree, &files);
        Ok((id, files))
    }

    /// What the live files correspond to once `files` is `main`: each captured file equal to its
    /// store version, minus files deleted here, plus files `commit` merged (apply may replace
    /// those: ctx has seen their live content).
    fn applied_after(
        mut applied: Applied,
        files: &Files,
        snap: &Snapshot,
        statuses: &[FileStatus],
        merged: &[String],
    ) -> Applied {
        for (path, c) in &snap.files {
            if let Some(e) = c.entry {
                if files.get(path) == Some(&e) {
                    applied.files.insert(path.clone(), e.oid);
                }
            }
        }
        for st in statuses {
            if st.state == FileState::Deleted {
                applied.files.remove(&st.path);
            }
        }
        for p in merged {
            if let Some(e) = snap.files.get(p).and_then(|c| c.entry) {
                applied.files.insert(p.clone(), e.oid);
            }
        }
        applied
    }

    /// Finishes a commit a killed process left half-recorded (see `commit_journaled`).
    fn recover_journal(paths: &StatePaths, head: Option<ObjectId>) {
        let journal = paths.applied.with_file_name("commit-journal");
        let Ok(text) = std::fs::read_to_string(&journal) else {
            return;
        };
        let mut lines = text.splitn(2, '\n');
        let id = lines
            .next()
            .and_then(|l| ObjectId::from_hex(l.trim().as_bytes()).ok());
        if id.is_some() && id == head {
            let rest = lines.next().unwrap_or_default();
            let _ = fsx::write_atomic(&paths.applied, rest.as_bytes(), None);
        }
        let _ = std::fs::remove_file(&journal);
    }

    /// Merges live bytes (edited on top of `seen`, if any) into the store's version `stored`.
    /// `None` on a conflict.
    fn merge_live(
        &self,
        path: &str,
        seen: Option<ObjectId>,
        live: &[u8],
        stored: ObjectId,
    ) -> Result<Option<Vec<u8>>> {
        let base = match seen {
            Some(s) => self.store.blob(s).ok(),
            None => None,
        };
        let theirs = self.store.blob(stored)?;
        let out = self.merge_file(
            path,
            base.as_deref(),
            live,
            &theirs,
            crate::merge::Policy::Stop,
        );
        Ok(out.conflicts.is_empty().then_some(out.content))
    }

    /// The merge engine with this machine's key, so secrets compare by plaintext where it can
    /// open them.
    pub fn merge_file(
        &self,
        path: &str,
        base: Option<&[u8]>,
        ours: &[u8],
        theirs: &[u8],
        policy: crate::merge::Policy,
    ) -> crate::merge::MergeOutcome {
        let decrypt = self.identity.as_ref().map(KeyDecrypt);
        let opts = crate::merge::MergeOptions {
            policy,
            decrypt: decrypt.as_ref().map(|d| d as &dyn crate::merge::Decrypt),
        };
        crate::merge::merge_file(path, base, ours, theirs, &opts)
    }

    /// Writes `changes` on top of `main` as one commit and reloads the session's view of it.
    pub fn commit_changes(
        &mut self,
        changes: &BTreeMap<String, Change>,
        msg: &str,
    ) -> Result<ObjectId> {
        let (id, files) = self.write_on_head(changes, msg)?;
        self.store.move_ref(MAIN, id, self.head, msg)?;
        self.head = Some(id);
        self.head_files = files;
        Ok(id)
    }

    /// Regenerates the store's README.md inventory when the set of things it lists changed.
    pub fn add_inventory(&self, changes: &mut BTreeMap<String, Change>) -> Result<()> {
        let mut paths: BTreeSet<String> = self.head_files.keys().cloned().collect();
        for (p, c) in changes.iter() {
            match c {
                Change::Delete => {
                    paths.remove(p);
                }
                _ => {
                    paths.insert(p.clone());
                }
            }
        }
        let mcp = |p: &str| -> Vec<String> {
            let bytes = match changes.get(p) {
                Some(Change::Write { bytes, .. }) => Some(bytes.clone()),
                Some(Change::Delete) => None,
                _ => self
                    .head_files
                    .get(p)
                    .and_then(|e| self.store.blob(e.oid).ok()),
            };
            bytes
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
                .unwrap_or_default()
        };
        let text = crate::inventory::render(
            &self.manifest,
            &paths,
            &mcp("claude/mcp.json"),
            &mcp("desktop/mcp.json"),
        );
        let current = self.store.read(self.head, "README.md")?;
        if current.as_deref() != Some(text.as_bytes()) {
            changes.insert(
                "README.md".into(),
                Change::Write {
                    bytes: text.into_bytes(),
                    exec: false,
                },
            );
        }
        Ok(())
    }

    /// Checks ctx.yaml, machines/, context/ and projects/ documents against their schemas.
    pub fn validate_store_docs(&self) -> Result<()> {
        for (path, e) in &self.head_files {
            if path.ends_with(".yaml")
                && !path.starts_with("claude/")
                && !path.starts_with("desktop/")
            {
                let bytes = self.store.blob(e.oid)?;
                crate::model::validate(path, &bytes)?;
            }
        }
        Ok(())
    }

    /// The live form of a store blob: secrets opened, home paths restored.
    fn live_bytes(
        &self,
        path: &str,
        stored: &[u8],
        home: &str,
        live: Option<&Captured>,
        unreadable: &mut Vec<String>,
    ) -> Result<Vec<u8>> {
        let Ok(text) = std::str::from_utf8(stored) else {
            return Ok(stored.to_vec());
        };
        let kind = Kind::of(path);
        let mut text = text.to_string();
        if matches!(kind, Kind::Json | Kind::Yaml) && text.contains("ENC[age:") {
            let parsed: Option<Value> = match kind {
                Kind::Json => serde_json::from_str(&text).ok(),
                _ => serde_yaml::from_str(&text).ok(),
            };
            if let Some(mut doc) = parsed {
                let pristine = doc.clone();
                let missed = open_doc_lenient(path, &mut doc, self.identity.as_ref(), None);
                if !missed.is_empty() {
                    // Keep what this machine has in those fields, if anything.
                    let live_doc = live.and_then(|c| self.live_doc(path, c, kind));
                    doc = pristine;
                    open_doc_lenient(path, &mut doc, self.identity.as_ref(), live_doc.as_ref());
                    unreadable.extend(missed);
                }
                text = String::from_utf8_lossy(&match kind {
                    Kind::Json => format::to_json(&doc, text.ends_with('\n')),
                    _ => format::to_yaml(&doc),
                })
                .to_string();
            }
        }
        if pathmap::maps(path) {
            text = pathmap::to_live(&text, home);
        }
        Ok(text.into_bytes())
    }

    /// The live file's document in store form (paths mapped), for keeping unreadable secrets.
    fn live_doc(&self, path: &str, c: &Captured, kind: Kind) -> Option<Value> {
        let (raw, _) = capture::read_live(&c.live_path).ok()??;
        let text = pathmap::to_store(std::str::from_utf8(&raw).ok()?, &self.home_str());
        let doc: Value = match kind {
            Kind::Json => serde_json::from_str(&text).ok()?,
            _ => serde_yaml::from_str(&text).ok()?,
        };
        match c.source {
            Source::McpServers => doc.get("mcpServers").cloned(),
            Source::Whole => {
                let _ = path;
                Some(doc)
            }
        }
    }

    /// The store form of a file that is not on the capture list (a project's personal files):
    /// paths mapped, secret fields sealed, token-like plaintext refused. `old` is the stored
    /// version, so unchanged secrets keep their ciphertext.
    pub fn store_form(
        &self,
        store_path: &str,
        live: &Path,
        raw: &[u8],
        old: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        let home = self.home_str();
        let lf = LiveFile {
            store_path: store_path.to_string(),
            live_path: live.to_path_buf(),
            source: Source::Whole,
            stat: None,
        };
        Ok(self
            .codec(&home)
            .to_store(&lf, &self.env.display(live), raw, old)?)
    }

    /// The live form of a stored blob: secrets opened, home paths restored.
    pub fn live_form(&self, store_path: &str, stored: &[u8]) -> Result<Vec<u8>> {
        let mut unreadable = Vec::new();
        self.live_bytes(store_path, stored, &self.home_str(), None, &mut unreadable)
    }

    /// Where a store path lives on this machine, if it is applied at all.
    pub fn live_location(&self, path: &str) -> Option<(PathBuf, Source)> {
        match path {
            "claude/mcp.json" => Some((self.env.claude_json.clone(), Source::McpServers)),
            "desktop/mcp.json" => Some((self.env.desktop_config.clone(), Source::McpServers)),
            _ => {
                let rel = path.strip_prefix("claude/")?;
                if rel.split('/').any(|p| p == ".." || p.is_empty()) {
                    return None;
                }
                Some((self.env.claude_dir.join(rel), Source::Whole))
            }
        }
    }

    /// What applying `target` to the live files would do, limited to `only` (store-path prefixes).
    pub fn plan_apply(&self, target: &Files, only: &[String], snap: &Snapshot) -> Result<Plan> {
        let applied = self.applied();
        let home = self.home_str();
        let wanted = |p: &str| {
            only.is_empty()
                || only
                    .iter()
                    .any(|o| p == o || p.starts_with(&format!("{}/", o.trim_end_matches('/'))))
        };
        let paths: BTreeSet<&String> = target
            .keys()
            .filter(|p| is_live_path(p))
            .chain(applied.files.keys().filter(|p| is_live_path(p)))
            .chain(self.head_files.keys().filter(|p| is_live_path(p)))
            .filter(|p| wanted(p))
            .collect();
        let mut plan = Plan::default();
        for path in paths {
            let Some((live, source)) = self.live_location(path) else {
                continue;
            };
            let want = target.get(path).copied();
            let have = snap.files.get(path).and_then(|c| c.entry);
            if want == have {
                plan.in_sync.insert(path.clone(), want);
                continue;
            }
            if want.is_none()
                && !applied.files.contains_key(path)
                && !self.head_files.contains_key(path)
            {
                // Never ctx's: a file the store does not know is left alone.
                continue;
            }
            let seen = applied.files.get(path).copied();
            if let Some(h) = have {
                if !self.still_matches(path, h, seen, snap)? {
                    plan.dirty.push(self.env.display(&live));
                    plan.dirty_paths.push(path.clone());
                }
            }
            let (op, bytes, exec) = match want {
                Some(e) => {
                    let stored = self.store.blob(e.oid)?;
                    let bytes = self.live_bytes(
                        path,
                        &stored,
                        &home,
                        snap.files.get(path),
                        &mut plan.unreadable,
                    )?;
                    ("write", Some(bytes), e.exec)
                }
                None if have.is_some() => ("delete", None, false),
                None => {
                    plan.in_sync.insert(path.clone(), None);
                    continue;
                }
            };
            plan.actions.push(Action {
                path: path.clone(),
                live,
                op,
                bytes,
                exec,
                source,
                target: want,
            });
        }
        Ok(plan)
    }

    /// Whether the live file (captured as `have`) still holds what ctx last saw, `seen`. Its
    /// secrets are sealed against the current store, so a store that moved since changes the
    /// captured blob without any live change: then the file is sealed again against `seen`.
    fn still_matches(
        &self,
        path: &str,
        have: Entry,
        seen: Option<ObjectId>,
        snap: &Snapshot,
    ) -> Result<bool> {
        let Some(seen) = seen else { return Ok(false) };
        if have.oid == seen {
            return Ok(true);
        }
        let Some(c) = snap.files.get(path) else {
            return Ok(false);
        };
        let Some((raw, _)) = capture::read_live(&c.live_path)? else {
            return Ok(false);
        };
        if !std::str::from_utf8(&raw).is_ok_and(|t| {
            t.contains("ENC[age:") || matches!(Kind::of(path), Kind::Json | Kind::Yaml)
        }) {
            return Ok(false);
        }
        let old = self.store.blob(seen)?;
        let home = self.home_str();
        let lf = LiveFile {
            store_path: path.to_string(),
            live_path: c.live_path.clone(),
            source: c.source.clone(),
            stat: None,
        };
        let bytes =
            self.codec(&home)
                .to_store(&lf, &self.env.display(&c.live_path), &raw, Some(&old))?;
        Ok(bytes.is_some_and(|b| Store::hash(&b) == seen))
    }

    /// Saves the live contents that `plan` would overwrite to a backup ref. Returns the ref.
    pub fn backup(&self, plan: &Plan, snap: &Snapshot) -> Result<Option<(String, ObjectId)>> {
        if plan.dirty_paths.is_empty() {
            return Ok(None);
        }
        let mut changes = BTreeMap::new();
        for path in &plan.dirty_paths {
            if let Some(bytes) = self.captured_bytes(path, snap)? {
                let exec = snap
                    .files
                    .get(path)
                    .and_then(|c| c.entry)
                    .is_some_and(|e| e.exec);
                changes.insert(path.clone(), Change::Write { bytes, exec });
            }
        }
        let base = match self.head {
            Some(h) => Some(self.store.tree_of(h)?),
            None => None,
        };
        let tree = self.store.write_tree(base, &changes)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!("{BACKUP_PREFIX}{}-{stamp}", self.machine);
        let items: Vec<String> = plan
            .dirty_paths
            .iter()
            .map(|p| summary::short(p).to_string())
            .collect();
        let msg = summary::message(
            &self.machine,
            &items,
            Some(&format!(
                "{}: live files saved before apply --force",
                self.machine
            )),
        );
        let parents: Vec<ObjectId> = self.head.into_iter().collect();
        let id = self.store.commit(&name, tree, &parents, None, &msg)?;
        Ok(Some((name, id)))
    }

    /// Performs a plan: atomic writes, permissions kept, only the owned key of shared files.
    pub fn execute(&self, plan: &Plan) -> Result<()> {
        let mut applied = self.applied();
        // Whole-file writes go first, on a few threads: creating thousands of files is bound by
        // the file system's latency, not by the CPU (a new machine's restore).
        let writes: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| a.source == Source::Whole && a.op == "write")
            .collect();
        let dirs: BTreeSet<&Path> = writes.iter().filter_map(|a| a.live.parent()).collect();
        for d in dirs {
            std::fs::create_dir_all(d).map_err(|source| SessionError::Io {
                path: d.to_path_buf(),
                source,
            })?;
        }
        let workers = 4.min(writes.len()).max(1);
        let chunk = writes.len().div_ceil(workers).max(1);
        let results: Vec<(&Action, std::io::Result<()>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = writes
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|a| {
                                let bytes = a.bytes.as_deref().unwrap_or_default();
                                (
                                    *a,
                                    fsx::replace(&a.live, bytes, fsx::mode_for(&a.live, a.exec)),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut failed = None;
        for (action, result) in results {
            match result {
                Ok(()) => {
                    if let Some(e) = action.target {
                        applied.files.insert(action.path.clone(), e.oid);
                    }
                }
                Err(source) if failed.is_none() => {
                    failed = Some(SessionError::Io {
                        path: action.live.clone(),
                        source,
                    })
                }
                Err(_) => {}
            }
        }
        if let Some(e) = failed {
            // What was written is recorded, so nothing written looks like a user's change.
            self.save_applied(&applied)?;
            return Err(e);
        }
        for action in &plan.actions {
            let io = |source| SessionError::Io {
                path: action.live.clone(),
                source,
            };
            match (&action.source, action.op) {
                (Source::Whole, "write") => continue,
                (Source::Whole, _) => match std::fs::remove_file(&action.live) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                },
                (Source::McpServers, op) => {
                    let servers: Option<Value> = match op {
                        "write" => Some(
                            serde_json::from_slice(action.bytes.as_deref().unwrap_or_default())
                                .map_err(|e| io(std::io::Error::other(e)))?,
                        ),
                        _ => None,
                    };
                    splice_mcp(&action.live, servers.as_ref())?;
                }
            }
            match action.target {
                Some(e) => applied.files.insert(action.path.clone(), e.oid),
                None => applied.files.remove(&action.path),
            };
        }
        for (path, entry) in &plan.in_sync {
            match entry {
                Some(e) => applied.files.insert(path.clone(), e.oid),
                None => applied.files.remove(path),
            };
        }
        self.save_applied(&applied)
    }

    /// The files of `rev` for `paths` (all when empty), laid over `main`'s.
    pub fn rollback_target(&self, rev: ObjectId, paths: &[String]) -> Result<Files> {
        let old = self.store.files(Some(rev))?;
        if paths.is_empty() {
            return Ok(old);
        }
        let under =
            |p: &str, o: &str| p == o || p.starts_with(&format!("{}/", o.trim_end_matches('/')));
        for o in paths {
            if !old
                .keys()
                .chain(self.head_files.keys())
                .any(|p| under(p, o))
            {
                return Err(SessionError::UnknownPath(o.clone()));
            }
        }
        let mut out: Files = self
            .head_files
            .iter()
            .filter(|(p, _)| !paths.iter().any(|o| under(p, o)))
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        for (p, e) in old {
            if paths.iter().any(|o| under(&p, o)) {
                out.insert(p, e);
            }
        }
        Ok(out)
    }

    /// Commits `target` as the new content of `main` (nothing rewritten). `None` if identical.
    pub fn commit_files(&mut self, target: &Files, msg: &str) -> Result<Option<ObjectId>> {
        let mut changes = BTreeMap::new();
        for (p, e) in target {
            if self.head_files.get(p) != Some(e) {
                changes.insert(p.clone(), Change::Blob(*e));
            }
        }
        for p in self.head_files.keys() {
            if !target.contains_key(p) {
                changes.insert(p.clone(), Change::Delete);
            }
        }
        if changes.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.commit_changes(&changes, msg)?))
    }

    /// Store paths under the given user-supplied paths (store paths, `~/.claude/...`, or live paths).
    pub fn store_paths_for(&self, args: &[String]) -> Result<Vec<String>> {
        args.iter().map(|a| self.to_store_path(a)).collect()
    }

    fn to_store_path(&self, arg: &str) -> Result<String> {
        let trimmed = arg.trim_end_matches('/');
        let known = |p: &str| {
            self.head_files
                .keys()
                .any(|k| k == p || k.starts_with(&format!("{p}/")))
        };
        if known(trimmed) {
            return Ok(trimmed.to_string());
        }
        if known(&format!("claude/{trimmed}")) {
            return Ok(format!("claude/{trimmed}"));
        }
        let expanded = match trimmed.strip_prefix("~/") {
            Some(rest) => self.env.home.join(rest),
            None => PathBuf::from(trimmed),
        };
        let abs = if expanded.is_absolute() {
            expanded
        } else {
            std::env::current_dir()
                .map(|d| d.join(&expanded))
                .unwrap_or(expanded)
        };
        if abs == self.env.claude_json {
            return Ok("claude/mcp.json".into());
        }
        if abs == self.env.desktop_config {
            return Ok("desktop/mcp.json".into());
        }
        if let Ok(rel) = abs.strip_prefix(&self.env.claude_dir) {
            let rel = rel.to_string_lossy();
            return Ok(if rel.is_empty() {
                "claude".into()
            } else {
                format!("claude/{rel}")
            });
        }
        if Path::new(trimmed).components().count() > 0 && !trimmed.starts_with('/') {
            return Ok(trimmed.to_string());
        }
        Err(SessionError::UnknownPath(arg.to_string()))
    }

    /// Backup refs made by `apply --force`.
    pub fn backups(&self) -> Result<Vec<(String, ObjectId)>> {
        Ok(self.store.refs_under(BACKUP_PREFIX)?)
    }
}

/// Store paths that correspond to live files (the rest is the store's own bookkeeping).
pub fn is_live_path(path: &str) -> bool {
    path.starts_with("claude/") || path.starts_with("desktop/")
}

fn null() -> ObjectId {
    ObjectId::null(gix::hash::Kind::Sha1)
}

/// Sets (or removes) the `mcpServers` key of a shared JSON file, leaving every other byte alone.
fn splice_mcp(path: &Path, servers: Option<&Value>) -> Result<()> {
    let io = |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if servers.is_none() {
                return Ok(());
            }
            "{}\n".to_string()
        }
        Err(e) => return Err(io(e)),
    };
    let out = format::splice_key(&text, "mcpServers", servers).ok_or_else(|| {
        SessionError::NotAnObject {
            path: path.to_path_buf(),
        }
    })?;
    if out != text {
        fsx::write_atomic(path, out.as_bytes(), None).map_err(io)?;
    }
    Ok(())
}
