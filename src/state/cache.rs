//! Caches that make a no-op `status` cheap: file stat data with what each file captured to,
//! and folder listings. Only caches: losing one costs speed, never correctness.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;

/// A live file's stat data and what it captured to.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub stored: Option<ObjectId>,
    /// The blob it captured to (`None`: it contributed no store file).
    pub captured: Option<ObjectId>,
    /// Executable bit.
    pub exec: bool,
}

/// The stat cache: lets `status` and a no-op `commit` skip reading unchanged files. Kept in a
/// compact binary form (fixed-width fields, raw object ids) because it is read on every command
/// and must cost next to nothing: no number or hex parsing, one allocation per entry.
#[derive(Debug, Default)]
pub struct StatCache {
    /// Everything the capture of a file depends on beside the file (rules, keys, home, version).
    pub salt: String,
    /// Store path -> entry.
    pub entries: HashMap<String, CacheEntry, FastHash>,
}

/// The first bytes of the stat cache file; any other content (an older format) is no cache.
const STAT_MAGIC: &[u8] = b"ctx-stat-cache 2\n";
const HAS_STORED: u8 = 1;
const HAS_CAPTURED: u8 = 2;
/// Captured to the stored blob, the common case: the id is written once.
const SAME: u8 = 4;
const EXEC: u8 = 8;

/// Reads fixed-width fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn oid(&mut self) -> Option<ObjectId> {
        Some(ObjectId::from_bytes_or_panic(self.take(20)?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

impl StatCache {
    /// Loads the cache; a missing, damaged or older-format file is an empty cache.
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| Self::parse(&bytes))
            .unwrap_or_default()
    }

    fn parse(bytes: &[u8]) -> Option<StatCache> {
        let mut r = Reader(bytes.strip_prefix(STAT_MAGIC)?);
        let salt = r.str()?.to_string();
        let n = r.u32()? as usize;
        let mut entries = HashMap::with_capacity_and_hasher(n.min(1 << 20), FastHash);
        for _ in 0..n {
            let size = r.u64()?;
            // i64 holds nanoseconds until 2262.
            let mtime = i128::from(r.u64()? as i64);
            let ctime = i128::from(r.u64()? as i64);
            let ino = r.u64()?;
            let flags = r.take(1)?[0];
            let stored = match flags & HAS_STORED {
                0 => None,
                _ => Some(r.oid()?),
            };
            let captured = match (flags & SAME, flags & HAS_CAPTURED) {
                (0, 0) => None,
                (0, _) => Some(r.oid()?),
                _ => stored,
            };
            let entry = CacheEntry {
                size,
                mtime,
                ctime,
                ino,
                stored,
                captured,
                exec: flags & EXEC != 0,
            };
            entries.insert(r.str()?.to_string(), entry);
        }
        r.0.is_empty().then_some(StatCache { salt, entries })
    }

    /// Saves the cache atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(64 + self.salt.len() + self.entries.len() * 128);
        out.extend_from_slice(STAT_MAGIC);
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        put_str(&mut out, &self.salt);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (p, e) in &self.entries {
            for v in [e.size, e.mtime as i64 as u64, e.ctime as i64 as u64, e.ino] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            let same = e.captured.is_some() && e.captured == e.stored;
            let bit = |on: bool, flag: u8| if on { flag } else { 0 };
            let flags = bit(e.stored.is_some(), HAS_STORED)
                | bit(e.captured.is_some(), HAS_CAPTURED)
                | bit(same, SAME)
                | bit(e.exec, EXEC);
            out.push(flags);
            if let Some(o) = e.stored {
                out.extend_from_slice(o.as_bytes());
            }
            if let Some(o) = e.captured.filter(|_| !same) {
                out.extend_from_slice(o.as_bytes());
            }
            put_str(&mut out, p);
        }
        crate::fsx::write_atomic(path, &out, None)
    }
}

/// (size, mtime ns, ctime ns, inode) of a file, for the cache.
pub type Stat = (u64, i128, i128, u64);

/// Stat data of a file, for the cache.
pub fn stat(path: &Path) -> Option<Stat> {
    stat_of(&std::fs::metadata(path).ok()?)
}

/// Stat data from metadata already read.
pub fn stat_of(m: &std::fs::Metadata) -> Option<Stat> {
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

/// The next space-separated field of `rest`, which moves past it.
fn next_field<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let i = rest.as_bytes().iter().position(|&b| b == b' ')?;
    let (f, r) = (&rest[..i], &rest[i + 1..]);
    *rest = r;
    Some(f)
}

/// A fast, non-cryptographic hasher for the stat cache's path keys (FxHash's multiply-rotate).
/// The keys are this machine's own paths, so hash flooding is not a concern; SipHash was a
/// tenth of a no-op `status`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

/// The hasher of [`FastHash`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A folder's entries: (name, kind), kind one of `d`, `f`, `l` (symlink), `o`. Shared, so a
/// cache hit hands out the listing without copying its names.
pub type Listing = std::rc::Rc<[(String, u8)]>;

/// Folder listings keyed by the folder's (mtime, ctime, inode): a folder whose mtime has not
/// moved has the same entries (creating, deleting or renaming an entry updates it), so `status`
/// need not read it again. A folder changed within the last 2 seconds is never cached, for the
/// same reason as in the stat cache.
#[derive(Debug, Default)]
pub struct DirCache {
    /// Folder -> its stat data, its listing, and whether this walk visited it.
    dirs: HashMap<PathBuf, (Stat, Listing, bool), FastHash>,
    dirty: bool,
}

impl DirCache {
    /// Loads the cache; a missing or damaged file is an empty cache.
    pub fn load(path: &Path) -> DirCache {
        let mut cache = DirCache::default();
        let Ok(text) = std::fs::read_to_string(path) else {
            return cache;
        };
        let mut lines = text.lines();
        while let Some(head) = lines.next() {
            let parsed = (|| {
                let mut rest = head.strip_prefix("D ")?;
                let mut field = || next_field(&mut rest);
                let mtime = i128::from(field()?.parse::<i64>().ok()?);
                let ctime = i128::from(field()?.parse::<i64>().ok()?);
                let ino: u64 = field()?.parse().ok()?;
                let n: usize = field()?.parse().ok()?;
                Some(((0u64, mtime, ctime, ino), n, PathBuf::from(rest)))
            })();
            let Some((stat, n, dir)) = parsed else {
                return DirCache::default();
            };
            let mut listing: Vec<(String, u8)> = Vec::with_capacity(n);
            for _ in 0..n {
                let Some(line) = lines.next() else {
                    return DirCache::default();
                };
                let mut chars = line.chars();
                let Some(kind) = chars.next().filter(char::is_ascii) else {
                    return DirCache::default();
                };
                listing.push((chars.as_str().to_string(), kind as u8));
            }
            cache.dirs.insert(dir, (stat, listing.into(), false));
        }
        cache
    }

    fn key(meta: &std::fs::Metadata) -> Option<Stat> {
        stat_of(meta).map(|(_, m, c, i)| (0, m, c, i))
    }

    /// The cached listing of `dir`, if its stat data still matches.
    pub fn get(&mut self, dir: &Path, meta: &std::fs::Metadata) -> Option<Listing> {
        let key = Self::key(meta)?;
        match self.dirs.get_mut(dir) {
            Some((k, l, seen)) if *k == key => {
                *seen = true;
                Some(l.clone())
            }
            _ => None,
        }
    }

    /// Records a fresh listing of `dir` (if the folder is old enough to trust).
    pub fn put(&mut self, dir: &Path, meta: &std::fs::Metadata, listing: &Listing) {
        let Some(key) = Self::key(meta) else { return };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let text_safe = |s: &str| !s.contains('\n') && !s.contains('\r');
        let old_enough = now - key.1 > 2_000_000_000 && now - key.2 > 2_000_000_000;
        if old_enough
            && text_safe(&dir.to_string_lossy())
            && listing.iter().all(|(n, _)| text_safe(n))
        {
            self.dirs
                .insert(dir.to_path_buf(), (key, listing.clone(), true));
            self.dirty = true;
        } else if self.dirs.remove(dir).is_some() {
            self.dirty = true;
        }
    }

    /// Saves the cache if it changed, dropping folders this walk did not visit (gone, or no
    /// longer captured).
    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        let before = self.dirs.len();
        self.dirs.retain(|_, (_, _, seen)| *seen);
        if !self.dirty && self.dirs.len() == before {
            return Ok(());
        }
        let mut text = String::with_capacity(self.dirs.len() * 200);
        for (dir, ((_, m, c, i), listing, _)) in &self.dirs {
            text.push_str(&format!(
                "D {m} {c} {i} {} {}\n",
                listing.len(),
                dir.display()
            ));
            for (name, kind) in listing.iter() {
                text.push(*kind as char);
                text.push_str(name);
                text.push('\n');
            }
        }
        crate::fsx::write_atomic(path, text.as_bytes(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(stored: Option<ObjectId>, captured: Option<ObjectId>, exec: bool) -> CacheEntry {
        CacheEntry {
            size: 12,
            mtime: 1_764_000_000_123_456_789,
            ctime: -5,
            ino: u64::MAX,
            stored,
            captured,
            exec,
        }
    }

    #[test]
    fn the_stat_cache_reads_back_what_it_saved_and_nothing_from_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat-cache");
        let a = crate::store::Store::hash(b"a");
        let b = crate::store::Store::hash(b"b");
        let mut cache = StatCache {
            salt: "0.1.0|salt with spaces|key".into(),
            entries: HashMap::with_hasher(FastHash),
        };
        cache
            .entries
            .insert("claude/same.md".into(), entry(Some(a), Some(a), false));
        cache
            .entries
            .insert("claude/other.md".into(), entry(Some(a), Some(b), true));
        cache
            .entries
            .insert("claude/new é.md".into(), entry(None, Some(b), false));
        cache
            .entries
            .insert("claude/nothing.md".into(), entry(Some(a), None, false));
        cache.save(&path).unwrap();
        let back = StatCache::load(&path);
        assert_eq!(back.salt, cache.salt);
        assert_eq!(back.entries, cache.entries);
        // Cut short, or in the older text form: no cache at all, never a wrong entry.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(StatCache::load(&path).entries.is_empty());
        std::fs::write(&path, "salt\n12 1 1 1 - - f claude/x.md\n").unwrap();
        assert!(StatCache::load(&path).entries.is_empty());
    }
}
