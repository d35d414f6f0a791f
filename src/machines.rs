//! The machines of a store and who can read its secrets: `ctx machine ls | approve | revoke |
//! rm | rename`.
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
    /// `--fingerprint` names another key than the machine's.
    #[error("`{name}`'s signing key is {actual}, not {expected}")]
    FingerprintMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    /// The machine has no signing key (set up by a ctx that did not sign).
    #[error("`{0}` has no signing key yet")]
    NoSigningKey(String),
    /// The trust file.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// Revoking would leave nobody able to read the secrets.
    #[error("`{0}` is the last machine that can read the secrets")]
    LastRecipient(String),
    /// `rm` of the machine running the command.
    #[error("`{0}` is this machine; a machine does not remove itself")]
    ThisMachine(String),
    /// `rename` of another machine: its own config holds its name.
    #[error("`{0}` is not this machine; a machine is renamed on itself")]
    NotThisMachine(String),
    /// `rename` to a name another machine holds.
    #[error("a machine named `{0}` is in the store already")]
    Taken(String),
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
    /// When it last committed or synced something (its newest commit in the store, RFC 3339
    /// in the local zone).
    pub last_sync: Option<String>,
    /// Its SSH signing key (an OpenSSH public key line), for an allowed-signers file.
    pub signing_key: Option<String>,
    /// That key's fingerprint.
    pub fingerprint: Option<String>,
    /// Whether this machine trusts its signed commits (pinned here).
    pub trusted: bool,
    /// Whether its record only arrived as a join request no trusted machine has approved yet.
    pub awaiting_approval: bool,
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
    let trust = ws.trust()?;
    let mut out = Vec::new();
    let mut names = records(ws);
    names.extend(
        trust
            .pending()
            .iter()
            .filter(|(n, p)| p.record.is_some() && !names.contains(n))
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>(),
    );
    for name in names {
        let rec = record_or_pending(ws, &trust, &name)?;
        let fingerprint = rec
            .signing_key
            .as_deref()
            .and_then(|k| crate::signing::fingerprint_of(k).ok());
        let trusted = match (rec.signing_key.as_deref(), trust.key_of(&name)) {
            (Some(k), Some(t)) => crate::signing::same_key(k, t),
            _ => false,
        };
        out.push(MachineInfo {
            can_read_secrets: ws.repo.manifest.recipients.get(&name) == Some(&rec.public_key),
            this_machine: name == ws.machine(),
            awaiting_approval: !trusted,
            trusted,
            fingerprint,
            signing_key: rec.signing_key.clone(),
            last_sync: last.get(&name).map(|t| crate::clock::local_rfc3339(*t)),
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

/// The record at `main`, else the one a pending join request brought.
fn record_or_pending(
    ws: &Workspace,
    trust: &crate::trust::Trust,
    name: &str,
) -> Result<MachineRecord, MachineError> {
    if let Some(r) = record_of(ws, name)? {
        return Ok(r);
    }
    let path = format!("machines/{name}.yaml");
    let text = trust
        .pending()
        .get(name)
        .and_then(|p| p.record.clone())
        .ok_or_else(|| MachineError::Unknown(name.to_string()))?;
    Ok(crate::model::parse_yaml(&path, text.as_bytes()).map_err(Error::from)?)
}

/// A machine about to be approved: its record and the key that will be trusted.
#[derive(Debug, Serialize)]
pub struct Candidate {
    /// The machine.
    pub name: String,
    /// Its signing key's fingerprint.
    pub fingerprint: String,
    /// The fingerprint this machine pinned for it before, when that was another key.
    pub changed_from: Option<String>,
    #[serde(skip)]
    record: MachineRecord,
    #[serde(skip)]
    record_in_store: bool,
}

/// Who `ctx machine approve NAME` would trust, before anything changes.
pub fn candidate(ws: &Workspace, name: &str) -> Result<Candidate, MachineError> {
    let trust = ws.trust()?;
    let record_in_store = record_of(ws, name)?.is_some();
    let record = record_or_pending(ws, &trust, name)?;
    let key = record
        .signing_key
        .clone()
        .ok_or_else(|| MachineError::NoSigningKey(name.to_string()))?;
    let fingerprint = crate::signing::fingerprint_of(&key).map_err(Error::from)?;
    let changed_from = trust
        .key_of(name)
        .filter(|k| !crate::signing::same_key(k, &key))
        .map(|k| crate::signing::fingerprint_of(k).unwrap_or_default());
    Ok(Candidate {
        name: name.to_string(),
        fingerprint,
        changed_from,
        record,
        record_in_store,
    })
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

/// Trusts `c`'s signing key here and lets it read the secrets: adds it to the signers and its
/// age key to the recipients, sealing every secret again. `fingerprint`, when given, must be
/// its key's.
pub fn approve(
    ws: &mut Workspace,
    c: Candidate,
    fingerprint: Option<&str>,
) -> Result<KeyChange, MachineError> {
    let name = c.name.as_str();
    if let Some(fp) = fingerprint.filter(|fp| *fp != c.fingerprint) {
        return Err(MachineError::FingerprintMismatch {
            name: name.to_string(),
            expected: fp.to_string(),
            actual: c.fingerprint.clone(),
        });
    }
    let key = c.record.signing_key.clone().unwrap_or_default();
    let mut trust = ws.trust()?;
    trust.pin(name, &key);
    trust.save()?;
    let rec = &c.record;
    let manifest = &ws.repo.manifest;
    if manifest.recipients.get(name) == Some(&rec.public_key)
        && manifest.signers.get(name) == Some(&key)
        && c.record_in_store
    {
        return Ok(KeyChange {
            machine: name.to_string(),
            commit: None,
            resealed: 0,
            damaged: Vec::new(),
        });
    }
    let mut manifest = manifest.clone();
    manifest
        .recipients
        .insert(name.to_string(), rec.public_key.clone());
    manifest.signers.insert(name.to_string(), key);
    let record: Vec<(String, Change)> = match c.record_in_store {
        true => Vec::new(),
        false => vec![(
            format!("machines/{name}.yaml"),
            Change::Write {
                bytes: serde_yaml::to_string(rec).unwrap_or_default().into_bytes(),
                exec: false,
            },
        )],
    };
    let what = format!("{}: approve {name} to read the secrets", ws.machine());
    change_recipients(ws, manifest, record, name, &what)
}

/// Takes `name`'s access away: removes its key and seals every secret again without it.
pub fn revoke(ws: &mut Workspace, name: &str) -> Result<KeyChange, MachineError> {
    if name != ws.machine() {
        let mut trust = ws.trust()?;
        trust.unpin(name);
        trust.save()?;
    }
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
    manifest.signers.remove(name);
    if manifest.recipients.is_empty() {
        return Err(MachineError::LastRecipient(name.to_string()));
    }
    let what = format!("{}: revoke {name}'s access to the secrets", ws.machine());
    change_recipients(ws, manifest, Vec::new(), name, &what)
}

fn change_recipients(
    ws: &mut Workspace,
    manifest: crate::model::Manifest,
    extra: Vec<(String, Change)>,
    name: &str,
    what: &str,
) -> Result<KeyChange, MachineError> {
    // Everything is opened before anything is written: a secret this machine cannot read
    // stops the change with nothing committed.
    ws.keys.check(&ws.repo)?;
    let to = Recipients::parse(manifest.recipients.iter())?;
    let sealed = ws.keys.reseal_all(&ws.repo, &to)?;
    let resealed = sealed.count;
    let mut manifest = manifest;
    crate::notify::hooks::keep_resealed(&mut manifest, &sealed.changes);
    let (before, approved) = (ws.repo.head, manifest.recipients.contains_key(name));
    let mut tx = Transaction::with(sealed.changes);
    tx.set(
        crate::layout::MANIFEST,
        Change::Write {
            bytes: crate::setup::render_manifest(&manifest).into_bytes(),
            exec: false,
        },
    );
    for (path, change) in extra {
        tx.set(&path, change);
    }
    let items: Vec<String> = tx
        .paths()
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let msg = crate::summary::message(ws.machine(), &items, Some(what));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    // The live files hold the same plaintexts; record that they match the new blobs.
    crate::apply::to_head(ws, crate::apply::Scope::All, crate::apply::OnDirty::Skip)?;
    let action = if approved { "approve" } else { "revoke" };
    crate::notify::after_machine(ws, action, name, before);
    Ok(KeyChange {
        machine: name.to_string(),
        commit: Some(id.to_string()),
        resealed,
        damaged: sealed.damaged,
    })
}

/// What `ctx machine rm` did.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The machine.
    pub machine: String,
    /// The commit.
    pub commit: String,
    /// Whether it could read the secrets (they are sealed again without it).
    pub was_recipient: bool,
    /// Whether its signed commits were trusted (they no longer are, here or on any machine
    /// that syncs this commit).
    pub was_signer: bool,
    /// How many secret values were sealed again.
    pub resealed: usize,
    /// Values that could not be opened and were left as they were.
    pub damaged: Vec<String>,
}

/// Removes `name` from the store: its record, its access to the secrets (sealed again without
/// it) and its place among the signers; this machine stops trusting its key. Its live files,
/// wherever they are, are untouched; the history keeps what it committed.
pub fn remove(ws: &mut Workspace, name: &str) -> Result<Removed, MachineError> {
    if name == ws.machine() {
        return Err(MachineError::ThisMachine(name.to_string()));
    }
    let record_path = format!("machines/{name}.yaml");
    let in_store = ws.repo.files.contains_key(&record_path);
    let manifest = &ws.repo.manifest;
    let was_recipient = manifest.recipients.contains_key(name);
    let was_signer = manifest.signers.contains_key(name);
    let mut trust = ws.trust()?;
    let pinned = trust.key_of(name).is_some() || trust.pending().contains_key(name);
    if !in_store && !was_recipient && !was_signer && !pinned {
        return Err(MachineError::Unknown(name.to_string()));
    }
    let mut manifest = manifest.clone();
    manifest.recipients.remove(name);
    manifest.signers.remove(name);
    if was_recipient && manifest.recipients.is_empty() {
        return Err(MachineError::LastRecipient(name.to_string()));
    }
    let extra = match in_store {
        true => vec![(record_path, Change::Delete)],
        false => Vec::new(),
    };
    let what = format!("{}: remove machine {name}", ws.machine());
    let (commit, resealed, damaged) = if was_recipient {
        let k = change_recipients(ws, manifest, extra, name, &what)?;
        (k.commit.unwrap_or_default(), k.resealed, k.damaged)
    } else {
        (commit_plain(ws, &manifest, extra, &what)?, 0, Vec::new())
    };
    trust.unpin(name);
    trust.forget_pending(name);
    trust.save()?;
    Ok(Removed {
        machine: name.to_string(),
        commit,
        was_recipient,
        was_signer,
        resealed,
        damaged,
    })
}

/// Commits ctx.yaml as `manifest` with `extra` changes, no secret sealed again.
fn commit_plain(
    ws: &mut Workspace,
    manifest: &crate::model::Manifest,
    extra: Vec<(String, Change)>,
    what: &str,
) -> Result<String, MachineError> {
    let mut tx = Transaction::with(extra.into_iter().collect());
    if *manifest != ws.repo.manifest {
        tx.write(
            crate::layout::MANIFEST,
            crate::setup::render_manifest(manifest).into_bytes(),
            false,
        );
    }
    let items: Vec<String> = tx
        .paths()
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let msg = crate::summary::message(ws.machine(), &items, Some(what));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    Ok(id.to_string())
}

/// What `ctx machine rename` did.
#[derive(Debug, Serialize)]
pub struct Renamed {
    /// The old name.
    pub from: String,
    /// The new name.
    pub to: String,
    /// The commit.
    pub commit: String,
}

/// Renames this machine from `old` to `new`: its record, its entries among the recipients and
/// signers (same keys, so nothing is sealed again and every machine keeps trusting it), its
/// worktrees in the project records, its trust pin and its own config. Commits already made
/// keep the name they were made under.
pub fn rename(ws: &mut Workspace, old: &str, new: &str) -> Result<Renamed, MachineError> {
    if old != ws.machine() {
        return Err(MachineError::NotThisMachine(old.to_string()));
    }
    if new.is_empty() || crate::env::sanitize_machine_name(new) != new {
        return Err(Error::BadMachineName(new.to_string()).into());
    }
    let m = &ws.repo.manifest;
    if ws.repo.files.contains_key(&format!("machines/{new}.yaml"))
        || m.recipients.contains_key(new)
        || m.signers.contains_key(new)
    {
        return Err(MachineError::Taken(new.to_string()));
    }
    let mut manifest = m.clone();
    for map in [&mut manifest.recipients, &mut manifest.signers] {
        if let Some(v) = map.remove(old) {
            map.insert(new.to_string(), v);
        }
    }
    let mut extra = Vec::new();
    if let Some(mut rec) = record_of(ws, old)? {
        rec.name = new.to_string();
        let bytes = serde_yaml::to_string(&rec).unwrap_or_default().into_bytes();
        extra.push((format!("machines/{old}.yaml"), Change::Delete));
        extra.push((
            format!("machines/{new}.yaml"),
            Change::Write { bytes, exec: false },
        ));
    }
    extra.extend(renamed_worktrees(ws, old, new)?);
    let what = format!("{old}: rename machine {old} to {new}");
    let commit = commit_plain(ws, &manifest, extra, &what)?;
    let mut trust = ws.trust()?;
    if let Some(key) = trust.key_of(old).map(str::to_string) {
        trust.unpin(old);
        trust.pin(new, &key);
        trust.save()?;
    }
    let mut cfg = crate::workspace::machine_config(&ws.env)?;
    cfg.machine = new.to_string();
    let path = ws.env.machine_config_path();
    let text = serde_yaml::to_string(&cfg).unwrap_or_default();
    crate::fsx::write_atomic(&path, text.as_bytes(), None)
        .map_err(|source| Error::Io { path, source })?;
    Ok(Renamed {
        from: old.to_string(),
        to: new.to_string(),
        commit,
    })
}

/// The project records whose worktrees name `old`, with them under `new`.
fn renamed_worktrees(
    ws: &Workspace,
    old: &str,
    new: &str,
) -> Result<Vec<(String, Change)>, MachineError> {
    let mut out = Vec::new();
    for path in ws.repo.files.keys() {
        let is_record = path
            .strip_prefix("projects/")
            .and_then(|r| r.strip_suffix(".yaml"))
            .is_some_and(|r| !r.contains('/'));
        let Some(bytes) = is_record.then(|| ws.repo.read(path)).transpose()?.flatten() else {
            continue;
        };
        let Ok(mut rec) = crate::model::parse_yaml::<crate::model::ProjectRecord>(path, &bytes)
        else {
            continue;
        };
        if let Some(w) = rec.worktrees.remove(old) {
            rec.worktrees.insert(new.to_string(), w);
            let bytes = serde_yaml::to_string(&rec).unwrap_or_default().into_bytes();
            out.push((path.clone(), Change::Write { bytes, exec: false }));
        }
    }
    Ok(out)
}
