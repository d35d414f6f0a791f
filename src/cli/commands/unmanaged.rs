//! `ctx unmanaged`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::managed::Why;

/// Arguments of `ctx unmanaged`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: ctx unmanaged, then `ctx add notes` to track one of them.\n\n\
Lists the entries of the Claude home (~/.claude) ctx does not capture, with why: on no list \
(`ctx add` takes it), excluded by ctx.yaml (`ctx add` takes it back), never captured \
(credentials, caches, per-machine state), or a link ctx does not follow."
)]
pub struct UnmanagedArgs {
    /// Print one JSON document: each entry's path, live_path, why and whether it is a folder.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx unmanaged`.
pub fn run(args: UnmanagedArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let list = crate::managed::unmanaged(&o.ws)?;
    if args.json {
        ui.json(&list);
        return Ok(0);
    }
    let width = list.iter().map(|u| u.path.len() + 1).max().unwrap_or(0);
    for u in &list {
        let why = match u.why {
            Why::NotListed => ui.paint(Style::Yellow, "on no list (`ctx add` tracks it)"),
            Why::Excluded => ui.paint(
                Style::Yellow,
                "excluded by ctx.yaml (`ctx add` takes it back)",
            ),
            // Claude's per-project folders: transcripts stay out, each project's memory is taken.
            Why::Never if u.path == "projects" => ui.paint(
                Style::Dim,
                "never captured, except each project's memory (`ctx managed` lists it)",
            ),
            Why::Never => ui.paint(
                Style::Dim,
                "never captured (credentials, caches or per-machine state)",
            ),
            Why::Link => ui.paint(Style::Dim, "a link ctx does not follow"),
        };
        let name = if u.folder {
            format!("{}/", u.path)
        } else {
            u.path.clone()
        };
        ui.line(&format!("{name:<width$}  {why}"));
    }
    Ok(0)
}
