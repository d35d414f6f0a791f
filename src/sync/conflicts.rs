//! A merge stopped on conflicts: the state kept until `ctx resolve` settles every file, and the
//! merge commit made from its clean part and the resolutions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SyncError;
pub use crate::conflict::{ConflictKind, FileConflict};
use crate::error::io;
use crate::merge::{Overruled, Policy};
use crate::repo::{entry_change, Transaction};
use crate::state::StatePaths;
use crate::store::{oid_hex, Entry, ObjectId};
use crate::workspace::Workspace;

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// An interrupted merge, kept in the state dir until every conflict is resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeState {
    /// `main` when the merge was computed.
    #[serde(with = "oid_hex")]
    pub ours: ObjectId,
    /// The remote's commit.
    #[serde(with = "oid_hex")]
    pub theirs: ObjectId,
    /// Who made theirs (from its trailer).
    pub theirs_machine: String,
    /// The clean part of the merge, relative to ours: path -> new entry (`None` deleted).
    pub clean: BTreeMap<String, Option<Entry>>,
    /// What needs a person.
    pub conflicts: Vec<FileConflict>,
    /// Values a policy decided.
    pub overruled: Vec<(String, Overruled)>,
}

impl MergeState {
    /// The recorded merge, whatever `main` is now.
    pub fn load_any(state: &StatePaths) -> Option<MergeState> {
        let bytes = std::fs::read(&state.merge_state).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The open merge, if one is recorded and still applies to `main`.
    pub fn load(state: &StatePaths, head: Option<ObjectId>) -> Option<MergeState> {
        Self::load_any(state).filter(|s| Some(s.ours) == head)
    }

    /// Keeps the state for `ctx resolve`.
    pub fn save(&self, state: &StatePaths) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::fsx::write_atomic(&state.merge_state, &bytes, None)
            .map_err(io(&state.merge_state))?;
        Ok(())
    }

    /// Forgets the state.
    pub fn clear(state: &StatePaths) {
        let _ = std::fs::remove_file(&state.merge_state);
    }

    /// The conflicts not yet resolved.
    pub fn open(&self) -> impl Iterator<Item = &FileConflict> {
        self.conflicts.iter().filter(|c| c.resolution.is_none())
    }
}

/// The open merge of this store, if any.
pub fn open_merge(ws: &Workspace) -> Option<MergeState> {
    MergeState::load(&ws.state, ws.repo.head)
}

/// Commits the merge of `state` (clean part plus resolutions) with both parents. `main` must
/// still be `state.ours`.
pub fn commit_merge(ws: &mut Workspace, state: &MergeState) -> Result<ObjectId> {
    let mut tx = Transaction::new();
    for (p, e) in &state.clean {
        tx.set(p, entry_change(*e));
    }
    for c in &state.conflicts {
        if let Some(r) = c.resolution {
            tx.set(&c.path, entry_change(r));
        }
    }
    let msg = merge_message(ws, state, &tx);
    let id = tx.merging(state.theirs).commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    Ok(id)
}

fn merge_message(ws: &Workspace, state: &MergeState, tx: &Transaction) -> String {
    let machine = ws.machine();
    let files: Vec<String> = tx
        .paths()
        .filter(|p| p.as_str() != crate::layout::INVENTORY)
        .map(|p| crate::summary::short(p).to_string())
        .collect();
    let mut msg = format!("{machine}: sync with {}", state.theirs_machine);
    if !files.is_empty() {
        msg.push_str(&format!(" · {}", files.join(", ")));
    }
    if !state.overruled.is_empty() || state.conflicts.iter().any(|c| c.resolution.is_some()) {
        msg.push_str("\n\n");
        for (file, o) in &state.overruled {
            let field = match o.field.is_empty() {
                true => String::new(),
                false => format!(" {}", o.field),
            };
            msg.push_str(&format!(
                "policy {}: {}{field} kept {}, lost {}\n",
                policy_name(ws.policy()),
                crate::summary::short(file),
                value_text(&o.kept),
                value_text(&o.lost)
            ));
        }
        for c in state.conflicts.iter().filter(|c| c.resolution.is_some()) {
            let short = crate::summary::short(&c.path);
            msg.push_str(&format!("resolved by hand: {short}\n"));
        }
    }
    if !msg.ends_with('\n') {
        msg.push('\n');
    }
    let theirs = &state.theirs_machine;
    msg.push_str(&format!(
        "\nCtx-Machine: {machine}\nCtx-Merge: {machine} + {theirs}\n"
    ));
    msg
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Stop => "stop",
        Policy::Ours => "ours",
        Policy::Theirs => "theirs",
        Policy::Newest { .. } => "newest",
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let t = v.to_string();
            if t.chars().count() > 60 {
                format!("{}…", t.chars().take(59).collect::<String>())
            } else {
                t
            }
        }
    }
}
