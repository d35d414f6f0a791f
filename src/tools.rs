//! Whether what the live config runs is there on this machine: the command of each MCP server
//! (`npx`, `uvx`, a binary path), the script of each hook, and the interpreter each skill
//! script's shebang names. Config travels between machines; the tools it needs do not.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::Env;

/// Something the config runs that this machine lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What needs it (`MCP server github`, `hook PreToolUse`, `skill pr-summary`).
    pub user: String,
    /// The command, script or interpreter not found.
    pub what: String,
    /// Where it is configured (a live file, as shown).
    pub file: String,
}

/// Every MCP server, hook and skill script of the live config whose program is missing here.
pub fn missing(env: &Env) -> Vec<Missing> {
    let path = search_path();
    let mut out = Vec::new();
    mcp_servers(env, &path, &mut out);
    hooks(env, &mut out);
    skills(env, &path, &mut out);
    out
}

fn search_path() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// Whether `command` runs here: a path that exists, or a name found on `path`.
fn installed(command: &str, home: &Path, path: &[PathBuf]) -> bool {
    if command.contains('/') || command.contains('\\') {
        return expand(command, home).is_some_and(|p| p.is_file());
    }
    path.iter().any(|d| {
        let p = d.join(command);
        p.is_file() || (cfg!(windows) && d.join(format!("{command}.exe")).is_file())
    })
}

/// `~/x`, `$HOME/x` and `${HOME}/x` under `home`; `None` for a path naming another variable
/// (`${CLAUDE_PROJECT_DIR}/x`), which only a session can resolve.
fn expand(word: &str, home: &Path) -> Option<PathBuf> {
    for prefix in ["~/", "$HOME/", "${HOME}/"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            return Some(home.join(rest));
        }
    }
    (!word.contains('$')).then(|| PathBuf::from(word))
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn mcp_servers(env: &Env, path: &[PathBuf], out: &mut Vec<Missing>) {
    let mut maps: Vec<(String, Value)> = Vec::new();
    for file in [&env.claude_json, &env.desktop_config] {
        let Some(doc) = read_json(file) else { continue };
        let shown = env.display(file);
        if let Some(s) = doc.get("mcpServers") {
            maps.push((shown.clone(), s.clone()));
        }
        let projects = doc.get("projects").and_then(Value::as_object);
        for (key, entry) in projects.into_iter().flatten() {
            if let Some(s) = entry.get("mcpServers") {
                maps.push((format!("{shown} (project {key})"), s.clone()));
            }
        }
    }
    for (file, servers) in maps {
        for (name, server) in servers.as_object().into_iter().flatten() {
            let Some(command) = server.get("command").and_then(Value::as_str) else {
                continue;
            };
            if !command.is_empty() && !installed(command, &env.home, path) {
                out.push(Missing {
                    user: format!("MCP server {name}"),
                    what: command.to_string(),
                    file: file.clone(),
                });
            }
        }
    }
}

/// Shells and interpreters a hook command starts its script with.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "fish", "python", "python3", "node", "bun", "deno", "ruby", "perl",
];

/// The script a hook command runs, if it names one: its first word when that is a path, or the
/// word after an interpreter.
fn hook_script(command: &str) -> Option<String> {
    let words: Vec<String> = command
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .take(2)
        .collect();
    let first = words.first()?;
    if first.contains('/') {
        return Some(first.clone());
    }
    let second = words.get(1)?;
    let interp = INTERPRETERS.contains(&first.as_str());
    (interp && !second.starts_with('-') && second.contains('/')).then(|| second.clone())
}

fn hooks(env: &Env, out: &mut Vec<Missing>) {
    let file = env.claude_dir.join("settings.json");
    let Some(doc) = read_json(&file) else { return };
    let shown = env.display(&file);
    let events = doc.get("hooks").and_then(Value::as_object);
    for (event, groups) in events.into_iter().flatten() {
        let hooks = groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks").and_then(Value::as_array))
            .flatten();
        for h in hooks {
            let Some(script) = h
                .get("command")
                .and_then(Value::as_str)
                .and_then(hook_script)
            else {
                continue;
            };
            if expand(&script, &env.home).is_some_and(|p| !p.exists()) {
                out.push(Missing {
                    user: format!("hook {event}"),
                    what: script,
                    file: shown.clone(),
                });
            }
        }
    }
}

/// The program a shebang line runs: `#!/usr/bin/env python3` -> `python3`, `#!/bin/bash` ->
/// `/bin/bash`.
fn shebang(first_line: &str) -> Option<String> {
    let rest = first_line.strip_prefix("#!")?.trim();
    let mut words = rest.split_whitespace();
    let program = words.next()?;
    if program.ends_with("/env") {
        return words.find(|w| !w.starts_with('-')).map(String::from);
    }
    Some(program.to_string())
}

fn skills(env: &Env, path: &[PathBuf], out: &mut Vec<Missing>) {
    let root = env.claude_dir.join("skills");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            let p = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name();
            if ft.is_dir()
                && !crate::capture::scan::NEVER_UNDER
                    .iter()
                    .any(|n| p.ends_with(n))
            {
                if name != ".git" && name != "node_modules" {
                    stack.push(p);
                }
                continue;
            }
            let Some(program) = first_line(&p).as_deref().and_then(shebang) else {
                continue;
            };
            if !installed(&program, &env.home, path) {
                let skill = p
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|r| r.iter().next())
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                out.push(Missing {
                    user: format!("skill {skill}"),
                    what: program,
                    file: env.display(&p),
                });
            }
        }
    }
}

/// The first line of a file, read no further than 256 bytes.
fn first_line(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.starts_with("#!")
        .then(|| text.lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_names_its_script_by_path_or_after_an_interpreter() {
        assert_eq!(
            hook_script("~/.claude/hooks/a.sh --x"),
            Some("~/.claude/hooks/a.sh".into())
        );
        assert_eq!(
            hook_script("FOO=1 bash \"$HOME/h/b.sh\""),
            Some("$HOME/h/b.sh".into())
        );
        assert_eq!(hook_script("python3 -c 'print(1)'"), None);
        assert_eq!(hook_script("jq -r '.x' | grep y"), None);
    }

    #[test]
    fn a_shebang_names_its_interpreter() {
        assert_eq!(shebang("#!/usr/bin/env python3"), Some("python3".into()));
        assert_eq!(shebang("#!/usr/bin/env -S uv run"), Some("uv".into()));
        assert_eq!(shebang("#!/bin/bash -e"), Some("/bin/bash".into()));
        assert_eq!(shebang("echo"), None);
    }

    #[test]
    fn a_path_with_another_variable_is_not_checked() {
        let home = Path::new("/h");
        assert_eq!(expand("~/x", home), Some(PathBuf::from("/h/x")));
        assert_eq!(expand("${CLAUDE_PROJECT_DIR}/x", home), None);
        assert!(!installed("/nonexistent/bin/tool", home, &[]));
        assert!(!installed(
            "no-such-tool-here",
            home,
            &[PathBuf::from("/nonexistent")]
        ));
    }
}
