//! `ctx machine ls | approve | revoke | rm | rename`

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
    /// Trust a joined machine's signed commits and let it read the secrets (re-encrypts every
    /// secret to it). Shows the key's fingerprint first: compare it with the one `ctx init`
    /// printed there. Example: `ctx machine approve laptop --fingerprint SHA256:…`
    Approve {
        /// The machine's name, as `ctx machine ls` shows it.
        name: String,
        /// The fingerprint the machine printed at `ctx init`; refused when the key differs.
        #[arg(long, value_name = "FP")]
        fingerprint: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Take a machine's access to the secrets away (re-encrypts every secret without it) and
    /// stop trusting its signed commits. Asks first on a terminal.
    #[command(after_help = "Example: ctx machine revoke old-laptop --yes")]
    Revoke {
        /// The machine's name.
        name: String,
        /// Go ahead without asking (needed when there is no terminal to ask on).
        #[arg(short, long)]
        yes: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Remove a machine from the store: its record, its access to the secrets (re-encrypted
    /// without it) and its place among the signers. Its files and the history stay. Asks
    /// first on a terminal.
    #[command(after_help = "Example: ctx machine rm old-laptop --yes

The machine can join again with `ctx init --remote URL` there and `ctx machine approve` here.")]
    Rm {
        /// The machine's name, as `ctx machine ls` shows it.
        name: String,
        /// Go ahead without asking (needed when there is no terminal to ask on).
        #[arg(short, long)]
        yes: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Rename this machine: its record, recipient and signer entries keep the same keys, so
    /// nothing is re-encrypted and every machine keeps trusting it.
    #[command(
        after_help = "Example: ctx machine rename laptop work-laptop, then `ctx sync`

Run it on the machine being renamed (its own config holds its name). Commits made before keep the old name."
    )]
    Rename {
        /// This machine's name now.
        old: String,
        /// The new name (letters, digits, `-`, `_`).
        new: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `ctx machine`.
pub fn run(cmd: MachineCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        MachineCommand::Ls { json } => ls(env, ui, json),
        MachineCommand::Approve {
            name,
            fingerprint,
            json,
        } => {
            let mut o = crate::cli::open(env, Some("machine approve"))?;
            let c = machines::candidate(&o.ws, &name)?;
            confirm_key(&c, fingerprint.as_deref(), ui)?;
            let r = machines::approve(&mut o.ws, c, fingerprint.as_deref())?;
            report(&r, json, ui, "approved", "can already read the secrets");
            Ok(0)
        }
        MachineCommand::Revoke { name, yes, json } => {
            let mut o = crate::cli::open(env, Some("machine revoke"))?;
            ui.confirm(
                &format!(
                    "revoke `{name}`: it can no longer read the secrets or sign for this store"
                ),
                yes,
            )?;
            let r = machines::revoke(&mut o.ws, &name)?;
            report(&r, json, ui, "revoked", "already cannot read the secrets");
            if r.commit.is_some() && !json {
                ui.warn(&format!(
                    "`{name}` may have kept copies of the values it could read: change those secrets (their old ciphertexts stay in git history), then `ctx secret set`"
                ));
            }
            Ok(0)
        }
        MachineCommand::Rm { name, yes, json } => rm(env, ui, &name, yes, json),
        MachineCommand::Rename { old, new, json } => {
            let mut o = crate::cli::open(env, Some("machine rename"))?;
            let r = machines::rename(&mut o.ws, &old, &new)?;
            if json {
                ui.json(&r);
            } else {
                ui.line(&format!(
                    "[{}] renamed `{old}` to `{new}`: same keys, same trust. Run `ctx sync` to share it.",
                    &r.commit[..10]
                ));
            }
            Ok(0)
        }
    }
}

fn ls(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
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
        let trust = match (m.trusted, &m.fingerprint) {
            (true, Some(fp)) => format!("signs as {fp}"),
            (false, Some(fp)) => ui.paint(Style::Yellow, &format!("awaiting approval (key {fp})")),
            (_, None) => ui.paint(Style::Yellow, "no signing key (run `ctx init` there)"),
        };
        ui.line(&format!(
            "{}{}  {}  {}  last sync {}  {}  {}",
            m.name,
            if m.this_machine {
                " (this machine)"
            } else {
                ""
            },
            m.os,
            m.public_key,
            m.last_sync
                .as_deref()
                .map(crate::clock::local_of)
                .unwrap_or_else(|| "never".into()),
            access,
            trust
        ));
    }
    Ok(0)
}

fn rm(env: &Env, ui: &Ui, name: &str, yes: bool, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("machine rm"))?;
    // Nobody is asked to confirm what would be refused anyway.
    if name == o.ws.machine() {
        return Err(machines::MachineError::ThisMachine(name.to_string()).into());
    }
    ui.confirm(
        &format!(
            "remove `{name}` from the store: it can no longer read the secrets or sign for it"
        ),
        yes,
    )?;
    let r = machines::remove(&mut o.ws, name)?;
    if json {
        ui.json(&r);
        return Ok(0);
    }
    for d in &r.damaged {
        ui.warn(&format!("{d} cannot be opened (damaged, or sealed without this machine); left as it was: set it anew with `ctx secret set {d}`"));
    }
    let mut what = vec!["its record".to_string()];
    if r.was_recipient {
        what.push(format!(
            "its access to the secrets ({} re-encrypted without it)",
            r.resealed
        ));
    }
    if r.was_signer {
        what.push("its place among the signers".into());
    }
    ui.line(&format!(
        "[{}] removed `{name}`: {}. Run `ctx sync` to share it.",
        &r.commit[..10.min(r.commit.len())],
        what.join(", ")
    ));
    if r.was_recipient {
        ui.warn(&format!(
            "`{name}` may have kept copies of the values it could read: change those secrets (their old ciphertexts stay in git history), then `ctx secret set`"
        ));
    }
    Ok(0)
}

/// Shows the key about to be trusted; a changed key needs `--fingerprint` or a yes on the
/// terminal, and a terminal is asked in any case unless `--fingerprint` was given.
fn confirm_key(
    c: &machines::Candidate,
    fingerprint: Option<&str>,
    ui: &Ui,
) -> Result<(), CliError> {
    match &c.changed_from {
        Some(was) => ui.warn(&format!(
            "`{}`'s signing key CHANGED: it was {was}, it is now {}",
            c.name, c.fingerprint
        )),
        None => ui.line(&format!("`{}`'s signing key: {}", c.name, c.fingerprint)),
    }
    if fingerprint.is_some() {
        return Ok(());
    }
    match ui.ask("Is this the fingerprint that machine printed at `ctx init`?") {
        Some(true) => Ok(()),
        Some(false) => Err(CliError::new(
            "not approved: the fingerprint was not confirmed",
            "compare it with the one `ctx init` printed on that machine",
        )),
        None if c.changed_from.is_some() => Err(CliError::new(
            format!(
                "`{}`'s signing key changed since this machine first saw it; not approved",
                c.name
            ),
            format!(
                "check it on that machine and run `ctx machine approve {} --fingerprint {}`",
                c.name, c.fingerprint
            ),
        )),
        None => Ok(()),
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
