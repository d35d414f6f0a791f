//! What this machine knows of each session transcript: how far each live file was chunked (so a
//! capture reads only what was appended), which chunks its live copy holds, and the headers of
//! chunks already opened (chunks never change, so a header is read once).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One live file of a session, as far as ctx has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// Bytes of the file in the store already (complete lines, for a transcript).
    pub offset: u64,
    /// The file's inode when it was read: another inode means another file.
    pub ino: u64,
    /// mtime in ns, for files stored whole (a changed one is stored again).
    pub mtime: i128,
}

/// One session on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The project's id (`projects/<id>.yaml`).
    pub project: String,
    /// The live folder (`~/.claude/projects/<enc>`).
    pub folder: String,
    /// Files of the session, relative to the folder (`<id>.jsonl`, `<id>/subagents/…`).
    pub files: BTreeMap<String, Tracked>,
    /// Store paths of the chunks the live copy holds.
    pub chunks: BTreeSet<String>,
    /// The session's slugs seen in its transcript: its plan files are named after them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub slugs: BTreeSet<String>,
}

/// The sessions state, `sessions.json` in the state dir (mode 0600: headers hold prompts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    /// Session id -> what this machine has of it.
    #[serde(default)]
    pub sessions: BTreeMap<String, Known>,
    /// Chunk blob id -> its header (JSON), a cache.
    #[serde(default)]
    pub headers: BTreeMap<String, serde_json::Value>,
}

impl SessionState {
    /// Loads the state; missing or damaged is empty (then a capture re-reads the files, and
    /// the union drops lines the store has already).
    pub fn load(path: &Path) -> SessionState {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves the state atomically, private.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::fsx::write_atomic(path, &bytes, Some(0o600))
    }
}
