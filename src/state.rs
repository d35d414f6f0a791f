//! This machine's private bookkeeping, kept beside the store's git data (never committed):
//! which blob each live file matched when ctx last wrote or read it, and a stat cache.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What ctx last applied or captured, per store path: the blob id the live file corresponded to.
/// A live file that no longer matches its entry holds changes not yet committed.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Applied {
    /// Store path -> blob id (hex).
    pub files: BTreeMap<String, String>,
}

/// A live file's stat data and what it captured to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CacheEntry {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds.
    pub mtime: i128,
    /// Change time, nanoseconds (catches a chmod).
    pub ctime: i128,
    /// Inode (catches a replace by rename).
    pub ino: u64,
    /// The stored blob it was compared with; a different stored blob invalidates the entry.
    pub stored: Option<String>,
    /// The blob it captured to (`None`: it contributed no store file).
    pub captured: Option<String>,
    /// Executable bit.
    pub exec: bool,
}

/// The stat cache: lets `status` and a no-op `commit` skip reading unchanged files.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StatCache {
    /// Everything the capture of a file depends on beside the file (rules, keys, home, version).
    pub salt: String,
    /// Store path -> entry.
    pub entries: HashMap<String, CacheEntry>,
}

/// Loads a JSON state file; a missing or damaged one is empty (it is only a cache or is rebuilt).
pub fn load<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> T {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Saves a state file atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    crate::fsx::write_atomic(path, &bytes, None)
}

/// Stat data of a file, for the cache.
pub fn stat(path: &Path) -> Option<(u64, i128, i128, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((
            m.len(),
            m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
            m.ino(),
        ))
    }
    #[cfg(not(unix))]
    {
        let mtime = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos() as i128;
        Some((m.len(), mtime, mtime, 0))
    }
}

/// Paths of the state files inside `state_dir`.
pub struct StatePaths {
    /// `applied.json`
    pub applied: PathBuf,
    /// `stat-cache.json`
    pub cache: PathBuf,
}

impl StatePaths {
    /// The files under `dir`.
    pub fn new(dir: &Path) -> StatePaths {
        StatePaths {
            applied: dir.join("applied.json"),
            cache: dir.join("stat-cache.json"),
        }
    }
}
