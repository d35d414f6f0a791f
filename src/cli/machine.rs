//! `ctx machine ls | approve | revoke`

use super::ui::Style;
use super::{CliError, Ui};
use crate::env::Env;
use crate::machines::{self, KeyChange, MachineError};
use crate::session::Session;

/// `ctx machine` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum MachineCommand {
    /// List the machines: name, public key, last sync, whether it can read the secrets.
    Ls {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Let a joined machine read the secrets (re-encrypts every secret to it).
    Approve {
        /// The machine's name, as `ctx machine ls` shows it.
        name: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Take a machine's access to the secrets away (re-encrypts every secret without it).
    Revoke {
        /// The machine's name.
        name: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

impl From<MachineError> for CliError {
    fn from(e: MachineError) -> Self {
        match e {
            MachineError::Session(s) => s.into(),
            MachineError::Unknown(_) => CliError::new(
                e.to_string(),
                "`ctx machine ls` lists them; a new machine joins with `ctx init --remote URL`, then `ctx sync` here fetches its record",
            ),
            MachineError::LastRecipient(_) => CliError::new(
                e.to_string(),
                "approve another machine first, or the secrets could never be read again",
            ),
        }
    }
}

/// Runs `ctx machine`.
pub fn run(cmd: MachineCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        MachineCommand::Ls { json } => {
            let session = Session::open(env.clone())?;
            let list = machines::list(&session)?;
            if json {
                ui.json(&list);
                return Ok(0);
            }
            for m in &list {
                let access = if m.can_read_secrets {
                    ui.paint(Style::Green, "can read secrets")
                } else {
                    ui.paint(Style::Yellow, "cannot read secrets (not approved)")
                };
                ui.line(&format!(
                    "{}{}  {}  {}  last sync {}  {}",
                    m.name,
                    if m.this_machine {
                        " (this machine)"
                    } else {
                        ""
                    },
                    m.os,
                    m.public_key,
                    m.last_sync.as_deref().unwrap_or("never"),
                    access
                ));
            }
            Ok(0)
        }
        MachineCommand::Approve { name, json } => {
            let _lock = super::lock(env, "machine approve")?;
            let mut session = Session::open(env.clone())?;
            let r = machines::approve(&mut session, &name)?;
            report(&r, json, ui, "approved", "can already read the secrets");
            Ok(0)
        }
        MachineCommand::Revoke { name, json } => {
            let _lock = super::lock(env, "machine revoke")?;
            let mut session = Session::open(env.clone())?;
            let r = machines::revoke(&mut session, &name)?;
            report(&r, json, ui, "revoked", "already cannot read the secrets");
            if r.commit.is_some() && !json {
                ui.warn(&format!(
                    "`{name}` may have kept copies of the values it could read: change those secrets (their old ciphertexts stay in git history), then `ctx secret set`"
                ));
            }
            Ok(0)
        }
    }
}

fn report(r: &KeyChange, json: bool, ui: &Ui, done: &str, already: &str) {
    if json {
        ui.json(r);
        return;
    }
    match &r.commit {
        Some(c) => ui.line(&format!(
            "[{}] {done} `{}`; {} secret(s) re-encrypted. Run `ctx sync` to share it.",
            &c[..10],
            r.machine,
            r.resealed
        )),
        None => ui.line(&format!("`{}` {already}; nothing changed.", r.machine)),
    }
}
