//! `ctx secret ls | set | rm | rotate`

use std::io::{IsTerminal, Read};

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// `ctx secret` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SecretCommand {
    /// List the encrypted values by locator (FILE:field.path) and why each is sealed, and what
    /// ctx.yaml marks as not secret; never prints a value.
    Ls {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Set an encrypted value, read from stdin without echo, then apply it.
    #[command(
        after_help = "Example: pass show github | ctx secret set claude/mcp.json:github.env.GITHUB_TOKEN"
    )]
    Set {
        /// Where: `FILE:field.path`, e.g. claude/mcp.json:github.env.GITHUB_TOKEN.
        locator: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Stop treating a field as secret: remove the rule `set` added; the value is stored in
    /// plain text unless it still looks like a secret.
    #[command(after_help = "Example: ctx secret rm settings.json:env.LOG_LEVEL")]
    Rm {
        /// Where: `FILE:field.path`.
        locator: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt every secret with fresh ciphertexts (after a key may have leaked).
    Rotate {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `ctx secret`.
pub fn run(cmd: SecretCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        SecretCommand::Ls { json } => ls(env, ui, json),
        SecretCommand::Set { locator, json } => set(env, ui, &locator, json),
        SecretCommand::Rm { locator, json } => rm(env, ui, &locator, json),
        SecretCommand::Rotate { json } => rotate(env, ui, json),
    }
}

fn rm(env: &Env, ui: &Ui, locator: &str, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("secret"))?;
    let done = crate::secrets::remove(&mut o.ws, locator)?;
    if json {
        ui.json(&done);
        return Ok(0);
    }
    let head = done
        .commit
        .as_deref()
        .map(|c| format!("[{}] ", &c[..10]))
        .unwrap_or_default();
    match (&done.still_sealed, done.rule_removed) {
        (Some(why), true) => ui.line(&format!("{head}removed the rule for {locator}; it stays sealed ({why}): list it under `not_secret:` in ctx.yaml (`ctx config edit`) to store it in plain text")),
        (Some(why), false) => ui.line(&format!("{locator} stays sealed ({why}): list it under `not_secret:` in ctx.yaml (`ctx config edit`) to store it in plain text")),
        (None, true) => ui.line(&format!("{head}removed the rule for {locator}; its value is stored in plain text")),
        (None, false) => ui.line(&format!("{head}{locator} is stored in plain text")),
    }
    Ok(0)
}

fn ls(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let o = crate::cli::open(env, None)?;
    let listing = crate::secrets::list(&o.ws)?;
    if json {
        ui.json(&listing);
        return Ok(0);
    }
    if listing.sealed.is_empty() {
        ui.line("No encrypted values in the store.");
    }
    for l in &listing.sealed {
        let note = match l.readable {
            true => "",
            false => "  (this machine cannot read it)",
        };
        ui.line(&format!("{}  [{}]{note}", l.locator, l.why));
    }
    if !listing.not_secret.is_empty() {
        ui.line("not secret (ctx.yaml `not_secret:`):");
        for n in &listing.not_secret {
            let what = match (&n.file, &n.fingerprint) {
                (Some(f), _) => format!("file {f}"),
                (None, Some(fp)) => format!("value {fp}"),
                (None, None) => continue,
            };
            ui.line(&format!("  {what}"));
        }
    }
    Ok(0)
}

/// The value, from the terminal without echo or from stdin.
fn read_value() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let value = if stdin.is_terminal() {
        rpassword::prompt_password("value (not shown): ").map_err(|e| {
            CliError::new(
                format!("cannot read the value: {e}"),
                "pipe it on stdin instead",
            )
        })?
    } else {
        let mut s = String::new();
        stdin.lock().read_to_string(&mut s).map_err(|e| {
            CliError::new(format!("cannot read stdin: {e}"), "pipe the value on stdin")
        })?;
        s.trim_end_matches(['\n', '\r']).to_string()
    };
    if value.is_empty() {
        return Err(CliError::new(
            "the value is empty",
            "pipe the value on stdin, e.g. `pass show x | ctx secret set LOCATOR`",
        ));
    }
    Ok(value)
}

fn set(env: &Env, ui: &Ui, locator: &str, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("secret"))?;
    // Every refusal comes before the value is asked for.
    let slot = crate::secrets::slot(&o.ws, locator)?;
    let value = read_value()?;
    let (id, applied) = crate::secrets::set(&mut o.ws, &slot, &value)?;
    if json {
        ui.json(&serde_json::json!({
            "commit": id.to_string(),
            "locator": locator,
            "applied": applied.plan,
        }));
        return Ok(0);
    }
    ui.line(&format!("[{}] set {locator}", &id.to_string()[..10]));
    super::apply::print(&o.ws, &applied, false, false, ui);
    Ok(0)
}

fn rotate(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("secret"))?;
    let done = crate::secrets::rotate(&mut o.ws)?;
    if json {
        let (commit, count, damaged) = match &done {
            Some((c, n, d)) => (Some(c.to_string()), *n, d.clone()),
            None => (None, 0, Vec::new()),
        };
        ui.json(&serde_json::json!({ "commit": commit, "resealed": count, "damaged": damaged }));
        return Ok(0);
    }
    match done {
        None => ui.line("No encrypted values to rotate."),
        Some((commit, count, damaged)) => {
            ui.line(&format!(
                "[{}] re-encrypted {count} secret(s) with fresh ciphertexts",
                &commit.to_string()[..10]
            ));
            for d in damaged {
                ui.warn(&format!("{d} cannot be opened (damaged, or sealed without this machine); left as it was: set it anew with `ctx secret set {d}`"));
            }
        }
    }
    Ok(0)
}
