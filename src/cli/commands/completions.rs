//! `ctx completions`

use clap::CommandFactory;

use crate::cli::{Cli, CliError};

/// Arguments of `ctx completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Prints completions for the shell.
pub fn run(args: CompletionsArgs) -> Result<i32, CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "ctx", &mut std::io::stdout());
    Ok(0)
}
