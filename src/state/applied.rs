//! The applied record: which blob each live file matched when ctx last wrote or read it, and
//! the journal that keeps it consistent with `main` across a kill.

use std::collections::BTreeMap;
use std::path::Path;

use gix::ObjectId;

/// What ctx last applied or captured, per store path: the blob the live file corresponded to.
/// A live file that no longer matches its entry holds changes not yet committed. Sync uses it
/// too: only what this machine had and no longer has counts as deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Store path -> blob id.
    pub files: BTreeMap<String, ObjectId>,
}

impl Applied {
    /// Loads the record (`<oid> <path>` lines); a missing file is empty.
    pub fn load(path: &Path) -> Applied {
        let mut pairs = Vec::new();
        if let Ok(text) = std::fs::read_to_string(path) {
            for line in text.lines() {
                if let Some((oid, p)) = line.split_once(' ') {
                    if let Ok(oid) = ObjectId::from_hex(oid.as_bytes()) {
                        pairs.push((p.to_string(), oid));
                    }
                }
            }
        }
        // Saved in path order: the map is built in bulk.
        Applied {
            files: pairs.into_iter().collect(),
        }
    }

    /// Saves the record atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = String::with_capacity(self.files.len() * 100);
        for (p, oid) in &self.files {
            text.push_str(&format!("{oid} {p}\n"));
        }
        crate::fsx::write_atomic(path, text.as_bytes(), None)
    }
}

/// Writes the record a commit will make true, before the ref moves (see [`Applied::recover`]).
pub fn write_journal(journal: &Path, commit: ObjectId, applied: &Applied) -> std::io::Result<()> {
    let mut text = format!("{commit}\n");
    for (p, oid) in &applied.files {
        text.push_str(&format!("{oid} {p}\n"));
    }
    crate::fsx::write_atomic(journal, text.as_bytes(), None)
}

impl Applied {
    /// Finishes a commit a killed process left half-recorded: a journal naming `head` holds
    /// the record to keep; any other journal is dropped.
    pub fn recover(journal: &Path, applied: &Path, head: Option<ObjectId>) {
        let Ok(text) = std::fs::read_to_string(journal) else {
            return;
        };
        let mut lines = text.splitn(2, '\n');
        let id = lines
            .next()
            .and_then(|l| ObjectId::from_hex(l.trim().as_bytes()).ok());
        if id.is_some() && id == head {
            let rest = lines.next().unwrap_or_default();
            let _ = crate::fsx::write_atomic(applied, rest.as_bytes(), None);
        }
        let _ = std::fs::remove_file(journal);
    }
}
