//! `ctx machine ls | approve | revoke`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::machines::{self, KeyChange};

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

/// Runs `ctx machine`.
pub fn run(cmd: MachineCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        MachineCommand::Ls { json } => {
            let o = crate::cli::open(env, None)?;
            let list = machines::list(&o.ws)?;
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
            let mut o = crate::cli::open(env, Some("machine approve"))?;
            let r = machines::approve(&mut o.ws, &name)?;
            report(&r, json, ui, "approved", "can already read the secrets");
            Ok(0)
        }
        MachineCommand::Revoke { name, json } => {
            let mut o = crate::cli::open(env, Some("machine revoke"))?;
            let r = machines::revoke(&mut o.ws, &name)?;
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
    for d in &r.damaged {
        ui.warn(&format!("{d} cannot be opened (damaged, or sealed without this machine); left as it was: set it anew with `ctx secret set {d}`"));
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
