//! `ctx sessions disable`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Turns session sync off in ctx.yaml.
pub fn run(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("sessions disable"))?;
    let done = crate::sessions::set_enabled(&mut o.ws, false)?;
    if json {
        ui.json(&serde_json::json!({ "enabled": false, "commit": done }));
        return Ok(0);
    }
    match done {
        Some(c) => ui.line(&format!(
            "[{}] sessions disabled: nothing more is captured; what was synced stays in the store. Run `ctx sync` to share it.",
            &c[..10]
        )),
        None => ui.line("sessions are already disabled; nothing changed."),
    }
    Ok(0)
}
