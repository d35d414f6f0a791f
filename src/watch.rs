//! `ctx watch`: commit the live files after they have been quiet for a while, and run the
//! periodic sync. Watches the Claude home recursively and the folders holding `~/.claude.json`
//! and Claude Desktop's config (events filtered to those files). Watches are re-added when a
//! watched folder is deleted and created again, and files replaced by rename are seen through
//! their folder's watch. While it runs, it answers `status` and `commit` what changed since
//! their caches were written (`fsmonitor`), so they need not stat every file.
//!
//! ctx's own writes are ignored: the store and its state are never watched, and a commit after
//! ctx itself wrote a live file finds nothing to commit and prints nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer_opt, DebounceEventResult, NoCache};

use crate::capture::{CommitInfo, CommitOutcome};
use crate::env::Env;
use crate::lock::{Lock, LockError};
use crate::workspace::Workspace;

/// The default quiet period before a commit; `CTX_WATCH_QUIET_MS` overrides (tests use it).
pub const DEFAULT_QUIET: Duration = Duration::from_secs(2);

/// How often the loop wakes to check for a stop signal, recreated folders and the sync timer.
const TICK: Duration = Duration::from_millis(100);

/// How often a watch without its fsmonitor socket tries to set it up again.
const MONITOR_RETRY: Duration = Duration::from_secs(5);

/// How long a commit waits for another ctx process before trying again at the next event.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Set by SIGINT/SIGTERM; the loop stops at its next tick.
static STOP: AtomicBool = AtomicBool::new(false);

/// Errors of `ctx watch`.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The OS file watcher failed.
    #[error("cannot watch the files: {0}")]
    Notify(#[from] notify::Error),
    /// A duration flag does not parse.
    #[error("`{0}` is not a duration (use e.g. 30s, 10m, 1h)")]
    BadDuration(String),
}

/// Errors of one commit or sync round; `ctx watch` reports them and keeps watching.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// The store's lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The store.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
    /// The periodic sync.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// The periodic sync left files in conflict.
    #[error("the periodic sync left {} in conflict; run `ctx status` and `ctx resolve`", .0.join(", "))]
    Conflicts(Vec<String>),
}

/// Parses `30s`, `10m`, `1h`, `500ms`, `1h30m`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, WatchError> {
    let bad = || WatchError::BadDuration(text.to_string());
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let per = match &rest[..unit] {
            "ms" => Duration::from_millis(1),
            "s" | "sec" => Duration::from_secs(1),
            "m" | "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86400),
            _ => return Err(bad()),
        };
        rest = &rest[unit..];
        total += per * u32::try_from(n).map_err(|_| bad())?;
    }
    if total.is_zero() {
        return Err(bad());
    }
    Ok(total)
}

/// The quiet period: `CTX_WATCH_QUIET_MS`, else two seconds.
pub fn quiet_period() -> Duration {
    std::env::var("CTX_WATCH_QUIET_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_QUIET)
}

/// Whether a changed path is one ctx captures (or a folder on the way to one).
pub fn relevant(env: &Env, path: &Path) -> bool {
    if path == env.claude_json || path == env.desktop_config {
        return true;
    }
    if path.starts_with(&env.store_dir) {
        return false;
    }
    match path.strip_prefix(&env.claude_dir) {
        Ok(rel) => match rel.components().next() {
            None => true,
            Some(first) => {
                let first = first.as_os_str().to_string_lossy();
                !crate::capture::NEVER.contains(&first.as_ref())
            }
        },
        Err(_) => false,
    }
}

/// Captures and commits the live files under the store's lock.
pub fn commit_now(env: &Env) -> Result<CommitOutcome, RoundError> {
    let _lock = Lock::acquire(&env.state_dir(), "watch", LOCK_WAIT)?;
    let mut ws = Workspace::open(env.clone())?;
    Ok(crate::commit::commit(&mut ws, Default::default())?)
}

/// The periodic action of `ctx watch --sync-every`: a full `ctx sync` under the store's lock.
/// Returns what its commit of live changes did.
pub fn sync_hook(env: &Env) -> Result<CommitOutcome, RoundError> {
    let _lock = Lock::acquire(&env.state_dir(), "watch (sync)", LOCK_WAIT)?;
    let report = crate::sync::sync(env, crate::sync::SyncOptions::default())?;
    if !report.conflicts.is_empty() {
        return Err(RoundError::Conflicts(
            report.conflicts.iter().map(|c| c.path.clone()).collect(),
        ));
    }
    Ok(CommitOutcome {
        committed: report.committed,
        ..Default::default()
    })
}

/// What the watch loop reports.
pub enum Report {
    /// Watching these paths.
    Watching(Vec<PathBuf>),
    /// A commit was made.
    Committed(CommitInfo),
    /// A changed file was not committed, and why.
    HeldBack(String),
    /// A round failed; watching goes on.
    Failed(String),
}

fn inode(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.ino())
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| 0)
    }
}

type Debouncer = notify_debouncer_full::Debouncer<notify::RecommendedWatcher, NoCache>;

/// The watched roots, with the inode each had when its watch was added, to notice a root that
/// was deleted and created again.
struct Roots {
    wanted: Vec<(PathBuf, RecursiveMode)>,
    added: BTreeMap<PathBuf, Option<u64>>,
}

impl Roots {
    /// The Claude home recursively; the parents flat, to see the files in them and a deleted
    /// home recreated.
    fn new(env: &Env) -> Roots {
        let mut wanted = vec![(env.claude_dir.clone(), RecursiveMode::Recursive)];
        for p in [&env.claude_dir, &env.claude_json, &env.desktop_config] {
            if let Some(parent) = p.parent() {
                if !wanted.iter().any(|(w, _)| w == parent) {
                    wanted.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
                }
            }
        }
        Roots {
            wanted,
            added: BTreeMap::new(),
        }
    }

    /// Re-adds watches whose root was recreated. True when one was (re-)added, so whatever
    /// happened meanwhile gets committed.
    fn refresh(&mut self, debouncer: &mut Debouncer) -> bool {
        let mut added = false;
        for (path, mode) in &self.wanted {
            let now = inode(path);
            let had = self.added.get(path).copied().flatten();
            if now == had && (now.is_none() || self.added.contains_key(path)) {
                continue;
            }
            if self.added.remove(path).is_some() {
                let _ = debouncer.unwatch(path);
            }
            if now.is_some() && debouncer.watch(path, *mode).is_ok() {
                self.added.insert(path.clone(), now);
                added = true;
            }
        }
        added
    }
}

/// Whether a batch of watcher events touched something ctx captures; errors are reported.
fn touched(env: &Env, events: DebounceEventResult, report: &mut impl FnMut(Report)) -> bool {
    match events {
        Ok(events) => events
            .iter()
            .any(|e| e.paths.iter().any(|p| relevant(env, p))),
        Err(errors) => {
            // A vanished watch root shows up here; the refresh re-adds it.
            for e in errors {
                if !matches!(e.kind, notify::ErrorKind::WatchNotFound) {
                    report(Report::Failed(format!("watcher: {e}")));
                }
            }
            false
        }
    }
}

/// Watches until SIGINT/SIGTERM; calls `report` for every commit and failure.
pub fn run(
    env: &Env,
    quiet: Duration,
    sync_every: Option<Duration>,
    mut report: impl FnMut(Report),
) -> Result<(), WatchError> {
    install_stop_handlers();
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    // No file-id cache: it would walk the whole Claude home (transcripts included) at start, and
    // ctx needs only "something changed", not renames stitched together.
    let mut debouncer = new_debouncer_opt::<_, notify::RecommendedWatcher, NoCache>(
        quiet,
        None,
        tx,
        NoCache,
        notify::Config::default(),
    )?;
    let mut roots = Roots::new(env);
    roots.refresh(&mut debouncer);
    // Answers `status` and `commit` what changed, so they need not stat every file.
    let start_monitor = || crate::fsmonitor::Server::start(&env.state_dir(), &env.claude_dir);
    let mut monitor = start_monitor();
    let mut monitor_tried = Instant::now();
    report(Report::Watching(
        roots.wanted.iter().map(|(p, _)| p.clone()).collect(),
    ));
    // What changed while nobody watched.
    let mut pending = true;
    let mut retry_at = Instant::now();
    let mut next_sync = sync_every.map(|d| Instant::now() + d);
    let mut waiting_for_home = false;
    while !STOP.load(Ordering::SeqCst) {
        match rx.recv_timeout(TICK) {
            Ok(events) => pending |= touched(env, events, &mut report),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if roots.refresh(&mut debouncer) {
            pending = true;
            if let Some(m) = monitor.as_mut() {
                m.rewatch();
            }
        }
        // A watch that was stopping still held the socket when this one started.
        if monitor.is_none() && monitor_tried.elapsed() > MONITOR_RETRY {
            monitor = start_monitor();
            monitor_tried = Instant::now();
        }
        let sync_due = next_sync.is_some_and(|t| Instant::now() >= t);
        if !(pending || sync_due) || Instant::now() < retry_at {
            continue;
        }
        // A Claude home moved away for a moment must not be committed as everything deleted.
        if !env.claude_dir.is_dir() {
            if !waiting_for_home {
                report(Report::Failed(format!(
                    "{} is missing; nothing is committed until it is back",
                    env.display(&env.claude_dir)
                )));
                waiting_for_home = true;
            }
            continue;
        }
        waiting_for_home = false;
        let result = if sync_due {
            next_sync = sync_every.map(|d| Instant::now() + d);
            sync_hook(env)
        } else {
            commit_now(env)
        };
        match result {
            Ok(outcome) => {
                if let Some(info) = outcome.committed {
                    report(Report::Committed(info));
                }
                for n in outcome.notes {
                    report(Report::HeldBack(n));
                }
                for h in outcome.held_back {
                    report(Report::HeldBack(format!("{h} ({})", h.hint())));
                }
                pending = false;
            }
            Err(e) => {
                report(Report::Failed(e.to_string()));
                // Keep the change pending, but do not spin on a failing store.
                retry_at = Instant::now() + quiet.max(Duration::from_secs(1));
            }
        }
    }
    debouncer.stop();
    drop(monitor);
    Ok(())
}

#[cfg(unix)]
extern "C" fn on_stop_signal(_: libc::c_int) {
    // Only an atomic store: the one thing that is safe in a signal handler.
    STOP.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM set the stop flag instead of killing the process mid-commit.
#[cfg(unix)]
fn install_stop_handlers() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

#[cfg(not(unix))]
fn install_stop_handlers() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_people_write_them() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        for bad in ["", "m", "10x", "0s", "-1m", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_captured_paths_are_relevant() {
        let env = Env {
            home: "/h".into(),
            config_dir: "/h/.config/ctx".into(),
            store_dir: "/h/.local/share/ctx/store".into(),
            claude_dir: "/h/.claude".into(),
            claude_json: "/h/.claude.json".into(),
            desktop_config: "/h/.config/Claude/claude_desktop_config.json".into(),
            hostname: "m".into(),
            projects: Default::default(),
        };
        assert!(relevant(&env, Path::new("/h/.claude/settings.json")));
        assert!(relevant(&env, Path::new("/h/.claude/skills/x/SKILL.md")));
        assert!(relevant(&env, Path::new("/h/.claude.json")));
        assert!(!relevant(&env, Path::new("/h/.claude/todos/a.json")));
        assert!(!relevant(&env, Path::new("/h/.bashrc")));
        assert!(!relevant(&env, Path::new("/h/.config/Claude/other.json")));
    }
}
