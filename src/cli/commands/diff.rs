//! `ctx diff`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::diff::FileDiff;
use crate::env::Env;

/// Arguments of `ctx diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Limit the diff to these paths (store paths like settings.json, or live paths).
    pub paths: Vec<String>,
}

/// Runs `ctx diff`.
pub fn run(args: DiffArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let only = o.ws.store_paths_for(&args.paths)?;
    // Transcripts are counted, never shown: they hold file contents and pasted secrets.
    let pending = crate::sessions::pending(&o.ws);
    if pending.sessions > 0 && only.is_empty() {
        ui.line(&format!(
            "sessions: {} with {} new line(s) (not shown)",
            pending.sessions, pending.lines
        ));
    }
    for d in crate::diff::live_changes(&o.ws, &only)? {
        let (path, old, new) = match d {
            FileDiff::Text { path, old, new } => (path, old, new),
            FileDiff::Binary { path } => {
                ui.line(&format!("Binary file {path} differs"));
                continue;
            }
        };
        let diff = similar::TextDiff::from_lines(&old, &new);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        for line in text.lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                ui.paint(Style::Bold, line)
            } else if line.starts_with('+') {
                ui.paint(Style::Green, line)
            } else if line.starts_with('-') {
                ui.paint(Style::Red, line)
            } else if line.starts_with("@@") {
                ui.paint(Style::Cyan, line)
            } else {
                line.to_string()
            };
            ui.raw(&format!("{styled}\n"));
        }
    }
    Ok(0)
}
