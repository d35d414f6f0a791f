//! `ctx sync`

use crate::cli::ui::Style;
use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::sync::{Outcome, SyncOptions, SyncReport};

/// Arguments of `ctx sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Commit, fetch, merge and apply, but do not push.
    #[arg(long)]
    pub no_push: bool,
    /// Let the commit delete more than 20 tracked files, or over half of them, at once.
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Accept fetched commits that are not signed, once: history made by a ctx that did not
    /// sign its commits yet. Commits signed by an unknown key are still refused.
    #[arg(long)]
    pub accept_unsigned: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx sync`.
pub fn run(args: SyncArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = crate::cli::lock(env, "sync")?;
    let live = !args.json && ui.progress_allowed();
    let opts = SyncOptions {
        push: !args.no_push,
        allow_mass_delete: args.allow_mass_delete,
        accept_unsigned: args.accept_unsigned,
        progress: match (live, ui.is_verbose()) {
            (true, _) => Some(progress as fn(&str)),
            (false, true) => Some(step as fn(&str)),
            (false, false) => None,
        },
        ..Default::default()
    };
    let result = crate::sync::sync(env, opts);
    if live {
        // Clear the progress line before the report.
        eprint!("\r\x1b[K");
    }
    let report = result?;
    let conflicted = !report.conflicts.is_empty() || !report.live_conflicts.is_empty();
    let code = match (!conflicted, report.held_back || !report.damaged.is_empty()) {
        (false, _) => 1,
        (true, true) => 2,
        (true, false) => 0,
    };
    if args.json {
        ui.json(&report);
        return Ok(code);
    }
    print(&report, ui);
    Ok(code)
}

/// One progress line on the terminal, rewritten in place (network steps can take seconds).
fn progress(step: &str) {
    eprint!("\r\x1b[K{step}…");
}

/// One step per line on stderr, for `-v` when no progress line is drawn.
fn step(step: &str) {
    eprintln!("{step}");
}

/// Prints a sync report for a person.
pub fn print(r: &SyncReport, ui: &Ui) {
    if let Some(c) = &r.committed {
        ui.line(&format!("[{}] {}", &c.id[..10], c.summary));
    }
    for n in &r.notes {
        ui.warn(n);
    }
    if !r.conflicts.is_empty() {
        print_conflicts(r, ui);
        return;
    }
    let what = match r.outcome {
        Outcome::Merged => format!(
            "merged with the remote ({})",
            r.merge_commit.as_deref().map(|c| &c[..10]).unwrap_or("")
        ),
        Outcome::FastForward => "took the remote's changes".into(),
        Outcome::Pushed => "pushed local commits".into(),
        Outcome::UpToDate | Outcome::Conflict => "already up to date".into(),
    };
    let pushed = if r.pushed && r.outcome != Outcome::Pushed {
        ", pushed"
    } else {
        ""
    };
    let retried = if r.attempts > 1 {
        format!(" (the remote moved; {} attempts)", r.attempts)
    } else {
        String::new()
    };
    ui.line(&format!(
        "Synced with {}: {what}{pushed}{retried}.",
        r.remote
    ));
    for (file, o) in &r.overruled {
        ui.line(&format!(
            "  policy kept {} over {} in {} {}",
            short(&o.kept),
            short(&o.lost),
            file,
            o.field
        ));
    }
    for a in &r.applied {
        ui.verbose(&format!("  wrote {a}"));
    }
    if !r.applied.is_empty() {
        ui.line(&format!("Applied {} live file(s).", r.applied.len()));
    }
    if r.sessions_written > 0 {
        ui.line(&format!(
            "Wrote {} session(s) where `claude --resume` finds them (`ctx sessions ls`).",
            r.sessions_written
        ));
    }
    if !r.deleted.is_empty() {
        ui.line(&format!(
            "Deleted here as on the other machines ({}): {}. `ctx log` shows the commit; `ctx rollback` brings them back.",
            r.deleted.len(),
            r.deleted.join(", ")
        ));
    }
    for s in &r.skipped {
        ui.warn(&format!(
            "{s} holds uncommitted changes and was left as it is; `ctx sync` again commits and merges it"
        ));
    }
    for h in &r.held_for_review {
        let who = h.machine.as_deref().unwrap_or("another machine");
        ui.warn_hint(
            &format!("held for review: {} from {who} changes what runs ({}); this machine keeps its version", h.path, h.fields.join(", ")),
            "`ctx review` shows it; `ctx review --accept` applies it",
        );
    }
    for m in &r.join_requests {
        ui.warn_hint(
            &format!("machine `{m}` asked to join (its record arrived, signed by its own new key)"),
            &format!("if it is yours, compare fingerprints and run `ctx machine approve {m}`"),
        );
    }
    for d in &r.damaged {
        let origin = r
            .damage_origins
            .get(d)
            .map(|o| format!(" (last changed in {o})"))
            .unwrap_or_default();
        ui.warn_hint(
            &format!("integrity: {d} is sealed to this machine but does not open (tampered with, swapped, or sealed without this key){origin}; this machine kept its own value"),
            &format!("`ctx log` shows who changed it; set it anew with `ctx secret set {d}`"),
        );
    }
    if !r.unreadable.is_empty() && r.damaged.is_empty() {
        ui.warn(&format!(
            "this machine cannot read {} secret(s) ({}); this machine keeps its own values there, or leaves them out. An approved machine can run `ctx machine approve <this machine>`",
            r.unreadable.len(),
            r.unreadable.join(", ")
        ));
    }
}

fn short(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let t = v.to_string();
            if t.chars().count() > 40 {
                format!("{}…", t.chars().take(39).collect::<String>())
            } else {
                t
            }
        }
    }
}

/// A sync stopped on conflicts: each file and field, with both sides (secrets redacted).
fn print_conflicts(r: &SyncReport, ui: &Ui) {
    ui.important(&ui.paint(
        Style::Red,
        &format!(
            "conflict: {} file(s) changed on both sides; nothing was pushed or applied",
            r.conflicts.len()
        ),
    ));
    for c in &r.conflicts {
        for f in &c.fields {
            let field = if f.field.is_empty() {
                c.kind.as_str().to_string()
            } else {
                f.field.clone()
            };
            ui.important(&format!(
                "  {}  {}: ours {} · theirs {}",
                c.path,
                field,
                short(&f.ours),
                short(&f.theirs)
            ));
        }
    }
    ui.important(
        "Settle each with `ctx resolve PATH --ours|--theirs`, or `ctx resolve PATH` to edit it.",
    );
}
