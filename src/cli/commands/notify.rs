//! `ctx notify add|ls|rm`

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::model::NotifyEvent;

/// `ctx notify` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Add a webhook: ctx POSTs a signed JSON event to URL after each of EVENTS (default all:
    /// sync, conflict, review, machine). Prints the signing key once.
    /// Example: `ctx notify add https://n8n.home/webhook/ctx --events conflict,machine`
    Add(AddArgs),
    /// List the webhooks (URLs cut to their host: the rest may hold a token).
    Ls(LsArgs),
    /// Remove webhook NUMBER (as `ctx notify ls` numbers them).
    Rm(RmArgs),
}

/// Arguments of `ctx notify add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The http:// or https:// URL to POST to (stored sealed in ctx.yaml).
    pub url: String,
    /// Which events, comma-separated: sync, conflict, review, machine (default: all).
    #[arg(long, value_delimiter = ',', value_parser = parse_event)]
    pub events: Vec<NotifyEvent>,
    /// Only these machines send it, comma-separated (default: every machine).
    #[arg(long, value_delimiter = ',')]
    pub machines: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ctx notify ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `ctx notify rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The webhook's number.
    pub number: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_event(s: &str) -> Result<NotifyEvent, String> {
    serde_json::from_value(serde_json::Value::from(s.trim()))
        .map_err(|_| format!("`{s}` is not an event: sync, conflict, review or machine"))
}

/// Runs `ctx notify …`.
pub fn run(cmd: NotifyCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    use crate::notify::hooks;
    match cmd {
        NotifyCommand::Add(a) => {
            let mut o = crate::cli::open(env, Some("notify add"))?;
            let added = hooks::add(&mut o.ws, &a.url, a.events, a.machines)?;
            if a.json {
                ui.json(&added);
                return Ok(0);
            }
            ui.line(&format!(
                "[{}] added webhook {}",
                &added.commit[..10],
                added.number
            ));
            ui.line(&format!("signing key: {}", added.secret));
            ui.line("The receiver checks X-Ctx-Signature (sha256=HMAC-SHA256 of the body with this key). It is shown this once. Run `ctx sync` to share the webhook with your other machines.");
        }
        NotifyCommand::Ls(a) => {
            let o = crate::cli::open(env, None)?;
            let list = hooks::list(&o.ws);
            if a.json {
                ui.json(&list);
                return Ok(0);
            }
            if list.is_empty() {
                ui.line("No webhooks. `ctx notify add URL` adds one.");
            }
            for l in list {
                let events: Vec<&str> = l.events.iter().map(|e| hooks::name(*e)).collect();
                let events = if events.is_empty() {
                    "all events".to_string()
                } else {
                    events.join(", ")
                };
                let machines = if l.machines.is_empty() {
                    String::new()
                } else {
                    format!(" (from {})", l.machines.join(", "))
                };
                ui.line(&format!("{}  {}  {events}{machines}", l.number, l.url));
            }
        }
        NotifyCommand::Rm(a) => {
            let mut o = crate::cli::open(env, Some("notify rm"))?;
            let commit = hooks::remove(&mut o.ws, a.number)?;
            if a.json {
                ui.json(&serde_json::json!({ "commit": commit, "removed": a.number }));
                return Ok(0);
            }
            ui.line(&format!("[{}] removed webhook {}", &commit[..10], a.number));
        }
    }
    Ok(0)
}
