//! Live form <-> store form, both directions in one place. To the store: validate, map home
//! paths to `${CTX_HOME}`, seal secret fields, refuse token-like plaintext where nothing can be
//! sealed. To the live side: open secrets this machine can read (keeping its own values where
//! it cannot), restore home paths.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::crypt::detect::{fingerprint, scan_text};
use crate::crypt::fields::{open_doc_lenient, restore_unreadable, Sealer};
use crate::crypt::rules::Rules;
use crate::crypt::{CryptError, Identity, Recipients};
use crate::format::{self, FormatError, Kind};
use crate::layout::Source;
use crate::pathmap;

/// Errors of reading and converting live files.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A live file does not parse.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A live file or folder cannot be read.
    #[error("cannot read {}", path.display())]
    Unreadable {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A symlink that leads back into its own folder.
    #[error("symlink loop at {}", path.display())]
    SymlinkLoop {
        /// The link.
        path: PathBuf,
    },
    /// A credential in a file where it cannot be encrypted.
    #[error("{file}:{line}: {what}, in plain text (fingerprint {fingerprint})")]
    PlainSecret {
        /// The file, as the user knows it.
        file: String,
        /// 1-based line.
        line: usize,
        /// What it looks like ("looks like a GitHub token").
        what: String,
        /// The value's fingerprint, for `not_secret:` in ctx.yaml if it is not a secret.
        fingerprint: String,
    },
    /// A list edited where one of its secrets cannot be read, so that the secret's place is lost.
    #[error("{file}: {source}")]
    Misplaced {
        /// The file, as the user knows it.
        file: String,
        /// Which secret.
        #[source]
        source: CryptError,
    },
    /// Encryption failed.
    #[error(transparent)]
    Crypt(#[from] crate::crypt::CryptError),
    /// A file over the size limit.
    #[error("{file} is {size} bytes, over the {limit}-byte limit (max_file_size in ctx.yaml)")]
    TooLarge {
        /// The file, as the user knows it.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// Reads a live file's bytes and whether it is executable. `Ok(None)` if it vanished.
pub fn read_live(path: &Path) -> Result<Option<(Vec<u8>, bool)>, CaptureError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some((bytes, is_exec(path)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CaptureError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(unix)]
fn is_exec(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_exec(_: &Path) -> bool {
    false
}

/// What converting a file needs: the home to map, the rules, recipients and key.
pub struct Codec<'a> {
    home: String,
    rules: &'a Rules,
    recipients: &'a Recipients,
    identity: Option<&'a Identity>,
    local: crate::local::LocalFields,
}

/// A store blob in live form.
#[derive(Debug, Default)]
pub struct LiveForm {
    /// The bytes to write.
    pub bytes: Vec<u8>,
    /// Secrets this machine cannot open (their live values were kept, or the fields left out).
    pub unreadable: Vec<String>,
}

impl<'a> Codec<'a> {
    /// A codec for `home` with these rules and keys.
    pub fn new(
        home: &Path,
        rules: &'a Rules,
        recipients: &'a Recipients,
        identity: Option<&'a Identity>,
    ) -> Codec<'a> {
        Codec {
            home: home.to_string_lossy().trim_end_matches('/').to_string(),
            rules,
            recipients,
            identity,
            local: Default::default(),
        }
    }

    /// This codec, taking `local`'s machine-local fields out of shared files and keeping only
    /// them in a machine's layer.
    pub fn with_local(mut self, local: crate::local::LocalFields) -> Codec<'a> {
        self.local = local;
        self
    }

    /// The machine-local fields this codec keeps out of the store.
    pub fn local(&self) -> &crate::local::LocalFields {
        &self.local
    }

    /// The home directory as it is mapped to `${CTX_HOME}`.
    pub fn home(&self) -> &str {
        &self.home
    }

    fn sealer(&self) -> Sealer<'_> {
        Sealer {
            rules: self.rules,
            recipients: self.recipients,
            identity: self.identity,
        }
    }

    /// The store form of a live file's bytes, or `None` when it contributes no store file
    /// (a shared JSON without `mcpServers`). `old` is the stored version, for ciphertext reuse;
    /// `display` names the file in errors.
    pub fn to_store(
        &self,
        store_path: &str,
        source: &Source,
        display: &str,
        raw: &[u8],
        old: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, CaptureError> {
        if let Some(rule) = crate::crypt::shapes::key_store(store_path)
            .filter(|_| !self.rules.allowed(store_path, ""))
        {
            return Err(CaptureError::PlainSecret {
                file: display.to_string(),
                line: 1,
                what: format!("is a key store by its name ({rule})"),
                fingerprint: fingerprint(""),
            });
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            // Binary: stored as bytes, nothing to map or seal, but checked for text inside.
            self.check(store_path, display, &String::from_utf8_lossy(raw))?;
            return Ok(Some(raw.to_vec()));
        };
        match source {
            Source::McpServers | Source::ProjectMcp(_) => {
                let doc = format::parse_json(display, text)?;
                let Some(servers) = servers_of(&doc, source) else {
                    return Ok(None);
                };
                let rendered = String::from_utf8_lossy(&format::to_json(servers, true)).to_string();
                return self
                    .structured(store_path, display, &rendered, Kind::Json, old)
                    .map(Some);
            }
            Source::Layer => return self.layer_to_store(store_path, display, text, old),
            Source::Whole => {}
        }
        let kind = Kind::of(store_path);
        let stripped;
        let text = match self.without_local(store_path, kind, display, text)? {
            Some(t) => {
                stripped = t;
                stripped.as_str()
            }
            None => text,
        };
        match kind {
            Kind::Json => {
                format::parse_json(display, text)?;
                self.structured(store_path, display, text, kind, old)
                    .map(Some)
            }
            Kind::Yaml => {
                format::parse_yaml(display, text, 0)?;
                self.structured(store_path, display, text, kind, old)
                    .map(Some)
            }
            Kind::Jsonl => {
                format::check_jsonl(display, text)?;
                self.plain(store_path, display, text).map(Some)
            }
            Kind::Markdown => {
                if needs_front_matter_check(store_path) {
                    format::check_markdown(display, text)?;
                }
                self.plain(store_path, display, text).map(Some)
            }
            Kind::Other => self.plain(store_path, display, text).map(Some),
        }
    }

    /// `text` without its machine-local fields, when it has any.
    fn without_local(
        &self,
        store_path: &str,
        kind: Kind,
        display: &str,
        text: &str,
    ) -> Result<Option<String>, CaptureError> {
        if !self.local.has(store_path) || !matches!(kind, Kind::Json | Kind::Yaml) {
            return Ok(None);
        }
        let mut doc = match kind {
            Kind::Yaml => format::parse_yaml(display, text, 0)?,
            _ => format::parse_json(display, text)?,
        };
        if !self.local.strip(store_path, &mut doc) {
            return Ok(None);
        }
        let out = format::render_doc(kind, &doc, text);
        Ok(Some(String::from_utf8_lossy(&out).to_string()))
    }

    /// A machine's layer of a file: only its machine-local fields, sealed by the file's rules;
    /// `None` when the live file holds none of them.
    fn layer_to_store(
        &self,
        layer: &str,
        display: &str,
        text: &str,
        old: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, CaptureError> {
        let Some((_, file)) = crate::local::layer_of(layer) else {
            return Ok(None);
        };
        let kind = Kind::of(file);
        let doc = match kind {
            Kind::Yaml => format::parse_yaml(display, text, 0)?,
            _ => format::parse_json(display, text)?,
        };
        let Some(kept) = self.local.keep_only(file, &doc) else {
            return Ok(None);
        };
        let rendered = String::from_utf8_lossy(&format::render_doc(kind, &kept, "\n")).to_string();
        self.structured(file, display, &rendered, kind, old)
            .map(Some)
    }

    /// Refuses text that holds a credential ctx.yaml does not mark as not secret: the check
    /// every stored byte passes, whatever parsing made of the file.
    fn check(&self, store_path: &str, display: &str, text: &str) -> Result<(), CaptureError> {
        let masked = mask_sealed(text);
        let found = scan_text(&masked, store_path)
            .into_iter()
            .find(|f| !self.rules.allowed(store_path, &f.value));
        match found {
            Some(f) => Err(CaptureError::PlainSecret {
                file: display.to_string(),
                line: f.line,
                what: f.what(),
                fingerprint: fingerprint(&f.value),
            }),
            None => Ok(()),
        }
    }

    /// Whether raw bytes hold a credential (nothing sealed, nothing parsed): such bytes never go
    /// into the store as they are.
    pub fn holds_secret(&self, store_path: &str, bytes: &[u8]) -> bool {
        self.check(store_path, "", &String::from_utf8_lossy(bytes))
            .is_err()
    }

    fn plain(&self, store_path: &str, display: &str, text: &str) -> Result<Vec<u8>, CaptureError> {
        self.check(store_path, display, text)?;
        let text = if pathmap::maps(store_path) {
            pathmap::to_store(text, &self.home)
        } else {
            text.to_string()
        };
        Ok(text.into_bytes())
    }

    fn structured(
        &self,
        store_path: &str,
        display: &str,
        text: &str,
        kind: Kind,
        old: Option<&[u8]>,
    ) -> Result<Vec<u8>, CaptureError> {
        let mapped = pathmap::to_store(text, &self.home);
        // Mapping is textual, and can break the syntax (`"\/home/…"` in JSON, a YAML flow list
        // starting with a home path): then the paths are mapped inside the parsed values.
        let (mut doc, textual) = match format::parse_doc(kind, &mapped) {
            Some(doc) => (doc, true),
            None => {
                let mut doc = match kind {
                    Kind::Yaml => format::parse_yaml(display, text, 0)?,
                    _ => format::parse_json(display, text)?,
                };
                map_values(&mut doc, &self.home);
                (doc, false)
            }
        };
        let old_doc = old
            .and_then(|o| std::str::from_utf8(o).ok())
            .and_then(|t| format::parse_doc(kind, t));
        let misplaced = |source| CaptureError::Misplaced {
            file: display.to_string(),
            source,
        };
        let mut sealed = match self
            .sealer()
            .seal_doc(store_path, &mut doc, old_doc.as_ref())
        {
            Err(e @ CryptError::Misplaced { .. }) => return Err(misplaced(e)),
            other => other?,
        };
        if let Some(o) = &old_doc {
            sealed += restore_unreadable(store_path, &mut doc, o, self.identity);
        }
        let out = match sealed == 0 && textual {
            true => mapped.into_bytes(),
            false => format::render_doc(kind, &doc, &mapped),
        };
        self.check(store_path, display, &String::from_utf8_lossy(&out))?;
        Ok(out)
    }

    /// The live form of a store blob: secrets opened, home paths restored. `live` is the live
    /// file, whose values are kept for secrets this machine cannot open.
    pub fn to_live(
        &self,
        store_path: &str,
        source: &Source,
        stored: &[u8],
        live: Option<&Path>,
    ) -> LiveForm {
        let Ok(text) = std::str::from_utf8(stored) else {
            return LiveForm {
                bytes: stored.to_vec(),
                unreadable: Vec::new(),
            };
        };
        let kind = Kind::of(store_path);
        let mut text = text.to_string();
        let mut unreadable = Vec::new();
        if text.contains("ENC[age:") {
            if let Some(mut doc) = format::parse_doc(kind, &text) {
                let pristine = doc.clone();
                let missed = open_doc_lenient(store_path, &mut doc, self.identity, None);
                if !missed.is_empty() {
                    // Keep what this machine has in those fields, if anything.
                    let live_doc = live.and_then(|p| self.live_doc(kind, source, p));
                    doc = pristine;
                    open_doc_lenient(store_path, &mut doc, self.identity, live_doc.as_ref());
                    unreadable = missed;
                }
                text = String::from_utf8_lossy(&format::render_doc(kind, &doc, &text)).to_string();
            }
        }
        if pathmap::maps(store_path) {
            text = pathmap::to_live(&text, &self.home);
        }
        LiveForm {
            bytes: text.into_bytes(),
            unreadable,
        }
    }

    /// A live file's document in store form (paths mapped), for keeping unreadable secrets.
    fn live_doc(&self, kind: Kind, source: &Source, path: &Path) -> Option<Value> {
        let (raw, _) = read_live(path).ok()??;
        let text = pathmap::to_store(std::str::from_utf8(&raw).ok()?, &self.home);
        let doc = format::parse_doc(kind, &text)?;
        match source {
            Source::McpServers | Source::ProjectMcp(_) => servers_of(&doc, source).cloned(),
            Source::Layer | Source::Whole => Some(doc),
        }
    }
}

/// The map of MCP servers a shared file's `source` names: `None` when absent, and for a
/// project when empty (Claude Code writes `"mcpServers": {}` into every project it opens).
fn servers_of<'v>(doc: &'v Value, source: &Source) -> Option<&'v Value> {
    let servers = match source {
        Source::ProjectMcp(key) => doc.get("projects")?.get(key)?.get("mcpServers")?,
        _ => doc.get("mcpServers")?,
    };
    let empty_project = matches!(source, Source::ProjectMcp(_))
        && servers.as_object().is_some_and(|m| m.is_empty());
    (servers.is_object() && !empty_project).then_some(servers)
}

/// `text` with every `ENC[age:…]` value blanked to stars: a ciphertext is random by design and
/// must not be taken for a credential.
fn mask_sealed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("ENC[age:") {
        let Some(len) = rest[i..].find(']') else {
            break;
        };
        out.push_str(&rest[..i]);
        out.extend(std::iter::repeat_n('*', len + 1));
        rest = &rest[i + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Maps home paths inside every key and string of `doc`.
fn map_values(doc: &mut Value, home: &str) {
    match doc {
        Value::String(s) => *s = pathmap::to_store(s, home),
        Value::Array(a) => a.iter_mut().for_each(|v| map_values(v, home)),
        Value::Object(m) => {
            let old = std::mem::take(m);
            for (k, mut v) in old {
                map_values(&mut v, home);
                m.insert(pathmap::to_store(&k, home), v);
            }
        }
        _ => {}
    }
}

/// Markdown files whose front matter Claude Code reads.
fn needs_front_matter_check(store_path: &str) -> bool {
    store_path.starts_with("claude/agents/")
        || store_path.starts_with("claude/commands/")
        || store_path.starts_with("claude/output-styles/")
        || store_path.starts_with("claude/rules/")
        || (store_path.starts_with("claude/skills/") && store_path.ends_with("/SKILL.md"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (Identity, Recipients) {
        let id = Identity::generate();
        let pairs = [("m".to_string(), id.public_key())];
        let r = Recipients::parse(pairs.iter().map(|(a, b)| (a, b)));
        (id, r.unwrap_or_else(|e| panic!("recipients: {e}")))
    }

    #[test]
    fn settings_round_trip_seals_the_secret_and_maps_the_home() {
        let (id, recipients) = keys();
        let rules = Rules::new(&[]);
        let codec = Codec::new(Path::new("/home/ann"), &rules, &recipients, Some(&id));
        let live = "{\n  \"env\": {\n    \"API_KEY\": \"a8f5f167f44f4964e6c998dee827110c\"\n  },\n  \"x\": \"/home/ann/bin\"\n}\n";
        let stored = codec
            .to_store(
                "claude/settings.json",
                &Source::Whole,
                "settings.json",
                live.as_bytes(),
                None,
            )
            .unwrap_or_else(|e| panic!("to_store: {e}"))
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&stored);
        assert!(text.contains("ENC[age:"), "{text}");
        assert!(!text.contains("a8f5f167"), "{text}");
        assert!(text.contains("${CTX_HOME}/bin"), "{text}");
        let back = codec.to_live("claude/settings.json", &Source::Whole, &stored, None);
        assert!(back.unreadable.is_empty());
        assert_eq!(String::from_utf8_lossy(&back.bytes), live);
    }

    #[test]
    fn a_machine_without_the_key_keeps_its_own_value() {
        let (id, recipients) = keys();
        let rules = Rules::new(&[]);
        let sealer = Codec::new(Path::new("/h"), &rules, &recipients, Some(&id));
        let live = "{\n  \"env\": {\n    \"API_KEY\": \"secret-one-value-0000\"\n  }\n}\n";
        let stored = sealer
            .to_store(
                "claude/settings.json",
                &Source::Whole,
                "s",
                live.as_bytes(),
                None,
            )
            .unwrap_or_else(|e| panic!("to_store: {e}"))
            .unwrap_or_default();
        let other = Identity::generate();
        let reader = Codec::new(Path::new("/h"), &rules, &recipients, Some(&other));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mine = dir.path().join("settings.json");
        let own = "{\n  \"env\": {\n    \"API_KEY\": \"my-own-value\"\n  }\n}\n";
        std::fs::write(&mine, own).unwrap_or_else(|e| panic!("write: {e}"));
        let back = reader.to_live("claude/settings.json", &Source::Whole, &stored, Some(&mine));
        assert_eq!(
            back.unreadable,
            vec!["claude/settings.json:env.API_KEY".to_string()]
        );
        assert_eq!(String::from_utf8_lossy(&back.bytes), own);
    }

    #[test]
    fn a_token_in_markdown_is_refused_naming_the_line() {
        let (id, recipients) = keys();
        let rules = Rules::new(&[]);
        let codec = Codec::new(Path::new("/h"), &rules, &recipients, Some(&id));
        let md = "# notes\n\nuse ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000 here\n";
        let err = codec.to_store(
            "claude/CLAUDE.md",
            &Source::Whole,
            "CLAUDE.md",
            md.as_bytes(),
            None,
        );
        assert!(
            matches!(err, Err(CaptureError::PlainSecret { line: 3, .. })),
            "{err:?}"
        );
    }
}
