//! The stat cache, which makes a no-op `status` cheap: file stat data with what each file
//! captured to. Only a cache: losing it costs speed, never correctness.

use std::collections::HashMap;
use std::path::Path;

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
    /// More than one hard link (see `LiveFile::linked`).
    pub linked: bool,
}

/// The stat cache: lets `status` and a no-op `commit` skip reading unchanged files. Kept in a
/// compact binary form (fixed-width fields, raw object ids) because it is read on every command
/// and must cost next to nothing: no number or hex parsing, one allocation per entry.
#[derive(Debug, Default)]
pub struct StatCache {
    /// Everything the capture of a file depends on beside the file (rules, keys, home, version).
    pub salt: String,
    /// The watch's token the entries are valid as of (see `fsmonitor`).
    pub token: Option<crate::fsmonitor::Token>,
    /// Store path -> entry.
    pub entries: HashMap<String, CacheEntry, FastHash>,
}

/// The first bytes of the stat cache file; any other content (an older format) is no cache.
const STAT_MAGIC: &[u8] = b"ctx-stat-cache 3\n";
const HAS_STORED: u8 = 1;
const HAS_CAPTURED: u8 = 2;
/// Captured to the stored blob, the common case: the id is written once.
const SAME: u8 = 4;
const EXEC: u8 = 8;
const LINKED: u8 = 16;

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
        let token = crate::fsmonitor::Token::parse(r.str()?);
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
                linked: flags & LINKED != 0,
            };
            entries.insert(r.str()?.to_string(), entry);
        }
        r.0.is_empty().then_some(StatCache {
            salt,
            token,
            entries,
        })
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
        let token = self.token.map(|t| t.render()).unwrap_or_default();
        put_str(&mut out, &token);
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
                | bit(e.exec, EXEC)
                | bit(e.linked, LINKED);
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

/// Whether a file has more than one hard link.
pub fn linked(m: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        m.nlink() > 1
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        false
    }
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
            linked: exec,
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
            token: Some(crate::fsmonitor::Token { epoch: 1, seq: 2 }),
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
        assert_eq!(back.token, cache.token);
        assert_eq!(back.entries, cache.entries);
        // Cut short, or in the older text form: no cache at all, never a wrong entry.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(StatCache::load(&path).entries.is_empty());
        std::fs::write(&path, "salt\n12 1 1 1 - - f claude/x.md\n").unwrap();
        assert!(StatCache::load(&path).entries.is_empty());
    }
}
