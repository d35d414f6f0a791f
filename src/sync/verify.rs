//! Every commit fetched from the remote is checked before anything of it is merged: signed by a
//! machine this machine trusts, or a join request (a new machine's first commit, touching only
//! its own record), or refused with nothing applied and nothing pushed.

use std::collections::HashSet;

use serde::Serialize;

use crate::model::{MachineRecord, Manifest};
use crate::signing::{check_commit, Signature};
use crate::store::{trailer, ObjectId, Store};
use crate::trust::{Pending, Trust};

use super::SyncError;

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// A fetched commit that is not merged, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    /// The commit.
    pub commit: String,
    /// The machine its `Ctx-Machine:` trailer names (anyone can write that).
    pub claims: Option<String>,
    /// Why.
    pub reason: String,
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Commits refused.
    pub refused: Vec<Refused>,
    /// Machines whose join request arrived (their record only, signed by their own new key).
    pub join_requests: Vec<String>,
}

/// Checks the commits `theirs` brings that `ours` lacks, oldest first, updating `trust` with
/// the approvals and revocations of trusted commits and the keys seen in untrusted ones.
pub fn check(
    store: &Store,
    trust: &mut Trust,
    ours: Option<ObjectId>,
    theirs: ObjectId,
    accept_unsigned: bool,
) -> Result<Checked> {
    let history = store.history();
    let mut known: HashSet<ObjectId> = HashSet::new();
    if let Some(o) = ours {
        // Behind or even: nothing fetched is new (the common case of a sync that only pushes).
        if history.is_ancestor(theirs, o)? {
            return Ok(Checked::default());
        }
        known.extend(history.ancestors(o)?);
    }
    for a in trust.accepted().to_vec() {
        if let Ok(id) = ObjectId::from_hex(a.as_bytes()) {
            if store.raw_commit(id).is_ok() {
                known.extend(history.ancestors(id)?);
            }
        }
    }
    let mut out = Checked::default();
    for id in new_commits(store, &known, theirs)? {
        let raw = store.raw_commit(id)?;
        let parents = history.parents(id)?;
        // The message is in the raw object already read: no second lookup.
        let message = raw
            .windows(2)
            .position(|w| w == b"\n\n")
            .map(|i| String::from_utf8_lossy(&raw[i + 2..]).to_string())
            .unwrap_or_default();
        let claims = trailer(&message, "Ctx-Machine");
        let refuse = |reason: String| Refused {
            commit: id.to_string(),
            claims: claims.clone(),
            reason,
        };
        let parent_tree = parents.first().map(|p| store.tree_of(*p)).transpose()?;
        let bad = store.bad_entries(parent_tree, Some(store.tree_of(id)?))?;
        if let Some(first) = bad.first() {
            out.refused.push(refuse(format!("its tree holds {first}")));
            continue;
        }
        let verdict = match check_commit(&raw) {
            Signature::Unsigned if accept_unsigned => Ok(()),
            Signature::Unsigned => Err(refuse("it is not signed".into())),
            Signature::Invalid(why) => Err(refuse(why)),
            Signature::By(key) => match trust.machine_of(&key).map(str::to_string) {
                Some(_) => follow_signers(store, trust, id, parents.first().copied()),
                None => join_request(store, trust, id, &parents, &key, claims.as_deref())?
                    .map(|name| out.join_requests.push(name))
                    .ok_or_else(|| refuse(unknown_key(&key))),
            },
        };
        if let Err(r) = verdict {
            out.refused.push(r);
        }
    }
    if accept_unsigned && out.refused.is_empty() {
        trust.accept(&theirs.to_string());
    }
    Ok(out)
}

fn unknown_key(key: &str) -> String {
    let fp = crate::signing::fingerprint_of(key).unwrap_or_else(|_| "an unreadable key".into());
    format!("signed by {fp}, a key this machine does not trust")
}

/// The commits reachable from `tip` and not in `known`, parents before children.
fn new_commits(store: &Store, known: &HashSet<ObjectId>, tip: ObjectId) -> Result<Vec<ObjectId>> {
    let history = store.history();
    let mut order = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    // Iterative post-order: a commit is emitted once all its new parents are.
    let mut stack = vec![(tip, false)];
    while let Some((id, expanded)) = stack.pop() {
        if known.contains(&id) {
            continue;
        }
        if expanded {
            order.push(id);
            continue;
        }
        if !seen.insert(id) {
            continue;
        }
        stack.push((id, true));
        for p in history.parents(id)? {
            if !known.contains(&p) && !seen.contains(&p) {
                stack.push((p, false));
            }
        }
    }
    Ok(order)
}

fn manifest_at(store: &Store, commit: Option<ObjectId>) -> Manifest {
    commit
        .and_then(|c| store.read(Some(c), crate::layout::MANIFEST).ok().flatten())
        .and_then(|b| crate::model::parse_yaml::<Manifest>(crate::layout::MANIFEST, &b).ok())
        .unwrap_or_default()
}

/// A trusted commit's changes to ctx.yaml's `signers` become this machine's trust.
fn follow_signers(
    store: &Store,
    trust: &mut Trust,
    id: ObjectId,
    parent: Option<ObjectId>,
) -> std::result::Result<(), Refused> {
    let before = manifest_at(store, parent).signers;
    let after = manifest_at(store, Some(id)).signers;
    for (name, key) in &after {
        if before.get(name) != Some(key) {
            trust.pin(name, key);
        }
    }
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        trust.unpin(name);
    }
    Ok(())
}

/// Whether an untrusted commit is a join request: one parent, changing nothing but
/// `machines/<name>.yaml` (and the generated README.md), whose record carries the key that
/// signed it, for a name no trusted machine holds. Returns that name, noting the key as
/// pending; any other commit by the key is noted under the name it claims.
fn join_request(
    store: &Store,
    trust: &mut Trust,
    id: ObjectId,
    parents: &[ObjectId],
    key: &str,
    claims: Option<&str>,
) -> Result<Option<String>> {
    let fingerprint = crate::signing::fingerprint_of(key).unwrap_or_default();
    let pending = |record: Option<String>| Pending {
        signing_key: key.to_string(),
        fingerprint: fingerprint.clone(),
        commit: id.to_string(),
        record,
    };
    let changed = changed_paths(store, parents.first().copied(), id)?;
    let records: Vec<&String> = changed
        .iter()
        .filter(|p| p.starts_with("machines/") && p.ends_with(".yaml"))
        .collect();
    let only_record = parents.len() == 1
        && records.len() == 1
        && changed
            .iter()
            .all(|p| p == records[0] || p == crate::layout::INVENTORY);
    if only_record {
        let path = records[0].clone();
        let name = path["machines/".len()..path.len() - ".yaml".len()].to_string();
        let text = store.read(Some(id), &path)?;
        let record = text
            .as_deref()
            .and_then(|b| crate::model::parse_yaml::<MachineRecord>(&path, b).ok());
        let carries_key = record
            .as_ref()
            .and_then(|r| r.signing_key.as_deref())
            .is_some_and(|k| crate::signing::same_key(k, key));
        if carries_key && trust.key_of(&name).is_none() {
            let text = text.map(|b| String::from_utf8_lossy(&b).to_string());
            trust.note_pending(&name, pending(text));
            return Ok(Some(name));
        }
    }
    if let Some(name) = claims.filter(|n| trust.key_of(n).is_none()) {
        trust.note_pending(name, pending(None));
    }
    Ok(None)
}

/// The paths a commit changes against `parent` (all of its files when it has none). Read as a
/// tree diff: only changed subtrees are read, and the head's tree cache is left alone.
fn changed_paths(store: &Store, parent: Option<ObjectId>, id: ObjectId) -> Result<Vec<String>> {
    let before = parent.map(|p| store.tree_of(p)).transpose()?;
    let diff = store.diff_trees(before, Some(store.tree_of(id)?))?;
    Ok(diff.into_keys().collect())
}
