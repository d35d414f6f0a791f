//! Where an apply writes: the real file system, or a recorder for `--dry-run` and tests, so a
//! dry run runs the very plan and execution a real apply would.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The writes an apply makes.
pub trait System: Sync {
    /// Creates a folder and its parents.
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()>;
    /// Replaces a file atomically, with `mode` if given (else the old file's, or the default).
    fn replace(&self, path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()>;
    /// Removes a file; a missing one is not an error.
    fn remove(&self, path: &Path) -> std::io::Result<()>;
    /// Removes a folder if it is empty (after its last file was deleted); anything else is kept.
    fn remove_empty_dir(&self, path: &Path) {
        let _ = std::fs::remove_dir(path);
    }
    /// Reads a file (a shared file is spliced into, so its current text is needed).
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// The real file system.
pub struct RealSystem;

impl System for RealSystem {
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn replace(&self, path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
        // A stow-style link is written through to its target and stays a link: the dotfiles
        // repository it points into and the Claude home then agree.
        let target = link_target(path).unwrap_or_else(|| path.to_path_buf());
        crate::fsx::replace(&target, bytes, mode)
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Where a symlink at `path` points (relative targets resolved against its folder); `None`
/// when `path` is not a link.
pub fn link_target(path: &Path) -> Option<PathBuf> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let to = std::fs::read_link(path).ok()?;
    let to = match to.is_absolute() {
        true => to,
        false => path.parent().map(|d| d.join(&to)).unwrap_or(to),
    };
    // A chain of links ends at the last one's target.
    Some(link_target(&to).unwrap_or(to))
}

/// One write a [`DryRun`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A file would be written with these bytes.
    Write(PathBuf, Vec<u8>),
    /// A file would be removed.
    Remove(PathBuf),
}

/// Records what would be written, touching nothing.
#[derive(Debug, Default)]
pub struct DryRun {
    log: Mutex<Vec<Recorded>>,
}

impl DryRun {
    /// What was recorded, sorted by path.
    pub fn recorded(&self) -> Vec<Recorded> {
        let mut out = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        out.sort_by(|a, b| path_of(a).cmp(path_of(b)));
        out
    }

    fn push(&self, r: Recorded) {
        if let Ok(mut l) = self.log.lock() {
            l.push(r);
        }
    }
}

fn path_of(r: &Recorded) -> &Path {
    match r {
        Recorded::Write(p, _) | Recorded::Remove(p) => p,
    }
}

impl System for DryRun {
    fn create_dir_all(&self, _: &Path) -> std::io::Result<()> {
        Ok(())
    }

    fn remove_empty_dir(&self, _: &Path) {}

    fn replace(&self, path: &Path, bytes: &[u8], _: Option<u32>) -> std::io::Result<()> {
        self.push(Recorded::Write(path.to_path_buf(), bytes.to_vec()));
        Ok(())
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.push(Recorded::Remove(path.to_path_buf()));
        Ok(())
    }
}
