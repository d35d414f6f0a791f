//! age encryption of single fields: identities, recipients, and the `ENC[age:…]` inline form.
//!
//! The plaintext sealed in each value is `ctx1\n<binding>\n<value>` (`ctx1j` for a number or a
//! boolean, whose JSON text follows), where the binding is the store file and the field path with
//! array indices blanked. A ciphertext copied into another field or
//! file therefore fails to open instead of leaking a value where it was never meant to be.

pub mod align;
pub mod blob;
pub mod detect;
pub mod entropy;
mod patterns;
pub mod fields;
pub mod shapes;
pub mod rules;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use base64::Engine;

use rules::Seg;

const PREFIX: &str = "ENC[age:";
const ENVELOPE: &str = "ctx1";

/// Errors from encryption and identities.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// The identity file is missing.
    #[error("no identity at {}", path.display())]
    NoIdentity { path: PathBuf },
    /// The identity file is unreadable or malformed.
    #[error("cannot read the identity at {}: {reason}", path.display())]
    BadIdentity { path: PathBuf, reason: String },
    /// Writing the identity failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A recipient in ctx.yaml is not an age public key.
    #[error("recipient `{name}` in ctx.yaml is not an age public key: {reason}")]
    BadRecipient { name: String, reason: String },
    /// No recipients to encrypt to.
    #[error("ctx.yaml lists no recipients, so secrets cannot be encrypted")]
    NoRecipients,
    /// This machine's key cannot open a value.
    #[error("cannot decrypt {locator}: {reason}")]
    Decrypt { locator: String, reason: String },
    /// Encryption failed.
    #[error("cannot encrypt {locator}: {reason}")]
    Encrypt { locator: String, reason: String },
    /// A list edited on a machine that cannot read one of its secrets, such that where the
    /// secret belongs now (after which neighbour) cannot be told.
    #[error("{locator} is a secret this machine cannot read, and the edit of its list moved it away from its neighbour")]
    Misplaced { locator: String },
}

type Result<T, E = CryptError> = std::result::Result<T, E>;

/// This machine's age identity.
pub struct Identity {
    inner: age::x25519::Identity,
}

impl Identity {
    /// A fresh identity.
    pub fn generate() -> Identity {
        Identity {
            inner: age::x25519::Identity::generate(),
        }
    }

    /// Reads an age-keygen style identity file.
    pub fn load(path: &Path) -> Result<Identity> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CryptError::NoIdentity {
                path: path.to_path_buf(),
            },
            _ => CryptError::BadIdentity {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
        })?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| CryptError::BadIdentity {
                path: path.to_path_buf(),
                reason: "no AGE-SECRET-KEY line".into(),
            })?;
        let inner = line
            .parse::<age::x25519::Identity>()
            .map_err(|e| CryptError::BadIdentity {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Identity { inner })
    }

    /// Writes the identity with mode 0600, atomically, refusing to replace an existing one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| CryptError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = format!(
            "# created by ctx; keep this file private, never commit it\n# public key: {}\n{}\n",
            self.public_key(),
            self.inner.to_string().expose_secret()
        );
        let tmp = path.with_extension("txt.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The public key, `age1…`.
    pub fn public_key(&self) -> String {
        self.inner.to_public().to_string()
    }
}

/// The set of public keys a value is encrypted to.
#[derive(Clone)]
pub struct Recipients {
    keys: Vec<age::x25519::Recipient>,
}

impl Recipients {
    /// Parses `name -> age1…` pairs from ctx.yaml.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Result<Self> {
        let mut keys = Vec::new();
        for (name, key) in pairs {
            let k = key.trim().parse::<age::x25519::Recipient>().map_err(|e| {
                CryptError::BadRecipient {
                    name: name.clone(),
                    reason: e.to_string(),
                }
            })?;
            keys.push(k);
        }
        Ok(Recipients { keys })
    }

    /// Whether there is anyone to encrypt to.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Whether a string is an inline ciphertext.
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with(PREFIX) && value.ends_with(']')
}

/// What a field's ciphertext is bound to: the store file and the field path with array indices
/// blanked (so an element moving inside an array, a merge inserting before it, keeps its
/// ciphertext valid), keys escaped as locators write them.
pub fn binding_of(file: &str, path: &[Seg]) -> String {
    let mut out = format!("{file}:");
    let mut first = true;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !first {
                    out.push('.');
                }
                out.push_str(&rules::escape_key(k));
            }
            Seg::Index(_) => out.push_str("[]"),
        }
        first = false;
    }
    out
}

/// The binding ctx wrote before keys were escaped (`mcp.notion.com` as three keys); accepted
/// when opening, so stores sealed then still open. Never written.
fn legacy_binding(file: &str, path: &[Seg]) -> String {
    let mut dotted = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.push_str(k);
            }
            Seg::Index(i) => dotted.push_str(&format!("[{i}]")),
        }
    }
    let locator = format!("{file}:{dotted}");
    let mut out = String::with_capacity(locator.len());
    let mut in_index = false;
    for c in locator.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' if in_index => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The file and path of a locator string, if it is one; any bracket is an index (bindings
/// blank them all).
fn split_locator(locator: &str) -> Option<(&str, Vec<Seg>)> {
    let (file, field) = locator.split_once(':')?;
    let path = rules::parse_field(field)?
        .into_iter()
        .map(|p| match p {
            rules::PatSeg::Key(k) => Seg::Key(k),
            rules::PatSeg::AnyKey => Seg::Key("*".into()),
            rules::PatSeg::Index(i) => Seg::Index(i),
            rules::PatSeg::AnyIndex => Seg::Index(0),
        })
        .collect();
    Some((file, path))
}

/// Encrypts the string `value` for `locator` (`FILE:field.path`) to every recipient.
pub fn seal(value: &str, locator: &str, to: &Recipients) -> Result<String> {
    let (file, path) = split_locator(locator).ok_or_else(|| CryptError::Encrypt {
        locator: locator.to_string(),
        reason: "not a locator".into(),
    })?;
    seal_at(
        &serde_json::Value::String(value.to_string()),
        file,
        &path,
        to,
    )
}

/// Encrypts `value` (a string, or a number or boolean, which opens as one again) for the field
/// at `path` of `file`, to every recipient.
pub fn seal_at(
    value: &serde_json::Value,
    file: &str,
    path: &[Seg],
    to: &Recipients,
) -> Result<String> {
    let bound = binding_of(file, path);
    if to.is_empty() {
        return Err(CryptError::NoRecipients);
    }
    let err = |reason: String| CryptError::Encrypt {
        locator: format!("{file}:{}", rules::dotted(path)),
        reason,
    };
    let plain = match value {
        serde_json::Value::String(s) => format!("{ENVELOPE}\n{bound}\n{s}"),
        other => format!("{ENVELOPE}j\n{bound}\n{other}"),
    };
    let enc = age::Encryptor::with_recipients(to.keys.iter().map(|k| k as &dyn age::Recipient))
        .map_err(|e| err(e.to_string()))?;
    let mut ct = Vec::new();
    let mut w = enc.wrap_output(&mut ct).map_err(|e| err(e.to_string()))?;
    w.write_all(plain.as_bytes())
        .map_err(|e| err(e.to_string()))?;
    w.finish().map_err(|e| err(e.to_string()))?;
    Ok(format!(
        "{PREFIX}{}]",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(ct)
    ))
}

/// A value opened from its ciphertext.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The value (a string, or the number or boolean that was sealed).
    pub value: serde_json::Value,
    /// Whether it was bound to the current form of its locator (not the form before keys were
    /// escaped): a value that is not is sealed again when it is next written.
    pub current: bool,
}

/// Decrypts an inline ciphertext found at `locator`, as a string (a sealed number as its text).
pub fn open(ciphertext: &str, locator: &str, id: &Identity) -> Result<String> {
    let opened = match split_locator(locator) {
        Some((file, path)) => open_at(ciphertext, file, &path, id)?,
        None => {
            return Err(CryptError::Decrypt {
                locator: locator.to_string(),
                reason: "not a locator".into(),
            })
        }
    };
    Ok(match opened.value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Decrypts an inline ciphertext found at `path` of `file`.
pub fn open_at(ciphertext: &str, file: &str, path: &[Seg], id: &Identity) -> Result<Opened> {
    let locator = format!("{file}:{}", rules::dotted(path));
    let err = |reason: &str| CryptError::Decrypt {
        locator: locator.clone(),
        reason: reason.to_string(),
    };
    let body = ciphertext
        .strip_prefix(PREFIX)
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| err("not an ENC[age:…] value"))?;
    let ct = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(body.trim_end_matches('='))
        .map_err(|_| err("the ciphertext is not valid base64"))?;
    let dec = age::Decryptor::new(&ct[..]).map_err(|e| err(&e.to_string()))?;
    let mut reader = dec
        .decrypt(std::iter::once(&id.inner as &dyn age::Identity))
        .map_err(|_| err("this machine's key is not among its recipients"))?;
    let mut plain = String::new();
    reader
        .read_to_string(&mut plain)
        .map_err(|e| err(&e.to_string()))?;
    let (json, rest) = match plain.split_once('\n') {
        Some((ENVELOPE, rest)) => (false, rest),
        Some((e, rest)) if e == format!("{ENVELOPE}j") => (true, rest),
        _ => return Err(err("not a ctx ciphertext")),
    };
    let (bound, value) = rest.split_once('\n').ok_or_else(|| err("truncated"))?;
    let current = bound == binding_of(file, path);
    if !current && bound != legacy_binding(file, path) {
        return Err(err(&format!(
            "this ciphertext belongs to {bound}, it was copied here"
        )));
    }
    let value = match json {
        false => serde_json::Value::String(value.to_string()),
        true => serde_json::from_str(value).map_err(|_| err("a damaged sealed value"))?,
    };
    Ok(Opened { value, current })
}

/// A ciphertext opened with `id` and sealed afresh to `to`, same value and type, bound to the
/// current form of its locator.
pub fn reseal_at(
    ciphertext: &str,
    file: &str,
    path: &[Seg],
    id: &Identity,
    to: &Recipients,
) -> Result<String> {
    let opened = open_at(ciphertext, file, path, id)?;
    seal_at(&opened.value, file, path, to)
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

    /// A ciphertext as ctx wrote it before keys were escaped, bound to `bound`.
    fn sealed_as(bound: &str, value: &str, to: &Recipients) -> String {
        let enc = age::Encryptor::with_recipients(to.keys.iter().map(|k| k as &dyn age::Recipient));
        let enc = enc.unwrap_or_else(|e| panic!("{e}"));
        let mut ct = Vec::new();
        let mut w = enc.wrap_output(&mut ct).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(format!("ctx1\n{bound}\n{value}").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        w.finish().unwrap_or_else(|e| panic!("{e}"));
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(ct);
        format!("{PREFIX}{b64}]")
    }

    #[test]
    fn a_value_sealed_before_keys_were_escaped_still_opens() {
        let (id, to) = keys();
        let path = [
            Seg::Key("mcp.notion.com".into()),
            Seg::Key("headers".into()),
            Seg::Key("Authorization".into()),
        ];
        let old = sealed_as(
            "claude/mcp.json:mcp.notion.com.headers.Authorization",
            "v",
            &to,
        );
        let opened = open_at(&old, "claude/mcp.json", &path, &id);
        let opened = opened.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.value, serde_json::json!("v"));
        assert!(!opened.current, "sealed again when next written");
        let fresh = seal_at(&opened.value, "claude/mcp.json", &path, &to);
        let fresh = open_at(&fresh.unwrap_or_default(), "claude/mcp.json", &path, &id);
        assert!(fresh.is_ok_and(|o| o.current));
        // Another field's ciphertext still fails, in either form.
        let other = [
            Seg::Key("x".into()),
            Seg::Key("env".into()),
            Seg::Key("A".into()),
        ];
        assert!(open_at(&old, "claude/mcp.json", &other, &id).is_err());
    }

    #[test]
    fn a_number_opens_as_a_number() {
        let (id, to) = keys();
        let path = [
            Seg::Key("s".into()),
            Seg::Key("env".into()),
            Seg::Key("PIN".into()),
        ];
        let ct = seal_at(&serde_json::json!(1234), "claude/mcp.json", &path, &to);
        let opened = open_at(&ct.unwrap_or_default(), "claude/mcp.json", &path, &id);
        assert_eq!(opened.map(|o| o.value).ok(), Some(serde_json::json!(1234)));
    }
}
