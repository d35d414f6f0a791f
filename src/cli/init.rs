//! `ctx init`

use super::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// This machine's name (default: the host name). Kept in ctx's config.
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx init`.
pub fn run(args: InitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let report = crate::setup::init(env, args.machine.as_deref())?;
    if args.json {
        ui.json(&report);
        return Ok(0);
    }
    if report.created.is_empty() {
        ui.line(&format!(
            "ctx is already set up: machine `{}`, store {}. Nothing changed.",
            report.machine, report.store
        ));
    } else {
        for c in &report.created {
            ui.line(&format!("created {c}"));
        }
        ui.line(&format!(
            "machine `{}` ready (public key {}). Next: `ctx status`, then `ctx commit`.",
            report.machine, report.public_key
        ));
    }
    Ok(0)
}
