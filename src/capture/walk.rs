//! The walk of one captured folder: its listing (from the listing cache while the folder is
//! unchanged), the names skipped inside it, and which symlinks it follows.

use std::path::{Path, PathBuf};

use super::scan::{inside_real, remove_if_stale, resolved, LiveFile, SKIP_NAMES};
use crate::codec::CaptureError;
use crate::fsmonitor::{Mode, Trust};
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
    /// What a running watch vouches for, and how far it does for the folder being walked.
    pub(super) trust: Option<&'a Trust>,
    pub(super) mode: Mode,
    /// The stat data the stat cache holds for a store path: a trusted file's, unread.
    pub(super) cached: &'a dyn Fn(&str) -> Option<crate::state::Stat>,
    /// How many files were taken on the watch's word.
    pub(super) vouched: usize,
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
/// not changed (git's untracked cache does the same). What a running watch vouches for is not
/// stat'ed at all (`meta` is `None` for such a folder). Follows symlinks that [`follow`]
/// allows, stopping at a link that leads back into a folder on the current path.
pub(super) fn walk(
    dir: &Path,
    rel: &str,
    meta: Option<&std::fs::Metadata>,
    w: &mut Walk,
) -> Result<(), CaptureError> {
    let (listing, pushed) = open(dir, meta, w)?;
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
        if (w.excluded)(&store_path["claude/".len()..]) {
            continue;
        }
        let path = dir.join(name);
        if !vouched_entry(&path, &store_path, kind, w)? {
            entry(path, store_path, kind, w)?;
        }
    }
    if pushed {
        w.stack.pop();
    }
    Ok(())
}

/// A folder's listing; true when the folder went on the loop-detection stack. A folder the
/// watch vouches for (`meta` is `None`) is no link, so it cannot close a loop (only links can).
fn open(
    dir: &Path,
    meta: Option<&std::fs::Metadata>,
    w: &mut Walk,
) -> Result<(crate::state::Listing, bool), CaptureError> {
    if meta.is_none() {
        if let Some(l) = w.listings.as_deref_mut().and_then(|c| c.get_trusted(dir)) {
            return Ok((l, false));
        }
    }
    let owned;
    let meta = match meta {
        Some(m) => m,
        None => {
            owned = std::fs::symlink_metadata(dir).map_err(|source| CaptureError::Unreadable {
                path: dir.to_path_buf(),
                source,
            })?;
            &owned
        }
    };
    let id = dir_id(dir, meta)?;
    if w.stack.contains(&id) {
        return Err(CaptureError::SymlinkLoop {
            path: dir.to_path_buf(),
        });
    }
    w.stack.push(id);
    Ok((listing(dir, meta, w)?, true))
}

/// One entry of a folder, read as usual: a symlink followed within bounds, a folder walked, a
/// file listed with its stat data.
fn entry(path: PathBuf, store_path: String, kind: u8, w: &mut Walk) -> Result<(), CaptureError> {
    // A skill folder may be a link into another checkout, but no link may carry a file in from
    // anywhere else. Only a link changes the tree a walk is in (no copy per file: 2,000 of them
    // per status).
    let mut tree = None;
    if kind == b'l' {
        match follow(&path, w) {
            Ok(t) => tree = Some(t),
            Err(why) => {
                w.skipped.push((store_path, why.to_string()));
                return Ok(());
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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && kind != b'l' => return Ok(()),
        Err(source) => return Err(CaptureError::Unreadable { path, source }),
    };
    if meta.is_dir() {
        // Behind a link the watch sees nothing.
        let mode = match (w.trust, kind) {
            (Some(t), b'd') => t.dir(&path, w.mode),
            _ => Mode::Untrusted,
        };
        let outer = tree.map(|t| std::mem::replace(&mut w.tree, t));
        let walked = descend(&path, &store_path["claude/".len()..], Some(&meta), mode, w);
        if let Some(outer) = outer {
            w.tree = outer;
        }
        walked?;
    } else if meta.is_file() {
        w.out.push(LiveFile {
            store_path,
            stat: crate::state::stat_of(&meta),
            linked: crate::state::linked(&meta),
            live_path: path,
            source: Source::Whole,
        });
    }
    Ok(())
}

/// Takes an entry the watch vouches for without a stat: a folder walked from the listing cache,
/// a file with the stat cache's data. False when the entry must be read as usual.
fn vouched_entry(
    path: &Path,
    store_path: &str,
    kind: u8,
    w: &mut Walk,
) -> Result<bool, CaptureError> {
    let Some(trust) = w.trust else {
        return Ok(false);
    };
    match kind {
        b'd' if trust.dir(path, w.mode) == Mode::Trusted => {
            descend(path, &store_path["claude/".len()..], None, Mode::Trusted, w)?;
            Ok(true)
        }
        b'f' if trust.file(path, w.mode) => match (w.cached)(store_path) {
            Some(stat) => {
                w.out.push(LiveFile {
                    store_path: store_path.to_string(),
                    stat: Some(stat),
                    linked: false,
                    live_path: path.to_path_buf(),
                    source: Source::Whole,
                });
                w.vouched += 1;
                Ok(true)
            }
            None => Ok(false),
        },
        // Neither file nor folder when listed, and unchanged since: still nothing to capture.
        b'o' => Ok(w.mode == Mode::Trusted),
        _ => Ok(false),
    }
}

/// Walks a subfolder in `mode`, one level deeper.
fn descend(
    path: &Path,
    rel: &str,
    meta: Option<&std::fs::Metadata>,
    mode: Mode,
    w: &mut Walk,
) -> Result<(), CaptureError> {
    let outer = std::mem::replace(&mut w.mode, mode);
    w.depth += 1;
    let walked = walk(path, rel, meta, w);
    w.depth -= 1;
    w.mode = outer;
    walked
}

/// Listing entries in the order of the paths under them: a folder's name as `name/`.
fn walk_order(a: &(String, u8), b: &(String, u8)) -> std::cmp::Ordering {
    fn key(e: &(String, u8)) -> impl Iterator<Item = u8> + '_ {
        e.0.bytes().chain((e.1 == b'd').then_some(b'/'))
    }
    key(a).cmp(key(b))
}
