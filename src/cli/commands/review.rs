//! `ctx review`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx review`.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// Apply the held changes (of these paths, or all of them) to the live files.
    #[arg(long, conflicts_with = "reject")]
    pub accept: bool,
    /// Keep this machine's version of the held files (of these paths, or all): nothing is
    /// written or pushed, and the same change is not asked again.
    #[arg(long)]
    pub reject: bool,
    /// Paths as `ctx status` shows them (settings.json, mcp.json, claude/hooks/x.sh).
    pub paths: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx review`: lists what the review gate holds, or accepts or rejects it.
pub fn run(args: ReviewArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, Some("review"))?;
    if args.accept || args.reject {
        let done = if args.accept {
            crate::review::accept(&o.ws, &args.paths)?
        } else {
            crate::review::reject(&o.ws, &args.paths)?
        };
        if args.json {
            ui.json(&done);
            return Ok(0);
        }
        let verb = if args.accept {
            "accepted"
        } else {
            "rejected (this machine keeps its version)"
        };
        for f in &done.files {
            ui.line(&format!("{verb}: {f}"));
        }
        for a in &done.applied {
            ui.line(&format!("wrote {a}"));
        }
        return Ok(0);
    }
    let held = crate::review::pending(&o.ws);
    if args.json {
        ui.json(&held);
        return Ok(if held.is_empty() { 0 } else { 1 });
    }
    if held.is_empty() {
        ui.line("Nothing is held for review.");
        return Ok(0);
    }
    for h in &held {
        let who = h.machine.as_deref().unwrap_or("an unnamed machine");
        let id = &h.commit[..h.commit.len().min(10)];
        ui.line(&format!("{} (from {who}, commit {id}):", h.path));
        for f in &h.fields {
            ui.line(&format!("  {f}"));
        }
        ui.line(&format!(
            "  see it: git --git-dir {} show {id} -- {}",
            env.display(&env.store_dir),
            h.path
        ));
    }
    ui.line("`ctx review --accept [PATH…]` applies them; `ctx review --reject [PATH…]` keeps this machine's version.");
    Ok(1)
}
