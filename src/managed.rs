//! `ctx managed` and `ctx unmanaged`: what ctx tracks on this machine, and what under the
//! Claude home it leaves alone and why. Both read the allow-list walk capture itself uses, so
//! they can never disagree with what `ctx commit` takes.

use serde::Serialize;

use crate::capture::{snapshot, NEVER};
use crate::error::Result;
use crate::workspace::Workspace;

/// One tracked file.
#[derive(Debug, Clone, Serialize)]
pub struct Managed {
    /// Store path.
    pub path: String,
    /// Where it lives on this machine (absolute); `None` when it has no place here (the
    /// memory of a project not checked out here).
    pub live_path: Option<String>,
    /// Whether the live file exists here.
    pub live: bool,
    /// Whether the store holds it.
    pub stored: bool,
}

/// Every file ctx tracks here: the live files capture takes, and the store's files apply
/// writes (sorted by store path).
pub fn managed(ws: &Workspace) -> Result<Vec<Managed>> {
    let snap = snapshot(ws, true)?;
    let mut out: std::collections::BTreeMap<String, Managed> = Default::default();
    let lives = snap
        .files
        .iter()
        .filter(|(_, c)| c.entry.is_some())
        .map(|(p, c)| (p, &c.live_path))
        .chain(snap.problems.iter().map(|(p, pr)| (p, &pr.live)));
    for (path, live) in lives {
        out.insert(
            path.clone(),
            Managed {
                path: path.clone(),
                live_path: Some(live.to_string_lossy().to_string()),
                live: true,
                stored: ws.repo.files.contains_key(path),
            },
        );
    }
    let manifest = &ws.repo.manifest;
    for path in ws.repo.files.keys() {
        if out.contains_key(path)
            || !crate::layout::is_live_path(path)
            || !crate::capture::capturable(path, manifest)
        {
            continue;
        }
        let live_path = crate::layout::live_location(&ws.env, path).map(|(p, _)| p);
        out.insert(
            path.clone(),
            Managed {
                path: path.clone(),
                live: false,
                live_path: live_path.map(|p| p.to_string_lossy().to_string()),
                stored: true,
            },
        );
    }
    Ok(out.into_values().collect())
}

/// Why an entry of the Claude home is not tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// On no list: `ctx add` takes it.
    NotListed,
    /// ctx.yaml's `exclude:` names it: `ctx add` takes it back.
    Excluded,
    /// ctx never captures it: credentials, caches, per-machine state.
    Never,
    /// A link leads out of its folder or into ctx's own files.
    Link,
}

/// One entry of the Claude home ctx does not track.
#[derive(Debug, Clone, Serialize)]
pub struct Unmanaged {
    /// The path relative to the Claude home.
    pub path: String,
    /// Where it is (absolute).
    pub live_path: String,
    /// Why it is not tracked.
    pub why: Why,
    /// Whether it is a folder.
    pub folder: bool,
}

/// What under the Claude home ctx leaves alone, and why (sorted by path).
pub fn unmanaged(ws: &Workspace) -> Result<Vec<Unmanaged>> {
    let snap = snapshot(ws, true)?;
    let home = &ws.env.claude_dir;
    let mut out: Vec<Unmanaged> = Vec::new();
    let mut push = |rel: &str, why: Why| {
        let p = home.join(rel);
        if (p.exists() || p.is_symlink()) && !out.iter().any(|u| u.path == rel) {
            out.push(Unmanaged {
                path: rel.to_string(),
                live_path: p.to_string_lossy().to_string(),
                folder: p.is_dir(),
                why,
            });
        }
    };
    for u in &snap.untracked {
        push(u, Why::NotListed);
    }
    for e in &ws.repo.manifest.exclude {
        if !e.starts_with("projects/") {
            push(e.trim_matches('/'), Why::Excluded);
        }
    }
    for n in NEVER {
        push(n, Why::Never);
    }
    for s in snap.skipped.keys() {
        if let Some(rel) = s.strip_prefix("claude/") {
            push(rel, Why::Link);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
