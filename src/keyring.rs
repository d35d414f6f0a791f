//! This machine's key and the store's recipients and secret rules: whether this machine can
//! read the secrets, checking that before anything is written, and sealing every secret again
//! for a new set of recipients.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::crypt::fields::{get_at, sealed_paths, set_at};
use crate::crypt::rules::Rules;
use crate::crypt::rules::Seg;
use crate::crypt::{CryptError, Identity, Recipients};
use crate::error::{Error, Result};
use crate::format::{self, Kind};
use crate::model::Manifest;
use crate::repo::Repo;
use crate::store::Change;

/// Keys and rules in force for this machine and store.
pub struct Keyring {
    identity: std::result::Result<Identity, String>,
    /// Its public key, derived once (a scalar multiplication: a tenth of a millisecond).
    own: Option<String>,
    identity_path: PathBuf,
    machine: String,
    /// The key ctx.yaml lists for this machine, if any.
    listed: Option<String>,
    /// The recipients of ctx.yaml.
    pub recipients: Recipients,
    /// The secret rules of ctx.yaml and the built-in ones.
    pub rules: Rules,
}

/// Opens ciphertexts with this machine's key, for the merge engine.
pub struct KeyDecrypt<'a>(pub &'a Identity);

impl crate::merge::Decrypt for KeyDecrypt<'_> {
    fn decrypt(&self, locator: &str, ciphertext: &str) -> Option<String> {
        crate::crypt::open(ciphertext, locator, self.0).ok()
    }
}

impl Keyring {
    /// Loads this machine's key from `identity_path` and the recipients and rules of `manifest`.
    /// A key that cannot be read is remembered, not an error: reading the store needs no key.
    /// `registered` is the key this machine's record in the store holds: a machine that lost its
    /// key and registered a new one (`ctx init`) is not approved until another machine approves
    /// the new key, and works meanwhile as an unapproved machine does.
    pub fn load(
        identity_path: PathBuf,
        machine: &str,
        manifest: &Manifest,
        registered: Option<&str>,
    ) -> Result<Keyring> {
        let identity = Identity::load(&identity_path).map_err(|e| e.to_string());
        let own = identity.as_ref().ok().map(|i| i.public_key());
        let listed = manifest.recipients.get(machine).cloned();
        let awaiting = listed.is_some()
            && own.is_some()
            && listed.as_deref() != own.as_deref()
            && registered == own.as_deref();
        Ok(Keyring {
            identity,
            own,
            identity_path,
            machine: machine.to_string(),
            listed: listed.filter(|_| !awaiting),
            recipients: Recipients::parse(manifest.recipients.iter())?,
            rules: Rules::new(&manifest.secrets).with_not_secret(&manifest.not_secret),
        })
    }

    /// This machine's key, or why it cannot be read.
    pub fn identity(&self) -> std::result::Result<&Identity, CryptError> {
        match &self.identity {
            Ok(id) => Ok(id),
            Err(reason) if self.identity_path.exists() => Err(CryptError::BadIdentity {
                reason: reason.clone(),
                path: self.identity_path.clone(),
            }),
            Err(_) => Err(CryptError::NoIdentity {
                path: self.identity_path.clone(),
            }),
        }
    }

    /// This machine's key, if it could be read.
    pub fn key(&self) -> Option<&Identity> {
        self.identity.as_ref().ok()
    }

    /// This machine's public key, if its key could be read.
    pub fn public_key(&self) -> Option<&str> {
        self.own.as_deref()
    }

    /// The merge engine's view of this key.
    pub fn decrypt(&self) -> Option<KeyDecrypt<'_>> {
        self.key().map(KeyDecrypt)
    }

    /// Whether ctx.yaml lists this machine as a recipient of the secrets.
    pub fn approved(&self) -> bool {
        self.listed.is_some()
    }

    /// Before anything is written: where ctx.yaml lists this machine as a recipient, its key must
    /// be the listed one and must open the secrets. The commonest failure of encrypted sync (a
    /// wrong or missing key) is found here, not halfway through writing live files.
    pub fn check(&self, repo: &Repo) -> Result<()> {
        let Some(listed) = &self.listed else {
            return Ok(());
        };
        let id = self.identity()?;
        let mismatch = |cannot_open: bool| {
            let (machine, path) = (self.machine.clone(), self.identity_path.clone());
            match cannot_open {
                false => Error::KeyMismatch { machine, path },
                true => Error::KeyCannotOpen { machine, path },
            }
        };
        if self.own.as_deref() != Some(listed.as_str()) {
            return Err(mismatch(false));
        }
        let mut tried = 0;
        for (file, doc) in sealed_docs(repo)? {
            for (path, ct) in sealed_values(&doc) {
                if crate::crypt::open_at(&ct, &file, &path, id).is_ok() {
                    return Ok(());
                }
                tried += 1;
            }
        }
        match tried {
            0 => Ok(()),
            _ => Err(mismatch(true)),
        }
    }

    /// Every sealed value opened with this machine's key and sealed again, fresh, to `to`.
    /// A value that cannot be opened (damaged, or sealed without this machine) is left as it is
    /// and named in [`Resealed::damaged`], so one bad field can never block a revoke.
    pub fn reseal_all(&self, repo: &Repo, to: &Recipients) -> Result<Resealed> {
        let id = self.identity()?;
        let mut out = Resealed::default();
        for (path, mut doc) in sealed_docs(repo)? {
            let mut changed = false;
            for (p, current) in sealed_values(&doc) {
                let Ok(opened) = crate::crypt::open_at(&current, &path, &p, id) else {
                    out.damaged.push(crate::crypt::fields::locator(&path, &p));
                    continue;
                };
                let fresh = crate::crypt::seal_at(&opened.value, &path, &p, to)?;
                set_at(&mut doc, &p, Value::String(fresh));
                out.count += 1;
                changed = true;
            }
            if !changed {
                continue;
            }
            let e = repo.files[&path];
            let old = repo.store.blob(e.oid)?;
            let bytes = format::render_doc(Kind::of(&path), &doc, &String::from_utf8_lossy(&old));
            out.changes.insert(
                path,
                Change::Write {
                    bytes,
                    exec: e.exec,
                },
            );
        }
        // Session chunks are sealed whole: sealed again too, or a machine approved later could
        // never open the sessions written before it.
        for (path, e) in repo.files.iter().filter(|(p, _)| sealed_chunk(p)) {
            let old = repo.store.blob(e.oid)?;
            let Ok(plain) = crate::crypt::blob::open_file(path, &old, id) else {
                out.damaged.push(path.clone());
                continue;
            };
            let bytes = crate::crypt::blob::seal_file(path, &plain, to)?;
            out.count += 1;
            out.changes
                .insert(path.clone(), Change::Write { bytes, exec: false });
        }
        Ok(out)
    }

    /// The sealed values this machine should open, being a recipient, and cannot: damaged or
    /// swapped ciphertexts, or values sealed without it. Empty for an unapproved machine.
    pub fn damaged(&self, repo: &Repo) -> Result<Vec<String>> {
        let Some(id) = self.key().filter(|_| self.approved()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (file, doc) in sealed_docs(repo)? {
            for (p, ct) in sealed_values(&doc) {
                if crate::crypt::open_at(&ct, &file, &p, id).is_err() {
                    out.push(crate::crypt::fields::locator(&file, &p));
                }
            }
        }
        Ok(out)
    }
}

/// Whether a store path is a session chunk, sealed whole.
fn sealed_chunk(path: &str) -> bool {
    path.starts_with("sessions/") && path.ends_with(".age")
}

/// What resealing did.
#[derive(Debug, Default)]
pub struct Resealed {
    /// The files changed.
    pub changes: BTreeMap<String, Change>,
    /// How many values were sealed again.
    pub count: usize,
    /// Values that could not be opened, left as they were.
    pub damaged: Vec<String>,
}

/// The store's JSON and YAML documents that hold sealed values, parsed.
pub fn sealed_docs(repo: &Repo) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (path, e) in &repo.files {
        let kind = Kind::of(path);
        if !matches!(kind, Kind::Json | Kind::Yaml) {
            continue;
        }
        let bytes = repo.store.blob(e.oid)?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if !text.contains("ENC[age:") {
            continue;
        }
        if let Some(doc) = format::parse_doc(kind, text) {
            out.push((path.clone(), doc));
        }
    }
    Ok(out)
}

/// (path, ciphertext) of every sealed value of a document.
pub fn sealed_values(doc: &Value) -> Vec<(Vec<Seg>, String)> {
    sealed_paths(doc)
        .into_iter()
        .filter_map(|p| {
            let ct = get_at(doc, &p)?.as_str()?.to_string();
            Some((p, ct))
        })
        .collect()
}
