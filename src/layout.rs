//! The store-path vocabulary: which store paths are live files, where each lives on this
//! machine, and how a path a person types maps onto a store path.
//!
//! Store layout: `claude/…` mirrors the Claude home, `claude/mcp.json` is the `mcpServers` key
//! of `~/.claude.json`, `desktop/mcp.json` that of Claude Desktop's config; `ctx.yaml`,
//! `machines/`, `projects/`, `context/` and `README.md` are the store's own documents;
//! `projects/<id>/mcp.json` is the `mcpServers` of that project's entry in `~/.claude.json`
//! (local-scope servers), and `machines/<name>/local/…` a machine's own values of the
//! machine-local fields (see [`crate::local`]).

use std::path::{Path, PathBuf};

use crate::env::Env;

/// The store path of `~/.claude.json`'s MCP servers.
pub const CLAUDE_MCP: &str = "claude/mcp.json";
/// The store path of Claude Desktop's MCP servers.
pub const DESKTOP_MCP: &str = "desktop/mcp.json";
/// The store's manifest.
pub const MANIFEST: &str = "ctx.yaml";
/// The store's generated inventory.
pub const INVENTORY: &str = "README.md";

/// How a live file maps onto a store file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The whole file.
    Whole,
    /// Only the `mcpServers` key of a JSON file shared with other tools.
    McpServers,
    /// Only `projects["<key>"].mcpServers` of `~/.claude.json`: a project's local-scope MCP
    /// servers, under this machine's path of the project.
    ProjectMcp(String),
    /// Only the machine-local fields of the file (this machine's layer of it).
    Layer,
}

impl Source {
    /// Whether ctx owns only one key of the file, the rest belonging to other tools.
    pub fn is_shared(&self) -> bool {
        matches!(self, Source::McpServers | Source::ProjectMcp(_))
    }
}

/// The store path of project `id`'s local-scope MCP servers.
pub fn project_mcp_path(id: &str) -> String {
    format!("projects/{id}/mcp.json")
}

/// The project whose local-scope MCP servers `path` holds.
pub fn project_mcp_of(path: &str) -> Option<&str> {
    let id = path.strip_prefix("projects/")?.strip_suffix("/mcp.json")?;
    (!id.is_empty() && !id.contains('/') && id != "." && id != "..").then_some(id)
}

/// Store paths that correspond to live files (the rest is the store's own bookkeeping).
pub fn is_live_path(path: &str) -> bool {
    path.starts_with("claude/")
        || path.starts_with("desktop/")
        || memory_of(path).is_some()
        || project_mcp_of(path).is_some()
}

/// A project's auto memory in the store, `projects/<id>/memory/<rel>`: (id, rel).
pub fn memory_of(path: &str) -> Option<(&str, &str)> {
    let (id, rest) = path.strip_prefix("projects/")?.split_once('/')?;
    let rel = rest.strip_prefix("memory/")?;
    (!id.is_empty() && !rel.is_empty()).then_some((id, rel))
}

/// The store path of a file of project `id`'s auto memory.
pub fn memory_path(id: &str, rel: &str) -> String {
    format!("projects/{id}/memory/{rel}")
}

/// Where project `id`'s auto memory lives on this machine: under the folder name of its main
/// worktree here; `None` when this machine does not have the project.
pub fn memory_dir(env: &Env, id: &str) -> Option<PathBuf> {
    let here = env.projects.get(id)?;
    let folder = crate::projdir::encode_path(&here.main);
    Some(env.claude_dir.join("projects").join(folder).join("memory"))
}

/// The store's own YAML documents, validated against their schemas on every commit.
pub fn is_store_doc(path: &str) -> bool {
    path.ends_with(".yaml") && !is_live_path(path)
}

/// Store files whose root is a map of MCP servers.
pub fn is_mcp_file(file: &str) -> bool {
    file == CLAUDE_MCP
        || file == DESKTOP_MCP
        || file.ends_with("/.mcp.json")
        || file == ".mcp.json"
        || project_mcp_of(file).is_some()
}

/// Whether `path` is `prefix` or lies under it.
pub fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether `path` is selected by `only` (store-path prefixes; empty selects everything).
pub fn selected(path: &str, only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|o| under(path, o))
}

/// Where a store path lives on this machine, if it is applied at all.
pub fn live_location(env: &Env, path: &str) -> Option<(PathBuf, Source)> {
    match path {
        CLAUDE_MCP => Some((env.claude_json.clone(), Source::McpServers)),
        DESKTOP_MCP => Some((env.desktop_config.clone(), Source::McpServers)),
        _ if project_mcp_of(path).is_some() => {
            let here = env.projects.get(project_mcp_of(path)?)?;
            let key = crate::projdir::claude_json_key(&here.main);
            Some((env.claude_json.clone(), Source::ProjectMcp(key)))
        }
        _ if memory_of(path).is_some() => {
            let (id, rel) = memory_of(path)?;
            if rel
                .split('/')
                .any(|p| p == ".." || p == "." || p.is_empty())
            {
                return None;
            }
            Some((memory_dir(env, id)?.join(rel), Source::Whole))
        }
        _ => {
            let rel = path.strip_prefix("claude/")?;
            if rel.split('/').any(|p| p == ".." || p.is_empty()) {
                return None;
            }
            Some((env.claude_dir.join(rel), Source::Whole))
        }
    }
}

/// The store path a person meant: a store path (`claude/skills/x`), one relative to the Claude
/// home (`settings.json`), `~/…` or any live path. `known` says whether a store path exists (as a
/// file or a folder). `None` for a path outside everything ctx knows.
pub fn store_path_for(env: &Env, arg: &str, known: impl Fn(&str) -> bool) -> Option<String> {
    let trimmed = arg.trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    if known(trimmed) {
        return Some(trimmed.to_string());
    }
    if known(&format!("claude/{trimmed}")) {
        return Some(format!("claude/{trimmed}"));
    }
    let expanded = match trimmed.strip_prefix("~/") {
        Some(rest) => env.home.join(rest),
        None => PathBuf::from(trimmed),
    };
    let abs = if expanded.is_absolute() {
        expanded
    } else {
        std::env::current_dir()
            .map(|d| d.join(&expanded))
            .unwrap_or(expanded)
    };
    if abs == env.claude_json {
        return Some(CLAUDE_MCP.into());
    }
    if abs == env.desktop_config {
        return Some(DESKTOP_MCP.into());
    }
    if let Ok(rel) = abs.strip_prefix(&env.claude_dir) {
        let rel = rel.to_string_lossy();
        return Some(if rel.is_empty() {
            "claude".into()
        } else {
            format!("claude/{rel}")
        });
    }
    if Path::new(trimmed).components().count() > 0 && !trimmed.starts_with('/') {
        return Some(trimmed.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_projects_memory_lives_under_its_main_worktrees_folder() {
        let mut env = Env::from_process(Some(PathBuf::from("/tmp/s")));
        let here = crate::projdir::Here {
            main: PathBuf::from("/nonexistent/code/web app"),
            worktrees: vec![PathBuf::from("/nonexistent/code/web app")],
        };
        env.projects.insert("github.com-a-web".into(), here);
        let (live, _) = live_location(&env, "projects/github.com-a-web/memory/MEMORY.md")
            .unwrap_or((PathBuf::new(), Source::Whole));
        let want = env
            .claude_dir
            .join("projects/-nonexistent-code-web-app/memory/MEMORY.md");
        assert_eq!(live, want);
        assert!(is_live_path("projects/x/memory/a.md"));
        assert!(!is_live_path("projects/x.yaml"));
        assert!(!is_live_path("projects/x/CLAUDE.local.md"));
    }

    use super::*;

    #[test]
    fn under_means_the_path_or_below_it() {
        assert!(under("claude/skills/x/SKILL.md", "claude/skills"));
        assert!(under("claude/skills", "claude/skills/"));
        assert!(!under("claude/skillsets/a", "claude/skills"));
    }

    #[test]
    fn live_paths_never_escape_the_claude_home() {
        let env = Env::from_process(Some(PathBuf::from("/tmp/s")));
        assert!(live_location(&env, "claude/../x").is_none());
        assert!(live_location(&env, "claude//x").is_none());
        assert!(live_location(&env, "ctx.yaml").is_none());
        assert!(live_location(&env, "projects/p/memory/../x").is_none());
        assert!(
            live_location(&env, "projects/p/memory/MEMORY.md").is_none(),
            "not here"
        );
        let (p, s) = live_location(&env, CLAUDE_MCP).unwrap_or((PathBuf::new(), Source::Whole));
        assert_eq!((p, s), (env.claude_json.clone(), Source::McpServers));
    }
}
