//! `ctx secret ls | set | rotate`

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};

use serde_json::Value;

use super::{CliError, Ui};
use crate::crypt::fields::{parse_locator, sealed_locators, set_at};
use crate::env::Env;
use crate::format::{self, Kind};
use crate::session::Session;
use crate::store::Change;

/// `ctx secret` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SecretCommand {
    /// List the encrypted values by locator (FILE:field.path); never prints a value.
    Ls {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Set an encrypted value, read from stdin without echo, then apply it.
    Set {
        /// Where: `FILE:field.path`, e.g. claude/mcp.json:github.env.GITHUB_TOKEN.
        locator: String,
    },
    /// Re-encrypt every secret with fresh ciphertexts (after a key may have leaked).
    Rotate,
}

/// Runs `ctx secret`.
pub fn run(cmd: SecretCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        SecretCommand::Ls { json } => ls(env, ui, json),
        SecretCommand::Set { locator } => set(env, ui, &locator),
        SecretCommand::Rotate => rotate(env, ui),
    }
}

#[derive(serde::Serialize)]
struct Listed {
    locator: String,
    readable: bool,
}

fn ls(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let session = Session::open(env.clone())?;
    let mut listed = Vec::new();
    for (path, doc) in session.sealed_docs()? {
        let mut opened = doc.clone();
        let readable = session
            .identity
            .as_ref()
            .is_some_and(|id| crate::crypt::fields::open_doc(&path, &mut opened, id).is_ok());
        for locator in sealed_locators(&path, &doc) {
            listed.push(Listed { locator, readable });
        }
    }
    if json {
        ui.json(&listed);
    } else if listed.is_empty() {
        ui.line("No encrypted values in the store.");
    } else {
        for l in &listed {
            let note = if l.readable {
                ""
            } else {
                "  (this machine cannot read it)"
            };
            ui.raw(&format!("{}{note}\n", l.locator));
        }
    }
    Ok(0)
}

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

fn set(env: &Env, ui: &Ui, locator: &str) -> Result<i32, CliError> {
    let _lock = super::lock(env, "secret")?;
    let mut session = Session::open(env.clone())?;
    let hint = "write it as FILE:field.path, e.g. claude/mcp.json:github.env.GITHUB_TOKEN";
    let (file, path) = parse_locator(locator)
        .ok_or_else(|| CliError::new(format!("`{locator}` is not a locator"), hint))?;
    let kind = Kind::of(&file);
    let Some(entry) = session.head_files.get(&file).copied() else {
        return Err(CliError::new(
            format!("{file} is not in the store"),
            "run `ctx commit` first, or check the name with `ctx status`",
        ));
    };
    if !matches!(kind, Kind::Json | Kind::Yaml) {
        return Err(CliError::new(
            format!("{file} is not a JSON or YAML file"),
            hint,
        ));
    }
    // Refuse before reading the value if the live file holds uncommitted changes.
    let snap = session.snapshot(true)?;
    let pre = session.plan_apply(&session.head_files, std::slice::from_ref(&file), &snap)?;
    if !pre.dirty.is_empty() {
        return Err(crate::session::SessionError::Dirty { files: pre.dirty }.into());
    }
    let value = read_value()?;
    let bytes = session.store.blob(entry.oid)?;
    let text = String::from_utf8_lossy(&bytes).to_string();
    let mut doc: Value = match kind {
        Kind::Json => format::parse_json(&file, &text)
            .map_err(|e| CliError::new(e.to_string(), "fix the stored file"))?,
        _ => format::parse_yaml(&file, &text, 0)
            .map_err(|e| CliError::new(e.to_string(), "fix the stored file"))?,
    };
    let recipients = crate::crypt::Recipients::parse(session.manifest.recipients.iter())?;
    let sealed = crate::crypt::seal(
        &value,
        &format!("{file}:{}", crate::crypt::rules::dotted(&path)),
        &recipients,
    )?;
    if !set_at(&mut doc, &path, Value::String(sealed)) {
        return Err(CliError::new(
            format!("{locator} does not name a field that can be set"),
            hint,
        ));
    }
    let out = match kind {
        Kind::Json => format::to_json(&doc, text.ends_with('\n')),
        _ => format::to_yaml(&doc),
    };
    let mut changes = BTreeMap::new();
    changes.insert(
        file.clone(),
        Change::Write {
            bytes: out,
            exec: entry.exec,
        },
    );
    let msg = crate::summary::message(
        &session.machine,
        &[format!("{} secret set", crate::summary::short(&file))],
        Some(&format!("{}: set secret {locator}", session.machine)),
    );
    let id = session.commit_changes(&changes, &msg)?;
    ui.line(&format!("[{}] set {locator}", &id.to_string()[..10]));
    let snap = session.snapshot(true)?;
    let plan = session.plan_apply(
        &session.head_files.clone(),
        std::slice::from_ref(&file),
        &snap,
    )?;
    super::apply::perform(&session, &plan, &snap, false, false, false, ui)
}

fn rotate(env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = super::lock(env, "secret")?;
    let mut session = Session::open(env.clone())?;
    session.check_key()?;
    let recipients = session.recipients().clone();
    let (changes, count) = session.reseal_all(&recipients)?;
    if changes.is_empty() {
        ui.line("No encrypted values to rotate.");
        return Ok(0);
    }
    let msg = crate::summary::message(
        &session.machine,
        &changes
            .keys()
            .map(|p| format!("{} secrets re-encrypted", crate::summary::short(p)))
            .collect::<Vec<_>>(),
        Some(&format!("{}: rotate {count} secret(s)", session.machine)),
    );
    let commit = session.commit_changes(&changes, &msg)?;
    ui.line(&format!(
        "[{}] re-encrypted {count} secret(s) with fresh ciphertexts",
        &commit.to_string()[..10]
    ));
    // The live files hold the same plaintexts, so they now match the new blobs: record that.
    let snap = session.snapshot(false)?;
    let plan = session.plan_apply(&session.head_files.clone(), &[], &snap)?;
    if plan.dirty.is_empty() {
        session.execute(&plan)?;
    }
    Ok(0)
}
