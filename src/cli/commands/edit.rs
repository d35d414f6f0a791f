//! `ctx edit`

use std::path::Path;

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx edit`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx edit settings.json\n  ctx edit skills/pr-summary/SKILL.md\n  \
EDITOR=nano ctx edit CLAUDE.md\n\n\
Opens the live file in $VISUAL or $EDITOR (default vi). After you save and quit, ctx checks it as \
`ctx commit` would (JSON, YAML, TOML, front matter; no credential in plain text) and commits that \
one file. A file that does not parse is kept as you left it, nothing is committed, and the error \
names the line and column."
)]
pub struct EditArgs {
    /// The file: as `ctx status` or `ctx managed` names it, or its live path.
    pub path: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx edit`.
pub fn run(args: EditArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("edit"))?;
    let t = crate::edit::target(&o.ws, &args.path)?;
    ui.verbose(&format!("opening {} in the editor", t.live.display()));
    editor(&t.live)?;
    if !crate::edit::changed(&t) {
        return done(ui, args.json, &t.path, None, "unchanged; nothing to commit");
    }
    if let Err(e) = crate::edit::check(&o.ws, &t) {
        let syntax = matches!(
            e,
            crate::error::Error::Capture(crate::codec::CaptureError::Format(_))
        );
        let mut err = CliError::from(e);
        let kept = format!(
            "your edit is kept in {}; nothing was committed",
            env.display(&t.live)
        );
        if syntax {
            err.hint = Some(format!("{kept}: fix it with `ctx edit {}`", args.path));
        } else {
            err.details.push(kept);
        }
        return Err(err);
    }
    let only = [t.path.clone()];
    let outcome = crate::commit::commit(
        &mut o.ws,
        crate::capture::RecordOptions {
            only: &only,
            ..Default::default()
        },
    )?;
    for h in &outcome.held_back {
        ui.warn_hint(&h.to_string(), &h.hint());
    }
    match &outcome.committed {
        Some(c) => done(ui, args.json, &t.path, Some(&c.id), &c.summary),
        None => done(
            ui,
            args.json,
            &t.path,
            None,
            "matches the store; nothing to commit",
        ),
    }
}

fn done(
    ui: &Ui,
    json: bool,
    path: &str,
    commit: Option<&str>,
    what: &str,
) -> Result<i32, CliError> {
    if json {
        ui.json(&serde_json::json!({ "path": path, "commit": commit, "summary": what }));
    } else if let Some(c) = commit {
        ui.line(&format!("[{}] {what}", &c[..10.min(c.len())]));
    } else {
        ui.line(&format!("{path}: {what}"));
    }
    Ok(0)
}

/// Opens `file` in `$VISUAL`, `$EDITOR` or vi, and waits for it; an editor that fails is an
/// error (what it left in the file is kept).
pub fn editor(file: &Path) -> Result<(), CliError> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file)
        .status()
        .map_err(|e| {
            CliError::new(
                format!("cannot start the editor `{editor}`: {e}"),
                "set $EDITOR (or $VISUAL) to an editor that is installed",
            )
        })?;
    if !status.success() {
        return Err(CliError::new(
            format!("the editor `{editor}` exited with {status}; nothing was committed"),
            "run the command again, or set $EDITOR to another editor",
        ));
    }
    Ok(())
}
