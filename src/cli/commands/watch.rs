//! `ctx watch [--sync-every DURATION]`

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::watch::{self, Report};

/// Arguments of `ctx watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Also run `ctx sync` this often (e.g. 30s, 10m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub sync_every: Option<std::time::Duration>,
    /// Milliseconds of quiet before a commit (default 2000; also CTX_WATCH_QUIET_MS).
    #[arg(long, hide = true, value_name = "MS")]
    pub quiet_ms: Option<u64>,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    watch::parse_duration(s).map_err(|e| e.to_string())
}

/// Runs `ctx watch` until SIGINT or SIGTERM.
pub fn run(args: WatchArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    // Fail now, not at the first event, when there is no store.
    crate::workspace::Workspace::open(env.clone())?;
    let quiet = args
        .quiet_ms
        .map(std::time::Duration::from_millis)
        .unwrap_or_else(watch::quiet_period);
    let stamp = || jiff::Zoned::now().strftime("%H:%M:%S").to_string();
    watch::run(env, quiet, args.sync_every, |r| match r {
        Report::Watching(paths) => {
            let shown: Vec<String> = paths.iter().map(|p| env.display(p)).collect();
            ui.verbose(&format!("watching {}", shown.join(", ")));
        }
        Report::Committed(info) => ui.line(&format!(
            "{} [{}] {}",
            stamp(),
            &info.id[..10.min(info.id.len())],
            info.summary
        )),
        Report::HeldBack(h) => ui.warn(&format!("{} {h}", stamp())),
        Report::Failed(e) => ui.warn(&format!("{} {e}", stamp())),
    })?;
    Ok(0)
}
