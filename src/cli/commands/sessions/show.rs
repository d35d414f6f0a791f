//! `ctx sessions show ID`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Prints where a session is here and how to resume it.
pub fn run(env: &Env, ui: &Ui, id: &str, json: bool) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let (info, resume) = crate::sessions::show(&o.ws, id)?;
    if json {
        ui.json(&serde_json::json!({ "session": info, "resume": resume }));
        return Ok(0);
    }
    ui.line(&format!("session    {}", info.id));
    ui.line(&format!("project    {}", info.project));
    if let Some(t) = &info.title {
        ui.line(&format!("title      {t}"));
    }
    if let Some(m) = &info.machine {
        ui.line(&format!(
            "last used  {} on {m}",
            info.last
                .as_deref()
                .map(crate::clock::local_of)
                .unwrap_or_else(|| "-".into())
        ));
    }
    match (&info.transcript, resume) {
        (Some(t), Some(cmd)) => {
            ui.line(&format!("transcript {t}"));
            ui.line(&format!("resume     {cmd}"));
        }
        _ if info.project_path.is_none() => ui.line(
            "not on this machine: its project has no worktree here (clone it and run `ctx hooks install` in it, then `ctx sync`)",
        ),
        _ => ui.line("not written here yet: run `ctx sync` (or `ctx apply`)"),
    }
    Ok(0)
}
