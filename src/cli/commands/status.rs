//! `ctx status`

use crate::capture::FileState;
use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx status`.
pub fn run(args: StatusArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let report = crate::overview::overview(&o.ws)?;
    // Open conflicts need a person (1); a file ctx cannot read needs fixing (2).
    let code = match (report.conflicts.is_empty(), report.problems.is_empty()) {
        (false, _) => 1,
        (true, false) => 2,
        (true, true) => 0,
    };
    if args.json {
        ui.json(&report);
        return Ok(code);
    }
    for p in &report.problems {
        ui.warn(p);
    }
    if report.problems.is_empty() || !report.files.is_empty() {
        print_files(&report.files, ui);
    }
    if report.sessions.sessions > 0 {
        ui.line(&format!(
            "sessions: {} with {} new line(s), captured by the next commit or sync",
            report.sessions.sessions, report.sessions.lines
        ));
    }
    if !report.plugins_to_install.is_empty() {
        ui.line(&format!(
            "Plugins enabled but not installed here: {}; Claude Code installs them at its next start.",
            report.plugins_to_install.join(", ")
        ));
    }
    if let Some(r) = &report.remote {
        let state = match (r.ahead, r.behind) {
            (0, 0) => "up to date with the last fetch".to_string(),
            (a, 0) => format!("{a} commit(s) not pushed yet"),
            (0, b) => format!("{b} commit(s) fetched, not merged yet"),
            (a, b) => format!("{a} commit(s) not pushed, {b} not merged"),
        };
        ui.line(&format!("Remote {}: {state}.", r.url));
    }
    if !report.conflicts.is_empty() {
        ui.line(&ui.paint(Style::Red, "Open conflicts:"));
        for c in &report.conflicts {
            let fields: Vec<&str> = c
                .fields
                .iter()
                .map(|f| f.field.as_str())
                .filter(|f| !f.is_empty())
                .collect();
            ui.line(&format!(
                "  {}  {}{}",
                c.path,
                c.kind.as_str(),
                if fields.is_empty() {
                    String::new()
                } else {
                    format!(": {}", fields.join(", "))
                }
            ));
        }
        ui.line("  settle with `ctx resolve PATH --ours|--theirs` or `ctx resolve PATH`");
    }
    for h in &report.held_for_review {
        let who = h.machine.as_deref().unwrap_or("another machine");
        ui.warn_hint(
            &format!(
                "held for review: {} from {who} ({})",
                h.path,
                h.fields.join(", ")
            ),
            "`ctx review` shows it; `ctx review --accept` applies it, `--reject` keeps yours",
        );
    }
    if !report.cannot_read_secrets.is_empty() {
        ui.line(&format!(
            "Cannot read the secrets yet: {} (`ctx machine approve NAME`).",
            report.cannot_read_secrets.join(", ")
        ));
    }
    if !report.untracked.is_empty() {
        ui.line("Untracked (on no list; `ctx add PATH` tracks one, `ctx unmanaged` says why each is left out):");
        for u in &report.untracked {
            ui.line(&format!("  {u}"));
        }
    }
    Ok(code)
}

/// The files that differ, one line each with the fields that changed.
fn print_files(files: &[crate::overview::StatusLine], ui: &Ui) {
    let files: Vec<&crate::capture::FileStatus> = files.iter().map(|l| &l.status).collect();
    if files.is_empty() {
        ui.line("Live files match the store.");
    } else {
        for f in &files {
            let (mark, style) = match f.state {
                FileState::Added => ("added   ", Style::Green),
                FileState::Modified => ("modified", Style::Yellow),
                FileState::Deleted => ("deleted ", Style::Red),
                FileState::Missing => ("missing ", Style::Cyan),
                FileState::Behind => ("behind  ", Style::Cyan),
            };
            let fields = if f.fields.is_empty() {
                String::new()
            } else {
                format!("  ({})", f.fields.join(", "))
            };
            ui.line(&format!("{} {}{}", ui.paint(style, mark), f.path, fields));
        }
        if files.iter().any(|f| f.state == FileState::Behind) {
            ui.line(&ui.paint(
                Style::Dim,
                "behind: unchanged here, newer in the store; `ctx apply` updates them",
            ));
        }
        if files.iter().any(|f| f.state == FileState::Missing) {
            ui.line(&ui.paint(
                Style::Dim,
                "missing: in the store, not on this machine; `ctx apply` writes them",
            ));
        }
    }
}
