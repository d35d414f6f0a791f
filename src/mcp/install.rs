//! `ctx mcp install` / `uninstall`: the `mcpServers.ctx` entry in Claude Code's user scope
//! (`~/.claude.json`) and the context-sync skill in `~/.claude/skills/context-sync/`.
//!
//! The entry runs `ctx` from `PATH`, not an absolute path: `~/.claude.json`'s MCP servers are
//! synced by ctx itself, so the entry reaches machines where ctx lives elsewhere. Install never
//! overwrites an entry or a skill file a person changed (unless forced); uninstall removes
//! only what still is exactly what install writes, and says what it left.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::env::Env;
use crate::error::{Error, Result};

/// The server's name under `mcpServers`, and so the `mcp__ctx__…` prefix of its tools.
pub const SERVER: &str = "ctx";

/// The skill's folder name under `~/.claude/skills/`.
pub const SKILL: &str = "context-sync";

/// The skill's files, relative to its folder, from the templates built into the binary.
pub const SKILL_FILES: &[(&str, &str)] = &[
    ("SKILL.md", include_str!("skill/SKILL.md")),
    (
        "reference/store.md",
        include_str!("skill/reference/store.md"),
    ),
    ("reference/sync.md", include_str!("skill/reference/sync.md")),
    (
        "reference/history.md",
        include_str!("skill/reference/history.md"),
    ),
    (
        "reference/sessions.md",
        include_str!("skill/reference/sessions.md"),
    ),
    (
        "reference/memory.md",
        include_str!("skill/reference/memory.md"),
    ),
];

/// The entry install writes.
pub fn entry() -> Value {
    json!({ "type": "stdio", "command": "ctx", "args": ["mcp"] })
}

/// What happened to one thing install or uninstall looks after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Written.
    Added,
    /// Already as ctx writes it: nothing to do.
    Unchanged,
    /// Differs from what ctx writes (a person changed it): left as it is.
    Kept,
    /// Differed, and was replaced (install with `force`).
    Replaced,
    /// Removed (uninstall).
    Removed,
    /// Not there (uninstall): nothing to do.
    Absent,
}

/// What install or uninstall did.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `~/.claude.json`, as shown.
    pub claude_json: String,
    /// The `mcpServers.ctx` entry.
    pub server: Step,
    /// The skill's folder, as shown.
    pub skill_dir: String,
    /// Each skill file, relative to its folder.
    pub skill: Vec<(String, Step)>,
    /// Whether `ctx` is on this process's `PATH` (the entry needs it there).
    pub on_path: bool,
}

/// Registers the server and writes the skill; `force` replaces what a person changed.
pub fn install(env: &Env, force: bool) -> Result<Report> {
    let server = edit_servers(&env.claude_json, |servers| match servers.get(SERVER) {
        None => {
            servers.insert(SERVER.into(), entry());
            Step::Added
        }
        Some(v) if *v == entry() => Step::Unchanged,
        Some(_) if force => {
            servers.insert(SERVER.into(), entry());
            Step::Replaced
        }
        Some(_) => Step::Kept,
    })?;
    let dir = skill_dir(env);
    let mut skill = Vec::new();
    for (rel, text) in SKILL_FILES {
        let path = dir.join(rel);
        let step = match std::fs::read(&path) {
            Ok(b) if b == text.as_bytes() => Step::Unchanged,
            Ok(_) if !force => Step::Kept,
            Ok(_) => Step::Replaced,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Step::Added,
            Err(source) => return Err(Error::Io { path, source }),
        };
        if matches!(step, Step::Added | Step::Replaced) {
            crate::fsx::write_atomic(&path, text.as_bytes(), None)
                .map_err(crate::error::io(&path))?;
        }
        skill.push((rel.to_string(), step));
    }
    Ok(report(env, server, skill))
}

/// Removes the entry and the skill files that are still exactly what install wrote.
pub fn uninstall(env: &Env) -> Result<Report> {
    let server = match env.claude_json.exists() {
        false => Step::Absent,
        true => edit_servers(&env.claude_json, |servers| match servers.get(SERVER) {
            None => Step::Absent,
            Some(v) if *v == entry() => {
                servers.remove(SERVER);
                Step::Removed
            }
            Some(_) => Step::Kept,
        })?,
    };
    let dir = skill_dir(env);
    let mut skill = Vec::new();
    for (rel, text) in SKILL_FILES {
        let path = dir.join(rel);
        let step = match std::fs::read(&path) {
            Ok(b) if b == text.as_bytes() => {
                std::fs::remove_file(&path).map_err(crate::error::io(&path))?;
                Step::Removed
            }
            Ok(_) => Step::Kept,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Step::Absent,
            Err(source) => return Err(Error::Io { path, source }),
        };
        skill.push((rel.to_string(), step));
    }
    // Folders go only when empty: a file a person added stays, and so does its folder.
    for d in [dir.join("reference"), dir.clone()] {
        let _ = std::fs::remove_dir(d);
    }
    Ok(report(env, server, skill))
}

/// The skill's folder on this machine.
pub fn skill_dir(env: &Env) -> PathBuf {
    env.claude_dir.join("skills").join(SKILL)
}

fn report(env: &Env, server: Step, skill: Vec<(String, Step)>) -> Report {
    Report {
        claude_json: env.display(&env.claude_json),
        server,
        skill_dir: env.display(&skill_dir(env)),
        skill,
        on_path: on_path("ctx"),
    }
}

/// Edits the `mcpServers` object of `path` with `f`, writing the file (atomically, its mode
/// kept, every byte outside `mcpServers` as it was) only if `f` changed it.
fn edit_servers(path: &Path, f: impl FnOnce(&mut Map<String, Value>) -> Step) -> Result<Step> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "{}\n".to_string(),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let shown = path.display().to_string();
    let doc = crate::format::parse_json(&shown, &text).map_err(|e| Error::SharedFileDamaged {
        problem: e.to_string(),
    })?;
    let Value::Object(doc) = doc else {
        return Err(Error::NotAnObject {
            path: path.to_path_buf(),
        });
    };
    let mut servers = match doc.get("mcpServers") {
        Some(Value::Object(m)) => m.clone(),
        None => Map::new(),
        Some(_) => {
            return Err(Error::SharedFileDamaged {
                problem: format!("{shown}: `mcpServers` is not an object"),
            })
        }
    };
    let before = servers.clone();
    let step = f(&mut servers);
    if servers == before {
        return Ok(step);
    }
    let value = Value::Object(servers);
    let spliced =
        crate::format::splice_key(&text, "mcpServers", Some(&value)).ok_or_else(|| {
            Error::NotAnObject {
                path: path.to_path_buf(),
            }
        })?;
    crate::fsx::write_atomic(path, spliced.as_bytes(), crate::fsx::private_mode(path))
        .map_err(crate::error::io(path))?;
    Ok(step)
}

/// Whether an executable named `name` is in a folder of `PATH`.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(name);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            p.is_file() || d.join(format!("{name}.exe")).is_file()
        }
    })
}
