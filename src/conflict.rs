//! A file that changed in two places in ways that conflict, as every part of ctx records it:
//! a sync's merge, or a live edit made on top of an older version than the store's (a machine
//! joining with its own files). Open live conflicts are kept in the state dir until `ctx
//! resolve` settles them.

use serde::{Deserialize, Serialize};

use crate::merge::Conflict;
use crate::state::StatePaths;
use crate::store::{oid_hex, Entry, ObjectId};

/// What kind of disagreement a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictKind {
    /// Both changed the same fields or lines differently.
    #[serde(rename = "content")]
    Content,
    /// One side deleted what the other changed.
    #[serde(rename = "delete/modify")]
    DeleteModify,
    /// Both changed a binary file.
    #[serde(rename = "binary")]
    Binary,
}

impl ConflictKind {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content => "content",
            ConflictKind::DeleteModify => "delete/modify",
            ConflictKind::Binary => "binary",
        }
    }
}

/// One file both sides changed in ways that conflict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileConflict {
    /// Store path.
    pub path: String,
    /// What kind.
    pub kind: ConflictKind,
    /// The conflicting fields (values shown as `<secret>` where secret).
    pub fields: Vec<Conflict>,
    /// The three versions.
    pub base: Option<Entry>,
    /// Ours.
    pub ours: Option<Entry>,
    /// Theirs.
    pub theirs: Option<Entry>,
    /// The file with conflict markers, as a blob in the store.
    #[serde(with = "oid_hex::opt")]
    pub marked: Option<ObjectId>,
    /// How it was settled: `Some(None)` deleted, `Some(Some(e))` that content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Option<Entry>>,
}

/// Conflicts between live files and the store, found by a commit.
pub fn live_conflicts(state: &StatePaths) -> Vec<FileConflict> {
    std::fs::read(&state.live_conflicts)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records the open live conflicts (none: the file is removed).
pub fn save_live_conflicts(state: &StatePaths, open: &[FileConflict]) -> std::io::Result<()> {
    if open.is_empty() {
        return match std::fs::remove_file(&state.live_conflicts) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let bytes = serde_json::to_vec_pretty(open).unwrap_or_default();
    crate::fsx::write_atomic(&state.live_conflicts, &bytes, None)
}
