//! `ctx sessions enable`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Turns session sync on in ctx.yaml.
pub fn run(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("sessions enable"))?;
    let done = crate::sessions::set_enabled(&mut o.ws, true)?;
    if json {
        ui.json(&serde_json::json!({ "enabled": true, "commit": done }));
        return Ok(0);
    }
    match done {
        Some(c) => ui.line(&format!(
            "[{}] sessions enabled: transcripts of recorded projects are synced, encrypted to the approved machines. Run `ctx sync` to share it.",
            &c[..10]
        )),
        None => ui.line("sessions are already enabled; nothing changed."),
    }
    Ok(0)
}
