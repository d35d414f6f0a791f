//! This machine with its store open: where things are, the store at `main`, the keyring and
//! the state files. Every operation (capture, apply, sync) works on a `Workspace`; it holds no
//! results of its own, so what an operation did travels back in its return value.

use serde::{Deserialize, Serialize};

use crate::codec::Codec;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::merge::{MergeOptions, MergeOutcome, Policy};
use crate::repo::Repo;
use crate::state::StatePaths;
use crate::store::StoreError;

/// This machine's own settings, `<config>/config.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineConfig {
    /// The machine name, used in commits and `machines/<name>.yaml`.
    pub machine: String,
    /// Hold executable config pulled from other machines until `ctx review --accept` (kept
    /// here, not in the synced ctx.yaml: another machine must not be able to turn it off).
    #[serde(default = "on")]
    pub review: bool,
}

fn on() -> bool {
    true
}

/// Reads the machine config: "not set up" only when it is absent.
pub fn machine_config(env: &Env) -> Result<MachineConfig> {
    let path = env.machine_config_path();
    let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::NotInitialized { path: path.clone() },
        _ => Error::Io {
            path: path.clone(),
            source,
        },
    })?;
    Ok(crate::model::parse_yaml(&env.display(&path), &bytes)?)
}

/// This machine's signing key, created on first use (a machine set up by an older ctx gets one
/// here).
pub fn signer(env: &Env) -> Result<std::sync::Arc<crate::signing::SigningKey>> {
    let (key, _) = crate::signing::SigningKey::load_or_create(&env.signing_key_path())?;
    Ok(std::sync::Arc::new(key))
}

/// The key this machine's record in the store holds.
fn registered_key(repo: &Repo, machine: &str) -> Option<String> {
    let path = format!("machines/{machine}.yaml");
    let bytes = repo.read(&path).ok()??;
    let rec: crate::model::MachineRecord = crate::model::parse_yaml(&path, &bytes).ok()?;
    Some(rec.public_key)
}

/// Where `machine` has each recorded project checked out (`projects/<id>.yaml`, home paths
/// restored). A record that does not parse is skipped: `ctx doctor` names it.
pub fn roots_here(repo: &Repo, machine: &str, home: &std::path::Path) -> crate::projdir::Roots {
    let home = home.to_string_lossy();
    let mut roots = crate::projdir::Roots::new();
    for path in repo.files.keys() {
        let Some(id) = path
            .strip_prefix("projects/")
            .and_then(|r| r.strip_suffix(".yaml"))
            .filter(|r| !r.contains('/'))
        else {
            continue;
        };
        let Ok(Some(bytes)) = repo.read(path) else {
            continue;
        };
        let text = crate::pathmap::to_live(&String::from_utf8_lossy(&bytes), &home);
        let Ok(rec) =
            crate::model::parse_yaml::<crate::model::ProjectRecord>(path, text.as_bytes())
        else {
            continue;
        };
        let worktrees: Vec<std::path::PathBuf> = rec
            .worktrees
            .get(machine)
            .map(|w| w.iter().map(std::path::PathBuf::from).collect())
            .unwrap_or_default();
        if let Some(main) = crate::projdir::main_of(&worktrees) {
            let here = crate::projdir::Here { main, worktrees };
            roots.insert(id.to_string(), here);
        }
    }
    roots
}

/// An open store plus everything this machine needs to read and write it.
pub struct Workspace {
    /// Locations.
    pub env: Env,
    /// The store at `main`.
    pub repo: Repo,
    /// Keys and secret rules.
    pub keys: Keyring,
    /// This machine's state files.
    pub state: StatePaths,
    /// This machine's signing key (every commit is signed with it).
    pub signer: std::sync::Arc<crate::signing::SigningKey>,
}

impl Workspace {
    /// Opens the store for this machine; a store without a commit is an error.
    pub fn open(env: Env) -> Result<Workspace> {
        let cfg = machine_config(&env)?;
        let mut repo = Repo::open(&env.store_dir, &cfg.machine)?;
        let signer = signer(&env)?;
        repo.store.set_signer(signer.clone());
        if repo.head.is_none() {
            return Err(StoreError::Empty {
                dir: env.store_dir.clone(),
            }
            .into());
        }
        let registered = registered_key(&repo, &cfg.machine);
        let keys = Keyring::load(
            env.identity_path(),
            &cfg.machine,
            &repo.manifest,
            registered.as_deref(),
        )?;
        let state = StatePaths::new(&env.state_dir());
        state.recover_journal(repo.head);
        let mut env = env;
        env.projects = roots_here(&repo, &cfg.machine, &env.home);
        Ok(Workspace {
            env,
            repo,
            keys,
            state,
            signer,
        })
    }

    /// This machine's trust, pinned locally (started with itself if it has none yet).
    pub fn trust(&self) -> std::result::Result<crate::trust::Trust, crate::trust::TrustError> {
        crate::trust::Trust::load_or_start(
            &self.env.trust_path(),
            self.machine(),
            &self.signer.public_line(),
        )
    }

    /// This machine's name.
    pub fn machine(&self) -> &str {
        &self.repo.machine
    }

    /// Reads the keyring again from the manifest now at `main` (after `main` moved).
    pub fn reload_keys(&mut self) -> Result<()> {
        let registered = registered_key(&self.repo, self.machine());
        self.keys = Keyring::load(
            self.env.identity_path(),
            self.machine(),
            &self.repo.manifest,
            registered.as_deref(),
        )?;
        Ok(())
    }

    /// The live <-> store converter for this machine.
    pub fn codec(&self) -> Codec<'_> {
        Codec::new(
            &self.env.home,
            &self.keys.rules,
            &self.keys.recipients,
            self.keys.key(),
        )
        .with_local(crate::local::LocalFields::of(&self.repo.manifest))
    }

    /// Store paths for paths a person typed (store paths, `~/.claude/...`, or live paths).
    pub fn store_paths_for(&self, args: &[String]) -> Result<Vec<String>> {
        args.iter()
            .map(|a| {
                crate::layout::store_path_for(&self.env, a, |p| self.repo.knows(p))
                    .ok_or_else(|| Error::UnknownPath(a.clone()))
            })
            .collect()
    }

    /// The conflict policy of ctx.yaml.
    pub fn policy(&self) -> Policy {
        use crate::model::ConflictPolicy as C;
        match self.repo.manifest.conflicts {
            C::Stop => Policy::Stop,
            C::Ours => Policy::Ours,
            C::Theirs => Policy::Theirs,
            C::Newest => Policy::Newest {
                ours_time: 0,
                theirs_time: 0,
            },
        }
    }

    /// The merge engine with this machine's key, so secrets compare by plaintext where it can
    /// open them.
    pub fn merge_file(
        &self,
        path: &str,
        base: Option<&[u8]>,
        ours: &[u8],
        theirs: &[u8],
        policy: Policy,
    ) -> MergeOutcome {
        let decrypt = self.keys.decrypt();
        let opts = MergeOptions {
            policy,
            decrypt: decrypt.as_ref().map(|d| d as &dyn crate::merge::Decrypt),
        };
        if crate::record_merge::is_record(path) {
            if let Some(content) = crate::record_merge::merge(base, ours, theirs) {
                return crate::merge::MergeOutcome {
                    content,
                    conflicts: Vec::new(),
                    overruled: Vec::new(),
                    line_fallback: false,
                };
            }
        }
        crate::merge::merge_file(path, base, ours, theirs, &opts)
    }
}
