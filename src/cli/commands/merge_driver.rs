//! `ctx merge-driver BASE OURS THEIRS PATH [MARKER_SIZE]`: git's merge-driver contract
//! (`%O %A %B %P %L`).

use std::path::PathBuf;

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::merge::{merge_file_with_markers, Decrypt, Markers, MergeOptions, Policy};

/// Arguments of `ctx merge-driver`.
#[derive(Debug, clap::Args)]
pub struct MergeDriverArgs {
    /// The common ancestor (`%O`).
    pub base: PathBuf,
    /// Ours (`%A`); the result is written here.
    pub ours: PathBuf,
    /// Theirs (`%B`).
    pub theirs: PathBuf,
    /// The path in the repository (`%P`); chooses the format.
    pub path: String,
    /// The conflict marker size (`%L`; default 7).
    pub marker_size: Option<usize>,
    /// Conflict policy: stop, ours, theirs (also CTX_CONFLICTS; default stop).
    #[arg(long, env = "CTX_CONFLICTS", default_value = "stop")]
    pub policy: String,
}

/// Runs the driver: exit 0 clean, 1 conflicts left in OURS, 2 on an I/O error, 134 on a crash
/// (git reads anything above 128 as a crash, never as a clean merge).
pub fn run(args: MergeDriverArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let policy: Policy = args
        .policy
        .parse()
        .map_err(|e: String| CliError::new(e, "use stop, ours or theirs"))?;
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| {
            CliError::new(
                format!("cannot read {}: {e}", p.display()),
                "git passes existing temporary files; run the merge again",
            )
        })
    };
    let base = read(&args.base)?;
    let ours = read(&args.ours)?;
    let theirs = read(&args.theirs)?;
    // YAML parsers take quadratic time on deep nesting: such input is left to a person, as a
    // conflict, before any parser sees it.
    let yaml_like = matches!(
        crate::format::Kind::of(&args.path),
        crate::format::Kind::Yaml | crate::format::Kind::Markdown
    );
    let deep =
        |b: &[u8]| std::str::from_utf8(b).is_ok_and(|t| crate::format::too_deep(t).is_some());
    if yaml_like && [&base, &ours, &theirs].iter().any(|b| deep(b)) {
        ui.warn(&format!(
            "{}: nested deeper than {} levels; not merged, left as ours",
            args.path,
            crate::format::MAX_DEPTH
        ));
        return Ok(1);
    }
    let identity = crate::crypt::Identity::load(&env.identity_path()).ok();
    let key = identity.as_ref().map(crate::keyring::KeyDecrypt);
    let path = args.path.clone();
    let result = std::panic::catch_unwind(|| {
        let opts = MergeOptions {
            policy,
            decrypt: key.as_ref().map(|k| k as &dyn Decrypt),
        };
        let merge =
            |markers| merge_file_with_markers(&path, Some(&base), &ours, &theirs, &opts, markers);
        let out = merge(Markers::from_git(None, args.marker_size));
        // git's merge.conflictStyle is read only when there are markers to write.
        if out.conflicts.is_empty() || policy != Policy::Stop {
            return out;
        }
        match conflict_style() {
            Some(style) => merge(Markers::from_git(Some(&style), args.marker_size)),
            None => out,
        }
    });
    let Ok(outcome) = result else {
        return Ok(134);
    };
    // In place, as git merge-file does: OURS is git's own temporary copy, read back as soon as
    // the driver exits (an fsync would only cost time; a failed write is an exit code).
    std::fs::write(&args.ours, &outcome.content).map_err(|e| {
        CliError::new(
            format!("cannot write {}: {e}", args.ours.display()),
            "check the permissions of the work tree",
        )
    })?;
    for c in &outcome.conflicts {
        ui.warn(&format!("conflict in {} at `{}`", c.file, c.field));
    }
    Ok(if outcome.conflicts.is_empty() { 0 } else { 1 })
}

/// git's `merge.conflictStyle` for the repository the driver runs in (git runs it at the top of
/// the work tree), if set.
fn conflict_style() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "--get", "merge.conflictStyle"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}
