//! `ctx sessions enable | disable | ls | show`

mod disable;
mod enable;
mod ls;
mod show;

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// `ctx sessions` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// Sync Claude Code session transcripts (encrypted) on every machine; written to ctx.yaml.
    Enable {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing session transcripts (the store's history keeps what was synced).
    Disable {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// The sessions across all machines, newest first.
    Ls {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Where a session's transcript is on this machine, and the command that resumes it.
    Show {
        /// The session id (or a unique prefix of it).
        id: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `ctx sessions`.
pub fn run(cmd: SessionsCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        SessionsCommand::Enable { json } => enable::run(env, ui, json),
        SessionsCommand::Disable { json } => disable::run(env, ui, json),
        SessionsCommand::Ls { json } => ls::run(env, ui, json),
        SessionsCommand::Show { id, json } => show::run(env, ui, &id, json),
    }
}
