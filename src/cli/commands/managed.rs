//! `ctx managed`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx managed`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx managed\n  ctx managed --json | jq -r '.[].live_path'\n\n\
Each line is a store path and the live file it is on this machine. `ctx unmanaged` lists the rest \
of the Claude home; `ctx add PATH` and `ctx forget PATH` move a path between the two."
)]
pub struct ManagedArgs {
    /// Print one JSON document: each file's path, live_path, and whether it is live here and stored.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx managed`.
pub fn run(args: ManagedArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let list = crate::managed::managed(&o.ws)?;
    if args.json {
        ui.json(&list);
        return Ok(0);
    }
    let width = list.iter().map(|m| m.path.len()).max().unwrap_or(0);
    for m in &list {
        let live = match &m.live_path {
            Some(p) => env.display(std::path::Path::new(p)),
            None => "(its project is not checked out here)".into(),
        };
        let note = match (m.live, m.stored) {
            (true, false) => ui.paint(Style::Green, "  (not committed yet)"),
            (false, true) => ui.paint(
                Style::Cyan,
                "  (not on this machine; `ctx apply` writes it)",
            ),
            _ => String::new(),
        };
        ui.line(&format!("{:<width$}  {live}{note}", m.path));
    }
    Ok(0)
}
