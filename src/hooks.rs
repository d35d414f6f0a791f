//! Hooks: the git hooks ctx installs in a project (the scripts in the source's `hooks/` folder,
//! embedded in the binary), the Claude Code hooks it adds to `~/.claude/settings.json`, and the
//! log a hook writes when it fails open.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::env::Env;

/// The git hooks ctx installs: (event, script with `@CTX_BIN@` for the ctx binary's path).
pub const GIT_HOOKS: &[(&str, &str)] = &[
    ("post-checkout", include_str!("../hooks/post-checkout")),
    ("post-commit", include_str!("../hooks/post-commit")),
    ("post-merge", include_str!("../hooks/post-merge")),
];

/// The line that marks a hook script as ctx's.
pub const MARKER: &str = "ctx-managed-hook";

/// Suffix of a hook that stood where ctx installed its own; ctx's script runs it first.
pub const CHAINED: &str = ".ctx-chained";

/// The Claude Code events ctx hooks into, with the command each runs.
pub const CLAUDE_HOOKS: &[(&str, &str)] = &[
    ("SessionStart", "ctx hook session-start"),
    ("SessionEnd", "ctx hook session-end"),
];

/// Errors installing or removing hooks.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// `git` failed to say where the hooks are.
    #[error("{}: {reason}", dir.display())]
    Git { dir: PathBuf, reason: String },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Both a foreign hook and a chained one exist: ctx will not guess which to keep.
    #[error("{} is not ctx's, and {} already exists", hook.display(), chained.display())]
    Occupied { hook: PathBuf, chained: PathBuf },
    /// settings.json does not hold what Claude Code expects.
    #[error("{}: {reason}", path.display())]
    Settings { path: PathBuf, reason: String },
}

type Result<T, E = HookError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HookError + '_ {
    move |source| HookError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A repository as `git` sees it from one of its worktrees.
#[derive(Debug, Clone)]
pub struct RepoDirs {
    /// The worktree's top level.
    pub toplevel: PathBuf,
    /// The git dir all worktrees share.
    pub common_dir: PathBuf,
    /// The hooks folder every worktree of the repository uses (`core.hooksPath` respected).
    pub hooks_dir: PathBuf,
}

/// Asks git where the hooks of the repository around `dir` live. Spawns git: install and
/// uninstall are not a hot path, and git's own answer covers worktrees and `core.hooksPath`.
pub fn repo_dirs(dir: &Path) -> Result<RepoDirs> {
    let git = |args: &[&str]| -> Result<Option<String>> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| HookError::Git {
                dir: dir.to_path_buf(),
                reason: format!("cannot run git: {e}"),
            })?;
        if !out.status.success() {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    };
    let not_repo = |reason: &str| HookError::Git {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    };
    let toplevel = git(&["rev-parse", "--show-toplevel"])?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not_repo("not inside a git worktree"))?;
    let toplevel = PathBuf::from(toplevel);
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"])?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not_repo("git cannot find the repository's git dir"))?;
    let common_dir = PathBuf::from(common);
    let hooks_dir = match git(&["config", "--path", "--get", "core.hooksPath"])? {
        // Relative hooksPath is taken relative to the worktree's top level, where hooks run.
        Some(p) if !p.is_empty() => toplevel.join(p),
        _ => common_dir.join("hooks"),
    };
    Ok(RepoDirs {
        toplevel,
        common_dir,
        hooks_dir,
    })
}

/// ctx's script for `event`, running the ctx at `ctx_bin` (else `ctx` on PATH).
pub fn script(event: &str, ctx_bin: &Path) -> Option<String> {
    let (_, text) = GIT_HOOKS.iter().find(|(e, _)| *e == event)?;
    let path = ctx_bin.to_string_lossy().replace('\'', "'\\''");
    Some(text.replace("@CTX_BIN@", &format!("'{path}'")))
}

/// Whether a hook file is one ctx installed.
pub fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(MARKER))
}

/// What installing or removing did to one hook.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookChange {
    /// The hook file.
    pub path: PathBuf,
    /// `installed`, `updated`, `chained`, `unchanged`, `removed`, `restored`, `absent`.
    pub action: &'static str,
}

/// Installs ctx's hooks in `hooks_dir`, moving a foreign hook aside to be chained. Idempotent.
pub fn install_git(hooks_dir: &Path, ctx_bin: &Path) -> Result<Vec<HookChange>> {
    std::fs::create_dir_all(hooks_dir).map_err(io(hooks_dir))?;
    // Refuse before changing anything, so a refusal never leaves half the hooks installed.
    for (event, _) in GIT_HOOKS {
        let hook = hooks_dir.join(event);
        let chained = hooks_dir.join(format!("{event}{CHAINED}"));
        if hook.symlink_metadata().is_ok() && !is_ours(&hook) && chained.symlink_metadata().is_ok()
        {
            return Err(HookError::Occupied { hook, chained });
        }
    }
    let mut out = Vec::new();
    for (event, _) in GIT_HOOKS {
        let hook = hooks_dir.join(event);
        let chained = hooks_dir.join(format!("{event}{CHAINED}"));
        let text = script(event, ctx_bin).unwrap_or_default();
        let action = if hook.symlink_metadata().is_err() {
            "installed"
        } else if is_ours(&hook) {
            if std::fs::read(&hook).is_ok_and(|b| b == text.as_bytes()) {
                out.push(HookChange {
                    path: hook,
                    action: "unchanged",
                });
                continue;
            }
            "updated"
        } else {
            if chained.symlink_metadata().is_ok() {
                return Err(HookError::Occupied { hook, chained });
            }
            // A rename keeps the original's bytes, mode and even a symlink exactly.
            std::fs::rename(&hook, &chained).map_err(io(&hook))?;
            "chained"
        };
        crate::fsx::write_atomic(&hook, text.as_bytes(), Some(0o755)).map_err(io(&hook))?;
        out.push(HookChange { path: hook, action });
    }
    Ok(out)
}

/// Removes ctx's hooks from `hooks_dir` and puts chained ones back. Foreign hooks stay.
pub fn uninstall_git(hooks_dir: &Path) -> Result<Vec<HookChange>> {
    let mut out = Vec::new();
    for (event, _) in GIT_HOOKS {
        let hook = hooks_dir.join(event);
        let chained = hooks_dir.join(format!("{event}{CHAINED}"));
        if !is_ours(&hook) {
            out.push(HookChange {
                path: hook,
                action: "absent",
            });
            continue;
        }
        let action = if chained.symlink_metadata().is_ok() {
            std::fs::rename(&chained, &hook).map_err(io(&chained))?;
            "restored"
        } else {
            std::fs::remove_file(&hook).map_err(io(&hook))?;
            "removed"
        };
        out.push(HookChange { path: hook, action });
    }
    Ok(out)
}

/// The list of hooks folders ctx installed into on this machine, for `ctx doctor`.
pub fn registry_path(env: &Env) -> PathBuf {
    env.config_dir.join("hooked-repos.txt")
}

/// The hooks folders ctx installed into, as recorded.
pub fn registered(env: &Env) -> Vec<PathBuf> {
    std::fs::read_to_string(registry_path(env))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Adds (`true`) or removes a hooks folder from the registry.
pub fn register(env: &Env, hooks_dir: &Path, add: bool) -> Result<()> {
    let mut dirs = registered(env);
    dirs.retain(|d| d != hooks_dir);
    if add {
        dirs.push(hooks_dir.to_path_buf());
    }
    let mut text = String::new();
    for d in dirs {
        text.push_str(&d.to_string_lossy());
        text.push('\n');
    }
    let path = registry_path(env);
    crate::fsx::write_atomic(&path, text.as_bytes(), None).map_err(io(&path))
}

fn is_ctx_command(cmd: &Value, want: &str) -> bool {
    let Some(c) = cmd.get("command").and_then(Value::as_str) else {
        return false;
    };
    // The same command run as `ctx`, through an absolute path, or a quoted one.
    let (prog, rest) = match c.strip_prefix('\'') {
        Some(q) => match q.split_once('\'') {
            Some((p, r)) => (p, r),
            None => return false,
        },
        None => c.split_once(' ').unwrap_or((c, "")),
    };
    let rest: Vec<&str> = rest.split_whitespace().collect();
    let want_rest: Vec<&str> = want.split_whitespace().skip(1).collect();
    (prog == "ctx" || prog.ends_with("/ctx")) && rest == want_rest
}

/// Seconds Claude Code gives a ctx hook before it goes on without it: the session-start sync
/// bounds its network steps well under this (see `events`).
pub const CLAUDE_HOOK_TIMEOUT: u64 = 30;

/// ctx's entry for one Claude Code event: the absolute path of this ctx (a session must not
/// depend on PATH, which differs between a terminal and an IDE) and a timeout.
fn claude_hook(command: &str, ctx_bin: &Path) -> Value {
    let bin = ctx_bin.to_string_lossy();
    let prog = match ctx_bin.is_absolute() {
        true => format!("'{}'", bin.replace('\'', "'\\''")),
        false => "ctx".to_string(),
    };
    let args = command.split_once(' ').map_or("", |(_, a)| a);
    json!({ "type": "command", "command": format!("{prog} {args}"), "timeout": CLAUDE_HOOK_TIMEOUT })
}

/// Where Claude Code's hooks find ctx: a link in ctx's config folder to this binary, made or
/// repointed here. Its path is the same on every machine relative to the home (the store keeps
/// it as `${CTX_HOME}/…`), so the one settings.json all machines share runs each machine's own
/// ctx wherever it is installed. Without links (or if one cannot be made), this binary's path.
pub fn claude_hook_bin(env: &Env) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ctx"));
    #[cfg(unix)]
    {
        let link = env.config_dir.join("bin").join("ctx");
        if std::fs::read_link(&link).is_ok_and(|t| t == exe) {
            return link;
        }
        let tmp = link.with_file_name(format!(".ctx.{}.tmp", std::process::id()));
        let made = link
            .parent()
            .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
            && std::os::unix::fs::symlink(&exe, &tmp).is_ok()
            && std::fs::rename(&tmp, &link).is_ok();
        let _ = std::fs::remove_file(&tmp);
        if made {
            return link;
        }
    }
    let _ = env;
    exe
}

/// Adds ctx's Claude Code hooks to a settings document, or brings an older form of them (no
/// path, another path, no timeout) up to date in place; `false` when they were all as wanted.
pub fn add_claude_hooks(doc: &mut Value, ctx_bin: &Path) -> std::result::Result<bool, String> {
    let root = doc
        .as_object_mut()
        .ok_or("the file does not hold a JSON object")?;
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks = hooks.as_object_mut().ok_or("`hooks` is not an object")?;
    let mut changed = false;
    for (event, command) in CLAUDE_HOOKS {
        let want = claude_hook(command, ctx_bin);
        let groups = hooks.entry(*event).or_insert_with(|| json!([]));
        let groups = groups
            .as_array_mut()
            .ok_or_else(|| format!("`hooks.{event}` is not a list"))?;
        let mut present = false;
        for h in groups
            .iter_mut()
            .filter_map(|g| g.get_mut("hooks").and_then(Value::as_array_mut))
            .flat_map(|hs| hs.iter_mut())
            .filter(|h| is_ctx_command(h, command))
        {
            present = true;
            if *h != want {
                *h = want.clone();
                changed = true;
            }
        }
        if !present {
            groups.push(json!({ "matcher": "", "hooks": [want] }));
            changed = true;
        }
    }
    Ok(changed)
}

/// Removes ctx's Claude Code hooks, and the containers left empty by that; `false` if none.
pub fn remove_claude_hooks(doc: &mut Value) -> bool {
    let Some(root) = doc.as_object_mut() else {
        return false;
    };
    let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) else {
        return false;
    };
    let mut changed = false;
    for (event, command) in CLAUDE_HOOKS {
        let Some(groups) = hooks.get_mut(*event).and_then(Value::as_array_mut) else {
            continue;
        };
        let mut here = false;
        for g in groups.iter_mut() {
            if let Some(hs) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                let before = hs.len();
                hs.retain(|h| !is_ctx_command(h, command));
                here |= hs.len() != before;
            }
        }
        if here {
            changed = true;
            groups.retain(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|hs| !hs.is_empty())
            });
            if groups.is_empty() {
                hooks.shift_remove(*event);
            }
        }
    }
    if changed && hooks.is_empty() {
        root.shift_remove("hooks");
    }
    changed
}

/// Adds (`install`) or removes ctx's hooks in Claude Code's settings file; `true` if written.
pub fn edit_claude_settings(path: &Path, install: bool, ctx_bin: &Path) -> Result<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !install {
                return Ok(false);
            }
            "{}\n".to_string()
        }
        Err(e) => return Err(io(path)(e)),
    };
    let bad = |reason: String| HookError::Settings {
        path: path.to_path_buf(),
        reason,
    };
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let changed = if install {
        add_claude_hooks(&mut doc, ctx_bin).map_err(bad)?
    } else {
        remove_claude_hooks(&mut doc)
    };
    if changed {
        let bytes = crate::format::to_json(&doc, text.ends_with('\n') || text.is_empty());
        crate::fsx::write_atomic(path, &bytes, None).map_err(io(path))?;
    }
    Ok(changed)
}

/// Whether Claude Code's settings hold ctx's hooks.
pub fn claude_hooks_installed(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(mut doc) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    // Whatever form: an older one still runs ctx (`hooks install --claude` updates it).
    let Some(hooks) = doc.get_mut("hooks").and_then(Value::as_object_mut) else {
        return false;
    };
    CLAUDE_HOOKS.iter().all(|(event, command)| {
        hooks
            .get(*event)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks").and_then(Value::as_array))
            .flatten()
            .any(|h| is_ctx_command(h, command))
    })
}

/// The hook log is cut back to its last `LOG_KEEP` lines once it grows past this many bytes.
const LOG_LIMIT: u64 = 256 * 1024;
const LOG_KEEP: usize = 200;

/// Appends one line (time, event, folder, error) to the hook log. Never fails: a hook that
/// cannot log still must not block git.
pub fn log_failure(env: &Env, event: &str, cwd: &Path, error: &str) {
    use std::io::Write;
    let line = format!(
        "{} {event} {} {}\n",
        crate::setup::now_rfc3339(),
        cwd.display(),
        error.replace('\n', " ")
    );
    let path = env.hook_log_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // A hook failing on every commit for months must not fill the disk: keep the recent lines.
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_LIMIT) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let lines: Vec<&str> = text.lines().collect();
            let keep = lines[lines.len().saturating_sub(LOG_KEEP)..].join("\n") + "\n";
            let _ = crate::fsx::write_atomic(&path, keep.as_bytes(), None);
        }
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_hooks_go_in_once_and_come_out_alone() {
        let mut doc = json!({
            "model": "opus",
            "hooks": {"SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "echo hi"}]}]}
        });
        let bin = Path::new("/opt/my tools/ctx");
        assert!(add_claude_hooks(&mut doc, bin).unwrap());
        let once = doc.clone();
        assert!(!add_claude_hooks(&mut doc, bin).unwrap());
        let ours = &doc["hooks"]["SessionStart"][1]["hooks"][0];
        assert_eq!(ours["command"], "'/opt/my tools/ctx' hook session-start");
        assert_eq!(ours["timeout"], CLAUDE_HOOK_TIMEOUT);
        // Another machine's path (or the old bare form) is brought up to date in place.
        assert!(add_claude_hooks(&mut doc, Path::new("/usr/bin/ctx")).unwrap());
        assert_eq!(doc["hooks"]["SessionStart"].as_array().unwrap().len(), 2);
        assert!(add_claude_hooks(&mut doc, bin).unwrap());
        assert_eq!(doc, once);
        assert_eq!(doc, once);
        assert_eq!(doc["hooks"]["SessionStart"].as_array().unwrap().len(), 2);
        assert!(remove_claude_hooks(&mut doc));
        assert_eq!(
            doc,
            json!({
                "model": "opus",
                "hooks": {"SessionStart": [{"matcher": "", "hooks": [{"type": "command", "command": "echo hi"}]}]}
            })
        );
        let mut bare = json!({"a": 1});
        add_claude_hooks(&mut bare, bin).unwrap();
        remove_claude_hooks(&mut bare);
        assert_eq!(bare, json!({"a": 1}));
    }

    #[test]
    fn a_foreign_hook_beside_a_chained_one_is_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("post-merge"), "#!/bin/sh\necho mine\n").unwrap();
        std::fs::write(d.join("post-merge.ctx-chained"), "#!/bin/sh\necho old\n").unwrap();
        let err = install_git(d, Path::new("/usr/bin/ctx")).unwrap_err();
        assert!(matches!(err, HookError::Occupied { .. }), "{err}");
        assert!(!d.join("post-checkout").exists());
        assert!(!d.join("post-commit").exists());
        let out = uninstall_git(d).unwrap();
        assert!(out.iter().all(|c| c.action == "absent"));
        assert_eq!(
            std::fs::read_to_string(d.join("post-merge")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
    }

    #[test]
    fn scripts_quote_the_binary_path() {
        let s = script("post-commit", Path::new("/opt/it's/ctx")).unwrap();
        assert!(s.contains("ctx='/opt/it'\\''s/ctx'"), "{s}");
        assert!(s.contains(MARKER));
        assert!(s.contains("hook post-commit"));
    }
}
