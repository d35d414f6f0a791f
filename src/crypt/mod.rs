//! age encryption of single fields: identities, recipients, and the `ENC[age:…]` inline form.
//!
//! The plaintext sealed in each value is `ctx1\n<locator>\n<value>`, where the locator is the store
//! file and the field path with array indices blanked. A ciphertext copied into another field or
//! file therefore fails to open instead of leaking a value where it was never meant to be.

pub mod fields;
pub mod rules;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use base64::Engine;

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

/// The locator a field's ciphertext is bound to: `file:path` with array indices blanked, so that
/// an element moving inside an array (a merge inserting before it) keeps its ciphertext valid.
pub fn binding(locator: &str) -> String {
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

/// Encrypts `value` for `locator` to every recipient.
pub fn seal(value: &str, locator: &str, to: &Recipients) -> Result<String> {
    if to.is_empty() {
        return Err(CryptError::NoRecipients);
    }
    let err = |reason: String| CryptError::Encrypt {
        locator: locator.to_string(),
        reason,
    };
    let enc = age::Encryptor::with_recipients(to.keys.iter().map(|k| k as &dyn age::Recipient))
        .map_err(|e| err(e.to_string()))?;
    let mut ct = Vec::new();
    let mut w = enc.wrap_output(&mut ct).map_err(|e| err(e.to_string()))?;
    let plain = format!("{ENVELOPE}\n{}\n{value}", binding(locator));
    w.write_all(plain.as_bytes())
        .map_err(|e| err(e.to_string()))?;
    w.finish().map_err(|e| err(e.to_string()))?;
    Ok(format!(
        "{PREFIX}{}]",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(ct)
    ))
}

/// Decrypts an inline ciphertext found at `locator`.
pub fn open(ciphertext: &str, locator: &str, id: &Identity) -> Result<String> {
    let err = |reason: &str| CryptError::Decrypt {
        locator: locator.to_string(),
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
    let rest = plain
        .strip_prefix(ENVELOPE)
        .and_then(|s| s.strip_prefix('\n'))
        .ok_or_else(|| err("not a ctx ciphertext"))?;
    let (bound, value) = rest.split_once('\n').ok_or_else(|| err("truncated"))?;
    if bound != binding(locator) {
        return Err(err(&format!(
            "this ciphertext belongs to {bound}, it was copied here"
        )));
    }
    Ok(value.to_string())
}
