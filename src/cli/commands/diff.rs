//! `ctx diff`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::diff::{Compare, FileDiff};
use crate::env::Env;
use crate::workspace::Workspace;

/// Arguments of `ctx diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx diff                      (what `ctx commit` would record)\n  \
ctx diff settings.json        (only that file)\n  ctx diff HEAD~1               (what the last commit changed, to now)\n  \
ctx diff HEAD~3 HEAD~1 --stat (two store revisions)\n  ctx diff HEAD~1 -- notes     (`--` ends the revisions)\n\n\
Secret values are never printed: they show as <secret>."
)]
pub struct DiffArgs {
    /// Revisions (a commit id from `ctx log`, HEAD~N; at most two), then paths (store paths like
    /// settings.json, or live paths).
    pub args: Vec<String>,
    /// Paths, after `--`.
    #[arg(last = true)]
    pub paths: Vec<String>,
    /// One line per file with the lines added and removed.
    #[arg(long, conflicts_with = "name_only")]
    pub stat: bool,
    /// Only the names of the files that differ.
    #[arg(long)]
    pub name_only: bool,
    /// Exit 1 when there are differences, 0 when there are none.
    #[arg(long)]
    pub exit_code: bool,
    /// Print one JSON document: each file with its path, live_path, status, line counts and patch.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx diff`.
pub fn run(args: DiffArgs, env: &Env, ui: &Ui, no_pager: bool) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let dashes = !args.paths.is_empty();
    let (compare, paths) = crate::diff::split_args(&o.ws, &args.args, &args.paths, dashes)?;
    let only = o.ws.store_paths_for(&paths)?;
    ui.verbose(&match &compare {
        Compare::Live => "comparing the live files with the store's main".to_string(),
        Compare::Revisions { from, to } => format!(
            "comparing store revision {from} with {}",
            to.as_deref().unwrap_or("main")
        ),
    });
    let diffs = crate::diff::compare(&o.ws, &compare, &only)?;
    let code = if args.exit_code && !diffs.is_empty() {
        1
    } else {
        0
    };
    let view = View {
        stat: args.stat,
        name_only: args.name_only,
    };
    if args.json {
        ui.json(&serde_json::json!({ "files": files_json(&o.ws, &diffs) }));
        return Ok(code);
    }
    ui.page(no_pager);
    // Transcripts are counted, never shown: they hold file contents and pasted secrets.
    let pending = crate::sessions::pending(&o.ws);
    if compare == Compare::Live && pending.sessions > 0 && only.is_empty() {
        ui.line(&format!(
            "sessions: {} with {} new line(s) (not shown)",
            pending.sessions, pending.lines
        ));
    }
    print(&o.ws, &diffs, view, ui);
    Ok(code)
}

/// How `print` shows the files.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    /// `--stat`.
    pub stat: bool,
    /// `--name-only`.
    pub name_only: bool,
}

/// The files as JSON: one object per file, the same shape everywhere a diff is reported.
pub fn files_json(ws: &Workspace, diffs: &[FileDiff]) -> Vec<serde_json::Value> {
    diffs
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(crate::diff::stat(ws, d)).unwrap_or_default();
            if let FileDiff::Text { path, old, new } = d {
                v["patch"] = crate::diff::unified(path, old, new).into();
            }
            v
        })
        .collect()
}

/// Prints diffs (redacted already) as a patch, a stat or names; `log -p` and
/// `apply --dry-run` print theirs with it too.
pub fn print(ws: &Workspace, diffs: &[FileDiff], view: View, ui: &Ui) {
    if view.name_only {
        for d in diffs {
            ui.line(path_of(d));
        }
        return;
    }
    if view.stat {
        print_stat(ws, diffs, ui);
        return;
    }
    for d in diffs {
        let (path, old, new) = match d {
            FileDiff::Text { path, old, new } => (path, old, new),
            FileDiff::Binary { path } => {
                ui.line(&format!("Binary file {path} differs"));
                continue;
            }
        };
        for line in crate::diff::unified(path, old, new).lines() {
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
            ui.line(&styled);
        }
    }
}

fn path_of(d: &FileDiff) -> &str {
    match d {
        FileDiff::Text { path, .. } | FileDiff::Binary { path } => path,
    }
}

fn print_stat(ws: &Workspace, diffs: &[FileDiff], ui: &Ui) {
    let stats: Vec<_> = diffs.iter().map(|d| crate::diff::stat(ws, d)).collect();
    let width = stats.iter().map(|s| s.path.len()).max().unwrap_or(0);
    let (mut plus, mut minus) = (0, 0);
    for s in &stats {
        plus += s.added;
        minus += s.removed;
        let bar = if s.binary {
            "Bin".to_string()
        } else {
            format!(
                "{:>4} {}{}",
                s.added + s.removed,
                ui.paint(Style::Green, &"+".repeat(s.added.min(30))),
                ui.paint(Style::Red, &"-".repeat(s.removed.min(30)))
            )
        };
        ui.line(&format!(" {:<width$} | {bar}", s.path));
    }
    if !stats.is_empty() {
        ui.line(&format!(
            " {} file(s) changed, {plus} insertion(s)(+), {minus} deletion(s)(-)",
            stats.len()
        ));
    }
}
