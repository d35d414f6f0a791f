//! What changed since a token, as `ctx watch` saw it: git's fsmonitor for ctx. While a watch
//! runs, `status` and `commit` ask it which paths under the Claude home had events since the
//! caches were written, and skip the stat of every file and folder it names no event for.
//!
//! Correctness rests on three rules. The watch answers only after it has seen the event of a
//! cookie file it created on the client's request: every change made before the request has
//! been recorded by then (one inotify queue delivers events in order). A token is only ever
//! written into the caches by a scan that asked for it before it looked at anything, so
//! whatever changed after the scan's looks is named in the next answer. And the walk trusts
//! nothing reached through a symlink (the watch does not see events behind one), nothing
//! outside the watched Claude home, and nothing the caches lack: those are read as before.

mod client;
mod log;
mod server;

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};

pub use client::{query, Answer};
pub use log::{ChangeLog, Token};
pub use server::Server;

/// The socket a watch answers on, in the state folder.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("watch.sock")
}

/// The folder the watch creates its cookie files in.
fn cookie_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("watch-cookies")
}

/// The first line of a request: protocol and version.
const HELLO: &str = "ctx-fsmonitor 1";

/// How far a folder of a walk can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No event at, above or below it: its listing and its files are as the caches say.
    Trusted,
    /// Something below it changed: each entry is judged on its own, the folder's own listing
    /// is read as before.
    Check,
    /// It or a folder above it changed, or it is outside what the watch sees: read as before.
    Untrusted,
}

/// The paths a watch named as changed since the caches' token, under the root it watches.
#[derive(Debug, Clone)]
pub struct Trust {
    root: PathBuf,
    dirty: BTreeSet<PathBuf>,
}

impl Trust {
    /// Trust for the tree at `root`, except for `dirty` paths.
    pub fn new(root: PathBuf, dirty: BTreeSet<PathBuf>) -> Trust {
        Trust { root, dirty }
    }

    /// The mode of a folder a walk starts at.
    pub fn top(&self, dir: &Path) -> Mode {
        if !dir.starts_with(&self.root) {
            return Mode::Untrusted;
        }
        let dirty_above = dir
            .ancestors()
            .take_while(|a| a.starts_with(&self.root))
            .any(|a| self.dirty.contains(a));
        if dirty_above {
            Mode::Untrusted
        } else {
            self.below(dir)
        }
    }

    /// The mode of a folder (not a symlink) inside a folder of mode `parent`.
    pub fn dir(&self, dir: &Path, parent: Mode) -> Mode {
        match parent {
            Mode::Check if self.dirty.contains(dir) => Mode::Untrusted,
            Mode::Check => self.below(dir),
            other => other,
        }
    }

    /// Whether a file (not a symlink) in a folder of mode `parent` is as the caches say.
    pub fn file(&self, file: &Path, parent: Mode) -> bool {
        match parent {
            Mode::Trusted => true,
            Mode::Check => !self.dirty.contains(file),
            Mode::Untrusted => false,
        }
    }

    /// Trusted, or Check when a path below `dir` changed. Paths order component by component,
    /// so everything below `dir` sorts right after it.
    fn below(&self, dir: &Path) -> Mode {
        let next = self
            .dirty
            .range::<Path, _>((Bound::Excluded(dir), Bound::Unbounded))
            .next();
        match next {
            Some(p) if p.starts_with(dir) => Mode::Check,
            _ => Mode::Trusted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_stops_at_changed_paths_and_everything_below_them() {
        let dirty: BTreeSet<PathBuf> = ["/h/.claude/skills/a/SKILL.md", "/h/.claude/agents"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let t = Trust::new("/h/.claude".into(), dirty);
        let p = Path::new;
        assert_eq!(t.top(p("/h/.claude/skills")), Mode::Check);
        assert_eq!(t.top(p("/h/.claude/agents")), Mode::Untrusted);
        assert_eq!(t.top(p("/h/.claude/agents/x")), Mode::Untrusted);
        assert_eq!(t.top(p("/h/.claude/commands")), Mode::Trusted);
        assert_eq!(t.top(p("/h/.claude/skills0")), Mode::Trusted);
        assert_eq!(t.top(p("/elsewhere/skills")), Mode::Untrusted);
        let skills = Mode::Check;
        assert_eq!(t.dir(p("/h/.claude/skills/a"), skills), Mode::Check);
        assert_eq!(t.dir(p("/h/.claude/skills/b"), skills), Mode::Trusted);
        assert!(!t.file(p("/h/.claude/skills/a/SKILL.md"), Mode::Check));
        assert!(t.file(p("/h/.claude/skills/a/other.md"), Mode::Check));
        assert!(t.file(p("/h/.claude/skills/b/SKILL.md"), Mode::Trusted));
        assert!(!t.file(p("/h/.claude/agents/x.md"), Mode::Untrusted));
    }
}
