//! `ctx cat`

use std::io::IsTerminal;

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx cat`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx cat settings.json\n  ctx cat claude/mcp.json --decrypt\n\n\
Prints the file as `ctx apply` would write it here: home paths are this machine's. \
claude/mcp.json is the mcpServers key of ~/.claude.json."
)]
pub struct CatArgs {
    /// The file: as `ctx status` names it (settings.json, claude/skills/x/SKILL.md) or its live path.
    pub path: String,
    /// Show the secrets' values (only to a terminal, never into a pipe or a file).
    #[arg(long)]
    pub decrypt: bool,
}

/// Runs `ctx cat`.
pub fn run(args: CatArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    if args.decrypt && !std::io::stdout().is_terminal() {
        return Err(CliError::new(
            "--decrypt prints secrets only to a terminal, and the output is not one",
            "run it in a terminal, or leave out --decrypt to see `<secret>` in their place",
        ));
    }
    let o = crate::cli::open(env, None)?;
    let shown = crate::stored::stored(&o.ws, &args.path, args.decrypt)?;
    for u in &shown.unreadable {
        ui.warn(&format!("{u}: not sealed to this machine's key; left out"));
    }
    let mut text = String::from_utf8_lossy(&shown.bytes).to_string();
    if !text.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    ui.raw(&text);
    Ok(0)
}
