//! Claude Code session transcripts, synced when ctx.yaml says `sessions: {enabled: true}`.
//!
//! Store layout: `sessions/<project id>/<session id>/<machine>-<seq>.age`, each chunk the lines
//! one machine appended to the session since its previous chunk (plus the session's other files
//! that changed), sealed whole to the recipients. Chunks are immutable: a sync adds what was
//! appended instead of re-encrypting a growing file (encrypted blobs defeat git's deltas), and
//! two machines never write the same chunk, so merging is the union of their lines. On apply,
//! each session of a project this machine has is written under the folder name of this
//! machine's path, `cwd` fields rewritten, so `claude --resume <id>` finds it here.

mod apply;
mod capture;
mod chunk;
mod list;
mod live;
mod order;

use std::path::PathBuf;

pub use apply::{apply, Applied};
pub use capture::{capture, pending, Captured, Pending};
pub use chunk::{Header, Kind, Part};
pub use list::{list, set_enabled, settings, show, SessionInfo};
pub use live::{is_session_id, rewrite_cwd};
pub use order::{union, Stream};

/// Errors of session capture, apply and listing.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// Sealing or opening a chunk.
    #[error(transparent)]
    Crypt(#[from] crate::crypt::CryptError),
    /// The store.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
    /// A live file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A chunk that opened but does not hold a chunk.
    #[error("{path}: not a session chunk ({why})")]
    BadChunk {
        /// Its store path.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// `ctx sessions show` of an id the store does not hold.
    #[error("no session `{0}` in the store (`ctx sessions ls` lists them)")]
    NotFound(String),
    /// A `keep:` ctx.yaml cannot read.
    #[error("ctx.yaml: sessions.keep `{0}` is not a duration like `90d`, `12h` or `8w`")]
    BadKeep(String),
    /// A `max_size:` ctx.yaml cannot read.
    #[error("ctx.yaml: sessions.max_size `{0}` is not a size like `500M`, `2G` or `800K`")]
    BadSize(String),
}

impl From<crate::store::StoreError> for SessionsError {
    fn from(e: crate::store::StoreError) -> Self {
        SessionsError::Workspace(e.into())
    }
}

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SessionsError + '_ {
    move |source| SessionsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The prefix of every chunk in the store.
pub const PREFIX: &str = "sessions/";

/// A chunk's store path.
pub fn chunk_path(project: &str, session: &str, machine: &str, seq: u64) -> String {
    format!("{PREFIX}{project}/{session}/{machine}-{seq}.age")
}

/// A chunk's store path split: (project, session, machine, seq).
pub fn parse_chunk_path(path: &str) -> Option<(&str, &str, &str, u64)> {
    let mut parts = path.strip_prefix(PREFIX)?.split('/');
    let (project, session, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_session_id(session) {
        return None;
    }
    let (machine, seq) = file.strip_suffix(".age")?.rsplit_once('-')?;
    Some((project, session, machine, seq.parse().ok()?))
}

/// How long an idle session is carried forward: `None` keeps every session.
pub fn keep(manifest: &crate::model::Manifest) -> Result<Option<i64>, SessionsError> {
    let Some(text) = manifest.sessions.as_ref().and_then(|s| s.keep.as_deref()) else {
        return Ok(None);
    };
    let bad = || SessionsError::BadKeep(text.to_string());
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    Ok(Some(n.saturating_mul(secs)))
}

/// The most bytes of sessions carried forward: `None` has no limit.
pub fn max_size(manifest: &crate::model::Manifest) -> Result<Option<u64>, SessionsError> {
    let Some(text) = manifest
        .sessions
        .as_ref()
        .and_then(|s| s.max_size.as_deref())
    else {
        return Ok(None);
    };
    let bad = || SessionsError::BadSize(text.to_string());
    let t = text.trim();
    let at = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..at].parse().map_err(|_| bad())?;
    let unit = t[at..].trim().to_ascii_uppercase();
    let unit = unit.trim_end_matches('B').trim_end_matches('I');
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(bad()),
    };
    Ok(Some(n.saturating_mul(scale)))
}

/// Seconds since the epoch of an RFC 3339 time (0 when it does not parse).
fn epoch(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().map_or(0, |t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_paths_round_trip() {
        let p = chunk_path("github.com-a-b", "0a1b-2c", "my-mac", 12);
        assert_eq!(p, "sessions/github.com-a-b/0a1b-2c/my-mac-12.age");
        assert_eq!(
            parse_chunk_path(&p),
            Some(("github.com-a-b", "0a1b-2c", "my-mac", 12))
        );
        assert_eq!(parse_chunk_path("sessions/p/x y/m-1.age"), None);
    }

    #[test]
    fn keep_reads_hours_days_and_weeks() {
        let with = |k: &str| crate::model::Manifest {
            sessions: Some(crate::model::SessionsConfig {
                enabled: true,
                keep: Some(k.into()),
                max_size: None,
            }),
            ..Default::default()
        };
        assert_eq!(keep(&with("90d")).ok().flatten(), Some(90 * 86_400));
        assert_eq!(keep(&with("12h")).ok().flatten(), Some(12 * 3600));
        assert_eq!(keep(&with("2w")).ok().flatten(), Some(14 * 86_400));
        assert!(keep(&with("soon")).is_err());
        assert!(keep(&with("5y")).is_err());
    }

    #[test]
    fn max_size_reads_bytes_with_binary_units() {
        let with = |k: &str| crate::model::Manifest {
            sessions: Some(crate::model::SessionsConfig {
                enabled: true,
                keep: None,
                max_size: Some(k.into()),
            }),
            ..Default::default()
        };
        assert_eq!(max_size(&with("500M")).ok().flatten(), Some(500 << 20));
        assert_eq!(max_size(&with("2 GiB")).ok().flatten(), Some(2 << 30));
        assert_eq!(max_size(&with("800kb")).ok().flatten(), Some(800 << 10));
        assert_eq!(max_size(&with("1234")).ok().flatten(), Some(1234));
        assert!(max_size(&with("big")).is_err());
        assert!(max_size(&with("5T")).is_err());
        assert!(max_size(&with("M")).is_err());
    }
}
