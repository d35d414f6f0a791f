//! `ctx mcp` (serve MCP on stdio), `ctx mcp install`, `ctx mcp uninstall`

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::mcp::install::{self, Report, Step};

/// Arguments of `ctx mcp`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct McpArgs {
    /// Without a subcommand: serve MCP on stdin/stdout (Claude Code starts it).
    #[command(subcommand)]
    pub command: Option<McpCommand>,
}

/// `ctx mcp` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum McpCommand {
    /// Register `ctx mcp` in Claude Code's user scope (~/.claude.json `mcpServers.ctx`) and
    /// write the context-sync skill (idempotent).
    Install(InstallArgs),
    /// Remove what install added, leaving anything changed since as it is.
    Uninstall(UninstallArgs),
}

/// Arguments of `ctx mcp install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Replace an `mcpServers.ctx` entry or skill file that differs from ctx's.
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ctx mcp uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx mcp …`.
pub fn run(args: McpArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let (report, json, installing) = match args.command {
        None => {
            crate::mcp::server::serve(env.clone(), explain)?;
            return Ok(0);
        }
        Some(McpCommand::Install(a)) => (install::install(env, a.force)?, a.json, true),
        Some(McpCommand::Uninstall(a)) => (install::uninstall(env)?, a.json, false),
    };
    if json {
        ui.json(&report);
    } else {
        print(&report, installing, ui);
    }
    Ok(0)
}

/// A tool's error as the CLI would print it: the model reads the same cause and hint.
fn explain(e: crate::mcp::ToolError) -> String {
    CliError::from(e).plain()
}

fn print(r: &Report, installing: bool, ui: &Ui) {
    let server = match r.server {
        Step::Added => format!(
            "registered the ctx MCP server in {} (mcpServers.ctx runs `ctx mcp`)",
            r.claude_json
        ),
        Step::Replaced => format!(
            "replaced mcpServers.ctx in {} with `ctx mcp`",
            r.claude_json
        ),
        Step::Unchanged => format!("mcpServers.ctx in {} is already ctx's", r.claude_json),
        Step::Removed => format!("removed mcpServers.ctx from {}", r.claude_json),
        Step::Absent => format!("{} has no mcpServers.ctx", r.claude_json),
        Step::Kept if installing => format!(
            "left mcpServers.ctx in {} as it is: it differs from ctx's entry (--force replaces it)",
            r.claude_json
        ),
        Step::Kept => format!(
            "left mcpServers.ctx in {} as it is: it was changed since ctx wrote it",
            r.claude_json
        ),
    };
    ui.line(&server);
    let count = |s: Step| r.skill.iter().filter(|(_, x)| *x == s).count();
    let (done, verb) = match installing {
        true => (count(Step::Added) + count(Step::Replaced), "wrote"),
        false => (count(Step::Removed), "removed"),
    };
    match done {
        0 if installing => ui.line(&format!(
            "the context-sync skill in {} is up to date",
            r.skill_dir
        )),
        0 => ui.line(&format!(
            "no context-sync skill files to remove in {}",
            r.skill_dir
        )),
        n => ui.line(&format!(
            "{verb} the context-sync skill in {} ({n} file(s))",
            r.skill_dir
        )),
    }
    for (file, _) in r.skill.iter().filter(|(_, s)| *s == Step::Kept) {
        let why = match installing {
            true => "it differs from ctx's (--force replaces it)",
            false => "it was changed since ctx wrote it",
        };
        ui.warn(&format!("left {}/{file} as it is: {why}", r.skill_dir));
    }
    if installing && !r.on_path {
        ui.warn("`ctx` is not on this PATH: Claude Code starts the server as `ctx mcp`, so put ctx on the PATH Claude Code runs with");
    }
    if installing && r.server == Step::Added {
        ui.line("Restart Claude Code to load it; `ctx sync` carries the entry and the skill to your other machines.");
    }
}
