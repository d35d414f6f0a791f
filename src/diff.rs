//! `ctx diff`: what a commit would record, file by file, with every secret redacted.

use crate::capture::{captured_bytes, snapshot, status};
use crate::error::Result;
use crate::layout::selected;
use crate::workspace::Workspace;

/// The two sides of one changed file, redacted.
#[derive(Debug)]
pub enum FileDiff {
    /// A text file: the store's version and the live one, in store form.
    Text {
        /// Store path.
        path: String,
        /// The store's version.
        old: String,
        /// The live version.
        new: String,
    },
    /// A binary file differs.
    Binary {
        /// Store path.
        path: String,
    },
}

/// The live changes under `only` (store-path prefixes; empty: all), as a commit would record
/// them.
pub fn live_changes(ws: &Workspace, only: &[String]) -> Result<Vec<FileDiff>> {
    let snap = snapshot(ws, true)?;
    let mut out = Vec::new();
    for st in status(ws, &snap)? {
        if !selected(&st.path, only) {
            continue;
        }
        let old = ws.repo.read(&st.path)?.unwrap_or_default();
        let new = captured_bytes(ws, &st.path, &snap)?.unwrap_or_default();
        out.push(
            match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
                (Ok(o), Ok(n)) => {
                    let (old, new) = crate::redact::texts(o, n);
                    FileDiff::Text {
                        path: st.path,
                        old,
                        new,
                    }
                }
                _ => FileDiff::Binary { path: st.path },
            },
        );
    }
    Ok(out)
}
