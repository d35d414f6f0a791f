//! This project's memory, as `ctx_memory` reads and appends to it.
//!
//! Project memory is the worktree's `CLAUDE.local.md`: Claude Code loads it as the person's own
//! memory for that project (it is not in the project's git), and ctx already keeps it per
//! project as `projects/<id>/CLAUDE.local.md`, restoring it into the project's worktree on
//! every machine. Appending writes the worktree's file, records it in the store like the
//! post-commit hook does, and syncs.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tools::{lock, to_json};
use super::ToolError;
use crate::env::Env;
use crate::layout::Source;
use crate::project::{self, Direction, GitProject, PersonalOutcome};
use crate::workspace::Workspace;

/// The memory file, relative to the worktree.
pub const FILE: &str = "CLAUDE.local.md";

/// The longest line `ctx_memory` appends.
pub const LINE_MAX: usize = 2000;

/// Arguments of `ctx_memory`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryArgs {
    /// One line to remember for this project on every machine (e.g. "- run tests with `make
    /// check`"). Omit to only read the memory. Never a secret: ctx refuses a token or password.
    pub append: Option<String>,
    /// A folder inside the project (default: the folder Claude Code started the server in).
    pub project_dir: Option<String>,
}

/// `ctx_memory`: reads the project's memory, after appending `append` if given.
pub fn memory(env: &Env, args: MemoryArgs, cwd: &Path) -> Result<Value, ToolError> {
    let dir = match &args.project_dir {
        Some(d) if Path::new(d).is_absolute() => PathBuf::from(d),
        Some(d) => cwd.join(d),
        None => cwd.to_path_buf(),
    };
    let p = GitProject::inspect(&dir)?;
    match args.append {
        None => {
            let ws = Workspace::open(env.clone())?;
            Ok(read(&ws, &p)?)
        }
        Some(line) => append(env, &p, &line),
    }
}

/// The worktree's memory and the store's (in live form), each if present.
fn both(ws: &Workspace, p: &GitProject) -> Result<(Option<String>, Option<String>), ToolError> {
    let live = p.worktree.join(FILE);
    let store_path = p.personal_store_path(FILE);
    let stored = ws.repo.read(&store_path)?.map(|b| {
        let bytes = ws
            .codec()
            .to_live(&store_path, &Source::Whole, &b, None)
            .bytes;
        String::from_utf8_lossy(&bytes).to_string()
    });
    let here = match std::fs::read(&live) {
        Ok(b) => Some(String::from_utf8_lossy(&b).to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(crate::error::Error::Io { path: live, source }.into()),
    };
    Ok((here, stored))
}

/// The memory to build on: the store's when it only adds lines to the worktree's (another
/// machine appended), else the worktree's, else the store's.
fn current(here: Option<&str>, stored: Option<&str>) -> String {
    match (here, stored) {
        (Some(h), Some(s)) if s.starts_with(h) && (h.is_empty() || h.ends_with('\n')) => s.into(),
        (Some(h), _) => h.into(),
        (None, s) => s.unwrap_or_default().into(),
    }
}

fn read(ws: &Workspace, p: &GitProject) -> Result<Value, ToolError> {
    let (here, stored) = both(ws, p)?;
    let text = current(here.as_deref(), stored.as_deref());
    let mut out = json!({
        "project": p.name,
        "id": p.id,
        "file": ws.env.display(&p.worktree.join(FILE)),
        "store_path": p.personal_store_path(FILE),
        "in_store": stored.is_some(),
        "text": redact_tokens(&text),
    });
    // A worktree file that went its own way: show the store's too, so nothing is hidden.
    if let Some(s) = stored.filter(|s| *s != text) {
        out["store_text"] = json!(redact_tokens(&s));
    }
    Ok(out)
}

/// Appends `line` to the worktree's memory file (caught up with lines other machines appended),
/// records it in the store and syncs, under the store's lock for all of it as one command.
fn append(env: &Env, p: &GitProject, line: &str) -> Result<Value, ToolError> {
    let line = checked_line(line)?;
    let _lock = lock(env, "mcp memory")?;
    let mut ws = Workspace::open(env.clone())?;
    let live = p.worktree.join(FILE);
    let (here, stored) = both(&ws, p)?;
    let mut text = current(here.as_deref(), stored.as_deref());
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    crate::fsx::write_atomic(&live, text.as_bytes(), crate::fsx::private_mode(&live))
        .map_err(crate::error::io(&live))?;
    let outcomes = project::record(&mut ws, p, Direction::Capture, crate::clock::now())?;
    if let Some((_, PersonalOutcome::Refused(why))) = outcomes.iter().find(|(r, _)| r == FILE) {
        return Err(ToolError::Refused {
            message: format!("{} was written but not stored: {why}", ws.env.display(&live)),
            hint: "remove the offending line from the file; ctx stores it again on the next commit in that project".into(),
        });
    }
    let committed = ws.repo.head.map(|h| h.to_string());
    let synced = sync_after(env);
    let ws = Workspace::open(env.clone())?;
    let mut out = read(&ws, p)?;
    out["appended"] = json!(line);
    out["committed"] = json!(committed);
    out["sync"] = synced;
    Ok(out)
}

/// One line, not empty, not a secret.
fn checked_line(line: &str) -> Result<&str, ToolError> {
    let refuse = |message: &str, hint: &str| ToolError::Refused {
        message: message.into(),
        hint: hint.into(),
    };
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(refuse(
            "the line to append is empty",
            "pass the text to remember in `append`",
        ));
    }
    if line.contains('\n') || line.len() > LINE_MAX {
        return Err(refuse(
            "`append` takes one line (at most 2000 bytes)",
            "call ctx_memory once per line",
        ));
    }
    if let Some(f) = crate::crypt::detect::scan_text(line, FILE).first() {
        return Err(ToolError::Refused {
            message: format!("refusing to remember a secret: the line {}", f.what()),
            hint: "memory syncs in plain text; leave the value out (name where it is kept instead, e.g. an env variable)".into(),
        });
    }
    Ok(line)
}

/// Syncs after the memory commit; a store without a remote, or an unreachable one, is not a
/// failure of the append (the commit is made; the next sync carries it).
fn sync_after(env: &Env) -> Value {
    match crate::sync::sync(env, Default::default()) {
        Ok(report) => json!({ "synced": true, "report": to_json(&report) }),
        Err(e) => json!({
            "synced": false,
            "why": e.to_string(),
            "next": "the line is committed to the store; ctx_sync (or the next sync) carries it to the other machines",
        }),
    }
}

/// `text` with anything the detector takes for a credential replaced by `<secret>`.
pub fn redact_tokens(text: &str) -> String {
    let mut out = text.to_string();
    for f in crate::crypt::detect::scan_text(text, FILE) {
        if !f.value.is_empty() {
            out = out.replace(&f.value, "<secret>");
        }
    }
    out
}
