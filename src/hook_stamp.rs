//! What a post-commit hook last found, so the next one can tell in a few stats that nothing it
//! looks at has changed and return without opening either repository. A `git commit` runs the
//! hook every time; most find the project recorded and its personal files stored.
//!
//! The stamp (`ctx-hook-stamp` in the project's `.git` folder) holds everything the hook's
//! outcome depends on: ctx's version, the worktree, the project's HEAD and config, the store's
//! `main`, and the stat data of each personal file. It is trusted for ten minutes, so a
//! project's `last_seen` is at most that much staler than `LAST_SEEN_EVERY` allows. Linked
//! worktrees (`.git` is a file) always take the full path.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::env::Env;
use crate::project::PERSONAL;

const FILE: &str = "ctx-hook-stamp";
/// How long a stamp is trusted.
const TRUSTED_FOR: Duration = Duration::from_secs(600);
/// A file changed this recently could change again within its timestamps' granularity.
const SETTLED: Duration = Duration::from_secs(2);

/// The main worktree's git folder under `worktree`, if `.git` is a folder.
fn git_dir(worktree: &Path) -> Option<PathBuf> {
    let dir = worktree.join(".git");
    std::fs::symlink_metadata(&dir)
        .ok()
        .filter(|m| m.is_dir())
        .map(|_| dir)
}

/// What the hook's outcome depends on, as text; `None` when something is too fresh to trust.
fn key(env: &Env, worktree: &Path, git: &Path) -> Option<String> {
    let now = SystemTime::now();
    let mut out = format!("{}\n{}\n", env!("CARGO_PKG_VERSION"), worktree.display());
    let add_stat = |out: &mut String, path: &Path| -> Option<()> {
        match std::fs::metadata(path) {
            Ok(m) => {
                let changed = m.modified().ok()?;
                if now.duration_since(changed).unwrap_or_default() < SETTLED {
                    return None;
                }
                let st = crate::state::stat_of(&m)?;
                out.push_str(&format!("{} {} {} {}\n", st.0, st.1, st.2, st.3));
            }
            Err(_) => out.push_str("-\n"),
        }
        Some(())
    };
    out.push_str(&std::fs::read_to_string(git.join("HEAD")).ok()?);
    add_stat(&mut out, &git.join("config"))?;
    let store = &env.store_dir;
    let main = std::fs::read_to_string(store.join(crate::store::MAIN)).unwrap_or_default();
    out.push_str(&format!("main {}\n", main.trim()));
    add_stat(&mut out, &store.join("packed-refs"))?;
    for rel in PERSONAL {
        add_stat(&mut out, &worktree.join(rel))?;
    }
    Some(out)
}

/// ctx's clock (tests pin it), in seconds.
fn now_secs() -> u64 {
    u64::try_from(crate::clock::now().as_second()).unwrap_or(0)
}

/// Whether the stamp in the worktree at `cwd` says the hook has nothing to do.
pub fn fresh(env: &Env, cwd: &Path) -> bool {
    let Some(git) = git_dir(cwd) else {
        return false;
    };
    let Ok(text) = std::fs::read_to_string(git.join(FILE)) else {
        return false;
    };
    let Some((written, rest)) = text.split_once('\n') else {
        return false;
    };
    let age = now_secs().checked_sub(written.parse().unwrap_or(u64::MAX));
    age.is_some_and(|a| a < TRUSTED_FOR.as_secs()) && key(env, cwd, &git).as_deref() == Some(rest)
}

/// Records that the hook at `cwd` found nothing left to do. Only a shortcut: when it cannot be
/// written, the next hook does the full work.
pub fn write(env: &Env, cwd: &Path) {
    let Some(git) = git_dir(cwd) else { return };
    if let Some(k) = key(env, cwd, &git) {
        let text = format!("{}\n{k}", now_secs());
        let _ = crate::fsx::write_atomic(&git.join(FILE), text.as_bytes(), None);
    }
}
