//! The error of an operation on this machine's store and live files (capture, apply, the
//! keyring, the store's documents). Module-specific failures keep their own types as causes.

use std::path::PathBuf;

use crate::codec::CaptureError;
use crate::crypt::CryptError;
use crate::model::ValidationError;
use crate::store::StoreError;

/// Errors of the workspace operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// ctx has not been set up on this machine.
    #[error("ctx is not set up on this machine (no {})", path.display())]
    NotInitialized {
        /// The machine config that is missing.
        path: PathBuf,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store file fails its schema.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Keys and encryption.
    #[error(transparent)]
    Crypt(#[from] CryptError),
    /// The signing key.
    #[error(transparent)]
    Signing(#[from] crate::signing::SigningError),
    /// Reading or converting live files.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Live files with changes not committed stand where ctx would write.
    #[error("{} live file(s) hold changes that are not committed", files.len())]
    Dirty {
        /// The files, as the user knows them.
        files: Vec<String>,
    },
    /// A file ctx reads or writes.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A damaged shared file (`~/.claude.json`): ctx owns only its key and writes nothing into it.
    #[error("{problem}; ctx writes nothing into a damaged shared file")]
    SharedFileDamaged {
        /// What is wrong with it.
        problem: String,
    },
    /// A shared JSON file (`~/.claude.json`) ctx cannot splice into.
    #[error("{}: not a JSON object, so ctx cannot set its mcpServers key", path.display())]
    NotAnObject {
        /// The file.
        path: PathBuf,
    },
    /// ctx.yaml lists this machine with another key than the one in its identity file.
    #[error("this machine's key ({}) is not the key ctx.yaml lists for `{machine}`", path.display())]
    KeyMismatch {
        /// This machine.
        machine: String,
        /// Its identity file.
        path: PathBuf,
    },
    /// This machine is a recipient, yet its key opens none of the store's secrets.
    #[error("this machine's key ({}) cannot open any of the store's secrets, though ctx.yaml lists `{machine}` as a recipient", path.display())]
    KeyCannotOpen {
        /// This machine.
        machine: String,
        /// Its identity file.
        path: PathBuf,
    },
    /// A path given on the command line that names nothing ctx knows.
    #[error("`{0}` is not a path ctx tracks")]
    UnknownPath(String),
    /// A place ctx captures from is missing or unreadable: its files are not taken as deleted.
    #[error("{} is missing or unreadable, so its {count} tracked file(s) were not taken as deleted; nothing was committed", path.display())]
    LiveRootMissing {
        /// The Claude home, `~/.claude.json` or the Desktop config.
        path: PathBuf,
        /// How many tracked files it held.
        count: usize,
    },
    /// A capture would delete most of what is tracked at once.
    #[error("this would delete {count} of {total} tracked files at once; nothing was committed")]
    MassDelete {
        /// Files it would delete.
        count: usize,
        /// Live files tracked.
        total: usize,
        /// A few of them, for the message.
        examples: Vec<String>,
    },
    /// A machine name that is empty once unsafe characters are dropped.
    #[error("`{0}` cannot be a machine name")]
    BadMachineName(String),
}

/// Shorthand for results of the workspace operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O error on `path`.
pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An error and its causes on one line, for a log or a list of problems.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
