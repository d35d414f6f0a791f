//! `ctx sessions ls`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Lists the sessions across machines, newest first.
pub fn run(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let list = crate::sessions::list(&o.ws)?;
    if json {
        ui.json(&list);
        return Ok(0);
    }
    if !crate::sessions::settings(&o.ws).enabled {
        ui.warn("sessions are not synced (`ctx sessions enable` turns it on)");
    }
    for s in &list {
        let place = match (&s.transcript, &s.project_path) {
            (Some(_), _) => "here".to_string(),
            (None, Some(p)) => format!("not written yet ({p})"),
            (None, None) => "project not on this machine".to_string(),
        };
        let what = match s.readable {
            true => s.title.clone().unwrap_or_default(),
            false => "(cannot be opened here: this machine is not approved)".into(),
        };
        ui.line(&format!(
            "{}  {}  {}  {}  {} lines  {} bytes  {}  {}",
            s.id,
            s.last
                .as_deref()
                .map(crate::clock::local_of)
                .unwrap_or_else(|| "-".into()),
            s.machine.as_deref().unwrap_or("-"),
            s.project,
            s.lines,
            s.size,
            place,
            what
        ));
    }
    Ok(0)
}
