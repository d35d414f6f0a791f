//! This machine's SSH signing key and the signatures on store commits, in git's own format: an
//! SSHSIG (namespace `git`, SHA-512) over the commit without its `gpgsig` header, so
//! `git verify-commit` with `gpg.format=ssh` and GitHub's "Verified" badge both accept them.

use std::path::{Path, PathBuf};

use ssh_key::{rand_core::OsRng, Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// The namespace git signs commits in.
const NAMESPACE: &str = "git";
/// The commit header that holds the signature.
pub const HEADER: &str = "gpgsig";

/// Errors of the signing key and of signatures.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The key file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no usable key.
    #[error("{} is not an OpenSSH ed25519 private key: {detail}", path.display())]
    BadKey { path: PathBuf, detail: String },
    /// A public key line that does not parse.
    #[error("not an OpenSSH public key: {0}")]
    BadPublicKey(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// This machine's signing key.
pub struct SigningKey {
    key: PrivateKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint())
    }
}

impl SigningKey {
    /// Reads the key at `path`, or creates one there (0600 from the first byte) when there is
    /// none. Returns the key and whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), SigningError> {
        let io = |source| SigningError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key =
                    PrivateKey::from_openssh(text.trim_end().to_string() + "\n").map_err(|e| {
                        SigningError::BadKey {
                            path: path.to_path_buf(),
                            detail: e.to_string(),
                        }
                    })?;
                Ok((SigningKey { key }, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)
                    .map_err(|e| SigningError::Sign(e.to_string()))?;
                let text = key
                    .to_openssh(LineEnding::LF)
                    .map_err(|e| SigningError::Sign(e.to_string()))?;
                crate::fsx::write_atomic(path, text.as_bytes(), Some(0o600)).map_err(io)?;
                Ok((SigningKey { key }, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The public key as an OpenSSH line (`ssh-ed25519 AAAA…`), for allowed-signers files.
    pub fn public_line(&self) -> String {
        self.key.public_key().to_openssh().unwrap_or_default()
    }

    /// The key's fingerprint (`SHA256:…`), as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// An armored SSHSIG of `payload`, ready for the `gpgsig` header.
    pub fn sign(&self, payload: &[u8]) -> Result<String, SigningError> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, payload)
            .map_err(|e| SigningError::Sign(e.to_string()))?;
        sig.to_pem(LineEnding::LF)
            .map_err(|e| SigningError::Sign(e.to_string()))
    }
}

/// The fingerprint of an OpenSSH public key line.
pub fn fingerprint_of(public_line: &str) -> Result<String, SigningError> {
    let key = PublicKey::from_openssh(public_line.trim())
        .map_err(|e| SigningError::BadPublicKey(e.to_string()))?;
    Ok(key.fingerprint(HashAlg::Sha256).to_string())
}

/// Whether two OpenSSH public key lines name the same key (comments aside).
pub fn same_key(a: &str, b: &str) -> bool {
    match (fingerprint_of(a), fingerprint_of(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A commit's signature, checked: the key that made it, or why it is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No `gpgsig` header.
    Unsigned,
    /// A valid SSHSIG by this key (an OpenSSH public key line).
    By(String),
    /// A signature that does not verify (or is not an SSH signature).
    Invalid(String),
}

/// Checks the signature of a raw commit object (its bytes without the object header).
pub fn check_commit(raw: &[u8]) -> Signature {
    let Some((payload, armored)) = split_commit(raw) else {
        return Signature::Unsigned;
    };
    let sig = match SshSig::from_pem(armored.as_bytes()) {
        Ok(s) => s,
        Err(e) => return Signature::Invalid(format!("not an SSH signature: {e}")),
    };
    if sig.namespace() != NAMESPACE {
        return Signature::Invalid(format!("signed for `{}`, not git", sig.namespace()));
    }
    let key = PublicKey::from(sig.public_key().clone());
    match key.verify(NAMESPACE, &payload, &sig) {
        Ok(()) => Signature::By(key.to_openssh().unwrap_or_default()),
        Err(e) => Signature::Invalid(format!("the signature does not match the commit: {e}")),
    }
}

/// Splits a raw commit into what was signed (the commit without its `gpgsig` header) and the
/// armored signature, as git does; `None` when it carries no signature.
pub fn split_commit(raw: &[u8]) -> Option<(Vec<u8>, String)> {
    let header_end = find(raw, b"\n\n").map_or(raw.len(), |i| i + 1);
    let (headers, body) = raw.split_at(header_end);
    let mut payload = Vec::with_capacity(raw.len());
    let mut sig: Option<Vec<u8>> = None;
    let mut in_sig = false;
    for line in headers.split_inclusive(|b| *b == b'\n') {
        if in_sig && line.first() == Some(&b' ') {
            if let Some(s) = sig.as_mut() {
                s.extend_from_slice(&line[1..]);
            }
            continue;
        }
        in_sig = false;
        if let Some(rest) = line.strip_prefix(format!("{HEADER} ").as_bytes()) {
            if sig.is_none() {
                sig = Some(rest.to_vec());
                in_sig = true;
                continue;
            }
        }
        payload.extend_from_slice(line);
    }
    payload.extend_from_slice(body);
    let sig = String::from_utf8(sig?).ok()?;
    Some((payload, sig))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (tempfile::TempDir, SigningKey) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("signing_key");
        let (k, created) = SigningKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(created);
        (dir, k)
    }

    fn signed(k: &SigningKey, payload: &str) -> Vec<u8> {
        let sig = k.sign(payload.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let (head, body) = payload.split_once("\n\n").unwrap_or((payload, ""));
        let folded = sig.trim_end().replace('\n', "\n ");
        format!("{head}\n{HEADER} {folded}\n\n{body}").into_bytes()
    }

    const COMMIT: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000\n\nmessage\n";

    #[test]
    fn a_signed_commit_verifies_by_its_key_and_a_changed_one_does_not() {
        let (_d, k) = key();
        let raw = signed(&k, COMMIT);
        assert_eq!(check_commit(&raw), Signature::By(k.public_line()));
        let tampered = String::from_utf8_lossy(&raw).replace("message", "massage");
        assert!(matches!(
            check_commit(tampered.as_bytes()),
            Signature::Invalid(_)
        ));
        assert_eq!(check_commit(COMMIT.as_bytes()), Signature::Unsigned);
    }

    #[test]
    fn the_key_is_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, k) = key();
        let path = dir.path().join("signing_key");
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        let (again, created) = SigningKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!created);
        assert_eq!(again.public_line(), k.public_line());
        assert!(same_key(
            &k.public_line(),
            &format!("{} comment", k.public_line())
        ));
        assert!(k.fingerprint().starts_with("SHA256:"));
    }
}
