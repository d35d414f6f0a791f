//! `ctx cat`: a stored file in the form `ctx apply` would write it on this machine (home paths
//! restored), its secrets shown as `<secret>` unless asked to open them.

use crate::error::Error;
use crate::workspace::Workspace;

/// Why a stored file could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum StoredError {
    /// The path names a folder of the store.
    #[error("{path} is a folder in the store, not a file")]
    Folder {
        /// The store path.
        path: String,
        /// The files under it (the first few).
        files: Vec<String>,
    },
    /// The store has no such file.
    #[error("the store has no file {0}")]
    Missing(String),
    /// Reading the store failed.
    #[error(transparent)]
    Workspace(#[from] Error),
}

/// A stored file in live form.
#[derive(Debug)]
pub struct Stored {
    /// Its store path.
    pub path: String,
    /// The bytes `ctx apply` would write (secrets as `<secret>` unless opened).
    pub bytes: Vec<u8>,
    /// Secrets this machine cannot open (only when asked to open them).
    pub unreadable: Vec<String>,
}

/// The stored file `arg` names, as it would be applied here; secrets opened only if `decrypt`.
pub fn stored(ws: &Workspace, arg: &str, decrypt: bool) -> Result<Stored, StoredError> {
    let path = ws
        .store_paths_for(&[arg.to_string()])?
        .pop()
        .ok_or_else(|| StoredError::Missing(arg.to_string()))?;
    let Some(entry) = ws.repo.files.get(&path) else {
        let files: Vec<String> = ws
            .repo
            .files
            .keys()
            .filter(|k| crate::layout::under(k, &path))
            .take(10)
            .cloned()
            .collect();
        return Err(match files.is_empty() {
            true => StoredError::Missing(path),
            false => StoredError::Folder { path, files },
        });
    };
    let raw = ws.repo.store.blob(entry.oid).map_err(Error::from)?;
    let Some((_, source)) = crate::layout::live_location(&ws.env, &path) else {
        // The store's own documents (ctx.yaml, machines/…) are never applied: shown as stored.
        return Ok(Stored {
            path,
            bytes: raw,
            unreadable: Vec::new(),
        });
    };
    let raw = match (decrypt, std::str::from_utf8(&raw)) {
        // Redacted before mapping, so no ciphertext is ever printed either.
        (false, Ok(text)) => crate::redact::texts(text, text).0.into_bytes(),
        _ => raw,
    };
    let form = ws.codec().to_live(&path, &source, &raw, None);
    Ok(Stored {
        path,
        bytes: form.bytes,
        unreadable: form.unreadable,
    })
}
