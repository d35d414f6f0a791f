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
        out.push(pair(st.path, &old, &new));
    }
    Ok(out)
}

/// The store's changes from revision `from` to `to` (default: `main`) under `only`, redacted:
/// what `ctx log` commits changed, as a diff.
pub fn between(
    ws: &Workspace,
    from: &str,
    to: Option<&str>,
    only: &[String],
) -> Result<Vec<FileDiff>> {
    let store = &ws.repo.store;
    let a = store.resolve(from)?;
    let b = match to {
        Some(t) => store.resolve(t)?,
        None => ws.repo.head.unwrap_or(a),
    };
    let (old_files, new_files) = (store.files(Some(a))?, store.files(Some(b))?);
    let mut paths: Vec<&String> = old_files.keys().chain(new_files.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (o, n) = (old_files.get(path), new_files.get(path));
        if o == n || !selected(path, only) {
            continue;
        }
        let read = |e: Option<&crate::store::Entry>| -> Result<Vec<u8>> {
            Ok(match e {
                Some(e) => store.blob(e.oid)?,
                None => Vec::new(),
            })
        };
        let (old, new) = (read(o)?, read(n)?);
        out.push(pair(path.clone(), &old, &new));
    }
    Ok(out)
}

/// One file's two sides as a redacted text pair, or binary.
fn pair(path: String, old: &[u8], new: &[u8]) -> FileDiff {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(o), Ok(n)) => {
            let (old, new) = crate::redact::texts(o, n);
            FileDiff::Text { path, old, new }
        }
        _ => FileDiff::Binary { path },
    }
}
