//! Changes held by the review gate, waiting for `ctx review` (see `crate::review`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One held change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldChange {
    /// Store path.
    pub path: String,
    /// What changed that runs code or widens permissions (`hooks`, `mcpServers.github.command`).
    pub fields: Vec<String>,
    /// The store blob held back.
    pub blob: String,
    /// The commit that last changed the file, and the machine it names.
    pub commit: String,
    /// The machine the commit names.
    pub machine: Option<String>,
    /// Rejected here: this machine keeps its version, and the same change is not asked again.
    #[serde(default)]
    pub rejected: bool,
}

/// The held changes of this machine (`held.json` in its state).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Held {
    /// By store path.
    pub files: BTreeMap<String, HeldChange>,
}

impl Held {
    /// Reads the held list (empty when there is none, or it is unreadable: it is rebuilt by the
    /// next sync, which holds again what still differs).
    pub fn load(path: &Path) -> Held {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes it back (removed when empty).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if self.files.is_empty() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::fsx::write_atomic(path, &bytes, None)
    }

    /// Whether `path` is held (pending or rejected): apply leaves its live file alone.
    pub fn holds(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The changes waiting for a decision.
    pub fn pending(&self) -> impl Iterator<Item = &HeldChange> {
        self.files.values().filter(|h| !h.rejected)
    }
}
