//! `ctx secret ls | set | rm | rotate`: the encrypted values of the store, by locator
//! (`FILE:field.path`), with why each is sealed. A value is never printed, and is read from the
//! person only after every check that could refuse it has passed. `set` adds a rule to ctx.yaml
//! so that the field stays sealed through later edits; `rm` takes it away.

use serde::Serialize;
use serde_json::Value;

use crate::apply::{self, ApplyOutcome, OnDirty, Scope};
use crate::crypt::fields::{get_at, locator, open_doc_lenient, parse_locator, set_at, Sealer};
use crate::crypt::rules::{dotted, parse_path, Rules, Seg};
use crate::error::Error;
use crate::format::{self, FormatError, Kind};
use crate::keyring::{sealed_docs, sealed_values};
use crate::model::{NotSecret, SecretRule};
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
    /// Neither sealed nor under a rule of ctx.yaml.
    #[error("{0} is not sealed and no rule of ctx.yaml names it")]
    NotSealed(String),
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
    /// Why it is sealed: a rule, its shape, its name, or its randomness where secrets sit.
    pub why: String,
}

/// Every encrypted value of the store, and what ctx.yaml marks as not secret.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// The sealed values.
    pub sealed: Vec<Listed>,
    /// ctx.yaml's `not_secret:` entries.
    pub not_secret: Vec<NotSecret>,
}

/// The element before `path` when it is in a list.
fn prev_sibling<'v>(doc: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let (Seg::Index(i), parent) = path.split_last()? else {
        return None;
    };
    get_at(doc, parent)?.as_array()?.get(i.checked_sub(1)?)
}

/// Every encrypted value of the store, with why it is sealed.
pub fn list(ws: &Workspace) -> Result<Listing> {
    let key = ws.keys.key();
    let sealer = Sealer {
        rules: &ws.keys.rules,
        recipients: &ws.keys.recipients,
        identity: key,
    };
    let mut sealed = Vec::new();
    for (file, doc) in sealed_docs(&ws.repo)? {
        let mut opened = doc.clone();
        open_doc_lenient(&file, &mut opened, key, None);
        for (path, ct) in sealed_values(&doc) {
            let plain = key.and_then(|id| crate::crypt::open_at(&ct, &file, &path, id).ok());
            let why = match &plain {
                Some(o) => sealer
                    .classify(&file, &path, &o.value, prev_sibling(&opened, &path))
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| {
                        "kept: sealed before (an edit of a secret stays sealed)".into()
                    }),
                None => ws
                    .keys
                    .rules
                    .rule(&file, &path)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "sealed by another machine; this one cannot read it".into()),
            };
            sealed.push(Listed {
                locator: locator(&file, &path),
                readable: plain.is_some(),
                why,
            });
        }
    }
    Ok(Listing {
        sealed,
        not_secret: ws.repo.manifest.not_secret.clone(),
    })
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
    let plain = Value::String(value.to_string());
    let sealed = crate::crypt::seal_at(&plain, file, &slot.path, &ws.keys.recipients)?;
    if !set_at(&mut doc, &slot.path, Value::String(sealed)) {
        return Err(SecretError::NotSettable(slot.locator.clone()));
    }
    let out = format::render_doc(kind, &doc, &text);
    let mut tx = Transaction::new();
    tx.write(file, out, slot.entry.exec);
    // A rule keeps the field sealed when it is next edited by hand, whatever the value looks like.
    if !ws.keys.rules.is_secret_field(file, &slot.path) {
        let mut manifest = ws.repo.manifest.clone();
        manifest.secrets.push(SecretRule {
            file: file.clone(),
            field: dotted(&slot.path),
        });
        tx.write(
            crate::layout::MANIFEST,
            crate::setup::render_manifest(&manifest).into_bytes(),
            false,
        );
    }
    let machine = ws.machine().to_string();
    let items = [format!("{} secret set", crate::summary::short(file))];
    let subject = format!("{machine}: set secret {}", slot.locator);
    let msg = crate::summary::message(&machine, &items, Some(&subject));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    let applied = apply::to_head(ws, Scope::Paths(vec![file.clone()]), OnDirty::Refuse)?;
    Ok((id, applied))
}

/// What `secret rm` did.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The commit, if anything changed.
    pub commit: Option<String>,
    /// Whether a rule of ctx.yaml was removed.
    pub rule_removed: bool,
    /// Why the value stays sealed anyway (it still looks like a secret), if it does.
    pub still_sealed: Option<String>,
}

/// Removes the rule `secret set` added for `locator` and stores the value in plain text,
/// unless it still looks like a secret (then it stays sealed, and the reason is returned).
pub fn remove(ws: &mut Workspace, locator: &str) -> Result<Removed> {
    let (file, path) =
        parse_locator(locator).ok_or_else(|| SecretError::BadLocator(locator.into()))?;
    let entry = *ws
        .repo
        .files
        .get(&file)
        .ok_or_else(|| SecretError::NotInStore(file.clone()))?;
    let mut manifest = ws.repo.manifest.clone();
    let before = manifest.secrets.len();
    manifest
        .secrets
        .retain(|r| !(r.file == file && parse_path(&r.field).as_deref() == Some(&path[..])));
    let rule_removed = before != manifest.secrets.len();
    let kind = Kind::of(&file);
    let text = String::from_utf8_lossy(&ws.repo.store.blob(entry.oid)?).to_string();
    let mut doc =
        format::parse_doc(kind, &text).ok_or_else(|| SecretError::NotStructured(file.clone()))?;
    let ct = get_at(&doc, &path)
        .and_then(Value::as_str)
        .filter(|s| crate::crypt::is_encrypted(s))
        .map(String::from);
    let mut tx = Transaction::new();
    let mut still_sealed = None;
    match ct {
        None if !rule_removed => return Err(SecretError::NotSealed(locator.into())),
        None => {}
        Some(ct) => {
            let id = ws.keys.identity()?;
            let opened = crate::crypt::open_at(&ct, &file, &path, id)?;
            let rules = Rules::new(&manifest.secrets).with_not_secret(&manifest.not_secret);
            let sealer = Sealer {
                rules: &rules,
                recipients: &ws.keys.recipients,
                identity: Some(id),
            };
            let mut plain = doc.clone();
            open_doc_lenient(&file, &mut plain, Some(id), None);
            match sealer.classify(&file, &path, &opened.value, prev_sibling(&plain, &path)) {
                Some(why) => still_sealed = Some(why.to_string()),
                None => {
                    set_at(&mut doc, &path, opened.value);
                    tx.write(&file, format::render_doc(kind, &doc, &text), entry.exec);
                }
            }
        }
    }
    if rule_removed {
        let bytes = crate::setup::render_manifest(&manifest).into_bytes();
        tx.write(crate::layout::MANIFEST, bytes, false);
    }
    if tx.is_empty() {
        return Ok(Removed {
            commit: None,
            rule_removed,
            still_sealed,
        });
    }
    let machine = ws.machine().to_string();
    let subject = format!("{machine}: {locator} is not a secret");
    let items = [format!("{} secret removed", crate::summary::short(&file))];
    let msg = crate::summary::message(&machine, &items, Some(&subject));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    apply::to_head(ws, Scope::Paths(vec![file.clone()]), OnDirty::Skip)?;
    Ok(Removed {
        commit: Some(id.to_string()),
        rule_removed,
        still_sealed,
    })
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
