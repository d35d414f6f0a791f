//! The live side in store form: every file on the allow-list captured (read, validated, paths
//! mapped, secrets sealed), with the stat cache serving files that have not changed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::caches::Caches;
use super::scan::{self, LiveFile, Locations};
use crate::error::{Error, Result};
use crate::layout::Source;
use crate::state::{CacheEntry, Stat, StatCache};
use crate::store::{Entry, Store};
use crate::workspace::Workspace;

/// One live file as the store would record it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Where it lives.
    pub live_path: PathBuf,
    /// Whole file or one key.
    pub source: Source,
    /// The blob it captures to; `None` if it contributes no store file.
    pub entry: Option<Entry>,
    /// The store-form bytes, when they were computed (not served from the stat cache).
    pub bytes: Option<Vec<u8>>,
}

/// The live side, in store form.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Store path -> captured file.
    pub files: BTreeMap<String, Captured>,
    /// Untracked entries under the Claude home.
    pub untracked: Vec<String>,
    /// Live files that cannot be read or understood, with why (file:line:col): left out of
    /// this snapshot, so they count as neither changed nor deleted, and never overwritten
    /// without `--force`.
    pub problems: BTreeMap<String, Problem>,
    /// Store paths not captured because of where a symlink leads (file or folder), with why:
    /// like problems, neither changed nor deleted, but only a warning.
    pub skipped: BTreeMap<String, String>,
    /// What this machine leaves out (`machines.<name>.exclude` in ctx.yaml): neither captured
    /// nor applied here, nor taken as deleted.
    pub left_here: Vec<String>,
    /// Files taken on a running `ctx watch`'s word: neither read nor stat'ed (its fsmonitor).
    pub vouched: usize,
}

impl Snapshot {
    /// Whether `path` is left out: a problem, at or under a skipped link, or left out here.
    pub fn left_out(&self, path: &str) -> bool {
        self.problems.contains_key(path)
            || self.skipped.keys().any(|s| crate::layout::under(path, s))
            || self.excluded_here(path)
    }

    /// Whether `path` is a machine's layer of a file that is itself a problem: the same live
    /// file, the same cause, said once (for the file; the layer stays left out with it).
    pub fn reported_with_its_file(&self, path: &str) -> bool {
        crate::local::layer_of(path).is_some_and(|(_, file)| self.problems.contains_key(file))
    }

    /// Whether this machine leaves `path` out by ctx.yaml's `machines.<name>.exclude`.
    pub fn excluded_here(&self, path: &str) -> bool {
        excluded(&self.left_here, path)
    }
}

/// Why a live file was left out of a snapshot.
#[derive(Debug, Clone)]
pub struct Problem {
    /// What is wrong, naming the file (and line and column where there is one).
    pub message: String,
    /// Whether it is a credential in plain text (the fix is removing it, not the syntax).
    pub plain_secret: bool,
    /// The live file.
    pub live: PathBuf,
}

/// Captures one file, setting aside a file-level problem (a parse error, a plaintext token, a
/// file that cannot be read) so that one bad file never blocks the others.
fn capture_or_note(
    ws: &Workspace,
    path: &str,
    live: PathBuf,
    source: Source,
    problems: &mut BTreeMap<String, Problem>,
) -> Result<Option<Captured>> {
    use crate::codec::CaptureError as C;
    match capture_one(ws, path, live.clone(), source) {
        Err(Error::Capture(
            e @ (C::Format(_)
            | C::PlainSecret { .. }
            | C::Unreadable { .. }
            | C::TooLarge { .. }
            | C::Misplaced { .. }),
        )) => {
            let problem = Problem {
                message: crate::error::chain(&e),
                plain_secret: matches!(e, C::PlainSecret { .. }),
                live,
            };
            problems.insert(path.to_string(), problem);
            Ok(None)
        }
        other => other,
    }
}

/// A file changed within the timestamp granularity of now could change again unseen: the
/// stat cache keeps only files older than this.
const SETTLED_NS: i128 = 2_000_000_000;

/// The live side in store form. With `cache`, files whose stat data has not changed since the
/// last capture are not read again.
pub fn snapshot(ws: &Workspace, cache: bool) -> Result<Snapshot> {
    snapshot_asking(ws, cache, cache)
}

/// [`snapshot`] with the stat cache but not a running watch's word: what an apply plans from
/// before it overwrites live files. A change the watch could not see (a write through a memory
/// map, say) is then found by its stat and never overwritten unseen.
pub fn snapshot_unwatched(ws: &Workspace) -> Result<Snapshot> {
    snapshot_asking(ws, true, false)
}

fn snapshot_asking(ws: &Workspace, cache: bool, ask_watch: bool) -> Result<Snapshot> {
    let mut caches = Caches::load(ws, salt(ws), cache, ask_watch);
    let (mut found, left_here) = scan_live(ws, &mut caches)?;
    let stat_cache = &mut caches.stats;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    let mut dirty_cache = false;
    // Both lists are sorted by path: the stored entry of each live file is found by walking
    // the head's files alongside, and the result is built in bulk, not one insert at a time.
    found
        .files
        .sort_unstable_by(|a, b| a.store_path.cmp(&b.store_path));
    let mut head = ws.repo.files.iter().peekable();
    let mut stored_of = |path: &str| loop {
        match head.peek() {
            Some((p, _)) if p.as_str() < path => {
                head.next();
            }
            Some((p, e)) if p.as_str() == path => break Some(e.oid),
            _ => break None,
        }
    };
    let mut files = Vec::with_capacity(found.files.len());
    let mut problems = BTreeMap::new();
    let mut hits = 0;
    for lf in found.files {
        let stored = stored_of(&lf.store_path);
        if let Some(entry) = cached(stat_cache, &lf, stored) {
            hits += 1;
            let c = Captured {
                live_path: lf.live_path,
                source: lf.source,
                entry,
                bytes: None,
            };
            files.push((lf.store_path, c));
            continue;
        }
        let live = lf.live_path.clone();
        // A miss: the entry is stale (or missing) whatever the capture finds. Left in place, a
        // watch's word would serve it for the file as it was.
        dirty_cache |= stat_cache.entries.remove(&lf.store_path).is_some();
        let found = capture_or_note(ws, &lf.store_path, live, lf.source.clone(), &mut problems)?;
        let Some(c) = found else {
            continue;
        };
        if let Some(st) = lf
            .stat
            .filter(|st| now - st.1 > SETTLED_NS && now - st.2 > SETTLED_NS)
        {
            stat_cache.entries.insert(
                lf.store_path.clone(),
                cache_entry(st, lf.linked, stored, &c),
            );
            dirty_cache = true;
        }
        files.push((lf.store_path, c));
    }
    let files: BTreeMap<String, Captured> = files.into_iter().collect();
    // Every entry of the cache was a hit: none is stale, and it need not be written again.
    if cache && (dirty_cache || hits != stat_cache.entries.len()) {
        let before = stat_cache.entries.len();
        stat_cache.entries.retain(|k, _| files.contains_key(k));
        dirty_cache |= before != stat_cache.entries.len();
    }
    caches.save(ws, dirty_cache);
    Ok(Snapshot {
        files,
        untracked: found.untracked,
        problems,
        skipped: found.skipped.into_iter().collect(),
        left_here,
        vouched: found.vouched,
    })
}

/// The live files on the allow-list, less what this machine leaves out, plus its layers; and
/// what it leaves out.
fn scan_live(ws: &Workspace, caches: &mut Caches) -> Result<(scan::Scan, Vec<String>)> {
    let env = &ws.env;
    let forbidden = [env.config_dir.clone(), env.store_dir.clone()];
    let loc = Locations {
        claude_dir: &env.claude_dir,
        claude_json: &env.claude_json,
        desktop_config: &env.desktop_config,
        forbidden: &forbidden,
        projects: &env.projects,
    };
    let manifest = &ws.repo.manifest;
    let mut listings = caches.listings.take();
    let stat_of = |p: &str| caches.stat_of(p);
    let reuse = scan::Reuse {
        listings: listings.as_mut(),
        trust: caches.trust(),
        stat: &stat_of,
        expect: caches.stats.entries.len(),
    };
    let mut found = scan::scan(&loc, &manifest.include, &manifest.exclude, reuse)?;
    caches.listings = listings;
    let left_here = left_here(ws);
    found.files.retain(|f| !excluded(&left_here, &f.store_path));
    let layers = layer_files(ws, &found.files);
    found.files.extend(layers);
    Ok((found, left_here))
}

/// What this machine leaves out, as ctx.yaml's `machines.<name>.exclude` lists it.
fn left_here(ws: &Workspace) -> Vec<String> {
    let list = ws.repo.manifest.excluded_on(ws.machine());
    list.iter()
        .map(|e| e.trim_matches('/').to_string())
        .collect()
}

fn excluded(left_here: &[String], path: &str) -> bool {
    let rel = path.strip_prefix("claude/");
    left_here
        .iter()
        .any(|e| crate::layout::under(path, e) || rel.is_some_and(|r| crate::layout::under(r, e)))
}

/// This machine's layer of each file with machine-local fields: the same live file, read for
/// those fields only, under `machines/<name>/local/`.
fn layer_files(ws: &Workspace, files: &[LiveFile]) -> Vec<LiveFile> {
    let local = crate::local::LocalFields::of(&ws.repo.manifest);
    files
        .iter()
        .filter(|f| f.source == Source::Whole && local.has(&f.store_path))
        .map(|f| LiveFile {
            store_path: crate::local::layer_path(ws.machine(), &f.store_path),
            source: Source::Layer,
            ..f.clone()
        })
        .collect()
}

/// The captured entry the stat cache holds for a live file unchanged since it was cached
/// (`Some(None)`: captured as nothing).
fn cached(
    cache: &StatCache,
    lf: &LiveFile,
    stored: Option<gix::ObjectId>,
) -> Option<Option<Entry>> {
    let (size, mtime, ctime, ino) = lf.stat?;
    let hit = cache.entries.get(&lf.store_path)?;
    let same = hit.size == size
        && hit.mtime == mtime
        && hit.ctime == ctime
        && hit.ino == ino
        && hit.stored == stored;
    same.then(|| {
        hit.captured.map(|oid| Entry {
            oid,
            exec: hit.exec,
        })
    })
}

fn cache_entry(st: Stat, linked: bool, stored: Option<gix::ObjectId>, c: &Captured) -> CacheEntry {
    let (size, mtime, ctime, ino) = st;
    CacheEntry {
        size,
        mtime,
        ctime,
        ino,
        stored,
        captured: c.entry.map(|e| e.oid),
        exec: c.entry.is_some_and(|e| e.exec),
        linked,
    }
}

/// Everything a capture depends on beside the file itself: a change in any invalidates the
/// stat cache.
fn salt(ws: &Workspace) -> String {
    let manifest = ws
        .repo
        .files
        .get(crate::layout::MANIFEST)
        .map(|e| e.oid.to_string())
        .unwrap_or_default();
    let key = ws.keys.public_key().unwrap_or_default();
    format!(
        "{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        manifest,
        key,
        ws.codec().home()
    )
}

/// Captures one live file now: `None` if it vanished. The one place a live file is read and
/// converted to store form.
pub fn capture_one(
    ws: &Workspace,
    store_path: &str,
    live_path: PathBuf,
    source: Source,
) -> Result<Option<Captured>> {
    let display = ws.env.display(&live_path);
    let limit = ws.repo.manifest.max_file_size();
    if let Some(size) = std::fs::metadata(&live_path)
        .ok()
        .map(|m| m.len())
        .filter(|s| *s > limit)
    {
        return Err(crate::codec::CaptureError::TooLarge {
            file: display,
            size,
            limit,
        }
        .into());
    }
    let Some((raw, exec)) = crate::codec::read_live(&live_path)? else {
        return Ok(None);
    };
    let old = ws.repo.read(store_path)?;
    let bytes = ws
        .codec()
        .to_store(store_path, &source, &display, &raw, old.as_deref())?;
    let exec = exec && source == Source::Whole;
    let entry = bytes.as_ref().map(|b| Entry {
        oid: Store::hash(b),
        exec,
    });
    Ok(Some(Captured {
        live_path,
        source,
        entry,
        bytes,
    }))
}

/// The live side of just `paths` (store paths), read now: for an apply that touches a few
/// files, without walking the whole Claude home.
pub fn snapshot_of(ws: &Workspace, paths: &[String]) -> Result<Snapshot> {
    let mut files = BTreeMap::new();
    let mut problems = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    let forbidden = [ws.env.config_dir.clone(), ws.env.store_dir.clone()];
    for path in paths {
        let Some((live_path, source)) = crate::layout::live_location(&ws.env, path) else {
            continue;
        };
        let why = match path.strip_prefix("claude/") {
            Some(rel) => super::walk::link_policy(&ws.env.claude_dir, rel, &forbidden),
            None => scan::inside(&live_path, &forbidden)
                .then_some("a symlink into ctx's own files; never captured"),
        };
        if let Some(why) = why {
            skipped.insert(path.clone(), why.to_string());
            continue;
        }
        if let Some(c) = capture_or_note(ws, path, live_path, source, &mut problems)? {
            files.insert(path.clone(), c);
        }
    }
    Ok(Snapshot {
        files,
        untracked: Vec::new(),
        problems,
        skipped,
        left_here: left_here(ws),
        vouched: 0,
    })
}

/// The store-form bytes of a captured file, computing them if the cache served it.
pub fn captured_bytes(ws: &Workspace, path: &str, snap: &Snapshot) -> Result<Option<Vec<u8>>> {
    let Some(c) = snap.files.get(path) else {
        return Ok(None);
    };
    if let Some(b) = &c.bytes {
        return Ok(Some(b.clone()));
    }
    Ok(capture_one(ws, path, c.live_path.clone(), c.source.clone())?.and_then(|c| c.bytes))
}
