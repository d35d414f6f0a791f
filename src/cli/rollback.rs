//! `ctx rollback`

use super::{CliError, Ui};
use crate::env::Env;
use crate::session::{Session, SessionError};

/// Arguments of `ctx rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The state to restore: a commit id from `ctx log`, HEAD~N. Optional with --before.
    #[arg(required_unless_present = "before")]
    pub rev: Option<String>,
    /// Restore only these paths.
    pub paths: Vec<String>,
    /// Restore the state as of this time: "2026-11-20 14:00", "2 hours ago", an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,
    /// Show what would change; commit and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite live files holding uncommitted changes (saved to a backup ref first).
    #[arg(long)]
    pub force: bool,
}

/// Runs `ctx rollback`.
pub fn run(args: RollbackArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = super::lock(env, "rollback")?;
    let mut session = Session::open(env.clone())?;
    let head = session
        .head
        .ok_or_else(|| CliError::new("the store has no commit", "run `ctx commit` first"))?;
    let mut paths_args = args.paths.clone();
    let rev = match (&args.before, &args.rev) {
        (Some(t), rev) => {
            // With --before, a positional argument is a path, not a revision.
            if let Some(r) = rev {
                paths_args.insert(0, r.clone());
            }
            let when = parse_time(t)?;
            session.store.before(head, when)?.ok_or_else(|| {
                CliError::new(
                    format!("the store has no commit made before {t}"),
                    "see `ctx log` for the oldest commit",
                )
            })?
        }
        (None, Some(r)) => session.store.resolve(r)?,
        (None, None) => {
            return Err(CliError::new(
                "no revision given",
                "name a commit from `ctx log`, or use --before TIME",
            ))
        }
    };
    let paths = session.store_paths_for(&paths_args)?;
    let target = session.rollback_target(rev, &paths)?;
    let snap = session.snapshot(true)?;
    let plan = session.plan_apply(&target, &paths, &snap)?;
    let short = rev.to_string()[..10].to_string();
    if args.dry_run {
        ui.line(&format!("would restore {short} as a new commit"));
        return super::apply::perform(&session, &plan, &snap, true, args.force, false, ui);
    }
    if !plan.dirty.is_empty() && !args.force {
        return Err(SessionError::Dirty { files: plan.dirty }.into());
    }
    let what = if paths.is_empty() {
        "everything".to_string()
    } else {
        paths
            .iter()
            .map(|p| crate::summary::short(p))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let subject = format!("{}: rollback {what} to {short}", session.machine);
    let msg = crate::summary::message(
        &session.machine,
        &[format!("restored from {rev}")],
        Some(&subject),
    );
    match session.commit_files(&target, &msg)? {
        Some(id) => ui.line(&format!("[{}] {subject}", &id.to_string()[..10])),
        None => ui.line("The store already holds that state; no commit made."),
    }
    let snap = session.snapshot(true)?;
    let plan = session.plan_apply(&session.head_files.clone(), &paths, &snap)?;
    super::apply::perform(&session, &plan, &snap, false, args.force, false, ui)
}

/// Seconds since the epoch for a user-written time.
fn parse_time(text: &str) -> Result<i64, CliError> {
    let bad = || {
        CliError::new(
            format!("cannot read `{text}` as a time"),
            "write e.g. \"2026-11-20 14:00\", \"2 hours ago\" or 2026-11-20T14:00:00Z",
        )
    };
    let now = gix::date::Zoned::now();
    if let Ok(t) = gix::date::parse(text, Some(now.clone())) {
        return Ok(t.seconds);
    }
    // "2026-11-20 14:00" and "2026-11-20": local time.
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| bad())?;
    let zoned = civil.to_zoned(now.time_zone().clone()).map_err(|_| bad())?;
    Ok(zoned.timestamp().as_second())
}
