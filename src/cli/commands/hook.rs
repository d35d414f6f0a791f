//! `ctx hook EVENT [ARGS…]` (hidden): what the installed git hooks and Claude Code hooks call.
//! It fails open: any error becomes one line in the hook log and exit 0, so git and Claude Code
//! are never blocked.

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx hook`.
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// post-checkout, post-commit, post-merge, session-start or session-end.
    pub event: String,
    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `ctx hook`: always exit 0; failures go to the hook log.
pub fn run(args: HookArgs, env: &Env, _ui: &Ui) -> Result<i32, CliError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| env.home.clone());
    let result = std::panic::catch_unwind(|| {
        crate::events::handle(env, &args.event, &args.args, &cwd).map_err(CliError::from)
    });
    let error = match result {
        Ok(Ok(done)) => {
            for n in done.notes {
                crate::hooks::log_failure(env, &args.event, &cwd, &n);
            }
            for line in done.banner {
                println!("{line}");
            }
            return Ok(0);
        }
        Ok(Err(e)) => match &e.hint {
            Some(h) => format!("{} ({h})", e.message),
            None => e.message,
        },
        Err(_) => "ctx crashed (a bug: please report it)".to_string(),
    };
    crate::hooks::log_failure(env, &args.event, &cwd, &error);
    Ok(0)
}
