//! `ctx apply`

use crate::apply::{ApplyOutcome, OnDirty, Op, Scope};
use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::workspace::Workspace;

/// Overwriting more live files with uncommitted changes than this asks first.
const MANY: usize = 3;

/// Arguments of `ctx apply`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  ctx apply --dry-run           (what would change, as a diff)
  ctx apply settings.json
  ctx apply --force --yes       (overwrite uncommitted edits; backed up first)

`--force` over more than three files holding uncommitted changes asks first on a terminal; `ctx backups` lists what it saved.")]
pub struct ApplyArgs {
    /// Show what would be written, with the diff of each file; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite live files holding uncommitted changes (saved to a backup ref first).
    #[arg(long)]
    pub force: bool,
    /// Go ahead without asking (needed off a terminal when --force overwrites many files).
    #[arg(short, long)]
    pub yes: bool,
    /// Print the plan as JSON (with each file's diff under --dry-run).
    #[arg(long)]
    pub json: bool,
    /// Also set the machine-local fields (ctx.yaml `local:`) of the live files to MACHINE's
    /// values, e.g. a new machine starting from the laptop's theme and proxies.
    #[arg(long, value_name = "MACHINE", conflicts_with = "dry_run")]
    pub local_from: Option<String>,
    /// Only these paths (store paths like settings.json, or live paths).
    pub paths: Vec<String>,
}

/// Runs `ctx apply`.
pub fn run(args: ApplyArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let o = crate::cli::open(env, Some("apply"))?;
    let only = o.ws.store_paths_for(&args.paths)?;
    let on_dirty = if args.force {
        OnDirty::Backup
    } else {
        OnDirty::Refuse
    };
    let head = o.ws.repo.files.clone();
    ui.verbose("planning: the store's main against the live files");
    if args.force && !args.dry_run {
        // The plan alone counts them; the apply below reports any file it cannot write.
        let snap = crate::capture::snapshot_unwatched(&o.ws)?;
        let n = crate::apply::plan(&o.ws, &head, &only, &snap)?.dirty.len();
        if n > MANY {
            ui.confirm(
                &format!("overwrite {n} live files holding uncommitted changes (each is backed up first)"),
                args.yes,
            )?;
        }
    }
    let done = crate::apply::to_target(&o.ws, &head, Scope::Paths(only), on_dirty, args.dry_run)?;
    if args.dry_run {
        let diffs = crate::diff::planned(&o.ws, &head, &done.plan.actions)?;
        print_dry_run(&o.ws, &done, &diffs, args.json, ui);
        return Ok(0);
    }
    print(&o.ws, &done, false, args.json, ui);
    if let Some(from) = &args.local_from {
        let taken = crate::local::adopt(&o.ws, from)?;
        // Under --json stdout holds the plan alone; the values set show in `ctx status`.
        let shown = if args.json { &[][..] } else { &taken.files[..] };
        for (file, fields) in shown {
            ui.line(&format!(
                "took {} from {from} into {file}",
                fields.join(", ")
            ));
        }
        for u in &taken.unreadable {
            ui.warn(&format!(
                "{u}: sealed where this machine cannot read it yet; kept as it is here"
            ));
        }
        if !shown.is_empty() {
            ui.line("`ctx commit` records them as this machine's own values.");
        }
    }
    Ok(0)
}

/// A dry run: the plan, then each file's diff (live -> what apply writes, secrets sealed).
pub fn print_dry_run(
    ws: &Workspace,
    done: &ApplyOutcome,
    diffs: &[crate::diff::FileDiff],
    json: bool,
    ui: &Ui,
) {
    if json {
        let mut v = serde_json::to_value(&done.plan).unwrap_or_default();
        v["files"] = super::diff::files_json(ws, diffs).into();
        ui.json(&v);
        return;
    }
    print(ws, done, true, false, ui);
    super::diff::print(ws, diffs, super::diff::View::default(), ui);
}

/// Prints what an apply did or would do; shared with `rollback`.
pub fn print(ws: &Workspace, done: &ApplyOutcome, dry_run: bool, json: bool, ui: &Ui) {
    let plan = &done.plan;
    if json {
        ui.json(plan);
        return;
    }
    if let Some((name, id)) = &done.backup {
        let paths = plan.dirty_paths().join(" ");
        ui.warn(&format!(
            "saved the live contents of {} file(s) to {name} ({}); `ctx rollback {} {paths}` brings them back",
            plan.dirty.len(),
            &id[..10],
            &id[..10]
        ));
    }
    if plan.actions.is_empty() {
        ui.line("Nothing to apply: live files match the store.");
    }
    // One write for the whole list: a new machine's apply names thousands of files.
    let mut lines = Vec::with_capacity(plan.actions.len());
    for a in &plan.actions {
        let verb = match (dry_run, a.op, a.shared()) {
            (true, Op::Write, _) => "would write",
            (true, Op::Delete, false) => "would delete",
            (true, Op::Delete, true) => "would remove the MCP servers from",
            (false, Op::Write, _) => "wrote",
            (false, Op::Delete, false) => "deleted",
            (false, Op::Delete, true) => "removed the MCP servers from",
        };
        lines.push(format!("{verb} {}", ws.env.display(&a.live)));
    }
    if !lines.is_empty() {
        ui.line(&lines.join("\n"));
    }
    if dry_run {
        for d in &plan.dirty {
            ui.line(&format!("holds uncommitted changes: {d}"));
        }
        return;
    }
    for r in &plan.refused {
        ui.warn(&format!(
            "not written: {r} is in the store, but ctx never writes such a path (capture would not take it)"
        ));
    }
    for k in &plan.kept {
        ui.warn(&format!(
            "kept {k}: it is inside a symlinked folder, whose files ctx never deletes (delete it there if you mean to)"
        ));
    }
    if !plan.unreadable.is_empty() {
        ui.warn(&format!(
            "this machine cannot read {} secret(s) ({}); their live values were kept (or left out). An approved machine can run `ctx machine approve {}`",
            plan.unreadable.len(),
            plan.unreadable.join(", "),
            ws.machine()
        ));
    }
}
