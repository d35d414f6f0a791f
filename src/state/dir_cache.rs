//! The folder-listing cache: what each captured folder held when its stat data was last seen,
//! so a no-op `status` reads no unchanged folder (git's untracked cache does the same).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;

use super::cache::{stat_of, FastHash, Stat};
use crate::fsmonitor::Token;

/// A folder's entries, packed as `<kind><name>\0` each (kind one of `d`, `f`, `l` for a
/// symlink, `o`), in one buffer shared with every listing the cache file held: a cache hit
/// hands out the names without an allocation each (a `String` per name was a sixth of a no-op
/// `status`). No file name holds a NUL.
#[derive(Debug, Clone)]
pub struct Listing {
    text: Rc<str>,
    range: Range<usize>,
}

impl Listing {
    /// A listing of (name, kind) entries, in the order given.
    pub fn new(entries: &[(String, u8)]) -> Listing {
        let mut text = String::with_capacity(entries.iter().map(|(n, _)| n.len() + 2).sum());
        for (name, kind) in entries {
            text.push(char::from(*kind));
            text.push_str(name);
            text.push('\0');
        }
        let range = 0..text.len();
        Listing {
            text: text.into(),
            range,
        }
    }

    /// Its entries: (name, kind).
    pub fn iter(&self) -> impl Iterator<Item = (&str, u8)> {
        self.packed()
            .split_terminator('\0')
            .filter_map(|e| Some((e.get(1..)?, *e.as_bytes().first()?)))
    }

    fn packed(&self) -> &str {
        self.text.get(self.range.clone()).unwrap_or_default()
    }
}

/// The first line of the cache file; any other content (an older format) is no cache.
const MAGIC: &str = "ctx-dir-cache 3\n";

/// Folder listings keyed by the folder's (mtime, ctime, inode): a folder whose mtime has not
/// moved has the same entries (creating, deleting or renaming an entry updates it), so `status`
/// need not read it again. A folder changed within the last 2 seconds is never cached, for the
/// same reason as in the stat cache.
#[derive(Debug, Default)]
pub struct DirCache {
    /// Folder (its path's bytes) -> its stat data, its listing, and whether this walk visited it.
    dirs: HashMap<Box<[u8]>, (Stat, Listing, bool), FastHash>,
    dirty: bool,
    /// The watch's token the listings are valid as of (see `fsmonitor`).
    token: Option<Token>,
}

/// The bytes of a path, the cache's key.
fn key_of(dir: &Path) -> &[u8] {
    dir.as_os_str().as_encoded_bytes()
}

impl DirCache {
    /// Loads the cache; a missing, damaged or older-format file is an empty cache.
    pub fn load(path: &Path) -> DirCache {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| Self::parse(t.into()))
            .unwrap_or_default()
    }

    /// Each folder: `D <mtime> <ctime> <ino> <bytes> <path>\n`, then that many bytes of packed
    /// listing and a newline.
    fn parse(text: Rc<str>) -> Option<DirCache> {
        let mut cache = DirCache::default();
        text.get(..MAGIC.len()).filter(|m| *m == MAGIC)?;
        let token_end = MAGIC.len() + text.get(MAGIC.len()..)?.find('\n')?;
        let token = text.get(MAGIC.len()..token_end)?.strip_prefix("T ")?;
        cache.token = Token::parse(token);
        let mut at = token_end + 1;
        while at < text.len() {
            let line_end = at + text.get(at..)?.find('\n')?;
            let mut rest = text.get(at..line_end)?.strip_prefix("D ")?;
            let mut field = || {
                let i = rest.find(' ')?;
                let (f, r) = (rest.get(..i)?, rest.get(i + 1..)?);
                rest = r;
                Some(f)
            };
            let mtime = i128::from(field()?.parse::<i64>().ok()?);
            let ctime = i128::from(field()?.parse::<i64>().ok()?);
            let ino: u64 = field()?.parse().ok()?;
            let len: usize = field()?.parse().ok()?;
            let range = line_end + 1..line_end + 1 + len;
            let packed = text.get(range.clone())?;
            if !(packed.is_empty() || packed.ends_with('\0'))
                || text.as_bytes().get(range.end) != Some(&b'\n')
            {
                return None;
            }
            let listing = Listing {
                text: text.clone(),
                range: range.clone(),
            };
            let key: Box<[u8]> = rest.as_bytes().into();
            cache
                .dirs
                .insert(key, ((0, mtime, ctime, ino), listing, false));
            at = range.end + 1;
        }
        Some(cache)
    }

    fn key(meta: &std::fs::Metadata) -> Option<Stat> {
        stat_of(meta).map(|(_, m, c, i)| (0, m, c, i))
    }

    /// The token the listings are valid as of.
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// The cached listing of `dir`, unchecked: the watch saw no change to it since the token.
    pub fn get_trusted(&mut self, dir: &Path) -> Option<Listing> {
        let (_, l, seen) = self.dirs.get_mut(key_of(dir))?;
        *seen = true;
        Some(l.clone())
    }

    /// Whether [`DirCache::save`] would write: a listing was added, changed or not seen.
    pub fn needs_save(&self) -> bool {
        self.dirty || self.dirs.values().any(|(_, _, seen)| !seen)
    }

    /// The cached listing of `dir`, if its stat data still matches.
    pub fn get(&mut self, dir: &Path, meta: &std::fs::Metadata) -> Option<Listing> {
        let key = Self::key(meta)?;
        match self.dirs.get_mut(key_of(dir)) {
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
        let old_enough = now - key.1 > 2_000_000_000 && now - key.2 > 2_000_000_000;
        let path = key_of(dir);
        // The path ends its header line; a name may hold anything but NUL.
        let line_safe = !path.iter().any(|b| *b == b'\n' || *b == b'\r');
        if old_enough && line_safe && std::str::from_utf8(path).is_ok() {
            self.dirs.insert(path.into(), (key, listing.clone(), true));
            self.dirty = true;
        } else if self.dirs.remove(path).is_some() {
            self.dirty = true;
        }
    }

    /// Saves the cache, valid as of `token`, if it changed or its token differs; drops folders
    /// this walk did not visit (gone, or no longer captured).
    pub fn save(&mut self, path: &Path, token: Option<Token>) -> std::io::Result<()> {
        let before = self.dirs.len();
        self.dirs.retain(|_, (_, _, seen)| *seen);
        if !self.dirty && self.dirs.len() == before && token == self.token {
            return Ok(());
        }
        self.token = token;
        let mut text = String::with_capacity(MAGIC.len() + self.dirs.len() * 200);
        text.push_str(MAGIC);
        text.push_str("T ");
        text.push_str(&token.map(|t| t.render()).unwrap_or_else(|| "-".into()));
        text.push('\n');
        for (dir, ((_, m, c, i), listing, _)) in &self.dirs {
            let packed = listing.packed();
            text.push_str(&format!(
                "D {m} {c} {i} {} {}\n",
                packed.len(),
                String::from_utf8_lossy(dir)
            ));
            text.push_str(packed);
            text.push('\n');
        }
        crate::fsx::write_atomic(path, text.as_bytes(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_read_back_as_saved_and_a_damaged_or_old_file_is_no_cache() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("skills");
        std::fs::create_dir(&folder).unwrap();
        let meta = std::fs::metadata(&folder).unwrap();
        let file = d.path().join("dir-cache");
        let entries = vec![
            ("SKILL.md".to_string(), b'f'),
            ("odd\nname é".to_string(), b'f'),
            ("references".to_string(), b'd'),
        ];
        let mut cache = DirCache::default();
        let key = DirCache::key(&meta).unwrap();
        // Inserted as an old folder would be: `put` keeps only folders older than 2 s.
        cache
            .dirs
            .insert(key_of(&folder).into(), (key, Listing::new(&entries), true));
        cache.dirty = true;
        let token = Token { epoch: 9, seq: 3 };
        cache.save(&file, Some(token)).unwrap();
        let mut back = DirCache::load(&file);
        assert_eq!(back.token(), Some(token));
        assert!(back.get_trusted(&folder).is_some());
        let got: Vec<(String, u8)> = back
            .get(&folder, &meta)
            .unwrap()
            .iter()
            .map(|(n, k)| (n.to_string(), k))
            .collect();
        assert_eq!(got, entries);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 2]).unwrap();
        assert!(DirCache::load(&file).dirs.is_empty());
        std::fs::write(&file, "D 1 1 1 1 /x\nfname\n").unwrap();
        assert!(DirCache::load(&file).dirs.is_empty());
    }
}
