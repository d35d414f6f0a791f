//! What a request can fail with, and its HTTP status. The words (the cause and the hint) of a
//! library error come from the command line's one mapping, handed to the server as an
//! [`Explain`] function, as the MCP server gets them.

use crate::lock::LockError;
use crate::mcp::ToolError;

/// A library call that failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The calls the MCP tools make too (workspace, sync, lock, sessions…).
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The review gate.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    /// The machines.
    #[error(transparent)]
    Machines(#[from] crate::machines::MachineError),
}

/// A failure in words, with the CLI's exit code (which picks the HTTP status).
#[derive(Debug, Clone)]
pub struct Explained {
    /// One line of cause (with its causes).
    pub message: String,
    /// One line of what to do.
    pub hint: Option<String>,
    /// The exit code the CLI would give: 1 a conflict, 2 the input or setup, 3 ctx's own.
    pub code: i32,
}

/// Turns a failure into words.
pub type Explain = fn(Failure) -> Explained;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// An answer decided here: status, message, hint, and the request field at fault.
    Http {
        /// HTTP status.
        status: u16,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
        /// The body field, query parameter or header at fault.
        field: Option<String>,
    },
    /// A library call failed.
    Failed(Failure),
}

macro_rules! failed_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::Failed(e.into())
            }
        }
    )*};
}

failed_from!(
    Failure,
    ToolError,
    crate::review::ReviewError,
    crate::machines::MachineError,
    crate::error::Error,
    crate::sync::SyncError,
    LockError,
    crate::store::StoreError
);

impl From<crate::error::Error> for Failure {
    fn from(e: crate::error::Error) -> Self {
        Failure::Tool(e.into())
    }
}

impl From<crate::sync::SyncError> for Failure {
    fn from(e: crate::sync::SyncError) -> Self {
        Failure::Tool(e.into())
    }
}

impl From<LockError> for Failure {
    fn from(e: LockError) -> Self {
        Failure::Tool(e.into())
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Tool(e.into())
    }
}

impl ApiError {
    /// An error of the request itself.
    pub fn http(status: u16, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::Http {
            status,
            message: message.into(),
            hint: hint.into(),
            field: None,
        }
    }

    /// 400 naming the field at fault.
    pub fn bad(field: &str, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::Http {
            status: 400,
            message: format!("{field}: {}", message.into()),
            hint: hint.into(),
            field: Some(field.to_string()),
        }
    }

    /// 404 for a path the API does not have.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::http(
            404,
            format!("no such resource: {what}"),
            "GET /v1/openapi.json lists the endpoints",
        )
    }
}

/// Whether the failure is the store's lock staying busy (503 with `Retry-After`).
pub fn is_busy(f: &Failure) -> bool {
    matches!(f, Failure::Tool(ToolError::Lock(LockError::Busy { .. })))
}

/// The HTTP status a failure has whatever its words (`None`: the exit code decides).
pub fn status_of(f: &Failure) -> Option<u16> {
    use crate::sync::SyncError as S;
    match f {
        _ if is_busy(f) => Some(503),
        Failure::Tool(ToolError::Sync(S::Offline { .. } | S::Remote(_) | S::Busy { .. })) => {
            Some(502)
        }
        Failure::Tool(ToolError::Sync(S::NoConflict { .. })) => Some(404),
        Failure::Review(crate::review::ReviewError::NotHeld(_)) => Some(404),
        Failure::Machines(crate::machines::MachineError::Unknown(_)) => Some(404),
        _ => None,
    }
}

/// The HTTP status of the CLI's exit code: a conflict, bad input or setup, ctx's own failure.
pub fn status_of_code(code: i32) -> u16 {
    match code {
        1 => 409,
        2 => 400,
        _ => 500,
    }
}
