//! `ctx git`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx git`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: ctx git log --oneline -5\n\n\
The store is a bare repository: commands that need a work tree (status, checkout) do not \
apply. A commit made here bypasses ctx's checks; prefer `ctx commit` and `ctx rollback`.")]
pub struct GitArgs {
    /// Arguments passed to git as they are, after `--git-dir STORE`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// Runs `ctx git`: git's exit code is ctx's.
pub fn run(args: GitArgs, env: &Env, _ui: &Ui) -> Result<i32, CliError> {
    Ok(crate::store_shell::git(&env.store_dir, &args.args)?)
}
