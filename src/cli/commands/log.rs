//! `ctx log`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only commits that changed this path (e.g. settings.json, claude/skills/x).
    pub path: Option<String>,
    /// How many commits to show.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub max_count: usize,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx log`.
pub fn run(args: LogArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let Some(head) = o.ws.repo.head else {
        return Ok(0);
    };
    let path = match &args.path {
        Some(p) => o.ws.store_paths_for(std::slice::from_ref(p))?.pop(),
        None => None,
    };
    let history = o.ws.repo.store.history();
    let entries = history.log(head, path.as_deref(), args.max_count)?;
    if args.json {
        ui.json(&entries);
        return Ok(0);
    }
    for e in entries {
        let when = jiff::Timestamp::from_second(e.time)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        ui.line(&format!(
            "{} {} {:<10} {}",
            ui.paint(Style::Yellow, &e.id[..10]),
            ui.paint(Style::Dim, &when),
            e.machine.as_deref().unwrap_or("-"),
            e.summary
        ));
    }
    Ok(0)
}
