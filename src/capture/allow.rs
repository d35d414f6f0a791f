//! What capture would take, as a test on one store path: apply writes nothing else. A tree
//! fetched from the remote can hold anything (`claude/.credentials.json`, a `.git/hooks/` script
//! inside a skill, `settings.local.json`): none of it reaches the live files.

use super::scan::{excluded, DIRS, FILES, SKIP_NAMES};
use crate::layout::{CLAUDE_MCP, DESKTOP_MCP};
use crate::model::Manifest;

/// Whether `path` (a store path) names a live file capture would take under `manifest`.
pub fn capturable(path: &str, manifest: &Manifest) -> bool {
    if path == CLAUDE_MCP || path == DESKTOP_MCP {
        return true;
    }
    if let Some(id) = crate::layout::project_mcp_of(path) {
        return !bad_name(id)
            && !manifest
                .exclude
                .iter()
                .any(|e| crate::layout::under(path, e));
    }
    if let Some((id, rel)) = crate::layout::memory_of(path) {
        // `exclude:` names a project's memory by its store path.
        return !bad_name(id)
            && !rel.split('/').any(bad_name)
            && !manifest
                .exclude
                .iter()
                .any(|e| crate::layout::under(path, e));
    }
    let Some(rel) = path.strip_prefix("claude/") else {
        return false;
    };
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.iter().any(|p| bad_name(p)) || excluded(rel, &manifest.exclude) {
        return false;
    }
    let top = parts[0];
    let included = manifest
        .include
        .iter()
        .any(|i| crate::layout::under(rel, i.trim_matches('/')));
    match parts.len() {
        1 => FILES.contains(&top) || included || statusline_like(top),
        _ => DIRS.contains(&top) || included,
    }
}

/// Names git's fsck rejects, and ctx's own temp files, are never content.
fn bad_name(p: &str) -> bool {
    p.is_empty()
        || p == "."
        || p == ".."
        || p.contains(['\0', '\n', '\r', '\\'])
        || SKIP_NAMES.contains(&p)
        || p.eq_ignore_ascii_case(".git")
        || (p.starts_with('.') && p.contains(".ctx-") && p.ends_with(".tmp"))
}

/// A top-level status-line script (capture also takes the one `statusLine.command` names; a
/// store path alone cannot tell that one, so only the conventional names pass here).
fn statusline_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["statusline", "status-line", "status_line"]
        .iter()
        .any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_capture_takes_passes() {
        let m = Manifest::default();
        for ok in [
            "claude/settings.json",
            "claude/skills/x/SKILL.md",
            "claude/hooks/guard.sh",
            "claude/statusline.sh",
            "claude/agent-memory/reviewer/MEMORY.md",
            "projects/github.com-a-b/memory/MEMORY.md",
            "projects/github.com-a-b/mcp.json",
            CLAUDE_MCP,
        ] {
            assert!(capturable(ok, &m), "{ok}");
        }
        for bad in [
            "claude/.credentials.json",
            "claude/settings.local.json",
            "claude/skills/x/.git/hooks/post-merge",
            "claude/skills/x/.GIT/config",
            "claude/plugins/marketplaces/m/x.json",
            "claude/plugins/installed_plugins.json",
            "claude/plugins/known_marketplaces.json",
            "claude/plugins/synced/p/x.json",
            "claude/skills/synced/x/SKILL.md",
            "claude/projects/-home-u/s.jsonl",
            "claude/payload.sh",
            "projects/github.com-a-b/memory/.git/config",
            "projects/../memory/x.md",
            "projects/p/CLAUDE.local.md",
            "claude/skills/../../.bashrc",
            "claude/skills/a\nb",
            "machines/a.yaml",
        ] {
            assert!(!capturable(bad, &m), "{bad:?}");
        }
    }
}
