//! Each library error as the user reads it: which cause, which hint, which exit code.

use super::{CliError, CONFLICT, CRASH};
use crate::codec::CaptureError;
use crate::crypt::CryptError;
use crate::error::Error;
use crate::store::StoreError;

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
                // gix's words (`delegate.traverse(NthAncestor(9)) failed`) help nobody here.
                return CliError {
                    causes: Vec::new(),
                    ..CliError::from_error(&e, "use a commit id from `ctx log`, or HEAD~N with N below the number of commits")
                };
            }
            StoreError::Git(_) | StoreError::Io { .. } => {
                return CliError::from_error(&e, "check the store with `ctx doctor`").internal()
            }
        };
        CliError::from_error(&e, hint)
    }
}

impl From<CryptError> for CliError {
    fn from(e: CryptError) -> Self {
        let hint = match &e {
            CryptError::NoIdentity { .. } => "run `ctx init` to create this machine's key, or restore identity.txt from a backup",
            CryptError::BadIdentity { .. } => "restore identity.txt from a backup; it must hold an AGE-SECRET-KEY line",
            CryptError::Io { .. } => "check the permissions of ctx's config folder",
            CryptError::BadRecipient { .. } => "approve the machine again with `ctx machine approve NAME` (a recipient key starts with age1)",
            CryptError::NoRecipients => "run `ctx init` so this machine is listed as a recipient",
            CryptError::Decrypt { .. } => "the value is not sealed to this machine's key, or was damaged; `ctx secret ls` shows which values this machine can read",
            CryptError::Encrypt { .. } => "check the recipients in ctx.yaml",
            CryptError::Misplaced { .. } => "edit the list on a machine that can read its secrets, or put the flag and its value back together",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<CaptureError> for CliError {
    fn from(e: CaptureError) -> Self {
        match e {
            CaptureError::Format(f) => CliError::from_error(
                &f,
                "fix the file (nothing was committed and it was not changed), then run the command again",
            ),
            CaptureError::Unreadable { .. } => CliError::from_error(
                &e,
                "fix its permissions, or stop tracking it with `ctx forget PATH`",
            ),
            CaptureError::SymlinkLoop { .. } => CliError::from_error(
                &e,
                "remove the link that points back into its own folder",
            ),
            CaptureError::PlainSecret { .. } => CliError {
                message: format!("refusing to commit: {e}"),
                ..CliError::new("", "remove the value from the file (use an env variable, or keep it in settings.json `env`, which ctx encrypts); if it is not a secret, list its fingerprint under `not_secret:` in ctx.yaml (`ctx config edit`)")
            },
            CaptureError::Misplaced { .. } => CliError::from_error(
                &e,
                "edit the list on a machine that can read its secrets, or put the flag and its value back together",
            ),
            CaptureError::Crypt(c) => c.into(),
            CaptureError::TooLarge { .. } => CliError::from_error(
                &e,
                "leave it out with `ctx forget PATH`, or raise the limit with `ctx config set max_file_size BYTES`",
            ),
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let e = match e {
            Error::Store(s) => return s.into(),
            Error::Crypt(c) => return c.into(),
            Error::Capture(c) => return c.into(),
            other => other,
        };
        let hint = match &e {
            Error::NotInitialized { .. } => "run `ctx init` first",
            Error::Store(_) | Error::Crypt(_) | Error::Capture(_) => "run `ctx doctor`",
            Error::Invalid(v) => {
                return CliError {
                    message: format!("invalid store file: {v}"),
                    ..CliError::new("", "fix the field (the schemas are in the schemas/ folder of ctx's source)")
                }
            }
            Error::Dirty { files } => {
                return CliError {
                    message: format!(
                        "{} live file(s) hold changes that are not committed; nothing was written",
                        files.len()
                    ),
                    details: files.clone(),
                    ..CliError::new("", "run `ctx commit` first, or `--force` to overwrite them (their contents are saved to a backup ref first)")
                }
            }
            Error::Io { .. } => "check the file's permissions and free space",
            Error::Signing(_) => "restore this machine's signing_key from a backup, or move it away to make a new one (then approve this machine again from another)",
            Error::NotAnObject { .. } => "fix the file so it holds one JSON object",
            Error::SharedFileDamaged { .. } => "fix the file (other tools own the rest of it; ctx only sets its mcpServers key), then run the command again",
            Error::KeyMismatch { .. } => "restore this machine's own identity.txt from a backup; or run `ctx init` here to register this key, then `ctx machine approve <name>` on an approved machine; nothing was changed",
            Error::KeyCannotOpen { .. } => "restore this machine's identity.txt from a backup, or have an approved machine run `ctx machine approve <name>`; nothing was changed",
            Error::UnknownPath(_) => "name a path as `ctx status` shows it, e.g. settings.json or claude/skills/x",
            Error::LiveRootMissing { .. } => "bring it back (or point CLAUDE_CONFIG_DIR at it) and run the command again; to stop tracking files, remove them while it is there",
            Error::MassDelete { examples, .. } => {
                return CliError {
                    details: examples.clone(),
                    ..CliError::from_error(&e, "if you meant to delete them, run it again with --allow-mass-delete")
                }
            }
            Error::BadMachineName(_) => "use letters, digits, `-` or `_`, e.g. --machine laptop",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::model::ValidationError> for CliError {
    fn from(e: crate::model::ValidationError) -> Self {
        Error::Invalid(e).into()
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
        CliError::from_error(&e, hint)
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
        CliError::from_error(&e, hint)
    }
}

impl From<crate::sync::SyncError> for CliError {
    fn from(e: crate::sync::SyncError) -> Self {
        use crate::sync::SyncError as S;
        let e = match e {
            S::Workspace(w) => return w.into(),
            S::Remote(r) => return r.into(),
            other => other,
        };
        let hint = match &e {
            S::Workspace(_) | S::Remote(_) => "run `ctx doctor`",
            S::Offline { .. } => {
                "nothing is lost: the next `ctx sync` catches up once the remote is reachable"
            }
            S::Unrelated { .. } => "to join it, move this store away (its history stays there) and run `ctx init --remote URL` again",
            S::NotAStore { .. } => {
                "point --remote at an empty repository or at another machine's ctx store"
            }
            S::Busy { .. } => {
                "other machines are syncing right now; run `ctx sync` again in a moment"
            }
            S::NoConflict { .. } => "`ctx status` lists the open conflicts",
            S::Stale => "run `ctx sync` again; it merges anew and lists what is still in conflict",
            S::BadResolution { .. } => {
                "fix the file and run `ctx resolve` again; nothing was recorded"
            }
            S::Review(_) => "check the permissions of the store's ctx/ folder; the held list is rebuilt by the next sync",
            S::Trust(_) => "fix or remove the file (ctx then trusts only this machine until you approve the others)",
            S::Untrusted { refused } => {
                return CliError {
                    message: format!("{} fetched commit(s) are not signed by a machine this one trusts; nothing was merged, applied or pushed", refused.len()),
                    details: refused
                        .iter()
                        .map(|r| {
                            let by = r.claims.as_deref().map(|m| format!(" (says it is from {m})")).unwrap_or_default();
                            format!("{}{by}: {}", &r.commit[..r.commit.len().min(12)], r.reason)
                        })
                        .collect(),
                    ..CliError::new("", "if a machine of yours made them, trust it with `ctx machine approve NAME` (check the fingerprint it printed at `ctx init`); history from a ctx that did not sign: `ctx sync --accept-unsigned`, once")
                };
            }
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::hooks::HookError> for CliError {
    fn from(e: crate::hooks::HookError) -> Self {
        use crate::hooks::HookError as H;
        let hint = match &e {
            H::Git { .. } => "run it inside a git worktree, or pass --worktree DIR",
            H::Io { .. } => "check the folder's permissions",
            H::Occupied { .. } => {
                "move one of the two files away (ctx chains one existing hook), then run it again"
            }
            H::Settings { .. } => "fix settings.json so it holds a JSON object",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::project::ProjectError> for CliError {
    fn from(e: crate::project::ProjectError) -> Self {
        match e {
            crate::project::ProjectError::Workspace(s) => s.into(),
            other => CliError::from_error(
                &other,
                "run it inside a git worktree with at least one commit, or pass --worktree DIR",
            ),
        }
    }
}

impl From<crate::setup::InitError> for CliError {
    fn from(e: crate::setup::InitError) -> Self {
        use crate::setup::InitError as I;
        match e {
            I::Workspace(s) => s.into(),
            I::Sync(s) => s.into(),
            I::Lock(l) => l.into(),
        }
    }
}

impl From<crate::watch::WatchError> for CliError {
    fn from(e: crate::watch::WatchError) -> Self {
        CliError::from_error(
            &e,
            "check that the Claude home exists and the inotify watch limit (fs.inotify.max_user_watches) is not reached",
        )
    }
}

impl From<crate::machines::MachineError> for CliError {
    fn from(e: crate::machines::MachineError) -> Self {
        use crate::machines::MachineError as M;
        match e {
            M::Workspace(s) => s.into(),
            M::Unknown(_) => CliError::from_error(
                &e,
                "`ctx machine ls` lists them; a new machine joins with `ctx init --remote URL`, then `ctx sync` here fetches its record",
            ),
            M::LastRecipient(_) => CliError::from_error(
                &e,
                "approve another machine first, or the secrets could never be read again",
            ),
            M::FingerprintMismatch { .. } => CliError::from_error(
                &e,
                "nothing was approved: check the fingerprint `ctx init` printed on that machine; a different key may be an impostor's",
            ),
            M::NoSigningKey(_) => CliError::from_error(
                &e,
                "run `ctx init` on that machine (it makes a signing key and registers it), then `ctx sync` there and here",
            ),
            M::Trust(_) => CliError::from_error(&e, "fix or remove the trust file; nothing was approved"),
            M::ThisMachine(_) => CliError::from_error(
                &e,
                "run `ctx machine rm` on another machine of the store; nothing was changed",
            ),
            M::NotThisMachine(_) => CliError::from_error(
                &e,
                "run `ctx machine rename OLD NEW` on that machine, then `ctx sync` there; nothing was changed",
            ),
            M::Taken(_) => CliError::from_error(
                &e,
                "pick another name (`ctx machine ls` lists those in use); nothing was changed",
            ),
        }
    }
}

impl From<crate::review::ReviewError> for CliError {
    fn from(e: crate::review::ReviewError) -> Self {
        use crate::review::ReviewError as R;
        match e {
            R::Workspace(w) => w.into(),
            R::NotHeld(_) => CliError::from_error(&e, "`ctx review` lists what is held"),
            R::Io { .. } => {
                CliError::from_error(&e, "check the permissions of the store's ctx/ folder")
            }
        }
    }
}

impl From<crate::rollback::RollbackError> for CliError {
    fn from(e: crate::rollback::RollbackError) -> Self {
        use crate::rollback::RollbackError as R;
        let e = match e {
            R::Workspace(w) => return w.into(),
            other => other,
        };
        let hint = match &e {
            R::Workspace(_) => "run `ctx doctor`",
            R::NoRevision => "name a commit from `ctx log`, or use --before TIME",
            R::BadTime(_) => {
                "write e.g. \"2026-11-20 14:00\", \"2 hours ago\" or 2026-11-20T14:00:00Z"
            }
            R::NothingBefore(_) => "see `ctx log` for the oldest commit",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::secrets::SecretError> for CliError {
    fn from(e: crate::secrets::SecretError) -> Self {
        use crate::secrets::SecretError as S;
        let locator = "write it as FILE:field.path, e.g. claude/mcp.json:github.env.GITHUB_TOKEN";
        let e = match e {
            S::Workspace(w) => return w.into(),
            other => other,
        };
        let hint = match &e {
            S::Workspace(_) => "run `ctx doctor`",
            S::BadLocator(_) | S::NotStructured(_) | S::NotSettable(_) => locator,
            S::NotSealed(_) => "`ctx secret ls` lists the sealed values",
            S::NotInStore(_) => "run `ctx commit` first, or check the name with `ctx status`",
            S::Stored(_) => "fix the stored file",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::events::EventError> for CliError {
    fn from(e: crate::events::EventError) -> Self {
        use crate::events::EventError as E;
        match e {
            E::Unknown(_) => CliError::from_error(
                &e,
                "run `ctx hooks install` again to install the current scripts",
            ),
            E::Lock(l) => l.into(),
            E::Project(p) => p.into(),
            E::Workspace(w) => w.into(),
            E::Sync(s) => s.into(),
        }
    }
}

impl From<crate::watch::RoundError> for CliError {
    fn from(e: crate::watch::RoundError) -> Self {
        use crate::watch::RoundError as R;
        match e {
            R::Lock(l) => l.into(),
            R::Workspace(w) => w.into(),
            R::Sync(s) => s.into(),
            R::Conflicts(_) => CliError {
                code: CONFLICT,
                ..CliError::from_error(&e, "settle each with `ctx resolve PATH`")
            },
        }
    }
}

impl From<crate::sessions::SessionsError> for CliError {
    fn from(e: crate::sessions::SessionsError) -> Self {
        use crate::sessions::SessionsError as S;
        match e {
            S::Workspace(e) => e.into(),
            S::Crypt(e) => e.into(),
            S::NotFound(_) => CliError::from_error(&e, "`ctx sessions ls` lists the sessions"),
            S::BadKeep(_) => CliError::from_error(
                &e,
                "write e.g. `sessions: {enabled: true, keep: 90d}` in ctx.yaml (`ctx config edit`)",
            ),
            S::BadSize(_) => {
                CliError::from_error(&e, "write e.g. `ctx config set sessions.max_size 500M`")
            }
            S::Io { .. } | S::BadChunk { .. } => CliError::from_error(
                &e,
                "run `ctx doctor`; the store's history keeps every chunk",
            )
            .internal(),
        }
    }
}

impl From<crate::store_shell::StoreShellError> for CliError {
    fn from(e: crate::store_shell::StoreShellError) -> Self {
        use crate::store_shell::StoreShellError as S;
        let hint = match &e {
            S::Missing { .. } => "run `ctx init` to create it, or pass --store DIR",
            S::Spawn { .. } => {
                "install it, or point CTX_GIT (for git) or SHELL (for a shell) at it"
            }
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::manifest_edit::EditError> for CliError {
    fn from(e: crate::manifest_edit::EditError) -> Self {
        use crate::manifest_edit::EditError as E;
        let e = match e {
            E::Workspace(w) => return w.into(),
            other => other,
        };
        let hint = match &e {
            E::Workspace(_) => "run `ctx doctor`",
            E::Invalid(_) => "this is a bug in ctx; nothing was committed",
            E::UnknownKey(_) => "the keys and their types are in schemas/ctx.schema.json",
            E::Guarded { .. } => "nothing was changed",
            E::BadValue { .. } => {
                "nothing was changed; `ctx config get KEY` shows the value in force"
            }
            E::BadPath { .. } => {
                "name a file or folder inside the Claude home, e.g. `notes` or ~/.claude/notes"
            }
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::local::LocalError> for CliError {
    fn from(e: crate::local::LocalError) -> Self {
        use crate::local::LocalError as L;
        match e {
            L::Workspace(w) => w.into(),
            L::Format(f) => CliError::from_error(
                &f,
                "fix the file (nothing was changed), then run the command again",
            ),
            L::NoLayer(_) => CliError::from_error(
                &e,
                "name a machine that has committed since it listed `local:` fields; `ctx machine ls` lists the machines",
            ),
        }
    }
}

impl From<crate::stored::StoredError> for CliError {
    fn from(e: crate::stored::StoredError) -> Self {
        use crate::stored::StoredError as S;
        match e {
            S::Workspace(w) => w.into(),
            S::Folder { ref files, .. } => CliError {
                details: files.clone(),
                ..CliError::from_error(&e, "name one of its files")
            },
            S::Missing(_) => CliError::from_error(
                &e,
                "`ctx status` names the files; `ctx commit` captures new ones",
            ),
        }
    }
}

impl From<crate::mcp::ToolError> for CliError {
    fn from(e: crate::mcp::ToolError) -> Self {
        use crate::mcp::ToolError as T;
        match e {
            T::Workspace(w) => w.into(),
            T::Sync(s) => s.into(),
            T::Rollback(r) => r.into(),
            T::Project(p) => p.into(),
            T::Lock(l) => l.into(),
            T::Sessions(s) => s.into(),
            T::Refused { message, hint } => CliError::new(message, hint),
            T::Crashed(_) => CliError {
                code: CRASH,
                ..CliError::from_error(&e, "this is a bug in ctx; please report it with the tool call that failed (nothing more was written)")
            },
        }
    }
}

impl From<crate::mcp::server::ServeError> for CliError {
    fn from(e: crate::mcp::server::ServeError) -> Self {
        CliError::from_error(
            &e,
            "`ctx mcp` is started by an MCP client (Claude Code) speaking JSON-RPC on stdin; `ctx mcp install` registers it",
        )
        .internal()
    }
}

impl From<crate::serve::ServeError> for CliError {
    fn from(e: crate::serve::ServeError) -> Self {
        use crate::serve::ServeError as S;
        let hint = match &e {
            S::NoToken { .. } => {
                "run `ctx serve --token new` first; it prints the token clients send"
            }
            S::Token { .. } => {
                "check the file's permissions, or make a new one with `ctx serve --token new`"
            }
            S::Bind { .. } => "choose a free port with --listen 127.0.0.1:PORT",
        };
        CliError::from_error(&e, hint)
    }
}

impl From<crate::notify::hooks::NotifyError> for CliError {
    fn from(e: crate::notify::hooks::NotifyError) -> Self {
        use crate::notify::hooks::NotifyError as N;
        match e {
            N::BadUrl(_) => CliError::from_error(
                &e,
                "give the full URL, e.g. https://n8n.example/webhook/ctx",
            ),
            N::NoSuchHook(_) => CliError::from_error(&e, "`ctx notify ls` numbers the webhooks"),
            N::Crypt(c) => c.into(),
            N::Invalid(v) => v.into(),
            N::Workspace(w) => w.into(),
        }
    }
}
