//! `ctx backups`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx backups`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: ctx backups, then\n  \
ctx git show refs/ctx/backups/NAME:claude/settings.json   (a saved file's contents)")]
pub struct BackupsArgs {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx backups`.
pub fn run(args: BackupsArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let list = crate::backups::list(&o.ws)?;
    if args.json {
        ui.json(&list);
        return Ok(0);
    }
    if list.is_empty() {
        ui.line("No backups: `apply --force` makes one when it overwrites uncommitted changes.");
        return Ok(0);
    }
    for b in &list {
        let when = jiff::Timestamp::from_second(b.time)
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M %z")
                    .to_string()
            })
            .unwrap_or_default();
        ui.line(&format!(
            "{}  {}  {} file(s)",
            ui.paint(Style::Yellow, &b.name),
            ui.paint(Style::Dim, &when),
            b.files.len()
        ));
        for f in &b.files {
            ui.line(&format!("  {f}"));
        }
    }
    ui.line(&ui.paint(
        Style::Dim,
        "read a saved file with `ctx git show refs/ctx/backups/NAME:PATH`",
    ));
    Ok(0)
}
