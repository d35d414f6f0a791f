//! One writer at a time on a machine's store: a hook, `ctx watch` and a manual `ctx sync` take
//! this lock before they change the store or the live files. It is an OS advisory lock
//! (`flock`), so a process killed with `kill -9` releases it and nothing stale is left behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Errors taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another ctx process holds it and did not let go in time.
    #[error("another ctx process ({holder}) is using the store")]
    Busy {
        /// Who holds it, as it wrote itself into the lock file.
        holder: String,
    },
    /// The lock file cannot be opened.
    #[error("cannot open the lock file {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; released on drop (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// How long a command waits for the lock by default; `CTX_LOCK_WAIT` (seconds) overrides.
pub fn default_wait() -> Duration {
    std::env::var("CTX_LOCK_WAIT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(30))
}

impl Lock {
    /// Takes the lock in `dir` (the store's state dir), waiting at most `wait`.
    pub fn acquire(dir: &Path, what: &str, wait: Duration) -> Result<Lock, LockError> {
        let path = dir.join("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait {
                        let mut holder = String::new();
                        let _ = file.read_to_string(&mut holder);
                        let holder = holder.trim();
                        return Err(LockError::Busy {
                            holder: if holder.is_empty() {
                                "unknown".into()
                            } else {
                                holder.to_string()
                            },
                        });
                    }
                    std::thread::sleep(pause.min(wait.saturating_sub(start.elapsed())));
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        inherit_into_children(&file);
        clear_stale_git_locks(dir.parent().unwrap_or(dir));
        // Who holds it, for the message another process prints; best effort.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "pid {} running `ctx {what}`", std::process::id());
        Ok(Lock { _file: file })
    }
}

/// The git processes ctx starts (fetch, push) inherit the locked file, so if ctx is killed while
/// one runs, the lock stays held until that orphan finishes too: the next ctx waits for it
/// instead of racing it on the store's refs.
#[cfg(unix)]
fn inherit_into_children(file: &File) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns; only the close-on-exec flag
    // changes.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
    }
}

#[cfg(not(unix))]
fn inherit_into_children(_: &File) {}

/// A ctx process killed while moving a ref leaves git's `<ref>.lock` behind, and every later
/// ref update would fail on it. Whoever holds ctx's lock is the store's only writer, so such
/// files are leftovers: remove them.
fn clear_stale_git_locks(git_dir: &Path) {
    if !git_dir.join("HEAD").is_file() {
        return;
    }
    fn walk(dir: &Path) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&p),
                Ok(_) if p.extension().is_some_and(|x| x == "lock") => {
                    let _ = std::fs::remove_file(&p);
                }
                _ => {}
            }
        }
    }
    walk(&git_dir.join("refs"));
    for name in [
        "packed-refs.lock",
        "HEAD.lock",
        "config.lock",
        "shallow.lock",
    ] {
        let _ = std::fs::remove_file(git_dir.join(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_then_reports_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "sync", Duration::ZERO).unwrap();
        let err = Lock::acquire(dir.path(), "commit", Duration::from_millis(50)).unwrap_err();
        assert!(err.to_string().contains("another ctx process"), "{err}");
        assert!(matches!(err, LockError::Busy { ref holder } if holder.contains("ctx sync")));
        drop(first);
        Lock::acquire(dir.path(), "commit", Duration::ZERO).unwrap();
    }
}
