//! `ctx doctor`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx doctor`: exit 0 when every check passes (warnings aside), 2 otherwise.
pub fn run(args: DoctorArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let findings = crate::doctor::check(env);
    if args.json {
        ui.json(&findings);
    } else {
        for f in &findings {
            let mark = match (f.ok, f.warning) {
                (true, _) => ui.paint(Style::Green, "ok  "),
                (false, true) => ui.paint(Style::Yellow, "warn"),
                (false, false) => ui.paint(Style::Red, "FAIL"),
            };
            ui.line(&format!("{mark} {:<13} {}", f.check, f.detail));
            if let Some(fix) = &f.fix {
                ui.line(&format!("     {} {fix}", ui.paint(Style::Yellow, "fix:")));
            }
        }
    }
    Ok(if findings.iter().all(|f| f.ok || f.warning) {
        0
    } else {
        2
    })
}
