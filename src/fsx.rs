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
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // No fsync: the rename is what makes the write atomic for every reader and for a process
        // killed at any point; syncing each of thousands of files on apply cost seconds (git
        // does not fsync work-tree files either).
        drop(f);
        #[cfg(unix)]
        if let Some(m) = mode.or(old_mode) {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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

/// The mode a file with this exec bit should get: the old mode with x bits set or cleared.
pub fn mode_for(path: &Path, exec: bool) -> Option<u32> {
    let base = existing_mode(path).unwrap_or(0o644);
    let m = if exec {
        base | ((base & 0o444) >> 2)
    } else {
        base & !0o111
    };
    Some(m)
}
