//! `ctx hooks install | uninstall [--worktree DIR] [--claude]`

use std::path::PathBuf;

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::hooks::{self, HookChange};
use crate::project::{self, Direction, GitProject, PersonalOutcome};

/// `ctx hooks` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HooksCommand {
    /// Install ctx's git hooks in a project (shared by all its worktrees) and restore its
    /// personal files; with --claude, add ctx's hooks to Claude Code's settings.
    Install(HooksArgs),
    /// Remove ctx's git hooks (putting back hooks they chained); with --claude, remove ctx's
    /// hooks from Claude Code's settings.
    Uninstall(HooksArgs),
}

/// Arguments of `ctx hooks install` and `uninstall`.
#[derive(Debug, clap::Args)]
pub struct HooksArgs {
    /// A worktree of the project (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub worktree: Option<PathBuf>,
    /// Claude Code's SessionStart/SessionEnd hooks in settings.json (alone, unless --worktree
    /// is given too).
    #[arg(long)]
    pub claude: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Default, serde::Serialize)]
struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    hooks_dir: Option<PathBuf>,
    hooks: Vec<HookChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_settings_changed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    personal_files: Vec<(String, PersonalOutcome)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// Runs `ctx hooks …`.
pub fn run(cmd: HooksCommand, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let (args, install) = match cmd {
        HooksCommand::Install(a) => (a, true),
        HooksCommand::Uninstall(a) => (a, false),
    };
    let mut report = Report::default();
    if args.claude {
        let path = env.claude_dir.join("settings.json");
        let exe = hooks::claude_hook_bin(env);
        let changed = hooks::edit_claude_settings(&path, install, &exe)?;
        report.claude_settings_changed = Some(changed);
        if !args.json {
            let what = match (install, changed) {
                (true, true) => "added ctx's SessionStart and SessionEnd hooks to",
                (true, false) => "ctx's Claude Code hooks are already in",
                (false, true) => "removed ctx's hooks from",
                (false, false) => "no ctx hooks to remove in",
            };
            ui.line(&format!("{what} {}", env.display(&path)));
        }
    }
    if !args.claude || args.worktree.is_some() {
        let dir = match args.worktree.clone() {
            Some(d) => d,
            None => std::env::current_dir().map_err(|e| {
                CliError::new(format!("no current folder: {e}"), "pass --worktree DIR")
            })?,
        };
        git_hooks(&dir, install, env, ui, &mut report, args.json)?;
    }
    if args.json {
        ui.json(&report);
    }
    Ok(0)
}

fn git_hooks(
    dir: &std::path::Path,
    install: bool,
    env: &Env,
    ui: &Ui,
    report: &mut Report,
    json: bool,
) -> Result<(), CliError> {
    let repo = hooks::repo_dirs(dir)?;
    report.hooks_dir = Some(repo.hooks_dir.clone());
    if install {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ctx"));
        report.hooks = hooks::install_git(&repo.hooks_dir, &exe)?;
        hooks::register(env, &repo.hooks_dir, true)?;
    } else {
        report.hooks = hooks::uninstall_git(&repo.hooks_dir)?;
        hooks::register(env, &repo.hooks_dir, false)?;
        let _ = std::fs::remove_file(repo.common_dir.join("ctx-root-commit"));
    }
    if !json {
        for h in &report.hooks {
            ui.line(&format!("{:<9} {}", h.action, env.display(&h.path)));
        }
    }
    if !install {
        return Ok(());
    }
    // A fresh clone gets its personal files here: git ran no hook of ours when it checked out.
    match restore(env, &repo.toplevel) {
        Ok((p, outcomes)) => {
            report.project = Some(p.identity.clone());
            report.warnings = crate::events::kept_notes(&p, &outcomes);
            if !json {
                for (rel, o) in &outcomes {
                    match o {
                        PersonalOutcome::Restored => ui.line(&format!("restored  {rel}")),
                        PersonalOutcome::Captured => ui.line(&format!("captured  {rel}")),
                        _ => {}
                    }
                }
                for w in &report.warnings {
                    ui.warn(w);
                }
            }
            report.personal_files = outcomes;
        }
        Err(e) => {
            let text = format!("project not recorded: {}", e.message);
            if !json {
                ui.warn(&text);
            }
            report.warnings.push(text);
        }
    }
    Ok(())
}

fn restore(
    env: &Env,
    toplevel: &std::path::Path,
) -> Result<(GitProject, Vec<(String, PersonalOutcome)>), CliError> {
    let p = GitProject::inspect(toplevel)?;
    let _lock = crate::cli::lock(env, "hooks install")?;
    let mut ws = crate::workspace::Workspace::open(env.clone())?;
    let outcomes = project::record(&mut ws, &p, Direction::Restore, crate::clock::now())?;
    Ok((p, outcomes))
}
