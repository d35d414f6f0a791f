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
use crate::model::MachineRecord;
use crate::session::{Session, SessionError};
use crate::store::{Change, ObjectId};

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
    Session(#[from] SessionError),
}

impl From<crate::store::StoreError> for MachineError {
    fn from(e: crate::store::StoreError) -> Self {
        MachineError::Session(e.into())
    }
}

impl From<crate::crypt::CryptError> for MachineError {
    fn from(e: crate::crypt::CryptError) -> Self {
        MachineError::Session(e.into())
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
pub fn list(session: &Session) -> Result<Vec<MachineInfo>, MachineError> {
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(head) = session.head {
        for e in session.store.log(head, None, 2000)? {
            if let Some(m) = e.machine {
                last.entry(m).or_insert(e.time);
            }
        }
    }
    let mut out = Vec::new();
    for name in records(session) {
        let rec = record(session, &name)?;
        out.push(MachineInfo {
            can_read_secrets: session.manifest.recipients.get(&name) == Some(&rec.public_key),
            this_machine: name == session.machine,
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
pub fn unapproved(session: &Session) -> Result<Vec<String>, MachineError> {
    let mut out = Vec::new();
    for name in records(session) {
        let rec = record(session, &name)?;
        if session.manifest.recipients.get(&name) != Some(&rec.public_key) {
            out.push(name);
        }
    }
    Ok(out)
}

fn records(session: &Session) -> Vec<String> {
    session
        .head_files
        .keys()
        .filter_map(|p| p.strip_prefix("machines/")?.strip_suffix(".yaml"))
        .filter(|n| !n.contains('/'))
        .map(String::from)
        .collect()
}

fn record(session: &Session, name: &str) -> Result<MachineRecord, MachineError> {
    let path = format!("machines/{name}.yaml");
    let bytes = session
        .store
        .read(session.head, &path)?
        .ok_or_else(|| MachineError::Unknown(name.to_string()))?;
    Ok(crate::model::parse_yaml(&path, &bytes).map_err(SessionError::from)?)
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
}

/// Lets `name` read the secrets: adds its key to the recipients and seals every secret again.
pub fn approve(session: &mut Session, name: &str) -> Result<KeyChange, MachineError> {
    let rec = record(session, name)?;
    if session.manifest.recipients.get(name) == Some(&rec.public_key) {
        return Ok(KeyChange {
            machine: name.to_string(),
            commit: None,
            resealed: 0,
        });
    }
    let mut manifest = session.manifest.clone();
    manifest
        .recipients
        .insert(name.to_string(), rec.public_key.clone());
    let what = format!("{}: approve {name} to read the secrets", session.machine);
    change_recipients(session, manifest, name, &what)
}

/// Takes `name`'s access away: removes its key and seals every secret again without it.
pub fn revoke(session: &mut Session, name: &str) -> Result<KeyChange, MachineError> {
    if !session.manifest.recipients.contains_key(name) {
        if records(session).iter().any(|r| r == name) {
            return Ok(KeyChange {
                machine: name.to_string(),
                commit: None,
                resealed: 0,
            });
        }
        return Err(MachineError::Unknown(name.to_string()));
    }
    let mut manifest = session.manifest.clone();
    manifest.recipients.remove(name);
    if manifest.recipients.is_empty() {
        return Err(MachineError::LastRecipient(name.to_string()));
    }
    let what = format!("{}: revoke {name}'s access to the secrets", session.machine);
    change_recipients(session, manifest, name, &what)
}

fn change_recipients(
    session: &mut Session,
    manifest: crate::model::Manifest,
    name: &str,
    what: &str,
) -> Result<KeyChange, MachineError> {
    // Everything is opened before anything is written: a secret this machine cannot read
    // stops the change with nothing committed.
    session.check_key()?;
    let to = Recipients::parse(manifest.recipients.iter())?;
    let (mut changes, resealed) = session.reseal_all(&to)?;
    changes.insert(
        "ctx.yaml".into(),
        Change::Write {
            bytes: crate::setup::render_manifest(&manifest).into_bytes(),
            exec: false,
        },
    );
    session.manifest = manifest;
    session.add_inventory(&mut changes)?;
    let items: Vec<String> = changes
        .keys()
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let msg = crate::summary::message(&session.machine, &items, Some(what));
    let id: ObjectId = session.commit_changes(&changes, &msg)?;
    // The live files hold the same plaintexts; record that they match the new blobs.
    let snap = session.snapshot(false)?;
    let target = session.head_files.clone();
    let plan = session.plan_apply(&target, &[], &snap)?;
    if plan.dirty.is_empty() {
        session.execute(&plan)?;
    }
    Ok(KeyChange {
        machine: name.to_string(),
        commit: Some(id.to_string()),
        resealed,
    })
}
