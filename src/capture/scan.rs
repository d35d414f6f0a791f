//! The allow-list walk: which live files ctx captures (the built-in lists plus `include:`/`exclude:`),
//! and the entries of the Claude home it leaves untracked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::walk::{walk, Walk, FORBIDDEN};
use crate::codec::CaptureError;
use crate::fsmonitor::{Mode, Trust};
use crate::layout::Source;
use serde_json::Value;

/// Folders under the Claude home captured whole.
pub const DIRS: &[&str] = &[
    "skills",
    "agents",
    "commands",
    "rules",
    "output-styles",
    "workflows",
    "themes",
    "hooks",
    // Memory of agents with `memory: user`: the person's, on every machine.
    "agent-memory",
];

/// Single files under the Claude home captured when present.
pub const FILES: &[&str] = &["settings.json", "CLAUDE.md", "keybindings.json"];

/// Never captured, whatever ctx.yaml says: credentials, caches, runtime state, and files that
/// leak secrets (shell snapshots hold exported variables; IDE lock files hold auth tokens).
pub const NEVER: &[&str] = &[
    ".credentials.json",
    ".claude.json",
    "shell-snapshots",
    "ide",
    "backups",
    "history.jsonl",
    "file-history",
    "plugins",
    "statsig",
    "todos",
    "logs",
    "debug",
    "session-env",
    "sessions",
    "tasks",
    "plans",
    "paste-cache",
    "image-cache",
    "uploads",
    "feedback-bundles",
    "usage-data",
    "stats-cache.json",
    "cache",
    "telemetry",
    "remote-settings.json",
    "policy-limits.json",
    "projects",
    "settings.local.json",
    ".DS_Store",
];

/// Folders inside captured ones that are never captured nor written: claude.ai's own sync
/// writes them.
pub const NEVER_UNDER: &[&str] = &["skills/synced", "plugins/synced"];

/// Names skipped inside captured folders: version control, dependency caches, editor litter.
pub(crate) const SKIP_NAMES: &[&str] =
    &[".git", "node_modules", ".venv", "__pycache__", ".DS_Store"];

/// One live file on the allow-list.
#[derive(Debug, Clone)]
pub struct LiveFile {
    /// Where it goes in the store.
    pub store_path: String,
    /// Where it lives.
    pub live_path: PathBuf,
    /// Whole file or one key of it.
    pub source: Source,
    /// Stat data read during the scan (size, mtime ns, ctime ns, inode), for the stat cache.
    pub stat: Option<crate::state::Stat>,
    /// More than one hard link: a write through another name is invisible to a watch of this
    /// folder, so no watch vouches for it.
    pub linked: bool,
}

/// What a scan of the live locations found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Files on the allow-list, sorted by store path.
    pub files: Vec<LiveFile>,
    /// Entries under the Claude home on no list, shown by `ctx status`.
    pub untracked: Vec<String>,
    /// Store paths not captured because a symlink leads out of their folder or into ctx's own
    /// files, with why: neither changed nor deleted, and named in a warning.
    pub skipped: Vec<(String, String)>,
    /// Files a running watch vouched for, taken without a stat.
    pub vouched: usize,
}

/// Where the live files are.
pub struct Locations<'a> {
    /// `~/.claude`
    pub claude_dir: &'a Path,
    /// `~/.claude.json`
    pub claude_json: &'a Path,
    /// Claude Desktop's config.
    pub desktop_config: &'a Path,
    /// Folders nothing is ever captured from, whatever link leads there: ctx's config folder
    /// (the machine's key) and the store.
    pub forbidden: &'a [PathBuf],
    /// This machine's projects, whose auto memory is captured under their identity.
    pub projects: &'a crate::projdir::Roots,
}

/// Whether `path`, links resolved, lies inside one of `dirs` (resolved too).
pub fn inside(path: &Path, dirs: &[PathBuf]) -> bool {
    inside_real(path, &resolved(dirs))
}

/// [`inside`] for folders already resolved: a scan resolves ctx's own folders once, not at
/// every top-level entry (each resolution is a system call per path component).
pub(super) fn inside_real(path: &Path, real_dirs: &[PathBuf]) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    real_dirs.iter().any(|d| real.starts_with(d))
}

/// ctx's own folders with links resolved; one that does not exist cannot hold anything.
pub(super) fn resolved(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect()
}

/// Whether a path relative to the Claude home is never captured, or excluded by ctx.yaml.
pub fn excluded(rel: &str, exclude: &[String]) -> bool {
    // NEVER names top-level entries only, so the first segment decides.
    NEVER.contains(&rel.split('/').next().unwrap_or(rel))
        || NEVER_UNDER.iter().any(|n| crate::layout::under(rel, n))
        || exclude.iter().any(|e| crate::layout::under(rel, e))
}

/// What a scan may take instead of reading the disk.
pub struct Reuse<'a> {
    /// The listing cache.
    pub listings: Option<&'a mut crate::state::DirCache>,
    /// What a running watch vouches for (`None`: nothing, every file is stat'ed).
    pub trust: Option<&'a Trust>,
    /// The stat cache's data for a store path.
    pub stat: &'a dyn Fn(&str) -> Option<crate::state::Stat>,
    /// How many files the last scan found, to size the list once (the arena never reuses the
    /// memory a growing list leaves behind).
    pub expect: usize,
}

impl Reuse<'_> {
    /// How far the watch vouches for the captured folder `path`, whose tree (links resolved) is
    /// `tree`: nothing behind a link, which the watch does not see through.
    fn mode(&self, path: &Path, tree: &Path, real_root: Option<&Path>, rel: &str) -> Mode {
        match (self.trust, real_root) {
            (Some(t), Some(r)) if tree == r.join(rel) => t.top(path),
            _ => Mode::Untrusted,
        }
    }
}

/// Lists every live file on the allow-list. `include` and `exclude` come from ctx.yaml.
pub fn scan(
    loc: &Locations,
    include: &[String],
    exclude: &[String],
    reuse: Reuse,
) -> Result<Scan, CaptureError> {
    let mut reuse = reuse;
    let mut scan = Scan::default();
    scan.files.reserve(reuse.expect + 16);
    let forbidden = resolved(loc.forbidden);
    let loc = &Locations {
        forbidden: &forbidden,
        ..*loc
    };
    let root = loc.claude_dir;
    let real_root = reuse.trust.and_then(|_| std::fs::canonicalize(root).ok());
    sweep_temps(root);
    let under = crate::layout::under;
    let excluded = |rel: &str| excluded(rel, exclude);
    let mut wanted: BTreeSet<String> = FILES.iter().map(|s| s.to_string()).collect();
    wanted.extend(DIRS.iter().map(|s| s.to_string()));
    wanted.extend(statusline_scripts(root));
    for inc in include {
        let inc = inc.trim_matches('/');
        if !inc.is_empty() && !inc.split('/').any(|p| p == "..") {
            wanted.insert(inc.to_string());
        }
    }
    for rel in &wanted {
        if excluded(rel) {
            continue;
        }
        let path = root.join(rel);
        if inside_real(&path, loc.forbidden) {
            scan.skipped
                .push((format!("claude/{rel}"), FORBIDDEN.into()));
            continue;
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(CaptureError::Unreadable { path, source }),
        };
        if meta.is_dir() {
            let mut stack = Vec::new();
            // Inside a captured folder only `exclude:` can apply (NEVER names top-level entries).
            let inner = |r: &str| {
                NEVER_UNDER.iter().any(|n| under(r, n)) || exclude.iter().any(|e| under(r, e))
            };
            // A top-level entry may be a link (stow style); its tree is where the link leads.
            let tree = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            let mode = reuse.mode(&path, &tree, real_root.as_deref(), rel);
            let mut ctx = Walk {
                stack: &mut stack,
                out: &mut scan.files,
                excluded: &inner,
                listings: reuse.listings.as_deref_mut(),
                tree,
                depth: 0,
                forbidden: loc.forbidden,
                skipped: &mut scan.skipped,
                trust: reuse.trust,
                mode,
                cached: reuse.stat,
                vouched: 0,
            };
            walk(&path, rel, Some(&meta), &mut ctx)?;
            scan.vouched += ctx.vouched;
        } else {
            scan.files.push(LiveFile {
                store_path: format!("claude/{rel}"),
                stat: crate::state::stat_of(&meta),
                linked: crate::state::linked(&meta),
                live_path: path,
                source: Source::Whole,
            });
        }
    }
    scan.untracked = untracked(root, &wanted, &excluded);
    shared_files(loc, &mut scan);
    memory_files(loc, exclude, &mut reuse, real_root.as_deref(), &mut scan)?;
    if !scan.files.is_sorted_by(|a, b| a.store_path <= b.store_path) {
        scan.files
            .sort_unstable_by(|a, b| a.store_path.cmp(&b.store_path));
    }
    scan.files.dedup_by(|a, b| a.store_path == b.store_path);
    Ok(scan)
}

/// Each project's auto memory, `projects/<enc(main worktree)>/memory/**`, as the store paths
/// `projects/<id>/memory/**`: the folder name is this machine's, the identity everyone's.
fn memory_files(
    loc: &Locations,
    exclude: &[String],
    reuse: &mut Reuse,
    real_root: Option<&Path>,
    scan: &mut Scan,
) -> Result<(), CaptureError> {
    for (id, here) in loc.projects {
        let folder = crate::projdir::encode_path(&here.main);
        let rel = format!("projects/{folder}/memory");
        let path = loc.claude_dir.join(&rel);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || inside_real(&path, loc.forbidden) {
            continue;
        }
        let mut found = Vec::new();
        let mut stack = Vec::new();
        let tree = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let mode = reuse.mode(&path, &tree, real_root, &rel);
        let mut w = Walk {
            stack: &mut stack,
            out: &mut found,
            excluded: &|_| false,
            listings: reuse.listings.as_deref_mut(),
            tree,
            depth: 0,
            forbidden: loc.forbidden,
            skipped: &mut scan.skipped,
            trust: reuse.trust,
            mode,
            cached: reuse.stat,
            vouched: 0,
        };
        walk(&path, &rel, Some(&meta), &mut w)?;
        scan.vouched += w.vouched;
        let prefix = format!("claude/{rel}/");
        for mut f in found {
            let Some(inner) = f.store_path.strip_prefix(&prefix) else {
                continue;
            };
            f.store_path = crate::layout::memory_path(id, inner);
            if !exclude
                .iter()
                .any(|e| crate::layout::under(&f.store_path, e))
            {
                scan.files.push(f);
            }
        }
    }
    Ok(())
}

/// `~/.claude.json` and Claude Desktop's config, whose `mcpServers` key ctx captures.
fn shared_files(loc: &Locations, scan: &mut Scan) {
    for (path, store) in [
        (loc.claude_json, crate::layout::CLAUDE_MCP),
        (loc.desktop_config, crate::layout::DESKTOP_MCP),
    ] {
        if let Some(dir) = path.parent() {
            sweep_temps(dir);
        }
        if path.is_file() && inside_real(path, loc.forbidden) {
            scan.skipped.push((store.to_string(), FORBIDDEN.into()));
        } else if path.is_file() {
            scan.files.push(LiveFile {
                store_path: store.to_string(),
                live_path: path.to_path_buf(),
                source: Source::McpServers,
                stat: crate::state::stat(path),
                linked: true,
            });
        }
    }
    // Each project's local-scope servers, under its identity: `~/.claude.json` read once per
    // project, only for projects this machine records.
    if loc.claude_json.is_file() && !inside_real(loc.claude_json, loc.forbidden) {
        let stat = crate::state::stat(loc.claude_json);
        for (id, here) in loc.projects {
            scan.files.push(LiveFile {
                store_path: crate::layout::project_mcp_path(id),
                live_path: loc.claude_json.to_path_buf(),
                source: Source::ProjectMcp(crate::projdir::claude_json_key(&here.main)),
                stat,
                linked: true,
            });
        }
    }
}

/// Removes stale temp files of ctx's in `dir` (`~/..claude.json.ctx-N.tmp`): the home folder and
/// the Claude home's top level are never walked, so nothing else would find them.
fn sweep_temps(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let n = entry.file_name();
        let n = n.to_string_lossy();
        if n.starts_with('.') && n.contains(".ctx-") && n.ends_with(".tmp") {
            remove_if_stale(&entry.path());
        }
    }
}

/// A temp file of ctx's left by a write that was killed: removed once no write can still be
/// using it (its process is gone, or ten minutes on where that cannot be told).
pub(super) fn remove_if_stale(path: &Path) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let pid = name
        .rsplit_once(".ctx-")
        .and_then(|(_, rest)| rest.strip_suffix(".tmp"))
        .and_then(|p| p.parse::<u32>().ok());
    let proc = Path::new("/proc/self").exists();
    if let Some(pid) = pid.filter(|_| proc) {
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(path);
        }
        return;
    }
    let old = std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(600));
    if old {
        let _ = std::fs::remove_file(path);
    }
}

/// Entries of the Claude home on no list, sorted.
fn untracked(
    root: &Path,
    wanted: &BTreeSet<String>,
    excluded: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let covered = wanted
                .iter()
                .any(|w| w == &name || w.starts_with(&format!("{name}/")));
            if !covered && !excluded(&name) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// Top-level status-line scripts: `statusline*` files, and a file of the home that the
/// `statusLine.command` of settings.json names.
fn statusline_scripts(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let command = std::fs::read_to_string(root.join("settings.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            v.pointer("/statusLine/command")
                .and_then(|c| c.as_str())
                .map(String::from)
        })
        .unwrap_or_default();
    if let Ok(rd) = std::fs::read_dir(root) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            let lower = name.to_ascii_lowercase();
            let named = lower.starts_with("statusline")
                || lower.starts_with("status-line")
                || lower.starts_with("status_line")
                || (!command.is_empty() && command.contains(&format!("/{name}")));
            if is_file
                && named
                && !NEVER.contains(&name.as_str())
                && !FILES.contains(&name.as_str())
            {
                out.push(name);
            }
        }
    }
    out
}
