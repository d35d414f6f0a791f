//! `ctx init`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// This machine's name (default: the host name). Kept in ctx's config.
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// A git remote for the store: an empty one receives this store; one holding a ctx store is
    /// joined. A path, file://, ssh (git@host:path, ssh://) or https URL.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx init`.
pub fn run(args: InitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let report = crate::setup::init(env, args.machine.as_deref(), args.remote.as_deref())?;
    if args.json {
        ui.json(&report);
        return Ok(0);
    }
    if report.created.is_empty() {
        ui.line(&format!(
            "ctx is already set up: machine `{}`, store {}. Nothing changed.",
            report.machine, report.store
        ));
        return Ok(0);
    }
    for c in &report.created {
        ui.line(&format!("created {c}"));
    }
    ui.line(&format!(
        "machine `{}` ready (public key {}).",
        report.machine, report.public_key
    ));
    ui.line(&format!(
        "signing key fingerprint: {} (give it to the machine that approves this one)",
        report.fingerprint
    ));
    if report.joined {
        for (m, fp) in report.trusted.iter().filter(|(m, _)| *m != report.machine) {
            ui.line(&format!("trusting `{m}` ({fp}), as the store names it"));
        }
        if !report.approved {
            ui.warn(&format!(
                "this machine cannot read the store's secrets yet: on a machine that can, run `ctx sync && ctx machine approve {}`",
                report.machine
            ));
        }
        ui.line("Next: `ctx sync` brings the store's context onto this machine.");
    } else {
        ui.line("Next: `ctx status`, then `ctx commit`.");
    }
    Ok(0)
}
