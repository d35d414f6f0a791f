//! `ctx config`

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::manifest_edit::{self as edit, Key};

/// `ctx config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print a key's value in force (its default when ctx.yaml leaves it out).
    #[command(after_help = "Example: ctx config get conflicts")]
    Get {
        /// conflicts, max_file_size, include, exclude, local or machines.NAME.exclude.
        key: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Set a key and commit ctx.yaml. A list key takes every value, split at commas too.
    #[command(after_help = "Examples:\n  ctx config set conflicts newest\n  \
ctx config set max_file_size 20971520\n  ctx config set include notes,todo.md   (same as: include notes todo.md)\n\n\
recipients and signers change with `ctx machine approve/revoke`, secret rules with `ctx secret`.")]
    Set {
        /// conflicts, max_file_size, include, exclude, local or machines.NAME.exclude.
        key: String,
        /// The value (for include and exclude: one or more paths under the Claude home).
        #[arg(required = true, num_args = 1..)]
        values: Vec<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Open ctx.yaml in $EDITOR; the result is checked against the schema and committed with
    /// one message naming each changed key. A bad edit commits nothing.
    #[command(after_help = "Example: EDITOR=nano ctx config edit\n\n\
An edit that does not parse or fails the schema is refused with the field, line and column; it \
is kept, and the next `ctx config edit` opens it again. recipients and signers change with \
`ctx machine`, not here. Comments in ctx.yaml are not kept: ctx writes the file itself.")]
    Edit {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Add entries to a list key and commit ctx.yaml (`local` starts from the built-in list).
    #[command(
        after_help = "Examples:\n  ctx config add local settings.json:model   (each machine keeps its own model)\n  \
ctx config add machines.server.exclude skills/big   (the machine `server` leaves skills/big out)"
    )]
    Add {
        /// include, exclude, local or machines.NAME.exclude.
        key: String,
        /// The entries (paths under the Claude home; for local, FILE:FIELD).
        #[arg(required = true, num_args = 1..)]
        values: Vec<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Take entries out of a list key and commit ctx.yaml.
    #[command(
        after_help = "Example: ctx config remove local settings.json:theme   (theme syncs again)"
    )]
    Remove {
        /// include, exclude, local or machines.NAME.exclude.
        key: String,
        /// The entries to take out.
        #[arg(required = true, num_args = 1..)]
        values: Vec<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Put a key back to its default and commit ctx.yaml.
    #[command(after_help = "Example: ctx config unset max_file_size")]
    Unset {
        /// conflicts, max_file_size, include, exclude, local or machines.NAME.exclude.
        key: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `ctx config`.
pub fn run(cmd: ConfigCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    match cmd {
        ConfigCommand::Get { key, json } => {
            let key = Key::parse(&key)?;
            let o = crate::cli::open(env, None)?;
            let value = edit::get(&o.ws.repo.manifest, &key);
            if json {
                ui.json(&serde_json::json!({ "key": key.name(), "value": value }));
            } else if let Some(items) = value.as_array() {
                items
                    .iter()
                    .for_each(|v| ui.raw(&format!("{}\n", edit::show(v))));
            } else {
                ui.raw(&format!("{}\n", edit::show(&value)));
            }
            Ok(0)
        }
        ConfigCommand::Set { key, values, json } => {
            change(env, ui, &key, json, &|m, k| edit::set(m, k, &values))
        }
        ConfigCommand::Add { key, values, json } => {
            change(env, ui, &key, json, &|m, k| edit::add(m, k, &values, false))
        }
        ConfigCommand::Remove { key, values, json } => {
            change(env, ui, &key, json, &|m, k| edit::add(m, k, &values, true))
        }
        ConfigCommand::Unset { key, json } => {
            change(env, ui, &key, json, &|m, k| Ok(edit::unset(m, k)))
        }
        ConfigCommand::Edit { json } => edit_file(env, ui, json),
    }
}

/// `ctx config edit`: ctx.yaml in the editor, from a scratch copy kept until it is committed.
fn edit_file(env: &Env, ui: &Ui, json: bool) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("config"))?;
    let scratch = o.ws.state.resolve_scratch("ctx.yaml");
    let current = crate::setup::render_manifest(&o.ws.repo.manifest);
    if scratch.exists() {
        ui.warn("reopening your last edit of ctx.yaml, which was not committed");
    } else {
        crate::fsx::write_atomic(&scratch, current.as_bytes(), Some(0o600)).map_err(|e| {
            CliError::new(
                format!("cannot write {}: {e}", scratch.display()),
                "check the store folder's permissions and free space",
            )
        })?;
    }
    super::edit::editor(&scratch)?;
    let bytes = std::fs::read(&scratch).unwrap_or_default();
    let old = o.ws.repo.manifest.clone();
    let new = match edit::parse_edit(&old, &bytes) {
        Ok(n) => n,
        Err(e) => {
            let mut err = CliError::from(e);
            err.hint = Some(
                "nothing was committed; run `ctx config edit` again to fix it (it reopens your edit)"
                    .into(),
            );
            return Err(err);
        }
    };
    let _ = std::fs::remove_file(&scratch);
    let changes = edit::changes(&old, &new);
    let done = edit::commit(&mut o.ws, &new, &changes.join(", "))?;
    report(&done, json, ui);
    Ok(0)
}

type Edit<'a> =
    dyn Fn(&crate::model::Manifest, &Key) -> Result<crate::model::Manifest, edit::EditError> + 'a;

fn change(env: &Env, ui: &Ui, key: &str, json: bool, f: &Edit<'_>) -> Result<i32, CliError> {
    let key = Key::parse(key)?;
    let mut o = crate::cli::open(env, Some("config"))?;
    let old = o.ws.repo.manifest.clone();
    let new = f(&old, &key)?;
    let item = format!(
        "{}: {} -> {}",
        key.name(),
        edit::show(&edit::get(&old, &key)),
        edit::show(&edit::get(&new, &key))
    );
    let done = edit::commit(&mut o.ws, &new, &item)?;
    report(&done, json, ui);
    Ok(0)
}

/// Prints what an edit of ctx.yaml did (`ctx add` and `ctx forget` too).
pub fn report(done: &edit::Edited, json: bool, ui: &Ui) {
    if json {
        ui.json(done);
        return;
    }
    match &done.commit {
        Some(id) => ui.line(&format!("[{}] ctx.yaml {}", &id[..10], done.change)),
        None => ui.line("ctx.yaml already says so; no commit made."),
    }
}
