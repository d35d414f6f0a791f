//! This machine's private bookkeeping, kept in the store's git dir under `ctx/` and never
//! committed. The one module that names every state file.

mod applied;
mod cache;
mod dir_cache;
mod held;
mod sessions;

use std::path::{Path, PathBuf};

pub use applied::{is_clean, mark_clean, write_journal, Applied};
pub use cache::{linked, stat, stat_of, CacheEntry, FastHash, Stat, StatCache};
pub use dir_cache::{DirCache, Listing};
pub use held::{Held, HeldChange};
pub use sessions::{Known, SessionState, Tracked};

/// Paths of the state files inside the state dir.
#[derive(Debug, Clone)]
pub struct StatePaths {
    /// The folder itself (also where the store lock lives).
    pub dir: PathBuf,
    /// `applied`: what each live file matched when ctx last wrote or read it.
    pub applied: PathBuf,
    /// `applied.clean`: the head for which the applied record, as it is, is already what a
    /// no-op commit would leave it.
    pub applied_clean: PathBuf,
    /// `commit-journal`: the applied record a commit in flight will make true.
    pub journal: PathBuf,
    /// `stat-cache.json`
    pub cache: PathBuf,
    /// `dir-cache`
    pub dirs: PathBuf,
    /// `merge-state.json`: a sync stopped on conflicts.
    pub merge_state: PathBuf,
    /// `live-conflicts.json`: live edits a commit found in conflict with the store.
    pub live_conflicts: PathBuf,
    /// `held.json`: changes the review gate holds.
    pub held: PathBuf,
    /// `deferred-projects`: worktrees a git hook could not record (the store was busy), for the
    /// next command to record.
    pub deferred: PathBuf,
    /// `sessions.json`: how far each session transcript was chunked, what the live copies hold.
    pub sessions: PathBuf,
}

impl StatePaths {
    /// The files under `dir`.
    pub fn new(dir: &Path) -> StatePaths {
        StatePaths {
            dir: dir.to_path_buf(),
            applied: dir.join("applied"),
            applied_clean: dir.join("applied.clean"),
            journal: dir.join("commit-journal"),
            cache: dir.join("stat-cache.json"),
            dirs: dir.join("dir-cache"),
            merge_state: dir.join("merge-state.json"),
            live_conflicts: dir.join("live-conflicts.json"),
            deferred: dir.join("deferred-projects"),
            held: dir.join("held.json"),
            sessions: dir.join("sessions.json"),
        }
    }

    /// A scratch file for `ctx resolve`'s editor.
    pub fn resolve_scratch(&self, name: &str) -> PathBuf {
        self.dir.join(format!("resolve-{name}"))
    }

    /// What ctx last applied or captured here.
    pub fn applied(&self) -> Applied {
        Applied::load(&self.applied)
    }

    /// Finishes or drops a commit journal left by a killed process.
    pub fn recover_journal(&self, head: Option<gix::ObjectId>) {
        Applied::recover(&self.journal, &self.applied, head);
    }
}
