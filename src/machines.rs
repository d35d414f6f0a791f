//! The machines of a store and who can read its secrets: `ctx machine ls | approve | revoke`.
//!
//! A machine that joins registers `machines/<name>.yaml` with its public key, but only
//! ctx.yaml's `recipients` can open secrets. Approving adds the machine's key there and seals
//! every secret again to the new set; revoking removes it and seals again without it. Old
//! ciphertexts stay in git history, so a revoked machine that kept a copy can still read the
//! values as they were: change the secrets themselves after a revoke.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::crypt::Recipients;
use crate::error::Error;
use crate::model::MachineRecord;
use crate::repo::Transaction;
use crate::store::Change;
use crate::workspace::Workspace;

/// Errors of the machine commands.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// No `machines/<name>.yaml`.
    #[error("no machine named `{0}` has joined this store")]
    Unknown(String),
    /// Revoking would leave nobody able to read the secrets.
    #[error("`{0}` is the last machine that can read the secrets")]
    LastRecipient(String),
    /// The store.
    #[error(transparent)]
    Workspace(#[from] Error),
}

impl From<crate::store::StoreError> for MachineError {
    fn from(e: crate::store::StoreError) -> Self {
        MachineError::Workspace(e.into())
    }
}

impl From<crate::crypt::CryptError> for MachineError {
    fn from(e: crate::crypt::CryptError) -> Self {
        MachineError::Workspace(e.into())
    }
}

/// One line of `ctx machine ls`.
#[derive(Debug, Serialize)]
pub struct MachineInfo {
    /// The name.
    pub name: String,
    /// Its age public key.
    pub public_key: String,
    /// Its operating system.
    pub os: String,
    /// Whether ctx.yaml lists this key as a recipient: it can read the secrets.
    pub can_read_secrets: bool,
    /// Whether this is the machine running the command.
    pub this_machine: bool,
    /// When it last committed or synced something (its newest commit in the store, RFC 3339).
    pub last_sync: Option<String>,
}

/// Every machine that joined, with whether it can read the secrets.
pub fn list(ws: &Workspace) -> Result<Vec<MachineInfo>, MachineError> {
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(head) = ws.repo.head {
        for e in ws.repo.store.history().log(head, None, 2000)? {
            if let Some(m) = e.machine {
                last.entry(m).or_insert(e.time);
            }
        }
    }
    let mut out = Vec::new();
    for name in records(ws) {
        let rec = record(ws, &name)?;
        out.push(MachineInfo {
            can_read_secrets: ws.repo.manifest.recipients.get(&name) == Some(&rec.public_key),
            this_machine: name == ws.machine(),
            last_sync: last.get(&name).and_then(|t| {
                jiff::Timestamp::from_second(*t)
                    .ok()
                    .map(|ts| ts.to_string())
            }),
            name,
            public_key: rec.public_key,
            os: rec.os,
        });
    }
    Ok(out)
}

/// The machines that joined but cannot read the secrets (no history walk: cheap enough for
/// `ctx status`).
pub fn unapproved(ws: &Workspace) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for name in records(ws) {
        let Some(rec) = record_of(ws, &name)? else {
            continue;
        };
        if ws.repo.manifest.recipients.get(&name) != Some(&rec.public_key) {
            out.push(name);
        }
    }
    Ok(out)
}

fn records(ws: &Workspace) -> Vec<String> {
    ws.repo
        .files
        .keys()
        .filter_map(|p| p.strip_prefix("machines/")?.strip_suffix(".yaml"))
        .filter(|n| !n.contains('/'))
        .map(String::from)
        .collect()
}

fn record_of(ws: &Workspace, name: &str) -> Result<Option<MachineRecord>, Error> {
    let path = format!("machines/{name}.yaml");
    match ws.repo.read(&path)? {
        Some(bytes) => Ok(Some(crate::model::parse_yaml(&path, &bytes)?)),
        None => Ok(None),
    }
}

fn record(ws: &Workspace, name: &str) -> Result<MachineRecord, MachineError> {
    record_of(ws, name)?.ok_or_else(|| MachineError::Unknown(name.to_string()))
}

/// What approve or revoke did.
#[derive(Debug, Serialize)]
pub struct KeyChange {
    /// The machine.
    pub machine: String,
    /// The new commit, if anything changed.
    pub commit: Option<String>,
    /// How many secret values were sealed again.
    pub resealed: usize,
    /// Values that could not be opened and were left as they were (set them anew).
    pub damaged: Vec<String>,
}

/// Lets `name` read the secrets: adds its key to the recipients and seals every secret again.
pub fn approve(ws: &mut Workspace, name: &str) -> Result<KeyChange, MachineError> {
    let rec = record(ws, name)?;
    if ws.repo.manifest.recipients.get(name) == Some(&rec.public_key) {
        return Ok(KeyChange {
            machine: name.to_string(),
            commit: None,
            resealed: 0,
            damaged: Vec::new(),
        });
    }
    let mut manifest = ws.repo.manifest.clone();
    manifest
        .recipients
        .insert(name.to_string(), rec.public_key.clone());
    let what = format!("{}: approve {name} to read the secrets", ws.machine());
    change_recipients(ws, manifest, name, &what)
}

/// Takes `name`'s access away: removes its key and seals every secret again without it.
pub fn revoke(ws: &mut Workspace, name: &str) -> Result<KeyChange, MachineError> {
    if !ws.repo.manifest.recipients.contains_key(name) {
        if records(ws).iter().any(|r| r == name) {
            return Ok(KeyChange {
                machine: name.to_string(),
                commit: None,
                resealed: 0,
                damaged: Vec::new(),
            });
        }
        return Err(MachineError::Unknown(name.to_string()));
    }
    let mut manifest = ws.repo.manifest.clone();
    manifest.recipients.remove(name);
    if manifest.recipients.is_empty() {
        return Err(MachineError::LastRecipient(name.to_string()));
    }
    let what = format!("{}: revoke {name}'s access to the secrets", ws.machine());
    change_recipients(ws, manifest, name, &what)
}

fn change_recipients(
    ws: &mut Workspace,
    manifest: crate::model::Manifest,
    name: &str,
    what: &str,
) -> Result<KeyChange, MachineError> {
    // Everything is opened before anything is written: a secret this machine cannot read
    // stops the change with nothing committed.
    ws.keys.check(&ws.repo)?;
    let to = Recipients::parse(manifest.recipients.iter())?;
    let sealed = ws.keys.reseal_all(&ws.repo, &to)?;
    let resealed = sealed.count;
    let mut tx = Transaction::with(sealed.changes);
    tx.set(
        crate::layout::MANIFEST,
        Change::Write {
            bytes: crate::setup::render_manifest(&manifest).into_bytes(),
            exec: false,
        },
    );
    let items: Vec<String> = tx
        .paths()
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let msg = crate::summary::message(ws.machine(), &items, Some(what));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    // The live files hold the same plaintexts; record that they match the new blobs.
    crate::apply::to_head(ws, crate::apply::Scope::All, crate::apply::OnDirty::Skip)?;
    Ok(KeyChange {
        machine: name.to_string(),
        commit: Some(id.to_string()),
        resealed,
        damaged: sealed.damaged,
    })
}
