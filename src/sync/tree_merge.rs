//! The path-level three-way merge of two store trees. A file changed on one side takes that
//! side (deletions included); a file changed on both goes through the semantic merge engine
//! in-process, with this machine's key to compare secrets by plaintext.

use std::collections::BTreeMap;

use serde_json::Value;

use super::conflicts::{ConflictKind, FileConflict};
use crate::error::Result;
use crate::merge::{Conflict, Overruled, Policy};
use crate::repo::entry_change;
use crate::store::{Entry, ObjectId};
use crate::workspace::Workspace;

/// The result of merging two trees.
pub struct TreeMerge {
    /// The clean part, relative to ours: path -> new entry (`None` deleted).
    pub clean: BTreeMap<String, Option<Entry>>,
    /// What needs a person.
    pub conflicts: Vec<FileConflict>,
    /// Values a policy decided: (file, what).
    pub overruled: Vec<(String, Overruled)>,
}

/// The tree to merge against. One best common ancestor: its tree. Several (a criss-cross,
/// where each side merged the other's work on its own): as git's recursive strategy, their
/// merge, with any conflict left in it as marked content, so that what both sides already
/// agreed on (a deletion, say) is not taken for a change, and a disagreement there stays a
/// conflict.
pub fn virtual_base(ws: &Workspace, bases: &[ObjectId], depth: usize) -> Result<Option<ObjectId>> {
    let store = &ws.repo.store;
    let Some((first, rest)) = bases.split_first() else {
        return Ok(None);
    };
    let mut acc_tree = store.tree_of(*first)?;
    let mut acc_commit = *first;
    for &b in rest {
        let sub = store.history().merge_bases(acc_commit, b)?;
        let sub_tree = if depth < 3 {
            virtual_base(ws, &sub, depth + 1)?
        } else {
            sub.first().map(|c| store.tree_of(*c)).transpose()?
        };
        let m = merge_trees(ws, sub_tree, acc_tree, store.tree_of(b)?, Policy::Stop)?;
        let mut changes = BTreeMap::new();
        for (p, e) in m.clean {
            changes.insert(p, entry_change(e));
        }
        for c in m.conflicts {
            let exec = c.ours.or(c.theirs).is_some_and(|e| e.exec);
            let e = match c.marked {
                Some(oid) => Some(Entry { oid, exec }),
                None => c.ours.or(c.theirs),
            };
            changes.insert(c.path, entry_change(e));
        }
        acc_tree = store.write_tree(Some(acc_tree), &changes)?;
        acc_commit = b;
    }
    Ok(Some(acc_tree))
}

/// Merges `theirs_tree` into `ours_tree` against `base_tree`.
pub fn merge_trees(
    ws: &Workspace,
    base_tree: Option<ObjectId>,
    ours_tree: ObjectId,
    theirs_tree: ObjectId,
    policy: Policy,
) -> Result<TreeMerge> {
    let store = &ws.repo.store;
    let ours_d = store.diff_trees(base_tree, Some(ours_tree))?;
    let theirs_d = store.diff_trees(base_tree, Some(theirs_tree))?;
    let mut out = TreeMerge {
        clean: BTreeMap::new(),
        conflicts: Vec::new(),
        overruled: Vec::new(),
    };
    // Only paths theirs changed matter: what only ours changed is already in ours.
    for (path, (base_e, their_e)) in &theirs_d {
        let (be, te) = (base_e.as_ref(), their_e.as_ref());
        let oe = match ours_d.get(path) {
            None => {
                out.clean.insert(path.clone(), te.copied());
                continue;
            }
            Some((_, o)) => o.as_ref(),
        };
        // The store's README is an inventory made from the other files: rebuilt after.
        if oe == te || path == crate::layout::INVENTORY {
            continue;
        }
        match (oe, te) {
            (Some(oe), Some(te)) => both_changed(ws, path, be, oe, te, policy, &mut out)?,
            (oe, te) => delete_modify(path, be, oe, te, policy, &mut out),
        }
    }
    Ok(out)
}

/// A file both sides changed: the merge engine decides.
fn both_changed(
    ws: &Workspace,
    path: &str,
    be: Option<&Entry>,
    oe: &Entry,
    te: &Entry,
    policy: Policy,
    out: &mut TreeMerge,
) -> Result<()> {
    let store = &ws.repo.store;
    let base_bytes = be.map(|e| store.blob(e.oid)).transpose()?;
    let ob = store.blob(oe.oid)?;
    let tb = store.blob(te.oid)?;
    let exec = match be {
        Some(be) if be.exec != oe.exec => oe.exec,
        Some(_) => te.exec,
        None => oe.exec || te.exec,
    };
    let m = ws.merge_file(path, base_bytes.as_deref(), &ob, &tb, policy);
    let rules = &ws.keys.rules;
    for ov in m.overruled {
        let shown = Overruled {
            kept: crate::redact::value(rules, path, &ov.field, ov.kept),
            lost: crate::redact::value(rules, path, &ov.field, ov.lost),
            field: ov.field,
        };
        out.overruled.push((path.to_string(), shown));
    }
    if m.conflicts.is_empty() {
        let entry = Entry {
            oid: store.write_blob(&m.content)?,
            exec,
        };
        if entry != *oe {
            out.clean.insert(path.to_string(), Some(entry));
        }
        return Ok(());
    }
    let binary = std::str::from_utf8(&ob).is_err() || std::str::from_utf8(&tb).is_err();
    let marked = (!binary)
        .then(|| store.write_blob(&m.content))
        .transpose()?;
    let fields = m
        .conflicts
        .into_iter()
        .map(|c| Conflict {
            base: crate::redact::value(rules, path, &c.field, c.base),
            ours: crate::redact::value(rules, path, &c.field, c.ours),
            theirs: crate::redact::value(rules, path, &c.field, c.theirs),
            file: c.file,
            field: c.field,
        })
        .collect();
    out.conflicts.push(FileConflict {
        path: path.to_string(),
        kind: if binary {
            ConflictKind::Binary
        } else {
            ConflictKind::Content
        },
        fields,
        base: be.copied(),
        ours: Some(*oe),
        theirs: Some(*te),
        marked,
        resolution: None,
    });
    Ok(())
}

/// One side deleted what the other changed: never a silent loss; a policy other than `stop`
/// decides and says so.
fn delete_modify(
    path: &str,
    be: Option<&Entry>,
    oe: Option<&Entry>,
    te: Option<&Entry>,
    policy: Policy,
    out: &mut TreeMerge,
) {
    let keep_ours = match policy {
        Policy::Stop => None,
        Policy::Ours => Some(true),
        Policy::Theirs => Some(false),
        Policy::Newest {
            ours_time,
            theirs_time,
        } => Some(ours_time >= theirs_time),
    };
    let describe = |e: Option<&Entry>| {
        Some(Value::String(
            if e.is_some() { "changed" } else { "deleted" }.into(),
        ))
    };
    let Some(keep) = keep_ours else {
        out.conflicts.push(FileConflict {
            path: path.to_string(),
            kind: ConflictKind::DeleteModify,
            fields: vec![Conflict {
                file: path.to_string(),
                field: String::new(),
                base: Some(Value::String("present".into())),
                ours: describe(oe),
                theirs: describe(te),
            }],
            base: be.copied(),
            ours: oe.copied(),
            theirs: te.copied(),
            marked: None,
            resolution: None,
        });
        return;
    };
    let (kept, lost) = if keep { (oe, te) } else { (te, oe) };
    if !keep {
        out.clean.insert(path.to_string(), te.copied());
    }
    out.overruled.push((
        path.to_string(),
        Overruled {
            field: String::new(),
            kept: describe(kept),
            lost: describe(lost),
        },
    ));
}
