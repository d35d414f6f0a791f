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
    /// Loads the record (`<oid> <path>` lines); a missing file is empty. A sync reads it several
    /// times: the parse is kept for the process while the file stays the same one.
    pub fn load(path: &Path) -> Applied {
        let key = FileKey::of(path);
        if let Some(hit) = memo().lock().ok().and_then(|m| m.get(path, key)) {
            return hit;
        }
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
        let applied = Applied {
            files: pairs.into_iter().collect(),
        };
        remember(path, key, &applied);
        applied
    }

    /// Saves the record atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::fsx::write_atomic(path, &self.text(String::new()).into_bytes(), None)?;
        remember(path, FileKey::of(path), self);
        Ok(())
    }

    /// The record as text after `head`: one `<oid> <path>` line per file.
    fn text(&self, head: String) -> String {
        let mut text = head;
        text.reserve(self.files.len() * 100);
        let mut hex = [0u8; 40];
        for (p, oid) in &self.files {
            text.push_str(oid.hex_to_buf(&mut hex));
            text.push(' ');
            text.push_str(p);
            text.push('\n');
        }
        text
    }
}

/// Which file a path held when it was read: a rewrite (always a rename of a new file) changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey(Option<super::cache::Stat>);

impl FileKey {
    fn of(path: &Path) -> FileKey {
        FileKey(
            std::fs::metadata(path)
                .ok()
                .and_then(|m| super::cache::stat_of(&m)),
        )
    }
}

/// The last record read or written by this process, with the file it came from.
#[derive(Default)]
struct Memo(Option<(std::path::PathBuf, FileKey, Applied)>);

impl Memo {
    fn get(&self, path: &Path, key: FileKey) -> Option<Applied> {
        let (p, k, a) = self.0.as_ref()?;
        (p == path && *k == key && key.0.is_some()).then(|| a.clone())
    }
}

fn memo() -> &'static std::sync::Mutex<Memo> {
    static MEMO: std::sync::OnceLock<std::sync::Mutex<Memo>> = std::sync::OnceLock::new();
    MEMO.get_or_init(Default::default)
}

fn remember(path: &Path, key: FileKey, applied: &Applied) {
    if let Ok(mut m) = memo().lock() {
        m.0 = Some((path.to_path_buf(), key, applied.clone()));
    }
}

/// Records that the record at `applied`, as it is now, is what a commit with every live file
/// equal to `head`'s leaves it: a later such no-op commit need not read it to know.
pub fn mark_clean(mark: &Path, applied: &Path, head: Option<ObjectId>) {
    let Some(text) = clean_text(applied, head) else {
        return;
    };
    // Only a shortcut: without it the next no-op commit reads the record.
    let _ = crate::fsx::write_atomic(mark, text.as_bytes(), None);
}

/// Whether [`mark_clean`] marked the record, unchanged since, for `head`.
pub fn is_clean(mark: &Path, applied: &Path, head: Option<ObjectId>) -> bool {
    let Some(want) = clean_text(applied, head) else {
        return false;
    };
    std::fs::read_to_string(mark).is_ok_and(|t| t == want)
}

/// The mark for the record at `applied` as it is now, after `head`.
fn clean_text(applied: &Path, head: Option<ObjectId>) -> Option<String> {
    let (Some(head), FileKey(Some(key))) = (head, FileKey::of(applied)) else {
        return None;
    };
    Some(format!("{head} {} {} {} {}\n", key.0, key.1, key.2, key.3))
}

/// Writes the record a commit will make true, before the ref moves (see [`Applied::recover`]).
pub fn write_journal(journal: &Path, commit: ObjectId, applied: &Applied) -> std::io::Result<()> {
    let text = applied.text(format!("{commit}\n"));
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
