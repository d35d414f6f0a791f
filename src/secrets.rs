//! `ctx secret ls | set | rotate`: the encrypted values of the store, by locator
//! (`FILE:field.path`). A value is never printed, and is read from the person only after every
//! check that could refuse it has passed.

use serde::Serialize;
use serde_json::Value;

use crate::apply::{self, ApplyOutcome, OnDirty, Scope};
use crate::crypt::fields::{open_doc, parse_locator, sealed_locators, set_at};
use crate::crypt::rules::{dotted, Seg};
use crate::error::Error;
use crate::format::{self, FormatError, Kind};
use crate::keyring::sealed_docs;
use crate::repo::Transaction;
use crate::store::{Change, Entry, ObjectId};
use crate::workspace::Workspace;

/// Errors of the secret commands.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not `FILE:field.path`.
    #[error("`{0}` is not a locator")]
    BadLocator(String),
    /// The file is not in the store.
    #[error("{0} is not in the store")]
    NotInStore(String),
    /// Only JSON and YAML files hold fields.
    #[error("{0} is not a JSON or YAML file")]
    NotStructured(String),
    /// The path does not lead to a settable field.
    #[error("{0} does not name a field that can be set")]
    NotSettable(String),
    /// The stored file does not parse.
    #[error(transparent)]
    Stored(#[from] FormatError),
    /// The store and live files.
    #[error(transparent)]
    Workspace(#[from] Error),
}

impl From<crate::store::StoreError> for SecretError {
    fn from(e: crate::store::StoreError) -> Self {
        SecretError::Workspace(e.into())
    }
}

impl From<crate::crypt::CryptError> for SecretError {
    fn from(e: crate::crypt::CryptError) -> Self {
        SecretError::Workspace(e.into())
    }
}

type Result<T, E = SecretError> = std::result::Result<T, E>;

/// One encrypted value.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// `FILE:field.path`
    pub locator: String,
    /// Whether this machine's key opens it.
    pub readable: bool,
}

/// Every encrypted value of the store.
pub fn list(ws: &Workspace) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for (path, doc) in sealed_docs(&ws.repo)? {
        let mut opened = doc.clone();
        let readable = ws
            .keys
            .key()
            .is_some_and(|id| open_doc(&path, &mut opened, id).is_ok());
        for locator in sealed_locators(&path, &doc) {
            out.push(Listed { locator, readable });
        }
    }
    Ok(out)
}

/// A field `secret set` may write, checked before the value is asked for.
#[derive(Debug)]
pub struct Slot {
    locator: String,
    file: String,
    path: Vec<Seg>,
    entry: Entry,
}

/// Checks that `locator` names a field of a stored JSON or YAML file whose live copy holds no
/// uncommitted change.
pub fn slot(ws: &Workspace, locator: &str) -> Result<Slot> {
    let (file, path) =
        parse_locator(locator).ok_or_else(|| SecretError::BadLocator(locator.into()))?;
    let entry = *ws
        .repo
        .files
        .get(&file)
        .ok_or_else(|| SecretError::NotInStore(file.clone()))?;
    if !matches!(Kind::of(&file), Kind::Json | Kind::Yaml) {
        return Err(SecretError::NotStructured(file));
    }
    let head = ws.repo.files.clone();
    let pre = apply::to_target(
        ws,
        &head,
        Scope::Paths(vec![file.clone()]),
        OnDirty::Refuse,
        true,
    )?;
    if !pre.plan.dirty.is_empty() {
        return Err(Error::Dirty {
            files: pre.plan.dirty,
        }
        .into());
    }
    Ok(Slot {
        locator: locator.to_string(),
        file,
        path,
        entry,
    })
}

/// Seals `value` into the slot, commits, and applies the file.
pub fn set(ws: &mut Workspace, slot: &Slot, value: &str) -> Result<(ObjectId, ApplyOutcome)> {
    let file = &slot.file;
    let kind = Kind::of(file);
    let bytes = ws.repo.store.blob(slot.entry.oid)?;
    let text = String::from_utf8_lossy(&bytes).to_string();
    let mut doc: Value = match kind {
        Kind::Json => format::parse_json(file, &text)?,
        _ => format::parse_yaml(file, &text, 0)?,
    };
    let loc = format!("{file}:{}", dotted(&slot.path));
    let sealed = crate::crypt::seal(value, &loc, &ws.keys.recipients)?;
    if !set_at(&mut doc, &slot.path, Value::String(sealed)) {
        return Err(SecretError::NotSettable(slot.locator.clone()));
    }
    let out = format::render_doc(kind, &doc, &text);
    let mut tx = Transaction::new();
    tx.write(file, out, slot.entry.exec);
    let machine = ws.machine().to_string();
    let items = [format!("{} secret set", crate::summary::short(file))];
    let subject = format!("{machine}: set secret {}", slot.locator);
    let msg = crate::summary::message(&machine, &items, Some(&subject));
    let id = tx.commit(&mut ws.repo, &msg)?;
    let applied = apply::to_head(ws, Scope::Paths(vec![file.clone()]), OnDirty::Refuse)?;
    Ok((id, applied))
}

/// Every secret sealed again with fresh ciphertexts; `None` when there is none. Values that
/// cannot be opened are left as they were and returned.
pub fn rotate(ws: &mut Workspace) -> Result<Option<(ObjectId, usize, Vec<String>)>> {
    ws.keys.check(&ws.repo)?;
    let recipients = ws.keys.recipients.clone();
    let sealed = ws.keys.reseal_all(&ws.repo, &recipients)?;
    let (changes, count) = (sealed.changes, sealed.count);
    if changes.is_empty() {
        return Ok(None);
    }
    let items: Vec<String> = changes
        .keys()
        .map(|p| format!("{} secrets re-encrypted", crate::summary::short(p)))
        .collect();
    let machine = ws.machine().to_string();
    let subject = format!("{machine}: rotate {count} secret(s)");
    let msg = crate::summary::message(&machine, &items, Some(&subject));
    let tx = Transaction::with(
        changes
            .into_iter()
            .collect::<std::collections::BTreeMap<String, Change>>(),
    );
    let commit = tx.commit(&mut ws.repo, &msg)?;
    // The live files hold the same plaintexts, so they now match the new blobs: record that.
    apply::to_head(ws, Scope::All, OnDirty::Skip)?;
    Ok(Some((commit, count, sealed.damaged)))
}
