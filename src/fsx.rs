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
    let tmp = dir.join(format!(".{name}.ctx-{}.tmp", pid()));
    // An apply writes thousands of files: the old mode is looked up only when none is given.
    let mode = mode.or_else(|| existing_mode(path));
    let result = (|| {
        let (mut f, fix) = create_temp(&tmp, mode)?;
        f.write_all(bytes)?;
        #[cfg(unix)]
        if let Some(m) = fix {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(m))?;
        }
        #[cfg(not(unix))]
        let _ = fix;
        // No fsync: the rename is what makes the write atomic for every reader and for a process
        // killed at any point; syncing each of thousands of files on apply cost seconds (git
        // does not fsync work-tree files either).
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// This process's id, asked of the OS once (every temp file's name holds it).
fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// The temp file for a write that ends with `mode` (`None`: the umask's default), and the mode
/// still to set on it once written. A file others may read is created with its mode; any other
/// is private (0600) from the first byte, as its bytes may be decrypted secrets, and a kill
/// between writing and a later chmod must not leave them readable by others.
fn create_temp(tmp: &Path, mode: Option<u32>) -> std::io::Result<(std::fs::File, Option<u32>)> {
    #[cfg(unix)]
    {
        let want = mode.unwrap_or(0o666 & !umask());
        if want & 0o077 != 0 && want & 0o7000 == 0 {
            let f = create_new(tmp, want)?;
            // The umask may have taken bits off the mode asked for.
            let fix = (want & !umask() != want).then_some(want);
            return Ok((f, fix));
        }
        let f = create_new(tmp, 0o600)?;
        Ok((f, (want != 0o600).then_some(want)))
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        Ok((create_new(tmp, 0o600)?, None))
    }
}

/// A new file created with `mode` (less the umask); a leftover of a killed write is replaced.
fn create_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let open = || {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
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
        let (f, _) = create_temp(&tmp, Some(0o600)).unwrap_or_else(|e| panic!("create: {e}"));
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
        // An executable keeps its x bits; a file written again without a mode keeps its own.
        replace(&a, b"y", Some(0o755)).unwrap_or_else(|e| panic!("a: {e}"));
        assert_eq!(mode(&a), 0o755);
        replace(&a, b"z", None).unwrap_or_else(|e| panic!("a: {e}"));
        assert_eq!(mode(&a), 0o755);
        assert_eq!(std::fs::read(&a).unwrap_or_default(), b"z");
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
        replace(&b, b"w", None).unwrap_or_else(|e| panic!("b: {e}"));
        assert_eq!(mode(&b), 0o640);
    }
}
