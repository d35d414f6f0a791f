//! `ctx forget`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx forget`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: ctx forget agents/scratch.md\n\n\
Records the paths under `exclude:` in ctx.yaml. No live file is deleted, on this machine or \
any other; the store's history keeps what was captured before.")]
pub struct ForgetArgs {
    /// Files or folders under the Claude home.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx forget`.
pub fn run(args: ForgetArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    super::add::track(&args.paths, false, args.json, env, ui)
}
