//! `ctx init`

use crate::apply::{OnDirty, Scope};
use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::setup::InitReport;

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
    /// Also apply the store's context onto this machine, as `ctx apply` does (a new machine's
    /// restore in one step); the push of this machine's record runs alongside.
    #[arg(long)]
    pub apply: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx init`.
pub fn run(args: InitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    if args.apply {
        return init_and_apply(&args, env, ui);
    }
    let report = crate::setup::init(env, args.machine.as_deref(), args.remote.as_deref())?;
    if args.json {
        ui.json(&report);
        return Ok(0);
    }
    print(&report, true, ui);
    Ok(0)
}

/// `ctx init --apply`: the setup, then the apply under one lock with the push beside it.
fn init_and_apply(args: &InitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let (machine, remote) = (args.machine.as_deref(), args.remote.as_deref());
    let mut report = crate::setup::init_with(env, machine, remote, false)?;
    let o = crate::cli::open(env, Some("init"))?;
    let done = crate::setup::push_alongside(env, &o.ws.repo.store, &mut report, || {
        crate::apply::to_head(&o.ws, Scope::All, OnDirty::Refuse)
    })??;
    if args.json {
        ui.json(&serde_json::json!({ "init": report, "apply": done.plan }));
        return Ok(0);
    }
    print(&report, false, ui);
    super::apply::print(&o.ws, &done, false, false, ui);
    Ok(0)
}

/// What init did; `next` adds the command to run next.
fn print(report: &InitReport, next: bool, ui: &Ui) {
    if report.created.is_empty() {
        ui.line(&format!(
            "ctx is already set up: machine `{}`, store {}. Nothing changed.",
            report.machine, report.store
        ));
        return;
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
        if next {
            ui.line("Next: `ctx sync` brings the store's context onto this machine.");
        }
    } else if next {
        ui.line("Next: `ctx status`, then `ctx commit`.");
    }
}
