//! `ctx git` and `ctx cd`: a person's own tools pointed at the store, a bare git repository.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why git or a shell could not be run in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreShellError {
    /// There is no store at the configured place.
    #[error("no ctx store at {}", dir.display())]
    Missing {
        /// Where the store was looked for.
        dir: PathBuf,
    },
    /// The program could not be started.
    #[error("could not run {program}")]
    Spawn {
        /// The program.
        program: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// The store's folder, when a store is there.
pub fn store_dir(dir: &Path) -> Result<&Path, StoreShellError> {
    match dir.join("HEAD").is_file() {
        true => Ok(dir),
        false => Err(StoreShellError::Missing {
            dir: dir.to_path_buf(),
        }),
    }
}

/// Runs git with `--git-dir` set to the store and `args` as given; returns git's exit code.
/// `CTX_GIT` names the program, as for ctx's own fetch and push.
pub fn git(store: &Path, args: &[String]) -> Result<i32, StoreShellError> {
    let dir = store_dir(store)?;
    let program = std::env::var("CTX_GIT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "git".into());
    let mut cmd = Command::new(&program);
    cmd.arg("--git-dir").arg(dir).args(args);
    wait(cmd, program)
}

/// Starts `shell` in the store's folder and waits for it; returns its exit code.
pub fn shell(store: &Path, shell: &str) -> Result<i32, StoreShellError> {
    let dir = store_dir(store)?;
    let mut cmd = Command::new(shell);
    cmd.current_dir(dir);
    wait(cmd, shell.to_string())
}

/// The shell `ctx cd` starts: `$SHELL`, else `/bin/sh`.
pub fn default_shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

fn wait(mut cmd: Command, program: String) -> Result<i32, StoreShellError> {
    let status = cmd
        .status()
        .map_err(|source| StoreShellError::Spawn { program, source })?;
    Ok(exit_code(status))
}

/// The exit code a shell would report: the child's own, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    1
}
