//! The one place that turns library errors into what the user reads: a cause, a hint, an exit code.

use crate::capture::CaptureError;
use crate::crypt::CryptError;
use crate::session::SessionError;
use crate::store::StoreError;

/// An error as the user sees it.
#[derive(Debug)]
pub struct CliError {
    /// One line of cause.
    pub message: String,
    /// Lines under the cause (files listed).
    pub details: Vec<String>,
    /// One line of what to do.
    pub hint: Option<String>,
    /// Exit code: 1 a conflict, 2 anything else.
    pub code: i32,
}

impl CliError {
    /// An error with a hint, exit 2.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            details: Vec::new(),
            hint: Some(hint.into()),
            code: 2,
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let hint = match &e {
            StoreError::Missing { .. } => "run `ctx init` to create it, or pass --store DIR",
            StoreError::NotAStore { .. } => {
                "point --store (or CTX_STORE) at the folder `ctx init` created"
            }
            StoreError::Empty { .. } => "run `ctx init` to set it up",
            StoreError::RefMoved => "another ctx process wrote to the store; run the command again",
            StoreError::BadRevision { .. } => {
                "use a commit id from `ctx log`, HEAD~N, or --before TIME"
            }
            StoreError::Git(_) | StoreError::Io { .. } => "check the store with `ctx doctor`",
        };
        CliError::new(chain(&e), hint)
    }
}

impl From<CryptError> for CliError {
    fn from(e: CryptError) -> Self {
        let hint = match &e {
            CryptError::NoIdentity { .. } => "run `ctx init` to create this machine's key, or restore identity.txt from a backup",
            CryptError::BadIdentity { .. } => "restore identity.txt from a backup; it must hold an AGE-SECRET-KEY line",
            CryptError::Io { .. } => "check the permissions of ctx's config folder",
            CryptError::BadRecipient { .. } => "fix the key in ctx.yaml (it starts with age1)",
            CryptError::NoRecipients => "run `ctx init` so this machine is listed as a recipient",
            CryptError::Decrypt { .. } => "this machine cannot read that secret; run `ctx machine approve` on a machine that can",
            CryptError::Encrypt { .. } => "check the recipients in ctx.yaml",
        };
        CliError::new(chain(&e), hint)
    }
}

impl From<CaptureError> for CliError {
    fn from(e: CaptureError) -> Self {
        match e {
            CaptureError::Format(f) => CliError::new(
                format!("{f}"),
                "fix the file (nothing was committed and it was not changed), then run the command again",
            ),
            CaptureError::Unreadable { .. } => {
                CliError::new(chain(&e), "fix its permissions, or add it to `exclude:` in ctx.yaml")
            }
            CaptureError::SymlinkLoop { .. } => {
                CliError::new(chain(&e), "remove the link that points back into its own folder")
            }
            CaptureError::PlainSecret { .. } => CliError::new(
                format!("refusing to commit: {e}"),
                "remove the value from the file (use an env variable, or keep it in settings.json `env`, which ctx encrypts)",
            ),
            CaptureError::Crypt(c) => c.into(),
        }
    }
}

impl From<SessionError> for CliError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotInitialized { .. } => {
                CliError::new(chain(&e), "run `ctx init` first")
            }
            SessionError::Store(s) => s.into(),
            SessionError::Crypt(c) => c.into(),
            SessionError::Capture(c) => c.into(),
            SessionError::Invalid(v) => CliError::new(
                format!("invalid store file: {v}"),
                "fix the field (the schemas are in the schemas/ folder of ctx's source)",
            ),
            SessionError::Dirty { files } => CliError {
                message: format!(
                    "{} live file(s) hold changes that are not committed; nothing was written",
                    files.len()
                ),
                details: files,
                hint: Some("run `ctx commit` first, or `--force` to overwrite them (their contents are saved to a backup ref first)".into()),
                code: 2,
            },
            SessionError::Io { .. } => CliError::new(chain(&e), "check the file's permissions and free space"),
            SessionError::NotAnObject { .. } => CliError::new(chain(&e), "fix the file so it holds one JSON object"),
            SessionError::KeyMismatch { .. } => CliError::new(chain(&e), "restore this machine's own identity.txt from a backup, or have an approved machine run `ctx machine approve <name>` after `ctx init` registered the new key; nothing was changed"),
            SessionError::KeyCannotOpen { .. } => CliError::new(chain(&e), "restore this machine's identity.txt from a backup, or have an approved machine run `ctx machine approve <name>`; nothing was changed"),
            SessionError::UnknownPath(_) => CliError::new(chain(&e), "name a path as `ctx status` shows it, e.g. settings.json or claude/skills/x"),
        }
    }
}

impl From<crate::model::ValidationError> for CliError {
    fn from(e: crate::model::ValidationError) -> Self {
        SessionError::Invalid(e).into()
    }
}

impl From<crate::lock::LockError> for CliError {
    fn from(e: crate::lock::LockError) -> Self {
        let hint = match &e {
            crate::lock::LockError::Busy { .. } => {
                "wait for it to finish and run the command again (CTX_LOCK_WAIT=SECONDS waits longer)"
            }
            crate::lock::LockError::Io { .. } => "check the permissions of the store folder",
        };
        CliError::new(chain(&e), hint)
    }
}

impl From<crate::remote::RemoteError> for CliError {
    fn from(e: crate::remote::RemoteError) -> Self {
        use crate::remote::RemoteError as R;
        let hint = match &e {
            R::NoRemote => "connect one with `ctx init --remote URL`",
            R::NoGit => "install git (ctx uses it only to fetch and push)",
            R::Unreachable { .. } => "check the URL, the network and your ssh key or credentials, then run `ctx sync` again",
            R::Rejected { .. } => "run `ctx sync` again",
            R::Failed { .. } => "run `ctx doctor`",
        };
        CliError::new(chain(&e), hint)
    }
}

impl From<crate::sync::SyncError> for CliError {
    fn from(e: crate::sync::SyncError) -> Self {
        use crate::sync::SyncError as S;
        match e {
            S::Session(s) => s.into(),
            S::Remote(r) => r.into(),
            S::Offline { .. } => CliError::new(
                chain(&e),
                "nothing is lost: the next `ctx sync` catches up once the remote is reachable",
            ),
            S::Unrelated { .. } => CliError::new(
                chain(&e),
                "to join it, move this store away (its history stays there) and run `ctx init --remote URL` again",
            ),
            S::NotAStore { .. } => CliError::new(
                chain(&e),
                "point --remote at an empty repository or at another machine's ctx store",
            ),
            S::Busy { .. } => CliError::new(
                chain(&e),
                "other machines are syncing right now; run `ctx sync` again in a moment",
            ),
            S::NoConflict { .. } => {
                CliError::new(chain(&e), "`ctx status` lists the open conflicts")
            }
            S::Stale => CliError::new(
                chain(&e),
                "run `ctx sync` again; it merges anew and lists what is still in conflict",
            ),
            S::BadResolution { .. } => CliError::new(
                chain(&e),
                "fix the file and run `ctx resolve` again; nothing was recorded",
            ),
        }
    }
}

impl From<crate::hooks::HookError> for CliError {
    fn from(e: crate::hooks::HookError) -> Self {
        let hint = match &e {
            crate::hooks::HookError::Git { .. } => {
                "run it inside a git worktree, or pass --worktree DIR"
            }
            crate::hooks::HookError::Io { .. } => "check the folder's permissions",
            crate::hooks::HookError::Occupied { .. } => {
                "move one of the two files away (ctx chains one existing hook), then run it again"
            }
            crate::hooks::HookError::Settings { .. } => {
                "fix settings.json so it holds a JSON object"
            }
        };
        CliError::new(e.to_string(), hint)
    }
}

impl From<crate::project::ProjectError> for CliError {
    fn from(e: crate::project::ProjectError) -> Self {
        match e {
            crate::project::ProjectError::Session(s) => s.into(),
            other => CliError::new(
                other.to_string(),
                "run it inside a git worktree with at least one commit, or pass --worktree DIR",
            ),
        }
    }
}

impl From<crate::setup::InitError> for CliError {
    fn from(e: crate::setup::InitError) -> Self {
        use crate::setup::InitError as I;
        match e {
            I::Session(s) => s.into(),
            I::Sync(s) => s.into(),
            I::Lock(l) => l.into(),
        }
    }
}

impl From<crate::watch::WatchError> for CliError {
    fn from(e: crate::watch::WatchError) -> Self {
        CliError::new(
            e.to_string(),
            "check that the Claude home exists and the inotify watch limit (fs.inotify.max_user_watches) is not reached",
        )
    }
}
