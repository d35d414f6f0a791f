//! The walk of one captured folder: its listing (from the listing cache while the folder is
//! unchanged), the names skipped inside it, and which symlinks it follows.

use std::path::{Path, PathBuf};

use super::scan::{inside_real, remove_if_stale, resolved, LiveFile, SKIP_NAMES};
use crate::codec::CaptureError;
use crate::layout::Source;

/// Identifies a folder for loop detection: (device, inode) where the OS has them.
type DirId = (u64, u64);

#[cfg(unix)]
fn dir_id(_path: &Path, meta: &std::fs::Metadata) -> Result<DirId, CaptureError> {
    use std::os::unix::fs::MetadataExt;
    Ok((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(path: &Path, _meta: &std::fs::Metadata) -> Result<DirId, CaptureError> {
    use std::hash::{Hash, Hasher};
    let canonical = std::fs::canonicalize(path).map_err(|source| CaptureError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut h);
    Ok((0, h.finish()))
}

/// A folder's entries (name, kind), from the listing cache when its mtime says it is unchanged.
fn listing(
    dir: &Path,
    meta: &std::fs::Metadata,
    w: &mut Walk,
) -> Result<crate::state::Listing, CaptureError> {
    let listing = match w.listings.as_deref_mut().and_then(|c| c.get(dir, meta)) {
        Some(l) => l,
        None => {
            let rd = std::fs::read_dir(dir).map_err(|source| CaptureError::Unreadable {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut listing = Vec::new();
            for entry in rd.flatten() {
                let kind = match entry.file_type() {
                    Ok(t) if t.is_dir() => b'd',
                    Ok(t) if t.is_symlink() => b'l',
                    Ok(t) if t.is_file() => b'f',
                    _ => b'o',
                };
                listing.push((entry.file_name().to_string_lossy().to_string(), kind));
            }
            // In store-path order (a folder sorts as `name/`, as git sorts trees): the walk then
            // yields its files sorted, and `scan` need not sort 2,000 paths again.
            listing.sort_unstable_by(walk_order);
            let listing = crate::state::Listing::new(&listing);
            if let Some(c) = w.listings.as_deref_mut() {
                c.put(dir, meta, &listing);
            }
            listing
        }
    };
    Ok(listing)
}

/// Names never captured inside a folder: version control, dependency caches, editor litter,
/// and ctx's own temp files (a write cut off by kill -9 can leave one; a stale one is removed).
fn skipped_name(dir: &Path, name: &str) -> bool {
    let ctx_temp = name.starts_with('.') && name.contains(".ctx-") && name.ends_with(".tmp");
    if ctx_temp {
        remove_if_stale(&dir.join(name));
    }
    SKIP_NAMES.contains(&name) || name.ends_with('~') || name.ends_with(".swp") || ctx_temp
}

/// What a walk carries down the folders.
pub(super) struct Walk<'a, 'b> {
    pub(super) stack: &'a mut Vec<DirId>,
    pub(super) out: &'a mut Vec<LiveFile>,
    pub(super) excluded: &'a dyn Fn(&str) -> bool,
    pub(super) listings: Option<&'b mut crate::state::DirCache>,
    /// The captured tree the walk is in, links resolved: a link may not lead out of it.
    pub(super) tree: PathBuf,
    /// How deep below the top-level folder (0: its own entries).
    pub(super) depth: usize,
    pub(super) forbidden: &'a [PathBuf],
    pub(super) skipped: &'a mut Vec<(String, String)>,
}

pub(super) const FORBIDDEN: &str =
    "a symlink into ctx's own files (its key, its store); never captured";
const OUT_OF_TREE: &str =
    "a symlink out of its folder; not captured (copy the file in, or link the whole folder)";

/// Why the live file at `rel` under the Claude home `root` is not captured because of a link on
/// its way (the rule [`follow`] applies during a scan), if it is not.
pub(super) fn link_policy(root: &Path, rel: &str, forbidden: &[PathBuf]) -> Option<&'static str> {
    let forbidden = &resolved(forbidden);
    let mut parts = rel.split('/');
    let mut at = root.join(parts.next()?);
    if inside_real(&at, forbidden) {
        return Some(FORBIDDEN);
    }
    let mut tree = std::fs::canonicalize(&at).ok()?;
    for (depth, part) in parts.enumerate() {
        at.push(part);
        let is_link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        let real = std::fs::canonicalize(&at).ok()?;
        if inside_real(&real, forbidden) {
            return Some(FORBIDDEN);
        }
        match depth {
            0 => tree = real,
            _ if !real.starts_with(&tree) => return Some(OUT_OF_TREE),
            _ => {}
        }
    }
    None
}

/// Whether the walk follows the link at `path`: an entry of a top-level folder (a skill, an agent
/// linked in from a checkout) may lead anywhere but into ctx's own files; anything deeper must
/// stay inside the tree it is in (a cloned skill linking to `~/.ssh` is not followed). Returns
/// why not, and the tree below the link.
fn follow(path: &Path, w: &Walk) -> Result<PathBuf, &'static str> {
    let Ok(real) = std::fs::canonicalize(path) else {
        // Dangling: reading it names the problem.
        return Ok(w.tree.clone());
    };
    if inside_real(&real, w.forbidden) {
        return Err(FORBIDDEN);
    }
    match w.depth == 0 || real.starts_with(&w.tree) {
        true => Ok(if w.depth == 0 { real } else { w.tree.clone() }),
        false => Err(OUT_OF_TREE),
    }
}

/// Walks a captured folder: one stat per folder and per file (the stat cache needs those
/// anyway), and the folder's listing from the listing cache when the folder's mtime says it has
/// not changed (git's untracked cache does the same). Follows symlinks that [`follow`] allows,
/// stopping at a link that leads back into a folder on the current path.
pub(super) fn walk(
    dir: &Path,
    rel: &str,
    meta: &std::fs::Metadata,
    w: &mut Walk,
) -> Result<(), CaptureError> {
    let id = dir_id(dir, meta)?;
    if w.stack.contains(&id) {
        return Err(CaptureError::SymlinkLoop {
            path: dir.to_path_buf(),
        });
    }
    w.stack.push(id);
    let listing = listing(dir, meta, w)?;
    // The listing is in store-path order, so the files come out sorted (see `walk_order`).
    for (name, kind) in listing.iter() {
        if skipped_name(dir, name) {
            continue;
        }
        // The store path, built once: its tail after `claude/` is the path under the home.
        let mut store_path = String::with_capacity(8 + rel.len() + name.len());
        store_path.push_str("claude/");
        store_path.push_str(rel);
        store_path.push('/');
        store_path.push_str(name);
        let child_rel = &store_path["claude/".len()..];
        if (w.excluded)(child_rel) {
            continue;
        }
        let path = dir.join(name);
        // A symlink is followed within bounds: a skill folder may be a link into another
        // checkout, but no link may carry a file in from anywhere else.
        // Only a link changes the tree a walk is in (no copy per file: 2,000 of them per status).
        let mut tree = None;
        if kind == b'l' {
            match follow(&path, w) {
                Ok(t) => tree = Some(t),
                Err(why) => {
                    w.skipped.push((store_path, why.to_string()));
                    continue;
                }
            }
        }
        let meta = match kind {
            b'l' => std::fs::metadata(&path),
            _ => std::fs::symlink_metadata(&path),
        };
        let meta = match meta {
            Ok(m) => m,
            // Gone since the folder was listed: nothing to capture.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && kind != b'l' => continue,
            Err(source) => return Err(CaptureError::Unreadable { path, source }),
        };
        if meta.is_dir() {
            let outer = tree.map(|t| std::mem::replace(&mut w.tree, t));
            w.depth += 1;
            let walked = walk(&path, child_rel, &meta, w);
            w.depth -= 1;
            if let Some(outer) = outer {
                w.tree = outer;
            }
            walked?;
        } else if meta.is_file() {
            w.out.push(LiveFile {
                store_path,
                stat: crate::state::stat_of(&meta),
                live_path: path,
                source: Source::Whole,
            });
        }
    }
    w.stack.pop();
    Ok(())
}

/// Listing entries in the order of the paths under them: a folder's name as `name/`.
fn walk_order(a: &(String, u8), b: &(String, u8)) -> std::cmp::Ordering {
    fn key(e: &(String, u8)) -> impl Iterator<Item = u8> + '_ {
        e.0.bytes().chain((e.1 == b'd').then_some(b'/'))
    }
    key(a).cmp(key(b))
}
