//! `ctx edit`: the live file a path names, and the check that an edited file is one capture
//! takes (its format, its secrets) before it is committed.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::layout::Source;
use crate::workspace::Workspace;

/// The file `ctx edit` opens.
#[derive(Debug)]
pub struct Target {
    /// Store path.
    pub path: String,
    /// The live file (for `claude/mcp.json`, the whole `~/.claude.json`).
    pub live: PathBuf,
    /// Whole file or its `mcpServers` key.
    pub source: Source,
    /// Its bytes before the edit (`None`: it does not exist yet).
    pub before: Option<Vec<u8>>,
}

/// The live file `arg` names, if capture takes it; written from the store first when the
/// store has it and this machine does not.
pub fn target(ws: &Workspace, arg: &str) -> Result<Target> {
    let path = ws
        .store_paths_for(&[arg.to_string()])?
        .pop()
        .ok_or_else(|| Error::UnknownPath(arg.to_string()))?;
    let unknown = || Error::UnknownPath(arg.to_string());
    if !crate::capture::capturable(&path, &ws.repo.manifest) {
        return Err(unknown());
    }
    let (live, source) = crate::layout::live_location(&ws.env, &path).ok_or_else(unknown)?;
    if live.is_dir() {
        return Err(unknown());
    }
    if !live.exists() && ws.repo.files.contains_key(&path) {
        let scope = crate::apply::Scope::Paths(vec![path.clone()]);
        crate::apply::to_head(ws, scope, crate::apply::OnDirty::Refuse)?;
    }
    let before = std::fs::read(&live).ok();
    Ok(Target {
        path,
        live,
        source,
        before,
    })
}

/// Whether the file changed in the editor.
pub fn changed(t: &Target) -> bool {
    std::fs::read(&t.live).ok() != t.before
}

/// Checks the edited file as capture would read it: a parse error names file, line and
/// column; a credential in plain text is refused. Nothing is written.
pub fn check(ws: &Workspace, t: &Target) -> Result<()> {
    crate::capture::capture_one(ws, &t.path, t.live.clone(), t.source.clone())?;
    Ok(())
}
