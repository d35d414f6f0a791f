//! `ctx resolve`

use std::io::{IsTerminal, Read};

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::sync::Resolution;

/// Arguments of `ctx resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The file in conflict, as `ctx status` shows it.
    pub path: String,
    /// Keep this machine's version.
    #[arg(long, conflicts_with = "theirs")]
    pub ours: bool,
    /// Keep the remote's version.
    #[arg(long)]
    pub theirs: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx resolve`: with neither flag, the file with its conflict markers opens in
/// `$VISUAL`/`$EDITOR` (or, when stdin is not a terminal, the resolved file is read from stdin).
pub fn run(args: ResolveArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = crate::cli::lock(env, "resolve")?;
    let how = if args.ours {
        Resolution::Ours
    } else if args.theirs {
        Resolution::Theirs
    } else {
        Resolution::Content(edited(env, &args.path)?)
    };
    let mut o = crate::cli::open(env, None)?;
    let report = crate::sync::resolve(&mut o.ws, &args.path, how)?;
    if args.json {
        ui.json(&report);
        return Ok(0);
    }
    ui.line(&format!("resolved {}", report.path));
    if report.remaining.is_empty() {
        if let Some(c) = &report.merge_commit {
            ui.line(&format!(
                "[{}] merge committed; applied {} live file(s). Run `ctx sync` to push it.",
                &c[..10],
                report.applied.len()
            ));
        }
    } else {
        ui.line(&format!(
            "still in conflict: {}",
            report.remaining.join(", ")
        ));
    }
    Ok(0)
}

fn edited(env: &Env, path: &str) -> Result<Vec<u8>, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut buf = Vec::new();
        stdin.lock().read_to_end(&mut buf).map_err(|e| {
            CliError::new(
                format!("cannot read stdin: {e}"),
                "pipe the resolved file in",
            )
        })?;
        return Ok(buf);
    }
    let ws = crate::workspace::Workspace::open(env.clone())?;
    let conflict = match crate::sync::find_conflict(&ws, path) {
        Ok((state, i)) => state.conflicts[i].clone(),
        Err(e) => crate::sync::find_live_conflict(&ws, path).ok_or(e)?,
    };
    let conflict = &conflict;
    let content = crate::sync::marked_content(&ws, conflict)?;
    let name = conflict.path.rsplit('/').next().unwrap_or("conflict");
    let tmp = ws.state.resolve_scratch(name);
    crate::fsx::write_atomic(&tmp, &content, Some(0o600)).map_err(|e| {
        CliError::new(
            format!("cannot write {}: {e}", tmp.display()),
            "check free space",
        )
    })?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&tmp)
        .status()
        .map_err(|e| {
            CliError::new(
                format!("cannot start the editor `{editor}`: {e}"),
                "set $EDITOR",
            )
        })?;
    let bytes = std::fs::read(&tmp).unwrap_or_default();
    let _ = std::fs::remove_file(&tmp);
    if !status.success() {
        return Err(CliError::new(
            format!("the editor `{editor}` exited with {status}; nothing was recorded"),
            "run `ctx resolve` again",
        ));
    }
    Ok(bytes)
}
