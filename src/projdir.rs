//! Claude Code keeps a project's transcripts and auto memory under
//! `~/.claude/projects/<enc(path)>/`, where `enc` is a lossy, machine-specific encoding of the
//! absolute path. ctx stores those files under the project's identity instead and writes them
//! back under the folder name this machine's path encodes to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

/// Names longer than this are cut and suffixed with a hash (the client's rule).
const MAX_NAME: usize = 200;

/// Claude Code's folder name for `path` (already resolved): NFC, every UTF-16 unit outside
/// `[A-Za-z0-9]` replaced by `-`; over 200 units, the first 200, `-`, and base36 of the
/// absolute value of the Java-style hash of the path.
pub fn encode(path: &str) -> String {
    let nfc: String = path.nfc().collect();
    let units: Vec<u16> = nfc.encode_utf16().collect();
    let name: String = units
        .iter()
        .map(|&u| match u8::try_from(u) {
            Ok(b) if b.is_ascii_alphanumeric() => b as char,
            _ => '-',
        })
        .collect();
    if name.len() <= MAX_NAME {
        return name;
    }
    // The client is JavaScript: the hash is an i32, and its absolute value a double (so
    // |i32::MIN| does not overflow).
    let hash = units
        .iter()
        .fold(0i32, |h, &u| h.wrapping_mul(31).wrapping_add(u as i32));
    format!(
        "{}-{}",
        &name[..MAX_NAME],
        base36((hash as i64).unsigned_abs())
    )
}

/// The folder name for a real path: links resolved first, as the client does.
pub fn encode_path(path: &Path) -> String {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    encode(&real.to_string_lossy())
}

/// The key of a project's entry in `~/.claude.json`'s `projects`: the real path of the folder
/// Claude Code was started in, with forward slashes (as it writes them on Windows too).
pub fn claude_json_key(path: &Path) -> String {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let text = real.to_string_lossy();
    // Windows' canonical form is a verbatim path (`\\?\C:\x`); Claude Code writes `C:/x`.
    let text = text.strip_prefix(r"\\?\").unwrap_or(&text);
    text.replace('\\', "/")
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).to_string()
}

/// Where one project is checked out on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Here {
    /// The main worktree: auto memory lives under its folder name.
    pub main: PathBuf,
    /// Every worktree of the project on this machine (the main one included).
    pub worktrees: Vec<PathBuf>,
}

/// This machine's projects: identity slug (`projects/<id>.yaml`) -> where it is checked out.
pub type Roots = BTreeMap<String, Here>;

/// The worktree among `paths` that is the main one: the one whose `.git` is a folder (a linked
/// worktree's is a file), else the first.
pub fn main_of(paths: &[PathBuf]) -> Option<PathBuf> {
    paths
        .iter()
        .find(|p| p.join(".git").is_dir())
        .or_else(|| paths.first())
        .cloned()
}

/// The project of `roots` with a worktree containing `dir`, the deepest such worktree first:
/// (project id, that worktree).
pub fn project_of<'a>(roots: &'a Roots, dir: &Path) -> Option<(&'a str, &'a Path)> {
    roots
        .iter()
        .flat_map(|(id, h)| h.worktrees.iter().map(move |w| (id.as_str(), w.as_path())))
        .filter(|(_, w)| dir.starts_with(w))
        .max_by_key(|(_, w)| w.as_os_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claude_json_key_is_the_path_with_forward_slashes() {
        let key = claude_json_key(Path::new("/nonexistent/code/web app"));
        assert_eq!(key, "/nonexistent/code/web app");
    }

    #[test]
    fn every_unit_outside_ascii_alphanumerics_is_a_dash() {
        assert_eq!(encode("/home/ann/code/webapp"), "-home-ann-code-webapp");
        assert_eq!(encode("/Users/a.b/my_app-2"), "-Users-a-b-my-app-2");
        // Windows: the drive's colon and every backslash are units like any other.
        assert_eq!(encode(r"C:\Users\ann\code"), "C--Users-ann-code");
        // One unit per BMP character, two for one outside it (a surrogate pair).
        assert_eq!(encode("/home/zoë/é"), "-home-zo---");
        assert_eq!(encode("/p/😀"), "-p---");
    }

    #[test]
    fn paths_are_nfc_before_encoding() {
        // "é" decomposed (e + combining acute) is one unit once composed.
        assert_eq!(encode("/x/e\u{301}"), encode("/x/\u{e9}"));
        assert_eq!(encode("/x/e\u{301}"), "-x--");
    }

    #[test]
    fn long_paths_are_cut_and_hashed() {
        let long = format!("/home/ann/{}", "a".repeat(250));
        let name = encode(&long);
        assert_eq!(name.len(), 200 + 1 + name[201..].len());
        assert_eq!(&name[..200], &format!("-home-ann-{}", "a".repeat(190)));
        assert_eq!(name.as_bytes()[200], b'-');
        // Java's "…".hashCode(), absolute, in base 36: computed independently here.
        let mut h: i32 = 0;
        for u in long.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(u as i32);
        }
        let expect = base36((h as i64).unsigned_abs());
        assert_eq!(&name[201..], expect);
        // Exactly 200 units is not cut.
        let exact = format!("/{}", "b".repeat(199));
        assert_eq!(encode(&exact).len(), 200);
    }

    #[test]
    fn known_hash_values() {
        // "hello".hashCode() == 99162322 in Java; base36 "1n1e4y".
        let mut h: i32 = 0;
        for u in "hello".encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(u as i32);
        }
        assert_eq!(h, 99_162_322);
        assert_eq!(base36(99_162_322), "1n1e4y");
        assert_eq!(base36((i32::MIN as i64).unsigned_abs()), "zik0zk");
        assert_eq!(base36(0), "0");
    }

    #[test]
    fn a_subfolder_belongs_to_the_deepest_worktree() {
        let mut roots = Roots::new();
        let w = |p: &str| PathBuf::from(p);
        roots.insert(
            "a".into(),
            Here {
                main: w("/c/a"),
                worktrees: vec![w("/c/a")],
            },
        );
        roots.insert(
            "b".into(),
            Here {
                main: w("/c/a/vendor/b"),
                worktrees: vec![w("/c/a/vendor/b")],
            },
        );
        assert_eq!(
            project_of(&roots, Path::new("/c/a/src")).map(|p| p.0),
            Some("a")
        );
        assert_eq!(
            project_of(&roots, Path::new("/c/a/vendor/b/x")).map(|p| p.0),
            Some("b")
        );
        assert_eq!(project_of(&roots, Path::new("/c/ab")), None);
    }
}
