//! The network: fetch and push through the system `git`.
//!
//! gix can fetch, but only with its network client features (and a TLS stack for https), which
//! would roughly double ctx's build, and it cannot push at all. Since push needs the git binary
//! anyway, both directions go through it: one transport, every URL form git knows (paths,
//! `file://`, ssh, https), and the user's own ssh keys, `~/.ssh/config` and credential helpers.
//! Everything else (objects, trees, merges, refs) stays in-process with gix.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gix::ObjectId;

/// The remote-tracking ref a fetch updates.
pub const TRACKING: &str = "refs/remotes/origin/main";

/// Errors talking to the remote.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The store has no remote configured.
    #[error("the store has no remote")]
    NoRemote,
    /// The git binary is not installed.
    #[error("ctx needs the `git` program to reach a remote, and it is not installed")]
    NoGit,
    /// The remote cannot be reached (network, path, authentication).
    #[error("cannot reach the remote {url}: {detail}")]
    Unreachable {
        /// The remote.
        url: String,
        /// git's own words.
        detail: String,
    },
    /// The remote's main moved since the fetch.
    #[error("the remote {url} moved while ctx was pushing")]
    Rejected {
        /// The remote.
        url: String,
    },
    /// git failed another way.
    #[error("git {what} failed: {detail}")]
    Failed {
        /// fetch, push, …
        what: &'static str,
        /// git's own words.
        detail: String,
    },
}

/// The store's remote, reached through the git binary.
pub struct Remote {
    store_dir: PathBuf,
    /// The remote's URL, as configured.
    pub url: String,
    /// When every network step must have answered (a SessionStart hook must not hang on a
    /// dead network); `None` waits as long as git does.
    deadline: Option<Instant>,
}

/// Runs `op` (a fetch or a push: a git process and a round trip) on a thread while `work` runs
/// on this one, and returns both results; `work` need not wait for the network.
pub fn alongside<T: Send, R>(
    what: &'static str,
    op: impl FnOnce() -> Result<T, RemoteError> + Send,
    work: impl FnOnce() -> R,
) -> (Result<T, RemoteError>, R) {
    let (done, out) = std::thread::scope(|s| {
        let op = s.spawn(op);
        let out = work();
        (op.join(), out)
    });
    let done = done.unwrap_or_else(|_| {
        Err(RemoteError::Failed {
            what,
            detail: format!("the {what} thread panicked"),
        })
    });
    (done, out)
}

/// The remote URL configured in the store, if any.
pub fn configured_url(store: &crate::store::Store) -> Option<String> {
    store
        .config()
        .value("remote.origin.url")
        .filter(|u| !u.is_empty())
}

/// Accepts a path as a URL: made absolute, since git runs with the store as its directory.
pub fn normalize_url(url: &str) -> String {
    let looks_local = !url.contains("://") && !is_scp_like(url);
    if looks_local {
        let p = Path::new(url);
        if p.is_relative() {
            if let Ok(cwd) = std::env::current_dir() {
                return cwd.join(p).to_string_lossy().to_string();
            }
        }
    }
    url.to_string()
}

/// `git@host:path` (scp-like ssh), as opposed to a local path with a colon in a later part.
fn is_scp_like(url: &str) -> bool {
    match url.find(':') {
        Some(i) => {
            let host = &url[..i];
            !host.is_empty() && !host.contains('/') && i > 1
        }
        None => false,
    }
}

impl Remote {
    /// The remote of the store at `store_dir`.
    pub fn new(store_dir: &Path, url: &str) -> Remote {
        Remote {
            store_dir: store_dir.to_path_buf(),
            url: url.to_string(),
            deadline: None,
        }
    }

    /// The same remote, each network step given up (as unreachable) past `deadline`.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Remote {
        self.deadline = deadline;
        self
    }

    fn git(&self, args: &[&str]) -> Result<Output, RemoteError> {
        let mut cmd = Command::new(git_program());
        cmd.arg("--git-dir")
            .arg(&self.store_dir)
            .args(args)
            // Never wait for a password prompt nobody sees (hooks, watch): fail instead.
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", ssh_command())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null());
        let started = match self.deadline {
            None => cmd.output(),
            Some(deadline) => return self.bounded(cmd, deadline),
        };
        started.map_err(start_error)
    }

    /// Runs git until `deadline`, then kills it and everything it started (ssh).
    fn bounded(&self, mut cmd: Command, deadline: Instant) -> Result<Output, RemoteError> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(start_error)?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let stdout = stdout.join().unwrap_or_default();
                let stderr = stderr.join().unwrap_or_default();
                return Ok(Output {
                    status,
                    stdout,
                    stderr,
                });
            }
            if Instant::now() >= deadline {
                kill_group(&mut child);
                return Err(RemoteError::Unreachable {
                    url: self.url.clone(),
                    detail: "no answer in time; gave up".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Fetches the remote's main into [`TRACKING`]. `false`: the remote has no main yet.
    pub fn fetch(&self) -> Result<bool, RemoteError> {
        // After a fetch git starts `git maintenance run --auto`, one more process that nearly
        // always finds nothing to do; it is let run only when its own threshold may be reached.
        let maintenance = match housekeeping_due(&self.store_dir) {
            true => "maintenance.auto=true",
            false => "maintenance.auto=false",
        };
        let out = self.git(&[
            "-c",
            maintenance,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            &self.url,
            &format!("+refs/heads/main:{TRACKING}"),
        ])?;
        if out.status.success() {
            return Ok(true);
        }
        // Over ssh, git adds "the remote end hung up" after the line that matters.
        if String::from_utf8_lossy(&out.stderr).contains("couldn't find remote ref") {
            return Ok(false);
        }
        Err(RemoteError::Unreachable {
            url: self.url.clone(),
            detail: last_line(&out.stderr),
        })
    }

    /// Whether the remote answers, and whether it has a main branch.
    pub fn probe(&self) -> Result<bool, RemoteError> {
        let out = self.git(&["ls-remote", "--heads", &self.url, "refs/heads/main"])?;
        if !out.status.success() {
            return Err(RemoteError::Unreachable {
                url: self.url.clone(),
                detail: last_line(&out.stderr),
            });
        }
        Ok(!out.stdout.is_empty())
    }

    /// Pushes exactly `commit` to the remote's main: a fast-forward, never forced.
    pub fn push(&self, commit: ObjectId) -> Result<(), RemoteError> {
        let out = self.git(&[
            "push",
            "--quiet",
            "--no-verify",
            &self.url,
            &format!("{commit}:refs/heads/main"),
        ])?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        if text.contains("[rejected]")
            || text.contains("non-fast-forward")
            || text.contains("fetch first")
            || text.contains("failed to update ref")
            || text.contains("cannot lock ref")
            || text.contains("[remote rejected]")
        {
            return Err(RemoteError::Rejected {
                url: self.url.clone(),
            });
        }
        Err(RemoteError::Unreachable {
            url: self.url.clone(),
            detail: last_line(&out.stderr),
        })
    }
}

fn start_error(e: std::io::Error) -> RemoteError {
    match e.kind() {
        std::io::ErrorKind::NotFound => RemoteError::NoGit,
        _ => RemoteError::Failed {
            what: "start",
            detail: e.to_string(),
        },
    }
}

/// Reads a child's pipe to its end on a thread, so a chatty git never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Kills git and, on unix, its process group (the ssh it started holds the pipes open).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the group git leads; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether git's `gc --auto` could find work in the store at `git_dir`, by its own estimate:
/// more than `gc.auto` (6,700) loose objects, judged from the one folder `objects/17` as git
/// judges it, or more than `gc.autoPackLimit` (50) packs.
fn housekeeping_due(git_dir: &Path) -> bool {
    let objects = git_dir.join("objects");
    let count = |dir: PathBuf, ext: Option<&str>| {
        std::fs::read_dir(dir).map_or(0, |rd| {
            rd.flatten()
                .filter(|e| ext.is_none_or(|x| e.file_name().to_string_lossy().ends_with(x)))
                .count()
        })
    };
    count(objects.join("17"), None) > 6_700usize.div_ceil(256)
        || count(objects.join("pack"), Some(".pack")) > 50
}

/// `CTX_GIT` names the git program (for tests and unusual installs); default `git`.
fn git_program() -> String {
    std::env::var("CTX_GIT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "git".into())
}

/// ssh must never stop to ask (a host key, a passphrase) in a hook or `ctx watch`.
fn ssh_command() -> String {
    match std::env::var("GIT_SSH_COMMAND") {
        Ok(c) if !c.is_empty() => c,
        _ => match std::env::var("GIT_SSH") {
            Ok(c) if !c.is_empty() => format!("{c} -o BatchMode=yes"),
            _ => "ssh -o BatchMode=yes".into(),
        },
    }
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // git ends with a generic "Please make sure you have the correct access rights"; the cause
    // is the line before it.
    lines
        .iter()
        .rev()
        .find(|l| {
            !l.starts_with("Please make sure")
                && !l.starts_with("and the repository exists")
                && !l.starts_with("fatal: Could not read from remote")
                && !l.contains("the remote end hung up unexpectedly")
        })
        .or(lines.last())
        .map(|l| {
            l.trim_start_matches("fatal: ")
                .trim_start_matches("error: ")
                .to_string()
        })
        .unwrap_or_else(|| "git gave no reason".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scp_like_urls_are_not_paths() {
        assert!(is_scp_like("git@github.com:me/ctx-store.git"));
        assert!(is_scp_like("host:store"));
        assert!(!is_scp_like("/srv/store.git"));
        assert!(!is_scp_like("./a:b"));
        assert_eq!(
            normalize_url("ssh://git@host/x.git"),
            "ssh://git@host/x.git"
        );
        assert!(normalize_url("remote.git").starts_with('/'));
    }

    #[test]
    fn the_cause_line_is_kept() {
        let err = b"fatal: '/nope' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n";
        assert_eq!(
            last_line(err),
            "'/nope' does not appear to be a git repository"
        );
    }
}
