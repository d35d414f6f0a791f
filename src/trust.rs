//! The machines this machine trusts, pinned on this machine (`<config>/trust.yaml`, 0600), never
//! read from the remote: set by `init` (itself; on a join, the signers the store named then, as
//! ssh trusts a host key on first use), by `approve`/`revoke` made here, and by approvals and
//! revocations in commits signed by a machine already trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors of the trust file.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// It cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// It does not parse.
    #[error("{}: {detail}", path.display())]
    Parse { path: PathBuf, detail: String },
}

/// A key seen in a commit from the remote that no trusted machine signed: a join request, a
/// machine's new key, or a stranger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The key (an OpenSSH public key line).
    pub signing_key: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// The commit it was first seen in.
    pub commit: String,
    /// The machine record it brought (`machines/<name>.yaml`), if it brought one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustFile {
    /// Trusted machines: name -> signing key.
    #[serde(default)]
    machines: BTreeMap<String, String>,
    /// Keys seen but not trusted, by the machine name they claim.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pending: BTreeMap<String, Pending>,
    /// Commits accepted unsigned, with their history, once (`ctx sync --accept-unsigned`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accepted: Vec<String>,
}

/// This machine's trust, loaded.
#[derive(Debug)]
pub struct Trust {
    path: PathBuf,
    file: TrustFile,
}

impl Trust {
    /// Reads the trust file; `None` when there is none yet (a machine set up by an older ctx).
    pub fn load(path: &Path) -> Result<Option<Trust>, TrustError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(TrustError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file = serde_yaml::from_str(&text).map_err(|e| TrustError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        Ok(Some(Trust {
            path: path.to_path_buf(),
            file,
        }))
    }

    /// Reads the trust file, or starts one that trusts only `me` with `key`.
    pub fn load_or_start(path: &Path, me: &str, key: &str) -> Result<Trust, TrustError> {
        let mut t = Trust::load(path)?.unwrap_or(Trust {
            path: path.to_path_buf(),
            file: TrustFile::default(),
        });
        if t.file.machines.get(me).map(String::as_str) != Some(key) {
            t.file.machines.insert(me.to_string(), key.to_string());
        }
        Ok(t)
    }

    /// Writes it back (0600: it decides whom this machine obeys).
    pub fn save(&self) -> Result<(), TrustError> {
        let text = serde_yaml::to_string(&self.file).unwrap_or_default();
        let header = "# Machines this machine trusts (ctx). Pinned here; never synced.\n";
        crate::fsx::write_atomic(
            &self.path,
            (header.to_string() + &text).as_bytes(),
            Some(0o600),
        )
        .map_err(|source| TrustError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The trusted machine that holds `key`, if any.
    pub fn machine_of(&self, key: &str) -> Option<&str> {
        self.file
            .machines
            .iter()
            .find(|(_, k)| crate::signing::same_key(k, key))
            .map(|(n, _)| n.as_str())
    }

    /// The key pinned for `name`.
    pub fn key_of(&self, name: &str) -> Option<&str> {
        self.file.machines.get(name).map(String::as_str)
    }

    /// Trusted machines and their keys.
    pub fn machines(&self) -> &BTreeMap<String, String> {
        &self.file.machines
    }

    /// Trusts `name`'s `key` (and forgets it as pending).
    pub fn pin(&mut self, name: &str, key: &str) {
        self.file.machines.insert(name.to_string(), key.to_string());
        self.file.pending.remove(name);
    }

    /// Stops trusting `name`.
    pub fn unpin(&mut self, name: &str) {
        self.file.machines.remove(name);
    }

    /// Keys seen but not trusted, by the machine name they claim.
    pub fn pending(&self) -> &BTreeMap<String, Pending> {
        &self.file.pending
    }

    /// Notes a key seen for `name` that no trusted machine vouched for (the first sighting
    /// stays: a later one cannot replace what the person will be shown).
    pub fn note_pending(&mut self, name: &str, pending: Pending) {
        let same = self
            .file
            .pending
            .get(name)
            .is_some_and(|p| crate::signing::same_key(&p.signing_key, &pending.signing_key));
        if !same || pending.record.is_some() {
            self.file.pending.insert(name.to_string(), pending);
        }
    }

    /// Drops what was noted of `name`'s key (the machine was removed from the store).
    pub fn forget_pending(&mut self, name: &str) {
        self.file.pending.remove(name);
    }

    /// Commits accepted unsigned (with their history).
    pub fn accepted(&self) -> &[String] {
        &self.file.accepted
    }

    /// Accepts `commit` and its history unsigned, once.
    pub fn accept(&mut self, commit: &str) {
        if !self.file.accepted.iter().any(|c| c == commit) {
            self.file.accepted.push(commit.to_string());
        }
    }
}
