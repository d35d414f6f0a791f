//! `ctx log`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx log`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  ctx log\n  ctx log --oneline -n 5\n  \
ctx log -p settings.json       (each commit's diff of that file)\n  \
ctx log --since \"2 days ago\"\n  ctx log --since \"2026-11-20 14:00\"   (local time)\n\n\
Times are shown in the local time zone (TZ) with their offset; secrets as <secret>.")]
pub struct LogArgs {
    /// Only commits that changed this path (e.g. settings.json, claude/skills/x).
    pub path: Option<String>,
    /// How many commits to show (default 20; every one since --since).
    #[arg(short = 'n', long)]
    pub max_count: Option<usize>,
    /// Only commits made at or after this time: "2026-11-20 14:00" (local), "2 days ago", RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// One line per commit: short id and subject.
    #[arg(long)]
    pub oneline: bool,
    /// Show each commit's diff (secrets redacted).
    #[arg(short = 'p', long = "patch")]
    pub patch: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx log`.
pub fn run(args: LogArgs, env: &Env, ui: &Ui, no_pager: bool) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let Some(head) = o.ws.repo.head else {
        return Ok(0);
    };
    let path = match &args.path {
        Some(p) => o.ws.store_paths_for(std::slice::from_ref(p))?.pop(),
        None => None,
    };
    let since = args
        .since
        .as_deref()
        .map(crate::rollback::parse_time)
        .transpose()?;
    let limit = match (args.max_count, since) {
        (Some(n), _) => n,
        (None, Some(_)) => usize::MAX,
        (None, None) => 20,
    };
    let history = o.ws.repo.store.history();
    let mut entries = history.log(
        head,
        path.as_deref(),
        if since.is_some() { usize::MAX } else { limit },
    )?;
    if let Some(t) = since {
        entries.retain(|e| e.time >= t);
        entries.truncate(limit);
    }
    let only: Vec<String> = path.into_iter().collect();
    if args.json {
        let mut out = Vec::new();
        for e in &entries {
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["local_time"] = crate::clock::local_rfc3339(e.time).into();
            if args.patch {
                let diffs = commit_diffs(&o.ws, &e.id, &only)?;
                v["files"] = super::diff::files_json(&o.ws, &diffs).into();
            }
            out.push(v);
        }
        ui.json(&out);
        return Ok(0);
    }
    ui.page(no_pager);
    for e in entries {
        let id = ui.paint(Style::Yellow, &e.id[..10]);
        if args.oneline {
            ui.line(&format!("{id} {}", e.summary));
        } else {
            ui.line(&format!(
                "{id} {} {:<10} {}",
                ui.paint(Style::Dim, &crate::clock::local(e.time)),
                e.machine.as_deref().unwrap_or("-"),
                e.summary
            ));
        }
        if args.patch {
            let diffs = commit_diffs(&o.ws, &e.id, &only)?;
            super::diff::print(&o.ws, &diffs, super::diff::View::default(), ui);
            ui.line("");
        }
    }
    Ok(0)
}

fn commit_diffs(
    ws: &crate::workspace::Workspace,
    id: &str,
    only: &[String],
) -> Result<Vec<crate::diff::FileDiff>, CliError> {
    Ok(crate::diff::of_commit(ws, id, only)?)
}
