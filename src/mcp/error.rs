//! What a tool can fail with. The words a person or a model reads (the cause and the hint) come
//! from the command line's one mapping of library errors, handed to the server as an
//! [`Explain`] function: the library does not depend on the command line.

use crate::error::Error;
use crate::lock::LockError;
use crate::project::ProjectError;
use crate::rollback::RollbackError;
use crate::store::StoreError;
use crate::sync::SyncError;

/// Errors of the MCP tools.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The store and the live files.
    #[error(transparent)]
    Workspace(#[from] Error),
    /// A sync.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A rollback.
    #[error(transparent)]
    Rollback(#[from] RollbackError),
    /// The project a memory call is about.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The store's lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The sessions in the store.
    #[error(transparent)]
    Sessions(#[from] crate::sessions::SessionsError),
    /// An argument ctx will not take, with what to do instead.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The tool's work panicked or could not run (a bug in ctx).
    #[error("ctx crashed: {0}")]
    Crashed(String),
}

impl From<StoreError> for ToolError {
    fn from(e: StoreError) -> Self {
        ToolError::Workspace(e.into())
    }
}

/// Turns a tool's error into the text the model reads: the CLI's `error:`, `caused by:` and
/// `hint:` lines.
pub type Explain = fn(ToolError) -> String;
