//! File writes that never leave a half-written file: temp file in the same folder, then rename.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically. The mode is `mode` if given, else the old file's mode,
/// else the default; parent folders are created.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    replace(path, bytes, mode)
}

/// `write_atomic` for a path whose folder is known to exist.
pub fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.ctx-{}.tmp", std::process::id()));
    let old_mode = existing_mode(path);
    let result = (|| {
        // Private from the first byte: the bytes may be decrypted secrets, and a kill between
        // writing and a later chmod must not leave them readable by others.
        let mut f = create_private(&tmp)?;
        f.write_all(bytes)?;
        // No fsync: the rename is what makes the write atomic for every reader and for a process
        // killed at any point; syncing each of thousands of files on apply cost seconds (git
        // does not fsync work-tree files either).
        drop(f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = mode.or(old_mode).unwrap_or(0o666 & !umask());
            if m != 0o600 {
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m))?;
            }
        }
        #[cfg(not(unix))]
        let _ = (mode, old_mode);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file only its owner can read or write (a leftover of a killed write is replaced).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let open = || {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

/// The process's umask, read without changing it (setting it to read it would race with the
/// apply's writer threads): Linux reports it in /proc; elsewhere the usual 022 is assumed.
#[cfg(unix)]
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_: &Path) -> Option<u32> {
    None
}

/// The mode of a file that holds decrypted secrets: its own if it exists, else 0600.
pub fn private_mode(path: &Path) -> Option<u32> {
    Some(existing_mode(path).unwrap_or(0o600))
}

/// The mode a file with this exec bit should get: the old mode with x bits set or cleared. A
/// new file is 0644, or 0600 when `private` (it holds decrypted secrets: `~/.claude.json`,
/// Claude Desktop's config, settings).
pub fn mode_for(path: &Path, exec: bool, private: bool) -> Option<u32> {
    let fresh = if private { 0o600 } else { 0o644 };
    let base = existing_mode(path).unwrap_or(fresh);
    let m = if exec {
        base | ((base & 0o444) >> 2)
    } else {
        base & !0o111
    };
    Some(m)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_temp_file_is_private_from_its_first_byte() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let tmp = dir.path().join(".x.ctx-1.tmp");
        std::fs::write(&tmp, "stale").unwrap_or_else(|e| panic!("write: {e}"));
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
        let f = create_private(&tmp).unwrap_or_else(|e| panic!("create: {e}"));
        let mode = f
            .metadata()
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "before any byte is written");
    }

    #[test]
    fn a_new_file_gets_the_mode_asked_for_or_the_umask_default() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        replace(&a, b"x", Some(0o600)).unwrap_or_else(|e| panic!("a: {e}"));
        replace(&b, b"x", None).unwrap_or_else(|e| panic!("b: {e}"));
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&a), 0o600);
        assert_eq!(mode(&b), 0o666 & !umask());
    }
}
