//! The store's files at `main` as MCP resources, `ctx://store/<path>`: read-only, and redacted
//! (a sealed value reads `<secret>`, and so does anything shaped like a credential).

use crate::workspace::Workspace;

/// The scheme and prefix of every resource URI.
pub const PREFIX: &str = "ctx://store/";

/// One store file as a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFile {
    /// `ctx://store/<path>`.
    pub uri: String,
    /// The store path.
    pub path: String,
    /// Its MIME type, by extension.
    pub mime: &'static str,
}

/// What a resource read gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// A text file, redacted.
    Text(String),
    /// A binary file, base64.
    Blob(String),
}

/// Every file of the store at `main`.
pub fn list(ws: &Workspace) -> Vec<StoreFile> {
    ws.repo
        .files
        .keys()
        .map(|p| StoreFile {
            uri: format!("{PREFIX}{p}"),
            path: p.clone(),
            mime: mime(p),
        })
        .collect()
}

/// The store path a resource URI names, if it is one of ours.
pub fn path_of(uri: &str) -> Option<&str> {
    uri.strip_prefix(PREFIX).filter(|p| !p.is_empty())
}

/// Reads one store file, redacted; `None` when the store has no such file.
pub fn read(ws: &Workspace, path: &str) -> crate::error::Result<Option<(StoreFile, Contents)>> {
    if !ws.repo.files.contains_key(path) {
        return Ok(None);
    }
    let Some(bytes) = ws.repo.read(path)? else {
        return Ok(None);
    };
    let contents = match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let (sealed_hidden, _) = crate::redact::texts(text, text);
            Contents::Text(super::memory::redact_tokens(&sealed_hidden))
        }
        Err(_) => {
            use base64::Engine;
            Contents::Blob(base64::engine::general_purpose::STANDARD.encode(&bytes))
        }
    };
    let file = StoreFile {
        uri: format!("{PREFIX}{path}"),
        path: path.to_string(),
        mime: mime(path),
    };
    Ok(Some((file, contents)))
}

fn mime(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "md" => "text/markdown",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "sh" => "text/x-shellscript",
        _ => "text/plain",
    }
}
